//! `e911-harness` as a library: the wasmtime host for the policy component
//! ([`component_host::ComponentHost`]), shared by the CLI, its tests and benchmarks, and
//! the proxy, and [`policy_source`], which reads a policy folder or bundle for all of them.

pub mod component_host;
pub mod policy_source;
pub mod proxy_wasm_host;
