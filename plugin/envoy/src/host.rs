//! The host calls the filter makes, each with its status checked.
//!
//! The SDK's context methods (`get_downstream_data`, `get_shared_data`, `get_property`,
//! `get_current_time`…) unwrap the host's status, and a panic traps the VM that every
//! connection of the worker shares (DESIGN §5). So the filter calls
//! `proxy_wasm::hostcalls` directly and turns every status into a value here; a failed
//! call degrades to "forward unchanged" at the call site. The build's panic-path check
//! (`xtask/src/envoy.rs`) fails if a panic site in our crates reaches the module.

use std::time::{Duration, UNIX_EPOCH};

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, LogLevel, MapType, MetricType, Status};

/// Logs one line; a failure to log has nowhere to go and is dropped.
pub fn log(level: LogLevel, line: &str) {
    let _ = hostcalls::log(level, line);
}

/// Seconds and nanoseconds since the Unix epoch from the host's clock
/// (`proxy_get_current_time_nanoseconds`); 0 if the host cannot say.
pub fn now_nanos() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A whole buffer (`start` 0, every byte); empty when the host has none.
pub fn buffer(kind: BufferType, size: usize) -> Vec<u8> {
    match hostcalls::get_buffer(kind, 0, size) {
        Ok(Some(bytes)) => bytes,
        Ok(None) | Err(_) => Vec::new(),
    }
}

/// Replaces a whole buffer of `size` bytes with `value` (Envoy accepts only whole
/// replacements of the network buffers).
pub fn replace_buffer(kind: BufferType, size: usize, value: &[u8]) -> Result<(), Status> {
    hostcalls::set_buffer(kind, 0, size, value)
}

/// A property as text (`["source", "address"]` → `"10.0.0.1:5060"`).
pub fn property(path: &[&str]) -> Option<String> {
    match hostcalls::get_property(path.to_vec()) {
        Ok(Some(bytes)) => String::from_utf8(bytes).ok(),
        _ => None,
    }
}

/// One header of an HTTP call's response.
pub fn call_response_header(name: &str) -> Option<String> {
    hostcalls::get_map_value(MapType::HttpCallResponseHeaders, name)
        .ok()
        .flatten()
}

/// Shared data: the value and its CAS, `(None, None)` when absent or on a host error.
pub fn shared_get(key: &str) -> (Option<Vec<u8>>, Option<u32>) {
    hostcalls::get_shared_data(key).unwrap_or((None, None))
}

/// Sets shared data; `cas` makes it conditional on nobody having written since.
pub fn shared_set(key: &str, value: &[u8], cas: Option<u32>) -> Result<(), Status> {
    hostcalls::set_shared_data(key, Some(value), cas)
}

/// Asks for `on_tick` every `period`.
pub fn set_tick(period: Duration) -> Result<(), Status> {
    hostcalls::set_tick_period(period)
}

/// Sends an HTTP request through an Envoy cluster; the answer comes to
/// `on_http_call_response` with the returned token.
pub fn http_call(
    cluster: &str,
    headers: Vec<(&str, &str)>,
    body: Option<&[u8]>,
    timeout: Duration,
) -> Result<u32, Status> {
    hostcalls::dispatch_http_call(cluster, headers, body, Vec::new(), timeout)
}

/// Lets a downstream connection paused by the filter go on: Envoy hands its read buffer
/// (as the filter left it) to the next filter.
pub fn resume_downstream() -> Result<(), Status> {
    hostcalls::resume_downstream()
}

/// Defines a metric; `None` when the host refuses.
pub fn define_metric(kind: MetricType, name: &str) -> Option<u32> {
    hostcalls::define_metric(kind, name).ok()
}

/// Adds to a counter.
pub fn increment(id: u32, by: i64) {
    let _ = hostcalls::increment_metric(id, by);
}

/// Sets a gauge.
pub fn record(id: u32, value: u64) {
    let _ = hostcalls::record_metric(id, value);
}
