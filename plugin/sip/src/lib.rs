//! SIP message layer (placeholder while the crate is written).
#![forbid(unsafe_code)]
