//! `MultipartError`.

use core::fmt;

use crate::error::ParseErrorKind;

/// Why a multipart body could not be split or built, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MultipartError {
    /// What was wrong.
    pub kind: MultipartErrorKind,
    /// Byte offset into the body (or into the message, for Content-Type problems).
    pub at: u32,
}

impl MultipartError {
    pub(crate) fn new(kind: MultipartErrorKind, at: usize) -> Self {
        Self {
            kind,
            at: crate::span::to_u32(at),
        }
    }
}

/// The kinds of [`MultipartError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MultipartErrorKind {
    /// The Content-Type is missing, malformed, or not `multipart/*`.
    NotMultipart,
    /// The boundary is missing, or not 1 to 70 `bchars` (RFC 2046 §5.1.1).
    Boundary,
    /// No delimiter line opens the first part.
    NoDelimiter,
    /// The close delimiter (`--boundary--`) never comes.
    Unterminated,
    /// More parts than [`crate::MAX_PARTS`].
    TooManyParts,
    /// A part's header section is malformed.
    PartHeaders(ParseErrorKind),
    /// Building: a part's body contains the delimiter, so the result would not split
    /// back into the same parts. Choose another boundary.
    BoundaryInBody,
    /// Building: a part header name is not a token, or a value holds CR or LF.
    InvalidHeader,
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "multipart {:?} at byte {}", self.kind, self.at)
    }
}

impl core::error::Error for MultipartError {}
