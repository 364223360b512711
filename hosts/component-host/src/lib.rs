//! `e911-component-host`: the wasmtime host for the policy component (`wit/policy.wit`, world `policy-plugin`).
//!
//! [`ComponentRuntime`] compiles the component once (through the `.cwasm` cache in
//! [`cache`]) and starts the epoch ticker; [`ComponentHost`] is one live instance with its
//! callback store, used like the native engine: [`ComponentHost::configure`] with bundle
//! bytes, then [`ComponentHost::on_message`] per SIP message, which returns the engine's
//! own [`Verdict`] type.
//!
//! Each call is bounded: the instance's memory by [`StoreLimits`] ([`HostLimits::memory`])
//! and its time by an epoch deadline ([`HostLimits::call_deadline`]; the ticker advances
//! the epoch every [`TICK`]). A trap (a bug, the memory or the time limit) never stops the
//! message: it is forwarded unchanged with `degraded` saying why and the metric
//! `e911.trap`, logged and counted; the instance is dropped, and the next call
//! instantiates a fresh one from the [`InstancePre`](wasmtime::component::InstancePre)
//! and configures it again with the last bundle that loaded.
//!
//! Imports: `callback-store` is the host's [`CallbackStore`] (a `MemoryStore` for `run`,
//! kept across re-instantiation); `log` writes to stderr from a threshold
//! (`E911_PLUGIN_LOG=debug|info|warn|error|off`, default `error`, so `run`'s stderr stays
//! for the harness's own warnings); `notifier` is counted only: the verdict lists the same
//! notifications and callers perform them from there, exactly as with the native engine,
//! so nothing is sent twice.

pub mod cache;
pub mod convert;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use e911_engine::{CallCtx, CallbackEntry, CallbackStore, Metric, Verdict};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};

use bindings::e911::policy::{callback_store, log, notifier};
use bindings::{PolicyPlugin, PolicyPluginPre};

/// Host bindings generated from `wit/` (no `unsafe` in them).
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "policy-plugin",
    });
}

/// How often the ticker thread advances the engine's epoch.
pub const TICK: Duration = Duration::from_millis(10);

/// Per-call bounds.
#[derive(Debug, Clone, Copy)]
pub struct HostLimits {
    /// Linear memory an instance may grow to, in bytes. The component needs a few MiB for
    /// a large bundle; a message that would push it past this traps instead of taking the
    /// host's memory.
    pub memory: usize,
    /// Time for one `on-message` call. The engine decides in microseconds; this only
    /// catches a runaway loop.
    pub call_deadline: Duration,
    /// Time for one `configure` call (a bundle with a million subnets takes a while).
    pub configure_deadline: Duration,
}

impl Default for HostLimits {
    fn default() -> Self {
        Self {
            memory: 64 << 20,
            call_deadline: Duration::from_millis(300),
            configure_deadline: Duration::from_secs(10),
        }
    }
}

/// Why the component could not be loaded or a bundle configured.
#[derive(Debug)]
pub enum HostError {
    /// The component file cannot be read.
    Missing(PathBuf, std::io::Error),
    /// wasmtime refused the component, or instantiating it failed.
    Load(String),
    /// `configure` trapped.
    Trap(String),
    /// The component refused the bundle (the previous one stays active).
    Bundle(bindings::BundleError),
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing(path, err) => write!(
                f,
                "{}: cannot read the component ({err}); build it with `cargo xtask build-component`",
                path.display()
            ),
            Self::Load(why) => write!(f, "the component cannot be loaded: {why}"),
            Self::Trap(why) => write!(f, "the component trapped in configure: {why}"),
            Self::Bundle(bindings::BundleError::OlderRevision(older)) => write!(
                f,
                "the component refused the bundle: revision {} is older than the running revision {}",
                older.offered, older.running
            ),
            Self::Bundle(err) => write!(f, "the component refused the bundle: {err:?}"),
        }
    }
}

impl std::error::Error for HostError {}

/// The compiled component and its engine; cheap to clone, one per process is enough.
/// Dropping the last clone stops the ticker thread.
#[derive(Clone)]
pub struct ComponentRuntime {
    engine: Engine,
    component: Component,
    limits: HostLimits,
}

impl ComponentRuntime {
    /// Loads the component file, compiled through the cache in [`cache::default_dir`].
    pub fn load(path: &Path, limits: HostLimits) -> Result<Self, HostError> {
        let bytes = std::fs::read(path).map_err(|err| HostError::Missing(path.into(), err))?;
        Self::from_bytes(&bytes, cache::default_dir().as_deref(), limits)
    }

    /// Compiles (or loads from `cache_dir`) the component given as bytes.
    pub fn from_bytes(
        bytes: &[u8],
        cache_dir: Option<&Path>,
        limits: HostLimits,
    ) -> Result<Self, HostError> {
        let engine = ticking_engine("e911-epoch").map_err(HostError::Load)?;
        let component = cache::load(&engine, bytes, cache_dir)
            .map_err(|err| HostError::Load(format!("{err:#}")))?;
        Ok(Self {
            engine,
            component,
            limits,
        })
    }

    /// The limits each host made from this runtime applies.
    pub fn limits(&self) -> HostLimits {
        self.limits
    }
}

/// An engine with epoch interruption and a thread named `ticker` that advances its epoch
/// every [`TICK`] until the last clone of the engine is dropped. Both hosts (this one and
/// the proxy-wasm host in `e911-harness`) bound each call's time with it.
pub fn ticking_engine(ticker: &str) -> Result<Engine, String> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).map_err(|err| format!("{err:#}"))?;
    let weak = engine.weak();
    std::thread::Builder::new()
        .name(ticker.to_owned())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        })
        .map_err(|err| format!("cannot start the epoch ticker: {err}"))?;
    Ok(engine)
}

/// Where the component's `log` lines go instead of stderr: a host with a log of its own
/// (Kamailio's, through the bridge in `hosts/kamailio/native/`) passes one.
pub type LogSink = Arc<dyn Fn(log::Level, &str) + Send + Sync>;

/// The state a store holds: the callback store the component reads and writes, the
/// memory limiter, and what the imports saw.
pub struct HostState<S> {
    callbacks: S,
    limits: StoreLimits,
    log_level: Option<log::Level>,
    log_sink: Option<LogSink>,
    notified: u64,
}

impl<S: CallbackStore> callback_store::Host for HostState<S> {
    fn get(&mut self, elin: String) -> Option<callback_store::CallbackEntry> {
        self.callbacks
            .get(&elin)
            .map(|e| callback_store::CallbackEntry {
                caller: e.caller,
                call_id: e.call_id,
                assigned_at: e.assigned_at,
                expires_at: e.expires_at,
                uses: e.uses,
                policy: e.policy,
            })
    }

    fn put(&mut self, elin: String, e: callback_store::CallbackEntry) {
        self.callbacks.put(
            &elin,
            CallbackEntry {
                caller: e.caller,
                call_id: e.call_id,
                assigned_at: e.assigned_at,
                expires_at: e.expires_at,
                uses: e.uses,
                policy: e.policy,
            },
        );
    }
}

impl<S> notifier::Host for HostState<S> {
    fn notify(&mut self, _n: notifier::Notification) {
        // The verdict carries the same notifications; callers send them from there.
        self.notified += 1;
    }
}

impl<S> log::Host for HostState<S> {
    fn log(&mut self, level: log::Level, message: String) {
        if self.log_level.is_none_or(|min| rank(level) < rank(min)) {
            return;
        }
        match &self.log_sink {
            Some(sink) => sink(level, &message),
            None => eprintln!("e911-plugin: {}: {message}", name(level)),
        }
    }
}

fn rank(level: log::Level) -> u8 {
    match level {
        log::Level::Debug => 0,
        log::Level::Info => 1,
        log::Level::Warn => 2,
        log::Level::Error => 3,
    }
}

/// The level's name in the WIT (`debug`, `info`, `warn`, `error`).
pub fn name(level: log::Level) -> &'static str {
    match level {
        log::Level::Debug => "debug",
        log::Level::Info => "info",
        log::Level::Warn => "warn",
        log::Level::Error => "error",
    }
}

/// `E911_PLUGIN_LOG`: the lowest level written to stderr (`off`: none); default `error`.
fn log_threshold() -> Option<log::Level> {
    match std::env::var("E911_PLUGIN_LOG").as_deref() {
        Ok("debug") => Some(log::Level::Debug),
        Ok("info") => Some(log::Level::Info),
        Ok("warn") => Some(log::Level::Warn),
        Ok("off") => None,
        _ => Some(log::Level::Error),
    }
}

/// What `configure` reports about the active bundle.
pub type BundleInfo = bindings::BundleInfo;

/// Whether `configure` may load an older revision than the running one.
pub type Rollback = bindings::Rollback;

/// The level of a component `log` line.
pub type LogLevel = log::Level;

/// One live instance.
struct Live<S: 'static> {
    store: Store<HostState<S>>,
    plugin: PolicyPlugin,
}

/// The component, used like `e911_engine::Engine`: configure a bundle, then one verdict
/// per message. Single-threaded; make one per worker from a shared [`ComponentRuntime`].
pub struct ComponentHost<S: 'static> {
    runtime: ComponentRuntime,
    pre: PolicyPluginPre<HostState<S>>,
    live: Option<Live<S>>,
    /// Kept while no instance is live (before the first call, after a trap).
    idle: Option<S>,
    /// The last bundle that loaded and its keys: configured again after a trap.
    bundle: Option<(Vec<u8>, Vec<Vec<u8>>)>,
    revision: String,
    traps: u64,
    log_level: Option<log::Level>,
    log_sink: Option<LogSink>,
}

impl<S: CallbackStore + 'static> ComponentHost<S> {
    /// A host over `runtime` whose component reads and writes `callbacks`.
    pub fn new(runtime: ComponentRuntime, callbacks: S) -> Result<Self, HostError> {
        let mut linker: Linker<HostState<S>> = Linker::new(&runtime.engine);
        PolicyPlugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)
            .map_err(|err| HostError::Load(format!("{err:#}")))?;
        let pre = linker
            .instantiate_pre(&runtime.component)
            .and_then(PolicyPluginPre::new)
            .map_err(|err| HostError::Load(format!("{err:#}")))?;
        Ok(Self {
            runtime,
            pre,
            live: None,
            idle: Some(callbacks),
            bundle: None,
            revision: String::new(),
            traps: 0,
            log_level: log_threshold(),
            log_sink: None,
        })
    }

    /// Loads a compiled bundle (`Policy::write_bundle`), checked against `keys` (32-byte
    /// Ed25519 public keys; none accepts unsigned bundles) and against the revision this
    /// instance runs (an older one is refused: the harness proxy forces a rollback by
    /// making fresh hosts, after applying the same rule itself). On error the previous
    /// bundle stays active.
    pub fn configure(&mut self, bundle: &[u8], keys: &[[u8; 32]]) -> Result<BundleInfo, HostError> {
        self.configure_with(bundle, keys, Rollback::Refuse)
    }

    /// As [`configure`](Self::configure), with the operator's choice for an older
    /// revision: `Rollback::Allow` loads it anyway (Kamailio's `allow_rollback = yes`).
    pub fn configure_with(
        &mut self,
        bundle: &[u8],
        keys: &[[u8; 32]],
        rollback: Rollback,
    ) -> Result<BundleInfo, HostError> {
        let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
        let result = self.configure_live(bundle, &keys, rollback)?;
        let info = result.map_err(HostError::Bundle)?;
        self.revision = info.revision.clone();
        self.bundle = Some((bundle.to_vec(), keys));
        Ok(info)
    }

    fn configure_live(
        &mut self,
        bundle: &[u8],
        keys: &[Vec<u8>],
        rollback: Rollback,
    ) -> Result<Result<BundleInfo, bindings::BundleError>, HostError> {
        let deadline = self.runtime.limits.configure_deadline;
        let live = self.live()?;
        live.store.set_epoch_deadline(ticks(deadline));
        match live
            .plugin
            .call_configure(&mut live.store, bundle, keys, rollback)
        {
            Ok(result) => Ok(result),
            Err(err) => {
                let why = describe(&err);
                self.trapped(&why);
                Err(HostError::Trap(why))
            }
        }
    }

    /// The verdict for one complete SIP message. Never fails: a trap forwards the message
    /// unchanged, degraded.
    pub fn on_message(&mut self, bytes: &[u8], ctx: &CallCtx<'_>) -> Verdict {
        let deadline = self.runtime.limits.call_deadline;
        let wit_ctx = convert::message_context(ctx);
        let result = self.live().map_err(|err| err.to_string()).and_then(|live| {
            live.store.set_epoch_deadline(ticks(deadline));
            live.plugin
                .call_on_message(&mut live.store, bytes, &wit_ctx)
                .map_err(|err| describe(&err))
        });
        match result {
            Ok(verdict) => convert::verdict(verdict, ctx.now),
            Err(why) => {
                self.trapped(&why);
                self.trap_verdict(&why, ctx.now)
            }
        }
    }

    /// Sends the component's `log` lines at `threshold` and above to `sink` (`None`:
    /// none), instead of stderr from `E911_PLUGIN_LOG`'s threshold.
    pub fn set_log(&mut self, sink: LogSink, threshold: Option<log::Level>) {
        self.log_level = threshold;
        self.log_sink = Some(sink);
        if let Some(live) = self.live.as_mut() {
            let state = live.store.data_mut();
            state.log_level = threshold;
            state.log_sink = self.log_sink.clone();
        }
    }

    /// Traps since this host was made.
    pub fn traps(&self) -> u64 {
        self.traps
    }

    /// The active bundle's revision (empty before any `configure`).
    pub fn revision(&self) -> &str {
        &self.revision
    }

    /// The callback store, for a caller that persists it after a call. `None` only if
    /// a store was lost, which no path does: each one that takes it from an instance puts
    /// it back.
    pub fn callbacks(&self) -> Option<&S> {
        match &self.live {
            Some(live) => Some(&live.store.data().callbacks),
            None => self.idle.as_ref(),
        }
    }

    /// Ends the host and hands back its callback store.
    pub fn into_callbacks(mut self) -> Option<S> {
        match self.live.take() {
            Some(live) => Some(live.store.into_data().callbacks),
            None => self.idle.take(),
        }
    }

    /// The live instance, instantiating (and configuring) one when there is none.
    fn live(&mut self) -> Result<&mut Live<S>, HostError> {
        if self.live.is_none() {
            let Some(callbacks) = self.idle.take() else {
                return Err(HostError::Load("the callback store is gone".to_owned()));
            };
            let state = HostState {
                callbacks,
                limits: StoreLimitsBuilder::new()
                    .memory_size(self.runtime.limits.memory)
                    .trap_on_grow_failure(true)
                    .build(),
                log_level: self.log_level,
                log_sink: self.log_sink.clone(),
                notified: 0,
            };
            let mut store = Store::new(&self.runtime.engine, state);
            store.limiter(|state| &mut state.limits);
            store.epoch_deadline_trap();
            store.set_epoch_deadline(ticks(self.runtime.limits.configure_deadline));
            let plugin = match self.pre.instantiate(&mut store) {
                Ok(plugin) => plugin,
                Err(err) => {
                    self.idle = Some(store.into_data().callbacks);
                    return Err(HostError::Load(format!("{err:#}")));
                }
            };
            let mut live = Live { store, plugin };
            if let Some((bundle, keys)) = &self.bundle {
                // A fresh instance runs nothing yet: no rollback to refuse.
                let configured =
                    live.plugin
                        .call_configure(&mut live.store, bundle, keys, Rollback::Refuse);
                match configured {
                    Ok(Ok(_)) => {}
                    Ok(Err(err)) => {
                        self.idle = Some(live.store.into_data().callbacks);
                        return Err(HostError::Bundle(err));
                    }
                    Err(err) => {
                        self.idle = Some(live.store.into_data().callbacks);
                        return Err(HostError::Trap(describe(&err)));
                    }
                }
            }
            self.live = Some(live);
        }
        match self.live.as_mut() {
            Some(live) => Ok(live),
            None => Err(HostError::Load("no instance".to_owned())),
        }
    }

    /// Drops the instance after a trap, keeping the callback store; logs and counts it.
    fn trapped(&mut self, why: &str) {
        self.traps += 1;
        if let Some(live) = self.live.take() {
            self.idle = Some(live.store.into_data().callbacks);
        }
        eprintln!(
            "e911-harness: plugin trapped (bundle {}): {}; message forwarded unchanged, instance replaced",
            display_revision(&self.revision),
            first_line(why)
        );
    }

    fn trap_verdict(&self, why: &str, now: u64) -> Verdict {
        let degraded = format!("plugin trapped: {}", first_line(why));
        let trace = vec![format!("{degraded}; forwarded unchanged")];
        let mut verdict = Verdict::unchanged(now, self.revision.clone(), trace);
        verdict.report.degraded = Some(degraded);
        verdict.metrics.extend([Metric::Degraded, Metric::Trap]);
        verdict
    }
}

/// A trap as wasmtime names it (`wasm trap: interrupt`, `… unreachable`), else the root
/// cause: the first line of the error is only "error while executing at wasm backtrace".
fn describe(err: &wasmtime::Error) -> String {
    match err.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => err.root_cause().to_string(),
    }
}

fn display_revision(revision: &str) -> &str {
    if revision.is_empty() {
        "none"
    } else {
        revision
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// A duration in epoch ticks, rounded up (0 stays 0: trap at the first check).
fn ticks(d: Duration) -> u64 {
    let tick = TICK.as_millis().max(1);
    u64::try_from(d.as_millis().div_ceil(tick)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use e911_engine::MemoryStore;

    use super::*;

    #[test]
    fn a_host_can_move_to_a_worker_thread() {
        fn is_send<T: Send>() {}
        is_send::<ComponentHost<MemoryStore>>();
        is_send::<ComponentRuntime>();
    }

    #[test]
    fn deadlines_round_up_to_whole_ticks() {
        assert_eq!(ticks(Duration::ZERO), 0);
        assert_eq!(ticks(Duration::from_millis(1)), 1);
        assert_eq!(ticks(Duration::from_millis(300)), 30);
    }

    #[test]
    fn the_cache_key_follows_the_component_bytes() {
        let engine = Engine::default();
        let a = cache::key(&engine, b"one");
        assert_eq!(a, cache::key(&engine, b"one"));
        assert_ne!(a, cache::key(&engine, b"two"));
        assert_eq!(a.len(), 32);
    }
}
