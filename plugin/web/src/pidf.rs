//! The PIDF-LO a forwarded message carries (RFC 6442 §4.1: by value, as an
//! `application/pidf+xml` body or body part), for the page to show as sent.

use e911_engine::ENGINE_LIMITS;
use e911_sip::{ContentType, parse};

/// The PIDF-LO document in `message`, if its body is one or has a part that is one.
pub fn carried(message: &[u8]) -> Option<String> {
    let msg = parse(message, &ENGINE_LIMITS).ok()?;
    let ct = msg.content_type().ok()?;
    if is_pidf(&ct) {
        return Some(String::from_utf8_lossy(msg.body()).into_owned());
    }
    let parts = msg.multipart(&ENGINE_LIMITS).ok()?;
    parts
        .iter()
        .find(|part| part.content_type().is_ok_and(|ct| is_pidf(&ct)))
        .map(|part| String::from_utf8_lossy(part.body()).into_owned())
}

fn is_pidf(ct: &ContentType<'_>) -> bool {
    ct.main_type.eq_ignore_ascii_case(b"application")
        && ct.subtype.eq_ignore_ascii_case(b"pidf+xml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_pidf_part_of_a_multipart_body() {
        let body = "--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--b1\r\n\
            Content-Type: application/pidf+xml\r\nContent-ID: <l@x>\r\n\r\n<presence/>\r\n--b1--\r\n";
        let msg = format!(
            "INVITE sip:911@x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\
             Content-Type: multipart/mixed;boundary=b1\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        assert_eq!(carried(msg.as_bytes()).as_deref(), Some("<presence/>"));
    }

    #[test]
    fn a_message_without_one_has_none() {
        let msg = b"INVITE sip:911@x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\
            Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n";
        assert_eq!(carried(msg), None);
    }
}
