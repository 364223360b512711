//! `--state FILE`: the ELIN callback store, kept between runs as JSON.
//!
//! Callback mappings must survive (DESIGN §2.5), so a file that cannot be read is never
//! overwritten: it is moved aside to `FILE.unreadable` and the run goes on with an empty
//! store, saying so. Saving writes a temporary file and renames it over the old one, so a
//! crash mid-write leaves the previous state whole.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use e911_engine::MemoryStore;

/// The store read from `path`, and a warning when the file was unreadable.
pub fn load(path: &Path) -> (MemoryStore, Option<String>) {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return (MemoryStore::default(), None);
        }
        Err(err) => {
            return (
                MemoryStore::default(),
                Some(format!(
                    "{}: cannot read ({err}); starting with no callback state",
                    path.display()
                )),
            );
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(store) => (store, None),
        Err(err) => {
            let aside = aside(path);
            let kept = match std::fs::rename(path, &aside) {
                Ok(()) => format!("kept as {}", aside.display()),
                Err(_) => "left in place".to_owned(),
            };
            let warning = format!(
                "{}:{}: callback state unreadable ({err}); {kept}; starting with no callback state",
                path.display(),
                err.line()
            );
            (MemoryStore::default(), Some(warning))
        }
    }
}

/// Writes the store to `path` atomically.
pub fn save(path: &Path, store: &MemoryStore) -> Result<()> {
    let mut json = serde_json::to_vec_pretty(store).context("encoding the callback state")?;
    json.push(b'\n');
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, json).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot replace", path.display()))
}

/// `FILE.unreadable`, or `FILE.unreadable.N` when earlier copies are already there: a
/// second bad file must not replace the first one kept aside.
fn aside(path: &Path) -> PathBuf {
    let with_suffix = |suffix: String| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    std::iter::once(with_suffix(".unreadable".to_owned()))
        .chain((1..1000).map(|n| with_suffix(format!(".unreadable.{n}"))))
        .find(|candidate| !candidate.exists())
        .unwrap_or_else(|| with_suffix(".unreadable.last".to_owned()))
}
