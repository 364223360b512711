//! Comma-separated header values (RFC 3261 §7.3.1): one header line may carry several
//! values, e.g. `Via: SIP/2.0/UDP a, SIP/2.0/UDP b`.

use memchr::{memchr2, memchr3};

use crate::error::{HeaderError, HeaderErrorKind};
use crate::header::HeaderKind;
use crate::lex::{find_unquoted, quoted_end, sub, trim_bounds};
use crate::params::Params;

/// A decoding failure inside one value: what and where (offset into that value).
pub(crate) type Fail = (HeaderErrorKind, usize);

/// Splits one value of the form `head *( SEMI generic-param )` (Via, Content-Type,
/// P-Access-Network-Info; RFC 3261 §25.1) at its first `;` outside quotes: the head as
/// written (untrimmed) and the parsed parameters. Error offsets are into `s`.
pub(crate) fn split_params(s: &[u8]) -> Result<(&[u8], Params<'_>), Fail> {
    let semi = find_unquoted(s, b';').map_err(|at| (HeaderErrorKind::Quote, at))?;
    let params = match semi {
        Some(i) => Params::parse(sub(s, i + 1, s.len()))
            .map_err(|e| (HeaderErrorKind::Syntax, i + 1 + e))?,
        None => Params::default(),
    };
    Ok((sub(s, 0, semi.unwrap_or(s.len())), params))
}

/// Splits a value into its elements at commas outside quoted strings and `<...>`
/// (a URI in angle brackets may hold commas). Each element is trimmed and comes with
/// its offset in `value`; an unterminated quote ends the iteration with an error.
pub(crate) fn elements(value: &[u8]) -> impl Iterator<Item = Result<(usize, &[u8]), usize>> + '_ {
    let mut pos = Some(0);
    core::iter::from_fn(move || {
        let start = pos?;
        let mut i = start;
        let mut in_angle = false;
        let end = loop {
            // Jump to the next byte that matters: inside `<...>` a comma does not.
            let rest = sub(value, i, value.len());
            let next = if in_angle {
                memchr2(b'"', b'>', rest)
            } else {
                memchr3(b'"', b'<', b',', rest)
            };
            let Some(at) = next.map(|j| i + j) else {
                break value.len();
            };
            match value.get(at) {
                Some(b'"') => match quoted_end(value, at) {
                    Some(e) => i = e,
                    None => {
                        pos = None;
                        return Some(Err(at));
                    }
                },
                Some(b'<') => {
                    in_angle = true;
                    i = at + 1;
                }
                Some(b'>') => {
                    in_angle = false;
                    i = at + 1;
                }
                _ => break at,
            }
        };
        pos = (end < value.len()).then_some(end + 1);
        let (lo, hi) = trim_bounds(sub(value, start, end));
        Some(Ok((start + lo, sub(value, start + lo, start + hi))))
    })
}

/// Decodes every element of `value` with `one`, turning failures into
/// [`HeaderError`]s with offsets into `value`.
pub(crate) fn parse_list<'a, T: 'a>(
    value: &'a [u8],
    header: HeaderKind,
    one: fn(&'a [u8]) -> Result<T, Fail>,
) -> impl Iterator<Item = Result<T, HeaderError>> + 'a {
    elements(value).map(move |el| match el {
        Err(at) => Err(HeaderError::new(header, HeaderErrorKind::Quote, at)),
        Ok((at, [])) => Err(HeaderError::new(header, HeaderErrorKind::Empty, at)),
        Ok((at, text)) => one(text).map_err(|(kind, off)| HeaderError::new(header, kind, at + off)),
    })
}

/// Decodes a whole value that holds exactly one element.
pub(crate) fn parse_one<'a, T>(
    value: &'a [u8],
    header: HeaderKind,
    one: fn(&'a [u8]) -> Result<T, Fail>,
) -> Result<T, HeaderError> {
    let (lo, hi) = trim_bounds(value);
    if lo == hi {
        return Err(HeaderError::new(header, HeaderErrorKind::Empty, lo));
    }
    one(sub(value, lo, hi)).map_err(|(kind, off)| HeaderError::new(header, kind, lo + off))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn split(v: &[u8]) -> Vec<Result<(usize, &[u8]), usize>> {
        elements(v).collect()
    }

    #[test]
    fn splits_at_top_level_commas_only() {
        let v = b"\"Doe, J\" <sip:a@b;x=1,2>, <tel:+1> ;p=\"q,r\"";
        let parts = split(v);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], Ok((0, &b"\"Doe, J\" <sip:a@b;x=1,2>"[..])));
        assert_eq!(parts[1], Ok((26, &b"<tel:+1> ;p=\"q,r\""[..])));
    }

    #[test]
    fn yields_empty_elements_and_quote_errors() {
        assert_eq!(split(b"a,,b").len(), 3);
        assert_eq!(split(b"a,,b")[1], Ok((2, &b""[..])));
        assert_eq!(split(b"a, \"open"), [Ok((0, &b"a"[..])), Err(3)]);
        assert_eq!(split(b"a,"), [Ok((0, &b"a"[..])), Ok((2, &b""[..]))]);
    }

    #[test]
    fn folded_lists_split_across_lines() {
        let v = b"application/sdp, application/pkcs7-mime,\r\n        multipart/mixed";
        let parts: Vec<_> = elements(v).map(|e| e.unwrap().1).collect();
        assert_eq!(
            parts,
            [
                &b"application/sdp"[..],
                b"application/pkcs7-mime",
                b"multipart/mixed"
            ]
        );
    }
}
