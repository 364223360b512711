//! `e911-harness` as a library: [`policy_source`], which reads a policy folder or bundle
//! for the CLI, its tests and benchmarks. The component host is the `e911-component-host`
//! crate, the proxy-wasm host `e911-proxy-wasm-host`.

pub mod policy_source;
