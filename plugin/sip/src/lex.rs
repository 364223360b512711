//! Byte-level helpers shared by every parser: character classes, trimming,
//! quoted strings, decimal numbers. All total functions: no input panics.

/// RFC 3261 §25.1 `token` characters:
/// `alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"`.
pub(crate) fn is_token(b: u8) -> bool {
    in_class(&TOKEN, b)
}

/// A set of bytes as a lookup table: entry `b` says whether byte `b` is in the set.
pub(crate) type ByteClass = [bool; 256];

/// Builds a [`ByteClass`] at compile time from the ASCII letters and digits (when
/// `alnum`) plus `extra`.
// Indexing runs at compile time only: out of bounds would fail the build, not panic.
#[allow(clippy::indexing_slicing)]
pub(crate) const fn byte_class(alnum: bool, extra: &[u8]) -> ByteClass {
    let mut set = [false; 256];
    let mut b = 0;
    while b < 256 {
        set[b] = alnum && (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut rest = extra;
    while let [b, tail @ ..] = rest {
        set[*b as usize] = true;
        rest = tail;
    }
    set
}

/// Whether `b` is in `set`. One load instead of a chain of comparisons: these run once
/// per byte of every name and parameter.
pub(crate) fn in_class(set: &ByteClass, b: u8) -> bool {
    set.get(usize::from(b)).copied().unwrap_or(false)
}

/// RFC 3261 §25.1 `token` as a [`ByteClass`].
const TOKEN: ByteClass = byte_class(true, b"-.!%*_+`'~");

/// Whether every byte is a token character and there is at least one.
pub(crate) fn is_token_str(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_token(b))
}

/// Linear white space inside a header value. A folded value keeps its CRLF, and
/// RFC 3261 §7.3.1 says a continuation "is equivalent to a single SP", so CR and LF
/// count as white space wherever a value is lexed.
pub(crate) fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// SP or HT: white space on one physical line.
pub(crate) fn is_wsp(b: u8) -> bool {
    matches!(b, b' ' | b'\t')
}

/// `s` without leading and trailing LWS.
pub(crate) fn trim(s: &[u8]) -> &[u8] {
    let (lo, hi) = trim_bounds(s);
    s.get(lo..hi).unwrap_or_default()
}

/// Start and end of `s` without leading and trailing LWS.
pub(crate) fn trim_bounds(s: &[u8]) -> (usize, usize) {
    let lo = s.iter().position(|&b| !is_lws(b)).unwrap_or(s.len());
    let hi = s.iter().rposition(|&b| !is_lws(b)).map_or(lo, |i| i + 1);
    (lo, hi.max(lo))
}

/// Index of the first non-LWS byte at or after `from`.
pub(crate) fn skip_lws(s: &[u8], from: usize) -> usize {
    s.get(from..)
        .and_then(|rest| rest.iter().position(|&b| !is_lws(b)))
        .map_or(s.len(), |i| from + i)
}

/// ASCII case-insensitive equality: header names, tokens, parameter names. What peers
/// send is nearly always in the case the RFC writes (`SIP/2.0`, `sip`, `tag`), and
/// comparing exactly first is one `memcmp` instead of folding every byte.
pub(crate) fn eq_ic(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && (a == b || a.eq_ignore_ascii_case(b))
}

/// `1*DIGIT` as a `u32`; `None` on anything else or overflow. Leading zeros are
/// legal (RFC 4475 §3.1.1.1 `MaX-fOrWaRdS: 0068`) and never overflow.
pub(crate) fn decimal_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    let mut n: u32 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
    }
    Some(n)
}

/// End (exclusive) of the quoted string that opens at `open` (which holds `"`),
/// honouring `\` quoted-pairs (RFC 3261 §25.1). `None` when unterminated.
pub(crate) fn quoted_end(s: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    while let Some(&b) = s.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// How many bytes [`find`] and [`find2`] compare one by one before handing the rest to
/// `memchr`.
const NEAR: usize = 16;

/// Index of the first `needle` in `s`. Most searches in a URI or a header value end
/// within a few bytes (the `:` after a scheme, the `@` after a user part, the `=` of a
/// parameter), where `memchr`'s runtime dispatch costs more than the search itself: the
/// first [`NEAR`] bytes are compared one by one, the rest by `memchr`.
#[inline]
pub(crate) fn find(needle: u8, s: &[u8]) -> Option<usize> {
    match sub(s, 0, NEAR).iter().position(|&b| b == needle) {
        Some(i) => Some(i),
        None if s.len() > NEAR => memchr::memchr(needle, sub(s, NEAR, s.len())).map(|i| i + NEAR),
        None => None,
    }
}

/// [`find`] for either of two bytes.
#[inline]
pub(crate) fn find2(a: u8, b: u8, s: &[u8]) -> Option<usize> {
    match sub(s, 0, NEAR).iter().position(|&x| x == a || x == b) {
        Some(i) => Some(i),
        None if s.len() > NEAR => memchr::memchr2(a, b, sub(s, NEAR, s.len())).map(|i| i + NEAR),
        None => None,
    }
}

/// Index of the first `needle` outside quoted strings, or `None`.
/// `Err(at)` when a quoted string is not terminated.
pub(crate) fn find_unquoted(s: &[u8], needle: u8) -> Result<Option<usize>, usize> {
    let mut i = 0;
    while let Some(j) = find2(needle, b'"', sub(s, i, s.len())) {
        let at = i + j;
        if s.get(at) == Some(&needle) {
            return Ok(Some(at));
        }
        i = quoted_end(s, at).ok_or(at)?;
    }
    Ok(None)
}

/// `s` without one pair of surrounding double quotes, if it has them.
/// Quoted-pairs inside stay as written.
pub(crate) fn unquote(s: &[u8]) -> &[u8] {
    match s {
        [b'"', inner @ .., b'"'] => inner,
        _ => s,
    }
}

/// `s[lo..hi]` clamped to `s`: bounds past the end stop at the end, and a reversed
/// range is empty. Never panics.
pub(crate) fn sub(s: &[u8], lo: usize, hi: usize) -> &[u8] {
    let hi = hi.min(s.len());
    s.get(lo.min(hi)..hi).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `find` and `find2` answer as `memchr` does, wherever the byte is: inside the
    /// first [`NEAR`] bytes, right after them, far after them, or nowhere.
    #[test]
    fn finds_what_memchr_finds_on_both_sides_of_the_near_window() {
        for len in 0..3 * NEAR {
            for at in (0..len).map(Some).chain([None]) {
                let mut s = alloc::vec![b'x'; len];
                if let Some(at) = at {
                    s[at] = b';';
                    // A later second byte: find2 must still stop at the first.
                    if at + 2 < len {
                        s[at + 2] = b'?';
                    }
                }
                assert_eq!(find(b';', &s), memchr::memchr(b';', &s), "{len} {at:?}");
                assert_eq!(find(b';', &s), at, "{len} {at:?}");
                assert_eq!(
                    find2(b'?', b';', &s),
                    memchr::memchr2(b'?', b';', &s),
                    "{len} {at:?}"
                );
            }
        }
    }

    #[test]
    fn trims_folded_white_space() {
        assert_eq!(trim(b" \r\n\t a b \r\n "), b"a b");
        assert_eq!(trim(b"   "), b"");
        assert_eq!(trim_bounds(b"  "), (2, 2));
    }

    #[test]
    fn decimal_accepts_leading_zeros_and_refuses_overflow() {
        assert_eq!(decimal_u32(b"0068"), Some(68));
        assert_eq!(decimal_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(decimal_u32(b"4294967296"), None);
        assert_eq!(decimal_u32(b"36893488147419103232"), None);
        assert_eq!(decimal_u32(b"-999"), None);
        assert_eq!(decimal_u32(b""), None);
        assert_eq!(decimal_u32(b"1 2"), None);
        let zeros = [b'0'; 40];
        assert_eq!(decimal_u32(&zeros), Some(0));
        let mut padded = [b'0'; 40];
        padded[39] = b'7';
        assert_eq!(decimal_u32(&padded), Some(7));
    }

    #[test]
    fn quoted_strings_honour_escapes() {
        let s = br#""J Rosenberg \\\"" <sip:x>"#;
        assert_eq!(quoted_end(s, 0), Some(18));
        assert_eq!(quoted_end(b"\"open", 0), None);
        assert_eq!(quoted_end(b"\"ends in escape\\", 0), None);
        assert_eq!(find_unquoted(b"\"a,b\",c", b','), Ok(Some(5)));
        assert_eq!(find_unquoted(b"\"a,b", b','), Err(0));
    }

    #[test]
    fn sub_clamps_instead_of_panicking() {
        assert_eq!(sub(b"abc", 1, 10), b"bc");
        assert_eq!(sub(b"abc", 5, 10), b"");
        assert_eq!(sub(b"abc", 2, 1), b"");
    }

    #[test]
    fn token_class_matches_rfc3261() {
        assert!(is_token_str(b"!interesting-Method0123456789_*+`.%indeed'~"));
        assert!(!is_token_str(b"a b"));
        assert!(!is_token_str(b""));
        assert!(!is_token_str(b"a:b"));
    }
}
