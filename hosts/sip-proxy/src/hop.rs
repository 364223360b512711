//! The proxy's own edits, RFC 3261 §16.6 (forwarding a request) and §16.7 (relaying a
//! response), made through [`e911_sip::Edits`] so every byte they do not touch leaves
//! byte-identical. These are the only changes the proxy makes on its own account: a
//! non-emergency INVITE reaches the next hop with one more Via line, `received`/`rport`
//! stamped on the caller's Via when RFC 3261 §18.2.1 / RFC 3581 ask for it, and
//! Max-Forwards one lower.
//!
//! Record-Route is left alone: the proxy does not insert itself into dialogs. In-dialog
//! requests still traverse it when the UA sends them to it as its outbound proxy (SIPp
//! sends every request to `-rsa`/the remote host); they are routed by Call-ID to the
//! upstream that received the dialog's INVITE (see `route.rs`).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use e911_engine::ENGINE_LIMITS;
use e911_sip::{Edits, Field, HeaderKind, Host, Message, Rport, parse};

/// Our branches: the RFC 3261 magic cookie, then a tag that marks them as ours.
pub const BRANCH_PREFIX: &str = "z9hG4bK-e911-";

/// The transport of a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

impl Proto {
    fn via_token(self) -> &'static str {
        match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
        }
    }
}

/// A request ready to forward.
pub struct Request {
    /// The bytes to send.
    pub bytes: Vec<u8>,
    /// The branch of the Via we added.
    pub branch: String,
    /// The Call-ID.
    pub call_id: String,
    /// The method.
    pub method: String,
    /// Whether this is an INVITE.
    pub is_invite: bool,
    /// Max-Forwards was already 0 (RFC 3261 §16.3 step 3: answer 483).
    pub exhausted: bool,
}

/// Adds our Via (`proto` and `sent_by` of the outgoing leg), stamps the caller's Via for
/// `source` and decrements Max-Forwards (or adds `Max-Forwards: 70`, §16.6 step 3).
/// `attempt` numbers the trunks a failing emergency INVITE is sent to: each is a client
/// transaction of its own, so each gets its own branch ([`attempt_branch`]).
pub fn forward_request(
    bytes: &[u8],
    source: SocketAddr,
    proto: Proto,
    sent_by: SocketAddr,
    attempt: usize,
) -> Result<Request, String> {
    let msg = parse(bytes, &ENGINE_LIMITS).map_err(|e| format!("unparsable request: {e}"))?;
    let first = msg
        .fields()
        .first()
        .ok_or("request without header fields")?;
    let top = msg.fields_of(HeaderKind::Via).next().copied();
    let branch = attempt_branch(&branch_for(&msg), attempt);
    let mut edits = Edits::new(&msg);
    let via = format!("SIP/2.0/{} {sent_by};branch={branch}", proto.via_token());
    let anchor = top.unwrap_or(*first);
    edits
        .insert_before(&anchor, "Via", via)
        .map_err(|e| e.to_string())?;
    if let Some(top) = top
        && let Some(stamped) = stamp_via(&msg, &top, source)
    {
        edits
            .replace_value(&top, stamped)
            .map_err(|e| e.to_string())?;
    }
    let mut exhausted = false;
    match msg.fields_of(HeaderKind::MaxForwards).next().copied() {
        Some(field) => {
            let hops = msg.max_forwards().unwrap_or(70);
            exhausted = hops == 0;
            edits
                .replace_value(&field, hops.saturating_sub(1).to_string())
                .map_err(|e| e.to_string())?;
        }
        None => edits
            .push_header("Max-Forwards", "70")
            .map_err(|e| e.to_string())?,
    }
    Ok(Request {
        bytes: edits.render(),
        branch,
        call_id: call_id(&msg),
        method: msg
            .method()
            .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
            .unwrap_or_default(),
        is_invite: msg.method().is_some_and(|m| m.as_bytes() == b"INVITE"),
        exhausted,
    })
}

/// A response ready to relay.
pub struct Response {
    /// The bytes to send.
    pub bytes: Vec<u8>,
    /// The branch of our Via (the transaction).
    pub branch: String,
    /// The status code.
    pub status: u16,
    /// The CSeq method: which of our requests it answers.
    pub cseq_method: String,
    /// Where the next Via says to send it (§18.2.2: `received`, `rport`, sent-by).
    pub next_hop: Option<SocketAddr>,
}

/// Removes our Via from the top of a response (§16.7 step 3). A response whose top Via
/// is not ours is refused.
pub fn relay_response(bytes: &[u8]) -> Result<Response, String> {
    let msg = parse(bytes, &ENGINE_LIMITS).map_err(|e| format!("unparsable response: {e}"))?;
    let top_field = msg
        .fields_of(HeaderKind::Via)
        .next()
        .copied()
        .ok_or("response without Via")?;
    let top = msg.top_via().map_err(|e| format!("top Via: {e}"))?;
    let branch = top
        .branch()
        .and_then(|b| std::str::from_utf8(b).ok())
        .filter(|b| b.starts_with(BRANCH_PREFIX))
        .ok_or("top Via is not ours")?
        .to_owned();
    let mut edits = Edits::new(&msg);
    let value = msg.value(&top_field);
    match value.iter().position(|&b| b == b',') {
        // Several via-parms on our line: keep the others (§7.3.1 allows combining).
        Some(comma) => {
            let rest = value.get(comma + 1..).unwrap_or_default().trim_ascii();
            edits.replace_value(&top_field, rest)
        }
        None => edits.remove(&top_field),
    }
    .map_err(|e| e.to_string())?;
    let next_hop = msg.vias().nth(1).and_then(Result::ok).and_then(|via| {
        let host = via.received().unwrap_or(via.host);
        let port = match via.rport() {
            Some(Rport::Port(port)) => Some(port),
            _ => via.port,
        }
        .unwrap_or(5060);
        resolve(host, port)
    });
    Ok(Response {
        bytes: edits.render(),
        branch,
        status: msg.status_code().unwrap_or(0),
        cseq_method: msg
            .cseq()
            .map(|c| String::from_utf8_lossy(c.method.as_bytes()).into_owned())
            .unwrap_or_default(),
        next_hop,
    })
}

/// `483 Too Many Hops` for a request (§16.3 step 3).
pub fn too_many_hops(bytes: &[u8]) -> Option<Vec<u8>> {
    reply(bytes, "483 Too Many Hops")
}

/// A response of our own to a request, `status` being code and reason phrase: its Via,
/// From, To, Call-ID and CSeq lines copied as they are (§8.2.6.2).
pub fn reply(bytes: &[u8], status: &str) -> Option<Vec<u8>> {
    let msg = parse(bytes, &ENGINE_LIMITS).ok()?;
    let mut out = format!("SIP/2.0 {status}\r\n").into_bytes();
    for field in msg.fields() {
        if matches!(
            field.kind,
            HeaderKind::Via
                | HeaderKind::From
                | HeaderKind::To
                | HeaderKind::CallId
                | HeaderKind::Cseq
        ) {
            out.extend_from_slice(msg.slice(msg.field_line(field)));
        }
    }
    out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    Some(out)
}

/// The ACK for a non-2xx final response to an INVITE we sent (§17.1.1.3): the INVITE's
/// Request-URI, top Via (ours, same branch), From, Call-ID, CSeq number and Route
/// lines, and the response's To (with the tag the callee added).
pub fn ack_for(invite: &[u8], response: &[u8]) -> Option<Vec<u8>> {
    let to = parse(response, &ENGINE_LIMITS)
        .ok()?
        .header(HeaderKind::To)?
        .to_vec();
    request_on_invite(invite, "ACK", Some(&to))
}

/// The first `name` header of a response, for the audit: one line of printable text, at
/// most [`MAX_QUOTED_HEADER`] characters (a provider's text is not ours to store whole).
pub fn quoted_header(bytes: &[u8], name: &[u8]) -> Option<String> {
    let msg = parse(bytes, &ENGINE_LIMITS).ok()?;
    let value = msg.headers_named(name).next()?;
    let text: String = String::from_utf8_lossy(value)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_QUOTED_HEADER)
        .collect();
    (!text.is_empty()).then_some(text)
}

/// Longest header text [`quoted_header`] keeps.
pub const MAX_QUOTED_HEADER: usize = 200;

/// The CANCEL of an INVITE we sent (§9.1): its Request-URI, top Via, From, To, Call-ID,
/// CSeq number and Route lines.
pub fn cancel_for(invite: &[u8]) -> Option<Vec<u8>> {
    request_on_invite(invite, "CANCEL", None)
}

/// A request of the INVITE's transaction (ACK or CANCEL), built from the INVITE we sent.
fn request_on_invite(invite: &[u8], method: &str, to: Option<&[u8]>) -> Option<Vec<u8>> {
    let msg = parse(invite, &ENGINE_LIMITS).ok()?;
    let uri = msg.request_uri_bytes()?;
    let cseq = msg.cseq().ok()?.number;
    let mut out = format!("{method} ").into_bytes();
    out.extend_from_slice(uri);
    out.extend_from_slice(b" SIP/2.0\r\n");
    let top_via = msg.fields_of(HeaderKind::Via).next()?;
    out.extend_from_slice(msg.slice(msg.field_line(top_via)));
    for field in msg.fields() {
        let line = msg.slice(msg.field_line(field));
        match field.kind {
            HeaderKind::From | HeaderKind::CallId | HeaderKind::Route => {
                out.extend_from_slice(line);
            }
            HeaderKind::To => match to {
                Some(to) => {
                    out.extend_from_slice(b"To: ");
                    out.extend_from_slice(to);
                    out.extend_from_slice(b"\r\n");
                }
                None => out.extend_from_slice(line),
            },
            _ => {}
        }
    }
    out.extend_from_slice(
        format!("CSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
            .as_bytes(),
    );
    Some(out)
}

/// The Call-ID, or empty.
pub fn call_id(msg: &Message<'_>) -> String {
    msg.call_id()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .unwrap_or_default()
}

/// Our branch: the magic cookie and a hash of the incoming branch (§16.6 step 8, §16.11),
/// so a retransmission, the ACK of a non-2xx and a CANCEL get the branch of their INVITE.
/// Without an RFC 3261 branch, the top Via, Call-ID and CSeq number stand in for it.
pub fn branch_for(msg: &Message<'_>) -> String {
    let mut hasher = DefaultHasher::new();
    match msg.top_via().ok().filter(|v| v.has_magic_cookie()) {
        Some(via) => {
            via.branch().hash(&mut hasher);
            via.host.as_bytes().hash(&mut hasher);
            via.port.hash(&mut hasher);
        }
        None => {
            msg.header(HeaderKind::Via).hash(&mut hasher);
            msg.call_id().ok().hash(&mut hasher);
            msg.cseq().ok().map(|c| c.number).hash(&mut hasher);
        }
    }
    format!("{BRANCH_PREFIX}{:016x}", hasher.finish())
}

/// The branch of the `attempt`th trunk an INVITE is sent to: the first keeps the base
/// branch (so the caller's retransmissions, CANCEL and non-2xx ACK map straight to it),
/// later ones append `.N`.
pub fn attempt_branch(base: &str, attempt: usize) -> String {
    match attempt {
        0 => base.to_owned(),
        n => format!("{base}.{n}"),
    }
}

/// The base branch and attempt number of one of our branches ([`attempt_branch`]).
pub fn split_branch(branch: &str) -> (&str, usize) {
    match branch.rsplit_once('.') {
        Some((base, n)) if base.starts_with(BRANCH_PREFIX) => {
            n.parse().map_or((branch, 0), |n| (base, n))
        }
        _ => (branch, 0),
    }
}

/// The caller's Via with `received` (when its sent-by host is not the packet's source,
/// §18.2.1) and `rport=PORT` (when it asked, RFC 3581 §4), or `None` when neither
/// applies or the line holds several via-parms.
fn stamp_via(msg: &Message<'_>, field: &Field, source: SocketAddr) -> Option<String> {
    let value = msg.value(field);
    if value.contains(&b',') {
        return None;
    }
    let via = msg.top_via().ok()?;
    let ip = source.ip();
    let host_differs = !matches!(via.host, Host::Ipv4(h) | Host::Ipv6(h)
        if std::str::from_utf8(h).ok().and_then(|h| h.parse::<IpAddr>().ok()) == Some(ip));
    let wants_rport = via.rport() == Some(Rport::Requested);
    if !host_differs && !wants_rport {
        return None;
    }
    let text = std::str::from_utf8(value).ok()?;
    let mut parts: Vec<String> = text.split(';').map(str::to_owned).collect();
    if wants_rport {
        for part in parts.iter_mut().skip(1) {
            if part.trim().eq_ignore_ascii_case("rport") {
                *part = format!("rport={}", source.port());
            }
        }
    }
    if (host_differs || wants_rport) && via.received().is_none() {
        parts.push(format!("received={ip}"));
    }
    Some(parts.join(";"))
}

fn resolve(host: Host<'_>, port: u16) -> Option<SocketAddr> {
    let host = std::str::from_utf8(host.as_bytes()).ok()?;
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, port));
    }
    (host, port).to_socket_addrs().ok()?.next()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.1.0.10:5070;branch=z9hG4bK-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@example.com>;tag=1\r\n\
To: <sip:bob@example.com>\r\n\
Call-ID: c1\r\n\
CSeq: 1 INVITE\r\n\
Content-Length: 0\r\n\r\n";

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarding_adds_a_via_stamps_rport_and_decrements_max_forwards() {
        let req = forward_request(
            INVITE,
            addr("127.1.0.10:5070"),
            Proto::Udp,
            addr("127.0.0.1:5060"),
            0,
        )
        .unwrap();
        let text = String::from_utf8(req.bytes).unwrap();
        let expected = format!(
            "INVITE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5060;branch={}\r\n\
Via: SIP/2.0/UDP 127.1.0.10:5070;branch=z9hG4bK-1;rport=5070;received=127.1.0.10\r\n\
Max-Forwards: 69\r\n\
From: <sip:alice@example.com>;tag=1\r\n\
To: <sip:bob@example.com>\r\n\
Call-ID: c1\r\n\
CSeq: 1 INVITE\r\n\
Content-Length: 0\r\n\r\n",
            req.branch
        );
        assert_eq!(text, expected);
        assert!(req.is_invite && !req.exhausted);
    }

    #[test]
    fn a_cancel_gets_the_branch_of_its_invite() {
        let cancel = String::from_utf8_lossy(INVITE)
            .replace("INVITE sip", "CANCEL sip")
            .replace("1 INVITE", "1 CANCEL");
        let src = addr("127.1.0.10:5070");
        let ours = addr("127.0.0.1:5060");
        let a = forward_request(INVITE, src, Proto::Udp, ours, 0).unwrap();
        let b = forward_request(cancel.as_bytes(), src, Proto::Udp, ours, 0).unwrap();
        assert_eq!(a.branch, b.branch);
    }

    #[test]
    fn relaying_removes_our_via_and_finds_the_next_hop() {
        let req = forward_request(
            INVITE,
            addr("127.1.0.10:5070"),
            Proto::Udp,
            addr("127.0.0.1:5060"),
            0,
        )
        .unwrap();
        let text = String::from_utf8(req.bytes).unwrap();
        let response = text
            .replace("INVITE sip:bob@example.com SIP/2.0", "SIP/2.0 180 Ringing")
            .replace("Max-Forwards: 69\r\n", "");
        let relayed = relay_response(response.as_bytes()).unwrap();
        assert_eq!(relayed.branch, req.branch);
        assert_eq!(relayed.next_hop, Some(addr("127.1.0.10:5070")));
        let out = String::from_utf8(relayed.bytes).unwrap();
        assert!(out.starts_with("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 127.1.0.10:5070;"));
        assert!(!out.contains(BRANCH_PREFIX));
    }

    #[test]
    fn a_response_whose_top_via_is_not_ours_is_refused() {
        let response = String::from_utf8_lossy(INVITE)
            .replace("INVITE sip:bob@example.com SIP/2.0", "SIP/2.0 200 OK");
        assert!(relay_response(response.as_bytes()).is_err());
    }

    #[test]
    fn a_request_with_max_forwards_zero_is_exhausted() {
        let text = String::from_utf8_lossy(INVITE).replace("Max-Forwards: 70", "Max-Forwards: 0");
        let src = addr("127.1.0.10:5070");
        let req =
            forward_request(text.as_bytes(), src, Proto::Udp, addr("127.0.0.1:5060"), 0).unwrap();
        assert!(req.exhausted);
        let reply = String::from_utf8(too_many_hops(text.as_bytes()).unwrap()).unwrap();
        assert!(reply.starts_with("SIP/2.0 483 Too Many Hops\r\nVia: SIP/2.0/UDP 127.1.0.10"));
    }

    #[test]
    fn each_attempt_has_its_own_branch_that_leads_back_to_the_base() {
        let src = addr("127.1.0.10:5070");
        let ours = addr("127.0.0.1:5060");
        let first = forward_request(INVITE, src, Proto::Tcp, ours, 0).unwrap();
        let second = forward_request(INVITE, src, Proto::Tcp, ours, 2).unwrap();
        assert_eq!(second.branch, format!("{}.2", first.branch));
        assert_eq!(split_branch(&second.branch), (first.branch.as_str(), 2));
        assert_eq!(split_branch(&first.branch), (first.branch.as_str(), 0));
        assert_eq!(split_branch("z9hG4bK.other.3"), ("z9hG4bK.other.3", 0));
    }

    #[test]
    fn the_ack_and_cancel_we_make_belong_to_the_invite_we_sent() {
        let sent = forward_request(
            INVITE,
            addr("127.1.0.10:5070"),
            Proto::Tcp,
            addr("127.0.0.1:5060"),
            1,
        )
        .unwrap();
        let response = String::from_utf8_lossy(&sent.bytes)
            .replace(
                "INVITE sip:bob@example.com SIP/2.0",
                "SIP/2.0 503 Service Unavailable",
            )
            .replace(
                "To: <sip:bob@example.com>",
                "To: <sip:bob@example.com>;tag=t9",
            );
        let ack = String::from_utf8(ack_for(&sent.bytes, response.as_bytes()).unwrap()).unwrap();
        assert_eq!(
            ack,
            format!(
                "ACK sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/TCP 127.0.0.1:5060;branch={}\r\n\
From: <sip:alice@example.com>;tag=1\r\n\
To: <sip:bob@example.com>;tag=t9\r\n\
Call-ID: c1\r\n\
CSeq: 1 ACK\r\n\
Max-Forwards: 70\r\n\
Content-Length: 0\r\n\r\n",
                sent.branch
            )
        );
        let cancel = String::from_utf8(cancel_for(&sent.bytes).unwrap()).unwrap();
        assert!(cancel.starts_with("CANCEL sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP"));
        assert!(cancel.contains(&sent.branch) && cancel.contains("CSeq: 1 CANCEL\r\n"));
        parse(cancel.as_bytes(), &ENGINE_LIMITS).unwrap();
    }
}
