//! Distribution through a real OCI registry: Debian's `docker-registry` (CNCF
//! distribution 2.8), started here on a free loopback port with a config and storage
//! folder of its own (anonymous, or htpasswd Basic auth with a bcrypt file made here), and
//! driven through the `e911-harness` binary: `oci push|pull|inspect`, `proxy --policy
//! oci://…` under SIPp load, and `bundle serve`. What the registry stores is read back over
//! plain HTTP by the test itself, so layouts are checked against the registry, not against
//! our own reader. `cargo xtask test` installs `docker-registry` and SIPp.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const HARNESS: &str = env!("CARGO_BIN_EXE_e911-harness");
/// Where Debian's `docker-registry` package puts the registry.
const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn require_registry() {
    assert!(
        Path::new(REGISTRY_BIN).is_file(),
        "{REGISTRY_BIN} is missing: install docker-registry (apt-get install docker-registry), or run `cargo xtask test`"
    );
}

fn require_sipp() {
    let ok = Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        ok,
        "sipp is missing: install sip-tester (apt-get install sip-tester), or run `cargo xtask test`"
    );
}

/// A built artifact under `target/wasm/`, or a one-line failure saying how to build it.
fn wasm_artifact(name: &str, build: &str) -> Vec<u8> {
    let path = root().join("target/wasm").join(name);
    std::fs::read(&path).unwrap_or_else(|_| {
        panic!(
            "{}: missing; run `cargo xtask test` (or `cargo xtask {build}`)",
            path.display()
        )
    })
}

/// A fresh scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("e911-oci-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port(ip: &str) -> u16 {
    loop {
        let tcp = TcpListener::bind((ip, 0)).unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind((ip, port)).is_ok() {
            return port;
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Kills the process when dropped, passing or failing.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Guard {
    fn wait(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(start.elapsed() < limit, "still running after {limit:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// One `docker-registry` on loopback, restartable on the same port and storage.
struct Registry {
    dir: PathBuf,
    port: u16,
    process: Option<Guard>,
}

impl Registry {
    /// Starts a registry; with `user`, only that user (password `password`) gets in.
    fn start(dir: &Path, user: Option<(&str, &str)>) -> Self {
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
    fn resume(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("registry.log"))
            .unwrap();
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(self.dir.join("config.yml"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.process = Some(Guard(child));
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
    fn stop(&mut self) {
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

    fn reference(&self, repo_tag: &str) -> String {
        format!("oci://127.0.0.1:{}/{repo_tag}", self.port)
    }

    /// A blob's file in the registry's storage (distribution's filesystem layout).
    fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.dir
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// The manifest stored under `repo:tag`, as the registry serves it.
    fn manifest(&self, repo: &str, tag: &str) -> serde_json::Value {
        let (status, _, body) = http_get(
            self.port,
            &format!("/v2/{repo}/manifests/{tag}"),
            &[("Accept", "application/vnd.oci.image.manifest.v1+json")],
        )
        .unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap()
    }

    /// A blob, as the registry serves it.
    fn blob(&self, repo: &str, digest: &str) -> Vec<u8> {
        let (status, _, body) =
            http_get(self.port, &format!("/v2/{repo}/blobs/{digest}"), &[]).unwrap();
        assert_eq!(status, 200, "blob {digest}");
        assert_eq!(format!("sha256:{}", sha256_hex(&body)), digest);
        body
    }
}

/// An HTTP response: status, fields (names lower-cased), body.
type Response = (u16, Vec<(String, String)>, Vec<u8>);

/// One HTTP/1.1 GET to 127.0.0.1:`port` on a fresh connection.
fn http_get(port: u16, path: &str, fields: &[(&str, &str)]) -> std::io::Result<Response> {
    let mut conn = TcpStream::connect(("127.0.0.1", port))?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in fields {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    conn.write_all(request.as_bytes())?;
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
    let fields = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok((status, fields, response[split + 4..].to_vec()))
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn harness(args: &[&str], env: &[(&str, &str)]) -> Output {
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
fn ok(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = harness(args, env);
    assert!(
        out.status.success(),
        "e911-harness {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the harness; it must fail with one line on stderr. Returns that line.
fn fails(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = harness(args, env);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "e911-harness {args:?} succeeded");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line:\n{stderr}");
    stderr
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A signing key pair in `dir`: (secret, public).
fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(name);
    ok(&["bundle", "keygen", path(&key)], &[]);
    (key.clone(), dir.join(format!("{name}.pub")))
}

/// A copy of a policy folder with its revision changed.
fn policy_with_revision(from: &Path, to: &Path, revision: &str) -> PathBuf {
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
fn bundle(dir: &Path, source: &Path, revision: &str, key: Option<&Path>) -> PathBuf {
    let folder = policy_with_revision(source, &dir.join(format!("src-{revision}")), revision);
    let out = dir.join(format!("{revision}.bundle"));
    let mut args = vec!["bundle", "build", path(&folder), "-o", path(&out)];
    if let Some(key) = key {
        args.extend(["--sign-key", path(key)]);
    }
    ok(&args, &[]);
    out
}

fn contoso() -> PathBuf {
    root().join("policies/contoso")
}

/// The manifest digest `oci push` printed for a reference.
fn pushed_digest(stdout: &str, reference: &str) -> String {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{reference}:")))
        .unwrap_or_else(|| panic!("no line for {reference} in:\n{stdout}"));
    line.rsplit(' ').next().unwrap().to_owned()
}

#[test]
fn module_is_pushed_in_the_cncf_and_istio_layouts_and_pulled_back_identical() {
    let dir = scratch("module");
    let registry = Registry::start(&dir, None);
    let module = wasm_artifact("e911_envoy.wasm", "build-envoy");
    let file = dir.join("e911_envoy.wasm");
    std::fs::write(&file, &module).unwrap();
    let reference = registry.reference("e911/envoy-filter:0.1.0");
    let out = ok(
        &[
            "oci",
            "push",
            "module",
            path(&file),
            &reference,
            "--insecure",
        ],
        &[],
    );
    let istio_reference = format!("{reference}-istio");
    let cncf_digest = pushed_digest(&out, &reference);
    let istio_digest = pushed_digest(&out, &istio_reference);

    // CNCF layout, as the registry stores it.
    let manifest = registry.manifest("e911/envoy-filter", "0.1.0");
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["mediaType"], "application/wasm");
    let layer_digest = layers[0]["digest"].as_str().unwrap();
    assert_eq!(layer_digest, format!("sha256:{}", sha256_hex(&module)));
    let config: serde_json::Value = serde_json::from_slice(&registry.blob(
        "e911/envoy-filter",
        manifest["config"]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    assert_eq!(config["architecture"], "wasm");
    assert_eq!(config["os"], "wasip1");
    assert_eq!(config["layerDigests"][0], layer_digest);
    assert_eq!(registry.blob("e911/envoy-filter", layer_digest), module);

    // Istio's layout: one tar+gzip layer holding plugin.wasm, byte for byte the module.
    let manifest = registry.manifest("e911/envoy-filter", "0.1.0-istio");
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "Istio takes a single layer");
    assert_eq!(
        layers[0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let layer = registry.blob("e911/envoy-filter", layers[0]["digest"].as_str().unwrap());
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(layer.as_slice()));
    let mut files = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        files.push((name, bytes));
    }
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].0, "plugin.wasm");
    assert!(files[0].1 == module, "plugin.wasm differs from the module");

    // Both pull back as the module, at the digests push printed.
    for (reference, digest) in [
        (&reference, &cncf_digest),
        (&istio_reference, &istio_digest),
    ] {
        let pulled = dir.join("pulled.wasm");
        let out = ok(
            &["oci", "pull", reference, "-o", path(&pulled), "--insecure"],
            &[],
        );
        assert!(out.contains(digest.as_str()), "{out}");
        assert!(std::fs::read(&pulled).unwrap() == module, "{reference}");
        let pinned = format!("{}@{digest}", reference.rsplit_once(':').unwrap().0);
        ok(
            &["oci", "pull", &pinned, "-o", path(&pulled), "--insecure"],
            &[],
        );
    }
    // Plain HTTP only when asked for.
    let err = fails(
        &["oci", "pull", &reference, "-o", path(&dir.join("x"))],
        &[],
    );
    assert!(err.contains("https://"), "{err}");
}

#[test]
fn component_carries_its_wit_world_in_the_config() {
    let dir = scratch("component");
    let registry = Registry::start(&dir, None);
    let component = wasm_artifact("e911_policy.component.wasm", "build-component");
    let file = dir.join("policy.component.wasm");
    std::fs::write(&file, &component).unwrap();
    let reference = registry.reference("e911/policy-component:0.1.0");
    ok(
        &[
            "oci",
            "push",
            "component",
            path(&file),
            &reference,
            "--insecure",
        ],
        &[],
    );
    let manifest = registry.manifest("e911/policy-component", "0.1.0");
    assert_eq!(manifest["layers"][0]["mediaType"], "application/wasm");
    let config: serde_json::Value = serde_json::from_slice(&registry.blob(
        "e911/policy-component",
        manifest["config"]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    assert_eq!(config["os"], "wasip2");
    let names = |key: &str| -> Vec<String> {
        config["component"][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names("exports"), ["configure", "on-message"]);
    assert_eq!(
        names("imports"),
        [
            "e911:policy/callback-store@0.1.0",
            "e911:policy/notifier@0.1.0",
            "e911:policy/log@0.1.0"
        ]
    );
    let pulled = dir.join("pulled.wasm");
    ok(
        &["oci", "pull", &reference, "-o", path(&pulled), "--insecure"],
        &[],
    );
    assert!(std::fs::read(&pulled).unwrap() == component);
    // A component is not a proxy-wasm module.
    let err = fails(
        &[
            "oci",
            "push",
            "module",
            path(&file),
            &reference,
            "--insecure",
        ],
        &[],
    );
    assert!(err.contains("not a WebAssembly core module"), "{err}");
}

#[test]
fn signed_bundle_round_trips_and_bad_ones_are_refused() {
    let dir = scratch("bundle");
    let registry = Registry::start(&dir, None);
    let (key, public) = keygen(&dir, "signing.key");
    let signed = bundle(&dir, &contoso(), "2026.11.5", Some(&key));
    let reference = registry.reference("e911/contoso:prod");
    ok(
        &[
            "oci",
            "push",
            "bundle",
            path(&signed),
            &reference,
            "--insecure",
            "--trust-key",
            path(&public),
        ],
        &[],
    );
    let manifest = registry.manifest("e911/contoso", "prod");
    assert_eq!(
        manifest["artifactType"],
        "application/vnd.e911.policy.bundle.v1"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.e911.policy.bundle.layer.v1"
    );
    assert_eq!(
        manifest["annotations"]["io.e911.policy.revision"],
        "2026.11.5"
    );
    let inspect = ok(
        &[
            "oci",
            "inspect",
            &reference,
            "--insecure",
            "--trust-key",
            path(&public),
        ],
        &[],
    );
    assert!(
        inspect.contains("verified   bundle revision 2026.11.5"),
        "{inspect}"
    );
    let pulled = dir.join("pulled.bundle");
    let pull = |reference: &str, keys: &[&Path]| {
        let mut args = vec!["oci", "pull", reference, "-o", path(&pulled), "--insecure"];
        for key in keys {
            args.extend(["--trust-key", path(key)]);
        }
        args.iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<String>>()
    };
    let args = pull(&reference, &[&public]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&args, &[]);
    assert!(std::fs::read(&pulled).unwrap() == std::fs::read(&signed).unwrap());

    // Unsigned: pushed and pulled without keys, refused when a key is configured, and
    // not even pushed when the pusher names the key.
    let unsigned = bundle(&dir, &contoso(), "2026.11.6", None);
    let unsigned_ref = registry.reference("e911/contoso:unsigned");
    let err = fails(
        &[
            "oci",
            "push",
            "bundle",
            path(&unsigned),
            &unsigned_ref,
            "--insecure",
            "--trust-key",
            path(&public),
        ],
        &[],
    );
    assert!(
        err.contains("unsigned") && err.contains("not pushed"),
        "{err}"
    );
    ok(
        &[
            "oci",
            "push",
            "bundle",
            path(&unsigned),
            &unsigned_ref,
            "--insecure",
        ],
        &[],
    );
    let args = pull(&unsigned_ref, &[]);
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    let _ = std::fs::remove_file(&pulled);
    let args = pull(&unsigned_ref, &[&public]);
    let err = fails(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert!(
        err.contains("unsigned, but signing keys are configured"),
        "{err}"
    );
    assert!(!pulled.exists(), "nothing written for a refused bundle");

    // Signed by a key nobody trusts.
    let (other, _) = keygen(&dir, "other.key");
    let forged = bundle(&dir, &contoso(), "2026.11.7", Some(&other));
    let forged_ref = registry.reference("e911/contoso:forged");
    ok(
        &[
            "oci",
            "push",
            "bundle",
            path(&forged),
            &forged_ref,
            "--insecure",
        ],
        &[],
    );
    let args = pull(&forged_ref, &[&public]);
    let err = fails(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert!(err.contains("not trusted"), "{err}");

    // Tampered at rest: one byte of the stored layer changed under the registry.
    let layer_digest = manifest["layers"][0]["digest"].as_str().unwrap();
    let blob = registry.blob_file(layer_digest);
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&blob, &bytes).unwrap();
    let args = pull(&reference, &[&public]);
    let err = fails(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert!(
        err.contains(layer_digest) && err.contains("refused"),
        "{err}"
    );
}

#[test]
fn basic_auth_from_the_environment_or_a_docker_config() {
    let dir = scratch("auth");
    let registry = Registry::start(&dir, Some(("ops", "s3cret-pass")));
    let (key, public) = keygen(&dir, "signing.key");
    let signed = bundle(&dir, &contoso(), "2026.11.5", Some(&key));
    let reference = registry.reference("e911/contoso:prod");
    let push = [
        "oci",
        "push",
        "bundle",
        path(&signed),
        &reference,
        "--insecure",
    ];

    let err = fails(&push, &[]);
    assert!(err.contains("credentials: anonymous"), "{err}");
    let wrong = [
        ("E911_REGISTRY_USERNAME", "ops"),
        ("E911_REGISTRY_PASSWORD", "wrong"),
    ];
    fails(&push, &wrong);
    let env = [
        ("E911_REGISTRY_USERNAME", "ops"),
        ("E911_REGISTRY_PASSWORD", "s3cret-pass"),
    ];
    ok(&push, &env);

    let pulled = dir.join("pulled.bundle");
    let pull = [
        "oci",
        "pull",
        &reference,
        "-o",
        path(&pulled),
        "--insecure",
        "--trust-key",
        path(&public),
    ];
    fails(&pull, &[]);
    // `docker login` writes base64("user:password") under the registry's host:port.
    let docker = dir.join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode("ops:s3cret-pass");
    std::fs::write(
        docker.join("config.json"),
        format!(
            r#"{{"auths": {{"127.0.0.1:{}": {{"auth": "{auth}"}}}}}}"#,
            registry.port
        ),
    )
    .unwrap();
    ok(&pull, &[("DOCKER_CONFIG", path(&docker))]);
    assert!(std::fs::read(&pulled).unwrap() == std::fs::read(&signed).unwrap());
}

/// A process whose stderr lines are collected with the moment each arrived.
struct Watched {
    _guard: Guard,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Watched {
    fn start(args: &[String], ready: &str) -> Self {
        let mut child = Command::new(HARNESS)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
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
            _guard: Guard(child),
            lines,
        };
        watched.wait_for(ready, Duration::from_secs(30));
        watched
    }

    /// When the first line containing `what` arrived; waits at most `limit`.
    fn wait_for(&self, what: &str, limit: Duration) -> Instant {
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

    fn output(&self) -> String {
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
fn loopback_policy(dir: &Path) -> PathBuf {
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
    let hook = webhook();
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

/// A local webhook that answers every POST with 204, so notifications stay on the machine.
fn webhook() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/e911", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let mut got = vec![0u8; 16 * 1024];
            let _ = conn.read(&mut got);
            let _ = conn.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
        }
    });
    url
}

fn sipp(dir: &Path, name: &str, args: &[String]) -> Guard {
    let file = |ext: &str| dir.join(format!("{name}.{ext}")).display().to_string();
    let child = Command::new("sipp")
        .args(args)
        .args(["-nostdin", "-timeout", "60s", "-timeout_error"])
        .args(["-trace_err", "-error_file", &file("err")])
        .args(["-trace_stat", "-stf", &file("csv"), "-fd", "1"])
        .stdout(std::fs::File::create(file("out")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Guard(child)
}

/// Waits for a SIPp and checks it placed or took exactly `calls` calls, none failed.
fn assert_calls(dir: &Path, name: &str, sipp: &mut Guard, calls: u64) {
    let status = sipp.wait(Duration::from_secs(120));
    let errors = std::fs::read_to_string(dir.join(format!("{name}.err"))).unwrap_or_default();
    assert!(
        status.success(),
        "sipp {name} exited with {status}\n{errors}"
    );
    let csv = std::fs::read_to_string(dir.join(format!("{name}.csv"))).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(';').collect();
    let last: Vec<&str> = lines.last().unwrap().split(';').collect();
    let column = |column: &str| -> u64 {
        let i = header.iter().position(|h| *h == column).unwrap();
        last[i].parse().unwrap()
    };
    assert_eq!(column("SuccessfulCall(C)"), calls, "sipp {name}");
    assert_eq!(column("FailedCall(C)"), 0, "sipp {name}");
}

fn push_bundle(registry: &Registry, file: &Path, reference: &str) {
    let _ = registry;
    ok(
        &["oci", "push", "bundle", path(file), reference, "--insecure"],
        &[],
    );
}

/// The whole path under load: SIPp places emergency calls through `proxy --policy
/// oci://…` while new revisions are pushed, an unsigned bundle is pushed (refused), and
/// the registry goes down and comes back. No call fails; each pushed revision reaches the
/// proxy within one poll interval of the push (plus the pull and the swap), printed.
#[test]
fn proxy_follows_a_registry_tag_under_sipp_load_through_an_outage() {
    require_sipp();
    let dir = scratch("proxy");
    let mut registry = Registry::start(&dir, None);
    let (key, public) = keygen(&dir, "signing.key");
    let source = loopback_policy(&dir);
    let reference = registry.reference("e911/contoso:prod");
    push_bundle(
        &registry,
        &bundle(&dir, &source, "2026.11.1", Some(&key)),
        &reference,
    );

    let poll = Duration::from_secs(1);
    let proxy_port = free_port("127.0.0.1");
    let uas_port = free_port("127.0.0.5");
    let calls: u64 = 120;
    let state = dir.join("state");
    let uas_args: Vec<String> = [
        "-sf",
        &root().join("tests/sipp/uas.xml").display().to_string(),
        "-i",
        "127.0.0.5",
        "-p",
        &uas_port.to_string(),
        "-t",
        "u1",
        "-m",
        &calls.to_string(),
    ]
    .map(String::from)
    .to_vec();
    let mut callee = sipp(&dir, "callee", &uas_args);
    let proxy = Watched::start(
        &[
            "proxy".to_owned(),
            format!("--listen=udp:127.0.0.1:{proxy_port}"),
            format!("--policy={reference}"),
            "--insecure".to_owned(),
            format!("--poll-seconds={}", poll.as_secs_f64()),
            format!("--trust-key={}", public.display()),
            format!("--upstream=127.0.0.5:{uas_port}"),
            format!("--elin-upstream=127.0.0.5:{uas_port}"),
            format!("--state-dir={}", state.display()),
        ],
        "ready",
    );
    let uac_args: Vec<String> = [
        &format!("127.0.0.1:{proxy_port}"),
        "-sf",
        &root().join("tests/sipp/uac.xml").display().to_string(),
        "-s",
        "911",
        "-i",
        "127.2.0.10",
        "-p",
        &free_port("127.2.0.10").to_string(),
        "-t",
        "u1",
        "-m",
        &calls.to_string(),
        "-r",
        "10",
        "-l",
        "20",
    ]
    .map(String::from)
    .to_vec();
    let mut caller = sipp(&dir, "caller", &uac_args);

    let mut latencies = Vec::new();
    let mut apply = |registry: &Registry, revision: &str| {
        let file = bundle(&dir, &source, revision, Some(&key));
        push_bundle(registry, &file, &reference);
        let pushed = Instant::now();
        let applied = proxy.wait_for(
            &format!("policy reloaded: revision {revision}"),
            Duration::from_secs(15),
        );
        let latency = applied.saturating_duration_since(pushed);
        println!("push of {revision} -> proxy applied it: {latency:?} (poll interval {poll:?})");
        latencies.push(latency);
    };
    std::thread::sleep(Duration::from_secs(2));
    apply(&registry, "2026.11.2-oci");

    // An unsigned push is refused; the revision in force stays.
    let unsigned = bundle(&dir, &source, "2026.11.9-unsigned", None);
    push_bundle(&registry, &unsigned, &reference);
    proxy.wait_for(
        "unsigned, but signing keys are configured",
        Duration::from_secs(15),
    );

    // Outage: the proxy notices, keeps deciding with 2026.11.2-oci, and picks up the next
    // push once the registry is back.
    registry.stop();
    proxy.wait_for("cannot look up", Duration::from_secs(15));
    std::thread::sleep(Duration::from_secs(2));
    registry.resume();
    apply(&registry, "2026.11.3-oci");

    assert_calls(&dir, "caller", &mut caller, calls);
    assert_calls(&dir, "callee", &mut callee, calls);
    drop(proxy);

    // Every call has an audit record, and the revisions follow the pushes in order.
    let audit = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    let mut seen = std::collections::HashSet::new();
    let revisions: Vec<String> = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| seen.insert(r["call_id"].as_str().unwrap().to_owned()))
        .map(|r| r["bundle_revision"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(revisions.len() as u64, calls, "an audit record per call");
    let mut order: Vec<&str> = revisions.iter().map(String::as_str).collect();
    order.dedup();
    assert_eq!(order, ["2026.11.1", "2026.11.2-oci", "2026.11.3-oci"]);
    for latency in &latencies {
        // One poll interval, plus time for the pull, the checks and the swap on a busy
        // two-core machine.
        assert!(
            *latency < poll + Duration::from_secs(1),
            "a push took {latency:?} to apply (poll interval {poll:?})"
        );
    }
}

/// `bundle serve` mirrors a tag over HTTP for Envoy's poller: the bundle bytes with a
/// SHA-256 ETag, 304 for a matching If-None-Match, a new push served within a poll
/// interval, the last good bundle served through an outage and a refused push.
#[test]
fn bundle_serve_mirrors_the_tag_with_etags_through_an_outage() {
    let dir = scratch("serve");
    let mut registry = Registry::start(&dir, None);
    let (key, public) = keygen(&dir, "signing.key");
    let reference = registry.reference("e911/contoso:prod");
    let first = bundle(&dir, &contoso(), "2026.11.1", Some(&key));
    push_bundle(&registry, &first, &reference);
    let port = free_port("127.0.0.1");
    let poll = Duration::from_secs(1);
    let serve = Watched::start(
        &[
            "bundle".to_owned(),
            "serve".to_owned(),
            reference.clone(),
            format!("--listen=127.0.0.1:{port}"),
            "--path=/e911/bundle".to_owned(),
            "--insecure".to_owned(),
            format!("--poll-seconds={}", poll.as_secs_f64()),
            format!("--trust-key={}", public.display()),
        ],
        "ready",
    );
    let get = |etag: Option<&str>| {
        let fields: Vec<(&str, &str)> = etag.map(|e| ("If-None-Match", e)).into_iter().collect();
        http_get(port, "/e911/bundle", &fields).unwrap()
    };
    let expect_served = |file: &Path| -> String {
        let bytes = std::fs::read(file).unwrap();
        let (status, fields, body) = get(None);
        assert_eq!(status, 200);
        assert!(body == bytes, "served bytes differ from {}", file.display());
        let etag = field(&fields, "etag").unwrap().to_owned();
        assert_eq!(etag, format!("\"{}\"", sha256_hex(&bytes)));
        etag
    };
    let etag = expect_served(&first);
    let (status, fields, body) = get(Some(&etag));
    assert_eq!((status, body.len()), (304, 0));
    assert_eq!(field(&fields, "etag"), Some(etag.as_str()));
    assert_eq!(http_get(port, "/other", &[]).unwrap().0, 404);

    // A new revision is served within a poll interval of the push.
    let second = bundle(&dir, &contoso(), "2026.11.2", Some(&key));
    push_bundle(&registry, &second, &reference);
    let pushed = Instant::now();
    serve.wait_for("serving revision 2026.11.2", Duration::from_secs(15));
    let latency = pushed.elapsed();
    println!("push -> bundle serve serving it: {latency:?} (poll interval {poll:?})");
    let etag = expect_served(&second);
    assert_eq!(get(Some(&etag)).0, 304);
    assert_eq!(get(Some("\"stale\"")).0, 200);

    // Refused push and outage: the last good bundle stays served.
    let unsigned = bundle(&dir, &contoso(), "2026.11.9", None);
    push_bundle(&registry, &unsigned, &reference);
    serve.wait_for(
        "unsigned, but signing keys are configured",
        Duration::from_secs(15),
    );
    registry.stop();
    serve.wait_for("cannot look up", Duration::from_secs(15));
    assert_eq!(expect_served(&second), etag);
    registry.resume();
    let third = bundle(&dir, &contoso(), "2026.11.3", Some(&key));
    push_bundle(&registry, &third, &reference);
    serve.wait_for("serving revision 2026.11.3", Duration::from_secs(15));
    expect_served(&third);
    drop(serve);
    assert!(latency < poll + Duration::from_secs(1), "{latency:?}");
}
