//! ARCHITECTURE.md names paths in backticks; a path that no longer exists is a map that lies
//! to the next reader. This check fails on any of them.

use std::path::Path;

use anyhow::{Context, Result, bail};

pub fn check(root: &Path) -> Result<()> {
    let doc = root.join("ARCHITECTURE.md");
    let text =
        std::fs::read_to_string(&doc).with_context(|| format!("reading {}", doc.display()))?;
    let missing: Vec<String> = named_paths(&text)
        .filter(|path| !root.join(path).exists())
        .map(|path| format!("ARCHITECTURE.md: `{path}` does not exist"))
        .collect();
    if !missing.is_empty() {
        bail!("{}", missing.join("\n"));
    }
    Ok(())
}

/// Code spans that look like repository paths: one or more `/`, and only the characters
/// paths here use. `e911:policy` or `Edits::render` are not paths and are skipped.
fn named_paths(text: &str) -> impl Iterator<Item = &str> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.contains('/') && !span.starts_with("//") && !span.contains("://"))
        .filter(|span| {
            span.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
        })
}

#[cfg(test)]
mod tests {
    use super::named_paths;

    #[test]
    fn finds_only_path_like_code_spans() {
        let text =
            "see `plugin/sip/src/lib.rs` and `Edits::render`, `a b/c`, `tests/`, `https://x/y`";
        let found: Vec<&str> = named_paths(text).collect();
        assert_eq!(found, ["plugin/sip/src/lib.rs", "tests/"]);
    }
}
