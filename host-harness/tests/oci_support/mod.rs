//! Helpers for `tests/oci.rs`: a `docker-registry` on loopback (start, stop, resume on
//! the same port and storage; its manifests and blobs read over plain HTTP), the
//! `e911-harness` binary as the operator runs it, bundles at given revisions, processes
//! whose output lines are timed, SIPp, and Envoy.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod envoy;

pub use crate::common::http::webhook;
pub use crate::common::ports::{free_port, scratch};
pub use crate::common::process::Guard;
pub use crate::common::repo_root;
pub use crate::common::sipp::{require_sipp, scenario, sipp};
pub use crate::common::tools::wasm_file;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const HARNESS: &str = env!("CARGO_BIN_EXE_e911-harness");
/// Where Debian's `docker-registry` package puts the registry.
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

pub fn require_registry() {
    assert!(
        Path::new(REGISTRY_BIN).is_file(),
        "{REGISTRY_BIN} is missing: install docker-registry (apt-get install docker-registry), or run `cargo xtask test`"
    );
}

/// A built artifact under `target/wasm/`, or a one-line failure saying how to build it.
pub fn wasm_artifact(name: &str, build: &str) -> Vec<u8> {
    std::fs::read(wasm_file(name, build)).unwrap()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One `docker-registry` on loopback, restartable on the same port and storage.
pub struct Registry {
    dir: PathBuf,
    pub port: u16,
    process: Option<Guard>,
}

impl Registry {
    /// Starts a registry; with `user`, only that user (password `password`) gets in.
    pub fn start(dir: &Path, user: Option<(&str, &str)>) -> Self {
        require_registry();
        let dir = dir.join("registry");
        std::fs::create_dir_all(dir.join("storage")).unwrap();
        let port = free_port("127.0.0.1");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("storage").display()
        );
        if let Some((user, password)) = user {
            // distribution's htpasswd accepts bcrypt entries only.
            let hash = bcrypt::hash(password, 4).unwrap();
            std::fs::write(dir.join("htpasswd"), format!("{user}:{hash}\n")).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: e911-test\n    path: {}\n",
                dir.join("htpasswd").display()
            ));
        }
        std::fs::write(dir.join("config.yml"), config).unwrap();
        let mut registry = Self {
            dir,
            port,
            process: None,
        };
        registry.resume();
        registry
    }

    /// Starts the process (again) and waits until `/v2/` answers.
    pub fn resume(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("registry.log"))
            .unwrap();
        self.process = Some(Guard::spawn(
            Command::new(REGISTRY_BIN)
                .arg("serve")
                .arg(self.dir.join("config.yml"))
                .stdout(Stdio::null())
                .stderr(log),
        ));
        let start = Instant::now();
        loop {
            if let Ok((status, _, _)) = http_get(self.port, "/v2/", &[]) {
                assert!(status == 200 || status == 401, "/v2/ answered {status}");
                return;
            }
            let log = std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default();
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the registry did not start:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the process (an outage); the storage stays.
    pub fn stop(&mut self) {
        self.process = None;
        let start = Instant::now();
        while http_get(self.port, "/v2/", &[]).is_ok() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "registry still up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn reference(&self, repo_tag: &str) -> String {
        format!("oci://127.0.0.1:{}/{repo_tag}", self.port)
    }

    /// A blob's file in the registry's storage (distribution's filesystem layout).
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.dir
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// The manifest stored under `repo:tag`, as the registry serves it.
    pub fn manifest(&self, repo: &str, tag: &str) -> serde_json::Value {
        let (status, _, body) = http_get(
            self.port,
            &format!("/v2/{repo}/manifests/{tag}"),
            &[("Accept", "application/vnd.oci.image.manifest.v1+json")],
        )
        .unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap()
    }

    /// Uploads a blob the way any client can (distribution spec: POST a session, PUT the
    /// bytes with their digest); returns the digest.
    pub fn put_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = format!("sha256:{}", sha256_hex(bytes));
        let (status, fields, _) = http_request(
            self.port,
            "POST",
            &format!("/v2/{repo}/blobs/uploads/"),
            &[],
            &[],
        )
        .unwrap();
        assert_eq!(status, 202, "upload session");
        let location = field(&fields, "location").unwrap();
        let path = location
            .split_once("://")
            .map_or(location, |(_, rest)| &rest[rest.find('/').unwrap()..]);
        let sep = if path.contains('?') { '&' } else { '?' };
        let (status, _, body) = http_request(
            self.port,
            "PUT",
            &format!("{path}{sep}digest={digest}"),
            &[("Content-Type", "application/octet-stream")],
            bytes,
        )
        .unwrap();
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        digest
    }

    /// Stores `manifest` under `repo:tag`.
    pub fn put_manifest(&self, repo: &str, tag: &str, manifest: &serde_json::Value) {
        let (status, _, body) = http_request(
            self.port,
            "PUT",
            &format!("/v2/{repo}/manifests/{tag}"),
            &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
            manifest.to_string().as_bytes(),
        )
        .unwrap();
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    }

    /// A blob, as the registry serves it.
    pub fn blob(&self, repo: &str, digest: &str) -> Vec<u8> {
        let (status, _, body) =
            http_get(self.port, &format!("/v2/{repo}/blobs/{digest}"), &[]).unwrap();
        assert_eq!(status, 200, "blob {digest}");
        assert_eq!(format!("sha256:{}", sha256_hex(&body)), digest);
        body
    }
}

/// An HTTP response: status, fields (names lower-cased), body.
pub type Response = (u16, Vec<(String, String)>, Vec<u8>);

/// One HTTP/1.1 GET to 127.0.0.1:`port` on a fresh connection.
pub fn http_get(port: u16, path: &str, fields: &[(&str, &str)]) -> std::io::Result<Response> {
    http_request(port, "GET", path, fields, &[])
}

/// One HTTP/1.1 request to 127.0.0.1:`port` on a fresh connection.
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    fields: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    let mut conn = TcpStream::connect(("127.0.0.1", port))?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in fields {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if method != "GET" {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    conn.write_all(request.as_bytes())?;
    conn.write_all(body)?;
    let mut response = Vec::new();
    conn.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no response head"))?;
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    let fields: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = response[split + 4..].to_vec();
    let chunked = field(&fields, "transfer-encoding") == Some("chunked");
    Ok((status, fields, if chunked { dechunk(&body) } else { body }))
}

/// The body of a `Transfer-Encoding: chunked` response (RFC 9112 §7.1), without
/// extensions or trailers.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&body[..end]);
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&body[end + 2..end + 2 + size]);
        body = &body[end + 2 + size + 2..];
    }
    out
}

pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

pub fn harness(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(HARNESS);
    cmd.args(args)
        .env_remove("E911_REGISTRY_USERNAME")
        .env_remove("E911_REGISTRY_PASSWORD")
        .env("DOCKER_CONFIG", "/nonexistent-docker-config");
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.output().unwrap()
}

/// Runs the harness; it must succeed. Returns stdout.
pub fn ok(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = harness(args, env);
    assert!(
        out.status.success(),
        "e911-harness {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the harness; it must fail with one line on stderr. Returns that line.
pub fn fails(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = harness(args, env);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "e911-harness {args:?} succeeded");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line:\n{stderr}");
    stderr
}

pub fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A signing key pair in `dir`: (secret, public).
pub fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(name);
    ok(&["bundle", "keygen", path(&key)], &[]);
    (key.clone(), dir.join(format!("{name}.pub")))
}

/// A copy of a policy folder with its revision changed.
pub fn policy_with_revision(from: &Path, to: &Path, revision: &str) -> PathBuf {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
    let manifest = to.join("bundle.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("revision = \"2026.11.1\""), "{text}");
    std::fs::write(
        &manifest,
        text.replacen(
            "revision = \"2026.11.1\"",
            &format!("revision = \"{revision}\""),
            1,
        ),
    )
    .unwrap();
    to.to_owned()
}

/// A compiled bundle of `source` with `revision`, signed by `key` when given.
pub fn bundle(dir: &Path, source: &Path, revision: &str, key: Option<&Path>) -> PathBuf {
    let folder = policy_with_revision(source, &dir.join(format!("src-{revision}")), revision);
    let out = dir.join(format!("{revision}.bundle"));
    let mut args = vec!["bundle", "build", path(&folder), "-o", path(&out)];
    if let Some(key) = key {
        args.extend(["--sign-key", path(key)]);
    }
    ok(&args, &[]);
    out
}

pub fn contoso() -> PathBuf {
    repo_root().join("policies/contoso")
}

/// The manifest digest `oci push` printed for a reference.
pub fn pushed_digest(stdout: &str, reference: &str) -> String {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{reference}:")))
        .unwrap_or_else(|| panic!("no line for {reference} in:\n{stdout}"));
    line.rsplit(' ').next().unwrap().to_owned()
}

/// A process whose stderr lines are collected with the moment each arrived.
pub struct Watched {
    _guard: Guard,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Watched {
    pub fn start(args: &[String], ready: &str) -> Self {
        let mut guard = Guard::spawn(
            Command::new(HARNESS)
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        );
        let child = guard.child();
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    lines.lock().unwrap().push((Instant::now(), line));
                }
            });
        }
        let watched = Self {
            _guard: guard,
            lines,
        };
        watched.wait_for(ready, Duration::from_secs(30));
        watched
    }

    /// When the first line containing `what` arrived; waits at most `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration) -> Instant {
        let start = Instant::now();
        loop {
            if let Some((at, _)) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|(_, l)| l.contains(what))
            {
                return *at;
            }
            assert!(
                start.elapsed() < limit,
                "no line with {what:?} within {limit:?}; output:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn output(&self) -> String {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// policies/contoso with 127.2.0.0/16 as the Wichita branch (ELIN gateway) and
/// 127.0.0.0/8 trusted, notifications to nowhere reachable: enough for SIPp on loopback.
pub fn loopback_policy(dir: &Path) -> PathBuf {
    let folder = dir.join("loopback-policy");
    policy_with_revision(&contoso(), &folder, "2026.11.1");
    let edit = |file: &str, from: &str, to: &str| {
        let p = folder.join(file);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{file} has no {from}");
        std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
    };
    let mut subnets = std::fs::read_to_string(folder.join("subnets.csv")).unwrap();
    subnets.push_str(concat!(
        "\"127.2.0.0\",\"Wichita branch\",\"Floor 1\",\"Contoso;+13165550100;+13165550101\",",
        "\"100\",\"\",\"N\",\"Main\",\"St\",\"\",\"Wichita\",\"KS\",\"67202\",\"US\"\r\n"
    ));
    std::fs::write(folder.join("subnets.csv"), subnets).unwrap();
    edit(
        "sites.toml",
        "[\"10.2.0.0/16\"]",
        "[\"10.2.0.0/16\", \"127.2.0.0/16\"]",
    );
    edit(
        "bundle.toml",
        "\"2001:db8::/32\"]",
        "\"2001:db8::/32\", \"127.0.0.0/8\"]",
    );
    let hook = webhook().url;
    std::fs::write(
        folder.join("notifications.toml"),
        format!(
            "[targets.redmond-security]\nwebhook = \"{hook}\"\n\n\
             [targets.wichita-security]\nwebhook = \"{hook}\"\n"
        ),
    )
    .unwrap();
    folder
}

pub fn push_bundle(registry: &Registry, file: &Path, reference: &str) {
    let _ = registry;
    ok(
        &["oci", "push", "bundle", path(file), reference, "--insecure"],
        &[],
    );
}
