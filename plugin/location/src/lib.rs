//! # e911-location
//!
//! Brief overview: the location half of the E9-1-1 plugin. No I/O and no
//! clock: callers pass bytes and timestamps in, get values out, and nothing
//! here panics on any input (a panic in Envoy kills the VM for every
//! connection).
//!
//! - [`Location`] (in [`model`]) is the principal type: an RFC 5139
//!   [`CivicAddress`] and/or an RFC 5491 geodetic [`Shape`] ([`Point`],
//!   [`Circle`]), with the RFC 4119 [`Method`], timestamp, [`UsageRules`],
//!   `provided-by` and ELINs ([`elin`]).
//! - [`write_pidf_lo`] with [`WriteOptions`] renders a `Location` as a PIDF-LO
//!   (RFC 4119, RFC 5491) that validates against the RFC schemas, with the
//!   location in a `dm:device`, `tuple` or `dm:person` ([`Placement`]).
//! - [`read_pidf_lo`] reads what real systems send, leniently, into a
//!   [`PidfLo`]: every [`FoundLocation`] with its [`Origin`], and
//!   [`PidfLo::preferred`] by RFC 5491 §3.4. Bad input is a [`ReadError`].
//!
//! The LIS lookup tables (subnet, BSSID, chassis, port) will live in their
//! own module beside these.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Slicing with [] panics on a bad index; this crate must not panic.
#![warn(clippy::indexing_slicing)]

pub mod call_data;
pub mod civic;
pub mod elin;
pub mod error;
pub mod geodetic;
pub mod lis;
pub mod model;
pub mod pidf;

pub use civic::{CivicAddress, CivicElement};
pub use error::{ReadError, WriteError};
pub use geodetic::{Circle, OtherShape, Point, Shape, ShapeError};
pub use model::{Location, LocationRef, Method, Placement, UsageRules};
pub use pidf::{
    CivicMarkup, FoundLocation, MsftExtension, Origin, PidfLo, WriteOptions, read_pidf_lo,
    write_pidf_lo,
};
