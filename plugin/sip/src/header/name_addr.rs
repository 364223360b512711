//! `NameAddr`: `name-addr` / `addr-spec` values of From, To, Contact, Route,
//! P-Asserted-Identity and friends (RFC 3261 §20.10, §25.1).
//! <https://www.rfc-editor.org/rfc/rfc3261#section-20.10>

use crate::error::{HeaderErrorKind, UriError};
use crate::lex::{find, is_lws, is_token, quoted_end, skip_lws, sub, trim, trim_bounds};
use crate::params::Params;
use crate::uri::{Uri, first_invalid_byte};

use super::list::Fail;

/// Whether the URI was written in angle brackets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrForm {
    /// `[display-name] <uri>`: parameters after `>` belong to the header.
    NameAddr,
    /// A bare `uri`: the first `;` starts the header parameters
    /// (RFC 4475 §3.3.12 `cparam01.dat`).
    AddrSpec,
}

/// An address: optional display name, URI, header parameters (`tag`, `expires`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// The display name: the inside of the quotes (quoted-pairs kept as written) or the
    /// unquoted tokens.
    pub display_name: Option<&'a [u8]>,
    /// The URI text; [`NameAddr::uri`] decodes it.
    pub uri: &'a [u8],
    /// Header parameters after the address.
    pub params: Params<'a>,
    /// How it was written.
    pub form: AddrForm,
}

impl<'a> NameAddr<'a> {
    /// Decodes the URI.
    pub fn uri(&self) -> Result<Uri<'a>, UriError> {
        Uri::parse(self.uri)
    }

    /// The `tag` parameter (RFC 3261 §19.3): a To without one marks an out-of-dialog
    /// request.
    pub fn tag(&self) -> Option<&'a [u8]> {
        self.params.value(b"tag")
    }

    /// Parses one trimmed, non-empty element.
    pub(crate) fn parse(s: &'a [u8]) -> Result<Self, Fail> {
        let (display_name, lt) = if s.first() == Some(&b'"') {
            let end = quoted_end(s, 0).ok_or((HeaderErrorKind::Quote, 0))?;
            let lt = skip_lws(s, end);
            if s.get(lt) != Some(&b'<') {
                return Err((HeaderErrorKind::Syntax, lt));
            }
            (Some(sub(s, 1, end - 1)), Some(lt))
        } else {
            match find(b'<', s) {
                Some(lt) => (unquoted_display(sub(s, 0, lt))?, Some(lt)),
                None => (None, None),
            }
        };
        match lt {
            Some(lt) => Self::bracketed(s, display_name, lt),
            None => Self::addr_spec(s),
        }
    }

    fn bracketed(s: &'a [u8], display_name: Option<&'a [u8]>, lt: usize) -> Result<Self, Fail> {
        let start = lt + 1;
        let gt = find(b'>', sub(s, start, s.len())).ok_or((HeaderErrorKind::Syntax, lt))? + start;
        let uri = sub(s, start, gt);
        // RFC 3261 §25.1 `LAQUOT addr-spec RAQUOT`: no white space inside the brackets
        // (RFC 4475 §3.1.2.14 `badaspec.dat`).
        check_uri_text(uri, start)?;
        let rest = sub(s, gt + 1, s.len());
        let (lo, _) = trim_bounds(rest);
        let params = match rest.get(lo) {
            None => Params::default(),
            Some(b';') => {
                let at = gt + 1 + lo + 1;
                Params::parse(sub(s, at, s.len())).map_err(|e| (HeaderErrorKind::Syntax, at + e))?
            }
            Some(_) => return Err((HeaderErrorKind::Syntax, gt + 1 + lo)),
        };
        Ok(Self {
            display_name,
            uri,
            params,
            form: AddrForm::NameAddr,
        })
    }

    fn addr_spec(s: &'a [u8]) -> Result<Self, Fail> {
        let semi = find(b';', s);
        let uri = trim(sub(s, 0, semi.unwrap_or(s.len())));
        check_uri_text(uri, 0)?;
        // RFC 3261 §20.10: "If the URI contains a comma, question mark or semicolon,
        // the URI MUST be enclosed in angle brackets" (RFC 4475 §3.1.2.13 `regbadct.dat`).
        if let Some(q) = find(b'?', uri) {
            return Err((HeaderErrorKind::Syntax, q));
        }
        let params = match semi {
            Some(i) => Params::parse(sub(s, i + 1, s.len()))
                .map_err(|e| (HeaderErrorKind::Syntax, i + 1 + e))?,
            None => Params::default(),
        };
        Ok(Self {
            display_name: None,
            uri,
            params,
            form: AddrForm::AddrSpec,
        })
    }
}

/// An unquoted display name is `*(token LWS)` (RFC 3261 §25.1): a comma or other
/// separator means it should have been quoted (RFC 4475 §3.1.2.15 `baddn.dat`).
fn unquoted_display(raw: &[u8]) -> Result<Option<&[u8]>, Fail> {
    if let Some(bad) = raw.iter().position(|&b| !is_token(b) && !is_lws(b)) {
        return Err((HeaderErrorKind::Syntax, bad));
    }
    let name = trim(raw);
    Ok((!name.is_empty()).then_some(name))
}

/// A URI in a header: non-empty, no white space or control bytes, has a scheme.
fn check_uri_text(uri: &[u8], at: usize) -> Result<(), Fail> {
    if let Some(bad) = first_invalid_byte(uri) {
        return Err((HeaderErrorKind::Syntax, at + bad));
    }
    if find(b':', uri).is_none_or(|c| c == 0) {
        return Err((HeaderErrorKind::Syntax, at));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn na(s: &[u8]) -> Result<NameAddr<'_>, Fail> {
        NameAddr::parse(s)
    }

    #[test]
    fn parses_quoted_display_names_with_escapes() {
        let a =
            na(br#""J Rosenberg \\\""       <sip:jdrosen@example.com>  ;  tag = 98asjd8"#).unwrap();
        assert_eq!(a.display_name, Some(&br#"J Rosenberg \\\""#[..]));
        assert_eq!(a.uri, b"sip:jdrosen@example.com");
        assert_eq!(a.tag(), Some(&b"98asjd8"[..]));
        assert_eq!(a.form, AddrForm::NameAddr);
    }

    #[test]
    fn parses_unquoted_display_names_without_space_before_bracket() {
        // RFC 4475 §3.1.1.6 `lwsdisp.dat`.
        let a = na(b"caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(a.display_name, Some(&b"caller"[..]));
        assert_eq!(a.tag(), Some(&b"323"[..]));
    }

    #[test]
    fn addr_spec_params_belong_to_the_header() {
        let a = na(b"sip:+19725552222@gw1.example.net;unknownparam").unwrap();
        assert_eq!(a.uri, b"sip:+19725552222@gw1.example.net");
        assert!(a.params.contains(b"unknownparam"));
        assert_eq!(a.form, AddrForm::AddrSpec);
        let b = na(b"<sip:+19725552222@gw1.example.net;unknownparam>").unwrap();
        assert_eq!(b.uri, b"sip:+19725552222@gw1.example.net;unknownparam");
        assert!(b.params.is_empty());
    }

    #[test]
    fn refuses_the_rfc4475_malformed_addresses() {
        assert_eq!(
            na(b"\"Mr. J. User <sip:j.user@example.com>").unwrap_err().0,
            HeaderErrorKind::Quote
        );
        assert_eq!(
            na(b"Bell, Alexander <sip:a.g.bell@example.com>;tag=43").unwrap_err(),
            (HeaderErrorKind::Syntax, 4)
        );
        assert_eq!(
            na(b"\"Watson, Thomas\" < sip:t.watson@example.org >").unwrap_err(),
            (HeaderErrorKind::Syntax, 18)
        );
        assert_eq!(
            na(b"sip:user@example.com?Route=%3Csip:sip.example.com%3E")
                .unwrap_err()
                .0,
            HeaderErrorKind::Syntax
        );
        assert_eq!(
            na(b"\"Joe\" <sip:joe@example.org>;;;;").unwrap_err().0,
            HeaderErrorKind::Syntax
        );
        assert!(na(b"<sip:a@b").is_err());
        assert!(na(b"<sip:a@b> junk").is_err());
        assert!(na(b"noscheme").is_err());
        assert!(na(b"\"x\" sip:a@b").is_err());
    }

    #[test]
    fn bracketed_uri_may_carry_escaped_headers() {
        // RFC 4475 §3.3.14 `regescrt.dat`.
        let a = na(b"<sip:user@example.com?Route=%3Csip:sip.example.com%3E>").unwrap();
        let Ok(Uri::Sip(u)) = a.uri() else { panic!() };
        assert_eq!(u.headers, Some(&b"Route=%3Csip:sip.example.com%3E"[..]));
    }
}
