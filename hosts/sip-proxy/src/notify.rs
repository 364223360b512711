//! The notification worker: a webhook POST (plain `http://`, a minimal HTTP/1.1 client
//! with timeouts) and a SIP MESSAGE over UDP (`text/plain`), each with bounded retries.
//! Failures are logged and dropped: a notification never touches the call.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::mpsc::Receiver;
use std::time::Duration;

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
            report(&n.target, uri, retry(|| message(uri, &n.text)));
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

/// A SIP MESSAGE (RFC 3428) with a text body, sent over UDP; success is a 2xx.
fn message(uri: &str, text: &str) -> Result<(), String> {
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
    let tag = std::process::id();
    let request = format!(
        "MESSAGE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-e911-msg-{tag}\r\n\
Max-Forwards: 70\r\nFrom: <sip:e911-harness@{local}>;tag={tag}\r\nTo: <{uri}>\r\n\
Call-ID: e911-msg-{tag}-{}@{local}\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\n\
Content-Length: {}\r\n\r\n{text}",
        text.len(),
        text.len()
    );
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
}
