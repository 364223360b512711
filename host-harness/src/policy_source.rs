//! `--policy <DIR|BUNDLE>`: a folder of bundle sources (compiled on the spot) or a
//! compiled bundle file (verified on load).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use e911_policy::{Bundle, Policy, Problem, PublicKey, Sources};

/// Reads every file of a source folder (not recursive: a bundle is one flat folder).
pub fn read_sources(dir: &Path) -> Result<Sources> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot read the folder", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    let mut sources = Sources::new();
    for path in names {
        let bytes =
            std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        sources.add(name, &bytes);
    }
    Ok(sources)
}

/// Every problem as `DIR/file:line: message`, one per line.
pub fn problem_lines(dir: &Path, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}/{p}", dir.display()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Compiles a source folder, or loads and verifies a bundle file against `keys` (when
/// keys are given, unsigned bundles are refused).
pub fn load(path: &Path, keys: &[PublicKey]) -> Result<Policy> {
    if path.is_dir() {
        let sources = read_sources(path)?;
        return match sources.compile() {
            Ok(policy) => Ok(policy),
            Err(problems) => bail!(
                "{} problem(s) in the policy:\n{}",
                problems.len(),
                problem_lines(path, &problems)
            ),
        };
    }
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let bundle =
        Bundle::load(&bytes, keys).map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?;
    Ok(bundle.into_policy())
}

/// Reads public keys (64 hex digits each) from files.
pub fn read_keys(files: &[PathBuf]) -> Result<Vec<PublicKey>> {
    files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("{}: cannot read", file.display()))?;
            PublicKey::from_hex(text.trim())
                .map_err(|err| anyhow::anyhow!("{}:1: {err}", file.display()))
        })
        .collect()
}
