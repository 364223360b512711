//! The location a client sent with its call (RFC 6442), found leniently.
//!
//! RFC 6442 §4.1: "The Geolocation header field contains a URI [...] a 'cid:' URI
//! indicates that the location is contained in the body of the message." The body part is
//! the one whose `Content-ID` the cid names (RFC 2392). Deployed clients get that wrong:
//! Lync 2013 writes `Geolocation: <cid:sip:alice@contoso.com>` and labels the part
//! `Content-ID: <alice@contoso.com>`. An emergency call must not lose a usable location
//! over that, so the search relaxes step by step and says which step found the part.

use e911_location::{PidfLo, ReadError, read_pidf_lo};
use e911_sip::{Limits, Message, Part};

/// How the PIDF-LO body part was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CidMatch {
    /// The `cid:` URI names the part's Content-ID exactly (RFC 2392).
    Exact,
    /// The cid carried a `sip:`/`sips:` scheme the Content-ID lacks (Lync 2013).
    SchemeStripped,
    /// No part matched the cid, but the body has exactly one `application/pidf+xml` part.
    OnlyPidfPart,
    /// The whole body is `application/pidf+xml` (no multipart).
    WholeBody,
}

impl CidMatch {
    /// The name used in traces.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::SchemeStripped => "scheme-stripped",
            Self::OnlyPidfPart => "only-pidf-part",
            Self::WholeBody => "whole-body",
        }
    }
}

/// What the message says about the client's own location.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientLocation {
    /// No `Geolocation` header.
    Absent,
    /// A location by value, read from a body part.
    ByValue {
        /// The document read.
        pidf: PidfLo,
        /// How the part was found.
        matched: CidMatch,
    },
    /// A location by reference (HELD `https:` or `sip:` URI); not dereferenced here.
    ByReference {
        /// The URI, as sent.
        uri: String,
    },
    /// A `Geolocation` header that yields nothing usable, and why.
    Unusable {
        /// One line for the decision trace.
        reason: String,
    },
}

impl ClientLocation {
    /// The PIDF-LO document, when the location came by value.
    pub fn pidf(&self) -> Option<&PidfLo> {
        match self {
            Self::ByValue { pidf, .. } => Some(pidf),
            _ => None,
        }
    }
}

/// Finds and reads the client's location. Only the first usable `Geolocation` value is
/// taken: RFC 6442 §4.1 lets a message carry several, and a client's own comes first.
pub fn client_location(msg: &Message<'_>, limits: &Limits) -> ClientLocation {
    let mut unusable = None;
    for value in msg.geolocation() {
        let Ok(value) = value else {
            unusable = Some("Geolocation header does not parse".to_owned());
            continue;
        };
        let Some(cid) = value.cid() else {
            return ClientLocation::ByReference {
                uri: String::from_utf8_lossy(value.uri).into_owned(),
            };
        };
        match by_value(msg, cid, limits) {
            Ok((pidf, matched)) => return ClientLocation::ByValue { pidf, matched },
            Err(reason) => unusable = Some(reason),
        }
    }
    match unusable {
        Some(reason) => ClientLocation::Unusable { reason },
        None => ClientLocation::Absent,
    }
}

fn by_value(msg: &Message<'_>, cid: &[u8], limits: &Limits) -> Result<(PidfLo, CidMatch), String> {
    let content_type = msg
        .content_type()
        .map_err(|_| "no usable Content-Type".to_owned())?;
    if content_type.is(b"application", b"pidf+xml") {
        return read(msg.body()).map(|pidf| (pidf, CidMatch::WholeBody));
    }
    if !content_type.is_multipart() {
        return Err("Geolocation names a body part, but the body is not multipart".to_owned());
    }
    let parts = msg
        .multipart(limits)
        .map_err(|_| "multipart body does not parse".to_owned())?;
    let (part, matched) = find_part(&parts, cid)
        .ok_or_else(|| format!("no body part for cid:{}", String::from_utf8_lossy(cid)))?;
    read(part.body()).map(|pidf| (pidf, matched))
}

fn find_part<'p, 'a>(parts: &'p [Part<'a>], cid: &[u8]) -> Option<(&'p Part<'a>, CidMatch)> {
    if let Some(part) = parts.iter().find(|p| p.matches_cid(cid)) {
        return Some((part, CidMatch::Exact));
    }
    let stripped = strip_sip_scheme(cid);
    if stripped.len() != cid.len()
        && let Some(part) = parts.iter().find(|p| p.matches_cid(stripped))
    {
        return Some((part, CidMatch::SchemeStripped));
    }
    let mut pidf_parts = parts.iter().filter(|p| is_pidf(p));
    match (pidf_parts.next(), pidf_parts.next()) {
        (Some(only), None) => Some((only, CidMatch::OnlyPidfPart)),
        _ => None,
    }
}

fn is_pidf(part: &Part<'_>) -> bool {
    part.content_type()
        .is_ok_and(|ct| ct.is(b"application", b"pidf+xml"))
}

fn strip_sip_scheme(cid: &[u8]) -> &[u8] {
    for scheme in [&b"sips:"[..], b"sip:"] {
        if let Some((head, rest)) = cid.split_at_checked(scheme.len())
            && head.eq_ignore_ascii_case(scheme)
        {
            return rest;
        }
    }
    cid
}

fn read(body: &[u8]) -> Result<PidfLo, String> {
    read_pidf_lo(body).map_err(|err: ReadError| format!("PIDF-LO unreadable: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use e911_sip::parse;

    fn corpus(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../../tests/corpus/emergency/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(path).unwrap()
    }

    fn locate(name: &str) -> ClientLocation {
        let bytes = corpus(name);
        let msg = parse(&bytes, &Limits::DEFAULT).unwrap();
        client_location(&msg, &Limits::DEFAULT)
    }

    #[test]
    fn finds_a_part_named_exactly_by_its_cid() {
        let found = locate("client-pidf-by-value-sos.sip");
        let ClientLocation::ByValue { pidf, matched } = found else {
            panic!("{found:?}")
        };
        assert_eq!(matched, CidMatch::Exact);
        let civic = pidf
            .preferred()
            .and_then(|f| f.location.civic.as_ref())
            .unwrap();
        assert_eq!(civic.get(e911_location::CivicElement::Flr), Some("2"));
    }

    #[test]
    fn tolerates_lyncs_sip_scheme_in_the_cid() {
        let found = locate("lync-mismatched-cid-911.sip");
        let ClientLocation::ByValue { pidf, matched } = found else {
            panic!("{found:?}")
        };
        assert_eq!(matched, CidMatch::SchemeStripped);
        assert_eq!(
            pidf.preferred().map(|f| f.location.elins.clone()),
            Some(vec!["+13165550100".to_owned()])
        );
    }

    #[test]
    fn keeps_a_reference_as_a_reference() {
        let found = locate("by-reference-sos.sip");
        assert_eq!(
            found,
            ClientLocation::ByReference {
                uri: "https://lis.contoso.com/held/loc/8f3a61c2".to_owned()
            }
        );
    }

    #[test]
    fn says_absent_without_a_geolocation_header() {
        assert_eq!(locate("hq-wired-911.sip"), ClientLocation::Absent);
    }

    #[test]
    fn falls_back_to_the_only_pidf_part_and_explains_a_missing_one() {
        let bytes = corpus("client-pidf-by-value-sos.sip");
        let text = String::from_utf8(bytes).unwrap();
        let renamed = text.replace(
            "Geolocation: <cid:carol-loc-1@10.1.2.40>",
            "Geolocation: <cid:other@x>",
        );
        let msg = parse(renamed.as_bytes(), &Limits::DEFAULT).unwrap();
        let found = client_location(&msg, &Limits::DEFAULT);
        assert!(
            matches!(
                found,
                ClientLocation::ByValue {
                    matched: CidMatch::OnlyPidfPart,
                    ..
                }
            ),
            "{found:?}"
        );

        // Same length, so Content-Length still holds.
        let no_pidf = renamed.replace("application/pidf+xml", "text/plain;charset=x");
        let msg = parse(no_pidf.as_bytes(), &Limits::DEFAULT).unwrap();
        let found = client_location(&msg, &Limits::DEFAULT);
        assert_eq!(
            found,
            ClientLocation::Unusable {
                reason: "no body part for cid:other@x".to_owned()
            }
        );
    }
}
