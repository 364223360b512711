//! `Via` (RFC 3261 §20.42): the path a request took, one `via-parm` per hop; one Via
//! line may carry several, comma-separated.
//! <https://www.rfc-editor.org/rfc/rfc3261#section-20.42>

use crate::error::HeaderErrorKind;
use crate::lex::{eq_ic, is_lws, is_token, is_token_str, skip_lws, sub, trim, trim_bounds};
use crate::params::Params;
use crate::uri::{Host, parse_port};

use super::list::{Fail, split_params};

/// The transport of a Via (`sent-protocol`'s last part). Case-insensitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport<'a> {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// SCTP.
    Sctp,
    /// TLS over SCTP.
    TlsSctp,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket (RFC 7118).
    Wss,
    /// Another token (RFC 4475 §3.1.1.10 `transports.dat`: `UNKNOWN`).
    Other(&'a [u8]),
}

impl<'a> Transport<'a> {
    fn from_token(t: &'a [u8]) -> Self {
        const KNOWN: [(&[u8], Transport<'static>); 7] = [
            (b"UDP", Transport::Udp),
            (b"TCP", Transport::Tcp),
            (b"TLS", Transport::Tls),
            (b"SCTP", Transport::Sctp),
            (b"TLS-SCTP", Transport::TlsSctp),
            (b"WS", Transport::Ws),
            (b"WSS", Transport::Wss),
        ];
        KNOWN
            .iter()
            .find(|(name, _)| eq_ic(name, t))
            .map_or(Self::Other(t), |&(_, kind)| kind)
    }
}

/// The `rport` parameter (RFC 3581): asked for by the client, or filled in with the
/// source port by a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rport {
    /// `;rport` without a value: the client asks for it.
    Requested,
    /// `;rport=N`.
    Port(u16),
}

/// One `via-parm`: `SIP/2.0/UDP host:port;branch=...;received=...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Via<'a> {
    /// `SIP`.
    pub protocol_name: &'a [u8],
    /// `2.0`.
    pub protocol_version: &'a [u8],
    /// `UDP`, `TCP`, ...
    pub transport: Transport<'a>,
    /// The sent-by host.
    pub host: Host<'a>,
    /// The sent-by port, if given.
    pub port: Option<u16>,
    /// The via parameters.
    pub params: Params<'a>,
}

impl<'a> Via<'a> {
    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&'a [u8]> {
        self.params.value(b"branch")
    }

    /// Whether the branch starts with the RFC 3261 §8.1.1.7 magic cookie `z9hG4bK`
    /// (the RFC 3261 transaction-matching rules apply).
    pub fn has_magic_cookie(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with(b"z9hG4bK"))
    }

    /// The `received` parameter: an IPv4 or IPv6 address (RFC 3261 §20.42). RFC 5118
    /// §4.5: IPv6 is written with or without brackets; both decode to [`Host::Ipv6`].
    pub fn received(&self) -> Option<Host<'a>> {
        self.params.value(b"received").and_then(received_host)
    }

    /// The `rport` parameter.
    pub fn rport(&self) -> Option<Rport> {
        let p = self.params.get(b"rport")?;
        match p.unquoted_value() {
            None => Some(Rport::Requested),
            Some(v) => parse_port(v).map(Rport::Port),
        }
    }

    /// Parses one trimmed, non-empty `via-parm`. LWS may surround the slashes and the
    /// colon (RFC 3261 §25.1 `SLASH`, `COLON`; RFC 4475 §3.1.1.1 `wsinv.dat`).
    pub(crate) fn parse(s: &'a [u8]) -> Result<Self, Fail> {
        let syntax = |at| (HeaderErrorKind::Syntax, at);
        let (head, params) = split_params(s)?;
        let s1 = memchr::memchr(b'/', head).ok_or(syntax(0))?;
        let s2 = memchr::memchr(b'/', sub(head, s1 + 1, head.len())).ok_or(syntax(s1))? + s1 + 1;
        let protocol_name = trim(sub(head, 0, s1));
        let protocol_version = trim(sub(head, s1 + 1, s2));
        if !is_token_str(protocol_name) || !is_token_str(protocol_version) {
            return Err(syntax(0));
        }
        let t_start = skip_lws(head, s2 + 1);
        let t_len = sub(head, t_start, head.len())
            .iter()
            .take_while(|&&b| is_token(b))
            .count();
        let by_start = t_start + t_len;
        if t_len == 0 || !head.get(by_start).copied().is_some_and(is_lws) {
            return Err(syntax(t_start));
        }
        let transport = Transport::from_token(sub(head, t_start, by_start));
        let (host, port) = sent_by(head, by_start)?;
        let via = Self {
            protocol_name,
            protocol_version,
            transport,
            host,
            port,
            params,
        };
        // Parameters start right after the head (at its `;`), where a bad one is reported.
        via.check_params(head.len())?;
        Ok(via)
    }

    /// `received` must be an address and `rport` a port when they have values, so the
    /// accessors above never meet garbage.
    fn check_params(&self, at: usize) -> Result<(), Fail> {
        if self
            .params
            .value(b"received")
            .is_some_and(|v| received_host(v).is_none())
        {
            return Err((HeaderErrorKind::Syntax, at));
        }
        let rport = self.params.get(b"rport").and_then(|p| p.unquoted_value());
        if rport.is_some_and(|v| parse_port(v).is_none()) {
            return Err((HeaderErrorKind::Number, at));
        }
        Ok(())
    }
}

/// A `received` value: an address, never a host name.
fn received_host(v: &[u8]) -> Option<Host<'_>> {
    Host::parse(v).filter(|h| !matches!(h, Host::Name(_)))
}

/// `sent-by = host [ COLON port ]`, from `from` to the end of `head`.
fn sent_by(head: &[u8], from: usize) -> Result<(Host<'_>, Option<u16>), Fail> {
    let (lo, hi) = trim_bounds(sub(head, from, head.len()));
    let (lo, hi) = (from + lo, from + hi);
    let text = sub(head, lo, hi);
    let host_len = if text.first() == Some(&b'[') {
        memchr::memchr(b']', text).map_or(text.len(), |c| c + 1)
    } else {
        text.iter()
            .take_while(|&&b| b != b':' && !is_lws(b))
            .count()
    };
    let host = Host::parse(sub(text, 0, host_len)).ok_or((HeaderErrorKind::Syntax, lo))?;
    let after = skip_lws(text, host_len);
    match text.get(after) {
        None => Ok((host, None)),
        Some(b':') => {
            let port_at = skip_lws(text, after + 1);
            parse_port(sub(text, port_at, text.len()))
                .map(|p| (host, Some(p)))
                .ok_or((HeaderErrorKind::Number, lo + port_at))
        }
        Some(_) => Err((HeaderErrorKind::Syntax, lo + after)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_plain_via() {
        let v = Via::parse(b"SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543;rport").unwrap();
        assert_eq!(v.transport, Transport::Udp);
        assert_eq!(v.host, Host::Ipv4(b"127.0.0.1"));
        assert_eq!(v.port, Some(5070));
        assert_eq!(v.branch(), Some(&b"z9hG4bK-d87543"[..]));
        assert!(v.has_magic_cookie());
        assert_eq!(v.rport(), Some(Rport::Requested));
    }

    #[test]
    fn tolerates_lws_around_slashes_and_colon() {
        let v = Via::parse(b"SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!(v.protocol_name, b"SIP");
        assert_eq!(v.protocol_version, b"2.0");
        assert_eq!(v.host, Host::Ipv4(b"192.0.2.2"));
        assert!(!v.has_magic_cookie());
        let v = Via::parse(b"SIP/2.0/TCP host : 5061 ; branch = z9hG4bK1").unwrap();
        assert_eq!(v.port, Some(5061));
        assert_eq!(v.branch(), Some(&b"z9hG4bK1"[..]));
    }

    #[test]
    fn parses_ipv6_sent_by_and_received() {
        let v =
            Via::parse(b"SIP/2.0/UDP [2001:db8::9:1]:6050;received=[2001:db8::9:255];rport=1234")
                .unwrap();
        assert_eq!(v.host, Host::Ipv6(b"2001:db8::9:1"));
        assert_eq!(v.port, Some(6050));
        assert_eq!(v.received(), Some(Host::Ipv6(b"2001:db8::9:255")));
        assert_eq!(v.rport(), Some(Rport::Port(1234)));
        let v = Via::parse(b"SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255").unwrap();
        assert_eq!(v.received(), Some(Host::Ipv6(b"2001:db8::9:255")));
    }

    #[test]
    fn keeps_unknown_transports() {
        let v = Via::parse(b"SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en").unwrap();
        assert_eq!(v.transport, Transport::Other(b"UNKNOWN"));
        assert_eq!(
            Via::parse(b"SIP/2.0/tls-sctp h").unwrap().transport,
            Transport::TlsSctp
        );
    }

    #[test]
    fn refuses_malformed_vias() {
        for bad in [
            &b"SIP/2.0/UDP 192.0.2.15;;"[..],
            b"SIP/2.0 host",
            b"SIP/2.0/UDP",
            b"SIP/2.0/UDPhost",
            b"SIP/2.0/UDP host:abc",
            b"SIP/2.0/UDP host junk",
            b"SIP/2.0/UDP host;received=not_an;address",
            b"SIP/2.0/UDP host;rport=99999",
        ] {
            assert!(Via::parse(bad).is_err(), "{:?}", core::str::from_utf8(bad));
        }
    }
}
