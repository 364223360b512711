//! Bundle sources: the files a voice engineer edits, handed over as `(name, bytes)` pairs
//! so this crate never touches a file system (the harness reads the folder; a browser
//! could hand over uploads).
//!
//! TOML files are recognised by name (see [`TOML_FILES`]); every `.csv` file is read and
//! its role (ERLs, subnets, BSSIDs, switches, ports) told from its columns, so Lync and
//! Teams exports keep whatever file names they were saved under. Other files (a README)
//! are ignored.

mod assign;
mod build;
mod elements;
pub(crate) mod erls;
mod listing;
mod numbers;
mod profile;
mod resolve;
mod subnet;
mod toml_files;

use crate::Policy;
use crate::problem::Problem;
use listing::Listing;
pub use listing::{ElementRow, ErlOrigin};

/// The TOML files a bundle may contain; `bundle.toml` is required.
pub const TOML_FILES: [&str; 6] = [
    "bundle.toml",
    "policies.toml",
    "routes.toml",
    "sites.toml",
    "notifications.toml",
    "callers.toml",
];

/// One source file, decoded.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    pub name: String,
    /// `None` when the bytes were neither UTF-8 nor UTF-16 with a byte-order mark.
    pub text: Option<String>,
}

impl SourceFile {
    /// The name without folders, which decides how the file is read.
    pub(crate) fn base_name(&self) -> &str {
        self.name.rsplit(['/', '\\']).next().unwrap_or(&self.name)
    }

    pub(crate) fn extension(&self) -> Option<String> {
        let base = self.base_name();
        base.rfind('.')
            .and_then(|at| base.get(at + 1..))
            .map(str::to_ascii_lowercase)
    }
}

/// What [`Sources::check`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Check {
    /// What stops the bundle compiling; empty when it compiles.
    pub problems: Vec<Problem>,
    /// What compiles but deserves an engineer's look.
    pub warnings: Vec<Problem>,
}

/// The files of one bundle, ready to validate and compile.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    /// No files yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The given `(file name, bytes)` pairs; names are as the problems should show them
    /// (relative to the bundle folder).
    pub fn from_files<I, N, B>(files: I) -> Self
    where
        I: IntoIterator<Item = (N, B)>,
        N: Into<String>,
        B: AsRef<[u8]>,
    {
        let mut sources = Self::new();
        for (name, bytes) in files {
            sources.add(name, bytes.as_ref());
        }
        sources
    }

    /// Adds one file. UTF-8 (with or without BOM) and UTF-16 with a BOM (what Windows
    /// PowerShell's `Out-File` writes) are accepted.
    pub fn add(&mut self, name: impl Into<String>, bytes: &[u8]) {
        self.files.push(SourceFile {
            name: name.into(),
            text: decode(bytes),
        });
    }

    /// The file names, in the order given.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|f| f.name.as_str())
    }

    /// Every problem in the sources, sorted by file and line; empty when the bundle is good.
    pub fn validate(&self) -> Vec<Problem> {
        self.check().problems
    }

    /// Every problem and every warning (what compiles but deserves a look: a bundle that
    /// names no carriers, say), each sorted by file and line.
    pub fn check(&self) -> Check {
        let compiled = build::compile(&self.files, Listing::Skip);
        Check {
            problems: compiled.result.err().unwrap_or_default(),
            warnings: compiled.warnings,
        }
    }

    /// Validates and compiles. On failure, every problem found, sorted by file and line.
    pub fn compile(&self) -> Result<Policy, Vec<Problem>> {
        build::compile(&self.files, Listing::Skip)
            .result
            .map(|(policy, _)| policy)
    }

    /// Like [`Sources::compile`], and also every network element as its source row wrote
    /// it, with file and line: what a coverage view lists under each ERL.
    pub fn compile_with_elements(&self) -> Result<(Policy, Vec<ElementRow>), Vec<Problem>> {
        build::compile(&self.files, Listing::Keep).result
    }

    /// Like [`Sources::compile_with_elements`], and also where each ERL was defined
    /// (index-aligned with [`Policy::erls`]): what offline provisioning tools name when an
    /// address is wrong.
    pub fn compile_with_origins(
        &self,
    ) -> Result<(Policy, Vec<ElementRow>, Vec<ErlOrigin>), Vec<Problem>> {
        let compiled = build::compile(&self.files, Listing::Keep);
        compiled
            .result
            .map(|(policy, rows)| (policy, rows, compiled.origins))
    }
}

fn decode(bytes: &[u8]) -> Option<String> {
    let utf16 = |be: bool| {
        let units: Vec<u16> = bytes
            .get(2..)?
            .chunks_exact(2)
            .map(|pair| match pair {
                [a, b] if be => u16::from_be_bytes([*a, *b]),
                [a, b] => u16::from_le_bytes([*a, *b]),
                _ => 0,
            })
            .collect();
        String::from_utf16(&units).ok()
    };
    match bytes {
        [0xff, 0xfe, ..] => utf16(false),
        [0xfe, 0xff, ..] => utf16(true),
        _ => {
            let text = core::str::from_utf8(bytes).ok()?;
            Some(text.strip_prefix('\u{feff}').unwrap_or(text).to_owned())
        }
    }
}

#[cfg(test)]
mod validate_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_utf8_with_bom_and_utf16_from_powershell() {
        assert_eq!(decode(b"\xef\xbb\xbfSubnet").as_deref(), Some("Subnet"));
        let le: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("Subnet".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode(&le).as_deref(), Some("Subnet"));
        assert_eq!(decode(b"\xc3\x28"), None);
    }

    #[test]
    fn base_name_ignores_folders() {
        let file = SourceFile {
            name: "lis\\Subnets.CSV".into(),
            text: None,
        };
        assert_eq!(file.base_name(), "Subnets.CSV");
        assert_eq!(file.extension().as_deref(), Some("csv"));
    }
}
