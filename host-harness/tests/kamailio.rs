//! End-to-end through a real Kamailio 5.6: SIPp caller → Kamailio (hosts/kamailio/
//! kamailio.cfg, unchanged, with the component called from `app_python3` through the
//! native bridge `e911_native`) → SIPp callees, over UDP (and TCP for the first scenario)
//! on loopback. The callee scenarios check what
//! arrives (`tests/sipp/uas-*.xml`: PIDF-LO and Geolocation on the sip-trunk route, an
//! ELIN as caller on the ELIN route, the caller reached on a PSAP callback); the tests
//! assert every SIPp's exit status and call counts, Kamailio's audit lines and its
//! htables (through `kamcmd`). Callers bind 127.1.0.x (HQ) and 127.2.0.x (Wichita), which
//! the test bundle maps (as in `sipp.rs`).
//!
//! Needs Debian's `kamailio`, `kamailio-python3-modules`, `sip-tester`, the bridge
//! `target/kamailio/e911_native.so` and the component in `target/wasm/`: `cargo xtask
//! test` provides all of them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::UdpSocket;
use std::path::Path;
use std::time::Duration;

mod common;
use common::http::{Webhook, webhook};
use common::kamailio::{Kamailio, kamcmd_output, log, require_tools, settings, start_kamailio};
use common::policy::{build_bundle, edit, loopback_sources};
use common::ports::{free_port, scratch};
use common::process::wait_until;
use common::sipp::{Sipp, desk_message, header_value, traced};

/// One SIPp process: its files are `dir/NAME.{msg,err,csv,out}`.
/// A callee on `ip` (a fresh port) for `calls` calls over UDP; returns it and its SIP URI.
fn uas(dir: &Path, name: &str, xml: &str, ip: &str, calls: u32) -> (Sipp, String) {
    uas_over(dir, name, xml, ip, calls, "u1")
}

/// A callee over SIPp transport `t` (`u1` or `t1`); its URI names the transport, so
/// Kamailio's `$du` reaches it over the same.
fn uas_over(dir: &Path, name: &str, xml: &str, ip: &str, calls: u32, t: &str) -> (Sipp, String) {
    let port = free_port(ip);
    let uri = if t == "t1" {
        format!("sip:{ip}:{port};transport=tcp")
    } else {
        format!("sip:{ip}:{port}")
    };
    (common::sipp::uas(dir, name, xml, ip, port, t, calls), uri)
}

fn uac(
    dir: &Path,
    name: &str,
    kamailio: &Kamailio,
    from_ip: &str,
    dial: &str,
    extra: &[&str],
) -> Sipp {
    common::sipp::uac(dir, name, &kamailio.addr(), from_ip, dial, extra)
}

/// Waits for a SIPp and asserts exactly `calls` successful calls, none failed; a failure
/// shows Kamailio's log.
fn assert_calls(dir: &Path, sipp: &mut Sipp, calls: u64) {
    sipp.assert_calls(calls, || log(dir));
}

/// The first INVITE `name` sent or received.
fn invite(dir: &Path, name: &str, what: &str) -> String {
    traced(dir, name, what)
        .into_iter()
        .find(|m| m.starts_with("INVITE "))
        .unwrap_or_else(|| panic!("{name} {what} no INVITE"))
}

#[test]
fn kamailio_calls_over_udp_get_location_elin_or_pass_unchanged() {
    calls_through_kamailio("u1", "udp");
}

#[test]
fn kamailio_calls_over_tcp_get_location_elin_or_pass_unchanged() {
    calls_through_kamailio("t1", "tcp");
}

/// HQ dials 911 (sip-trunk: PIDF-LO and Geolocation), Wichita dials 911 (ELIN gateway:
/// an ELIN as caller), HQ dials an ordinary number (unchanged but for Kamailio's Via and
/// Max-Forwards); audit lines and webhook POSTs for the emergency calls. Over SIPp
/// transport `t` on every leg.
fn calls_through_kamailio(t: &str, name: &str) {
    require_tools();
    let dir = scratch(name);
    let Webhook {
        url: hook, posts, ..
    } = webhook();
    let src = loopback_sources(&dir, &hook, &["127.0.0.0/8"]);
    build_bundle(&src, &dir.join("policy.bundle"));
    let calls = 3;
    let (mut trunk, trunk_uri) =
        uas_over(&dir, "trunk", "uas-sip-trunk.xml", "127.0.0.2", calls, t);
    let (mut elin, elin_uri) = uas_over(&dir, "elin", "uas-elin.xml", "127.0.0.3", calls, t);
    let (mut plain, plain_uri) = uas_over(&dir, "plain", "uas.xml", "127.0.0.4", calls, t);
    let ini = settings(
        &dir,
        &[("esp-primary", trunk_uri.clone()), ("elin", elin_uri)],
        "",
    );
    let kamailio = start_kamailio(&dir, &ini, &plain_uri, &trunk_uri);
    let m = calls.to_string();
    let extra = ["-m", m.as_str(), "-r", "5", "-t", t];
    let mut hq = uac(&dir, "hq-911", &kamailio, "127.1.0.10", "911", &extra);
    assert_calls(&dir, &mut hq, calls.into());
    let mut wichita = uac(&dir, "wichita-911", &kamailio, "127.2.0.10", "911", &extra);
    assert_calls(&dir, &mut wichita, calls.into());
    let mut other = uac(
        &dir,
        "hq-other",
        &kamailio,
        "127.1.0.11",
        "4255550199",
        &extra,
    );
    assert_calls(&dir, &mut other, calls.into());
    for callee in [&mut trunk, &mut elin, &mut plain] {
        assert_calls(&dir, callee, calls.into());
    }

    // The ordinary INVITE arrives as sent, but for Kamailio's Via and Max-Forwards.
    let sent = invite(&dir, "hq-other", "sent");
    let received = invite(&dir, "plain", "received");
    let mut expected: Vec<&str> = sent.split('\n').collect();
    let mut got: Vec<&str> = received.split('\n').collect();
    let ours = format!(
        "Via: SIP/2.0/{} 127.0.0.1:{};branch=z9hG4bK",
        if t == "t1" { "TCP" } else { "UDP" },
        kamailio.port
    );
    assert!(
        got[1].starts_with(&ours),
        "Kamailio's Via on top: {received}"
    );
    got.remove(1);
    let mf = |lines: &mut Vec<&str>, value: &str| {
        let i = lines
            .iter()
            .position(|l| l.starts_with("Max-Forwards:"))
            .unwrap();
        assert_eq!(lines[i].trim_end(), format!("Max-Forwards: {value}"));
        lines.remove(i);
    };
    mf(&mut expected, "70");
    mf(&mut got, "69");
    assert_eq!(
        got, expected,
        "non-emergency INVITE changed beyond Via and Max-Forwards"
    );

    // The sip-trunk INVITE: its body grew, and Content-Length says by how much.
    let pidf = invite(&dir, "trunk", "received");
    let (head, body) = pidf.split_once("\r\n\r\n").unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        length,
        body.len() + 1,
        "Content-Length of the rewritten INVITE"
    );
    assert!(body.contains("<ca:A3>Redmond</ca:A3>"), "{pidf}");

    // One audit line per emergency call, on the route its callee checked.
    let records = kamailio.audit();
    let routes: Vec<&str> = records
        .iter()
        .map(|r| r["route"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        routes.iter().filter(|k| **k == "sip-trunk").count(),
        calls as usize,
        "{records:#?}"
    );
    assert_eq!(
        routes.iter().filter(|k| **k == "elin-gateway").count(),
        calls as usize,
        "{records:#?}"
    );
    assert_eq!(records.len(), 2 * calls as usize, "{records:#?}");
    assert!(
        !log(&dir).contains("plugin path failed"),
        "every call went through the bridge:\n{}",
        log(&dir)
    );
    assert!(
        records.iter().all(|r| r["degraded"].is_null()),
        "{records:#?}"
    );

    // The ELINs handed out are in Kamailio's shared htable, with their caller.
    let stored = kamailio.kamcmd(&["htable.dump", "e911cb"]);
    assert!(stored.contains("+13165550100"), "{stored}");
    assert!(stored.contains("sip:+14255550101@contoso.com"), "{stored}");
    let state = kamailio.kamcmd(&["htable.dump", "e911state"]);
    assert!(state.contains("2026.11.1"), "{state}");

    // The security desk's webhook got the notifications, from the timer process.
    let post = posts
        .recv_timeout(Duration::from_secs(10))
        .expect("a webhook POST");
    assert!(post.starts_with("POST /hooks/e911 HTTP/1.1\r\n"), "{post}");
    assert!(post.contains("\"kind\":\"emergency\""), "{post}");
}

/// Wichita dials 911 and gets an ELIN; a carrier (127.9.0.1, outside the trusted
/// networks) then calls that ELIN, and the INVITE reaches the caller, re-targeted and
/// marked `Priority: psap-callback`, through the htable the first call wrote.
#[test]
fn kamailio_psap_callback_reaches_the_caller() {
    require_tools();
    let dir = scratch("callback");
    let hook = webhook().url;
    let src = loopback_sources(&dir, &hook, &["127.1.0.0/16", "127.2.0.0/16"]);
    build_bundle(&src, &dir.join("policy.bundle"));
    let (mut elin, elin_uri) = uas(&dir, "elin", "uas-elin.xml", "127.0.0.6", 1);
    let (mut caller, caller_uri) = uas(&dir, "caller", "uas-callback.xml", "127.0.0.7", 1);
    let ini = settings(&dir, &[("elin", elin_uri.clone())], "");
    let kamailio = start_kamailio(&dir, &ini, &caller_uri, &elin_uri);
    let mut wichita = uac(
        &dir,
        "wichita-911",
        &kamailio,
        "127.2.0.10",
        "911",
        &["-m", "1"],
    );
    assert_calls(&dir, &mut wichita, 1);
    assert_calls(&dir, &mut elin, 1);
    let records = kamailio.audit();
    let number = records[0]["elin"].as_str().unwrap().to_owned();
    assert_eq!(number, "+13165550100", "{records:#?}");

    let mut psap = uac(&dir, "psap", &kamailio, "127.9.0.1", &number, &["-m", "1"]);
    assert_calls(&dir, &mut psap, 1);
    assert_calls(&dir, &mut caller, 1);
    let records = kamailio.audit();
    assert!(
        records
            .iter()
            .any(|r| r["kind"] == "callback" && r["elin"] == number.as_str()),
        "the callback is audited: {records:#?}"
    );
}

/// While Wichita places calls at a steady rate, the bundle is replaced (new revision;
/// Wichita's subnet leaves the ELIN site, so its calls take the sip-trunk route), then a
/// broken bundle is written. No call fails, calls after the swap follow the new bundle,
/// and the broken one is refused with the last good one kept.
#[test]
fn kamailio_calls_keep_flowing_through_a_reload_and_a_refused_bundle() {
    require_tools();
    let dir = scratch("reload");
    let hook = webhook().url;
    let src = loopback_sources(&dir, &hook, &["127.0.0.0/8"]);
    let bundle = dir.join("policy.bundle");
    build_bundle(&src, &bundle);
    let calls = 60;
    let (mut callee, callee_uri) = uas(&dir, "callee", "uas.xml", "127.0.0.5", calls);
    let ini = settings(
        &dir,
        &[
            ("default", callee_uri.clone()),
            ("elin", callee_uri.clone()),
        ],
        "",
    );
    let kamailio = start_kamailio(&dir, &ini, &callee_uri, &callee_uri);
    let m = calls.to_string();
    let extra = ["-m", m.as_str(), "-r", "10", "-l", "20"];
    let mut caller = uac(&dir, "wichita", &kamailio, "127.2.0.10", "911", &extra);

    // Swap on what Kamailio has done, not on the clock: a loaded machine may take seconds
    // for the first calls (each worker loads the component on its first call).
    wait_until("calls on the first bundle", Duration::from_secs(60), || {
        kamailio.audit().len() >= 5
    });
    edit(&src, "sites.toml", ", \"127.2.0.0/16\"]", "]");
    edit(
        &src,
        "bundle.toml",
        "revision = \"2026.11.1\"",
        "revision = \"2026.11.2-reload\"",
    );
    build_bundle(&src, &bundle);
    wait_until("a call on the new bundle", Duration::from_secs(60), || {
        kamailio
            .audit()
            .iter()
            .any(|r| r["bundle_revision"] == "2026.11.2-reload")
    });
    // Broken: the payload no longer matches the digest in the header.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    let tmp = dir.join("broken.tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, &bundle).unwrap();

    assert_calls(&dir, &mut caller, calls.into());
    assert_calls(&dir, &mut callee, calls.into());

    let records = kamailio.audit();
    assert_eq!(
        records.len(),
        calls as usize,
        "an audit line for every call"
    );
    let first_new = records
        .iter()
        .position(|r| r["bundle_revision"] == "2026.11.2-reload")
        .expect("calls after the reload");
    assert!(first_new > 0, "calls before the reload");
    for (i, record) in records.iter().enumerate() {
        // Each worker notices the new file on its next call, so the switch is per worker:
        // after the first new-revision call, a call on the old one is from a worker
        // that had not yet taken a call since.
        let route = if record["bundle_revision"] == "2026.11.1" {
            "elin-gateway"
        } else {
            assert_eq!(record["bundle_revision"], "2026.11.2-reload", "record {i}");
            "sip-trunk"
        };
        assert_eq!(record["route"]["kind"], route, "record {i}");
    }
    assert_eq!(
        records.last().unwrap()["bundle_revision"],
        "2026.11.2-reload",
        "the broken bundle did not replace the good one"
    );
    assert!(
        records.len() - first_new >= 10,
        "calls after the broken bundle too"
    );

    let state = kamailio.kamcmd(&["htable.dump", "e911state"]);
    assert!(state.contains("2026.11.2-reload"), "{state}");
    assert!(
        state.contains(&format!(
            "{}: bundle refused (digest-mismatch)",
            bundle.display()
        )),
        "the refusal names the file and why:\n{state}"
    );
    assert!(
        log(&dir)
            .contains("bundle refused (digest-mismatch); active revision 2026.11.2-reload stays")
    );
}

/// A bundle older than the running one is refused by the component's `configure` (the
/// rule of every host), the running one stays and the state table and log say why; the
/// unsigned bundle is warned about when it loads.
#[test]
fn kamailio_refuses_an_older_bundle_and_keeps_the_running_one() {
    require_tools();
    let dir = scratch("rollback");
    let hook = webhook().url;
    let src = loopback_sources(&dir, &hook, &["127.0.0.0/8"]);
    let bundle = dir.join("policy.bundle");
    build_bundle(&src, &bundle);
    let calls = 4;
    let (mut callee, callee_uri) = uas(&dir, "callee", "uas.xml", "127.0.0.5", calls);
    let ini = settings(
        &dir,
        &[
            ("default", callee_uri.clone()),
            ("elin", callee_uri.clone()),
        ],
        "",
    );
    let kamailio = start_kamailio(&dir, &ini, &callee_uri, &callee_uri);
    let mut first = uac(&dir, "first", &kamailio, "127.2.0.10", "911", &["-m", "1"]);
    assert_calls(&dir, &mut first, 1);
    assert!(
        log(&dir).contains("policy bundle revision 2026.11.1 is unsigned"),
        "{}",
        log(&dir)
    );

    edit(
        &src,
        "bundle.toml",
        "revision = \"2026.11.1\"",
        "revision = \"2026.9.30\"",
    );
    build_bundle(&src, &bundle);
    let mut later = uac(
        &dir,
        "later",
        &kamailio,
        "127.2.0.10",
        "911",
        &["-m", "3", "-r", "10"],
    );
    assert_calls(&dir, &mut later, 3);
    assert_calls(&dir, &mut callee, calls.into());

    let records = kamailio.audit();
    assert_eq!(
        records.len(),
        calls as usize,
        "an audit line for every call"
    );
    for record in &records {
        assert_eq!(record["bundle_revision"], "2026.11.1", "{records:#?}");
    }
    let why = "bundle revision 2026.9.30 is older than the running revision 2026.11.1";
    let state = kamailio.kamcmd(&["htable.dump", "e911state"]);
    assert!(
        state.contains("unsigned"),
        "the state table says unsigned:\n{state}"
    );
    assert!(state.contains(why), "the state table says why:\n{state}");
    assert!(
        log(&dir).contains(&format!("{why}; allow_rollback = yes accepts it")),
        "{}",
        log(&dir)
    );
}

/// Fail-safe: with a per-call deadline of zero, the component traps on every
/// INVITE. The emergency call still completes, relayed unchanged to the emergency
/// route's upstream, and the log says why; an ordinary call goes its usual way. The
/// number is the bundle's (9 then the dial mask 999), which kamailio.cfg knows only
/// from the bundle each worker loaded at start.
#[test]
fn kamailio_relays_an_emergency_call_unchanged_when_the_component_traps() {
    require_tools();
    let dir = scratch("trap");
    let hook = webhook().url;
    let src = loopback_sources(&dir, &hook, &["127.0.0.0/8"]);
    build_bundle(&src, &dir.join("policy.bundle"));
    let (mut esp, esp_uri) = uas(&dir, "esp", "uas.xml", "127.0.0.8", 1);
    let (mut plain, plain_uri) = uas(&dir, "plain", "uas.xml", "127.0.0.9", 1);
    let ini = settings(
        &dir,
        &[("esp-primary", esp_uri.clone())],
        "call_deadline_ms = 0",
    );
    let kamailio = start_kamailio(&dir, &ini, &plain_uri, &esp_uri);
    // Each worker loads the bundle as it starts, before it reads any call.
    wait_until("the bundle's numbers", Duration::from_secs(10), || {
        kamcmd_output(&kamailio.ctl, &["htable.get", "e911state", "numbers"])
            .is_some_and(|numbers| numbers.contains("(911|112|999)"))
    });
    let mut hq = uac(
        &dir,
        "hq-911",
        &kamailio,
        "127.1.0.10",
        "9999",
        &["-m", "1"],
    );
    assert_calls(&dir, &mut hq, 1);
    assert_calls(&dir, &mut esp, 1);
    let mut other = uac(
        &dir,
        "hq-other",
        &kamailio,
        "127.1.0.11",
        "4255550199",
        &["-m", "1"],
    );
    assert_calls(&dir, &mut other, 1);
    assert_calls(&dir, &mut plain, 1);

    let received = invite(&dir, "esp", "received");
    assert!(
        received.starts_with("INVITE sip:9999@contoso.com;user=phone SIP/2.0"),
        "{received}"
    );
    assert!(!received.contains("Geolocation"), "{received}");
    let text = log(&dir);
    assert!(
        text.contains("plugin path failed, relaying unchanged: PluginTrap"),
        "{text}"
    );
    assert!(
        text.contains("emergency call 9999 relayed unchanged to"),
        "{text}"
    );
    assert!(kamailio.audit().is_empty(), "no decision was made");
    // Both INVITEs failed in the plugin path; the emergency one was relayed fail-safe.
    let count = |name: &str| kamailio.kamcmd(&["htable.get", "e911stats", name]);
    assert!(
        count("e911.plugin.failed").contains("value: 2"),
        "{}",
        count("e911.plugin.failed")
    );
    assert!(
        count("e911.failsafe.relayed").contains("value: 1"),
        "{}",
        count("e911.failsafe.relayed")
    );
}

/// RFC 3261 §16.3 step 3 answers 483 to a request whose Max-Forwards is spent, but a
/// new emergency call goes on (decided, to its trunk); an ordinary INVITE gets the 483.
#[test]
fn kamailio_relays_an_emergency_invite_whose_max_forwards_is_spent() {
    require_tools();
    let dir = scratch("max-forwards");
    let hook = webhook().url;
    let src = loopback_sources(&dir, &hook, &["127.0.0.0/8"]);
    build_bundle(&src, &dir.join("policy.bundle"));
    let trunk = UdpSocket::bind("127.0.0.2:0").unwrap();
    trunk
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let trunk_uri = format!("sip:{}", trunk.local_addr().unwrap());
    let (_plain, plain_uri) = uas(&dir, "plain", "uas.xml", "127.0.0.9", 1);
    let ini = settings(&dir, &[("esp-primary", trunk_uri.clone())], "");
    let kamailio = start_kamailio(&dir, &ini, &plain_uri, &trunk_uri);
    let caller = UdpSocket::bind("127.1.0.10:0").unwrap();
    caller
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let invite = |dialled: &str, call_id: &str| {
        let local = caller.local_addr().unwrap();
        format!(
            "INVITE sip:{dialled}@contoso.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK-{call_id}\r\n\
             Max-Forwards: 0\r\n\
             From: <sip:+14255550101@contoso.com>;tag=mf\r\n\
             To: <sip:{dialled}@contoso.com>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: 1 INVITE\r\n\
             Contact: <sip:+14255550101@{local}>\r\n\
             Content-Length: 0\r\n\r\n"
        )
    };
    let mut buf = [0u8; 65536];
    caller
        .send_to(invite("911", "mf-911").as_bytes(), kamailio.addr())
        .unwrap();
    let (n, _) = trunk
        .recv_from(&mut buf)
        .expect("the 911 INVITE at the trunk");
    let arrived = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(arrived.starts_with("INVITE "), "{arrived}");
    assert!(arrived.contains("\r\nGeolocation: "), "decided: {arrived}");
    assert!(arrived.contains("\r\nMax-Forwards: 0\r\n"), "{arrived}");

    caller
        .send_to(invite("4255550199", "mf-other").as_bytes(), kamailio.addr())
        .unwrap();
    loop {
        let (n, _) = caller.recv_from(&mut buf).expect("an answer to the caller");
        let answer = String::from_utf8_lossy(&buf[..n]).into_owned();
        if answer.contains("Call-ID: mf-other") {
            assert!(answer.starts_with("SIP/2.0 483 "), "{answer}");
            break;
        }
    }
}

/// A settings file that cannot be read is one log line naming the file and line, and the
/// emergency call still goes out unchanged on the fail-safe route.
#[test]
fn kamailio_names_a_broken_settings_line_and_still_relays_the_emergency_call() {
    require_tools();
    let dir = scratch("settings");
    let hook = webhook().url;
    let src = loopback_sources(&dir, &hook, &["127.0.0.0/8"]);
    build_bundle(&src, &dir.join("policy.bundle"));
    let (mut esp, esp_uri) = uas(&dir, "esp", "uas.xml", "127.0.0.8", 1);
    let (_plain, plain_uri) = uas(&dir, "plain", "uas.xml", "127.0.0.9", 1);
    let ini = settings(&dir, &[("esp-primary", esp_uri.clone())], "");
    let mut text = std::fs::read_to_string(&ini).unwrap();
    text.push_str("this line is not a setting\n");
    std::fs::write(&ini, &text).unwrap();
    let line = text.lines().count();
    let kamailio = start_kamailio(&dir, &ini, &plain_uri, &esp_uri);
    let mut hq = uac(&dir, "hq-911", &kamailio, "127.1.0.10", "911", &["-m", "1"]);
    assert_calls(&dir, &mut hq, 1);
    assert_calls(&dir, &mut esp, 1);
    let received = invite(&dir, "esp", "received");
    assert!(
        received.starts_with("INVITE sip:911@contoso.com;user=phone SIP/2.0"),
        "{received}"
    );
    let text = log(&dir);
    let expected = format!(
        "SettingsError: {}:{line}: cannot parse 'this line is not a setting\\n'",
        ini.display()
    );
    assert!(text.contains(&expected), "{expected}\n{text}");
}

/// A `.cwasm` is native code wasmtime loads unchecked, so the glue uses the cache only in a
/// folder no other user can write to: in a world-writable one it says why, compiles in
/// memory, neither reads nor writes a cache file there, and the call goes out with its
/// PIDF-LO as usual.
#[test]
fn kamailio_does_not_use_a_compiled_cache_others_can_write_to() {
    use std::os::unix::fs::PermissionsExt;

    require_tools();
    let dir = scratch("open-cache");
    let hook = webhook().url;
    let src = loopback_sources(&dir, &hook, &["127.0.0.0/8"]);
    build_bundle(&src, &dir.join("policy.bundle"));
    let open = dir.join("open-cache");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (mut esp, esp_uri) = uas(&dir, "esp", "uas-sip-trunk.xml", "127.0.0.2", 1);
    let (_plain, plain_uri) = uas(&dir, "plain", "uas.xml", "127.0.0.9", 1);
    let ini = settings(&dir, &[("esp-primary", esp_uri.clone())], "");
    let text = std::fs::read_to_string(&ini).unwrap();
    let text = text
        .lines()
        .map(|l| match l.starts_with("cache_dir = ") {
            true => format!("cache_dir = {}", open.display()),
            false => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&ini, text + "\n").unwrap();
    let kamailio = start_kamailio(&dir, &ini, &plain_uri, &esp_uri);
    let mut hq = uac(&dir, "hq-911", &kamailio, "127.1.0.10", "911", &["-m", "1"]);
    assert_calls(&dir, &mut hq, 1);
    assert_calls(&dir, &mut esp, 1);
    let text = log(&dir);
    let expected = format!(
        "compiled cache not used, compiling in memory: {}: mode 777 lets group or others in",
        open.display()
    );
    assert!(text.contains(&expected), "{expected}\n{text}");
    let files: Vec<_> = std::fs::read_dir(&open).unwrap().collect();
    assert!(files.is_empty(), "{files:?}");
}

/// The security desk by SIP MESSAGE, as the harness proxy sends it: an emergency call from
/// HQ, whose policy notifies `redmond-security`, here a SIPp desk. The MESSAGE goes to the
/// desk's URI (Request-URI and To), from our identity, with the notification's text naming
/// the caller and the location, and the emergency headers `uas-message.xml` checks (as for
/// the harness proxy: `the_security_desk_gets_a_message_marked_as_an_emergency`); the
/// call itself completes on its trunk.
#[test]
fn kamailio_sends_the_security_desk_a_sip_message() {
    require_tools();
    let dir = scratch("message");
    let hook = webhook().url;
    let src = loopback_sources(&dir, &hook, &["127.0.0.0/8"]);
    let (mut desk, desk_uri) = uas(&dir, "desk", "uas-message.xml", "127.0.0.12", 1);
    let desk_uri = desk_uri.replace("sip:", "sip:security-redmond@");
    edit(
        &src,
        "notifications.toml",
        "[targets.redmond-security]\n",
        &format!("[targets.redmond-security]\nsip = \"{desk_uri}\"\n"),
    );
    build_bundle(&src, &dir.join("policy.bundle"));
    let (mut trunk, trunk_uri) = uas(&dir, "trunk", "uas-sip-trunk.xml", "127.0.0.2", 1);
    let (_plain, plain_uri) = uas(&dir, "plain", "uas.xml", "127.0.0.9", 1);
    let ini = settings(&dir, &[("esp-primary", trunk_uri.clone())], "");
    let kamailio = start_kamailio(&dir, &ini, &plain_uri, &trunk_uri);
    let mut hq = uac(&dir, "hq-911", &kamailio, "127.1.0.10", "911", &["-m", "1"]);
    assert_calls(&dir, &mut hq, 1);
    assert_calls(&dir, &mut trunk, 1);
    assert_calls(&dir, &mut desk, 1);

    let (lines, body) = desk_message(&dir, &desk_uri);
    assert!(
        header_value(&lines, "From:").starts_with("<sip:e911@kamailio-test>;tag="),
        "{lines:?}"
    );
    assert!(body.contains("Redmond"), "the location: {body}");
    assert!(
        log(&dir).contains(&format!("notification redmond-security sent to {desk_uri}")),
        "{}",
        log(&dir)
    );
}

/// ELIN callbacks survive a restart, even a crash: Wichita dials 911 and gets an ELIN;
/// every Kamailio process is killed (SIGKILL, so no module saves anything on the way
/// out); a new Kamailio starts on the same SQLite file, and the PSAP's callback to that
/// ELIN reaches the caller, with the entry's own expiry kept.
#[test]
fn kamailio_restart_keeps_callbacks() {
    require_tools();
    let dir = scratch("restart");
    let hook = webhook().url;
    let src = loopback_sources(&dir, &hook, &["127.1.0.0/16", "127.2.0.0/16"]);
    build_bundle(&src, &dir.join("policy.bundle"));
    let (mut elin, elin_uri) = uas(&dir, "elin", "uas-elin.xml", "127.0.0.6", 1);
    let (mut caller, caller_uri) = uas(&dir, "caller", "uas-callback.xml", "127.0.0.7", 1);
    let ini = settings(&dir, &[("elin", elin_uri.clone())], "");
    let kamailio = start_kamailio(&dir, &ini, &caller_uri, &elin_uri);
    let mut wichita = uac(
        &dir,
        "wichita-911",
        &kamailio,
        "127.2.0.10",
        "911",
        &["-m", "1"],
    );
    assert_calls(&dir, &mut wichita, 1);
    assert_calls(&dir, &mut elin, 1);
    let number = kamailio.audit()[0]["elin"].as_str().unwrap().to_owned();
    // `s:`: kamcmd would read +13165550100 as a number.
    let key = format!("s:{number}");
    let before = kamailio.kamcmd(&["htable.get", "e911cb", &key]);
    let field = |item: &str, name: &str| {
        item.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {item}"))
            .to_owned()
    };
    // "2026-12-05 19:33:22" as seconds within the month: enough to compare two expiries.
    let expire = |item: &str| -> i64 {
        let text = field(item, "expire: ");
        let n: Vec<i64> = text
            .split(['-', ' ', ':'])
            .map(|p| p.parse().unwrap_or_else(|_| panic!("expiry {text}")))
            .collect();
        assert!(n[0] >= 2026, "the entry has an expiry: {item}");
        ((n[2] * 24 + n[3]) * 60 + n[4]) * 60 + n[5]
    };
    assert!(expire(&before) > 0);
    kamailio.crash();

    // A new Kamailio (its log starts over) on the same files.
    std::fs::rename(dir.join("kamailio.log"), dir.join("kamailio-before.log")).unwrap();
    let kamailio = start_kamailio(&dir, &ini, &caller_uri, &elin_uri);
    assert!(
        log(&dir).contains("1 callback entries restored"),
        "{}",
        log(&dir)
    );
    let after = kamailio.kamcmd(&["htable.get", "e911cb", &key]);
    assert_eq!(
        field(&after, "value: "),
        field(&before, "value: "),
        "the entry comes back as it was"
    );
    // Put back with what was left of it: the same instant, give or take the second the
    // restore straddled.
    assert!(
        (expire(&after) - expire(&before)).abs() <= 1,
        "the entry keeps its expiry: {before}\n{after}"
    );
    let mut psap = uac(&dir, "psap", &kamailio, "127.9.0.1", &number, &["-m", "1"]);
    assert_calls(&dir, &mut psap, 1);
    assert_calls(&dir, &mut caller, 1);
    let records = kamailio.audit();
    assert!(
        records
            .iter()
            .any(|r| r["kind"] == "callback" && r["elin"] == number.as_str()),
        "the callback is decided from the restored entry: {records:#?}"
    );
    let received = invite(&dir, "caller", "received");
    assert!(
        received.contains("\r\nPriority: psap-callback\r\n"),
        "{received}"
    );
}

/// Replaces the bundle file's bytes in place, keeping its inode, size and modification
/// time: the workers' file watch cannot see the change, only a reload request can.
fn rewrite_unseen(bundle: &Path, bytes: &[u8]) {
    let old = std::fs::metadata(bundle).unwrap();
    assert_eq!(
        old.len(),
        bytes.len() as u64,
        "the same size, or the watch sees it"
    );
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(bundle)
        .unwrap();
    std::io::Write::write_all(&mut &file, bytes).unwrap();
    file.set_modified(old.modified().unwrap()).unwrap();
    drop(file);
    let new = std::fs::metadata(bundle).unwrap();
    assert_eq!(new.modified().unwrap(), old.modified().unwrap());
}

/// The operator's commands: `kamcmd htable.seti e911state reload N` has every worker read
/// the bundle again, even one changed where the file watch cannot see it; a broken one is
/// refused and the last good one stays; `kamcmd htable.dump e911state` prints the active
/// revision, whether it is signed, what each worker runs and the counters.
#[test]
fn kamailio_reloads_on_a_kamcmd_request_and_prints_its_state() {
    require_tools();
    let dir = scratch("rpc");
    let hook = webhook().url;
    let src = loopback_sources(&dir, &hook, &["127.0.0.0/8"]);
    let bundle = dir.join("policy.bundle");
    build_bundle(&src, &bundle);
    let first = std::fs::read(&bundle).unwrap();
    // The same length, so the same size: the watch sees no change.
    edit(
        &src,
        "bundle.toml",
        "revision = \"2026.11.1\"",
        "revision = \"2026.11.2\"",
    );
    let next = dir.join("next.bundle");
    build_bundle(&src, &next);
    let second = std::fs::read(&next).unwrap();
    let calls = 4;
    let (mut callee, callee_uri) = uas(&dir, "callee", "uas.xml", "127.0.0.5", calls);
    let ini = settings(
        &dir,
        &[
            ("default", callee_uri.clone()),
            ("elin", callee_uri.clone()),
        ],
        "",
    );
    let kamailio = start_kamailio(&dir, &ini, &callee_uri, &callee_uri);
    let call = |name: &str| {
        let mut sipp = uac(&dir, name, &kamailio, "127.2.0.10", "911", &["-m", "1"]);
        assert_calls(&dir, &mut sipp, 1);
        kamailio.audit().last().unwrap()["bundle_revision"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(call("first"), "2026.11.1");
    assert_ne!(first, second);
    rewrite_unseen(&bundle, &second);
    assert_eq!(
        call("unseen"),
        "2026.11.1",
        "the watch alone does not see it"
    );

    kamailio.kamcmd(&["htable.seti", "e911state", "reload", "1"]);
    assert_eq!(call("reloaded"), "2026.11.2", "the request reloads it");

    let mut broken = second.clone();
    let last = broken.len() - 1;
    broken[last] ^= 0xff;
    rewrite_unseen(&bundle, &broken);
    kamailio.kamcmd(&["htable.seti", "e911state", "reload", "2"]);
    assert_eq!(call("refused"), "2026.11.2", "the last good bundle stays");
    assert_calls(&dir, &mut callee, calls.into());

    let state = kamailio.kamcmd(&["htable.dump", "e911state"]);
    let stats = kamailio.kamcmd(&["htable.dump", "e911stats"]);
    let get = |table: &str, name: &str| {
        let item = kamailio.kamcmd(&["htable.get", table, name]);
        item.lines()
            .find_map(|l| l.trim().strip_prefix("value: "))
            .unwrap_or_else(|| panic!("no {name}: {item}\n{state}\n{stats}"))
            .to_owned()
    };
    let value = |name: &str| get("e911state", name);
    let count = |name: &str| get("e911stats", name);
    assert_eq!(value("revision"), "2026.11.2", "{state}");
    assert_eq!(value("signature"), "unsigned", "{state}");
    assert_eq!(count("e911.messages"), calls.to_string(), "{stats}");
    assert_eq!(count("e911.emergency"), calls.to_string(), "{stats}");
    assert_eq!(count("e911.bundle.refused"), "1", "counted once: {stats}");
    assert!(
        value("refused")
            .contains("bundle refused (digest-mismatch); active revision 2026.11.2 stays"),
        "{state}"
    );
    // The worker that decided the last call acted on the last request and kept the good
    // bundle; an idle worker acts on it before its next call.
    let last = kamailio.audit().last().unwrap()["pid"].to_string();
    assert_eq!(
        value(&format!("worker.{last}")),
        "2026.11.2 (reload request 2)",
        "{state}"
    );
}

/// A callback database that cannot be opened (here a folder where the file should be)
/// never keeps Kamailio from starting or a call from going out: one log line says why,
/// and the ELIN is handed out and kept in memory.
#[test]
fn kamailio_starts_and_hands_out_elins_when_the_callback_database_is_unusable() {
    require_tools();
    let dir = scratch("bad-callback-db");
    let hook = webhook().url;
    let src = loopback_sources(&dir, &hook, &["127.1.0.0/16", "127.2.0.0/16"]);
    build_bundle(&src, &dir.join("policy.bundle"));
    let db = dir.join("state/callbacks.sqlite");
    std::fs::create_dir_all(&db).unwrap();
    let (mut elin, elin_uri) = uas(&dir, "elin", "uas-elin.xml", "127.0.0.6", 1);
    let (_plain, plain_uri) = uas(&dir, "plain", "uas.xml", "127.0.0.9", 1);
    let ini = settings(&dir, &[("elin", elin_uri.clone())], "");
    let kamailio = start_kamailio(&dir, &ini, &plain_uri, &elin_uri);
    let mut wichita = uac(
        &dir,
        "wichita-911",
        &kamailio,
        "127.2.0.10",
        "911",
        &["-m", "1"],
    );
    assert_calls(&dir, &mut wichita, 1);
    assert_calls(&dir, &mut elin, 1);
    assert_eq!(kamailio.audit()[0]["elin"], "+13165550100");
    let text = log(&dir);
    let why = format!("e911: {}: callback database not usable", db.display());
    assert!(text.contains(&why), "{why}\n{text}");
    assert!(
        text.contains("e911: callback for +13165550100 kept in memory only"),
        "{text}"
    );
    let stored = kamailio.kamcmd(&["htable.get", "e911cb", "s:+13165550100"]);
    assert!(stored.contains("sip:+14255550101@contoso.com"), "{stored}");
}
