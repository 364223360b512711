//! Brief overview: what the carrier is sent before any call, built from a policy's
//! sources. Offline provisioning tooling: it never ends up in the plugin, which is why it
//! is a crate of its own beside the hosts. Pure functions over bytes and the compiled
//! [`e911_policy::Policy`]; the CLI (`e911-harness bundle export-ali`, `bundle check
//! --msag`) reads and writes the files.
//!
//! - [`ali`]: every ELIN of every ERL as an ALI record ([`ali::AliRecord`]), written as the
//!   NENA 02-010 fixed-width record ([`ali::write_nena`]) or as CSV ([`ali::write_csv`]);
//!   an address the layout cannot carry is a [`e911_policy::Problem`] naming the ERL's
//!   source row, never a silently truncated record.
//! - [`msag`]: an MSAG extract ([`msag::Msag`], CSV with named columns or the NENA
//!   fixed-width MSAG record) and the check of every ERL against it
//!   ([`msag::check`]), each mismatch with the nearest valid entry.
//! - [`validated`]: rewrites only the validation cell of ERL rows (`validated`, Lync's
//!   `MSAGValid`, Teams' `ValidationStatus`), every other byte kept.
//! - [`Located`]: an ERL with the file and line that define it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ali;
mod csv_cells;
pub mod msag;
mod street;
#[cfg(test)]
mod testdata;
pub mod validated;

use e911_policy::{Erl, ErlOrigin, Policy, Problem};

/// One ERL of a compiled policy with the source row that defines it.
#[derive(Debug, Clone, Copy)]
pub struct Located<'p> {
    /// Index of the ERL in [`Policy::erls`].
    pub index: u32,
    /// The ERL.
    pub erl: &'p Erl,
    /// The file that defines it.
    pub file: &'p str,
    /// Its line there.
    pub line: u32,
}

impl Located<'_> {
    /// A problem at this ERL's source row, naming the ERL.
    pub fn problem(&self, message: impl core::fmt::Display) -> Problem {
        Problem::new(
            self.file,
            self.line,
            format!("ERL {}: {message}", self.erl.id),
        )
    }
}

/// Every ERL of `policy` with its source row (`origins` from
/// [`e911_policy::Sources::compile_with_origins`]); an ERL without an origin is named at
/// line 0 of no file, which does not happen for a policy compiled from sources.
pub fn located<'p>(policy: &'p Policy, origins: &'p [ErlOrigin]) -> Vec<Located<'p>> {
    policy
        .erls()
        .iter()
        .enumerate()
        .map(|(at, erl)| {
            let index = u32::try_from(at).unwrap_or(u32::MAX);
            let origin = origins.iter().find(|o| o.erl == index);
            Located {
                index,
                erl,
                file: origin.map_or("", |o| o.file.as_str()),
                line: origin.map_or(0, |o| o.line),
            }
        })
        .collect()
}
