//! Lexical checks and clean-ups for values that go into XML: what the schemas'
//! simple types (`xs:ID`, `xs:token`, `xs:dateTime`, `xs:anyURI`,
//! `xs:language`) accept, so the writer emits only valid documents.

use std::borrow::Cow;

/// Id used when the caller gives none (or one with nothing usable in it).
pub(crate) const DEFAULT_ID: &str = "location";

/// Makes `id` a valid `xs:ID` (an NCName): characters other than ASCII
/// letters, digits, `_`, `-` and `.` become `_`, and a name that does not
/// start with a letter or `_` gets an `id-` prefix. Lync's `tuple id="0"`
/// becomes `id-0`. ASCII only, because validators disagree on which
/// non-ASCII letters XML 1.0 editions allow in names. A valid id is
/// returned as is.
pub(crate) fn to_ncname(id: &str) -> Cow<'_, str> {
    let name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let starts_well = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    };
    if id.chars().all(name_char) && starts_well(id) {
        return Cow::Borrowed(id);
    }
    let cleaned: String = id
        .chars()
        .map(|c| if name_char(c) { c } else { '_' })
        .collect();
    if cleaned.is_empty() {
        Cow::Borrowed(DEFAULT_ID)
    } else if starts_well(&cleaned) {
        Cow::Owned(cleaned)
    } else {
        Cow::Owned(["id-", &cleaned].concat())
    }
}

/// XML 1.0 §2.2 `Char`: no C0 controls other than tab, LF and CR, and not
/// U+FFFE or U+FFFF (Rust's `char` already excludes surrogates).
pub(crate) fn is_xml_char(c: char) -> bool {
    (c >= ' ' || matches!(c, '\t' | '\n' | '\r')) && !matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// Replaces characters XML 1.0 §2.2 does not allow in a document with a
/// space, and turns CR and CRLF into LF, which every parser does anyway
/// (XML 1.0 §2.11). The writer does this as it escapes ([`push_escaped`]);
/// this is the plain form the tests compare it with.
#[cfg(test)]
pub(crate) fn xml_chars(text: &str) -> Cow<'_, str> {
    if text.chars().all(|c| is_xml_char(c) && c != '\r') {
        return Cow::Borrowed(text);
    }
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    Cow::Owned(
        unified
            .chars()
            .map(|c| if is_xml_char(c) { c } else { ' ' })
            .collect(),
    )
}

/// Appends `text` to `out` as XML character data or as an attribute value
/// in double quotes: cleaned as [`xml_chars`] describes (characters XML 1.0
/// §2.2 does not allow become a space; CR and CRLF become LF), and `&`, `<`,
/// `>`, `'` and `"` written as entity references (XML 1.0 §2.4 and §3.3.3
/// need only `&`, `<` and the quote; escaping all five is what quick-xml,
/// which the writer used before, did, so `]]>` comes out as `]]&gt;`).
pub(crate) fn push_escaped(out: &mut String, text: &str) {
    let mut rest = text;
    // Every byte that can start a character needing care is ASCII or 0xEF
    // (the first byte of U+FFFE and U+FFFF), so `at` is a char boundary.
    while let Some(at) = rest.bytes().position(may_need_care) {
        let (plain, tail) = rest.split_at(at);
        out.push_str(plain);
        let mut chars = tail.chars();
        let Some(c) = chars.next() else {
            break;
        };
        rest = chars.as_str();
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            // CRLF: the LF that follows is written as is.
            '\r' if rest.starts_with('\n') => {}
            '\r' => out.push('\n'),
            c if is_xml_char(c) => out.push(c),
            _ => out.push(' '),
        }
    }
    out.push_str(rest);
}

/// The first byte of a character [`push_escaped`] does not copy as is: the
/// five it escapes, C0 controls other than tab and LF (CR included), and
/// 0xEF, which starts U+FFFE and U+FFFF but also other characters.
fn may_need_care(b: u8) -> bool {
    match b {
        0..64 => (NEEDS_CARE >> b) & 1 == 1,
        0xEF => true,
        _ => false,
    }
}

/// The ASCII part of [`may_need_care`], all below 64: a bit per byte.
const NEEDS_CARE: u64 = {
    let escaped = (1 << b'&') | (1 << b'<') | (1 << b'>') | (1 << b'\'') | (1 << b'"');
    let c0_controls = (1 << 32) - 1;
    escaped | (c0_controls & !(1 << b'\t') & !(1 << b'\n'))
};

/// Appends `text` collapsed as an `xs:token` ([`tokens`] joined by single
/// spaces), each word cleaned and escaped by [`push_escaped`]; false when
/// there is no word, and nothing was appended.
pub(crate) fn push_token(out: &mut String, text: &str) -> bool {
    // The usual value is already a token: words with nothing to clean or escape, single
    // spaces between them.
    let mut after_space = true;
    let plain = text.bytes().all(|b| {
        let ok = (b > b' ' && !may_need_care(b)) || (b == b' ' && !after_space);
        after_space = b == b' ';
        ok
    });
    if plain && !after_space {
        out.push_str(text);
        return true;
    }
    let mut words = tokens(text);
    let Some(first) = words.next() else {
        return false;
    };
    push_escaped(out, first);
    for word in words {
        out.push(' ');
        push_escaped(out, word);
    }
    true
}

/// The words of `text` as an `xs:token` (XML Schema 2 §4.3.6) has them once
/// cleaned as [`xml_chars`] describes: split at space, tab, CR, LF and at
/// characters XML does not allow (which cleaning turns into spaces). Joined
/// by single spaces, they are [`collapse`]`(xml_chars(text))`.
pub(crate) fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| matches!(c, ' ' | '\t' | '\r' | '\n') || !is_xml_char(c))
        .filter(|t| !t.is_empty())
}

/// `xs:token` whitespace collapsing (XML Schema 2 §4.3.6): runs of space, tab,
/// CR and LF become one space; none at either end.
pub(crate) fn collapse(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split([' ', '\t', '\r', '\n'])
        .filter(|t| !t.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Checks an RFC 3339 §5.6 `date-time` and returns it in the form
/// `xs:dateTime` also accepts: `T` and `Z` upper case. RFC 3339 allows a leap
/// second (`:60`), `xs:dateTime` does not, so it is refused.
pub(crate) fn rfc3339(text: &str) -> Option<Cow<'_, str>> {
    let trimmed = text.trim();
    let upper = if trimmed.bytes().any(|c| c.is_ascii_lowercase()) {
        Cow::Owned(trimmed.to_ascii_uppercase())
    } else {
        Cow::Borrowed(trimmed)
    };
    let b = upper.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let digits = b.get(from..from + len)?;
        digits.iter().all(u8::is_ascii_digit).then_some(())?;
        Some(digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let separators = at(4, b'-') && at(7, b'-') && at(10, b'T') && at(13, b':') && at(16, b':');
    let date_ok = year > 0 && (1..=12).contains(&month) && day >= 1 && day <= days_in(year, month);
    if !separators || !date_ok || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut i = 19;
    if at(i, b'.') {
        let frac = b
            .get(i + 1..)?
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if frac == 0 {
            return None;
        }
        i += 1 + frac;
    }
    let offset_ok = match b.get(i..)? {
        [b'Z'] => true,
        [s, ..] if *s == b'+' || *s == b'-' => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            b.len() == i + 6 && at(i + 3, b':') && (oh < 14 || (oh == 14 && om == 0)) && om < 60
        }
        _ => false,
    };
    offset_ok.then_some(upper)
}

fn days_in(year: u32, month: u32) -> u32 {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A conservative `xs:anyURI` check: an RFC 3986 scheme, then only RFC 3986
/// characters, `%` followed by two hex digits, and brackets only around an
/// IPv6 literal in the authority of a hierarchical URI (`http://[::1]/`).
/// libxml2, which checks `xs:anyURI` by parsing the URI, refuses brackets
/// anywhere else, so `sip:alice@[2001:db8::1]` is refused (as is SIPp's
/// `[local_ip]`).
pub(crate) fn is_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    // Brackets may appear only in an authority: after `//`, up to `/`, `?` or `#`.
    let authority = match rest.strip_prefix("//") {
        Some(after) => 2..2 + after.find(['/', '?', '#']).unwrap_or(after.len()),
        None => 0..0,
    };
    scheme_ok && !rest.is_empty() && uri_rest_ok(rest, &authority)
}

fn uri_rest_ok(rest: &str, authority: &core::ops::Range<usize>) -> bool {
    let b = rest.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
                if !hex {
                    return false;
                }
                i += 3;
                continue;
            }
            b'[' if authority.contains(&i) => {
                let Some(len) = b
                    .get(i + 1..)
                    .and_then(|r| r.iter().position(|&c| c == b']'))
                else {
                    return false;
                };
                let inner = b.get(i + 1..i + 1 + len).unwrap_or_default();
                let ipv6 = inner.contains(&b':')
                    && inner
                        .iter()
                        .all(|c| c.is_ascii_hexdigit() || matches!(c, b':' | b'.'));
                if !ipv6 {
                    return false;
                }
                i += len + 2;
                continue;
            }
            c if in_set(URI_CHARS, c) => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

/// RFC 3986 §2.3 unreserved and §2.2 reserved characters (`%` and brackets are checked
/// apart): one mask, so each byte of a URI costs one test.
const URI_CHARS: u128 = ascii_set(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#@!$&'()*+,;=",
);

/// A set of ASCII bytes as a bit mask, for [`in_set`].
const fn ascii_set(mut chars: &[u8]) -> u128 {
    let mut set = 0;
    while let [first, rest @ ..] = chars {
        set |= 1 << *first;
        chars = rest;
    }
    set
}

/// Whether `c` is in `set`; a `u128` shift costs more than two `u64` ones.
fn in_set(set: u128, c: u8) -> bool {
    let (low, high) = (set as u64, (set >> 64) as u64);
    match c {
        0..64 => (low >> c) & 1 == 1,
        64..128 => (high >> (c - 64)) & 1 == 1,
        _ => false,
    }
}

/// `xs:language`: `[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*`.
pub(crate) fn is_language(text: &str) -> bool {
    let mut parts = text.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    first_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_ncnames() {
        assert_eq!(to_ncname("point2d"), "point2d");
        assert_eq!(to_ncname("0"), "id-0");
        assert_eq!(to_ncname("3124325000"), "id-3124325000");
        assert_eq!(to_ncname("a b:c"), "a_b_c");
        assert_eq!(to_ncname("Zürich"), "Z_rich");
        assert_eq!(to_ncname(""), DEFAULT_ID);
        assert_eq!(to_ncname("-x"), "id--x");
        assert_eq!(to_ncname("_x"), "_x");
    }

    #[test]
    fn disallowed_xml_characters_become_spaces() {
        assert_eq!(xml_chars("plain Zürich"), "plain Zürich");
        assert_eq!(xml_chars("a\u{0}b\u{1b}c"), "a b c");
        assert_eq!(xml_chars("line\r\nnext\rlast"), "line\nnext\nlast");
        assert_eq!(xml_chars("tab\tok"), "tab\tok");
    }

    /// The writer's one-pass forms against the plain ones they replace:
    /// `escape(xml_chars(x))` and `escape(collapse(xml_chars(x)))`, with
    /// quick-xml's `escape` (all five characters), as the writer had them.
    #[test]
    fn escaping_in_one_pass_matches_clean_then_escape() {
        use quick_xml::escape::escape;
        for text in [
            "",
            "plain",
            "Zürich 日本 😀",
            "Smith & Sons <\"HQ\"> 'West' ]]>",
            "a\u{0}b\u{1b}c\u{7f}\u{85}",
            "line\r\nnext\rlast\r\r\n\n",
            " \t lead and trail \n ",
            "\u{FFFE}x\u{FFFF}y\u{EF00}\u{FFFD}",
            "a\u{a0}b",
            "Building 40, Floor 1",
            "two  spaces",
            " lead",
            "trail ",
            "Smith & Sons",
        ] {
            let mut out = String::new();
            push_escaped(&mut out, text);
            assert_eq!(out, escape(xml_chars(text)), "{text:?}");
            let mut token = String::new();
            let wrote = push_token(&mut token, text);
            let expected = collapse(&xml_chars(text));
            assert_eq!(token, escape(expected.as_str()), "{text:?}");
            assert_eq!(wrote, !expected.is_empty(), "{text:?}");
        }
    }

    #[test]
    fn collapse_follows_xs_token() {
        assert_eq!(
            collapse("  Westerns \n and\tClassics "),
            "Westerns and Classics"
        );
        assert_eq!(collapse(" \n "), "");
        assert_eq!(collapse("a\u{a0}b"), "a\u{a0}b");
    }

    #[test]
    fn rfc3339_accepts_the_usual_forms_and_uppercases() {
        assert_eq!(
            rfc3339("2007-06-22T20:57:29Z").as_deref(),
            Some("2007-06-22T20:57:29Z")
        );
        assert_eq!(
            rfc3339("2007-06-22t20:57:29.123z").as_deref(),
            Some("2007-06-22T20:57:29.123Z")
        );
        assert!(rfc3339("2011-12-02T08:38:35-05:00").is_some());
        assert!(rfc3339("2024-02-29T00:00:00+14:00").is_some());
    }

    #[test]
    fn rfc3339_refuses_what_xs_datetime_refuses() {
        for bad in [
            "",
            "2007-06-22",
            "2007-06-22 20:57:29Z",
            "2007-06-22T20:57:29",
            "2023-02-29T00:00:00Z",
            "2007-13-01T00:00:00Z",
            "2007-06-22T24:00:00Z",
            "2016-12-31T23:59:60Z",
            "2007-06-22T20:57:29.Z",
            "2007-06-22T20:57:29+15:00",
            "2007-06-22T20:57:29+05:00junk",
            "0000-01-01T00:00:00Z",
            "123j9föövv",
        ] {
            assert_eq!(rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn uris_need_a_scheme_and_clean_characters() {
        for good in [
            "pres:alice@example.com",
            "sip:+14255550100@example.com;user=phone",
            "mac:00-0d-4b-30-72-df",
            "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
            "http://[2001:db8::1]/rules",
            "http://example.com/rules?x=%41",
        ] {
            assert!(is_uri(good), "{good}");
        }
        for bad in [
            "",
            "alice",
            ":x",
            "1a:x",
            "sip:",
            "sip:SENDER@[local_ip]",
            "sip:alice@[2001:db8::1]",
            "http://example.com/[::1]",
            "sip:a b",
            "sip:a<b",
            "sip:%4",
            "pres:zürich",
            ")(§+#*~",
        ] {
            assert!(!is_uri(bad), "{bad}");
        }
    }

    #[test]
    fn language_tags_follow_xs_language() {
        assert!(is_language("en"));
        assert!(is_language("en-AU"));
        assert!(is_language("de-CH-1901"));
        assert!(!is_language(""));
        assert!(!is_language("en_US"));
        assert!(!is_language("toolonglang"));
        assert!(!is_language("en-"));
    }
}
