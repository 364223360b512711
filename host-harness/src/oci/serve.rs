//! `e911-harness bundle serve`: a mirror between a registry and proxies that poll HTTP
//! (the Envoy filter's bundle poller, DESIGN §5). It follows a tag ([`Follower`]) and
//! serves the bundle in force, byte for byte, at one path:
//!
//! - `ETag: "<sha256 hex of the bundle file>"`; a request whose `If-None-Match` lists it
//!   gets `304 Not Modified` with no body (RFC 9110 §13.1.2: a strong comparison is not
//!   required for `If-None-Match`, so `W/` tags match too; `*` matches any bundle).
//! - Before the first good bundle, `503` with `Retry-After`; after it, registry outages
//!   and refused pushes change nothing: the last good bundle stays served.
//! - HTTP/1.1 persistent connections (RFC 9112 §9.3), as Envoy's cluster pools them.

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};

use super::follow::{Follower, Update};
use super::{FollowArgs, RegistryArgs, verify};
use crate::http_head::{self, Head, Request, read_head};

/// `bundle serve`'s arguments.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// The tag to follow: `oci://REGISTRY/REPO:TAG`.
    pub reference: String,
    /// Where to serve HTTP: `HOST:PORT`.
    #[arg(long)]
    pub listen: SocketAddr,
    /// The path the bundle is served at.
    #[arg(long, default_value = "/bundle")]
    pub path: String,
    /// Public key files; only bundles signed by one of them are served.
    #[arg(long = "trust-key")]
    pub trust_keys: Vec<PathBuf>,
    /// Registry connection.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Poll interval.
    #[command(flatten)]
    pub follow: FollowArgs,
}

/// An idle persistent connection is closed after this long.
const IDLE: Duration = Duration::from_secs(60);
/// How often the main loop asks the follower whether a look is due.
const TICK: Duration = Duration::from_millis(50);

/// The bundle being served.
struct Served {
    bytes: Vec<u8>,
    /// Quoted, as it goes on the wire.
    etag: String,
    revision: String,
}

type Current = Arc<RwLock<Option<Arc<Served>>>>;

/// Serves until killed.
pub fn run(args: &ServeArgs) -> Result<()> {
    let keys = e911_harness::policy_source::read_keys(&args.trust_keys)?;
    let mut follower = Follower::new(&args.reference, &args.registry, &args.follow, keys)?;
    let listener = TcpListener::bind(args.listen)
        .with_context(|| format!("--listen {}: cannot bind", args.listen))?;
    let current: Current = Arc::new(RwLock::new(None));
    match follower.pull_now() {
        Ok(followed) => install(&current, &followed.bytes, followed.bundle.info()),
        Err(err) => eprintln!(
            "e911-harness bundle serve: {}: {err:#}; answering 503 until a bundle arrives",
            args.reference
        ),
    }
    let addr = listener.local_addr().unwrap_or(args.listen);
    let path = args.path.clone();
    let serving = current.clone();
    std::thread::spawn(move || accept(&listener, &serving, &path));
    println!(
        "e911-harness bundle serve: ready on http://{addr}{} following {} every {:?}",
        args.path,
        follower.spec(),
        follower.interval()
    );
    loop {
        std::thread::sleep(TICK);
        match follower.poll() {
            Update::Unchanged => {}
            Update::Reachable => eprintln!(
                "e911-harness bundle serve: {} reachable again",
                follower.spec()
            ),
            Update::New(followed) => install(&current, &followed.bytes, followed.bundle.info()),
            Update::Unreachable(why) | Update::Refused(why) => {
                let revision = read(&current).map_or("none".to_owned(), |s| s.revision.clone());
                eprintln!("e911-harness bundle serve: {why}; revision {revision} stays served");
            }
        }
    }
}

fn read(current: &Current) -> Option<Arc<Served>> {
    current
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

fn install(current: &Current, bytes: &[u8], info: &e911_policy::BundleInfo) {
    let served = Served {
        bytes: bytes.to_vec(),
        etag: format!("\"{}\"", verify::sha256_hex(bytes)),
        revision: info.revision.clone(),
    };
    eprintln!(
        "e911-harness bundle serve: serving revision {} (ETag {})",
        served.revision, served.etag
    );
    *current
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(served));
}

fn accept(listener: &TcpListener, current: &Current, path: &str) {
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let current = current.clone();
        let path = path.to_owned();
        std::thread::spawn(move || {
            if let Err(err) = connection(conn, &current, &path) {
                eprintln!("e911-harness bundle serve: connection: {err}");
            }
        });
    }
}

fn connection(conn: TcpStream, current: &Current, path: &str) -> std::io::Result<()> {
    conn.set_read_timeout(Some(IDLE))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut out = conn;
    loop {
        let request = match read_head(&mut reader)? {
            Head::Closed => return Ok(()),
            Head::TooLarge => return out.write_all(http_head::TOO_LARGE),
            Head::Bad => return out.write_all(http_head::BAD_REQUEST),
            Head::Request(request) => request,
        };
        // A GET carries no body; skip one if a client sent it anyway.
        std::io::copy(
            &mut Read::take(&mut reader, request.content_length),
            &mut std::io::sink(),
        )?;
        out.write_all(&respond(&request, read(current).as_deref(), path))?;
        if request.close {
            return Ok(());
        }
    }
}

/// Whether `If-None-Match` names the served ETag (weak comparison, RFC 9110 §13.1.2).
fn matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

fn respond(request: &Request, served: Option<&Served>, path: &str) -> Vec<u8> {
    let target = request.target.split('?').next().unwrap_or_default();
    let head_only = request.method == "HEAD";
    let connection = if request.close { "close" } else { "keep-alive" };
    let simple = |status: &str, extra: &str| {
        format!("HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\nConnection: {connection}\r\n\r\n")
            .into_bytes()
    };
    if request.method != "GET" && !head_only {
        return simple("405 Method Not Allowed", "Allow: GET, HEAD\r\n");
    }
    if target != path {
        return simple("404 Not Found", "");
    }
    let Some(served) = served else {
        return simple("503 Service Unavailable", "Retry-After: 5\r\n");
    };
    let fields = format!(
        "ETag: {}\r\nE911-Bundle-Revision: {}\r\nCache-Control: no-cache\r\n",
        served.etag, served.revision
    );
    if request
        .if_none_match
        .as_deref()
        .is_some_and(|tags| matches(tags, &served.etag))
    {
        return simple("304 Not Modified", &fields);
    }
    let mut response = format!(
        "HTTP/1.1 200 OK\r\n{fields}Content-Type: {}\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n",
        super::layout::BUNDLE_ARTIFACT_TYPE,
        served.bytes.len()
    )
    .into_bytes();
    if !head_only {
        response.extend_from_slice(&served.bytes);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served() -> Served {
        Served {
            bytes: b"bundle".to_vec(),
            etag: "\"abc\"".to_owned(),
            revision: "r1".to_owned(),
        }
    }

    fn request(text: &str) -> Request {
        match read_head(&mut text.as_bytes()).unwrap() {
            Head::Request(r) => r,
            _ => panic!("not a request: {text:?}"),
        }
    }

    fn status(response: &[u8]) -> String {
        String::from_utf8_lossy(response)
            .lines()
            .next()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn answers_304_to_a_matching_if_none_match_in_any_form() {
        for tags in ["\"abc\"", "W/\"abc\"", "\"x\", \"abc\"", "*"] {
            let r = request(&format!(
                "GET /bundle HTTP/1.1\r\nIf-None-Match: {tags}\r\n\r\n"
            ));
            let response = respond(&r, Some(&served()), "/bundle");
            assert_eq!(status(&response), "HTTP/1.1 304 Not Modified", "{tags}");
            assert!(String::from_utf8_lossy(&response).contains("ETag: \"abc\""));
        }
    }

    #[test]
    fn serves_the_bundle_bytes_with_its_etag() {
        let r = request("GET /bundle?x=1 HTTP/1.1\r\nIf-None-Match: \"old\"\r\n\r\n");
        let response = respond(&r, Some(&served()), "/bundle");
        let text = String::from_utf8_lossy(&response);
        assert_eq!(status(&response), "HTTP/1.1 200 OK");
        assert!(text.contains("ETag: \"abc\"\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nbundle"), "{text}");
    }

    #[test]
    fn answers_404_405_503_and_keeps_http10_closed() {
        let r = request("GET /other HTTP/1.1\r\n\r\n");
        assert!(status(&respond(&r, Some(&served()), "/bundle")).contains("404"));
        let r = request("POST /bundle HTTP/1.1\r\nContent-Length: 3\r\n\r\n");
        assert_eq!(r.content_length, 3);
        assert!(status(&respond(&r, Some(&served()), "/bundle")).contains("405"));
        let r = request("\r\nGET /bundle HTTP/1.0\r\n\r\n");
        assert!(r.close);
        assert!(status(&respond(&r, None, "/bundle")).contains("503"));
    }
}
