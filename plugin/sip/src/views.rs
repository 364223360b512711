//! Typed views on [`Message`]: decoded on demand, each failing on its own.

use crate::error::{HeaderError, HeaderErrorKind, UriError, UriErrorKind};
use crate::header::list::{Fail, parse_list, parse_one};
use crate::header::scalar::{parse_call_id, parse_max_forwards};
use crate::header::{
    AccessNetworkInfo, ContentType, Cseq, Geolocation, GeolocationRouting, HeaderKind, NameAddr,
    Priority, Via,
};
use crate::message::{Field, Message};
use crate::span::Span;
use crate::start_line::StartLine;
use crate::uri::Uri;

impl<'a> Message<'a> {
    /// The one field of a kind that allows one value (RFC 3261 §20: To, From, Call-ID,
    /// CSeq, Max-Forwards, ...). Several are an error (RFC 4475 §3.3.8 `multi01.dat`).
    pub fn single(&self, kind: HeaderKind) -> Result<Field, HeaderError> {
        let mut it = self.fields_of(kind);
        let first = *it
            .next()
            .ok_or(HeaderError::new(kind, HeaderErrorKind::Missing, 0))?;
        if let Some(dup) = it.next() {
            return Err(HeaderError::new(
                kind,
                HeaderErrorKind::Duplicate,
                dup.name.lo(),
            ));
        }
        Ok(first)
    }

    fn view_one<T>(
        &self,
        kind: HeaderKind,
        one: fn(&'a [u8]) -> Result<T, Fail>,
    ) -> Result<T, HeaderError> {
        let f = self.single(kind)?;
        view_value(self.as_bytes(), f.value, kind, one)
    }

    fn view_list<T: 'a>(
        &self,
        kind: HeaderKind,
        one: fn(&'a [u8]) -> Result<T, Fail>,
    ) -> impl Iterator<Item = Result<T, HeaderError>> + '_ {
        self.fields_of(kind).flat_map(move |f| {
            let at = f.value.lo();
            parse_list(self.slice(f.value), kind, one).map(move |r| r.map_err(|e| e.shifted(at)))
        })
    }

    /// The decoded Request-URI. A response has none ([`UriErrorKind::Missing`]).
    /// RFC 3261 §19.1.1: headers are "not allowed" in a Request-URI
    /// (RFC 4475 §3.1.2.11 `escruri.dat`).
    pub fn request_uri(&self) -> Result<Uri<'a>, UriError> {
        request_uri(self.as_bytes(), self.start_line())
    }

    /// The Call-ID.
    pub fn call_id(&self) -> Result<&'a [u8], HeaderError> {
        self.view_one(HeaderKind::CallId, parse_call_id)
    }

    /// The CSeq.
    pub fn cseq(&self) -> Result<Cseq<'a>, HeaderError> {
        self.view_one(HeaderKind::Cseq, Cseq::parse)
    }

    /// Max-Forwards, 0 to 255.
    pub fn max_forwards(&self) -> Result<u8, HeaderError> {
        self.view_one(HeaderKind::MaxForwards, parse_max_forwards)
    }

    /// The From address (one value; its display name must be quoted if it holds a
    /// comma, RFC 4475 §3.1.2.15).
    pub fn from(&self) -> Result<NameAddr<'a>, HeaderError> {
        self.view_one(HeaderKind::From, NameAddr::parse)
    }

    /// The To address. No `tag` means an out-of-dialog request (RFC 3261 §8.2.6.2).
    pub fn to(&self) -> Result<NameAddr<'a>, HeaderError> {
        self.view_one(HeaderKind::To, NameAddr::parse)
    }

    /// Every address in every header of a list-valued address kind (Contact, Route,
    /// Record-Route, P-Asserted-Identity, P-Preferred-Identity, ...), in wire order.
    pub fn name_addrs(
        &self,
        kind: HeaderKind,
    ) -> impl Iterator<Item = Result<NameAddr<'a>, HeaderError>> + '_ {
        self.view_list(kind, NameAddr::parse)
    }

    /// P-Asserted-Identity values (RFC 3325 §9.1: up to one SIP or SIPS and one tel).
    pub fn p_asserted_identities(
        &self,
    ) -> impl Iterator<Item = Result<NameAddr<'a>, HeaderError>> + '_ {
        self.name_addrs(HeaderKind::PAssertedIdentity)
    }

    /// Every Via, top first, including several on one line.
    pub fn vias(&self) -> impl Iterator<Item = Result<Via<'a>, HeaderError>> + '_ {
        self.view_list(HeaderKind::Via, Via::parse)
    }

    /// The topmost Via.
    pub fn top_via(&self) -> Result<Via<'a>, HeaderError> {
        self.vias().next().unwrap_or(Err(HeaderError::new(
            HeaderKind::Via,
            HeaderErrorKind::Missing,
            0,
        )))
    }

    /// The Content-Type.
    pub fn content_type(&self) -> Result<ContentType<'a>, HeaderError> {
        self.view_one(HeaderKind::ContentType, ContentType::parse_raw)
    }

    /// Every Geolocation value, in order (RFC 6442 §4.1).
    pub fn geolocation(&self) -> impl Iterator<Item = Result<Geolocation<'a>, HeaderError>> + '_ {
        self.view_list(HeaderKind::Geolocation, Geolocation::parse)
    }

    /// Geolocation-Routing (RFC 6442 §4.2).
    pub fn geolocation_routing(&self) -> Result<GeolocationRouting<'a>, HeaderError> {
        self.view_one(HeaderKind::GeolocationRouting, GeolocationRouting::parse)
    }

    /// Every P-Access-Network-Info value (RFC 7315 §5.4).
    pub fn access_network_info(
        &self,
    ) -> impl Iterator<Item = Result<AccessNetworkInfo<'a>, HeaderError>> + '_ {
        self.view_list(HeaderKind::PAccessNetworkInfo, AccessNetworkInfo::parse)
    }

    /// Priority (RFC 3261 §20.26).
    pub fn priority(&self) -> Result<Priority<'a>, HeaderError> {
        self.view_one(HeaderKind::Priority, Priority::parse)
    }
}

/// The Request-URI of `start` in `buf`, decoded. RFC 3261 §19.1.1: headers are "not
/// allowed" in a Request-URI (RFC 4475 §3.1.2.11 `escruri.dat`).
pub(crate) fn request_uri<'a>(buf: &'a [u8], start: &StartLine) -> Result<Uri<'a>, UriError> {
    let StartLine::Request(r) = start else {
        return Err(UriError::new(UriErrorKind::Missing, 0));
    };
    // The start line admitted only URI bytes (`start_line::is_uri_byte`), all printable.
    let uri = Uri::parse_printable(r.uri.slice(buf)).map_err(|e| e.shifted(r.uri.lo()))?;
    if let Uri::Sip(sip) = &uri
        && sip.headers.is_some()
    {
        return Err(UriError::new(UriErrorKind::Headers, r.uri.lo()));
    }
    Ok(uri)
}

/// The value at `value` in `buf`, decoded by `one` as a single-valued header of `kind`,
/// errors placed in the buffer.
pub(crate) fn view_value<'a, T>(
    buf: &'a [u8],
    value: Span,
    kind: HeaderKind,
    one: fn(&'a [u8]) -> Result<T, Fail>,
) -> Result<T, HeaderError> {
    parse_one(value.slice(buf), kind, one).map_err(|e| e.shifted(value.lo()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::{AddrForm, Transport};
    use crate::uri::Host;
    use crate::{Limits, Method, parse};
    use alloc::vec::Vec;

    const INVITE: &[u8] = b"INVITE urn:service:sos SIP/2.0\r\n\
Via: SIP/2.0/TLS pc33.example.com;branch=z9hG4bK776, SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK0\r\n\
Max-Forwards: 70\r\n\
To: <urn:service:sos>\r\n\
From: \"Alice\" <sip:alice@example.com>;tag=9fxced76sl\r\n\
P-Asserted-Identity: <sip:+14255550100@example.com;user=phone>, <tel:+14255550100>\r\n\
Call-ID: 3848276298220188511@pc33.example.com\r\n\
CSeq: 31862 INVITE\r\n\
Geolocation: <cid:target123@example.com>;inserted-by=endpoint\r\n\
Geolocation-Routing: yes\r\n\
P-Access-Network-Info: IEEE-802.11;i-wlan-node-id=00-1D-A2-11-22-33\r\n\
Priority: emergency\r\n\
Subject: \"unterminated\r\n\
Content-Length: 0\r\n\r\n";

    #[test]
    fn decodes_the_views_of_an_emergency_invite() {
        let msg = parse(INVITE, &Limits::DEFAULT).unwrap();
        let urn = msg.request_uri().unwrap().service_urn().unwrap();
        assert!(urn.is_sos());
        assert!(msg.to().unwrap().tag().is_none());
        assert_eq!(msg.from().unwrap().display_name, Some(&b"Alice"[..]));
        let pai: Vec<_> = msg
            .p_asserted_identities()
            .map(|a| a.unwrap().uri)
            .collect();
        assert_eq!(
            pai,
            [
                &b"sip:+14255550100@example.com;user=phone"[..],
                b"tel:+14255550100"
            ]
        );
        assert_eq!(
            msg.call_id().unwrap(),
            b"3848276298220188511@pc33.example.com"
        );
        assert_eq!(msg.cseq().unwrap().method, Method::Invite);
        assert_eq!(msg.max_forwards(), Ok(70));
        let geo: Vec<_> = msg.geolocation().map(|g| g.unwrap()).collect();
        assert_eq!(geo[0].cid(), Some(&b"target123@example.com"[..]));
        assert_eq!(msg.geolocation_routing(), Ok(GeolocationRouting::Yes));
        let pani = msg.access_network_info().next().unwrap().unwrap();
        assert_eq!(pani.i_wlan_node_id(), Some(&b"00-1D-A2-11-22-33"[..]));
        assert_eq!(msg.priority(), Ok(Priority::Emergency));
    }

    #[test]
    fn reads_several_vias_from_one_line() {
        let msg = parse(INVITE, &Limits::DEFAULT).unwrap();
        let vias: Vec<_> = msg.vias().map(|v| v.unwrap()).collect();
        assert_eq!(vias.len(), 2);
        assert_eq!(vias[0].transport, Transport::Tls);
        assert_eq!(vias[1].host, Host::Ipv4(b"10.0.0.1"));
        assert_eq!(vias[1].port, Some(5062));
        assert_eq!(msg.top_via().unwrap().branch(), Some(&b"z9hG4bK776"[..]));
    }

    #[test]
    fn malformed_header_fails_only_its_own_view() {
        let msg = parse(INVITE, &Limits::DEFAULT).unwrap();
        assert!(msg.top_via().is_ok());
        assert!(msg.request_uri().is_ok());
        let subject = msg.single(HeaderKind::Subject).unwrap();
        assert_eq!(msg.value(&subject), b"\"unterminated");
    }

    #[test]
    fn views_report_missing_duplicate_and_offsets() {
        let buf = b"OPTIONS sip:a@b?x=y SIP/2.0\r\nTo: <sip:a@b>\r\nt: <sip:c@d>\r\nMax-Forwards: 300\r\nl: 0\r\n\r\n";
        let msg = parse(buf, &Limits::DEFAULT).unwrap();
        assert_eq!(msg.to().unwrap_err().kind, HeaderErrorKind::Duplicate);
        assert_eq!(msg.from().unwrap_err().kind, HeaderErrorKind::Missing);
        let e = msg.max_forwards().unwrap_err();
        assert_eq!((e.kind, e.at), (HeaderErrorKind::Number, 72));
        assert_eq!(msg.request_uri().unwrap_err().kind, UriErrorKind::Headers);
        assert_eq!(msg.top_via().unwrap_err().kind, HeaderErrorKind::Missing);
        assert_eq!(msg.priority().unwrap_err().kind, HeaderErrorKind::Missing);
    }

    #[test]
    fn list_errors_point_into_the_buffer() {
        let buf = b"OPTIONS sip:a@b SIP/2.0\r\nContact: <sip:a@b>, ,\"x\r\nl: 0\r\n\r\n";
        let msg = parse(buf, &Limits::DEFAULT).unwrap();
        let all: Vec<_> = msg.name_addrs(HeaderKind::Contact).collect();
        assert_eq!(all[0].unwrap().form, AddrForm::NameAddr);
        assert_eq!(all[1].unwrap_err().kind, HeaderErrorKind::Empty);
        let quote = all[2].unwrap_err();
        assert_eq!((quote.kind, quote.at), (HeaderErrorKind::Quote, 46));
        assert_eq!(buf[46], b'"');
    }

    #[test]
    fn responses_have_no_request_uri() {
        let msg = parse(b"SIP/2.0 200 OK\r\nl: 0\r\n\r\n", &Limits::DEFAULT).unwrap();
        assert_eq!(msg.request_uri().unwrap_err().kind, UriErrorKind::Missing);
        assert_eq!(msg.status_code(), Some(200));
        assert_eq!(msg.reason(), Some(&b"OK"[..]));
    }
}
