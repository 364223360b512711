//! `e911-harness` as a library: the wasmtime host for the policy component
//! ([`component_host::ComponentHost`]), shared by the CLI, its tests and benchmarks, and
//! the proxy.

pub mod component_host;
