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
/// non-ASCII letters XML 1.0 editions allow in names.
pub(crate) fn to_ncname(id: &str) -> String {
    let cleaned: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match cleaned.chars().next() {
        None => DEFAULT_ID.to_owned(),
        Some(c) if c.is_ascii_alphabetic() || c == '_' => cleaned,
        Some(_) => format!("id-{cleaned}"),
    }
}

/// XML 1.0 §2.2 `Char`: no C0 controls other than tab, LF and CR, and not
/// U+FFFE or U+FFFF (Rust's `char` already excludes surrogates).
pub(crate) fn is_xml_char(c: char) -> bool {
    (c >= ' ' || matches!(c, '\t' | '\n' | '\r')) && !matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// Replaces characters XML 1.0 §2.2 does not allow in a document with a
/// space, and turns CR and CRLF into LF, which every parser does anyway
/// (XML 1.0 §2.11).
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

/// `xs:token` whitespace collapsing (XML Schema 2 §4.3.6): runs of space, tab,
/// CR and LF become one space; none at either end.
pub(crate) fn collapse(text: &str) -> String {
    text.split([' ', '\t', '\r', '\n'])
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks an RFC 3339 §5.6 `date-time` and returns it in the form
/// `xs:dateTime` also accepts: `T` and `Z` upper case. RFC 3339 allows a leap
/// second (`:60`), `xs:dateTime` does not, so it is refused.
pub(crate) fn rfc3339(text: &str) -> Option<String> {
    let upper = text.trim().to_ascii_uppercase();
    let b = upper.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let digits = b.get(from..from + len)?;
        digits.iter().all(u8::is_ascii_digit).then_some(())?;
        core::str::from_utf8(digits).ok()?.parse().ok()
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
            c if c.is_ascii_alphanumeric() || b"-._~:/?#@!$&'()*+,;=".contains(&c) => {}
            _ => return false,
        }
        i += 1;
    }
    true
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
