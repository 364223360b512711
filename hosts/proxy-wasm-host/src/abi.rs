//! The numbers of the proxy-wasm ABI 0.2.1 this host speaks: statuses, buffer types,
//! filter actions, log levels, peer and metric types.
//!
//! Values as in the ABI specification (<https://github.com/proxy-wasm/spec>, ABI 0.2.1)
//! and Envoy's host (`proxy-wasm-cpp-host`, `WasmResult`). Every host call returns a
//! [`Status`] as an `i32`.

/// A host call's result (`WasmResult`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Done.
    Ok = 0,
    /// No such key, buffer, metric, queue or property.
    NotFound = 1,
    /// An argument Envoy refuses (a buffer range it cannot apply, a bad metric use).
    BadArgument = 2,
    /// A pointer or length outside the module's memory.
    InvalidMemoryAccess = 6,
    /// A queue with nothing in it.
    Empty = 7,
    /// `set_shared_data` with a CAS that is no longer current.
    CasMismatch = 8,
    /// Something the host cannot do in this context (Envoy: a failed VM).
    InternalFailure = 10,
}

impl Status {
    /// The value a host call returns.
    pub fn code(self) -> i32 {
        self as i32
    }
}

impl<T> From<Result<T, Status>> for Status {
    fn from(result: Result<T, Status>) -> Self {
        match result {
            Ok(_) => Self::Ok,
            Err(status) => status,
        }
    }
}

/// `proxy_get_buffer_bytes` and friends: which buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferType {
    /// Data from the client (network filters).
    DownstreamData,
    /// Data from the upstream (network filters).
    UpstreamData,
    /// `vm_config.configuration`, read in `proxy_on_vm_start`.
    VmConfiguration,
    /// The filter's `configuration`, read in `proxy_on_configure`.
    PluginConfiguration,
    /// A type a network filter has no buffer for (HTTP bodies, call responses, gRPC).
    Other,
}

impl BufferType {
    /// The ABI number: 2 and 3 are the stream's data, 6 and 7 the configurations; 0..=8 are
    /// valid, anything above is `BadArgument` (`None` here).
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            2 => Some(Self::DownstreamData),
            3 => Some(Self::UpstreamData),
            6 => Some(Self::VmConfiguration),
            7 => Some(Self::PluginConfiguration),
            0 | 1 | 4 | 5 | 8 => Some(Self::Other),
            _ => None,
        }
    }
}

/// What `proxy_on_downstream_data` / `proxy_on_upstream_data` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Forward the whole buffer (as it is now, replacements included) and drain it.
    Continue,
    /// Keep the buffer; the next data is appended to it (Envoy's `StopIteration`).
    Pause,
}

impl Action {
    /// Envoy reads 0 as `Continue` and anything else as `StopIteration`.
    pub fn from_code(code: i32) -> Self {
        if code == 0 {
            Self::Continue
        } else {
            Self::Pause
        }
    }
}

/// `proxy_log` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// 0.
    Trace,
    /// 1.
    Debug,
    /// 2: Envoy's default for Wasm logs, and the level of the audit line.
    Info,
    /// 3.
    Warn,
    /// 4.
    Error,
    /// 5.
    Critical,
}

impl LogLevel {
    /// The ABI number, `None` above `Critical`.
    pub fn from_code(code: i32) -> Option<Self> {
        Some(match code {
            0 => Self::Trace,
            1 => Self::Debug,
            2 => Self::Info,
            3 => Self::Warn,
            4 => Self::Error,
            5 => Self::Critical,
            _ => return None,
        })
    }

    /// The name Envoy prints.
    pub fn name(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
            Self::Critical => "critical",
        }
    }
}

/// `proxy_on_downstream_connection_close`: who closed.
pub const PEER_REMOTE: i32 = 2;

/// `proxy_continue_stream` / `proxy_close_stream`: the stream types (HTTP request and
/// response are 0 and 1; a network filter has downstream 2 and upstream 3).
pub const STREAM_TYPE_MAX: i32 = 3;

/// `proxy_define_metric` types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// Only goes up.
    Counter,
    /// Goes up and down, or is set.
    Gauge,
    /// Records values.
    Histogram,
}

impl MetricType {
    /// 0, 1 or 2.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            0 => Some(Self::Counter),
            1 => Some(Self::Gauge),
            2 => Some(Self::Histogram),
            _ => None,
        }
    }
}
