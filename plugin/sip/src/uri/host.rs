//! `Host`: the host part of a SIP URI or a Via sent-by, IPv6 references included
//! (RFC 3261 §25.1 `hostport`, RFC 5118 <https://www.rfc-editor.org/rfc/rfc5118#section-4>).

use crate::lex::{ByteClass, byte_class, decimal_u32, find, in_class, sub};

/// A host as written. IPv6 references are given without their brackets.
///
/// RFC 5118 §4.10 asks parsers to tolerate the three-colon form the RFC 3261 ABNF
/// allowed (`2001:db8:::192.0.2.1`), so IPv6 text is checked for its alphabet only,
/// not for being a valid address. Turning text into an address is left to whoever
/// needs one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Host<'a> {
    /// A host name.
    Name(&'a [u8]),
    /// A dotted-quad IPv4 address.
    Ipv4(&'a [u8]),
    /// An IPv6 address, without brackets.
    Ipv6(&'a [u8]),
}

impl<'a> Host<'a> {
    /// The host text (IPv6 without brackets).
    pub fn as_bytes(&self) -> &'a [u8] {
        match self {
            Self::Name(s) | Self::Ipv4(s) | Self::Ipv6(s) => s,
        }
    }

    /// Parses a whole host: `[v6]`, dotted quad, or host name. Under RFC 3261 §20.42 a
    /// Via `received` holds a bare IPv6 address; RFC 5118 §4.5 shows it both with and
    /// without brackets, so a bare IPv6 address is accepted here too.
    pub fn parse(s: &'a [u8]) -> Option<Self> {
        if let [b'[', inner @ .., b']'] = s {
            return is_ipv6_text(inner).then_some(Self::Ipv6(inner));
        }
        if is_ipv4(s) {
            return Some(Self::Ipv4(s));
        }
        if is_hostname(s) {
            return Some(Self::Name(s));
        }
        is_ipv6_text(s).then_some(Self::Ipv6(s))
    }
}

/// Splits `host [":" port]` written without white space, as in a URI. `Err` carries
/// whether the host or the port is at fault and the offset.
pub(crate) fn parse_hostport(s: &[u8]) -> Result<(Host<'_>, Option<u16>), HostPortError> {
    let (host, after) = if s.first() == Some(&b'[') {
        let close = memchr::memchr(b']', s).ok_or(HostPortError::Host(0))?;
        (sub(s, 0, close + 1), close + 1)
    } else {
        let colon = find(b':', s).unwrap_or(s.len());
        (sub(s, 0, colon), colon)
    };
    let host = match host {
        [b'[', ..] => Host::parse(host),
        _ if is_ipv4(host) => Some(Host::Ipv4(host)),
        _ if is_hostname(host) => Some(Host::Name(host)),
        _ => None,
    }
    .ok_or(HostPortError::Host(0))?;
    match s.get(after) {
        None => Ok((host, None)),
        Some(b':') => parse_port(sub(s, after + 1, s.len()))
            .map(|p| (host, Some(p)))
            .ok_or(HostPortError::Port(after + 1)),
        Some(_) => Err(HostPortError::Host(after)),
    }
}

/// What [`parse_hostport`] found wrong, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HostPortError {
    Host(usize),
    Port(usize),
}

/// `1*DIGIT` up to 65535.
pub(crate) fn parse_port(s: &[u8]) -> Option<u16> {
    decimal_u32(s).and_then(|n| u16::try_from(n).ok())
}

fn is_ipv4(s: &[u8]) -> bool {
    let mut parts = 0;
    for part in s.split(|&b| b == b'.') {
        parts += 1;
        if part.is_empty() || part.len() > 3 || decimal_u32(part).is_none_or(|n| n > 255) {
            return false;
        }
    }
    parts == 4
}

/// RFC 3261 `hostname`: labels of alphanumerics and hyphens, dot-separated, an optional
/// final dot. Underscores are tolerated because real deployments use them.
fn is_hostname(s: &[u8]) -> bool {
    let s = s.strip_suffix(b".").unwrap_or(s);
    // One pass (every URI host is checked): label bytes, and dots between non-empty
    // labels.
    let mut label = 0usize;
    for &b in s {
        if b == b'.' {
            if label == 0 {
                return false;
            }
            label = 0;
        } else if in_class(&LABEL, b) {
            label += 1;
        } else {
            return false;
        }
    }
    label > 0
}

/// The bytes of a host name label, underscore included.
const LABEL: ByteClass = byte_class(true, b"-_");

fn is_ipv6_text(s: &[u8]) -> bool {
    s.contains(&b':')
        && s.iter()
            .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_hosts() {
        assert_eq!(
            Host::parse(b"example.com"),
            Some(Host::Name(b"example.com"))
        );
        assert_eq!(Host::parse(b"192.0.2.1"), Some(Host::Ipv4(b"192.0.2.1")));
        assert_eq!(
            Host::parse(b"[2001:db8::1]"),
            Some(Host::Ipv6(b"2001:db8::1"))
        );
        assert_eq!(
            Host::parse(b"2001:db8::9:255"),
            Some(Host::Ipv6(b"2001:db8::9:255"))
        );
        assert_eq!(
            Host::parse(b"[::ffff:192.0.2.2]"),
            Some(Host::Ipv6(b"::ffff:192.0.2.2"))
        );
        assert_eq!(
            Host::parse(b"[2001:db8:::192.0.2.1]"),
            Some(Host::Ipv6(b"2001:db8:::192.0.2.1"))
        );
        assert_eq!(Host::parse(b"999.1.1.1"), Some(Host::Name(b"999.1.1.1")));
        assert_eq!(Host::parse(b"a..b"), None);
        assert_eq!(Host::parse(b""), None);
        assert_eq!(Host::parse(b"[]"), None);
    }

    /// Labels of letters, digits, `-` and `_`, between single dots, one final dot
    /// allowed.
    #[test]
    fn host_names_are_dot_separated_non_empty_labels() {
        for good in [
            &b"a"[..],
            b"a.",
            b"_sip._udp.example.com",
            b"x-1.example",
            b"A.B",
        ] {
            assert_eq!(Host::parse(good), Some(Host::Name(good)), "{good:?}");
        }
        for bad in [
            &b"."[..],
            b".a",
            b"a..",
            b"a..b",
            b"a b",
            b"a/b",
            b"\xc3\xa9.example",
        ] {
            assert!(!is_hostname(bad), "{bad:?}");
        }
    }

    #[test]
    fn port_inside_brackets_is_part_of_the_address() {
        // RFC 5118 §4.3 `port-ambiguous` versus §4.4 `port-unambiguous`.
        assert_eq!(
            parse_hostport(b"[2001:db8::10:5070]"),
            Ok((Host::Ipv6(b"2001:db8::10:5070"), None))
        );
        assert_eq!(
            parse_hostport(b"[2001:db8::10]:5070"),
            Ok((Host::Ipv6(b"2001:db8::10"), Some(5070)))
        );
    }

    #[test]
    fn unbracketed_ipv6_is_a_bad_port() {
        // RFC 5118 §4.2 `ipv6-bad`.
        assert_eq!(parse_hostport(b"2001:db8::10"), Err(HostPortError::Port(5)));
        assert_eq!(parse_hostport(b"host:70000"), Err(HostPortError::Port(5)));
        assert_eq!(parse_hostport(b"host:"), Err(HostPortError::Port(5)));
        assert_eq!(parse_hostport(b"[2001:db8::1"), Err(HostPortError::Host(0)));
        assert_eq!(
            parse_hostport(b"[2001:db8::1]x"),
            Err(HostPortError::Host(13))
        );
    }
}
