//! `e911-harness` as a library: the proxy-wasm host ([`proxy_wasm_host`]) and
//! [`policy_source`], which reads a policy folder or bundle for the CLI, its tests and
//! benchmarks. The component host is the `e911-component-host` crate.

pub mod policy_source;
pub mod proxy_wasm_host;
