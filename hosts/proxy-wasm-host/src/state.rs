//! What a VM's store holds: the configurations, the clock, the connections' buffers, and
//! everything the module did through its imports (log lines, metrics, shared data, HTTP
//! calls), for the host and the tests to read.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use wasmtime::StoreLimits;

use super::abi::{BufferType, LogLevel};
use super::buffer::StreamBuffer;
use super::metrics::Metrics;
use super::queues::Queues;
use super::shared_data::SharedData;

/// At most this many log lines are kept between two [`super::ProxyWasmVm::take_log`]
/// calls; a module logging in a loop costs lines, not the host's memory.
pub const MAX_LOG_LINES: usize = 10_000;

/// One `proxy_log` call (or a line written to stdout/stderr through WASI, as Envoy logs
/// those too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Its level.
    pub level: LogLevel,
    /// The text.
    pub message: String,
}

/// A `proxy_http_call` the module made. The host records it and never answers: no
/// cluster is reachable from here, and the plugin must not depend on the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCall {
    /// The cluster named.
    pub upstream: String,
    /// The request headers (`:method`, `:path`, `:authority` included).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The timeout asked for, in milliseconds.
    pub timeout_ms: u32,
}

/// The module's clock: `proxy_get_current_time_nanoseconds` and WASI's realtime clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock.
    System,
    /// A fixed time, in nanoseconds since the Unix epoch (`run --now`, tests).
    Fixed(u64),
}

impl Clock {
    /// Now, in nanoseconds since the Unix epoch.
    pub fn now_nanos(self) -> u64 {
        match self {
            Self::Fixed(nanos) => nanos,
            Self::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        }
    }
}

/// One network connection through the filter.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The client: `source.address`.
    pub peer: SocketAddr,
    /// The upstream host, once known: `upstream.address`.
    pub upstream_peer: Option<SocketAddr>,
    /// Data from the client not yet forwarded.
    pub downstream: StreamBuffer,
    /// Data from the upstream not yet forwarded.
    pub upstream: StreamBuffer,
    /// The module asked to close the connection (`proxy_close_stream`).
    pub close_requested: bool,
}

/// A store's data.
pub struct HostState {
    pub(super) plugin_configuration: Vec<u8>,
    pub(super) vm_configuration: Vec<u8>,
    /// The configuration buffer readable now: `VmConfiguration` during
    /// `proxy_on_vm_start`, `PluginConfiguration` during `proxy_on_configure`; Envoy has
    /// no such buffer at other times (`NotFound`).
    pub(super) readable_configuration: Option<BufferType>,
    pub(super) clock: Clock,
    pub(super) started: Instant,
    pub(super) shared: SharedData,
    pub(super) metrics: Metrics,
    /// Ids of the counters incremented, in order, since the host last took them.
    pub(super) increments: Vec<u32>,
    pub(super) log: Vec<LogLine>,
    pub(super) log_dropped: u64,
    pub(super) echo: Option<LogLevel>,
    pub(super) tick_period_ms: u32,
    pub(super) http_calls: Vec<HttpCall>,
    pub(super) next_token: u32,
    pub(super) properties: BTreeMap<Vec<u8>, Vec<u8>>,
    pub(super) queues: Queues,
    pub(super) connections: BTreeMap<u32, Connection>,
    pub(super) root_id: u32,
    /// The context the host is calling into (Envoy's current context); host calls act on
    /// it, or on the effective context the module set.
    pub(super) current: u32,
    pub(super) effective: Option<u32>,
    pub(super) done_called: bool,
    pub(super) limits: StoreLimits,
}

impl HostState {
    /// The context host calls act on.
    pub(super) fn context(&self) -> u32 {
        self.effective.unwrap_or(self.current)
    }

    /// Keeps a log line (and echoes it to stderr from the threshold up).
    pub(super) fn push_log(&mut self, level: LogLevel, message: String) {
        if self.echo.is_some_and(|min| level >= min) {
            eprintln!("e911-plugin: {}: {message}", level.name());
        }
        if self.log.len() >= MAX_LOG_LINES {
            self.log_dropped += 1;
        } else {
            self.log.push(LogLine { level, message });
        }
    }
}
