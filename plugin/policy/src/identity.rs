//! Caller identities and dialled numbers, compared the way people write them.
//!
//! A caller assignment may be written `+14255550142`, `tel:+1-425-555-0142` or
//! `sip:+14255550142@contoso.com;user=phone`, and the engine may report any of them (from
//! P-Asserted-Identity or From). All become one key: the E.164 number when the identity is
//! a telephone number (RFC 3966 §5.1.1: visual separators carry no meaning), else
//! `user@host` in lower case.

use std::borrow::Cow;

/// The comparison key of a caller identity; `None` when nothing is left of it. Borrowed
/// from `text` when the identity is an E.164 number written without separators, as
/// P-Asserted-Identity and From nearly always carry it (every emergency call asks).
pub fn identity_key(text: &str) -> Option<Cow<'_, str>> {
    let text = trimmed(text);
    match plain_e164(text) {
        Some(number) => Some(Cow::Borrowed(number)),
        None => general_key(text).map(Cow::Owned),
    }
}

/// The identity without the spaces and angle brackets around it.
fn trimmed(text: &str) -> &str {
    text.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
}

/// [`identity_key`] for any trimmed identity.
fn general_key(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let rest = if let Some(tel) = lower.strip_prefix("tel:") {
        return phone_number(tel.split(';').next().unwrap_or(""));
    } else if let Some(uri) = lower
        .strip_prefix("sips:")
        .or_else(|| lower.strip_prefix("sip:"))
    {
        uri
    } else {
        lower.as_str()
    };
    let rest = rest.split(['?', '>']).next().unwrap_or("");
    match rest.split_once('@') {
        Some((user, host)) => {
            let user = user.split(';').next().unwrap_or("");
            if let Some(number) = phone_number(user).filter(|n| n.starts_with('+')) {
                return Some(number);
            }
            let host = host.split([';', ':']).next().unwrap_or("");
            (!user.is_empty() && !host.is_empty()).then(|| format!("{user}@{host}"))
        }
        None => phone_number(rest),
    }
}

/// The number in a trimmed `tel:`, `sip:` or `sips:` URI (or a bare number) when it is
/// `+` and digits with nothing to remove: the steps of [`general_key`] on the original
/// text, since case changes neither the digits nor the `+`.
fn plain_e164<'t>(text: &'t str) -> Option<&'t str> {
    let scheme = |name: &str| {
        text.get(..name.len())
            .filter(|s| s.eq_ignore_ascii_case(name))
            .and_then(|_| text.get(name.len()..))
    };
    // Byte scans: these separators are ASCII, and `split` with a pattern sets up a
    // searcher each time.
    let before = |text: &'t str, stops: &[u8]| -> &'t str {
        let end = text.bytes().position(|b| stops.contains(&b));
        end.and_then(|at| text.get(..at)).unwrap_or(text)
    };
    let number = if let Some(tel) = scheme("tel:") {
        before(tel, b";")
    } else {
        let rest = scheme("sips:").or_else(|| scheme("sip:")).unwrap_or(text);
        let rest = before(rest, b"?>");
        // User parameters (`;user=phone`) are cut only from a user part.
        match rest.split_once('@') {
            Some((user, _)) => before(user, b";"),
            None => rest,
        }
    };
    let digits = number.strip_prefix('+')?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(number)
}

/// Digits (with a leading `+` kept) of a phone number written with visual separators.
fn phone_number(text: &str) -> Option<String> {
    let text = text.trim();
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
        match c {
            '+' if i == 0 => out.push('+'),
            '0'..='9' => out.push(c),
            '-' | '.' | '(' | ')' | ' ' => {}
            _ => return None,
        }
    }
    (out.len() > usize::from(out.starts_with('+'))).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telephone_identities_reduce_to_e164() {
        for text in [
            "+14255550142",
            "tel:+1-425-555-0142",
            "<sip:+14255550142@contoso.com;user=phone>",
            "sips:+14255550142@10.1.9.2:5061",
        ] {
            assert_eq!(
                identity_key(text).as_deref(),
                Some("+14255550142"),
                "{text}"
            );
        }
    }

    #[test]
    fn sip_identities_reduce_to_user_at_host() {
        assert_eq!(
            identity_key("sip:Alice@Contoso.com;transport=tls").as_deref(),
            Some("alice@contoso.com")
        );
        assert_eq!(
            identity_key("alice@contoso.com").as_deref(),
            Some("alice@contoso.com")
        );
        assert_eq!(identity_key("sip:contoso.com"), None);
        assert_eq!(identity_key(""), None);
    }

    /// The borrowed key is the one the general steps give, for every way an identity
    /// near the fast path's edge is written.
    #[test]
    fn the_borrowed_key_is_the_general_one() {
        let users = [
            "+14255550142",
            "+1425555014x",
            "+",
            "14255550142",
            "+1-425",
            "+1 425",
            " +1425",
            "+1425 ",
            "",
            "+1425;ext=1",
            "alice",
        ];
        let forms = [
            "{}",
            "tel:{}",
            "TEL:{};phone-context=x",
            "sip:{}@contoso.com",
            "SIP:{}@h;user=phone",
            "<sips:{}@10.1.9.2:5061>",
            "sip:{}",
            "sip:{}?x=y@h",
            "sip:{}>@h",
            " <sip:{}@h> ",
            "sipx:{}@h",
            "tel:",
            "{}@h",
        ];
        for user in users {
            for form in forms {
                let text = form.replace("{}", user);
                let key = identity_key(&text);
                let general = general_key(trimmed(&text));
                assert_eq!(key.as_deref(), general.as_deref(), "{text}");
                if user == "+14255550142" && !form.starts_with("sipx") && form != "tel:" {
                    assert!(matches!(key, Some(Cow::Borrowed(_))), "{text}");
                }
            }
        }
    }
}
