//! `Params`: `;name=value` parameters of URIs and header values (RFC 3261 §19.1.1
//! `uri-parameters`, §25.1 `generic-param`), iterated lazily.

use crate::lex::{
    ByteClass, byte_class, eq_ic, find_unquoted, in_class, quoted_end, trim, unquote,
};

/// A run of parameters as written, without the leading `;`. Built only from text that
/// was validated, so iteration never fails. Names compare case-insensitively
/// (RFC 3261 §7.3.1: "parameter names ... are case-insensitive").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Params<'a> {
    raw: &'a [u8],
}

/// One parameter: `name` or `name=value`, LWS around the `=` removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param<'a> {
    /// The name as written.
    pub name: &'a [u8],
    /// The value as written (quotes included), if there is an `=`.
    pub value: Option<&'a [u8]>,
}

impl<'a> Param<'a> {
    /// The value without surrounding double quotes; quoted-pairs stay as written.
    pub fn unquoted_value(&self) -> Option<&'a [u8]> {
        self.value.map(unquote)
    }
}

impl<'a> Params<'a> {
    /// Validates `raw` (the text after the first `;`) and wraps it; `Err(offset)` at
    /// the first empty or malformed parameter, so an empty `raw` (a trailing `;`) is an
    /// error. No `;` at all is [`Params::default`].
    pub(crate) fn parse(raw: &'a [u8]) -> Result<Self, usize> {
        let params = Self { raw };
        let mut pos = 0;
        loop {
            let rest = raw.get(pos..).unwrap_or_default();
            let end = match find_unquoted(rest, b';') {
                Ok(Some(i)) => i,
                Ok(None) => rest.len(),
                Err(q) => return Err(pos + q),
            };
            if !is_valid_param(rest.get(..end).unwrap_or_default()) {
                return Err(pos);
            }
            if end == rest.len() {
                return Ok(params);
            }
            pos += end + 1;
        }
    }

    /// The parameters as written, without the leading `;`.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The parameters in order.
    pub fn iter(&self) -> impl Iterator<Item = Param<'a>> + 'a {
        let mut rest = Some(self.raw);
        core::iter::from_fn(move || {
            loop {
                let r = rest?;
                let (item, next) = match find_unquoted(r, b';') {
                    Ok(Some(i)) => (r.get(..i).unwrap_or_default(), r.get(i + 1..)),
                    _ => (r, None),
                };
                rest = next;
                let item = trim(item);
                if !item.is_empty() {
                    return Some(split_param(item));
                }
            }
        })
    }

    /// The first parameter called `name` (case-insensitive).
    pub fn get(&self, name: &[u8]) -> Option<Param<'a>> {
        self.iter().find(|p| eq_ic(p.name, name))
    }

    /// Whether a parameter called `name` is present, with or without a value.
    pub fn contains(&self, name: &[u8]) -> bool {
        self.get(name).is_some()
    }

    /// The unquoted value of the first parameter called `name`.
    pub fn value(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.get(name).and_then(|p| p.unquoted_value())
    }
}

fn split_param(item: &[u8]) -> Param<'_> {
    match find_unquoted(item, b'=') {
        Ok(Some(eq)) => Param {
            name: trim(item.get(..eq).unwrap_or_default()),
            value: Some(trim(item.get(eq + 1..).unwrap_or_default())),
        },
        _ => Param {
            name: item,
            value: None,
        },
    }
}

/// A parameter is a non-empty name and, after `=`, a non-empty value: a quoted string,
/// or the characters a token, a host (IPv6 included) or a URI parameter can hold.
fn is_valid_param(item: &[u8]) -> bool {
    let p = split_param(trim(item));
    if p.name.is_empty() || !p.name.iter().all(|&b| is_param_char(b)) {
        return false;
    }
    match p.value {
        None => true,
        Some([]) => false,
        Some(v @ [b'"', ..]) => quoted_end(v, 0) == Some(v.len()),
        Some(v) => v.iter().all(|&b| is_param_char(b)),
    }
}

/// RFC 3261 token characters plus those of `paramchar` (§25.1: `[ ] / : & + $` and the
/// unreserved marks) so that URI parameters and bare IPv6 `received` values pass.
fn is_param_char(b: u8) -> bool {
    in_class(&PARAM_CHAR, b)
}

const PARAM_CHAR: ByteClass = byte_class(true, b"-.!%*_+`'~[]/:&$()");

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn iterates_params_with_lws_around_equals() {
        let p =
            Params::parse(b" newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33").unwrap();
        let all: Vec<_> = p.iter().collect();
        assert_eq!(all.len(), 3);
        assert_eq!(
            all[0],
            Param {
                name: b"newparam",
                value: Some(b"newvalue")
            }
        );
        assert_eq!(
            all[1],
            Param {
                name: b"secondparam",
                value: None
            }
        );
        assert_eq!(p.value(b"Q"), Some(&b"0.33"[..]));
        assert!(p.contains(b"SECONDPARAM"));
    }

    #[test]
    fn respects_quoted_semicolons() {
        let p = Params::parse(b"a=\"x;y\";b").unwrap();
        assert_eq!(p.value(b"a"), Some(&b"x;y"[..]));
        assert_eq!(p.get(b"a").unwrap().value, Some(&b"\"x;y\""[..]));
        assert!(p.contains(b"b"));
    }

    #[test]
    fn refuses_empty_names_values_and_open_quotes() {
        assert_eq!(Params::parse(b";"), Err(0));
        assert_eq!(Params::parse(b"a;;b"), Err(2));
        assert_eq!(Params::parse(b"a="), Err(0));
        assert_eq!(Params::parse(b"a=\"open"), Err(2));
        assert_eq!(Params::parse(b"a=b c"), Err(0));
    }

    #[test]
    fn accepts_uri_and_ipv6_characters() {
        let p = Params::parse(b"received=2001:db8::9:255;maddr=[::1];%6C%72;lr").unwrap();
        assert_eq!(p.value(b"received"), Some(&b"2001:db8::9:255"[..]));
        assert_eq!(Params::parse(b""), Err(0));
        assert!(Params::default().is_empty());
        assert_eq!(Params::default().iter().count(), 0);
    }
}
