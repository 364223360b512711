//! The request head of HTTP/1.1 (RFC 9112), read as much as the harness's two small
//! servers need: `bundle serve` (the bundle mirror for Envoy's poller) and `playground`
//! (the page's static files). Both run on a std `TcpListener`, a thread per connection.

use std::io::{BufRead, Read};

/// A request head larger than this is refused with [`TOO_LARGE`] and the connection
/// closed.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The answer to a head over [`MAX_HEAD_BYTES`].
pub const TOO_LARGE: &[u8] =
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
/// The answer to a head that does not parse.
pub const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// One request head, as much as these servers need of it.
#[derive(Debug, Default, PartialEq)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub if_none_match: Option<String>,
    pub close: bool,
    pub content_length: u64,
}

/// What reading a head found.
pub enum Head {
    /// The client closed before sending anything.
    Closed,
    /// Over [`MAX_HEAD_BYTES`].
    TooLarge,
    /// Not an HTTP/1.1 request head.
    Bad,
    Request(Request),
}

/// Reads one request head, up to and including its empty line.
pub fn read_head<R: BufRead>(reader: &mut R) -> std::io::Result<Head> {
    let mut lines = Vec::new();
    let mut total = 0;
    loop {
        let mut line = String::new();
        let n = Read::take(&mut *reader, MAX_HEAD_BYTES as u64).read_line(&mut line)?;
        if n == 0 {
            return Ok(if lines.is_empty() {
                Head::Closed
            } else {
                Head::Bad
            });
        }
        total += n;
        if total > MAX_HEAD_BYTES {
            return Ok(Head::TooLarge);
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            // RFC 9112 §2.2: ignore empty lines before the request line.
            if lines.is_empty() {
                continue;
            }
            return Ok(parse_head(&lines).map_or(Head::Bad, Head::Request));
        }
        lines.push(line);
    }
}

fn parse_head(lines: &[String]) -> Option<Request> {
    let (first, fields) = lines.split_first()?;
    let mut parts = first.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    let mut request = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        // RFC 9112 §9.3: HTTP/1.0 closes unless it asks to keep alive.
        close: version == "HTTP/1.0",
        ..Request::default()
    };
    for field in fields {
        let (name, value) = field.split_once(':')?;
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "if-none-match" => {
                // Several fields combine into one list (RFC 9110 §5.3).
                request.if_none_match = Some(match request.if_none_match.take() {
                    Some(prev) => format!("{prev}, {value}"),
                    None => value.to_owned(),
                });
            }
            "connection" => {
                let value = value.to_ascii_lowercase();
                if value.contains("close") {
                    request.close = true;
                } else if value.contains("keep-alive") {
                    request.close = false;
                }
            }
            "content-length" => request.content_length = value.parse().ok()?,
            _ => {}
        }
    }
    Some(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_malformed_head() {
        assert!(matches!(
            read_head(&mut "GET /bundle HTTP/1.1\r\nno colon\r\n\r\n".as_bytes()).unwrap(),
            Head::Bad
        ));
        assert!(matches!(
            read_head(&mut "".as_bytes()).unwrap(),
            Head::Closed
        ));
    }
}
