//! The network facts a person sets in the page (the Wi-Fi BSSID, the LLDP chassis and
//! port), written into the message as the headers a trusted edge adds, so the engine reads
//! them exactly as it reads them from a proxy: nothing here decides anything.
//!
//! The BSSID goes in `P-Access-Network-Info: IEEE-802.11; i-wlan-node-id=…` (RFC 7315
//! §5.4); the LLDP facts go in the headers the bundle names in `bundle.toml` `[headers]`.
//! An existing header of the same name is replaced, further ones removed.

use e911_engine::ENGINE_LIMITS;
use e911_policy::HeaderNames;
use e911_sip::{Edits, Field, HeaderKind, Message, parse};
use serde::Deserialize;

/// What the form says about the caller's network attachment; empty fields are not set.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NetworkFacts {
    /// Wi-Fi access point BSSID (`00-11-22-33-44-55`, `:` or no separators).
    #[serde(default)]
    pub bssid: String,
    /// LLDP chassis ID.
    #[serde(default)]
    pub chassis: String,
    /// LLDP port ID.
    #[serde(default)]
    pub port: String,
}

/// The message with the facts written in, and the header lines that were set. Without
/// facts the message is returned as it is, parsed or not.
pub fn apply(
    message: &[u8],
    facts: &NetworkFacts,
    headers: &HeaderNames,
) -> Result<(Vec<u8>, Vec<String>), String> {
    let wanted = wanted_lines(facts, headers)?;
    if wanted.is_empty() {
        return Ok((message.to_vec(), Vec::new()));
    }
    let msg = parse(message, &ENGINE_LIMITS)
        .map_err(|err| format!("the message does not parse ({err}): cannot add headers"))?;
    let mut edits = Edits::new(&msg);
    let mut added = Vec::new();
    for (name, value) in &wanted {
        set_header(&mut edits, &msg, name, value)
            .map_err(|err| format!("cannot set {name}: {err}"))?;
        added.push(format!("{name}: {value}"));
    }
    Ok((edits.render(), added))
}

/// `(header name, value)` for each fact given.
fn wanted_lines(
    facts: &NetworkFacts,
    headers: &HeaderNames,
) -> Result<Vec<(String, String)>, String> {
    let mut lines = Vec::new();
    let bssid = facts.bssid.trim();
    if !bssid.is_empty() {
        let digits: String = bssid.chars().filter(|c| !matches!(c, '-' | ':')).collect();
        if digits.len() != 12 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!(
                "BSSID `{bssid}`: expected 12 hex digits, with -, : or no separators"
            ));
        }
        let name = HeaderKind::PAccessNetworkInfo
            .name()
            .unwrap_or("P-Access-Network-Info");
        let value = format!(
            "IEEE-802.11; i-wlan-node-id={}",
            digits.to_ascii_lowercase()
        );
        lines.push((name.to_owned(), value));
    }
    let lldp = [
        (facts.chassis.trim(), &headers.lldp_chassis, "lldp_chassis"),
        (facts.port.trim(), &headers.lldp_port, "lldp_port"),
    ];
    for (value, header, key) in lldp {
        if value.is_empty() {
            continue;
        }
        let Some(name) = header else {
            return Err(format!(
                "this policy reads no LLDP header for `{value}`: set `{key}` in bundle.toml [headers]"
            ));
        };
        lines.push((name.clone(), value.to_owned()));
    }
    Ok(lines)
}

/// Replaces the first header called `name` (any case), removes the others, or appends one.
fn set_header(
    edits: &mut Edits<'_, '_>,
    msg: &Message<'_>,
    name: &str,
    value: &str,
) -> Result<(), e911_sip::EditError> {
    let named: Vec<&Field> = msg
        .fields()
        .iter()
        .filter(|f| msg.name(f).eq_ignore_ascii_case(name.as_bytes()))
        .collect();
    match named.split_first() {
        None => edits.push_header(name, value),
        Some((first, rest)) => {
            edits.replace_value(first, value)?;
            rest.iter().try_for_each(|f| edits.remove(f))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:911@contoso.com SIP/2.0\r\n\
        Via: SIP/2.0/TCP 10.1.0.25;branch=z9hG4bK1\r\nFrom: <sip:a@contoso.com>;tag=1\r\n\
        To: <sip:911@contoso.com>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\
        X-LLDP-Port: old\r\nContent-Length: 0\r\n\r\n";

    fn headers() -> HeaderNames {
        HeaderNames {
            lldp_chassis: Some("X-LLDP-Chassis".to_owned()),
            lldp_port: Some("X-LLDP-Port".to_owned()),
            client_ip: None,
        }
    }

    fn facts(bssid: &str, chassis: &str, port: &str) -> NetworkFacts {
        NetworkFacts {
            bssid: bssid.to_owned(),
            chassis: chassis.to_owned(),
            port: port.to_owned(),
        }
    }

    #[test]
    fn without_facts_the_message_is_untouched() {
        let (out, added) = apply(INVITE, &facts("", " ", ""), &headers()).unwrap();
        assert_eq!(out, INVITE);
        assert!(added.is_empty());
    }

    #[test]
    fn writes_the_bssid_and_replaces_an_lldp_header() {
        let (out, added) = apply(
            INVITE,
            &facts("00:11:22:33:44:55", "00-aa-bb-cc-dd-ee", "Gi1/0/7"),
            &headers(),
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\r\nX-LLDP-Port: Gi1/0/7\r\n"), "{text}");
        assert!(!text.contains("old"), "{text}");
        assert!(
            text.contains(
                "\r\nP-Access-Network-Info: IEEE-802.11; i-wlan-node-id=001122334455\r\n"
            )
        );
        assert!(text.contains("\r\nX-LLDP-Chassis: 00-aa-bb-cc-dd-ee\r\n"));
        assert_eq!(added.len(), 3);
    }

    #[test]
    fn refuses_a_bad_bssid_and_an_lldp_fact_the_policy_cannot_read() {
        let err = apply(INVITE, &facts("00-11-22", "", ""), &headers()).unwrap_err();
        assert!(err.starts_with("BSSID `00-11-22`"), "{err}");
        let none = HeaderNames {
            lldp_chassis: None,
            lldp_port: None,
            client_ip: None,
        };
        let err = apply(INVITE, &facts("", "sw1", ""), &none).unwrap_err();
        assert!(err.contains("lldp_chassis"), "{err}");
    }
}
