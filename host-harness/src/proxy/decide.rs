//! The decision behind the proxy: one trait, [`Decide`], with two implementations: the
//! wasmtime component host ([`Component`], `--engine component`, the default) and the
//! engine linked into the harness ([`Native`], `--engine native`).
//!
//! The ELIN callback store is shared by every decider the proxy ever installs (a hot
//! reload swaps the decider, never the store) and is saved to `--state-dir` before the
//! message that changed it is forwarded (DESIGN §2.5: a crash right after forwarding
//! loses nothing): [`Native`] saves after a call that wrote it, [`SharedStore`] on every
//! `put` the component makes, both through [`Callbacks::save`].

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use e911_engine::{CallCtx, CallbackEntry, CallbackStore, Engine, MemoryStore, Verdict};
use e911_harness::component_host::{ComponentHost, ComponentRuntime};
use e911_policy::PublicKey;

use super::lock;
use crate::state;

/// Bytes and context in, a verdict out. Implementations must not block on I/O other than
/// the callback store's save.
pub trait Decide: Send {
    /// Decides one complete message.
    fn decide(&mut self, bytes: &[u8], ctx: &CallCtx<'_>) -> Verdict;
    /// The active bundle revision.
    fn revision(&self) -> &str;
}

/// The callback store shared across reloads, with where it is persisted.
#[derive(Debug, Default)]
pub struct Callbacks {
    store: MemoryStore,
    path: Option<PathBuf>,
}

/// [`Callbacks`] behind a lock, shared by the deciders.
pub type SharedCallbacks = Arc<Mutex<Callbacks>>;

impl Callbacks {
    /// Loads `path` (a missing file is an empty store; an unreadable one is moved aside by
    /// [`state::load`] and reported).
    pub fn open(path: Option<PathBuf>) -> (SharedCallbacks, Option<String>) {
        let (store, warning) = match &path {
            Some(path) => state::load(path),
            None => (MemoryStore::default(), None),
        };
        (Arc::new(Mutex::new(Self { store, path })), warning)
    }

    /// Writes the store to its file (if it has one); a failure is logged, the call goes on.
    fn save(&self) {
        if let Some(path) = &self.path
            && let Err(err) = state::save(path, &self.store)
        {
            eprintln!("e911-harness proxy: callback state not saved: {err:#}");
        }
    }
}

/// A [`CallbackStore`] that notes whether anything was written.
struct Tracking<'a> {
    store: &'a mut MemoryStore,
    dirty: bool,
}

impl CallbackStore for Tracking<'_> {
    fn get(&self, elin: &str) -> Option<CallbackEntry> {
        self.store.get(elin)
    }

    fn put(&mut self, elin: &str, entry: CallbackEntry) {
        self.dirty = true;
        self.store.put(elin, entry);
    }
}

/// The native engine.
pub struct Native {
    engine: Engine,
    callbacks: SharedCallbacks,
}

impl Native {
    /// A decider for one compiled policy.
    pub fn new(engine: Engine, callbacks: SharedCallbacks) -> Self {
        Self { engine, callbacks }
    }
}

impl Decide for Native {
    fn decide(&mut self, bytes: &[u8], ctx: &CallCtx<'_>) -> Verdict {
        let mut callbacks = lock(&self.callbacks);
        let mut tracking = Tracking {
            store: &mut callbacks.store,
            dirty: false,
        };
        let verdict = self.engine.on_message(bytes, ctx, &mut tracking);
        if tracking.dirty {
            callbacks.save();
        }
        verdict
    }

    fn revision(&self) -> &str {
        self.engine.policy().revision()
    }
}

/// The proxy's [`SharedCallbacks`] as the component's callback store: each call locks;
/// each `put` is saved at once, so the state is on disk before the message is forwarded.
pub struct SharedStore(SharedCallbacks);

impl CallbackStore for SharedStore {
    fn get(&self, elin: &str) -> Option<CallbackEntry> {
        lock(&self.0).store.get(elin)
    }

    fn put(&mut self, elin: &str, entry: CallbackEntry) {
        let mut callbacks = lock(&self.0);
        callbacks.store.put(elin, entry);
        callbacks.save();
    }
}

/// The policy component under wasmtime.
pub struct Component {
    host: ComponentHost<SharedStore>,
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
        let mut host = ComponentHost::new(runtime.clone(), SharedStore(callbacks))
            .map_err(|err| anyhow::anyhow!("{err}"))?;
        let keys: Vec<[u8; 32]> = keys.iter().map(PublicKey::to_bytes).collect();
        host.configure(bundle, &keys)
            .map_err(|err| anyhow::anyhow!("{err}"))?;
        Ok(Self { host })
    }
}

impl Decide for Component {
    fn decide(&mut self, bytes: &[u8], ctx: &CallCtx<'_>) -> Verdict {
        self.host.on_message(bytes, ctx)
    }

    fn revision(&self) -> &str {
        self.host.revision()
    }
}

/// Runs `decider` on one message; a panic becomes `None` (the caller forwards the
/// original message to the default upstream: an emergency call is never dropped).
pub fn decide_safely(decider: &mut dyn Decide, bytes: &[u8], ctx: &CallCtx<'_>) -> Option<Verdict> {
    catch_unwind(AssertUnwindSafe(|| decider.decide(bytes, ctx))).ok()
}
