//! `SipUri`: `sip:` and `sips:` URIs (RFC 3261 §19.1.1), hosts per RFC 5118.

use crate::error::{UriError, UriErrorKind};
use crate::lex::{find, find2, sub};
use crate::params::Params;

use super::host::{Host, HostPortError, parse_hostport};

/// `sip:` or `sips:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SipScheme {
    /// `sip:`.
    Sip,
    /// `sips:` (TLS on every hop).
    Sips,
}

/// A `sip:`/`sips:` URI:
/// `sip:user:password@host:port;uri-parameters?headers`, parts borrowed as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SipUri<'a> {
    /// `sip` or `sips`.
    pub scheme: SipScheme,
    /// The user part, still escaped; it may hold `;` (RFC 4475 §3.1.1.9 `semiuri.dat`).
    pub user: Option<&'a [u8]>,
    /// The password, if the userinfo had a `:`.
    pub password: Option<&'a [u8]>,
    /// The host.
    pub host: Host<'a>,
    /// The port, if given.
    pub port: Option<u16>,
    /// The URI parameters (`transport`, `user`, `lr`, ...).
    pub params: Params<'a>,
    /// The headers after `?`, still escaped.
    pub headers: Option<&'a [u8]>,
}

impl<'a> SipUri<'a> {
    /// Parses `s[start..]`, the part after `sip:` or `sips:`.
    pub(crate) fn parse(s: &'a [u8], start: usize, scheme: SipScheme) -> Result<Self, UriError> {
        let rest = sub(s, start, s.len());
        let err = |kind, at: usize| UriError::new(kind, start + at);
        // Userinfo cannot hold an unescaped `@` (RFC 3261 §25.1 `user`), nor can
        // parameters or headers, so the first `@` ends it.
        let (user, password, hp) = match find(b'@', rest) {
            Some(at) => {
                let info = sub(rest, 0, at);
                let (user, password) = match find(b':', info) {
                    Some(c) => (sub(info, 0, c), Some(sub(info, c + 1, info.len()))),
                    None => (info, None),
                };
                if user.is_empty() {
                    return Err(err(UriErrorKind::Syntax, 0));
                }
                (Some(user), password, at + 1)
            }
            None => (None, None, 0),
        };
        let host_end = hostport_end(rest, hp);
        let (host, port) = parse_hostport(sub(rest, hp, host_end)).map_err(|e| match e {
            HostPortError::Host(at) => err(UriErrorKind::Host, hp + at),
            HostPortError::Port(at) => err(UriErrorKind::Port, hp + at),
        })?;
        let query = find(b'?', sub(rest, host_end, rest.len())).map(|q| host_end + q);
        let params_end = query.unwrap_or(rest.len());
        let params = match rest.get(host_end) {
            Some(b';') => Params::parse(sub(rest, host_end + 1, params_end))
                .map_err(|at| err(UriErrorKind::Syntax, host_end + 1 + at))?,
            _ => Params::default(),
        };
        let headers = match query {
            Some(q) if q + 1 < rest.len() => Some(sub(rest, q + 1, rest.len())),
            Some(q) => return Err(err(UriErrorKind::Syntax, q)),
            None => None,
        };
        Ok(Self {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    /// The `transport` parameter, if any.
    pub fn transport(&self) -> Option<&'a [u8]> {
        self.params.value(b"transport")
    }

    /// The `user` parameter (`user=phone` marks a telephone-subscriber user part).
    pub fn user_param(&self) -> Option<&'a [u8]> {
        self.params.value(b"user")
    }
}

/// Where `host[:port]` ends: at the first `;` or `?` after the host (past any `]`).
fn hostport_end(rest: &[u8], from: usize) -> usize {
    let scan_from = match rest.get(from) {
        Some(b'[') => memchr::memchr(b']', sub(rest, from, rest.len())).map_or(from, |c| from + c),
        _ => from,
    };
    find2(b';', b'?', sub(rest, scan_from, rest.len())).map_or(rest.len(), |i| scan_from + i)
}

#[cfg(test)]
mod tests {
    use crate::error::UriErrorKind;
    use crate::uri::{Host, SipScheme, Uri};

    fn sip(s: &[u8]) -> super::SipUri<'_> {
        match Uri::parse(s) {
            Ok(Uri::Sip(u)) => u,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_every_part() {
        let u = sip(b"sips:alice:secret@example.com:5061;transport=tcp;lr?subject=hi");
        assert_eq!(u.scheme, SipScheme::Sips);
        assert_eq!(u.user, Some(&b"alice"[..]));
        assert_eq!(u.password, Some(&b"secret"[..]));
        assert_eq!(u.host, Host::Name(b"example.com"));
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.transport(), Some(&b"tcp"[..]));
        assert!(u.params.contains(b"lr"));
        assert_eq!(u.headers, Some(&b"subject=hi"[..]));
    }

    #[test]
    fn keeps_semicolons_in_the_user_part() {
        // RFC 4475 §3.1.1.9 `semiuri.dat`.
        let u = sip(b"sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user, Some(&b"user;par=u%40example.net"[..]));
        assert_eq!(u.host, Host::Name(b"example.com"));
        assert!(u.params.is_empty());
    }

    #[test]
    fn parses_ipv6_references() {
        let u = sip(b"sip:[2001:db8::10]:5070;maddr=[2001:db8::1]");
        assert_eq!(u.host, Host::Ipv6(b"2001:db8::10"));
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.params.value(b"maddr"), Some(&b"[2001:db8::1]"[..]));
        let u = sip(b"sip:user@[2001:db8::10:5070]");
        assert_eq!(u.port, None);
    }

    #[test]
    fn refuses_malformed_parts() {
        let kind = |s: &[u8]| Uri::parse(s).unwrap_err().kind;
        assert_eq!(kind(b"sip:2001:db8::10"), UriErrorKind::Port);
        assert_eq!(kind(b"sip:@example.com"), UriErrorKind::Syntax);
        assert_eq!(kind(b"sip:alice@"), UriErrorKind::Host);
        assert_eq!(kind(b"sip:alice@host;"), UriErrorKind::Syntax);
        assert_eq!(kind(b"sip:alice@host;;lr"), UriErrorKind::Syntax);
        assert_eq!(kind(b"sip:alice@host?"), UriErrorKind::Syntax);
        assert_eq!(Uri::parse(b"sip:a@h:x").unwrap_err().at, 8);
    }

    #[test]
    fn user_phone_param_is_found() {
        let u = sip(b"sip:+13035551111@ift.client.example.net;user=phone");
        assert_eq!(u.user_param(), Some(&b"phone"[..]));
    }
}
