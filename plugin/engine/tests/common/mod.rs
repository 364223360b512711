//! What the engine's integration tests share: the repository root, the example policy,
//! and one sample call decided by it.

// Each test file uses its own subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use e911_engine::{CallCtx, Engine, MemoryStore, Transport, Verdict};
use e911_policy::Sources;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An engine for `policies/contoso`, compiled from its source files.
pub fn contoso() -> Engine {
    contoso_edited(|_, text| text)
}

/// An engine for `policies/contoso` with `edit(file name, text)` applied to each of its
/// source files first.
pub fn contoso_edited(edit: impl Fn(&str, String) -> String) -> Engine {
    let dir = root().join("policies/contoso");
    let mut sources = Sources::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = edit(&name, std::fs::read_to_string(&path).unwrap());
        sources.add(name, text.as_bytes());
    }
    Engine::new(sources.compile().unwrap())
}

/// The context the sample calls are decided in: from `peer`, over TCP, at a fixed time.
pub fn sample_ctx(peer: &str) -> CallCtx<'static> {
    CallCtx {
        now: 1_800_000_000,
        peer: peer.parse().ok(),
        transport: Transport::Tcp,
        node: "edge-1.contoso.com",
    }
}

/// The sample call `tests/corpus/emergency/<sample>` from `peer`, decided by contoso in
/// [`sample_ctx`], with an empty callback store.
pub fn decide_sample(sample: &str, peer: &str) -> Verdict {
    let bytes = std::fs::read(root().join("tests/corpus/emergency").join(sample)).unwrap();
    contoso().on_message(&bytes, &sample_ctx(peer), &mut MemoryStore::default())
}
