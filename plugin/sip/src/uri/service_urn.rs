//! `ServiceUrn`: `urn:service:` URNs (RFC 5031), the way an emergency call is addressed.
//! <https://www.rfc-editor.org/rfc/rfc5031#section-4.2>

use crate::error::{UriError, UriErrorKind};
use crate::lex::eq_ic;

/// A service URN such as `urn:service:sos` or `urn:service:sos.fire`.
///
/// RFC 5031 §4.2: `service = top-level *("." sub-service)`. Labels compare
/// case-insensitively here: the `urn` prefix and NID are case-insensitive
/// (RFC 8141 §3.1) and the registered services are lower-case, so another spelling can
/// only mean the same service. Missing an emergency call over letter case would be
/// the worse error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceUrn<'a> {
    service: &'a [u8],
}

impl<'a> ServiceUrn<'a> {
    /// Parses the text after `urn:service:`; `at` is its offset, for errors.
    pub(crate) fn parse(service: &'a [u8], at: usize) -> Result<Self, UriError> {
        let valid = service.split(|&b| b == b'.').all(|label| {
            // let-dig [ *let-dig-hyp let-dig ]
            label.first().is_some_and(u8::is_ascii_alphanumeric)
                && label.last().is_some_and(u8::is_ascii_alphanumeric)
                && label
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
        });
        if !valid {
            return Err(UriError::new(UriErrorKind::Service, at));
        }
        Ok(Self { service })
    }

    /// The whole service, e.g. `sos.fire`.
    pub fn service(&self) -> &'a [u8] {
        self.service
    }

    /// The top-level service, e.g. `sos` for `sos.fire`.
    pub fn top_level(&self) -> &'a [u8] {
        self.labels().next().unwrap_or_default()
    }

    /// The sub-services after the top level, e.g. `fire` for `sos.fire`.
    pub fn sub_services(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.labels().skip(1)
    }

    /// Whether this is `urn:service:sos` or one of its sub-services (RFC 5031 §4.2).
    pub fn is_sos(&self) -> bool {
        eq_ic(self.top_level(), b"sos")
    }

    /// Whether this is in the `test` tree (`urn:service:test.sos`): a test call, not an
    /// emergency.
    pub fn is_test(&self) -> bool {
        eq_ic(self.top_level(), b"test")
    }

    /// Whether this service is `other` or a sub-service of it: `sos.fire` is within
    /// `sos`, `sos` is not within `sos.fire`, `sosx` is not within `sos`.
    pub fn is_within(&self, other: &[u8]) -> bool {
        let mut mine = self.labels();
        other
            .split(|&b| b == b'.')
            .all(|label| mine.next().is_some_and(|m| eq_ic(m, label)))
    }

    fn labels(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.service.split(|&b| b == b'.')
    }
}

#[cfg(test)]
mod tests {
    use crate::error::UriErrorKind;
    use crate::uri::Uri;
    use alloc::vec::Vec;

    fn urn(s: &[u8]) -> super::ServiceUrn<'_> {
        Uri::parse(s).unwrap().service_urn().unwrap()
    }

    #[test]
    fn splits_top_level_and_sub_services() {
        let u = urn(b"urn:service:sos.fire");
        assert_eq!(u.service(), b"sos.fire");
        assert_eq!(u.top_level(), b"sos");
        assert_eq!(u.sub_services().collect::<Vec<_>>(), [b"fire"]);
        assert!(u.is_sos());
        assert!(!u.is_test());
        assert!(urn(b"urn:service:sos").sub_services().next().is_none());
    }

    #[test]
    fn test_calls_are_not_sos() {
        let u = urn(b"urn:service:test.sos");
        assert!(u.is_test());
        assert!(!u.is_sos());
        assert!(u.is_within(b"test.sos"));
    }

    #[test]
    fn within_compares_whole_labels() {
        assert!(urn(b"urn:service:SOS.Fire").is_within(b"sos"));
        assert!(!urn(b"urn:service:sos").is_within(b"sos.fire"));
        assert!(!urn(b"urn:service:sosx").is_within(b"sos"));
        assert!(!urn(b"urn:service:sosx").is_sos());
    }

    #[test]
    fn refuses_malformed_labels() {
        for bad in [
            &b"urn:service:"[..],
            b"urn:service:sos.",
            b"urn:service:.sos",
            b"urn:service:-sos",
            b"urn:service:s_s",
        ] {
            assert_eq!(
                Uri::parse(bad).unwrap_err().kind,
                UriErrorKind::Service,
                "{bad:?}"
            );
        }
    }
}
