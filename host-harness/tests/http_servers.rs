//! The harness's two HTTP servers, `playground` and `bundle serve`, as an operator exposes
//! them: raw requests over a TCP socket against the running binary. Framing RFC 9112
//! refuses (request smuggling on `bundle serve`'s keep-alive connections), every way of
//! writing a path that leaves the served folder, the connection cap and the timeouts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::ports::free_port;
use common::process::Guard;
use common::{TempDir, harness};

/// Written to a file outside the served folders; no response may carry it.
const SECRET: &str = "SECRET-OUTSIDE-THE-ROOT";

/// A running harness server; killed on drop.
struct Server {
    _guard: Guard,
    addr: SocketAddr,
}

/// The folders `playground` serves, and a file beside them that it must not.
struct Site {
    tmp: TempDir,
}

impl Site {
    fn new() -> Self {
        let tmp = TempDir::new("http-site");
        let root = tmp.path();
        for dir in ["page", "policy"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        std::fs::write(root.join("page/index.html"), "<p>the page</p>").unwrap();
        std::fs::write(root.join("policy/manifest.toml"), "revision = \"x\"\n").unwrap();
        std::fs::write(root.join("secret.txt"), SECRET).unwrap();
        // Symlinks inside each root that point outside it.
        std::os::unix::fs::symlink(root.join("secret.txt"), root.join("policy/leak.toml")).unwrap();
        std::os::unix::fs::symlink(root.join("secret.txt"), root.join("page/leak.txt")).unwrap();
        Self { tmp }
    }

    fn secret(&self) -> String {
        self.tmp.path().join("secret.txt").display().to_string()
    }

    fn playground(&self, extra: &[&str]) -> Server {
        let root = self.tmp.path();
        let mut guard = Guard::spawn(
            Command::new(harness())
                .args(["playground", "--listen", "127.0.0.1:0", "--dir"])
                .arg(root.join("page"))
                .arg("--policy")
                .arg(root.join("policy"))
                .args(extra)
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
        );
        let mut line = String::new();
        BufReader::new(guard.child().stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("http://"))
            .unwrap_or_else(|| panic!("no URL in the playground's first line: {line:?}"))
            .trim_end_matches('/')
            .parse()
            .unwrap();
        Server {
            _guard: guard,
            addr,
        }
    }
}

/// `bundle serve` following a registry that is not there: it answers 503 until a bundle
/// arrives, which is all the framing tests need of it.
fn bundle_serve(extra: &[&str]) -> Server {
    let port = free_port("127.0.0.1");
    let nowhere = free_port("127.0.0.1");
    let mut guard = Guard::spawn(
        Command::new(harness())
            .args([
                "bundle",
                "serve",
                &format!("oci://127.0.0.1:{nowhere}/e911/x:prod"),
            ])
            .arg(format!("--listen=127.0.0.1:{port}"))
            .args(["--path=/bundle", "--insecure", "--poll-seconds=60"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let mut line = String::new();
    BufReader::new(guard.child().stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.contains("ready on"),
        "bundle serve did not start: {line:?}"
    );
    Server {
        _guard: guard,
        addr: ([127, 0, 0, 1], port).into(),
    }
}

impl Server {
    fn connect(&self) -> TcpStream {
        let conn = TcpStream::connect(self.addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        conn
    }

    /// Sends `request` as is and reads until the server closes (or 3 s pass).
    fn exchange(&self, request: &[u8]) -> Exchange {
        let mut conn = self.connect();
        conn.write_all(request).unwrap();
        read_all(&mut conn)
    }
}

/// What came back on one connection.
struct Exchange {
    bytes: Vec<u8>,
    /// The server closed the connection (rather than the read timing out).
    closed: bool,
}

impl Exchange {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The status code of every response on the connection, in order.
    fn statuses(&self) -> Vec<u16> {
        self.text()
            .split("\r\n")
            .filter_map(|line| line.strip_prefix("HTTP/1.1 "))
            .filter_map(|rest| rest.get(..3)?.parse().ok())
            .collect()
    }
}

fn read_all(conn: &mut TcpStream) -> Exchange {
    let mut bytes = Vec::new();
    let mut buf = [0; 64 * 1024];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => {
                return Exchange {
                    bytes,
                    closed: true,
                };
            }
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Exchange {
                    bytes,
                    closed: true,
                };
            }
            Err(_) => {
                return Exchange {
                    bytes,
                    closed: false,
                };
            }
        }
    }
}

/// Requests whose framing RFC 9112 tells a server to refuse, and what each tries.
const BAD_FRAMING: &[(&str, &str)] = &[
    (
        "Transfer-Encoding on a GET (no body expected): the chunk would be read as the next request",
        "GET /bundle HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /bundle HTTP/1.1\r\nHost: x\r\n\r\n",
    ),
    (
        "Transfer-Encoding on a HEAD",
        "HEAD /bundle HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ),
    (
        "Transfer-Encoding and Content-Length together (RFC 9112 §6.1)",
        "GET /bundle HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ),
    (
        "two different Content-Length fields (RFC 9112 §6.3 item 5)",
        "GET /bundle HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 21\r\n\r\nGET /bundle HTTP/1.1\r\n",
    ),
    (
        "a Content-Length list of different values",
        "GET /bundle HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 21\r\n\r\nGET /bundle HTTP/1.1\r\n",
    ),
    (
        "whitespace between field name and colon (RFC 9112 §5.1: MUST 400)",
        "GET /bundle HTTP/1.1\r\nHost: x\r\nContent-Length : 21\r\n\r\nGET /bundle HTTP/1.1\r\n",
    ),
    (
        "a body on a GET these servers never read",
        "GET /bundle HTTP/1.1\r\nHost: x\r\nContent-Length: 21\r\n\r\nGET /bundle HTTP/1.1\r\n",
    ),
    (
        "a POST with a body",
        "POST /bundle HTTP/1.1\r\nHost: x\r\nContent-Length: 21\r\n\r\nGET /bundle HTTP/1.1\r\n",
    ),
];

/// Versions other than HTTP/1.x (RFC 9112 §2.3).
const BAD_VERSIONS: &[&str] = &[
    "GET /bundle HTTP/2.0\r\nHost: x\r\n\r\n",
    "GET /bundle HTTP/3\r\nHost: x\r\n\r\n",
    "GET /bundle HTTP/0.9\r\nHost: x\r\n\r\n",
    "GET /bundle\r\n\r\n",
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
];

fn assert_refuses_bad_framing(server: &Server) {
    for (what, request) in BAD_FRAMING {
        let got = server.exchange(request.as_bytes());
        assert_eq!(got.statuses(), [400], "{what}: {}", got.text());
        assert!(got.closed, "{what}: the connection stayed open");
    }
    for request in BAD_VERSIONS {
        let got = server.exchange(request.as_bytes());
        let statuses = got.statuses();
        assert!(
            statuses.iter().all(|s| [400, 505].contains(s)),
            "{request:?} was answered: {}",
            got.text()
        );
        assert!(got.closed, "{request:?}: the connection stayed open");
    }
}

#[test]
fn bundle_serve_refuses_what_rfc_9112_refuses_and_closes() {
    let server = bundle_serve(&[]);
    assert_refuses_bad_framing(&server);
    // Two pipelined requests on one connection still get two answers (keep-alive works).
    let got = server.exchange(
        b"GET /bundle HTTP/1.1\r\nHost: x\r\n\r\nHEAD /bundle HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(got.statuses(), [503, 503], "{}", got.text());
}

#[test]
fn playground_refuses_what_rfc_9112_refuses_and_closes() {
    let site = Site::new();
    let server = site.playground(&[]);
    assert_refuses_bad_framing(&server);
}

/// Every way of writing a path that leaves the folder: answered 400 or 404, and not one
/// byte of the file outside.
#[test]
fn playground_paths_stay_inside_their_folders_however_written() {
    let site = Site::new();
    let server = site.playground(&[]);
    let secret = site.secret();
    let encoded = |s: &str| s.replace('/', "%2F");
    let lower = |s: &str| s.replace('/', "%2f");
    let targets: Vec<String> = vec![
        "/policy//etc/passwd".into(),
        format!("/policy/{secret}"),
        format!("/{secret}"),
        format!("/policy/{}", encoded(&secret)),
        format!("/policy/{}", lower(&secret)),
        format!("/{}", encoded(&secret)),
        "/policy/..%2Fsecret.txt".into(),
        "/policy/..%2fsecret.txt".into(),
        "/policy/../secret.txt".into(),
        "/policy/%2e%2e/secret.txt".into(),
        "/policy/%2E%2E%2Fsecret.txt".into(),
        "/policy/./../secret.txt".into(),
        "/../secret.txt".into(),
        "/policy/..\\secret.txt".into(),
        "/policy/..%5csecret.txt".into(),
        "/policy/..%5Csecret.txt".into(),
        "/policy/manifest.toml%00".into(),
        "/policy/manifest.toml\0".into(),
        "/policy/leak.toml".into(),
        "/leak.txt".into(),
    ];
    for target in &targets {
        let got = server.exchange(
            format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        let text = got.text();
        assert!(!text.contains(SECRET), "{target:?} leaked the outside file");
        assert!(!text.contains("root:x:0"), "{target:?} leaked /etc/passwd");
        assert!(
            got.statuses().iter().all(|s| [400, 404].contains(s)),
            "{target:?}: {text}"
        );
    }
    // The listing names only what can be fetched.
    let got =
        server.exchange(b"GET /policy/index.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(got.statuses(), [200], "{}", got.text());
    assert!(got.text().contains("\"manifest.toml\""), "{}", got.text());
    assert!(!got.text().contains("leak.toml"), "{}", got.text());
    // What is inside still comes back.
    for (target, body) in [
        ("/policy/manifest.toml", "revision = \"x\""),
        ("/", "<p>the page</p>"),
    ] {
        let got = server.exchange(
            format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        assert_eq!(got.statuses(), [200], "{target}: {}", got.text());
        assert!(
            got.text().trim_end().ends_with(body),
            "{target}: {}",
            got.text()
        );
    }
}

/// HEAD answers the GET's fields, with no body.
#[test]
fn playground_answers_head_like_get_without_the_body() {
    let site = Site::new();
    let server = site.playground(&[]);
    let got = server.exchange(b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let text = got.text();
    assert_eq!(got.statuses(), [200], "{text}");
    assert!(
        text.to_ascii_lowercase().contains("content-length: 15\r\n"),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\n"), "{text}");
}

/// A client that sends half a request head and stalls is cut off after the header
/// timeout, and one that stops reading a response after the idle timeout.
#[test]
fn stalled_clients_are_cut_off_within_the_configured_time() {
    let site = Site::new();
    let big = vec![b'x'; 64 << 20];
    std::fs::write(site.tmp.path().join("page/big.txt"), &big).unwrap();
    let server = site.playground(&["--header-timeout-seconds=0.5", "--idle-timeout-seconds=1"]);

    let mut conn = server.connect();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    conn.write_all(b"GET / HTTP/1.1\r\nHost:").unwrap();
    let start = Instant::now();
    let got = read_all(&mut conn);
    let took = start.elapsed();
    assert!(got.closed, "a half head was kept open for {took:?}");
    println!("half head cut off after {took:?} (header timeout 0.5 s)");
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_millis(2500),
        "{took:?}"
    );

    // Asks for 64 MiB and reads nothing: the server's writes stall once the socket
    // buffers fill, and the connection is closed before the file is through.
    let mut conn = server.connect();
    conn.write_all(b"GET /big.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let got = read_all(&mut conn);
    assert!(got.closed, "a client that stopped reading was kept");
    assert!(
        got.bytes.len() < big.len(),
        "the whole file went to a client that was not reading"
    );
}

/// An idle keep-alive connection is closed after the timeout.
#[test]
fn bundle_serve_closes_an_idle_keep_alive_connection() {
    let server = bundle_serve(&["--header-timeout-seconds=0.5", "--idle-timeout-seconds=1"]);
    let mut conn = server.connect();
    conn.write_all(b"GET /bundle HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let start = Instant::now();
    let got = read_all(&mut conn);
    assert_eq!(got.statuses(), [503], "{}", got.text());
    assert!(got.closed);
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
}

/// Over `--max-connections`, a new connection gets 503 and is closed; once one closes,
/// the next is served.
#[test]
fn connections_over_the_cap_get_503_until_one_closes() {
    let site = Site::new();
    let server = site.playground(&["--max-connections=2", "--header-timeout-seconds=20"]);
    let held: Vec<TcpStream> = (0..2).map(|_| server.connect()).collect();
    // Both are accepted before the third arrives.
    std::thread::sleep(Duration::from_millis(200));
    let got = server.exchange(b"");
    assert_eq!(got.statuses(), [503], "{}", got.text());
    assert!(got.closed);
    drop(held);
    let start = Instant::now();
    loop {
        let got = server.exchange(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        if got.statuses() == [200] {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "still refused after the held connections closed: {}",
            got.text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
