//! Message bodies: `multipart/mixed` parsing and building (RFC 2046 §5.1), `cid:`
//! lookup (RFC 2392).

mod builder;
mod error;
mod multipart;

pub use builder::{MultipartBody, NewPart, multipart_mixed};
pub use error::{MultipartError, MultipartErrorKind};
pub use multipart::{Part, parse_multipart};
