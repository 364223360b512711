//! `e911-proxy-wasm-host`: a small proxy-wasm host in wasmtime, for running the Envoy
//! build of the plugin (`plugin/envoy`, `target/wasm/e911_envoy.wasm`) outside Envoy with
//! Envoy's rules (DESIGN §5): `e911-harness run --engine proxy-wasm`, and the differential
//! test that holds it to the native engine on every golden case.
//!
//! - [`runtime`]: compiles and links the module once ([`ProxyWasmRuntime`]);
//! - [`vm`]: one VM, started and driven as Envoy drives a network filter
//!   ([`ProxyWasmVm`]: connect, deliver data, close, tick);
//! - [`buffer`]: a connection's buffer under Envoy's read/replace/forward rules;
//! - [`env`](mod@env) and [`wasi`]: the imports (proxy-wasm ABI 0.2.1 host calls with Envoy's
//!   statuses; the handful of WASI functions a Rust module imports);
//! - [`shared_data`], [`metrics`], [`queues`], [`pairs`]: what those imports keep and
//!   read;
//! - [`decide`]: the module behind the harness's decision call ([`ProxyWasmDecider`]),
//!   and [`audit`], which reads the decision back from the audit log line.
//!
//! Depends on the plugin crates `e911-engine` and `e911-envoy` (the module's own
//! shared-data layout) and on `e911-component-host` (compile cache, epoch ticker, limits);
//! nothing of ours depends on it but the engine choice (`e911-decider`) and the CLI's tests.
//!
//! Not Envoy: no HTTP call is ever answered (calls are recorded), timers fire only when
//! the caller ticks, and one VM serves one thread.

pub mod abi;
pub mod audit;
pub mod buffer;
pub mod decide;
pub mod env;
pub mod guest;
pub mod metrics;
pub mod pairs;
pub mod queues;
pub mod runtime;
pub mod shared_data;
pub mod state;
pub mod vm;
pub mod wasi;

pub use decide::ProxyWasmDecider;
pub use runtime::{HostError, ProxyWasmRuntime};
pub use vm::{Delivery, Direction, ProxyWasmVm, VmSettings};
