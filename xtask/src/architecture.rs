//! ARCHITECTURE.md names paths in backticks; a path that no longer exists is a map that lies
//! to the next reader. This check fails on any of them.
//!
//! It also holds the host crates to the layer table (the `folder crate uses` block): each
//! row's `e911-*` dependencies must be exactly the host crates it lists, all from rows
//! above it, so a dependency that points back (the SIP proxy on the CLI, OCI on the SIP
//! proxy) fails here rather than on a reader's first look (issue 14, STYLE §12).

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
/// paths here use. `e911:policy` or `Edits::render` are not paths and are skipped, and so
/// are build outputs under `target/`, which a fresh clone does not have yet.
fn named_paths(text: &str) -> impl Iterator<Item = &str> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.contains('/') && !span.starts_with("//") && !span.contains("://"))
        .filter(|span| !span.starts_with("target/"))
        .filter(|span| {
            span.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
        })
}

/// The header line of the layer table in ARCHITECTURE.md.
const LAYER_HEADER: &str = "folder";

/// One row of the layer table: a folder with its own Cargo.toml, its crate, and the host
/// crates it says it uses (short names, `e911-` left off).
#[derive(Debug, PartialEq, Eq)]
struct Layer {
    folder: String,
    krate: String,
    uses: Vec<String>,
    uses_all_above: bool,
}

/// Every row of the layer table is a crate whose `e911-*` dependencies on crates of the
/// table are the ones its row names, each from a row above it.
pub fn check_layers(root: &Path) -> Result<()> {
    let doc = root.join("ARCHITECTURE.md");
    let text =
        std::fs::read_to_string(&doc).with_context(|| format!("reading {}", doc.display()))?;
    let layers = layer_table(&text)?;
    let mut problems = Vec::new();
    for (index, layer) in layers.iter().enumerate() {
        let manifest = root.join(&layer.folder).join("Cargo.toml");
        let toml = std::fs::read_to_string(&manifest)
            .with_context(|| format!("reading {}", manifest.display()))?;
        problems.extend(layer_problems(&layers, index, &e911_dependencies(&toml)));
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(())
}

/// What is wrong with row `index`, given the `e911-*` crates its Cargo.toml depends on.
fn layer_problems(layers: &[Layer], index: usize, deps: &[String]) -> Vec<String> {
    let Some(layer) = layers.get(index) else {
        return Vec::new();
    };
    let above = layers.get(..index).unwrap_or_default();
    let is_host = |name: &str| layers.iter().any(|l| l.krate == name);
    let mut problems = Vec::new();
    for dep in deps.iter().filter(|dep| is_host(dep)) {
        if !above.iter().any(|l| &l.krate == dep) {
            problems.push(format!(
                "ARCHITECTURE.md: {} depends on {dep}, which is not above it in the layer table",
                layer.krate
            ));
        } else if !layer.uses_all_above && !layer.uses.iter().any(|u| format!("e911-{u}") == *dep) {
            problems.push(format!(
                "ARCHITECTURE.md: {} depends on {dep}, but its row does not say so",
                layer.krate
            ));
        }
    }
    let named: Vec<String> = if layer.uses_all_above {
        above.iter().map(|l| l.krate.clone()).collect()
    } else {
        layer.uses.iter().map(|u| format!("e911-{u}")).collect()
    };
    for name in named.iter().filter(|name| !deps.contains(name)) {
        problems.push(format!(
            "ARCHITECTURE.md: {}'s row says it uses {name}, but {}/Cargo.toml does not",
            layer.krate, layer.folder
        ));
    }
    problems
}

/// The rows of the layer table that name a folder of one crate (the plugin row names
/// several and has no Cargo.toml of its own: it is the bottom layer, checked by the
/// plugin crates never naming a host crate, which the workspace's build would show).
fn layer_table(text: &str) -> Result<Vec<Layer>> {
    let mut lines = text.lines().skip_while(|line| {
        !(line.starts_with(LAYER_HEADER) && line.contains("crate") && line.contains("uses"))
    });
    if lines.next().is_none() {
        bail!("ARCHITECTURE.md: no layer table (a `folder  crate  uses` block) found");
    }
    let mut layers = Vec::new();
    for line in lines.take_while(|line| !line.starts_with("```")) {
        let mut words = line.split_whitespace();
        let (Some(folder), Some(krate)) = (words.next(), words.next()) else {
            continue;
        };
        if krate.ends_with(',') {
            continue;
        }
        let rest: Vec<&str> = words.collect();
        let rest = rest.join(" ");
        let uses_part = rest.split_once('→').map_or("", |(_, after)| after);
        layers.push(Layer {
            folder: folder.to_owned(),
            krate: krate.to_owned(),
            uses: uses_part
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned)
                .collect(),
            uses_all_above: uses_part.trim() == "every crate above",
        });
    }
    Ok(layers)
}

/// The `e911-*` names under `[dependencies]` of a Cargo.toml written as ours are
/// (`e911-x.workspace = true` or `e911-x = { … }`, one a line); dev-dependencies do not
/// count: tests may reach into any crate.
fn e911_dependencies(toml: &str) -> Vec<String> {
    let mut in_dependencies = false;
    let mut names = Vec::new();
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
            continue;
        }
        if in_dependencies && line.starts_with("e911-") {
            let name: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            names.push(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "intro\n```text\nfolder  crate  uses (→)\nplugin/  e911-sip, e911-engine\nhosts/a  e911-a  —\nhosts/c  e911-c  —\nhosts/b  e911-b  → a\ncli  e911-cli  → every crate above\n```\nafter\n";

    #[test]
    fn reads_the_layer_table() {
        let layers = layer_table(TABLE).unwrap();
        let crates: Vec<&str> = layers.iter().map(|l| l.krate.as_str()).collect();
        assert_eq!(crates, ["e911-a", "e911-c", "e911-b", "e911-cli"]);
        assert_eq!(layers[2].uses, ["a"]);
        assert!(layers[3].uses_all_above);
        assert!(layer_table("no table here").is_err());
    }

    #[test]
    fn refuses_a_dependency_that_points_back_or_is_not_listed() {
        let layers = layer_table(TABLE).unwrap();
        let names = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(layer_problems(&layers, 2, &names(&["e911-a", "e911-engine"])).is_empty());
        let back = layer_problems(&layers, 0, &names(&["e911-b"]));
        assert!(back[0].contains("not above it"), "{back:?}");
        let unlisted = layer_problems(&layers, 2, &names(&["e911-a", "e911-c"]));
        assert!(unlisted[0].contains("does not say so"), "{unlisted:?}");
        let missing = layer_problems(&layers, 2, &names(&[]));
        assert!(missing[0].contains("does not"), "{missing:?}");
        let cli = layer_problems(&layers, 3, &names(&["e911-a", "e911-c"]));
        assert!(cli[0].contains("e911-b"), "{cli:?}");
    }

    #[test]
    fn reads_dependencies_not_dev_dependencies() {
        let toml = "[package]\nname = \"x\"\n[dependencies]\ne911-a.workspace = true\ne911-b = { path = \"b\" }\nanyhow.workspace = true\n[dev-dependencies]\ne911-c.workspace = true\n";
        assert_eq!(e911_dependencies(toml), ["e911-a", "e911-b"]);
    }

    /// The repository itself: fails if a host crate's Cargo.toml and its row disagree.
    #[test]
    fn this_workspace_follows_its_layer_table() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        check_layers(&root).unwrap();
    }

    #[test]
    fn finds_only_path_like_code_spans() {
        let text = "see `plugin/sip/src/lib.rs` and `Edits::render`, `a b/c`, `tests/`, `https://x/y`, `target/wasm/x.wasm`";
        let found: Vec<&str> = named_paths(text).collect();
        assert_eq!(found, ["plugin/sip/src/lib.rs", "tests/"]);
    }
}
