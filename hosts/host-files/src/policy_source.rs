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

/// A policy loaded from `--policy`, and who signed it.
pub struct Loaded {
    /// The compiled policy.
    pub policy: Policy,
    /// The signer's key id; `None` for an unsigned bundle or a source folder.
    pub signer: Option<String>,
}

impl Loaded {
    /// The warning to log while this policy runs unsigned (see
    /// [`e911_policy::unsigned_warning`]).
    pub fn unsigned_warning(&self) -> Option<String> {
        self.signer
            .is_none()
            .then(|| e911_policy::unsigned_warning(self.policy.revision()))
    }
}

/// Compiles a source folder, or loads and verifies a bundle file against `keys` (when
/// keys are given, unsigned bundles are refused).
pub fn load(path: &Path, keys: &[PublicKey]) -> Result<Policy> {
    load_signed(path, keys).map(|loaded| loaded.policy)
}

/// [`load`], saying who signed the bundle. `--trust-key` means the same for every kind of
/// policy: with keys, only a bundle signed by one of them is accepted, so a source folder
/// (which compiles to an unsigned policy) is refused rather than silently trusted.
pub fn load_signed(path: &Path, keys: &[PublicKey]) -> Result<Loaded> {
    if path.is_dir() {
        if !keys.is_empty() {
            bail!(
                "{}: a source folder is unsigned, but --trust-key requires a bundle signed by a trusted key: build one with `e911-harness bundle build {} --out FILE --sign-key KEY` and give that file",
                path.display(),
                path.display()
            );
        }
        let sources = read_sources(path)?;
        return match sources.compile() {
            Ok(policy) => Ok(Loaded {
                policy,
                signer: None,
            }),
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
    let signer = bundle.info().signer_key_id();
    Ok(Loaded {
        policy: bundle.into_policy(),
        signer,
    })
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
