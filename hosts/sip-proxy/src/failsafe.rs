//! What the proxy recognises by itself when the plugin cannot decide a message (too large
//! to read, a decision that failed): an initial INVITE to an emergency service URN or to
//! one of the bundle's emergency numbers. Such a call goes, unchanged, to
//! `--failsafe-upstream` (the provider's trunk) instead of `--upstream`, as Kamailio's
//! `route[E911_FAILSAFE]` does with the same numbers.

use e911_policy::DialPlan;

/// The longest request line read (RFC 3261 sets no limit; a Request-URI of a few KB is
/// already absurd).
const MAX_REQUEST_LINE: usize = 8 * 1024;

/// Whether `bytes` start with an INVITE request line (RFC 3261 §7.1) whose Request-URI is
/// `urn:service:sos` (or a sub-service, RFC 5031) or dials an emergency number of `plan`.
pub fn emergency_invite(bytes: &[u8], plan: &DialPlan) -> bool {
    let head = bytes.get(..MAX_REQUEST_LINE).unwrap_or(bytes);
    let Some(end) = head.iter().position(|b| *b == b'\n') else {
        return false;
    };
    let Ok(line) = std::str::from_utf8(head.get(..end).unwrap_or_default()) else {
        return false;
    };
    let mut parts = line.trim_end_matches('\r').split(' ');
    let (Some("INVITE"), Some(uri)) = (parts.next(), parts.next()) else {
        return false;
    };
    let lower = uri.to_ascii_lowercase();
    if lower == "urn:service:sos" || lower.starts_with("urn:service:sos.") {
        return true;
    }
    let number = ["sip:", "sips:", "tel:"]
        .iter()
        .find_map(|scheme| {
            uri.get(scheme.len()..)
                .filter(|_| lower.starts_with(scheme))
        })
        .map(|rest| rest.split(['@', '?']).next().unwrap_or(rest));
    // A SIP URI without a user part names a host, not a number.
    let user_part = lower.starts_with("tel:") || uri.contains('@');
    number.is_some_and(|n| user_part && plan.dials_emergency(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> DialPlan {
        DialPlan {
            numbers: vec!["911".into(), "112".into()],
            prefixes: vec!["9".into()],
        }
    }

    #[test]
    fn recognises_emergency_invites_by_the_bundles_numbers_and_the_sos_urn() {
        for line in [
            "INVITE sip:911@contoso.com SIP/2.0\r\n",
            "INVITE sip:9911@contoso.com;user=phone SIP/2.0\r\n",
            "INVITE sips:+112@contoso.com SIP/2.0\n",
            "INVITE tel:911;phone-context=+1 SIP/2.0\r\n",
            "INVITE urn:service:sos SIP/2.0\r\n",
            "INVITE URN:Service:SOS.fire SIP/2.0\r\n",
        ] {
            assert!(emergency_invite(line.as_bytes(), &plan()), "{line}");
        }
    }

    #[test]
    fn anything_else_is_not_one() {
        for line in [
            "INVITE sip:4255550100@contoso.com SIP/2.0\r\n",
            "INVITE sip:911.contoso.com SIP/2.0\r\n",
            "INVITE urn:service:sosa SIP/2.0\r\n",
            "MESSAGE sip:911@contoso.com SIP/2.0\r\n",
            "SIP/2.0 200 OK\r\n",
            "INVITE sip:911@contoso.com SIP/2.0",
            "\u{16}\u{3}\u{1} not SIP\r\n",
        ] {
            assert!(!emergency_invite(line.as_bytes(), &plan()), "{line}");
        }
    }
}
