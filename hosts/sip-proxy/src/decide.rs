//! The decision behind the proxy: one trait, [`Decide`], with two implementations: the
//! wasmtime component host ([`Component`], `--engine component`, the default) and the
//! engine linked into the harness ([`Native`], `--engine native`), run from a [`Pool`] so
//! that calls do not wait on one another.
//!
//! Each decider reads and writes the ELIN callback store through a
//! [`ProxyStore`], and each decision goes through
//! [`decide_with`], which saves the store before the message is forwarded and, with
//! `--etcd`, decides again a call that lost its ELIN to another replica.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use e911_component_host::{ComponentHost, ComponentRuntime};
use e911_engine::{CallCtx, Engine, Verdict};
use e911_policy::{DialPlan, PublicKey};

use super::callbacks::{ProxyStore, SharedCallbacks, decide_with};
use super::lock;

/// Bytes and context in, a verdict out. Implementations must not block on I/O other than
/// the callback store's save.
pub trait Decide: Send {
    /// Decides one complete message.
    fn decide(&mut self, bytes: &[u8], ctx: &CallCtx<'_>) -> Verdict;
    /// The active bundle revision.
    fn revision(&self) -> &str;
}

/// The native engine.
pub struct Native {
    engine: Arc<Engine>,
    store: ProxyStore,
}

impl Native {
    /// A decider for one compiled policy (shared by the pool's deciders).
    pub fn new(engine: Arc<Engine>, callbacks: SharedCallbacks) -> Self {
        Self {
            engine,
            store: ProxyStore::new(callbacks),
        }
    }
}

impl Decide for Native {
    fn decide(&mut self, bytes: &[u8], ctx: &CallCtx<'_>) -> Verdict {
        let mut store = self.store.clone();
        decide_with(&self.store, || {
            self.engine.on_message(bytes, ctx, &mut store)
        })
    }

    fn revision(&self) -> &str {
        self.engine.policy().revision()
    }
}

/// The policy component under wasmtime.
pub struct Component {
    host: ComponentHost<ProxyStore>,
    store: ProxyStore,
}

impl Component {
    /// A fresh host from `runtime` (compiled once at start), configured with `bundle`
    /// (compiled bundle bytes) checked against `keys`; a refused bundle is an error.
    pub fn new(
        runtime: &ComponentRuntime,
        callbacks: SharedCallbacks,
        bundle: &[u8],
        keys: &[PublicKey],
    ) -> Result<Self> {
        let store = ProxyStore::new(callbacks);
        let mut host = ComponentHost::new(runtime.clone(), store.clone())
            .map_err(|err| anyhow::anyhow!("{err}"))?;
        let keys: Vec<[u8; 32]> = keys.iter().map(PublicKey::to_bytes).collect();
        host.configure(bundle, &keys)
            .map_err(|err| anyhow::anyhow!("{err}"))?;
        Ok(Self { host, store })
    }
}

impl Decide for Component {
    fn decide(&mut self, bytes: &[u8], ctx: &CallCtx<'_>) -> Verdict {
        decide_with(&self.store, || self.host.on_message(bytes, ctx))
    }

    fn revision(&self) -> &str {
        self.host.revision()
    }
}

/// Runs `decider` on one message; a panic becomes `None` (the caller forwards the
/// original message to the default upstream: an emergency call is never dropped).
fn decide_safely(decider: &mut dyn Decide, bytes: &[u8], ctx: &CallCtx<'_>) -> Option<Verdict> {
    catch_unwind(AssertUnwindSafe(|| decider.decide(bytes, ctx))).ok()
}

/// Deciders for one policy, one per core, so that calls on different connections decide
/// at once. With the proxy's own store, messages that may start a call (anything but a
/// response or a method that never does) decide one at a time: an ELIN is chosen from the
/// store as the previous call left it, so two callers at one ERL never get the same ELIN.
/// A store replicated through etcd needs no such lock: its compare-and-swap already
/// settles two deciders of one proxy the way it settles two proxies.
pub struct Pool {
    deciders: Vec<Mutex<Box<dyn Decide>>>,
    next: AtomicUsize,
    /// `None` when the store settles races itself.
    calls: Option<Mutex<()>>,
    /// The policy's emergency numbers, for what the proxy recognises by itself.
    dial_plan: Mutex<DialPlan>,
}

impl Pool {
    /// How many deciders a pool holds: one per core, at least two, at most eight.
    pub fn size() -> usize {
        std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8))
    }

    /// A pool of `deciders` (at least one) for a policy with `dial_plan`; `serialize`:
    /// whether messages that may start a call decide one at a time.
    pub fn new(deciders: Vec<Box<dyn Decide>>, dial_plan: DialPlan, serialize: bool) -> Self {
        Self {
            deciders: deciders.into_iter().map(Mutex::new).collect(),
            next: AtomicUsize::new(0),
            calls: serialize.then(|| Mutex::new(())),
            dial_plan: Mutex::new(dial_plan),
        }
    }

    /// Installs new deciders (a reload), each swapped in between two of its decisions.
    pub fn replace(&self, deciders: Vec<Box<dyn Decide>>, dial_plan: DialPlan) {
        for (slot, decider) in self.deciders.iter().zip(deciders) {
            *lock(slot) = decider;
        }
        *lock(&self.dial_plan) = dial_plan;
    }

    /// Whether `bytes` start an emergency call by the policy's numbers (read from the
    /// request line alone: for a message the deciders could not take).
    pub fn emergency_invite(&self, bytes: &[u8]) -> bool {
        super::failsafe::emergency_invite(bytes, &lock(&self.dial_plan))
    }

    /// The revision in force.
    pub fn revision(&self) -> String {
        self.deciders
            .first()
            .map(|d| lock(d).revision().to_owned())
            .unwrap_or_default()
    }

    /// Decides one message on a free decider (waiting for one when all are busy); `None`
    /// when the decision panicked.
    pub fn decide(&self, bytes: &[u8], ctx: &CallCtx<'_>) -> Option<Verdict> {
        let _one_at_a_time = self
            .calls
            .as_ref()
            .filter(|_| may_start_a_call(bytes))
            .map(lock);
        let count = self.deciders.len().max(1);
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let free = (0..count).find_map(|i| self.deciders.get((start + i) % count)?.try_lock().ok());
        let mut decider = match free {
            Some(decider) => decider,
            None => lock(self.deciders.get(start % count)?),
        };
        decide_safely(decider.as_mut(), bytes, ctx)
    }
}

/// Whether a message may start a call or a PSAP callback, so may choose an ELIN:
/// anything but a response or a request whose method never starts one.
fn may_start_a_call(bytes: &[u8]) -> bool {
    const NEVER: [&[u8]; 13] = [
        b"SIP/2.0 ",
        b"ACK ",
        b"BYE ",
        b"CANCEL ",
        b"OPTIONS ",
        b"REGISTER ",
        b"SUBSCRIBE ",
        b"NOTIFY ",
        b"INFO ",
        b"UPDATE ",
        b"PRACK ",
        b"MESSAGE ",
        b"REFER ",
    ];
    !NEVER.iter().any(|start| bytes.starts_with(start))
}
