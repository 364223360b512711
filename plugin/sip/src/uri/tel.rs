//! `TelUri`: `tel:` URIs (RFC 3966, <https://www.rfc-editor.org/rfc/rfc3966#section-3>).

use crate::error::{UriError, UriErrorKind};
use crate::lex::sub;
use crate::params::Params;

/// A `tel:` URI: a number and its parameters (`phone-context`, `ext`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TelUri<'a> {
    /// The number as written, visual separators included (`+1-201-555-0123`).
    pub number: &'a [u8],
    /// The parameters after the number.
    pub params: Params<'a>,
}

impl<'a> TelUri<'a> {
    /// Parses `s[start..]`, the part after `tel:`.
    ///
    /// RFC 3966 §5.1.5 wants a `phone-context` on local numbers; it is not required
    /// here, because PBXs send `tel:911` and an emergency call must still classify.
    pub(crate) fn parse(s: &'a [u8], start: usize) -> Result<Self, UriError> {
        let rest = sub(s, start, s.len());
        let semi = memchr::memchr(b';', rest);
        let number = sub(rest, 0, semi.unwrap_or(rest.len()));
        if !is_number(number) {
            return Err(UriError::new(UriErrorKind::Number, start));
        }
        let params = match semi {
            Some(i) => Params::parse(sub(rest, i + 1, rest.len()))
                .map_err(|at| UriError::new(UriErrorKind::Syntax, start + i + 1 + at))?,
            None => Params::default(),
        };
        Ok(Self { number, params })
    }

    /// Whether the number is global (`+` and a country code, RFC 3966 §5.1.4).
    pub fn is_global(&self) -> bool {
        self.number.first() == Some(&b'+')
    }

    /// The dialable characters of the number: digits (and `*`, `#`, hex digits of
    /// local numbers) without `+` and the visual separators `-`, `.`, `(`, `)`.
    pub fn digits(&self) -> impl Iterator<Item = u8> + 'a {
        self.number
            .iter()
            .copied()
            .filter(|&b| !is_separator(b) && b != b'+')
    }

    /// The `phone-context` parameter, if any.
    pub fn phone_context(&self) -> Option<&'a [u8]> {
        self.params.value(b"phone-context")
    }
}

fn is_separator(b: u8) -> bool {
    matches!(b, b'-' | b'.' | b'(' | b')')
}

/// RFC 3966 §3: `global-number-digits = "+" *phonedigit DIGIT *phonedigit` or
/// `local-number-digits = *phonedigit-hex (HEXDIG / "*" / "#") *phonedigit-hex`.
fn is_number(n: &[u8]) -> bool {
    match n.split_first() {
        Some((b'+', digits)) => {
            digits.iter().any(u8::is_ascii_digit)
                && digits
                    .iter()
                    .all(|&b| b.is_ascii_digit() || is_separator(b))
        }
        _ => {
            let dialable = |b: u8| b.is_ascii_hexdigit() || b == b'*' || b == b'#';
            n.iter().any(|&b| dialable(b)) && n.iter().all(|&b| dialable(b) || is_separator(b))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::error::UriErrorKind;
    use crate::uri::Uri;
    use alloc::vec::Vec;

    #[test]
    fn parses_global_and_local_numbers() {
        let Ok(Uri::Tel(t)) = Uri::parse(b"tel:+1-201-555-0123;ext=42") else {
            panic!()
        };
        assert!(t.is_global());
        assert_eq!(t.digits().collect::<Vec<_>>(), b"12015550123");
        assert_eq!(t.params.value(b"ext"), Some(&b"42"[..]));
        let Ok(Uri::Tel(t)) = Uri::parse(b"tel:911;phone-context=+1") else {
            panic!()
        };
        assert!(!t.is_global());
        assert_eq!(t.phone_context(), Some(&b"+1"[..]));
        assert_eq!(t.digits().collect::<Vec<_>>(), b"911");
    }

    #[test]
    fn refuses_non_numbers() {
        assert_eq!(Uri::parse(b"tel:+").unwrap_err().kind, UriErrorKind::Number);
        assert_eq!(
            Uri::parse(b"tel:hello").unwrap_err().kind,
            UriErrorKind::Number
        );
        assert_eq!(Uri::parse(b"tel:").unwrap_err().kind, UriErrorKind::Number);
        assert_eq!(
            Uri::parse(b"tel:911;").unwrap_err().kind,
            UriErrorKind::Syntax
        );
    }
}
