//! The Envoy build used like the engine: one SIP message in, the engine's [`Verdict`] out
//! (`--engine proxy-wasm`).
//!
//! Each message is one TCP connection through the filter, as Envoy would run it: connect
//! from the peer, the message as one read, the client's half-close (`end_of_stream`),
//! close. The verdict is what can be recovered from outside the module:
//!
//! - `output`: the bytes the filter let through (`Unchanged` when they equal the input);
//! - `report`: the audit line (`e911.audit <JSON>`), logged for every emergency, test and
//!   callback call and every degraded decision; other messages get the pass-through
//!   report of [`Verdict::unchanged`] with the active revision and no trace;
//! - `metrics`: the engine's counters the module incremented, in order (the filter's own,
//!   such as `e911.notifications.sent`, are not the engine's and stay Envoy's);
//! - not available: `edits` (the module renders them inside) and `notifications` (it posts
//!   them to a cluster; the report still names their targets).
//!
//! The VM starts on the first message with the plugin configuration of the Envoy build
//! (`{"node", "max_message_bytes", "bundle": {"inline": base64}}`), and again when the
//! node changes or after a trap. A trap forwards the message unchanged, degraded (`plugin
//! trapped: …`), as the component host does, and the VM is replaced; a VM that will not
//! start (the module refuses its configuration) does the same with `plugin not started`.
//!
//! ELIN callback state: the module keeps it in shared data, one key per ELIN
//! (`e911.elin.<ELIN>`, the JSON of `CallbackEntry`). The host seeds those keys from the
//! callback store it is given and reads them back after every message, so `--state`
//! works as with the other engines.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use base64::Engine as _;
use e911_engine::{CallCtx, CallbackStore, MemoryStore, Metric, Output, Verdict, Word};

use super::abi::{LogLevel, Status};
use super::audit;
use super::runtime::{HostError, ProxyWasmRuntime};
use super::shared_data::SharedData;
use super::state::Clock;
use super::vm::{Direction, ProxyWasmVm, VmSettings};
use e911_envoy::shared::{ELIN_PREFIX, SetError, Shared, SharedCallbacks};

/// The Envoy build's largest message; the default of its configuration.
pub const MAX_MESSAGE_BYTES: usize = 65_536;

/// The port a peer given as an address alone is taken to send from.
const PEER_PORT: u16 = 5060;

/// The Envoy build behind the harness's decision call.
pub struct ProxyWasmDecider {
    runtime: ProxyWasmRuntime,
    bundle: Vec<u8>,
    revision: String,
    shared: SharedData,
    callbacks: MemoryStore,
    live: Option<(String, ProxyWasmVm)>,
    echo: Option<LogLevel>,
    traps: u64,
}

impl ProxyWasmDecider {
    /// A decider over `runtime` for the compiled `bundle` (whose revision is `revision`),
    /// deciding against `callbacks`.
    pub fn new(
        runtime: ProxyWasmRuntime,
        bundle: Vec<u8>,
        revision: String,
        callbacks: MemoryStore,
    ) -> Self {
        let shared = SharedData::default();
        seed(&shared, &callbacks);
        Self {
            runtime,
            bundle,
            revision,
            shared,
            callbacks,
            live: None,
            echo: log_threshold(),
            traps: 0,
        }
    }

    /// Starts a VM for `node` now (it is otherwise started by the first message): a module
    /// that refuses the configuration is an error here rather than a degraded call.
    pub fn start(&mut self, node: &str) -> Result<(), HostError> {
        self.vm(node).map(|_| ())
    }

    /// The plugin configuration the VM gets.
    pub fn configuration(node: &str, bundle: &[u8]) -> Vec<u8> {
        serde_json::json!({
            "node": node,
            "max_message_bytes": MAX_MESSAGE_BYTES,
            "bundle": {"inline": base64::engine::general_purpose::STANDARD.encode(bundle)},
        })
        .to_string()
        .into_bytes()
    }

    fn vm(&mut self, node: &str) -> Result<&mut ProxyWasmVm, HostError> {
        if self.live.as_ref().is_some_and(|(n, _)| n != node) {
            self.live = None;
        }
        if self.live.is_none() {
            let settings = VmSettings {
                plugin_configuration: Self::configuration(node, &self.bundle),
                vm_configuration: Vec::new(),
                shared: self.shared.clone(),
                clock: Clock::System,
                echo: self.echo,
            };
            let vm = ProxyWasmVm::start(&self.runtime, settings)?;
            self.live = Some((node.to_owned(), vm));
        }
        match self.live.as_mut() {
            Some((_, vm)) => Ok(vm),
            None => Err(HostError::Load("no VM".to_owned())),
        }
    }

    /// The verdict for one complete SIP message. Never fails: a trap or a VM that will
    /// not start forwards the message unchanged, degraded.
    pub fn on_message(&mut self, bytes: &[u8], ctx: &CallCtx<'_>) -> Verdict {
        let clock = Clock::Fixed(ctx.now.saturating_mul(1_000_000_000));
        let peer = SocketAddr::new(
            ctx.peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            PEER_PORT,
        );
        let result = match self.vm(ctx.node) {
            Ok(vm) => {
                vm.set_clock(clock);
                one_connection(vm, peer, bytes).map_err(|trap| ("plugin trapped", trap))
            }
            Err(HostError::Trap(trap)) => Err(("plugin trapped", trap)),
            Err(err) => Err(("plugin not started", err.to_string())),
        };
        let verdict = match result {
            Ok(forwarded) => self.verdict(bytes, forwarded, ctx.now),
            Err((what, why)) => self.failed(what, &why, ctx.now),
        };
        self.callbacks = read_back(&self.shared);
        verdict
    }

    fn verdict(&mut self, received: &[u8], forwarded: Vec<u8>, now: u64) -> Verdict {
        let Some((_, vm)) = self.live.as_mut() else {
            return self.failed("plugin not started", "no VM", now);
        };
        // The module adds up `e911.messages` and hands the count over on its tick (Envoy
        // ticks it every second): one tick here, so this verdict carries its own count.
        if let Err(trap) = vm.tick() {
            return self.failed("plugin trapped", &trap, now);
        }
        let (log, _) = vm.take_log();
        let metrics: Vec<Metric> = vm
            .take_increments()
            .iter()
            .filter_map(|name| Metric::from_word(name))
            .collect();
        let _ = vm.take_http_calls();
        let mut report = None;
        for line in log.iter().filter(|l| l.level == LogLevel::Info) {
            match audit::parse_line(&line.message) {
                Some(Ok(parsed)) if report.is_none() => report = Some(parsed),
                Some(Ok(_)) => {
                    eprintln!("e911-harness: warning: more than one audit line for one message")
                }
                Some(Err(why)) => eprintln!("e911-harness: warning: unreadable audit line: {why}"),
                None => {}
            }
        }
        let mut verdict = match report {
            Some(report) => {
                let mut v = Verdict::unchanged(now, self.revision.clone(), Vec::new());
                v.report = report;
                v
            }
            // Not audited: the module says nothing more about it.
            None => Verdict::unchanged(now, self.revision.clone(), Vec::new()),
        };
        verdict.metrics = metrics;
        if forwarded != received {
            verdict.output = Output::Rewritten(forwarded);
        }
        verdict
    }

    /// `what` is `plugin trapped` or `plugin not started`.
    fn failed(&mut self, what: &str, why: &str, now: u64) -> Verdict {
        self.traps += 1;
        self.live = None;
        let first = why.lines().next().unwrap_or(why);
        eprintln!(
            "e911-harness: proxy-wasm module failed (bundle {}): {first}; message forwarded unchanged, VM replaced",
            self.revision
        );
        let degraded = format!("{what}: {first}");
        let trace = vec![format!("{degraded}; forwarded unchanged")];
        let mut verdict = Verdict::unchanged(now, self.revision.clone(), trace);
        verdict.report.degraded = Some(degraded);
        verdict.metrics.push(Metric::Degraded);
        if what == "plugin trapped" {
            verdict.metrics.push(Metric::Trap);
        }
        verdict
    }

    /// The callback store as the module left it.
    pub fn callbacks(&self) -> &MemoryStore {
        &self.callbacks
    }

    /// Traps (and VMs that would not start) since this decider was made.
    pub fn traps(&self) -> u64 {
        self.traps
    }
}

/// One message as one connection; the bytes the filter let through.
fn one_connection(vm: &mut ProxyWasmVm, peer: SocketAddr, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let id = vm.connect(peer)?;
    let mut forwarded = vm
        .deliver(id, Direction::Downstream, bytes, false)?
        .forwarded;
    // The client half-closes, as a one-shot sender does: a module holding a partial
    // message flushes it now.
    forwarded.extend(vm.deliver(id, Direction::Downstream, &[], true)?.forwarded);
    vm.close(id)?;
    Ok(forwarded)
}

/// Writes each entry of `store` where the module keeps it, through the module's own
/// store code (`e911_envoy::shared`), so the layout has one definition.
pub fn seed(shared: &SharedData, store: &MemoryStore) {
    let mut callbacks = SharedCallbacks::new(shared);
    for (elin, entry) in store.entries() {
        callbacks.put(elin, entry.clone());
    }
}

/// The callback entries the module keeps, as a store.
pub fn read_back(shared: &SharedData) -> MemoryStore {
    let callbacks = SharedCallbacks::new(shared);
    let mut store = MemoryStore::default();
    for (key, _) in shared.entries() {
        let elin = key
            .strip_prefix(ELIN_PREFIX.as_bytes())
            .map(std::str::from_utf8);
        if let Some(Ok(elin)) = elin
            && let Some(entry) = callbacks.get(elin)
        {
            store.put(elin, entry);
        }
    }
    store
}

/// Shared data as the module's store code sees it (Envoy's rules: CAS 0 writes always).
impl Shared for SharedData {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        SharedData::get(self, key.as_bytes()).ok()
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), SetError> {
        match SharedData::set(self, key.as_bytes(), value, cas.unwrap_or(0)) {
            Status::Ok => Ok(()),
            Status::CasMismatch => Err(SetError::Conflict),
            _ => Err(SetError::Failed),
        }
    }
}

/// `E911_PLUGIN_LOG=debug|info|warn|error|off` (default `error`): the module's log lines
/// from that level up go to stderr, as with the component.
fn log_threshold() -> Option<LogLevel> {
    match std::env::var("E911_PLUGIN_LOG").as_deref() {
        Ok("debug") => Some(LogLevel::Debug),
        Ok("info") => Some(LogLevel::Info),
        Ok("warn") => Some(LogLevel::Warn),
        Ok("off") => None,
        _ => Some(LogLevel::Error),
    }
}
