//! # e911-sip: the SIP message layer of the E9-1-1 policy plugin
//!
//! ## Brief overview
//!
//! Bytes in, views out, bytes back, with no I/O, no clock and no `unsafe`. It builds
//! `no_std` (with `alloc`) for `wasm32-wasip1` (Envoy) and `wasm32-wasip2` (the
//! component), and nothing in it panics on any input: a panic inside Envoy kills the
//! VM of every connection on the worker.
//!
//! - **Framing** ([`frame`] → [`Framed`]): cuts a TCP/TLS byte stream into messages by
//!   Content-Length (RFC 3261 §18.3) and reports keep-alive CRLFs (RFC 5626 §3.5.1).
//! - **Parsing** ([`parse`] → [`Message`]): one message borrowed from its buffer, its
//!   [`StartLine`] and one [`Field`] (kind, name [`Span`], value [`Span`]) per header
//!   line, in wire order, duplicates kept. [`Limits`] bounds sizes; [`Leniency`] names
//!   every tolerated deviation. Failures are [`ParseError`]s: `Copy`, no allocation.
//!   [`addressing`] reads only the Request-URI and To, for deciding that a request is
//!   of no interest without building a [`Message`]; [`StartLinePeek`] only the
//!   Request-URI.
//! - **Typed views**, decoded on demand so a bad header fails only its own view:
//!   [`Message::request_uri`] ([`Uri`]: [`SipUri`], [`TelUri`], [`ServiceUrn`]),
//!   [`Message::top_via`] / [`Message::vias`] ([`Via`]), [`Message::from`] /
//!   [`Message::to`] ([`NameAddr`]), [`Message::cseq`] ([`Cseq`]),
//!   [`Message::content_type`] ([`ContentType`]), [`Message::geolocation`]
//!   ([`Geolocation`]), [`Message::access_network_info`] ([`AccessNetworkInfo`]),
//!   [`Message::priority`] ([`Priority`]) and friends. Their errors are
//!   [`HeaderError`] and [`UriError`].
//! - **Bodies**: [`Message::multipart`] splits `multipart/mixed` (RFC 2046 §5.1) into
//!   [`Part`]s; [`Message::part_by_cid`] follows a `cid:` URI (RFC 2392);
//!   [`multipart_mixed`] builds one.
//! - **Rewriting** ([`Edits`]): an edit list against the original spans — insert,
//!   replace, remove header fields, replace the Request-URI, replace the body (which
//!   alone rewrites Content-Type and Content-Length) — rendered once by
//!   [`Edits::render`]. Untouched bytes come out byte-identical; overlapping edits are
//!   an [`EditError`].
//!
//! ```
//! use e911_sip::{Edits, HeaderKind, Limits, parse};
//!
//! let buf = b"INVITE urn:service:sos SIP/2.0\r\nTo: <urn:service:sos>\r\nl: 0\r\n\r\n";
//! let msg = parse(buf, &Limits::DEFAULT)?;
//! assert!(msg.request_uri()?.service_urn().is_some_and(|u| u.is_sos()));
//! let mut edits = Edits::new(&msg);
//! edits.push_header("Geolocation-Routing", b"yes")?;
//! let out = edits.render();
//! assert!(out.windows(24).any(|w| w == b"Geolocation-Routing: yes"));
//! # assert!(msg.has(HeaderKind::To));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::indexing_slicing)]

extern crate alloc;

mod addressing;
mod body;
mod edit;
mod error;
mod frame;
pub mod header;
mod lex;
mod limits;
mod message;
mod method;
mod params;
mod parse;
mod salvage;
mod section;
mod span;
mod start_line;
mod stream;
pub mod uri;
mod views;

pub use addressing::{Addressing, Reach, StartLinePeek, addressing};
pub use body::{
    MultipartBody, MultipartError, MultipartErrorKind, NewPart, Part, multipart_mixed,
    parse_multipart,
};
pub use edit::{EditError, Edits};
pub use error::{HeaderError, HeaderErrorKind, ParseError, ParseErrorKind, UriError, UriErrorKind};
pub use frame::{Framed, frame, keep_alive_len};
pub use header::{
    AccessNetworkInfo, AddrForm, ContentType, Cseq, Geolocation, GeolocationRouting, HeaderKind,
    NameAddr, Priority, Rport, Transport, Via,
};
pub use limits::{Leniency, Limits, MAX_HEADER_BYTES, MAX_HEADERS, MAX_MESSAGE_BYTES, MAX_PARTS};
pub use message::{Field, Message};
pub use method::Method;
pub use params::{Param, Params};
pub use parse::{check_start_line, parse};
pub use salvage::{LengthRepair, Repairs, SalvageError, Salvaged, salvage};
pub use span::Span;
pub use start_line::{RequestLine, StartLine, StatusLine};
pub use stream::{Piece, StreamFramer, Unframed};
pub use uri::{Host, ServiceUrn, SipScheme, SipUri, TelUri, Uri};
