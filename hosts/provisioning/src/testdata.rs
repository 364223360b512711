//! The example policy's sources for unit tests, read from `policies/contoso`, and small
//! edits of them.

use std::path::PathBuf;

use e911_policy::{ErlOrigin, Policy, Sources};

pub(crate) type Files = Vec<(String, Vec<u8>)>;

pub(crate) fn contoso_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/contoso")
}

/// Every file of the example policy, sorted by name.
pub(crate) fn contoso() -> Files {
    let mut files: Files = std::fs::read_dir(contoso_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// `files` with `name` set to `text` (added when absent).
pub(crate) fn replace(mut files: Files, name: &str, text: &str) -> Files {
    files.retain(|(n, _)| n != name);
    files.push((name.to_owned(), text.as_bytes().to_vec()));
    files
}

/// `files` with the lines of `name` that contain `needle` removed.
pub(crate) fn without_lines(files: Files, name: &str, needle: &str) -> Files {
    let text = text_of(&files, name);
    let kept: String = text
        .split_inclusive('\n')
        .filter(|line| !line.contains(needle))
        .collect();
    replace(files, name, &kept)
}

pub(crate) fn text_of(files: &Files, name: &str) -> String {
    let (_, bytes) = files.iter().find(|(n, _)| n == name).unwrap();
    String::from_utf8(bytes.clone()).unwrap()
}

/// Compiles; the test fails on any problem.
pub(crate) fn compile(files: &Files) -> (Policy, Vec<ErlOrigin>) {
    let sources = Sources::from_files(files.iter().map(|(n, b)| (n.clone(), b.clone())));
    let (policy, _, origins) = sources.compile_with_origins().unwrap();
    (policy, origins)
}
