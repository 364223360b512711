//! [`Plugin`]: one component instance per Kamailio worker, with its last good bundle.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use e911_component_host::{
    ComponentHost, ComponentRuntime, HostError, HostLimits, LogLevel, Rollback, cache,
};
use e911_engine::{CallCtx, Transport};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::store::PyStore;
use crate::verdict::Verdict;
use crate::{BundleRefused, PluginTrap, bench, bundle};

/// The component for one Kamailio worker. Make it after the fork (`child_init`): its
/// engine runs an epoch ticker thread, and threads do not survive a fork.
#[pyclass(unsendable, module = "e911_native")]
pub struct Plugin {
    host: ComponentHost<PyStore>,
    /// Why `cache_dir` was not used for the compiled component ("" when it was).
    #[pyo3(get)]
    cache_refused: String,
}

#[pymethods]
impl Plugin {
    /// `host` supplies the imports: `store_get(elin) -> dict | None`,
    /// `store_put(elin, dict)` and `log(level, message)` (levels at `log_level` and above).
    /// The component is compiled through the `.cwasm` cache in `cache_dir` when that folder
    /// is this user's alone (`cache_refused` says why not otherwise); each call may use
    /// `memory_limit` bytes and `call_deadline_ms` (`configure_deadline_ms` for a
    /// bundle), past which it traps.
    #[new]
    // The Python constructor's keyword arguments, one per setting of e911.ini.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (host, component, cache_dir, memory_limit, call_deadline_ms, configure_deadline_ms, log_level = "info"))]
    fn new(
        py: Python<'_>,
        host: Py<PyAny>,
        component: &str,
        cache_dir: &str,
        memory_limit: usize,
        call_deadline_ms: u64,
        configure_deadline_ms: u64,
        log_level: &str,
    ) -> PyResult<Self> {
        let limits = HostLimits {
            memory: memory_limit,
            call_deadline: Duration::from_millis(call_deadline_ms),
            configure_deadline: Duration::from_millis(configure_deadline_ms),
        };
        let path = Path::new(component);
        let bytes = std::fs::read(path)
            .map_err(|err| HostError::Missing(path.into(), err))
            .map_err(load_error)?;
        let dir = Path::new(cache_dir);
        let cache_refused = match cache::private_dir(dir) {
            Ok(()) => String::new(),
            Err(why) => format!("{}: {why}", dir.display()),
        };
        // The cache module checks the folder again itself and compiles in memory when it
        // is not private; the check above is only for the glue's log line.
        let runtime =
            ComponentRuntime::from_bytes(&bytes, Some(dir), limits).map_err(load_error)?;
        let sink_host = host.clone_ref(py);
        let mut component = ComponentHost::new(runtime, PyStore::new(host)).map_err(load_error)?;
        let sink = move |level: LogLevel, message: &str| {
            Python::attach(|py| {
                let name = e911_component_host::name(level);
                // A log line that cannot be written must not fail the call.
                let _ = sink_host.bind(py).call_method1("log", (name, message));
            });
        };
        component.set_log(Arc::new(sink), log_threshold(log_level)?);
        Ok(Self {
            host: component,
            cache_refused,
        })
    }

    /// Loads a compiled bundle, checked against `keys` (32-byte Ed25519 public keys;
    /// none accepts unsigned bundles) and, unless `rollback` is `"allow"`, refused when
    /// older than the running one. Returns the bundle's facts as a dict (WIT
    /// `bundle-info` names); raises `BundleRefused` (the previous bundle stays) or
    /// `PluginTrap`.
    #[pyo3(signature = (bundle, keys, rollback = "refuse"))]
    fn configure<'py>(
        &mut self,
        py: Python<'py>,
        bundle: &[u8],
        keys: Vec<Vec<u8>>,
        rollback: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let keys = keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                <[u8; 32]>::try_from(key.as_slice()).map_err(|_| {
                    BundleRefused::new_err(format!(
                        "bad-key: trusted key {i} is {} bytes, not 32",
                        key.len()
                    ))
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        let rollback = match rollback {
            "allow" => Rollback::Allow,
            _ => Rollback::Refuse,
        };
        match self.host.configure_with(bundle, &keys, rollback) {
            Ok(info) => bundle::info_dict(py, &info),
            Err(HostError::Bundle(err)) => Err(BundleRefused::new_err(bundle::refusal(&err))),
            Err(err) => Err(PluginTrap::new_err(err.to_string())),
        }
    }

    /// The verdict for one SIP message (`bytes`, or Kamailio's `$mb` as `str`), from
    /// `peer` (`$si`; None or unparsable: unknown) over `transport` (`udp`, `tcp`,
    /// `tls`), at `now` (Unix seconds), on this proxy `node`. Raises `PluginTrap` if the
    /// component trapped, or what the host object raised in the callback store.
    fn on_message(
        &mut self,
        message: &Bound<'_, PyAny>,
        peer: Option<&str>,
        transport: &str,
        now: u64,
        node: &str,
    ) -> PyResult<Verdict> {
        let bytes = message_bytes(message)?;
        let ctx = context(peer, transport, now, node);
        let traps = self.host.traps();
        let verdict = self.host.on_message(bytes, &ctx);
        if let Some(err) = self.host.callbacks().and_then(PyStore::take_error) {
            return Err(err);
        }
        if self.host.traps() > traps {
            let why = verdict.report.degraded.unwrap_or_default();
            return Err(PluginTrap::new_err(why));
        }
        Ok(Verdict(verdict))
    }

    /// The active bundle's revision ("" before any bundle loaded).
    #[getter]
    fn revision(&self) -> &str {
        self.host.revision()
    }

    /// Traps since this plugin was made.
    #[getter]
    fn traps(&self) -> u64 {
        self.host.traps()
    }

    /// For the benchmark (`hosts/kamailio/bench_invite.py`): decides `message` `n` times
    /// inside Rust and returns each call's nanoseconds, the component's own time (the
    /// host's `on_message`, its imports included), to set beside the time the same call
    /// takes from Python.
    fn bench_component(
        &mut self,
        message: &Bound<'_, PyAny>,
        peer: Option<&str>,
        transport: &str,
        now: u64,
        node: &str,
        n: usize,
    ) -> PyResult<Vec<u64>> {
        let bytes = message_bytes(message)?;
        let ctx = context(peer, transport, now, node);
        let times = bench::time_calls(&mut self.host, bytes, &ctx, n);
        match self.host.callbacks().and_then(PyStore::take_error) {
            Some(err) => Err(err),
            None => Ok(times),
        }
    }
}

/// The message's bytes without a copy: `bytes` as they are, `str` as its UTF-8.
fn message_bytes<'a>(message: &'a Bound<'_, PyAny>) -> PyResult<&'a [u8]> {
    if let Ok(bytes) = message.cast::<PyBytes>() {
        return Ok(bytes.as_bytes());
    }
    Ok(message.cast::<PyString>()?.to_str()?.as_bytes())
}

fn context<'a>(peer: Option<&str>, transport: &str, now: u64, node: &'a str) -> CallCtx<'a> {
    CallCtx {
        now,
        // Kamailio writes an IPv6 `$si` in brackets.
        peer: peer.and_then(|p| p.trim_matches(['[', ']']).parse::<IpAddr>().ok()),
        transport: match transport {
            "tcp" => Transport::Tcp,
            "tls" => Transport::Tls,
            _ => Transport::Udp,
        },
        node,
    }
}

/// `log_level` from the settings: the lowest level passed to the host's `log`.
fn log_threshold(level: &str) -> PyResult<Option<LogLevel>> {
    match level {
        "debug" => Ok(Some(LogLevel::Debug)),
        "info" => Ok(Some(LogLevel::Info)),
        "warn" => Ok(Some(LogLevel::Warn)),
        "error" => Ok(Some(LogLevel::Error)),
        "off" => Ok(None),
        other => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "log level {other:?} is not debug, info, warn, error or off"
        ))),
    }
}

fn load_error(err: HostError) -> PyErr {
    PluginTrap::new_err(err.to_string())
}
