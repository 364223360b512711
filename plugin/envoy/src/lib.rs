//! # e911-envoy: the engine as an Envoy network filter
//!
//! Brief overview: a proxy-wasm (ABI 0.2.1) module for `envoy.filters.network.wasm`,
//! placed before `tcp_proxy` on SIP-over-TCP listeners. Each connection's bytes are framed
//! into SIP messages ([`framer::Direction`]), each message goes through
//! [`e911_engine::Engine::on_message`], and the forwarded bytes replace Envoy's buffer.
//! The bundle comes from the plugin configuration ([`config::Config`]: inline, or polled
//! over HTTP) and is shared between workers through shared data ([`shared`]), where the
//! ELIN callback state lives too.
//!
//! The Envoy-agnostic parts ([`addresses`], [`config`], [`framer`], [`shared`]) are plain Rust, tested
//! on the host; the contexts and host calls build for `wasm32` only.
#![warn(missing_docs)]

pub mod addresses;
pub mod config;
pub mod framer;
pub mod gate;
pub mod replicated;
pub mod shared;

/// What starts the one log line per audited call; the JSON of the engine's report
/// follows. Log shippers and the harness's proxy-wasm host read it back.
pub const AUDIT_PREFIX: &str = "e911.audit ";

#[cfg(target_arch = "wasm32")]
mod active;
#[cfg(target_arch = "wasm32")]
mod decide;
#[cfg(target_arch = "wasm32")]
mod filter;
#[cfg(target_arch = "wasm32")]
mod host;
#[cfg(target_arch = "wasm32")]
mod metrics;
#[cfg(target_arch = "wasm32")]
mod sync;

/// The module's entry point (`_initialize`): registers the root context and a panic hook
/// that logs at critical level before the VM traps. The SDK's macro exports it under a
/// fixed name, which Rust counts as unsafe code; this is the one place it is allowed.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod entry {
    proxy_wasm::main! {{
        std::panic::set_hook(Box::new(|info| {
            crate::host::log(
                proxy_wasm::types::LogLevel::Critical,
                &format!("e911: panic: {info}"),
            );
        }));
        proxy_wasm::set_root_context(|context_id| Box::new(crate::filter::Root::new(context_id)));
    }}
}
