//! # e911-engine: the sans-I/O E9-1-1 decision
//!
//! Brief overview (grows with the engine): [`client_location`] finds the location a client
//! sent with its call.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client_location;
