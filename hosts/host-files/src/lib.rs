//! `e911-host-files`: the files every host of ours reads or writes the same way, so a bad
//! one gives the same one-line error whichever command or engine meets it.
//!
//! - [`policy_source`]: `--policy <DIR|BUNDLE>` (a source folder compiled on the spot, or
//!   a bundle file verified on load) and `--trust-key` files;
//! - [`state`]: `--state FILE`, the ELIN callback store kept between runs.
//!
//! Depends only on the plugin crates `e911-policy` and `e911-engine`; the engine choice
//! (`e911-decider`), OCI (`e911-oci`), the SIP proxy and the CLI depend on it.

pub mod policy_source;
pub mod state;
