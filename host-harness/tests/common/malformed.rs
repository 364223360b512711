//! A client that sends what breaks proxies (an oversize INVITE, a body longer than its
//! Content-Length, 300 header fields, random bytes, one byte a second), each followed by
//! an emergency INVITE: on the same connection when the proxy kept it open, else on a new
//! one (and the caller learns the proxy closed it).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// An emergency INVITE from `from_ip` with Call-ID `call_id`.
pub fn emergency_invite(call_id: &str, from_ip: &str) -> Vec<u8> {
    format!(
        "INVITE sip:911@contoso.com;user=phone SIP/2.0\r\n\
Via: SIP/2.0/TCP {from_ip}:5999;branch=z9hG4bK-{call_id}\r\n\
Max-Forwards: 70\r\n\
From: <sip:+14255550101@contoso.com>;tag=c-{call_id}\r\n\
To: <sip:911@contoso.com;user=phone>\r\n\
Call-ID: {call_id}\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:alice@{from_ip}:5999;transport=tcp>\r\n\
Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// The kinds of malformed traffic, by name.
pub const MALFORMED: [&str; 5] = [
    "oversize",
    "content-length-too-short",
    "300-header-fields",
    "random-bytes",
    "one-byte-a-second",
];

/// What one round of malformed traffic left.
pub struct Sent {
    /// The connection the emergency INVITE went on, kept open while the test runs.
    pub conn: TcpStream,
    /// Whether the proxy closed the first connection after the malformed bytes, so the
    /// INVITE went on a new one.
    pub closed: bool,
}

/// Sends `kind` of malformed traffic to `proxy`, then an emergency INVITE with Call-ID
/// `call_id`: on the same connection, unless the proxy closed it within 200 ms (then on a
/// new one). The one-byte-a-second client writes the start of an INVITE slowly on a
/// connection of its own and is left hanging. The connections come from 127.0.0.1,
/// which no site of the test bundle holds: the INVITE is an emergency call without a
/// location, for the ECRC route. `from_ip` is what its Via claims.
pub fn malformed_then_emergency(kind: &str, proxy: &str, from_ip: &str, call_id: &str) -> Sent {
    let connect = || {
        let socket = TcpStream::connect(proxy).unwrap();
        socket
            .set_write_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        socket
    };
    let mut conn = connect();
    let invite = emergency_invite(call_id, from_ip);
    let garbage: Vec<u8> = match kind {
        "oversize" => {
            let body = vec![b'v'; 100 * 1024];
            let mut m = format!(
                "INVITE sip:911@contoso.com SIP/2.0\r\nVia: SIP/2.0/TCP {from_ip}:5999;branch=z9hG4bK-big\r\nCall-ID: big-{call_id}\r\nCSeq: 1 INVITE\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            m.extend_from_slice(&body);
            m
        }
        "content-length-too-short" => format!(
            "MESSAGE sip:desk@contoso.com SIP/2.0\r\nVia: SIP/2.0/TCP {from_ip}:5999;branch=z9hG4bK-short\r\nCall-ID: short-{call_id}\r\nCSeq: 1 MESSAGE\r\nContent-Length: 3\r\n\r\nhello, this body is longer than it says\r\n"
        )
        .into_bytes(),
        "300-header-fields" => {
            let mut m = format!(
                "OPTIONS sip:edge@contoso.com SIP/2.0\r\nVia: SIP/2.0/TCP {from_ip}:5999;branch=z9hG4bK-many\r\nCall-ID: many-{call_id}\r\nCSeq: 1 OPTIONS\r\n"
            );
            for i in 0..300 {
                m.push_str(&format!("X-Hop-{i}: sbc-{i}.contoso.com\r\n"));
            }
            m.push_str("Content-Length: 0\r\n\r\n");
            m.into_bytes()
        }
        "random-bytes" => {
            let mut seed = call_id.bytes().fold(7u32, |a, b| a.wrapping_mul(31) ^ u32::from(b));
            (0..2048)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    (seed & 0xff) as u8
                })
                .collect::<Vec<u8>>()
                .into_iter()
                .chain(*b"\r\n")
                .collect()
        }
        "one-byte-a-second" => {
            let mut slow = connect();
            std::thread::spawn(move || {
                for b in b"INVITE sip:911@contoso.com SIP/2.0\r\nVia: SIP/2.0/TCP" {
                    if slow.write_all(&[*b]).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            });
            Vec::new()
        }
        other => panic!("no malformed traffic called {other}"),
    };
    let closed = conn.write_all(&garbage).is_err() || {
        std::thread::sleep(Duration::from_millis(100));
        closed_by_peer(&conn, Duration::from_millis(100))
    };
    if closed {
        conn = connect();
    }
    conn.write_all(&invite).unwrap();
    Sent { conn, closed }
}

/// Whether the peer has closed `conn`, waiting up to `wait` (not zero) for it; answers it
/// sent first are read and dropped.
pub fn closed_by_peer(mut conn: &TcpStream, wait: Duration) -> bool {
    conn.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match conn.read(&mut buf) {
            Ok(0) => break true,
            Ok(_) => continue,
            Err(err) => {
                break !matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                );
            }
        }
    };
    conn.set_read_timeout(None).unwrap();
    closed
}
