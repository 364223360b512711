//! URIs: `sip:`/`sips:` (RFC 3261 §19.1, RFC 5118), `tel:` (RFC 3966), `urn:service:`
//! (RFC 5031), anything else kept opaque.

mod host;
mod percent;
mod service_urn;
mod sip;
mod tel;

pub use host::Host;
pub(crate) use host::parse_port;
pub use percent::{percent_decode, percent_decoded};
pub use service_urn::ServiceUrn;
pub use sip::{SipScheme, SipUri};
pub use tel::TelUri;

use crate::error::{UriError, UriErrorKind};
use crate::lex::{eq_ic, find, sub};

/// A decoded URI, borrowing its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Uri<'a> {
    /// `sip:` or `sips:`.
    Sip(SipUri<'a>),
    /// `tel:`.
    Tel(TelUri<'a>),
    /// `urn:service:` (RFC 5031), e.g. `urn:service:sos.fire`.
    Service(ServiceUrn<'a>),
    /// Any other scheme, kept as written (RFC 4475 §3.3.2 `unkscm.dat` must be
    /// accepted).
    Other {
        /// The scheme as written.
        scheme: &'a [u8],
        /// Everything after the first `:`.
        rest: &'a [u8],
    },
}

impl<'a> Uri<'a> {
    /// Decodes a URI. Offsets in errors are into `s`.
    pub fn parse(s: &'a [u8]) -> Result<Self, UriError> {
        if let Some(bad) = first_invalid_byte(s) {
            return Err(UriError::new(UriErrorKind::Syntax, bad));
        }
        Self::parse_printable(s)
    }

    /// [`Uri::parse`] for text already known to hold only printable ASCII: a
    /// Request-URI, whose every byte the start line has checked (a stricter set).
    pub(crate) fn parse_printable(s: &'a [u8]) -> Result<Self, UriError> {
        let colon = find(b':', s).ok_or(UriError::new(UriErrorKind::Scheme, 0))?;
        let scheme = sub(s, 0, colon);
        if !is_scheme(scheme) {
            return Err(UriError::new(UriErrorKind::Scheme, 0));
        }
        let rest_at = colon + 1;
        if eq_ic(scheme, b"sip") {
            return SipUri::parse(s, rest_at, SipScheme::Sip).map(Self::Sip);
        }
        if eq_ic(scheme, b"sips") {
            return SipUri::parse(s, rest_at, SipScheme::Sips).map(Self::Sip);
        }
        if eq_ic(scheme, b"tel") {
            return TelUri::parse(s, rest_at).map(Self::Tel);
        }
        let rest = sub(s, rest_at, s.len());
        if eq_ic(scheme, b"urn")
            && let Some(service) = strip_prefix_ic(rest, b"service:")
        {
            return ServiceUrn::parse(service, rest_at + 8).map(Self::Service);
        }
        if rest.is_empty() {
            return Err(UriError::new(UriErrorKind::Syntax, rest_at));
        }
        Ok(Self::Other { scheme, rest })
    }

    /// The scheme as written.
    pub fn scheme(&self) -> &'a [u8] {
        match self {
            Self::Sip(u) => match u.scheme {
                SipScheme::Sip => b"sip",
                SipScheme::Sips => b"sips",
            },
            Self::Tel(_) => b"tel",
            Self::Service(_) => b"urn",
            Self::Other { scheme, .. } => scheme,
        }
    }

    /// The service URN, if this is one.
    pub fn service_urn(&self) -> Option<ServiceUrn<'a>> {
        match self {
            Self::Service(s) => Some(*s),
            _ => None,
        }
    }

    /// Whether `s` can decode to [`Uri::Service`]: only a URI that starts `urn:service:`,
    /// in any case, does (RFC 5031 §3). A reader that wants nothing else from a URI asks
    /// this before paying for [`Uri::parse`].
    pub fn may_be_service_urn(s: &[u8]) -> bool {
        strip_prefix_ic(s, b"urn:service:").is_some()
    }

    /// The SIP URI, if this is one.
    pub fn as_sip(&self) -> Option<&SipUri<'a>> {
        match self {
            Self::Sip(u) => Some(u),
            _ => None,
        }
    }

    /// The tel URI, if this is one.
    pub fn as_tel(&self) -> Option<&TelUri<'a>> {
        match self {
            Self::Tel(u) => Some(u),
            _ => None,
        }
    }

    /// Who is addressed: the user part of a SIP URI or the number of a tel URI, as
    /// written (still escaped). What a dial string is matched against.
    pub fn user(&self) -> Option<&'a [u8]> {
        match self {
            Self::Sip(u) => u.user,
            Self::Tel(t) => Some(t.number),
            _ => None,
        }
    }
}

/// RFC 3986 §3.1: `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(s: &[u8]) -> bool {
    s.first().is_some_and(u8::is_ascii_alphabetic)
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

fn strip_prefix_ic<'s>(s: &'s [u8], prefix: &[u8]) -> Option<&'s [u8]> {
    let (head, tail) = s.split_at_checked(prefix.len())?;
    eq_ic(head, prefix).then_some(tail)
}

/// Offset at which URI-ish text has white space or a control byte, as used by the
/// name-addr parser before handing the text to [`Uri::parse`].
pub(crate) fn first_invalid_byte(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| !(0x21..0x7f).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatches_on_scheme_case_insensitively() {
        assert!(matches!(
            Uri::parse(b"SIP:alice@example.com"),
            Ok(Uri::Sip(_))
        ));
        assert!(matches!(
            Uri::parse(b"tel:+1-201-555-0123"),
            Ok(Uri::Tel(_))
        ));
        let urn = Uri::parse(b"URN:Service:sos.fire").unwrap();
        assert_eq!(urn.service_urn().unwrap().top_level(), b"sos");
        assert_eq!(urn.scheme(), b"urn");
        assert_eq!(
            Uri::parse(b"urn:ietf:params:foo"),
            Ok(Uri::Other {
                scheme: b"urn",
                rest: b"ietf:params:foo"
            })
        );
    }

    /// Whatever decodes to a service URN passes the cheap test first, whatever the case
    /// of its scheme and `service:`, and a URI that does not start so never decodes to
    /// one.
    #[test]
    fn may_be_service_urn_holds_for_every_service_urn() {
        for s in [
            &b"urn:service:sos"[..],
            b"URN:Service:sos.fire",
            b"uRn:sErViCe:counseling",
            b"urn:service:sos;x=1",
            b"urn:service:",
            b"urn:servic:sos",
            b"urn:ietf:params:foo",
            b"urns:service:sos",
            b" urn:service:sos",
            b"sip:urn:service:sos@h",
            b"tel:911",
            b"urn",
            b"",
        ] {
            let decoded = matches!(Uri::parse(s), Ok(Uri::Service(_)));
            if decoded {
                assert!(Uri::may_be_service_urn(s), "{s:?}");
            }
            assert_eq!(
                Uri::may_be_service_urn(s),
                s.len() >= 12 && s[..12].eq_ignore_ascii_case(b"urn:service:"),
                "{s:?}"
            );
        }
    }

    #[test]
    fn keeps_unknown_schemes_opaque() {
        // RFC 4475 §3.3.2 `unkscm.dat`, §3.3.3 `novelsc.dat`.
        let u = Uri::parse(b"nobodyKnowsThisScheme:totallyopaquecontent").unwrap();
        assert_eq!(u.scheme(), b"nobodyKnowsThisScheme");
        assert!(matches!(
            Uri::parse(b"soap.beep://192.0.2.103:3002"),
            Ok(Uri::Other { .. })
        ));
        assert_eq!(u.user(), None);
    }

    #[test]
    fn refuses_missing_schemes_and_white_space() {
        assert_eq!(Uri::parse(b"alice").unwrap_err().kind, UriErrorKind::Scheme);
        assert_eq!(Uri::parse(b"1x:y").unwrap_err().kind, UriErrorKind::Scheme);
        assert_eq!(
            Uri::parse(b"sip:a b").unwrap_err(),
            UriError::new(UriErrorKind::Syntax, 5)
        );
        assert_eq!(Uri::parse(b"x:").unwrap_err().kind, UriErrorKind::Syntax);
        assert_eq!(first_invalid_byte(b"ab\tc"), Some(2));
    }

    #[test]
    fn user_is_the_sip_user_or_the_tel_number() {
        assert_eq!(
            Uri::parse(b"sip:911@pbx").unwrap().user(),
            Some(&b"911"[..])
        );
        assert_eq!(
            Uri::parse(b"tel:911;phone-context=+1").unwrap().user(),
            Some(&b"911"[..])
        );
        assert!(Uri::parse(b"sip:pbx").unwrap().as_sip().is_some());
        assert!(Uri::parse(b"tel:+1").unwrap().as_tel().is_some());
    }
}
