//! Caller identities and dialled numbers, compared the way people write them.
//!
//! A caller assignment may be written `+14255550142`, `tel:+1-425-555-0142` or
//! `sip:+14255550142@contoso.com;user=phone`, and the engine may report any of them (from
//! P-Asserted-Identity or From). All become one key: the E.164 number when the identity is
//! a telephone number (RFC 3966 §5.1.1: visual separators carry no meaning), else
//! `user@host` in lower case.

/// The comparison key of a caller identity; `None` when nothing is left of it.
pub fn identity_key(text: &str) -> Option<String> {
    let text = text
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
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
}
