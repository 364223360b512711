//! From SIP text to the plain facts the policy decides on (DESIGN §3 step 3).
//!
//! The policy never sees SIP: this module reads the Request-URI, To, P-Asserted-Identity,
//! From, P-Access-Network-Info and the bundle's configured headers, and hands over
//! strings. It believes none of them: [`SipFacts::raw`] gives the policy's trust step
//! ([`e911_policy::Policy::trust`]) what the message says, and that step alone decides
//! what counts, given the peer.

use core::net::IpAddr;
use std::borrow::Cow;

use e911_policy::{Dialog, HeaderNames, RawFacts, Request};
use e911_sip::{HeaderKind, Host, Message, Method, NameAddr, Uri};

/// What one request says, borrowed from the message (copied only where its bytes are
/// not UTF-8).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SipFacts<'m> {
    /// INVITE or not.
    pub invite: bool,
    /// Whether To carries a tag (an in-dialog request).
    pub in_dialog: bool,
    /// The Call-ID.
    pub call_id: Option<Cow<'m, str>>,
    /// `urn:service:…` from the Request-URI, else from To (RFC 5031), lower-cased.
    pub service_urn: Option<String>,
    /// The dialled user part (Request-URI, else To), without user parameters.
    pub dialed: Option<Cow<'m, str>>,
    /// The first P-Asserted-Identity URI.
    pub asserted_identity: Option<Cow<'m, str>>,
    /// The From URI.
    pub from: Option<Cow<'m, str>>,
    /// The client IP from the bundle's client-IP header.
    pub client_ip: Option<IpAddr>,
    /// The Wi-Fi BSSID from `P-Access-Network-Info` (RFC 7315 §5.4 `i-wlan-node-id`).
    pub bssid: Option<Cow<'m, str>>,
    /// The LLDP chassis ID from the configured header.
    pub chassis: Option<Cow<'m, str>>,
    /// The LLDP port ID from the configured header.
    pub port: Option<Cow<'m, str>>,
}

impl<'m> SipFacts<'m> {
    /// Reads the facts of `msg`; `headers` names the bundle's configured headers.
    pub fn read(msg: &Message<'m>, headers: &HeaderNames) -> Self {
        Self::read_with(msg, headers, None)
    }

    /// [`SipFacts::read`] with `msg`'s Request-URI when the caller has decoded it already
    /// (the screen has, from the same bytes): `None` decodes it here.
    pub(crate) fn read_with(
        msg: &Message<'m>,
        headers: &HeaderNames,
        request_uri: Option<Uri<'m>>,
    ) -> Self {
        let invite = matches!(msg.method(), Some(Method::Invite));
        let request_uri = request_uri.or_else(|| msg.request_uri().ok());
        let addressed = Addressed::read(request_uri.as_ref(), msg.to().ok());
        let [client_ip, chassis, port] = named(
            msg,
            [
                headers.client_ip.as_deref(),
                headers.lldp_chassis.as_deref(),
                headers.lldp_port.as_deref(),
            ],
        );
        Self {
            invite,
            in_dialog: addressed.in_dialog,
            call_id: msg.call_id().ok().map(text),
            service_urn: addressed.service_urn,
            dialed: addressed.dialed,
            asserted_identity: msg
                .p_asserted_identities()
                .flatten()
                .next()
                .map(|a| text(a.uri)),
            from: msg.from().ok().map(|a| text(a.uri)),
            client_ip: client_ip.and_then(|v| v.trim().trim_matches(['[', ']']).parse().ok()),
            bssid: msg
                .access_network_info()
                .flatten()
                .find_map(|info| info.i_wlan_node_id())
                .map(text),
            chassis,
            port,
        }
    }

    /// What was dialled, as a report names it: the number, else the service URN.
    pub fn dialed_for_report(&self) -> Option<String> {
        self.dialed
            .as_deref()
            .map(str::to_owned)
            .or_else(|| self.service_urn.clone())
    }

    /// What the message says and who sent it, for the policy's trust step.
    pub fn raw(&self, peer_ip: Option<IpAddr>, now: u64) -> RawFacts<'_> {
        RawFacts {
            peer_ip,
            request: if self.invite {
                Request::Invite
            } else {
                Request::Other
            },
            dialog: if self.in_dialog {
                Dialog::InDialog
            } else {
                Dialog::OutOfDialog
            },
            service_urn: self.service_urn.as_deref(),
            dialed: self.dialed.as_deref(),
            asserted_identity: self.asserted_identity.as_deref(),
            from: self.from.as_deref(),
            client_ip: self.client_ip,
            bssid: self.bssid.as_deref(),
            chassis: self.chassis.as_deref(),
            port: self.port.as_deref(),
            client_location: None,
            now,
        }
    }
}

/// Whom a request is addressed to, from its Request-URI and To: all that decides whether
/// an INVITE can start an emergency call or a PSAP callback. [`SipFacts::read`] and the
/// ordinary-INVITE screen ([`crate::ordinary`]) both read it here, so they cannot disagree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Addressed<'m> {
    /// Whether To carries a tag (an in-dialog request, RFC 3261 §12.2).
    pub in_dialog: bool,
    /// `urn:service:…` from the Request-URI, else from To (RFC 5031), lower-cased.
    pub service_urn: Option<String>,
    /// The dialled user part (Request-URI, else To), without user parameters.
    pub dialed: Option<Cow<'m, str>>,
    /// Whether [`Addressed::dialed`] came from the Request-URI, where no To can change it.
    pub dialed_in_request_uri: bool,
}

impl<'m> Addressed<'m> {
    /// Reads the addressing from the decoded Request-URI and To, where they decoded.
    /// The Request-URI comes first for both; To's URI is decoded only where it can
    /// still matter, since most INVITEs settle both from the Request-URI (every ordinary
    /// INVITE comes through here).
    pub(crate) fn read(ruri: Option<&Uri<'m>>, to: Option<NameAddr<'m>>) -> Self {
        let ruri_dialed = ruri.and_then(dialed);
        Self::read_dialed(ruri, ruri_dialed, to)
    }

    /// [`Addressed::read`] for a caller that has read the number dialled in the
    /// Request-URI already (`dialed` of `ruri`).
    pub(crate) fn read_dialed(
        ruri: Option<&Uri<'m>>,
        ruri_dialed: Option<Cow<'m, str>>,
        to: Option<NameAddr<'m>>,
    ) -> Self {
        let to_uri = to
            .as_ref()
            .filter(|t| ruri_dialed.is_none() || Uri::may_be_service_urn(t.uri))
            .and_then(|t| t.uri().ok());
        let uris = || [ruri, to_uri.as_ref()].into_iter().flatten();
        Self {
            in_dialog: to.is_some_and(|t| t.tag().is_some()),
            service_urn: uris()
                .find_map(|u| u.service_urn())
                .map(|urn| format!("urn:service:{}", text(urn.service()).to_ascii_lowercase())),
            dialed_in_request_uri: ruri_dialed.is_some(),
            dialed: ruri_dialed.or_else(|| to_uri.as_ref().and_then(dialed)),
        }
    }
}

/// The user part a caller dialled. A `sip:` user may carry user parameters after `;`
/// (Lync sends `911;phone-context=…`): only the digits before them were dialled.
pub(crate) fn dialed<'m>(uri: &Uri<'m>) -> Option<Cow<'m, str>> {
    let user = match uri {
        Uri::Tel(tel) => tel.number,
        _ => uri.user()?,
    };
    let user = user.split(|&b| b == b';').next().unwrap_or(user);
    (!user.is_empty()).then(|| text(user))
}

/// The host part of a caller URI (`sip:alice@contoso.com;…` → `contoso.com`), for
/// writing an ELIN into it.
pub fn uri_host(uri: &str) -> Option<String> {
    let parsed = Uri::parse(uri.as_bytes()).ok()?;
    let sip = parsed.as_sip()?;
    Some(match sip.host {
        Host::Name(h) | Host::Ipv4(h) => text(h).into_owned(),
        Host::Ipv6(h) => format!("[{}]", text(h)),
    })
}

/// The first value of each header named in the bundle, trimmed; `None` for a name not
/// configured, a header not present, or an empty value. The extension headers (the usual
/// case: `X-LLDP-Port`, say) are found in one walk over the fields.
fn named<'m, const N: usize>(
    msg: &Message<'m>,
    names: [Option<&str>; N],
) -> [Option<Cow<'m, str>>; N] {
    let mut found: [Option<&'m [u8]>; N] = [None; N];
    let mut extension = [false; N];
    for ((slot, is_extension), name) in found.iter_mut().zip(&mut extension).zip(names) {
        match name.map(|n| HeaderKind::from_name(n.as_bytes())) {
            None => {}
            Some(HeaderKind::Other) => *is_extension = true,
            Some(known) => *slot = msg.header(known),
        }
    }
    if extension.contains(&true) {
        for field in msg.fields().iter().filter(|f| f.kind == HeaderKind::Other) {
            let written = msg.slice(field.name);
            for ((slot, is_extension), name) in found.iter_mut().zip(extension).zip(names) {
                if is_extension
                    && slot.is_none()
                    && name.is_some_and(|n| n.as_bytes().eq_ignore_ascii_case(written))
                {
                    *slot = Some(msg.slice(field.value));
                }
            }
        }
    }
    found.map(|value| {
        let value = match text(value?) {
            Cow::Borrowed(value) => Cow::Borrowed(value.trim()),
            Cow::Owned(value) => Cow::Owned(value.trim().to_owned()),
        };
        (!value.is_empty()).then_some(value)
    })
}

/// `bytes` as text; bytes that are not UTF-8 become U+FFFD. Borrowed when they are UTF-8,
/// as they nearly always are (a dialled number is ASCII).
fn text(bytes: &[u8]) -> Cow<'_, str> {
    // `from_utf8` checks an ASCII run a word at a time; the lossy decoder walks it in
    // chunks and costs about three times as much on a short number.
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use e911_sip::{Limits, parse};

    fn headers() -> HeaderNames {
        HeaderNames {
            lldp_chassis: Some("X-LLDP-Chassis".to_owned()),
            lldp_port: Some("X-LLDP-Port".to_owned()),
            client_ip: Some("X-Client-IP".to_owned()),
        }
    }

    fn facts(text: &str) -> SipFacts<'_> {
        let msg = parse(text.as_bytes(), &Limits::DEFAULT).unwrap();
        SipFacts::read(&msg, &headers())
    }

    const INVITE: &str = "INVITE sip:911;phone-context=Wichita@contoso.com;user=phone SIP/2.0\r\n\
        Via: SIP/2.0/TCP 10.2.4.18;branch=z9hG4bK1\r\n\
        From: \"Dave\" <sip:dave@contoso.com>;tag=1\r\n\
        To: <sip:911@contoso.com>\r\n\
        Call-ID: c1@x\r\n\
        CSeq: 1 INVITE\r\n\
        P-Asserted-Identity: <sip:+14255550104@contoso.com;user=phone>\r\n\
        P-Access-Network-Info: IEEE-802.11; i-wlan-node-id=001122334455\r\n\
        X-LLDP-Chassis:  00-aa-bb-cc-dd-ee \r\n\
        x-lldp-port: Gi1/0/7\r\n\
        X-Client-IP: 10.1.2.3\r\n\
        Content-Length: 0\r\n\r\n";

    #[test]
    fn reads_every_fact_the_policy_uses() {
        let f = facts(INVITE);
        assert!(f.invite && !f.in_dialog);
        assert_eq!(f.dialed.as_deref(), Some("911"));
        assert_eq!(
            f.asserted_identity.as_deref(),
            Some("sip:+14255550104@contoso.com;user=phone")
        );
        assert_eq!(f.from.as_deref(), Some("sip:dave@contoso.com"));
        assert_eq!(
            uri_host(f.asserted_identity.as_deref().unwrap()).as_deref(),
            Some("contoso.com")
        );
        assert_eq!(f.bssid.as_deref(), Some("001122334455"));
        assert_eq!(f.chassis.as_deref(), Some("00-aa-bb-cc-dd-ee"));
        assert_eq!(f.port.as_deref(), Some("Gi1/0/7"));
        assert_eq!(f.client_ip, "10.1.2.3".parse().ok());
        assert_eq!(f.call_id.as_deref(), Some("c1@x"));
        assert_eq!(f.service_urn, None);
    }

    /// A configured header is found by its name whatever the case, the first one counts
    /// (empty or not), and a name SIP itself defines is found by its kind, compact form
    /// included.
    #[test]
    fn configured_headers_take_their_first_field() {
        let text = INVITE.replace(
            "x-lldp-port: Gi1/0/7\r\n",
            "X-LLDP-PORT: Gi1/0/7\r\nX-LLDP-Port: Gi1/0/8\r\ns: 10.9.8.7\r\n",
        );
        let text = text.replace(
            "X-LLDP-Chassis:  00-aa-bb-cc-dd-ee \r\n",
            "X-LLDP-Chassis:\r\n",
        );
        let msg = parse(text.as_bytes(), &Limits::DEFAULT).unwrap();
        let configured = HeaderNames {
            client_ip: Some("Subject".to_owned()),
            ..headers()
        };
        let f = SipFacts::read(&msg, &configured);
        assert_eq!(f.port.as_deref(), Some("Gi1/0/7"));
        assert_eq!(f.chassis, None);
        assert_eq!(f.client_ip, "10.9.8.7".parse().ok());
        let none = HeaderNames {
            lldp_chassis: None,
            lldp_port: None,
            client_ip: None,
        };
        let f = SipFacts::read(&msg, &none);
        assert_eq!((f.chassis, f.port, f.client_ip), (None, None, None));
    }

    #[test]
    fn takes_the_service_urn_from_to_when_the_request_uri_has_none() {
        let text = INVITE.replace("To: <sip:911@contoso.com>", "To: <urn:service:SOS.fire>");
        let text = text.replace(
            "INVITE sip:911;phone-context=Wichita@contoso.com;user=phone",
            "INVITE sip:esrp.example.net",
        );
        let f = facts(&text);
        assert_eq!(f.service_urn.as_deref(), Some("urn:service:sos.fire"));
        assert_eq!(f.dialed, None);
    }

    #[test]
    fn marks_a_to_tag_as_in_dialog() {
        let text = INVITE
            .replace(
                "To: <sip:911@contoso.com>",
                "To: <sip:911@contoso.com>;tag=99",
            )
            .replace(
                "P-Asserted-Identity: <sip:+14255550104@contoso.com;user=phone>\r\n",
                "",
            );
        let f = facts(&text);
        assert!(f.in_dialog);
        assert_eq!(f.asserted_identity, None);
    }
}
