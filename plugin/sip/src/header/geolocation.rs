//! `Geolocation` and `Geolocation-Routing` (RFC 6442 §4.1, §4.2): where the caller's
//! location is, and whether proxies may route on it.
//! <https://www.rfc-editor.org/rfc/rfc6442#section-4.1>

use crate::error::{HeaderErrorKind, UriError};
use crate::lex::{eq_ic, sub};
use crate::params::Params;
use crate::uri::{Uri, percent_decoded};

use super::list::Fail;
use super::name_addr::{AddrForm, NameAddr};

/// One `locationValue`: `<uri>` plus parameters.
///
/// RFC 6442 §4.1: `locationValue = LAQUOT locationURI RAQUOT *(SEMI geoloc-param)`,
/// `geoloc-param = generic-param`. Unknown parameters such as `inserted-by` (from the
/// drafts before RFC 6442, still sent by deployed clients) are kept, not refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geolocation<'a> {
    /// The URI text: `cid:...` for a location by value, `sip:`/`https:` by reference.
    pub uri: &'a [u8],
    /// The parameters after `>`.
    pub params: Params<'a>,
}

impl<'a> Geolocation<'a> {
    /// Decodes the URI.
    pub fn uri(&self) -> Result<Uri<'a>, UriError> {
        Uri::parse(self.uri)
    }

    /// For a `cid:` URI (location by value in a body part, RFC 6442 §4.1), the
    /// Content-ID it names, still percent-encoded (RFC 2392 §2).
    pub fn cid(&self) -> Option<&'a [u8]> {
        let (scheme, rest) = self.uri.split_at_checked(4)?;
        eq_ic(scheme, b"cid:").then_some(rest)
    }

    /// Whether this value's `cid:` URI names `content_id` (a Content-ID value with or
    /// without its angle brackets). RFC 2392 §2: the cid URL is the `addr-spec` of the
    /// Content-ID, percent-encoded, so `cid:foo@bar` matches `Content-ID: <foo@bar>`.
    pub fn cid_matches(&self, content_id: &[u8]) -> bool {
        self.cid().is_some_and(|cid| cid_matches(cid, content_id))
    }

    /// The `inserted-by` parameter, if a client or proxy sent one.
    pub fn inserted_by(&self) -> Option<&'a [u8]> {
        self.params.value(b"inserted-by")
    }

    /// Parses one trimmed, non-empty `locationValue`.
    pub(crate) fn parse(s: &'a [u8]) -> Result<Self, Fail> {
        let a = NameAddr::parse(s)?;
        if a.form != AddrForm::NameAddr || a.display_name.is_some() {
            return Err((HeaderErrorKind::Syntax, 0));
        }
        Ok(Self {
            uri: a.uri,
            params: a.params,
        })
    }
}

/// Compares a cid URL's body (percent-encoded) with a Content-ID value.
pub(crate) fn cid_matches(cid: &[u8], content_id: &[u8]) -> bool {
    let id = match content_id {
        [b'<', inner @ .., b'>'] => inner,
        other => other,
    };
    percent_decoded(cid).eq(id.iter().copied())
}

/// `Geolocation-Routing` (RFC 6442 §4.2): may proxies use the location to route?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeolocationRouting<'a> {
    /// `yes`.
    Yes,
    /// `no`.
    No,
    /// A `generic-value` extension.
    Other(&'a [u8]),
}

impl<'a> GeolocationRouting<'a> {
    /// Parses a trimmed, non-empty value; `yes` and `no` are case-insensitive.
    pub(crate) fn parse(s: &'a [u8]) -> Result<Self, Fail> {
        if eq_ic(s, b"yes") {
            Ok(Self::Yes)
        } else if eq_ic(s, b"no") {
            Ok(Self::No)
        } else if crate::lex::is_token_str(s) || s.first() == Some(&b'"') {
            Ok(Self::Other(sub(s, 0, s.len())))
        } else {
            Err((HeaderErrorKind::Syntax, 0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cid_values_with_unknown_params() {
        let g = Geolocation::parse(b"<cid:target123@atlanta.example.com>;inserted-by=endpoint;foo")
            .unwrap();
        assert_eq!(g.cid(), Some(&b"target123@atlanta.example.com"[..]));
        assert_eq!(g.inserted_by(), Some(&b"endpoint"[..]));
        assert!(g.params.contains(b"foo"));
        assert!(g.cid_matches(b"<target123@atlanta.example.com>"));
        assert!(g.cid_matches(b"target123@atlanta.example.com"));
        assert!(!g.cid_matches(b"<other@atlanta.example.com>"));
    }

    #[test]
    fn cid_comparison_decodes_percent_escapes() {
        let g = Geolocation::parse(b"<cid:loc%2D1%40edge.example>").unwrap();
        assert!(g.cid_matches(b"<loc-1@edge.example>"));
    }

    #[test]
    fn by_reference_values_are_not_cids() {
        let g = Geolocation::parse(b"<https://lis.example.com/loc/1234>").unwrap();
        assert_eq!(g.cid(), None);
        assert!(matches!(g.uri(), Ok(Uri::Other { .. })));
    }

    #[test]
    fn refuses_values_without_brackets_or_with_display_names() {
        assert!(Geolocation::parse(b"cid:a@b").is_err());
        assert!(Geolocation::parse(b"\"me\" <cid:a@b>").is_err());
    }

    #[test]
    fn routing_is_yes_no_or_other() {
        assert_eq!(
            GeolocationRouting::parse(b"YES"),
            Ok(GeolocationRouting::Yes)
        );
        assert_eq!(GeolocationRouting::parse(b"no"), Ok(GeolocationRouting::No));
        assert_eq!(
            GeolocationRouting::parse(b"maybe"),
            Ok(GeolocationRouting::Other(b"maybe"))
        );
        assert!(GeolocationRouting::parse(b"a b").is_err());
    }
}
