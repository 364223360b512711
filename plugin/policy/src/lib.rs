//! Brief overview: E9-1-1 policy bundles, from the files an engineer edits to the decision
//! for one call. No I/O, no clock, no randomness on the loading or evaluating path.
//!
//! - [`Sources`]: the bundle's files as `(name, bytes)` pairs: TOML for settings, location
//!   policies, sites, routes, notification targets and callers; CSV for ERLs and network
//!   elements, in native, Lync/Skype for Business or Teams LIS export layouts.
//! - [`Sources::validate`] / [`Sources::compile`]: every [`Problem`] at once, each with
//!   file and line, or a [`Policy`].
//! - [`Policy`]: the compiled bundle: the LIS [`NetworkMap`], [`Erl`]s,
//!   [`LocationPolicy`]s, [`Route`]s, [`Site`]s, [`Caller`]s, [`Settings`].
//! - [`Policy::write_bundle`] and [`Bundle::load`]: the signed binary artifact (magic,
//!   version, revision, SHA-256, optional Ed25519 by [`SecretKey`] / [`PublicKey`]);
//!   each refusal is a [`LoadError`].
//! - [`Revision`] and [`admit`]: the one rule every host applies before it swaps
//!   bundles: an older revision is refused unless the operator forces a [`Rollback`].
//! - [`Policy::trust`]: what a request says ([`RawFacts`]) and who sent it become what the
//!   policy may use ([`TrustedFacts`]), trust decided once (RFC 3325).
//! - [`Policy::evaluate`]: [`TrustedFacts`] in, [`Decision`] out (DESIGN §3 steps 2, 4, 5,
//!   6); [`Policy::elin`] recognises PSAP callbacks to our ELINs.
//!
//! The source file set is described in the crate's `README.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bundle;
pub mod civic;
mod csv;
mod decision;
mod dial_plan;
mod evaluate;
mod identity;
mod keys;
pub mod model;
mod policy;
mod problem;
mod profile;
mod revision;
mod sources;
#[cfg(test)]
mod testdata;
mod trust;

#[cfg(fuzzing)]
pub use bundle::write_envelope_for_fuzzing;
pub use bundle::{
    Bundle, BundleInfo, FORMAT_VERSION, LoadError, MAGIC, MAX_BUNDLE_BYTES, WriteError,
    unsigned_warning,
};
pub use decision::{
    CallKind, Decision, Dialog, LocationChoice, LocationSource, Matched, Mismatch, Outbound,
    PolicyChoice, PolicyReason, Request, RequestTarget, RouteChoice, RouteKind, RouteReason,
};
pub use dial_plan::DialPlan;
pub use e911_location::lis::{ElementKind, ElementMatch, NetworkFacts, NetworkMap};
pub use e911_location::{CivicAddress, CivicElement, Location, Method, Point};
pub use identity::identity_key;
pub use keys::{KeyError, PublicKey, SecretKey};
pub use model::{
    Caller, Combine, Conference, ConferenceMode, Counts, EmergencyNumber, Erl, HeaderNames, Hop,
    LocationPolicy, LocationRequired, NotificationTarget, Route, ServiceUrns, Settings, Site,
    TrunkKind, Validation,
};
pub use policy::{ElinOwner, Policy};
pub use problem::Problem;
pub use profile::{AdditionalData, PidfPlacement, ProviderInfo, ProviderProfile};
pub use revision::{Admitted, OlderRevision, Revision, Rollback, admit};
pub use sources::{Check, ElementRow, ErlOrigin, Sources, TOML_FILES};
pub use trust::{IdentitySource, Peer, RawFacts, TrustedFacts};
