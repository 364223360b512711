//! What the engine's integration tests share: the repository root and the example policy.

use std::path::{Path, PathBuf};

use e911_engine::Engine;
use e911_policy::Sources;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An engine for `policies/contoso`, compiled from its source files.
pub fn contoso() -> Engine {
    let dir = root().join("policies/contoso");
    let mut sources = Sources::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        sources.add(
            path.file_name().unwrap().to_string_lossy(),
            &std::fs::read(&path).unwrap(),
        );
    }
    Engine::new(sources.compile().unwrap())
}
