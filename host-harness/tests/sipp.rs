//! End-to-end: SIPp caller → `e911-harness proxy` → SIPp callees, over UDP and TCP, on
//! loopback addresses. The callee scenarios (`tests/sipp/uas-*.xml`) check the emergency
//! INVITE (PIDF-LO and Geolocation on the sip-trunk route, the ELIN as caller on the ELIN
//! route); SIPp fails the call when a check fails, and the tests assert each SIPp's exit
//! status and its call counts, so nothing passes vacuously. Linux routes all of
//! 127.0.0.0/8 to `lo`, so callers bind 127.1.0.x (HQ) and 127.2.0.x (Wichita), which the
//! test bundle maps. SIPp comes from Debian's `sip-tester` (`cargo xtask test` installs it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod common;
use common::http::{Webhook, webhook};
use common::policy::{edit, loopback_sources};
use common::ports::{free_port, scratch};
use common::proxy::{audit, proxy_log, start_proxy};
use common::sipp::{Sipp, desk_message, header_value, require_sipp, traced, uas};

const HARNESS: &str = env!("CARGO_BIN_EXE_e911-harness");

/// policies/contoso plus loopback subnets: 127.1.0.0/16 → the HQ floor-1 ERL, 127.2.0.0/16
/// → Wichita (also a subnet of the Wichita site), 127.0.0.0/8 trusted; notifications go to
/// `webhook` (a local URL) only, so nothing leaves the machine.
fn test_bundle(dir: &Path, webhook: &str) -> PathBuf {
    loopback_sources(dir, webhook, &["127.0.0.0/8"])
}

/// A caller through `proxy` over SIPp transport `t`.
fn uac(
    dir: &Path,
    name: &str,
    proxy: &str,
    from_ip: &str,
    dial: &str,
    t: &str,
    extra: &[&str],
) -> Sipp {
    let extra: Vec<&str> = ["-t", t].into_iter().chain(extra.iter().copied()).collect();
    common::sipp::uac(dir, name, proxy, from_ip, dial, &extra)
}

/// Waits for a SIPp and asserts exactly `calls` successful calls, none failed; a failure
/// shows the proxy's log.
fn assert_calls(dir: &Path, sipp: &mut Sipp, calls: u64) {
    sipp.assert_calls(calls, || proxy_log(dir));
}

/// Three callers through one proxy: HQ dials 911 (sip-trunk: PIDF-LO), Wichita dials
/// 911 (ELIN gateway: ELIN as caller), HQ dials an ordinary number (byte-identical).
fn calls_through_the_proxy(t: &str, name: &str) {
    require_sipp();
    let dir = scratch(name);
    let Webhook {
        url: hook, posts, ..
    } = webhook();
    let bundle = test_bundle(&dir, &hook);
    let state = dir.join("state");
    let proxy_port = free_port("127.0.0.1");
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
        t,
        calls,
    );
    let mut elin = uas(
        &dir,
        "elin",
        "uas-elin.xml",
        "127.0.0.3",
        elin_port,
        t,
        calls,
    );
    let mut plain = uas(&dir, "plain", "uas.xml", "127.0.0.4", plain_port, t, calls);
    std::thread::sleep(Duration::from_millis(300));
    let args: Vec<String> = vec![
        format!("--listen=udp:127.0.0.1:{proxy_port}"),
        format!("--listen=tcp:127.0.0.1:{proxy_port}"),
        format!("--policy={}", bundle.display()),
        format!("--upstream=127.0.0.4:{plain_port}"),
        format!("--elin-upstream=127.0.0.3:{elin_port}"),
        format!("--route-upstream=esp-primary=127.0.0.2:{trunk_port}"),
        format!("--state-dir={}", state.display()),
    ];
    let _proxy = start_proxy(&args, &dir);
    let proxy = format!("127.0.0.1:{proxy_port}");
    let m = calls.to_string();
    let extra = ["-m", m.as_str(), "-r", "5"];
    let mut hq = uac(&dir, "hq-911", &proxy, "127.1.0.10", "911", t, &extra);
    assert_calls(&dir, &mut hq, calls.into());
    let mut wichita = uac(&dir, "wichita-911", &proxy, "127.2.0.10", "911", t, &extra);
    assert_calls(&dir, &mut wichita, calls.into());
    let mut other = uac(
        &dir,
        "hq-other",
        &proxy,
        "127.1.0.11",
        "4255550199",
        t,
        &extra,
    );
    assert_calls(&dir, &mut other, calls.into());
    for callee in [&mut trunk, &mut elin, &mut plain] {
        assert_calls(&dir, callee, calls.into());
    }

    // The ordinary INVITE arrives as sent, but for the proxy's Via and Max-Forwards.
    let sent = traced(&dir, "hq-other", "sent");
    let received = traced(&dir, "plain", "received");
    let sent = sent.iter().find(|m| m.starts_with("INVITE ")).unwrap();
    let received = received.iter().find(|m| m.starts_with("INVITE ")).unwrap();
    let ours = format!(
        "Via: SIP/2.0/{} 127.0.0.1:{proxy_port};branch=z9hG4bK-e911-",
        t_via(t)
    );
    let mut expected: Vec<&str> = sent.split('\n').collect();
    let mut got: Vec<&str> = received.split('\n').collect();
    let via = got
        .iter()
        .position(|l| l.starts_with(&ours))
        .expect("our Via");
    assert_eq!(via, 1, "our Via is the top one");
    got.remove(via);
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

    // One audit record per emergency call, each on the route the callee checked.
    let mut seen = std::collections::HashSet::new();
    let records: Vec<serde_json::Value> = audit(&state)
        .into_iter()
        .filter(|r| seen.insert(r["call_id"].as_str().unwrap().to_owned()))
        .collect();
    let routes: Vec<&str> = records
        .iter()
        .map(|r| r["route"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        routes.iter().filter(|k| **k == "sip-trunk").count(),
        calls as usize
    );
    assert_eq!(
        routes.iter().filter(|k| **k == "elin-gateway").count(),
        calls as usize
    );
    assert_eq!(records.len(), 2 * calls as usize, "{records:#?}");
    // The ELIN callbacks the component stored were saved through the proxy's store.
    let saved = std::fs::read_to_string(state.join("callbacks.json")).unwrap_or_default();
    assert!(saved.contains("\"call_id\""), "callbacks.json: {saved}");
    // The security desk's webhook got the notifications.
    let post = posts
        .recv_timeout(Duration::from_secs(10))
        .expect("a webhook POST");
    assert!(post.starts_with("POST /hooks/e911 HTTP/1.1\r\n"), "{post}");
    assert!(post.contains("application/json"), "{post}");
}

/// The security desk by SIP MESSAGE: HQ dials 911, and its policy notifies
/// `redmond-security`, here a SIPp desk whose scenario (`uas-message.xml`) fails the
/// MESSAGE unless each field is there: `Priority: emergency`, `Call-Info` naming the
/// caller with `purpose=ms-emergency-notification`, a UTF-8 plain text body with the
/// caller, callback number, time and location. Kamailio is held to the same scenario
/// (`kamailio_sends_the_security_desk_a_sip_message`). The call completes on its trunk.
#[test]
fn the_security_desk_gets_a_message_marked_as_an_emergency() {
    require_sipp();
    let dir = scratch("desk-message");
    let Webhook { url: hook, .. } = webhook();
    let bundle = test_bundle(&dir, &hook);
    let desk_port = free_port("127.0.0.12");
    let desk_uri = format!("sip:security-redmond@127.0.0.12:{desk_port}");
    edit(
        &bundle,
        "notifications.toml",
        "[targets.redmond-security]\n",
        &format!("[targets.redmond-security]\nsip = \"{desk_uri}\"\n"),
    );
    let (trunk_port, plain_port) = (free_port("127.0.0.2"), free_port("127.0.0.4"));
    let mut desk = uas(
        &dir,
        "desk",
        "uas-message.xml",
        "127.0.0.12",
        desk_port,
        "u1",
        1,
    );
    let mut trunk = uas(
        &dir,
        "trunk",
        "uas-sip-trunk.xml",
        "127.0.0.2",
        trunk_port,
        "u1",
        1,
    );
    let _plain = uas(&dir, "plain", "uas.xml", "127.0.0.4", plain_port, "u1", 1);
    std::thread::sleep(Duration::from_millis(300));
    let proxy_port = free_port("127.0.0.1");
    let args: Vec<String> = vec![
        format!("--listen=udp:127.0.0.1:{proxy_port}"),
        format!("--policy={}", bundle.display()),
        format!("--upstream=127.0.0.4:{plain_port}"),
        format!("--route-upstream=esp-primary=127.0.0.2:{trunk_port}"),
        format!("--state-dir={}", dir.join("state").display()),
    ];
    let _proxy = start_proxy(&args, &dir);
    let proxy = format!("127.0.0.1:{proxy_port}");
    let mut hq = uac(
        &dir,
        "hq-911",
        &proxy,
        "127.1.0.10",
        "911",
        "u1",
        &["-m", "1"],
    );
    assert_calls(&dir, &mut hq, 1);
    assert_calls(&dir, &mut trunk, 1);
    assert_calls(&dir, &mut desk, 1);

    let (lines, body) = desk_message(&dir, &desk_uri);
    assert_eq!(
        header_value(&lines, "Content-Length:"),
        body.len().to_string(),
        "{lines:?}"
    );
    assert!(
        proxy_log(&dir).contains(&format!("notified redmond-security at {desk_uri}")),
        "{}",
        proxy_log(&dir)
    );
}

fn t_via(t: &str) -> &'static str {
    if t.starts_with('t') { "TCP" } else { "UDP" }
}

#[test]
fn sipp_calls_over_udp_get_location_elin_or_pass_byte_identical() {
    calls_through_the_proxy("u1", "udp");
}

#[test]
fn sipp_calls_over_tcp_get_location_elin_or_pass_byte_identical() {
    calls_through_the_proxy("t1", "tcp");
}

/// Hot reload under load: while SIPp places calls from Wichita at a steady rate, the
/// bundle changes (new revision; Wichita's subnet leaves the ELIN site, so its calls take
/// the tenant's sip-trunk route), then a broken bundle is written. No call fails, calls
/// after the swap follow the new policy, and the broken bundle is refused.
#[test]
fn sipp_calls_keep_flowing_through_a_hot_reload_and_a_refused_bundle() {
    require_sipp();
    let dir = scratch("reload");
    let hook = webhook().url;
    let bundle = test_bundle(&dir, &hook);
    let state = dir.join("state");
    let proxy_port = free_port("127.0.0.1");
    let uas_port = free_port("127.0.0.5");
    let calls = 60;
    let mut callee = uas(
        &dir,
        "callee",
        "uas.xml",
        "127.0.0.5",
        uas_port,
        "u1",
        calls,
    );
    std::thread::sleep(Duration::from_millis(300));
    let args: Vec<String> = vec![
        format!("--listen=udp:127.0.0.1:{proxy_port}"),
        format!("--policy={}", bundle.display()),
        format!("--upstream=127.0.0.5:{uas_port}"),
        format!("--elin-upstream=127.0.0.5:{uas_port}"),
        format!("--state-dir={}", state.display()),
    ];
    let _proxy = start_proxy(&args, &dir);
    let proxy = format!("127.0.0.1:{proxy_port}");
    let m = calls.to_string();
    let extra = ["-m", m.as_str(), "-r", "10", "-l", "20"];
    let mut caller = uac(&dir, "wichita", &proxy, "127.2.0.10", "911", "u1", &extra);

    std::thread::sleep(Duration::from_secs(2));
    let edit = |file: &str, from: &str, to: &str| edit(&bundle, file, from, to);
    edit("sites.toml", ", \"127.2.0.0/16\"]", "]");
    edit(
        "bundle.toml",
        "revision = \"2026.11.1\"",
        "revision = \"2026.11.2-reload\"",
    );
    std::thread::sleep(Duration::from_secs(2));
    edit(
        "routes.toml",
        "trunks = [\"wichita-gw\"]",
        "trunks = [\"no-such-trunk\"]",
    );

    assert_calls(&dir, &mut caller, calls.into());
    assert_calls(&dir, &mut callee, calls.into());

    // A UDP INVITE retransmitted on a busy machine is decided (and audited) again: judge
    // each call by its first record.
    let mut seen = std::collections::HashSet::new();
    let records: Vec<serde_json::Value> = audit(&state)
        .into_iter()
        .filter(|r| seen.insert(r["call_id"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        records.len(),
        calls as usize,
        "an audit record for every call"
    );
    let first_new = records
        .iter()
        .position(|r| r["bundle_revision"] == "2026.11.2-reload")
        .expect("calls after the reload");
    assert!(first_new > 0, "calls before the reload");
    for (i, record) in records.iter().enumerate() {
        let (revision, route) = if i < first_new {
            ("2026.11.1", "elin-gateway")
        } else {
            ("2026.11.2-reload", "sip-trunk")
        };
        assert_eq!(record["bundle_revision"], revision, "record {i}");
        assert_eq!(record["route"]["kind"], route, "record {i}");
    }
    assert!(
        records.len() - first_new >= 10,
        "calls after the broken bundle too"
    );

    let status = Command::new(HARNESS)
        .args(["status", "--state-dir"])
        .arg(&state)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{text}");
    assert!(text.contains("active revision  2026.11.2-reload"), "{text}");
    assert!(
        text.contains("engine           component"),
        "the proxy decides through the component by default:\n{text}"
    );
    assert!(
        text.contains("routes.toml:"),
        "the refusal names the file and line:\n{text}"
    );
    assert!(text.contains("no-such-trunk"), "{text}");
}

/// A PSAP callback survives a crash: Wichita dials 911 and gets an ELIN, the proxy is
/// killed (SIGKILL, no clean shutdown) and started again on the same state folder, and a
/// carrier's INVITE to that ELIN still reaches the caller, re-targeted and marked
/// `Priority: psap-callback`. Only the caller subnets are trusted here, so the carrier
/// (127.9.0.1) is outside: a trusted INVITE to an ELIN is an ordinary call.
#[test]
fn sipp_psap_callback_reaches_the_caller_after_the_proxy_is_killed() {
    use std::os::unix::process::ExitStatusExt;
    require_sipp();
    let dir = scratch("callback");
    let hook = webhook().url;
    let bundle = test_bundle(&dir, &hook);
    edit(
        &bundle,
        "bundle.toml",
        "\"127.0.0.0/8\"]",
        "\"127.1.0.0/16\", \"127.2.0.0/16\"]",
    );
    let state = dir.join("state");
    let proxy_port = free_port("127.0.0.1");
    let (elin_port, caller_port) = (free_port("127.0.0.6"), free_port("127.0.0.7"));
    let mut elin = uas(
        &dir,
        "elin",
        "uas-elin.xml",
        "127.0.0.6",
        elin_port,
        "u1",
        1,
    );
    std::thread::sleep(Duration::from_millis(300));
    let args: Vec<String> = vec![
        format!("--listen=udp:127.0.0.1:{proxy_port}"),
        format!("--policy={}", bundle.display()),
        format!("--upstream=127.0.0.7:{caller_port}"),
        format!("--elin-upstream=127.0.0.6:{elin_port}"),
        format!("--state-dir={}", state.display()),
    ];
    let mut proxy = start_proxy(&args, &dir);
    let via = format!("127.0.0.1:{proxy_port}");
    let mut wichita = uac(
        &dir,
        "wichita-911",
        &via,
        "127.2.0.10",
        "911",
        "u1",
        &["-m", "1"],
    );
    assert_calls(&dir, &mut wichita, 1);
    assert_calls(&dir, &mut elin, 1);

    proxy.child().kill().unwrap();
    let status = proxy.child().wait().unwrap();
    assert_eq!(status.signal(), Some(9), "the proxy was killed: {status}");
    let saved = std::fs::read_to_string(state.join("callbacks.json")).unwrap();
    let saved: serde_json::Value = serde_json::from_str(&saved).unwrap();
    let entries = saved.as_object().unwrap();
    assert_eq!(entries.len(), 1, "one ELIN handed out: {saved:#}");
    let (number, entry) = entries.iter().next().unwrap();
    assert_eq!(number, "+13165550100", "{saved:#}");
    assert_eq!(entry["caller"], "sip:+14255550101@contoso.com", "{saved:#}");

    // The same state folder after the crash; the caller's phone answers at --upstream.
    let mut caller = uas(
        &dir,
        "caller",
        "uas-callback.xml",
        "127.0.0.7",
        caller_port,
        "u1",
        1,
    );
    std::thread::sleep(Duration::from_millis(300));
    let _proxy = start_proxy(&args, &dir);
    let mut psap = uac(&dir, "psap", &via, "127.9.0.1", number, "u1", &["-m", "1"]);
    assert_calls(&dir, &mut psap, 1);
    assert_calls(&dir, &mut caller, 1);
    let callbacks = audit(&state)
        .into_iter()
        .filter(|r| r["kind"] == "callback")
        .count();
    assert!(
        callbacks >= 1,
        "the callback is audited: {:#?}",
        audit(&state)
    );
}
