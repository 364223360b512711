//! # e911-engine: the sans-I/O E9-1-1 decision
//!
//! Brief overview: [`Engine::on_message`] takes one SIP message's bytes and a [`CallCtx`]
//! (time, peer, transport, node name) and returns a [`Verdict`]: the bytes to forward
//! ([`Output`]), the change as an [`EditOp`] list, and the effects a host performs —
//! [`Notification`]s, an audit [`Report`] and metric names. The one piece of state, ELIN
//! callbacks, goes through the [`CallbackStore`] trait that each host backs.
//!
//! One INVITE's path (DESIGN §3): the ordinary-INVITE screen forwards an INVITE whose
//! Request-URI and To already make it an ordinary call; otherwise [`facts`] reads the SIP text into plain facts;
//! [`client_location`] finds the client's PIDF-LO; `e911_policy::Policy::evaluate`
//! classifies, locates, resolves the policy and picks the route; the emergency module
//! rewrites for the route ([`rewrite`]) and records why. Nothing here does I/O or reads a
//! clock, and nothing can refuse an emergency call: failures degrade to forwarding it on
//! the emergency route, and the report says why.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod callback;
pub mod client_location;
mod emergency;
mod engine;
pub mod facts;
pub mod json;
pub mod metric;
mod ordinary;
mod provider;
mod report;
pub mod rewrite;
pub mod time;
pub mod verdict;
pub mod words;

pub use callback::{CallbackEntry, CallbackStore, MemoryStore, select_elin};
pub use client_location::{CidMatch, ClientLocation};
pub use engine::{CallCtx, ENGINE_LIMITS, Engine, Failover, STRICT_UNBOUNDED, Transport};
pub use metric::Metric;
pub use report::address_line;
pub use rewrite::{EditOp, Position};
pub use verdict::{
    Attempt, Kind, LocationReport, Notification, Output, Report, RouteReport, Verdict,
};
pub use words::Word;
// The report's closed vocabularies, so a host can match on them without naming the
// policy crate.
pub use e911_policy::{ElementKind, LocationSource, Mismatch, RouteKind, RouteReason};
