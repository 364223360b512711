//! Helpers shared by the harness's integration tests: paths, the built binary, temporary
//! folders, readable differences and the PIDF-LO schema check.

// Each test file uses its own subset of these helpers; clippy.toml allows unwrap, expect
// and panic in #[test] functions, and these helpers are test code too.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod callee;
pub mod case;
pub mod envoy;
pub mod etcd;
pub mod hosts;
pub mod http;
pub mod kamailio;
pub mod malformed;
pub mod policy;
pub mod ports;
pub mod process;
pub mod proxy;
pub mod sipp;
pub mod tools;
pub mod trunks;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The repository root (tests run from the crate folder).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the repository")
        .to_owned()
}

/// The `e911-harness` binary Cargo built for these tests.
pub fn harness() -> &'static str {
    env!("CARGO_BIN_EXE_e911-harness")
}

/// A folder under the system temp dir, unique per process and call, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "e911-harness-test-{}-{n}-{label}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temp dir can be created");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where two byte strings first differ, as line number and both lines.
pub fn first_difference(expected: &[u8], actual: &[u8]) -> String {
    let expected = String::from_utf8_lossy(expected);
    let actual = String::from_utf8_lossy(actual);
    let mut e_lines = expected.split_inclusive('\n');
    let mut a_lines = actual.split_inclusive('\n');
    for n in 1.. {
        match (e_lines.next(), a_lines.next()) {
            (None, None) => break,
            (e, a) if e == a => {}
            (e, a) => {
                return format!(
                    "line {n}\n  expected: {:?}\n  actual:   {:?}",
                    e.unwrap_or("(end)"),
                    a.unwrap_or("(end)")
                );
            }
        }
    }
    "same text, different bytes".to_owned()
}

/// Runs `../shared/conformance/validate-pidf` on the files; fails (never skips) when
/// xmllint is missing.
pub fn validate_pidf(files: &[PathBuf]) {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/validate-pidf");
    assert!(
        script.is_file(),
        "{} is missing: the PIDF-LO schema check needs the shared conformance folder",
        script.display()
    );
    let xmllint = Command::new("xmllint").arg("--version").output();
    assert!(
        xmllint.is_ok_and(|o| o.status.success()),
        "xmllint is not installed: install libxml2-utils (apt-get install libxml2-utils) \
         to validate PIDF-LO against the RFC schemas"
    );
    let out = Command::new("bash")
        .arg(&script)
        .arg("-q")
        .args(files)
        .output()
        .expect("bash runs validate-pidf");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(
        out.status.code(),
        Some(3),
        "validate-pidf found no xmllint: install libxml2-utils\n{report}"
    );
    assert!(
        out.status.success(),
        "PIDF-LO documents fail the schema check (re-run validate-pidf without -q for details):\n{report}"
    );
}
