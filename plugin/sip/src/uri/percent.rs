//! Percent-decoding (RFC 3261 §19.1.2 `escaped`, RFC 3986 §2.1).

use alloc::borrow::Cow;
use alloc::vec::Vec;

/// Iterates the bytes of `s` with `%XX` escapes decoded. A `%` not followed by two hex
/// digits is kept as it is (RFC 4475 §3.1.1.5 `esc02.dat`: `%Z%45` is not an escape).
/// Decoded NULs stay bytes like any other (§3.1.1.4 `escnull.dat`).
pub fn percent_decoded(s: &[u8]) -> impl Iterator<Item = u8> + Clone + '_ {
    let mut i = 0;
    core::iter::from_fn(move || {
        let b = *s.get(i)?;
        if b == b'%'
            && let (Some(h), Some(l)) = (s.get(i + 1).and_then(hex), s.get(i + 2).and_then(hex))
        {
            i += 3;
            return Some(h << 4 | l);
        }
        i += 1;
        Some(b)
    })
}

/// `s` with escapes decoded; borrows when there is nothing to decode.
pub fn percent_decode(s: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr(b'%', s).is_none() {
        return Cow::Borrowed(s);
    }
    Cow::Owned(percent_decoded(s).collect::<Vec<u8>>())
}

fn hex(b: &u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_keeps_non_escapes() {
        assert_eq!(
            &*percent_decode(b"sips%3Auser%40example.com"),
            b"sips:user@example.com"
        );
        assert_eq!(&*percent_decode(b"%Z%45"), b"%ZE");
        assert_eq!(&*percent_decode(b"50%"), b"50%");
        assert_eq!(&*percent_decode(b"%4"), b"%4");
        assert!(matches!(percent_decode(b"plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn keeps_decoded_nul_bytes() {
        assert_eq!(&*percent_decode(b"null-%00-null"), b"null-\0-null");
        assert_eq!(percent_decoded(b"%00%00").count(), 2);
    }
}
