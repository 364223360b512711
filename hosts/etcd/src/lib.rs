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
//!   one the engine's read saw ([`Session`]); the loser decides its call again;
//! - a call waits for etcd at most [`Settings::wait`] over all its requests; past that,
//!   or while etcd is down, it is decided on the replica's copy (refreshed every second by
//!   [`Replicated::sync`]), marked degraded, and its mapping written when etcd is back.

mod client;
mod replica;

pub use client::{Client, Connection, Kv, Swap};
pub use replica::{Conflict, Counters, Health, Outcome, Replicated, Session, Settings, Synced};
