//! Distribution through a real OCI registry: Debian's `docker-registry` (CNCF
//! distribution 2.8), started here on a free loopback port with a config and storage
//! folder of its own (anonymous, or htpasswd Basic auth with a bcrypt file made here), and
//! driven through the `e911-harness` binary: `oci push|pull|inspect`, `proxy --policy
//! oci://…` under SIPp load, and `bundle serve`. What the registry stores is read back over
//! plain HTTP by the test itself, so layouts are checked against the registry, not against
//! our own reader. `cargo xtask test` installs `docker-registry` and SIPp.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod oci_support;

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use oci_support::envoy::Envoy;
use oci_support::*;

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
            "e911:policy/callback-store@0.6.0",
            "e911:policy/notifier@0.6.0",
            "e911:policy/log@0.6.0"
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

    // Tampered before the push: a byte of the signed bundle changed and the artifact
    // pushed with digests that match it (as anyone with push rights could, bypassing our
    // own push's check); the bundle's own digest and signature refuse it.
    let mut forged = std::fs::read(&signed).unwrap();
    let last = forged.len() - 1;
    forged[last] ^= 0x01;
    let mut tampered = manifest.clone();
    tampered["layers"][0]["digest"] = registry.put_blob("e911/contoso", &forged).into();
    registry.put_manifest("e911/contoso", "tampered", &tampered);
    let args = pull(&registry.reference("e911/contoso:tampered"), &[&public]);
    let err = fails(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert!(
        err.contains("bundle content does not match its digest"),
        "{err}"
    );

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

/// The whole path under load: SIPp places emergency calls through `proxy --policy
/// oci://…` while new revisions are pushed, an unsigned bundle is pushed (refused), and
/// the registry goes down and comes back. No call fails; each pushed revision reaches the
/// proxy within one poll interval of the push (plus the pull and the swap), printed. A
/// proxy restarted while the registry is down starts with the last good bundle.
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
        &scenario("uas.xml"),
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
    let proxy_args = [
        "proxy".to_owned(),
        format!("--listen=udp:127.0.0.1:{proxy_port}"),
        format!("--policy={reference}"),
        "--insecure".to_owned(),
        format!("--poll-seconds={}", poll.as_secs_f64()),
        format!("--trust-key={}", public.display()),
        format!("--upstream=127.0.0.5:{uas_port}"),
        format!("--elin-upstream=127.0.0.5:{uas_port}"),
        format!("--state-dir={}", state.display()),
    ];
    let proxy = Watched::start(&proxy_args, "ready");
    let uac_args: Vec<String> = [
        &format!("127.0.0.1:{proxy_port}"),
        "-sf",
        &scenario("uac.xml"),
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
    proxy.wait_for("reachable again", Duration::from_secs(15));
    apply(&registry, "2026.11.3-oci");

    caller.assert_calls(calls, String::new);
    callee.assert_calls(calls, String::new);
    drop(proxy);

    // Restarted while the registry is down, the proxy starts with the last good bundle.
    registry.stop();
    let restarted = Watched::start(&proxy_args, "ready");
    restarted.wait_for("starting with the last good bundle", Duration::from_secs(5));
    restarted.wait_for("bundle revision 2026.11.3-oci)", Duration::from_secs(5));
    drop(restarted);

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

/// A tag moved back to an older, validly signed bundle: the following proxy refuses it
/// (the follower applies `e911_policy::admit`), keeps the running revision and says why,
/// and takes the next newer push; with `--allow-rollback` the older push is applied.
#[test]
fn a_followed_tag_moved_to_an_older_signed_bundle_is_refused_unless_allow_rollback() {
    let dir = scratch("rollback");
    let registry = Registry::start(&dir, None);
    let (key, public) = keygen(&dir, "signing.key");
    let reference = registry.reference("e911/contoso:prod");
    push_bundle(
        &registry,
        &bundle(&dir, &contoso(), "2026.11.2", Some(&key)),
        &reference,
    );
    let proxy = |label: &str, extra: &[&str]| {
        let mut args = vec![
            "proxy".to_owned(),
            format!("--listen=udp:127.0.0.1:{}", free_port("127.0.0.1")),
            format!("--policy={reference}"),
            "--insecure".to_owned(),
            "--poll-seconds=0.5".to_owned(),
            format!("--trust-key={}", public.display()),
            "--upstream=127.0.0.5:5060".to_owned(),
            format!("--state-dir={}", dir.join(label).display()),
        ];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        Watched::start(&args, "ready")
    };
    let refusing = proxy("refusing", &[]);
    let forcing = proxy("forcing", &["--allow-rollback"]);

    push_bundle(
        &registry,
        &bundle(&dir, &contoso(), "2026.9.1", Some(&key)),
        &reference,
    );
    refusing.wait_for(
        "bundle revision 2026.9.1 is older than the running revision 2026.11.2",
        Duration::from_secs(15),
    );
    refusing.wait_for("revision 2026.11.2 stays active", Duration::from_secs(5));
    forcing.wait_for(
        "policy reloaded: revision 2026.9.1 (was 2026.11.2) (an older revision: --allow-rollback)",
        Duration::from_secs(15),
    );
    assert!(
        !refusing.output().contains("policy reloaded"),
        "{}",
        refusing.output()
    );

    push_bundle(
        &registry,
        &bundle(&dir, &contoso(), "2026.11.3", Some(&key)),
        &reference,
    );
    refusing.wait_for(
        "policy reloaded: revision 2026.11.3 (was 2026.11.2)",
        Duration::from_secs(15),
    );
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

/// The issue's end-to-end path: one push reaches a running harness proxy (following the
/// tag itself) and a running Envoy (polling `bundle serve`, which follows the tag) while
/// SIPp places calls through both; none fails. The time from the push to each applying
/// it is printed. The proxy is one poll interval from the registry; Envoy is two in
/// series (the mirror's, then its own).
#[test]
fn one_push_reaches_the_harness_proxy_and_envoy_through_the_mirror_under_sipp_load() {
    require_sipp();
    let dir = scratch("envoy");
    let registry = Registry::start(&dir, None);
    let (key, public) = keygen(&dir, "signing.key");
    // The key file as keygen wrote it: Envoy reads the same hex as the harness.
    let key_hex = std::fs::read_to_string(&public).unwrap().trim().to_owned();
    let source = loopback_policy(&dir);
    let reference = registry.reference("e911/contoso:prod");
    push_bundle(
        &registry,
        &bundle(&dir, &source, "2026.11.1", Some(&key)),
        &reference,
    );

    // The proxy and Envoy poll every second; the mirror, a HEAD request to the registry,
    // four times as often, so it adds little to Envoy's interval.
    let poll = Duration::from_secs(1);
    let mirror_poll = Duration::from_millis(250);
    let mirror_port = free_port("127.0.0.1");
    let mirror = Watched::start(
        &[
            "bundle".to_owned(),
            "serve".to_owned(),
            reference.clone(),
            format!("--listen=127.0.0.1:{mirror_port}"),
            "--path=/contoso.bundle".to_owned(),
            "--insecure".to_owned(),
            format!("--poll-seconds={}", mirror_poll.as_secs_f64()),
            format!("--trust-key={}", public.display()),
        ],
        "ready",
    );
    let calls: u64 = 60;
    let (proxy_callee_port, envoy_callee_port) = (free_port("127.0.0.5"), free_port("127.0.0.6"));
    let callee = |name: &str, ip: &str, port: u16, t: &str| {
        let args: Vec<String> = [
            "-sf",
            &scenario("uas.xml"),
            "-i",
            ip,
            "-p",
            &port.to_string(),
            "-t",
            t,
            "-m",
            &calls.to_string(),
        ]
        .map(String::from)
        .to_vec();
        sipp(&dir, name, &args)
    };
    let mut proxy_callee = callee("proxy-callee", "127.0.0.5", proxy_callee_port, "u1");
    let mut envoy_callee = callee("envoy-callee", "127.0.0.6", envoy_callee_port, "t1");

    let proxy_port = free_port("127.0.0.1");
    let state = dir.join("state");
    let proxy = Watched::start(
        &[
            "proxy".to_owned(),
            format!("--listen=udp:127.0.0.1:{proxy_port}"),
            format!("--policy={reference}"),
            "--insecure".to_owned(),
            format!("--poll-seconds={}", poll.as_secs_f64()),
            format!("--trust-key={}", public.display()),
            format!("--upstream=127.0.0.5:{proxy_callee_port}"),
            format!("--elin-upstream=127.0.0.5:{proxy_callee_port}"),
            format!("--state-dir={}", state.display()),
        ],
        "ready",
    );
    let plugin_config = serde_json::json!({
        "node": "edge-1.contoso.com",
        "trusted_keys": [key_hex],
        "bundle": {"http": {"cluster": "bundles", "authority": "bundles.test",
                            "path": "/contoso.bundle", "poll_seconds": poll.as_secs()}},
    })
    .to_string();
    let envoy = Envoy::start(
        &dir,
        &plugin_config,
        ("127.0.0.6", envoy_callee_port),
        mirror_port,
    );
    let start = Instant::now();
    while envoy.counter("e911.bundle.activations") < 1 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "Envoy never took the mirror's bundle:\n{}",
            envoy.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let caller = |name: &str, to: &str, from_ip: &str, t: &str| {
        let args: Vec<String> = [
            to,
            "-sf",
            &scenario("uac.xml"),
            "-s",
            "911",
            "-i",
            from_ip,
            "-p",
            &free_port(from_ip).to_string(),
            "-t",
            t,
            "-m",
            &calls.to_string(),
            "-r",
            "10",
            "-l",
            "20",
        ]
        .map(String::from)
        .to_vec();
        sipp(&dir, name, &args)
    };
    let proxy_addr = format!("127.0.0.1:{proxy_port}");
    let mut proxy_caller = caller("proxy-caller", &proxy_addr, "127.2.0.10", "u1");
    let mut envoy_caller = caller("envoy-caller", &envoy.listener, "127.2.0.11", "t1");

    std::thread::sleep(Duration::from_secs(2));
    // Each worker's VM counts its own activation: compare with the count before the push.
    let activations = envoy.counter("e911.bundle.activations");
    push_bundle(
        &registry,
        &bundle(&dir, &source, "2026.11.2-oci", Some(&key)),
        &reference,
    );
    let pushed = Instant::now();
    // Envoy's counter is read as it changes; the proxy's and the mirror's log lines carry
    // the moment they arrived, so reading them afterwards loses nothing.
    while envoy.counter("e911.bundle.activations") <= activations {
        assert!(
            pushed.elapsed() < Duration::from_secs(15),
            "Envoy never applied the push:\n{}",
            envoy.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let to_envoy = pushed.elapsed();
    let to_proxy = proxy
        .wait_for(
            "policy reloaded: revision 2026.11.2-oci",
            Duration::from_secs(15),
        )
        .saturating_duration_since(pushed);
    let to_mirror = mirror
        .wait_for("serving revision 2026.11.2-oci", Duration::from_secs(15))
        .saturating_duration_since(pushed);
    println!(
        "push -> harness proxy applied: {to_proxy:?} (polls every {poll:?}); -> mirror \
         serving: {to_mirror:?} (every {mirror_poll:?}); -> Envoy applied: {to_envoy:?} \
         (polls the mirror every {poll:?})"
    );

    proxy_caller.assert_calls(calls, String::new);
    envoy_caller.assert_calls(calls, String::new);
    proxy_callee.assert_calls(calls, String::new);
    envoy_callee.assert_calls(calls, String::new);

    let mut seen = std::collections::HashSet::new();
    let proxy_revisions: Vec<String> = std::fs::read_to_string(state.join("audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| seen.insert(r["call_id"].as_str().unwrap().to_owned()))
        .map(|r| r["bundle_revision"].as_str().unwrap().to_owned())
        .collect();
    let envoy_revisions: Vec<String> = envoy
        .audits()
        .iter()
        .map(|r| r["bundle_revision"].as_str().unwrap().to_owned())
        .collect();
    for (host, revisions) in [("proxy", proxy_revisions), ("Envoy", envoy_revisions)] {
        let mut order: Vec<&str> = revisions.iter().map(String::as_str).collect();
        order.dedup();
        assert_eq!(order, ["2026.11.1", "2026.11.2-oci"], "{host}");
    }
    // One poll interval to the proxy; the mirror's and its own to Envoy; plus time to
    // pull, check and swap on a busy two-core machine.
    let slack = Duration::from_secs(1);
    assert!(to_proxy < poll + slack, "proxy: {to_proxy:?}");
    assert!(to_envoy < mirror_poll + poll + slack, "Envoy: {to_envoy:?}");
}

/// Uploads `layer` and `config` and a manifest naming them (with `declared` as the layer's
/// size when given, else its true size) under `repo:tag`, as any client with push rights
/// could.
fn put_artifact(
    registry: &Registry,
    repo: &str,
    tag: &str,
    (config_type, config): (&str, &[u8]),
    (layer_type, layer): (&str, &[u8]),
    declared: Option<usize>,
) {
    let config_digest = registry.put_blob(repo, config);
    let layer_digest = registry.put_blob(repo, layer);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": config_type, "digest": config_digest, "size": config.len()},
        "layers": [{
            "mediaType": layer_type,
            "digest": layer_digest,
            "size": declared.unwrap_or(layer.len()),
        }],
    });
    registry.put_manifest(repo, tag, &manifest);
}

#[test]
fn pulls_stop_at_the_kind_limit_and_at_the_size_the_manifest_declares() {
    let dir = scratch("bounded");
    let registry = Registry::start(&dir, None);
    let unsigned = bundle(&dir, &contoso(), "2026.11.5", None);
    let size = std::fs::metadata(&unsigned).unwrap().len();
    let reference = registry.reference("e911/contoso:prod");
    ok(
        &[
            "oci",
            "push",
            "bundle",
            path(&unsigned),
            &reference,
            "--insecure",
        ],
        &[],
    );
    let out = dir.join("pulled.bundle");
    let pull = |reference: &str, extra: &[&str]| {
        let mut args = vec!["oci", "pull", reference, "-o", path(&out), "--insecure"];
        args.extend_from_slice(extra);
        args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()
    };

    // A bundle one byte over the limit: refused on the manifest's word, nothing written.
    let under = (size - 1).to_string();
    let args = pull(&reference, &["--max-bundle-bytes", &under]);
    let err = fails(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert!(
        err.contains(&format!(
            "declares {size} bytes, more than the {under}-byte limit (--max-bundle-bytes)"
        )),
        "{err}"
    );
    assert!(!out.exists(), "nothing written for a refused pull");
    // Exactly at the limit is fine.
    let at = size.to_string();
    let args = pull(&reference, &["--max-bundle-bytes", &at]);
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert!(std::fs::read(&out).unwrap() == std::fs::read(&unsigned).unwrap());
    let _ = std::fs::remove_file(&out);

    // The manifest limit applies to the manifest itself.
    let args = pull(&reference, &["--max-manifest-bytes", "100"]);
    let err = fails(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert!(
        err.contains("more than the 100-byte limit (--max-manifest-bytes)"),
        "{err}"
    );

    // distribution 2.8 stores a manifest whose descriptor understates its blob's size
    // (it checks the blob exists, not its size): the pull stops reading once the
    // registry has sent more than the manifest declared.
    let bytes = std::fs::read(&unsigned).unwrap();
    let mut manifest = registry.manifest("e911/contoso", "prod");
    manifest["layers"][0]["size"] = 16.into();
    registry.put_manifest("e911/contoso", "understated", &manifest);
    assert_eq!(
        registry.manifest("e911/contoso", "understated")["layers"][0]["size"],
        16
    );
    let args = pull(&registry.reference("e911/contoso:understated"), &[]);
    let err = fails(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert!(
        err.contains("the registry sent more than the 16 bytes the manifest declares"),
        "{err}"
    );
    assert!(!out.exists());
    assert!(bytes.len() > 16);
}

/// `layer.tar.gz` made by the real tar and gzip from `files` (name, size) of zeros, as
/// sparse files: megabytes of layer for gigabytes of content cost no disk.
fn zero_tar_gzip(dir: &Path, files: &[(&str, u64)]) -> Vec<u8> {
    let folder = dir.join("bomb");
    std::fs::create_dir_all(&folder).unwrap();
    for (name, size) in files {
        let file = std::fs::File::create(folder.join(name)).unwrap();
        file.set_len(*size).unwrap();
    }
    let names: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar --format=ustar -cf - {} | gzip -9 > ../layer.tar.gz",
            names.join(" ")
        ))
        .current_dir(&folder)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(dir.join("layer.tar.gz")).unwrap()
}

/// The peak resident size, in KiB, of `e911-harness ARGS` (GNU time's `%M`), and its
/// stderr without time's line.
fn peak_rss_kib(args: &[&str]) -> (u64, bool, String) {
    let out = std::process::Command::new("/usr/bin/time")
        .args(["-f", "peak-rss-kib %M", HARNESS])
        .args(args)
        .env("DOCKER_CONFIG", "/nonexistent-docker-config")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak-rss-kib "))
        .unwrap_or_else(|| panic!("no peak RSS in:\n{stderr}"));
    let rest: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("peak-rss-kib ") && !l.starts_with("Command exited"))
        .collect();
    (
        line.trim().parse().unwrap(),
        out.status.success(),
        rest.join("\n"),
    )
}

#[test]
fn a_gzip_bomb_in_istio_layout_is_refused_without_unpacking_it() {
    let dir = scratch("gzip-bomb");
    let registry = Registry::start(&dir, None);
    const BOMB: u64 = 256 << 20;
    let config =
        br#"{"architecture":"wasm","os":"wasip1","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config = ("application/vnd.oci.image.config.v1+json", &config[..]);
    let gzip = "application/vnd.oci.image.layer.v1.tar+gzip";

    // plugin.wasm itself is the bomb: its tar header gives it away.
    let layer = zero_tar_gzip(&dir, &[("plugin.wasm", BOMB)]);
    assert!(layer.len() < 1 << 20, "{} bytes of layer", layer.len());
    put_artifact(
        &registry,
        "e911/bomb",
        "plugin",
        config,
        (gzip, &layer),
        None,
    );
    // A bomb in front of a small plugin.wasm: only the decompressed count catches it.
    std::fs::remove_dir_all(dir.join("bomb")).unwrap();
    let layer = zero_tar_gzip(&dir, &[("padding", BOMB), ("plugin.wasm", 8)]);
    put_artifact(
        &registry,
        "e911/bomb",
        "ahead",
        config,
        (gzip, &layer),
        None,
    );

    let out = dir.join("plugin.wasm");
    for (tag, expected) in [
        (
            "plugin",
            "plugin.wasm in the tar+gzip layer is 268435456 bytes, more than 67108864",
        ),
        (
            "ahead",
            "the tar+gzip layer unpacks to more than 67108864 bytes",
        ),
    ] {
        let reference = registry.reference(&format!("e911/bomb:{tag}"));
        let (peak, success, stderr) =
            peak_rss_kib(&["oci", "pull", &reference, "-o", path(&out), "--insecure"]);
        assert!(!success, "{tag}: pulled");
        assert!(stderr.contains(expected), "{tag}: {stderr}");
        assert!(stderr.contains("--max-module-bytes"), "{tag}: {stderr}");
        assert!(!out.exists(), "{tag}: nothing written");
        eprintln!("{tag}: peak RSS {peak} KiB refusing a {BOMB}-byte bomb");
        // Far below the bomb (and below the 64 MiB limit): it was never held.
        assert!(peak < 64 << 10, "{tag}: peak RSS {peak} KiB");
    }
}

/// `oci pull REFERENCE -o OUT --insecure --trust-key KEY…`, as the operator types it.
fn pull_args<'a>(reference: &'a str, out: &'a Path, keys: &[&'a Path]) -> Vec<&'a str> {
    let mut args = vec!["oci", "pull", reference, "-o", path(out), "--insecure"];
    for key in keys {
        args.extend(["--trust-key", path(key)]);
    }
    args
}

#[test]
fn modules_and_components_carry_a_registry_signature_that_pulls_check() {
    let dir = scratch("signed-wasm");
    let registry = Registry::start(&dir, None);
    let (key, public) = keygen(&dir, "signing.key");
    let (other_key, other_public) = keygen(&dir, "other.key");
    // A key's id: the first 8 bytes of SHA-256 over its 32 bytes, in hex.
    let key_id = |public: &Path| {
        let hex = std::fs::read_to_string(public).unwrap();
        let bytes: Vec<u8> = (0..64)
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex.trim()[i..i + 2], 16).unwrap())
            .collect();
        sha256_hex(&bytes)[..16].to_owned()
    };
    let module = wasm_artifact("e911_envoy.wasm", "build-envoy");
    let module_file = dir.join("e911_envoy.wasm");
    std::fs::write(&module_file, &module).unwrap();
    let component = wasm_artifact("e911_policy.component.wasm", "build-component");
    let component_file = dir.join("policy.component.wasm");
    std::fs::write(&component_file, &component).unwrap();

    let reference = registry.reference("e911/envoy-filter:0.2.0");
    let istio_reference = format!("{reference}-istio");
    let component_reference = registry.reference("e911/policy-component:0.2.0");
    let pushed = ok(
        &[
            "oci",
            "push",
            "module",
            path(&module_file),
            &reference,
            "--insecure",
            "--sign-key",
            path(&key),
        ],
        &[],
    );
    let digest = pushed_digest(&pushed, &reference);
    let signed_lines = pushed
        .lines()
        .filter(|l| l.contains("signed by key"))
        .count();
    assert_eq!(signed_lines, 2, "both layouts signed:\n{pushed}");
    let pushed = ok(
        &[
            "oci",
            "push",
            "component",
            path(&component_file),
            &component_reference,
            "--insecure",
            "--sign-key",
            path(&key),
        ],
        &[],
    );
    assert!(pushed.contains("signed by key"), "{pushed}");

    // The layout in the registry: the referrers tag holds an index listing one signature
    // manifest, whose subject is the module's manifest and whose layer is 64 bytes.
    let referrers = |repo: &str, digest: &str| -> serde_json::Value {
        let tag = digest.replace("sha256:", "sha256-");
        let (status, _, body) = http_get(
            registry.port,
            &format!("/v2/{repo}/manifests/{tag}"),
            &[("Accept", "application/vnd.oci.image.index.v1+json")],
        )
        .unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap()
    };
    let index = referrers("e911/envoy-filter", &digest);
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0]["artifactType"],
        "application/vnd.e911.signature.v1"
    );
    let signature = registry.manifest("e911/envoy-filter", entries[0]["digest"].as_str().unwrap());
    assert_eq!(signature["subject"]["digest"], digest.as_str());
    assert_eq!(
        signature["layers"][0]["mediaType"],
        "application/vnd.e911.signature.ed25519.v1"
    );
    assert_eq!(signature["layers"][0]["size"], 64);
    assert_eq!(
        signature["annotations"]["io.e911.signature.key-id"],
        key_id(&public).as_str()
    );

    // Verified pulls, all three layouts.
    let out = dir.join("pulled.wasm");
    for (reference, bytes) in [
        (&reference, &module),
        (&istio_reference, &module),
        (&component_reference, &component),
    ] {
        let pulled = ok(&pull_args(reference, &out, &[&public]), &[]);
        assert!(
            pulled.contains(&format!("signed by key {}", key_id(&public))),
            "{pulled}"
        );
        assert!(std::fs::read(&out).unwrap() == *bytes, "{reference}");
        std::fs::remove_file(&out).unwrap();
    }

    // A key that did not sign it.
    let err = fails(&pull_args(&reference, &out, &[&other_public]), &[]);
    assert!(
        err.contains("no signature verifies with the trusted keys"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written for a refused pull");

    // A second signer is listed next to the first; either key now verifies.
    ok(
        &[
            "oci",
            "push",
            "module",
            path(&module_file),
            &reference,
            "--insecure",
            "--sign-key",
            path(&other_key),
        ],
        &[],
    );
    let listed = referrers("e911/envoy-filter", &digest)["manifests"].clone();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    let pulled = ok(&pull_args(&reference, &out, &[&other_public]), &[]);
    assert!(pulled.contains(&key_id(&other_public)), "{pulled}");
    ok(&pull_args(&reference, &out, &[&public]), &[]);

    // The signature blob changed at rest: its digest no longer matches, nothing verifies.
    let component_digest = pushed_digest(&pushed, &component_reference);
    let index = referrers("e911/policy-component", &component_digest);
    let signature = registry.manifest(
        "e911/policy-component",
        index["manifests"][0]["digest"].as_str().unwrap(),
    );
    let blob = registry.blob_file(signature["layers"][0]["digest"].as_str().unwrap());
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[0] ^= 0x01;
    std::fs::write(&blob, &bytes).unwrap();
    let err = fails(&pull_args(&component_reference, &out, &[&public]), &[]);
    assert!(
        err.contains("no signature verifies") && err.contains("refused"),
        "{err}"
    );

    // Unsigned (pushed without --sign-key to a repository of its own): refused with keys,
    // taken with a loud warning without.
    let unsigned = registry.reference("e911/unsigned-filter:0.2.0");
    ok(
        &[
            "oci",
            "push",
            "module",
            path(&module_file),
            &unsigned,
            "--insecure",
        ],
        &[],
    );
    let _ = std::fs::remove_file(&out);
    let err = fails(&pull_args(&unsigned, &out, &[&public]), &[]);
    assert!(
        err.contains("is unsigned (no referrers tag sha256-") && err.contains("--trust-key"),
        "{err}"
    );
    assert!(!out.exists());
    let run = harness(&pull_args(&unsigned, &out, &[]), &[]);
    assert!(run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("warning") && stderr.contains("UNVERIFIED"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("unverified"));

    // A bundle keeps its own signature: no registry signature for it.
    let err = fails(
        &[
            "oci",
            "push",
            "bundle",
            path(&module_file),
            &unsigned,
            "--insecure",
            "--sign-key",
            path(&key),
        ],
        &[],
    );
    assert!(err.contains("bundle build --sign-key"), "{err}");
}

#[test]
fn a_manifest_over_the_limit_is_refused_before_its_body_is_read() {
    let dir = scratch("huge-manifest");
    let registry = Registry::start(&dir, None);
    let unsigned = bundle(&dir, &contoso(), "2026.11.5", None);
    let reference = registry.reference("e911/contoso:prod");
    ok(
        &[
            "oci",
            "push",
            "bundle",
            path(&unsigned),
            &reference,
            "--insecure",
        ],
        &[],
    );
    // The same manifest with 3 MiB of annotation (distribution 2.8 takes up to 4 MiB): the
    // registry announces its length, and the pull refuses it before reading the body.
    let mut manifest = registry.manifest("e911/contoso", "prod");
    manifest["annotations"]["padding"] = "x".repeat(3 << 20).into();
    registry.put_manifest("e911/contoso", "huge", &manifest);
    let size = manifest.to_string().len();
    let huge = registry.reference("e911/contoso:huge");
    let out = dir.join("pulled.bundle");
    let err = fails(&pull_args(&huge, &out, &[]), &[]);
    assert!(
        err.contains(&format!("the registry announces {size} bytes"))
            && err.contains("more than the 65536-byte limit (--max-manifest-bytes)"),
        "{err}"
    );
    assert!(!out.exists());
}
