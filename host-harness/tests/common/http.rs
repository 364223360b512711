//! A local webhook receiver for notification tests, and the HTTP request reader it uses.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

/// A webhook receiver on loopback that answers every request 204.
pub struct Webhook {
    pub port: u16,
    /// `http://127.0.0.1:PORT/hooks/e911`.
    pub url: String,
    /// Each request as text: head and Content-Length body.
    pub posts: mpsc::Receiver<String>,
}

/// Starts a [`Webhook`]; its thread ends with the test process.
pub fn webhook() -> Webhook {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, posts) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let request = read_request(&mut conn);
            let _ = conn.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
            let _ = tx.send(String::from_utf8_lossy(&request).into_owned());
        }
    });
    Webhook {
        port,
        url: format!("http://127.0.0.1:{port}/hooks/e911"),
        posts,
    }
}

/// One HTTP/1.1 request: the head and Content-Length bytes of body, however the client
/// splits its writes (Python's urllib sends the head and the body separately).
pub fn read_request(conn: &mut TcpStream) -> Vec<u8> {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut request = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return request;
        }
        request.extend_from_slice(line.as_bytes());
        if let Some((n, v)) = line.split_once(':')
            && n.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    request.extend_from_slice(&body);
    request
}
