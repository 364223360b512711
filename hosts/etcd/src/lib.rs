//! The ELIN callback store replicated through etcd, so that every proxy of an HA group
//! sees the same mappings: a PSAP's callback reaches the caller whichever replica it
//! lands on, and two replicas never hand one ELIN to two callers at once.
//!
//! Behind the engine's `CallbackStore` seam, nothing in the plugin changes. The layout in
//! etcd, the compare-and-swap and what happens when etcd is away are described in
//! `ARCHITECTURE.md` ("Replicated callback state"). In short:
//!
//! - one key per ELIN, `<prefix>callbacks/<ELIN>`, holding the engine's `CallbackEntry`
//!   as JSON, under a lease that ends a grace period after the callback window;
//! - an ELIN is taken by a transaction that compares the key's `mod_revision` with the
//!   one the engine's read saw; the loser decides its call again;
//! - a call waits for etcd at most a configured bound over all its requests; past that,
//!   or while etcd is down, it is decided on the replica's copy (refreshed every
//!   second), marked degraded, and its mapping written when etcd is back
//!   ([`reconcile`]).
//!
//! Two parts. [`wire`] and [`reconcile`] do no I/O and never panic: the Envoy filter
//! compiles them in and sends the bytes through `dispatch_http_call`. The `client`
//! feature adds the blocking [`Client`] and the [`Replicated`] store the synchronous
//! hosts (the harness proxy, the Kamailio bridge) use.

pub mod reconcile;
pub mod wire;

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
mod replica;

#[cfg(feature = "client")]
pub use client::{Client, Connection, Swap};
pub use reconcile::{Conflict, Settle, settle};
#[cfg(feature = "client")]
pub use replica::{Counters, Health, Outcome, Replicated, Session, Settings, Synced};
pub use wire::Kv;
