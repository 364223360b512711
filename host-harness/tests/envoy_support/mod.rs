//! Helpers for `tests/envoy.rs` (and `tests/chaos.rs` and `tests/envoy_replicated.rs`, which use a few; hence the allows): finding Envoy and the module, writing a bootstrap with
//! ephemeral ports, reading Envoy's admin API and log, SIPp processes, a capturing TCP
//! sink, a webhook receiver and a bundle server (plain HTTP/1.1 over std sockets).
#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::envoy::{address, cluster, fill_example};
pub use crate::common::http::{Webhook, read_request, webhook};
pub use crate::common::policy::{build_bundle, edit, loopback_sources};
pub use crate::common::ports::{free_port, scratch};
pub use crate::common::process::{Guard, wait_until};
pub use crate::common::repo_root;
pub use crate::common::sipp::{Sipp, require_sipp, scenario, sipp, trace_blocks};
pub use crate::common::tools::{envoy_bin, envoy_module};

pub const HARNESS: &str = env!("CARGO_BIN_EXE_e911-harness");
pub const NODE: &str = "edge-1.contoso.com";

/// Polls `cond` for up to 30 s.
pub fn wait_for(cond: impl FnMut() -> bool, what: &str) {
    wait_until(what, Duration::from_secs(30), cond);
}

/// policies/contoso compiled with revision `envoy-test-REV`, plus loopback subnets:
/// 127.1.0.0/16 → the HQ floor-1 ERL, 127.2.0.0/16 → Wichita (a subnet of the Wichita
/// site); only those two are trusted; notifications go to `webhook` only. Returns the
/// compiled bundle file.
pub fn test_bundle(dir: &Path, webhook: &str, rev: &str) -> PathBuf {
    let src = loopback_sources(dir, webhook, &["127.1.0.0/16", "127.2.0.0/16"]);
    edit(
        &src,
        "bundle.toml",
        "revision = \"2026.11.1\"",
        &format!("revision = \"envoy-test-{rev}\""),
    );
    let out = dir.join("contoso.bundle");
    build_bundle(&src, &out);
    out
}

/// The filter's configuration with `bundle` inline, notifications to `desk` if given.
pub fn inline_config(bundle: &Path, desk: Option<&str>) -> String {
    use base64::Engine as _;
    let bytes = std::fs::read(bundle).unwrap();
    let mut config = json!({
        "node": NODE,
        "bundle": {"inline": base64::engine::general_purpose::STANDARD.encode(bytes)},
    });
    if let Some(desk) = desk {
        config["notifications"] = json!({"cluster": desk, "timeout_ms": 2000});
    }
    config.to_string()
}

/// How a listener gets its filter configuration.
pub enum Filter {
    /// The plugin configuration JSON, in the bootstrap.
    Inline(String),
    /// From `DIR/e911.yaml` over ECDS, watching DIR.
    Ecds(PathBuf),
}

/// The `envoy.filters.network.wasm` configuration around a plugin configuration.
pub fn wasm_filter(plugin_config: &str) -> Value {
    json!({
        "@type": "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm",
        "config": {
            "name": "e911",
            "root_id": "e911",
            "vm_config": {
                "vm_id": "e911",
                "runtime": "envoy.wasm.runtime.v8",
                "code": {"local": {"filename": envoy_module().display().to_string()}},
            },
            "failure_policy": "FAIL_RELOAD",
            "configuration": {
                "@type": "type.googleapis.com/google.protobuf.StringValue",
                "value": plugin_config,
            },
        },
    })
}

/// Writes the ECDS resource file `DIR/e911.yaml` (through a rename, so Envoy never reads
/// half a file).
pub fn write_ecds(dir: &Path, plugin_config: &str) {
    let resource = json!({"resources": [{
        "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
        "name": "e911",
        "typed_config": wasm_filter(plugin_config),
    }]});
    let tmp = dir.join(".e911.yaml.tmp");
    std::fs::write(&tmp, resource.to_string()).unwrap();
    std::fs::rename(&tmp, dir.join("e911.yaml")).unwrap();
}

/// An Envoy bootstrap: SIP listeners (wasm filter, then tcp_proxy to one upstream) and
/// extra clusters; every listener and the admin bind port 0.
pub struct Bootstrap {
    dir: PathBuf,
    listeners: Vec<Value>,
    clusters: Vec<Value>,
}

impl Bootstrap {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            listeners: Vec::new(),
            clusters: Vec::new(),
        }
    }

    pub fn listener(mut self, name: &str, filter: Filter, upstream: (&str, u16)) -> Self {
        let wasm = match filter {
            Filter::Inline(config) => json!({
                "name": "envoy.filters.network.wasm",
                "typed_config": wasm_filter(&config),
            }),
            Filter::Ecds(dir) => json!({
                "name": "e911",
                "config_discovery": {
                    "config_source": {"path_config_source": {
                        "path": dir.join("e911.yaml").display().to_string(),
                        "watched_directory": {"path": dir.display().to_string()},
                    }},
                    "type_urls": ["type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm"],
                },
            }),
        };
        let up = format!("up-{name}");
        self.listeners.push(json!({
            "name": name,
            "address": address("127.0.0.1", 0),
            "filter_chains": [{"filters": [wasm, {
                "name": "envoy.filters.network.tcp_proxy",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                    "stat_prefix": name,
                    "cluster": up,
                },
            }]}],
        }));
        self.clusters.push(cluster(&up, upstream));
        self
    }

    pub fn cluster(mut self, name: &str, at: (&str, u16)) -> Self {
        self.clusters.push(cluster(name, at));
        self
    }

    pub fn render(&self) -> String {
        json!({
            "node": {"id": "e911-test", "cluster": "e911-test"},
            "admin": {"address": address("127.0.0.1", 0)},
            "static_resources": {"listeners": self.listeners, "clusters": self.clusters},
        })
        .to_string()
    }

    /// Starts Envoy with `workers` worker threads and waits until it is ready.
    pub fn start(self, workers: u32) -> Envoy {
        start_envoy(&self.dir, &self.render(), workers)
    }
}

/// A plain TCP connection to `to` from `from_ip` (a caller's address, as Envoy sees it).
/// std cannot bind a client socket before connecting; tokio's `TcpSocket` can.
pub fn connect_from(from_ip: &str, to: &str) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        let ip: std::net::IpAddr = from_ip.parse().unwrap();
        socket.bind((ip, 0).into()).unwrap();
        let stream = socket.connect(to.parse().unwrap()).await.unwrap();
        stream.into_std().unwrap()
    });
    stream.set_nonblocking(false).unwrap();
    stream
}

/// Starts Envoy on the bootstrap `yaml` (written to `dir/envoy.yaml`; JSON is YAML too)
/// with `workers` worker threads, waits until it is ready and reads the listeners' ports.
pub fn start_envoy(dir: &Path, yaml: &str, workers: u32) -> Envoy {
    let config = dir.join("envoy.yaml");
    std::fs::write(&config, yaml).unwrap();
    let admin_file = dir.join("admin.txt");
    let log = dir.join("envoy.log");
    let guard = Guard::spawn(
        Command::new(envoy_bin())
            .arg("-c")
            .arg(&config)
            .args([
                "--disable-hot-restart",
                "--concurrency",
                &workers.to_string(),
            ])
            .arg("--admin-address-path")
            .arg(&admin_file)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap()),
    );
    let mut envoy = Envoy {
        guard,
        admin: String::new(),
        log,
        listeners: BTreeMap::new(),
    };
    let start = Instant::now();
    loop {
        if let Some(status) = envoy.guard.child().try_wait().unwrap() {
            panic!("Envoy exited ({status}):\n{}", envoy.log());
        }
        let admin = std::fs::read_to_string(&admin_file).unwrap_or_default();
        if !admin.trim().is_empty() {
            envoy.admin = admin.trim().to_owned();
            if http_get(&envoy.admin, "/ready").is_some_and(|(s, _)| s == 200) {
                break;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "Envoy not ready after 60 s:\n{}",
            envoy.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, body) = http_get(&envoy.admin, "/listeners?format=json").unwrap();
    let listeners: Value = serde_json::from_slice(&body).unwrap();
    for l in listeners["listener_statuses"].as_array().unwrap() {
        let a = &l["local_address"]["socket_address"];
        envoy.listeners.insert(
            l["name"].as_str().unwrap().to_owned(),
            format!("{}:{}", a["address"].as_str().unwrap(), a["port_value"]),
        );
    }
    envoy
}

/// A running Envoy.
pub struct Envoy {
    guard: Guard,
    admin: String,
    log: PathBuf,
    listeners: BTreeMap<String, String>,
}

/// Counters and gauges from `/stats`.
#[derive(Debug)]
pub struct Stats(pub BTreeMap<String, u64>);

impl Stats {
    pub fn get(&self, name: &str) -> Option<&u64> {
        self.0.get(name)
    }
}

impl std::ops::Index<&str> for Stats {
    type Output = u64;
    fn index(&self, name: &str) -> &u64 {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("no stat {name} in {:?}", self.0))
    }
}

impl Envoy {
    /// `ip:port` of a listener.
    pub fn listener(&self, name: &str) -> &str {
        &self.listeners[name]
    }

    /// Whether Envoy is still running.
    pub fn alive(&mut self) -> bool {
        self.guard.child().try_wait().unwrap().is_none()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The filter's audit records (`e911.audit <JSON>` lines), in log order.
    pub fn audits(&self) -> Vec<Value> {
        self.log()
            .lines()
            .filter_map(|l| l.split_once("e911.audit ").map(|(_, json)| json))
            .map(|json| serde_json::from_str(json).unwrap())
            .collect()
    }

    /// The audit records with the id of the Envoy thread (worker) that wrote each.
    pub fn audits_by_thread(&self) -> Vec<(String, Value)> {
        self.log()
            .lines()
            .filter_map(|l| {
                let (head, json) = l.split_once("e911.audit ")?;
                // "[time][thread][level][logger] …"
                let thread = head.split(['[', ']']).nth(3)?.to_owned();
                Some((thread, serde_json::from_str(json).ok()?))
            })
            .collect()
    }

    /// The text the admin API answers at `path` (`/clusters`), or "" if it does not.
    pub fn admin_text(&self, path: &str) -> String {
        http_get(&self.admin, path)
            .map(|(_, body)| String::from_utf8_lossy(&body).into_owned())
            .unwrap_or_default()
    }

    /// The filter's metrics (`wasmcustom.*`).
    pub fn stats(&self) -> Stats {
        let (_, body) = http_get(&self.admin, "/stats?filter=wasmcustom").unwrap();
        Stats(
            String::from_utf8_lossy(&body)
                .lines()
                .filter_map(|l| l.split_once(": "))
                .filter_map(|(k, v)| Some((k.to_owned(), v.trim().parse().ok()?)))
                .collect(),
        )
    }
}

/// A plain HTTP/1.0 GET: the status and the body.
pub fn http_get(addr: &str, path: &str) -> Option<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut got = Vec::new();
    s.read_to_end(&mut got).ok()?;
    let split = got.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&got[..split]).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let body = &got[split + 4..];
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Some((status, body.to_vec()));
    }
    // RFC 9112 §7.1: hex size line, that many bytes, CRLF; a zero size ends it.
    let (mut rest, mut out) = (body, Vec::new());
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some((status, out));
        }
        let start = line_end + 2;
        out.extend_from_slice(rest.get(start..start + size)?);
        rest = rest.get(start + size + 2..)?;
    }
}

/// One SIPp process: its files are `dir/NAME.{msg,err,csv,out}`.
/// A callee on `ip:port` over TCP, ending after `calls` calls.
pub fn uas(dir: &Path, name: &str, xml: &str, ip: &str, port: u16, calls: u32) -> Sipp {
    crate::common::sipp::uas(dir, name, xml, ip, port, "t1", calls)
}

/// A callee on `ip:port` taking one TCP connection per call.
pub fn uas_per_call(dir: &Path, name: &str, xml: &str, ip: &str, port: u16, calls: u32) -> Sipp {
    let args = [
        "-sf",
        &scenario(xml),
        "-i",
        ip,
        "-p",
        &port.to_string(),
        "-t",
        "tn",
        "-max_socket",
        "200",
        "-m",
        &calls.to_string(),
    ];
    sipp(dir, name, &args.map(String::from))
}

/// A caller from `from_ip` opening one TCP connection per call, so Envoy spreads the calls
/// over its workers.
pub fn uac_per_call(dir: &Path, name: &str, proxy: &str, from_ip: &str, extra: &[&str]) -> Sipp {
    let mut args: Vec<String> = [
        proxy,
        "-sf",
        &scenario("uac.xml"),
        "-s",
        "911",
        "-i",
        from_ip,
    ]
    .map(String::from)
    .to_vec();
    args.extend(["-t", "tn", "-max_socket", "200"].map(String::from));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    sipp(dir, name, &args)
}

/// A caller from `from_ip` through `proxy` over one TCP connection.
pub fn uac(dir: &Path, name: &str, proxy: &str, from_ip: &str, dial: &str, extra: &[&str]) -> Sipp {
    let extra: Vec<&str> = ["-t", "t1"]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
    crate::common::sipp::uac(dir, name, proxy, from_ip, dial, &extra)
}

/// The first INVITE in a SIPp `-trace_msg` file whose trace line contains `what`
/// ("sent", "received"), exactly as traced.
pub fn first_invite(dir: &Path, name: &str, what: &str) -> String {
    first_message(dir, name, what, "INVITE ")
}

/// The first message starting with `start` in a SIPp `-trace_msg` file whose trace line
/// contains `what`, exactly as traced.
pub fn first_message(dir: &Path, name: &str, what: &str, start: &str) -> String {
    trace_blocks(dir, name, what)
        .into_iter()
        .find_map(|text| text.starts_with(start).then(|| message_of(&text)))
        .unwrap_or_else(|| panic!("no {start}… {what} in {name}.msg"))
}

/// The SIP message at the start of a trace block: the header section and
/// Content-Length bytes of body (the trace adds blank lines after it).
pub fn message_of(text: &str) -> String {
    let head_end = text.find("\r\n\r\n").map_or(text.len(), |i| i + 4);
    let length: usize = header(text, "Content-Length").parse().unwrap_or(0);
    text[..(head_end + length).min(text.len())].to_owned()
}

/// A header's value (first occurrence).
pub fn header(msg: &str, name: &str) -> String {
    msg.lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
        .unwrap_or_default()
}

/// What the native engine forwards for `msg` from `peer` at `time`.
pub fn native_run_bytes(dir: &Path, bundle: &Path, peer: &str, time: &str, msg: &[u8]) -> Vec<u8> {
    let input = dir.join("native-input.sip");
    std::fs::write(&input, msg).unwrap();
    let out = Command::new(HARNESS)
        .args([
            "run", "--engine", "native", "--node", NODE, "--peer", peer, "--now", time,
        ])
        .arg("--policy")
        .arg(bundle)
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn native_run(dir: &Path, bundle: &Path, peer: &str, time: &str, msg: &str) -> String {
    String::from_utf8(native_run_bytes(dir, bundle, peer, time, msg.as_bytes())).unwrap()
}

/// The corpus's HQ wired 911 INVITE.
pub fn corpus_invite() -> Vec<u8> {
    std::fs::read(repo_root().join("tests/corpus/emergency/hq-wired-911.sip")).unwrap()
}

/// The bytes one connection has received so far.
type Received = Arc<Mutex<Vec<u8>>>;

/// A TCP upstream that keeps every connection's bytes (and a handle to answer on it).
pub struct Sink {
    pub port: u16,
    conns: Arc<Mutex<Vec<(Received, TcpStream)>>>,
}

impl Sink {
    pub fn start(ip: &str) -> Self {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let conns: Arc<Mutex<Vec<(Received, TcpStream)>>> = Arc::default();
        let all = Arc::clone(&conns);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { break };
                let bytes: Received = Arc::default();
                all.lock()
                    .unwrap()
                    .push((Arc::clone(&bytes), conn.try_clone().unwrap()));
                std::thread::spawn(move || {
                    let mut buf = [0u8; 65536];
                    while let Ok(n) = conn.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        bytes.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                });
            }
        });
        Self { port, conns }
    }

    /// The bytes of the connection that starts with `prefix`, once it has `len` bytes
    /// (and then a little longer, so that extra bytes would show).
    pub fn connection(&self, prefix: &[u8], len: usize) -> Vec<u8> {
        let find = || {
            self.conns
                .lock()
                .unwrap()
                .iter()
                .map(|(c, _)| c.lock().unwrap().clone())
                .find(|b| b.starts_with(prefix) && b.len() >= len)
        };
        wait_for(|| find().is_some(), "bytes at the upstream");
        std::thread::sleep(Duration::from_millis(300));
        find().unwrap()
    }
}

impl Sink {
    /// The bytes of every connection so far, in the order they were accepted.
    pub fn received(&self) -> Vec<Vec<u8>> {
        self.conns
            .lock()
            .unwrap()
            .iter()
            .map(|(c, _)| c.lock().unwrap().clone())
            .collect()
    }

    /// Writes `bytes` back on the connection whose data contains `needle` (a Call-ID
    /// header, say), as [`Sink::send_back`] does for a prefix.
    pub fn send_back_containing(&self, needle: &[u8], bytes: &[u8]) {
        let conns = self.conns.lock().unwrap();
        let (_, conn) = conns
            .iter()
            .find(|(c, _)| c.lock().unwrap().windows(needle.len()).any(|w| w == needle))
            .unwrap_or_else(|| {
                panic!(
                    "no connection at the upstream carries {}",
                    String::from_utf8_lossy(needle)
                )
            });
        let mut conn = conn.try_clone().unwrap();
        conn.write_all(bytes).unwrap();
    }

    /// Writes `bytes` back on the connection whose data starts with `prefix`: the
    /// upstream side speaking first on an open connection (a carrier's request).
    pub fn send_back(&self, prefix: &[u8], bytes: &[u8]) {
        let conns = self.conns.lock().unwrap();
        let (_, conn) = conns
            .iter()
            .find(|(c, _)| c.lock().unwrap().starts_with(prefix))
            .expect("a connection with that prefix");
        let mut conn = conn.try_clone().unwrap();
        conn.write_all(bytes).unwrap();
    }
}

/// Reads from `stream` until `done` holds for what arrived (at most 20 s).
pub fn read_until(stream: &mut TcpStream, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while !done(&got) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out; got {}",
            String::from_utf8_lossy(&got)
        );
        if let Ok(n) = stream.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    got
}

/// Serves a bundle at any path with an ETag, answering 304 to a matching If-None-Match.
pub struct BundleServer {
    pub port: u16,
    state: Arc<Mutex<(Vec<u8>, u32, u32)>>,
}

impl BundleServer {
    pub fn start(bundle: Vec<u8>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new((bundle, 1u32, 0u32)));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { break };
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    loop {
                        let request = read_request(&mut conn);
                        if request.is_empty() {
                            break;
                        }
                        let text = String::from_utf8_lossy(&request).into_owned();
                        let mut s = shared.lock().unwrap();
                        let etag = format!("\"v{}\"", s.1);
                        let answer = if header(&text, "If-None-Match") == etag {
                            s.2 += 1;
                            format!("HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\n\r\n")
                                .into_bytes()
                        } else {
                            let mut a = format!(
                                "HTTP/1.1 200 OK\r\nETag: {etag}\r\nContent-Length: {}\r\n\r\n",
                                s.0.len()
                            )
                            .into_bytes();
                            a.extend_from_slice(&s.0);
                            a
                        };
                        drop(s);
                        if conn.write_all(&answer).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Self { port, state }
    }

    /// Serves `bundle` from now on, under a new ETag.
    pub fn serve(&self, bundle: Vec<u8>) {
        let mut s = self.state.lock().unwrap();
        s.0 = bundle;
        s.1 += 1;
    }

    /// How many polls were answered 304.
    pub fn not_modified(&self) -> u32 {
        self.state.lock().unwrap().2
    }
}

/// What the examples under `tests/envoy/` configure the filter with (the bundle polled
/// over HTTP); a test that runs one gives it an inline test bundle instead.
pub const EXAMPLE_PLUGIN_CONFIG: &str = r#"{"node": "edge-1.contoso.com", "bundle": {"http": {"cluster": "e911_bundles", "authority": "bundles.contoso.com", "path": "/contoso.bundle", "poll_seconds": 5}}}"#;
/// `tests/envoy/NAME` made runnable here: the admin and the listener `listen` (its
/// `port_value: N` text) on port 0, the module by absolute path, the filter configured
/// with `bundle` inline, and the `extra` replacements.
pub fn runnable_example(name: &str, listen: &str, bundle: &Path, extra: &[(&str, &str)]) -> String {
    let module = envoy_module().display().to_string();
    let config = inline_config(bundle, None);
    // The configuration sits in single quotes in the YAML; JSON and base64 have none.
    assert!(!config.contains('\''));
    let mut replacements = vec![
        ("port_value: 9901", "port_value: 0"),
        (listen, "port_value: 0"),
        ("target/wasm/e911_envoy.wasm", module.as_str()),
        (EXAMPLE_PLUGIN_CONFIG, config.as_str()),
    ];
    replacements.extend_from_slice(extra);
    fill_example(name, &replacements)
}
