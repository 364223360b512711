//! `Content-Type` (RFC 3261 §20.15, media types per RFC 2045 §5.1).

use crate::error::{HeaderError, HeaderErrorKind};
use crate::header::HeaderKind;
use crate::lex::{eq_ic, is_token_str, sub, trim};
use crate::params::Params;

use super::list::{Fail, split_params};

/// A media type: `type/subtype;param=value`. Type, subtype and parameter names compare
/// case-insensitively (RFC 2045 §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContentType<'a> {
    /// `application` in `application/sdp`.
    pub main_type: &'a [u8],
    /// `sdp` in `application/sdp`.
    pub subtype: &'a [u8],
    /// The parameters (`boundary`, `charset`, ...).
    pub params: Params<'a>,
}

impl<'a> ContentType<'a> {
    /// Parses a Content-Type value; offsets in errors are into `s`.
    pub fn parse(s: &'a [u8]) -> Result<Self, HeaderError> {
        super::list::parse_one(s, HeaderKind::ContentType, Self::parse_raw)
    }

    /// Parses a trimmed, non-empty value.
    pub(crate) fn parse_raw(s: &'a [u8]) -> Result<Self, Fail> {
        let (head, params) = split_params(s)?;
        // m-type SLASH m-subtype, SLASH = SWS "/" SWS.
        let slash = memchr::memchr(b'/', head).ok_or((HeaderErrorKind::Syntax, 0))?;
        let main_type = trim(sub(head, 0, slash));
        let subtype = trim(sub(head, slash + 1, head.len()));
        if !is_token_str(main_type) || !is_token_str(subtype) {
            return Err((HeaderErrorKind::Syntax, 0));
        }
        Ok(Self {
            main_type,
            subtype,
            params,
        })
    }

    /// Whether this is `main_type/subtype`, case-insensitively.
    pub fn is(&self, main_type: &[u8], subtype: &[u8]) -> bool {
        eq_ic(self.main_type, main_type) && eq_ic(self.subtype, subtype)
    }

    /// Whether the main type is `multipart` (RFC 2046 §5.1).
    pub fn is_multipart(&self) -> bool {
        eq_ic(self.main_type, b"multipart")
    }

    /// The `boundary` parameter, unquoted.
    pub fn boundary(&self) -> Option<&'a [u8]> {
        self.params.value(b"boundary")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_type_subtype_and_quoted_params() {
        let c =
            ContentType::parse(b"Multipart/Mixed ; BOUNDARY=\"a b;c\" ; charset=utf-8").unwrap();
        assert!(c.is(b"multipart", b"mixed"));
        assert!(c.is_multipart());
        assert_eq!(c.boundary(), Some(&b"a b;c"[..]));
        assert_eq!(c.params.value(b"Charset"), Some(&b"utf-8"[..]));
        let c = ContentType::parse(b"multipart/mixed;boundary=7a9cbec02ceef655").unwrap();
        assert_eq!(c.boundary(), Some(&b"7a9cbec02ceef655"[..]));
    }

    #[test]
    fn allows_space_around_the_slash() {
        assert!(
            ContentType::parse(b"application / sdp")
                .unwrap()
                .is(b"application", b"sdp")
        );
    }

    #[test]
    fn refuses_malformed_types() {
        assert!(ContentType::parse(b"application").is_err());
        assert!(ContentType::parse(b"application/").is_err());
        assert!(ContentType::parse(b"a/b;").is_err());
        assert_eq!(
            ContentType::parse(b"a/b;x=\"open").unwrap_err().kind,
            HeaderErrorKind::Syntax
        );
        assert_eq!(
            ContentType::parse(b"  ").unwrap_err().kind,
            HeaderErrorKind::Empty
        );
    }
}
