//! What the fuzz targets share: the repository's example policy, read once, and a small
//! reader that takes the choices a target makes (a peer, split points, a mode) from the
//! fuzz input.
//!
//! A fuzz target panics on purpose when an invariant breaks: that is how libFuzzer learns
//! of it and keeps the input. Nothing here ends up in the plugin.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use e911_policy::{Policy, Sources};

/// The repository root (this crate lives in `fuzz/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The files of `policies/contoso`, sorted by name: `(name, bytes)`. The example bundle
/// the engine target decides against, and the sources the `policy_sources` target mutates.
pub fn contoso_files() -> Vec<(String, Vec<u8>)> {
    let dir = repo_root().join("policies/contoso");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// `policies/contoso` compiled by the sources compiler, as every host does at start-up.
pub fn contoso_policy() -> Policy {
    Sources::from_files(contoso_files())
        .compile()
        .unwrap_or_else(|problems| panic!("policies/contoso does not compile: {problems:?}"))
}

/// Takes small choices off the front of the input; what is left is the payload.
pub struct Choices<'a> {
    rest: &'a [u8],
}

impl<'a> Choices<'a> {
    /// Choices read from `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { rest: data }
    }

    /// One byte (0 once the input is used up).
    pub fn byte(&mut self) -> u8 {
        match self.rest.split_first() {
            Some((&b, rest)) => {
                self.rest = rest;
                b
            }
            None => 0,
        }
    }

    /// Two bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// What is left.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }
}
