//! The notification worker: a webhook POST (plain `http://`, a minimal HTTP/1.1 client
//! with timeouts) and a SIP MESSAGE over UDP to the security desk, each with bounded
//! retries. Failures are logged and dropped: a notification never touches the call.
//!
//! The MESSAGE is the one a Lync/Skype for Business front end sends the location
//! policy's `NotificationUri`, as far as it is documented. [MS-SIPRE] §3.17.5.2 ("Server
//! Behavior" of E911; verified from the published text) says the server sends each
//! notification target an IM that MUST carry `Priority: emergency` and a `Call-Info`
//! with the emergency caller's SIP URI and `purpose=ms-emergency-notification`, with a
//! plain-text body, and MUST route the call whatever happens to the IM; both headers are
//! sent here. What is inferred rather than documented:
//!
//! - the request: MS-SIPRE calls it an "IM INVITE" (Lync IM is an INVITE session whose
//!   first message rides in an `ms-text-format` header, seen in real traces); we send
//!   an RFC 3428 MESSAGE, which needs no session, no SDP and no BYE from a notification
//!   worker, and which any SIP desk client, gateway or SIPp takes. Whether a Lync/SfB
//!   or Teams client raises its emergency pop-up for a page-mode MESSAGE is not
//!   documented anywhere we found;
//! - the body: the engine's notification text, a one-line summary (caller, callback
//!   number, time, address) and then, as MS-SIPRE wants, the civic address elements and
//!   the method as `name=value` lines (RFC 5139 names); `text/plain; charset=UTF-8`
//!   (the charset a Skype for Business MESSAGE declares; RFC 2046 §4.1.2 makes US-ASCII
//!   the default otherwise, and an address may not be ASCII).
//!
//! [MS-SIPRE]: https://learn.microsoft.com/en-us/openspecs/office_protocols/ms-sipre/c283efd4-7456-459f-b1ea-01cb31a2e2c0

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use e911_engine::Notification;

/// Attempts per target.
const ATTEMPTS: u32 = 3;
/// Connect, read and write timeout of one attempt.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Sends every notification from `queue` until the proxy exits.
pub fn worker(queue: Receiver<Notification>) {
    for n in queue {
        if let Some(url) = &n.webhook {
            report(&n.target, url, retry(|| post(url, &n.json)));
        }
        if let Some(uri) = &n.sip {
            let caller = caller_uri(&n.json);
            report(
                &n.target,
                uri,
                retry(|| message(uri, &n.text, caller.as_deref())),
            );
        }
    }
}

fn report(target: &str, to: &str, result: Result<(), String>) {
    match result {
        Ok(()) => eprintln!("e911-harness proxy: notified {target} at {to}"),
        Err(err) => eprintln!("e911-harness proxy: notification {target} to {to} dropped: {err}"),
    }
}

fn retry(mut attempt: impl FnMut() -> Result<(), String>) -> Result<(), String> {
    let mut last = String::new();
    for n in 0..ATTEMPTS {
        match attempt() {
            Ok(()) => return Ok(()),
            Err(err) if err.starts_with("unsupported") || err.starts_with("unresolvable") => {
                return Err(err);
            }
            Err(err) => last = err,
        }
        std::thread::sleep(Duration::from_millis(200 << n));
    }
    Err(format!("{last} (after {ATTEMPTS} attempts)"))
}

/// `http://host[:port]/path` → (host, port, path).
fn split_http(url: &str) -> Result<(&str, u16, &str), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| "unsupported scheme (only http://)".to_owned())?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().map_err(|_| format!("bad port in {url}"))?),
        None => (authority, 80),
    };
    Ok((host, port, if path.is_empty() { "/" } else { path }))
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| format!("unresolvable host {host}"))
}

fn post(url: &str, json: &str) -> Result<(), String> {
    let (host, port, path) = split_http(url)?;
    let addr = resolve(host, port)?;
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n\
Content-Length: {}\r\nConnection: close\r\n\r\n{json}",
        json.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).map_err(|e| e.to_string())?;
    let status = head.get(..n).unwrap_or_default();
    let code = status.get(9..12).unwrap_or_default();
    if status.starts_with(b"HTTP/1.") && code.first() == Some(&b'2') {
        Ok(())
    } else {
        Err(format!("HTTP status {}", String::from_utf8_lossy(code)))
    }
}

/// The emergency caller's URI from a notification's JSON (`caller`, as the INVITE named
/// it), when it is a SIP or tel URI that can stand in a header between angle brackets:
/// for `Call-Info`. Anything else (absent, a bare number, a stray `>` or control
/// character) is left out rather than sent as a header the desk cannot parse.
pub fn caller_uri(json: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let caller = value.get("caller")?.as_str()?;
    let scheme = ["sip:", "sips:", "tel:"]
        .iter()
        .any(|s| caller.len() > s.len() && caller[..s.len()].eq_ignore_ascii_case(s));
    let clean = !caller
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>' | '"'));
    (scheme && clean).then(|| caller.to_owned())
}

/// Per-process sequence for Call-IDs and branches: each MESSAGE is a new transaction
/// (RFC 3261 §8.1.1.7: a branch unique across space and time), retries included.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// One MESSAGE to the desk at `uri`, from `local` (RFC 3428 §4, page mode): `Priority:
/// emergency` (RFC 3261 §20.26: "when life, limb, or property are in imminent danger";
/// MS-SIPRE §3.17.5.2), `Call-Info` naming the caller with MS-SIPRE's purpose, and the
/// notification's text as a UTF-8 `text/plain` body.
fn message_request(
    uri: &str,
    local: SocketAddr,
    id: &str,
    text: &str,
    caller: Option<&str>,
) -> String {
    let call_info = caller.map_or_else(String::new, |c| {
        format!("Call-Info: <{c}>;purpose=ms-emergency-notification\r\n")
    });
    format!(
        "MESSAGE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-e911-msg-{id}\r\n\
Max-Forwards: 70\r\nFrom: <sip:e911-harness@{local}>;tag={id}\r\nTo: <{uri}>\r\n\
Call-ID: e911-msg-{id}@{local}\r\nCSeq: 1 MESSAGE\r\nPriority: emergency\r\n{call_info}\
Content-Type: text/plain; charset=UTF-8\r\nContent-Length: {}\r\n\r\n{text}",
        text.len()
    )
}

/// A SIP MESSAGE (RFC 3428) with a text body, sent over UDP; success is a 2xx.
fn message(uri: &str, text: &str, caller: Option<&str>) -> Result<(), String> {
    let rest = uri
        .strip_prefix("sip:")
        .ok_or_else(|| "unsupported URI (only sip:)".to_owned())?;
    let hostport = rest.split(';').next().unwrap_or_default();
    let hostport = hostport.rsplit_once('@').map_or(hostport, |(_, h)| h);
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().map_err(|_| format!("bad port in {uri}"))?),
        None => (hostport, 5060),
    };
    let addr = resolve(host, port)?;
    let socket = UdpSocket::bind(if addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    })
    .map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let local = socket.local_addr().map_err(|e| e.to_string())?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let id = format!(
        "{}-{}-{nanos:x}",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    );
    let request = message_request(uri, local, &id, text, caller);
    socket
        .send_to(request.as_bytes(), addr)
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 2048];
    loop {
        let (n, _) = socket.recv_from(&mut buf).map_err(|e| e.to_string())?;
        let reply = buf.get(..n).unwrap_or_default();
        match reply.get(8..9) {
            Some(b"1") => continue,
            Some(b"2") if reply.starts_with(b"SIP/2.0 ") => return Ok(()),
            _ => {
                return Err(format!(
                    "answered {}",
                    String::from_utf8_lossy(reply.get(..12).unwrap_or_default())
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_plain_http_urls() {
        assert_eq!(
            split_http("http://127.0.0.1:8080/hook").unwrap(),
            ("127.0.0.1", 8080, "/hook")
        );
        assert_eq!(
            split_http("http://desk.example").unwrap(),
            ("desk.example", 80, "/")
        );
        assert!(
            split_http("https://desk.example/")
                .unwrap_err()
                .starts_with("unsupported")
        );
    }

    #[test]
    fn posts_the_json_to_a_webhook() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut got = vec![0u8; 4096];
            let n = conn.read(&mut got).unwrap();
            conn.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
            String::from_utf8_lossy(&got[..n]).into_owned()
        });
        post(&url, "{\"caller\":\"alice\"}").unwrap();
        let request = server.join().unwrap();
        assert!(request.starts_with("POST /hook HTTP/1.1\r\n"));
        assert!(request.ends_with("{\"caller\":\"alice\"}"));
    }

    #[test]
    fn the_caller_goes_in_call_info_only_as_a_clean_uri() {
        let json = |caller: &str| format!("{{\"caller\":{caller},\"time\":\"t\"}}");
        assert_eq!(
            caller_uri(&json("\"sip:+14255550101@contoso.com\"")).as_deref(),
            Some("sip:+14255550101@contoso.com")
        );
        assert_eq!(
            caller_uri(&json("\"tel:+14255550101\"")).as_deref(),
            Some("tel:+14255550101")
        );
        assert_eq!(caller_uri(&json("null")), None);
        assert_eq!(caller_uri(&json("\"+14255550101\"")), None);
        assert_eq!(caller_uri(&json("\"sip:a@b>;x=<y\"")), None);
        assert_eq!(caller_uri(&json("\"sip:a@b\\r\\nVia: x\"")), None);
        assert_eq!(caller_uri("not json"), None);
    }

    #[test]
    fn the_message_carries_the_emergency_headers_and_the_text() {
        let local: SocketAddr = "127.0.0.1:5099".parse().unwrap();
        let text = "EMERGENCY 911 call from sip:a@b (callback +1) at T: 1 Main St, Zürich";
        let request = message_request(
            "sip:desk@127.0.0.1:5060",
            local,
            "7-1-a",
            text,
            Some("sip:a@b"),
        );
        let (head, body) = request.split_once("\r\n\r\n").unwrap();
        assert_eq!(body, text);
        let lines: Vec<&str> = head.split("\r\n").collect();
        assert_eq!(lines[0], "MESSAGE sip:desk@127.0.0.1:5060 SIP/2.0");
        for line in [
            "Priority: emergency",
            "Call-Info: <sip:a@b>;purpose=ms-emergency-notification",
            "Content-Type: text/plain; charset=UTF-8",
            "Call-ID: e911-msg-7-1-a@127.0.0.1:5099",
            &format!("Content-Length: {}", text.len()),
        ] {
            assert!(lines.contains(&line), "{line} in {head}");
        }
        let without = message_request("sip:d@h", local, "1", "x", None);
        assert!(!without.contains("Call-Info"), "{without}");
    }
}
