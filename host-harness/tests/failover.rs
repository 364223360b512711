//! Trunk failover through the harness proxy and through Kamailio (DESIGN §2.6), with SIPp
//! on loopback over TCP: an HQ caller dials 911; its route is `esp-primary`, then `esp-secondary`, then the ECRC
//! route's `redmond-pstn`. Each test breaks trunks in one way the provider's can break
//! (503, port closed, silent) and checks that the call completes at the next trunk with
//! the PIDF-LO the first trunk was sent, and that the audit names every trunk that failed
//! and why. A provider that refuses the location (424, RFC 6442 §4.3) sends the call
//! straight to the ECRC route, or, with none, on along the route to the caller.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::Path;
use std::time::Duration;

mod common;
use common::hosts::{Host, Proxy};
use common::http::webhook;
use common::policy::{edit, loopback_sources};
use common::ports::{free_port, scratch};
use common::proxy::{proxy_log, start_proxy};
use common::sipp::{require_sipp, traced, uac};
use common::trunks::{Running, Trunk, pidf, start};

/// The route's trunks in order: the provider's primary and secondary, then the ECRC
/// route's PSTN gateway; and the loopback address each listens on.
const ROUTE_TRUNKS: [&str; 3] = ["esp-primary", "esp-secondary", "redmond-pstn"];
const ROUTE_IPS: [&str; 3] = ["127.0.0.2", "127.0.0.5", "127.0.0.6"];

/// Starts the route's three trunks behaving as given, then `host` with them as their
/// trunks' upstreams.
fn start_route(host: Host, dir: &Path, trunks: &[Trunk; 3]) -> (Vec<Running>, Proxy) {
    start_route_with(host, dir, trunks, &|_| {})
}

/// As [`start_route`], with `bundle` applied to the policy's source folder first.
fn start_route_with(
    host: Host,
    dir: &Path,
    trunks: &[Trunk; 3],
    bundle: &dyn Fn(&Path),
) -> (Vec<Running>, Proxy) {
    let running: Vec<Running> = trunks
        .iter()
        .enumerate()
        .map(|(i, t)| start(dir, ROUTE_TRUNKS[i], ROUTE_IPS[i], t))
        .collect();
    // SIPp callees need a moment to listen.
    std::thread::sleep(Duration::from_millis(300));
    let upstreams: Vec<(&str, &str)> = ROUTE_TRUNKS
        .iter()
        .zip(&running)
        .map(|(name, run)| (*name, run.addr.as_str()))
        .collect();
    let default = format!("127.0.0.4:{}", free_port("127.0.0.4"));
    let proxy = Proxy::start_with(host, dir, &upstreams, &default, bundle);
    (running, proxy)
}

/// One 911 call from HQ through `host` with the three trunks behaving as given; returns,
/// in order, the trunks the audit says failed and why, after checking that the call
/// completed at `answering` with `target` as its Request-URI and the PIDF-LO the first
/// trunk was sent. The ECRC's trunk is a PSTN gateway: the harness sends it the ECRC
/// route's own bytes (the ECRC number and the caller's callback number, no PIDF-LO, which
/// PSTN cannot carry); Kamailio resends the request it holds, PIDF-LO included.
fn call(
    host: Host,
    name: &str,
    trunks: [Trunk; 3],
    answering: usize,
    target: &str,
) -> Vec<(String, String)> {
    require_sipp();
    let dir = scratch(name);
    let names = ROUTE_TRUNKS;
    let (mut running, proxy) = start_route(host, &dir, &trunks);
    let mut caller = uac(
        &dir,
        "caller",
        &proxy.addr(),
        "127.1.0.10",
        "911",
        &["-t", "t1", "-m", "1"],
    );
    caller.assert_calls(1, || proxy.log());
    for run in &mut running {
        if let Some(sipp) = &mut run.sipp {
            sipp.assert_calls(1, || proxy.log());
        }
    }

    let answered = traced(&dir, names[answering], "received");
    let invite = answered.iter().find(|m| m.starts_with("INVITE ")).unwrap();
    assert!(
        invite.starts_with(&format!("INVITE {target} SIP/2.0")),
        "{invite}"
    );
    // The PIDF-LO the first trunk was sent, as it heard it.
    let first = match &running[0] {
        Running { sipp: Some(_), .. } => traced(&dir, names[0], "received")
            .into_iter()
            .find(|m| m.starts_with("INVITE "))
            .unwrap(),
        Running {
            heard: Some(heard), ..
        } => String::from_utf8(heard.lock().unwrap().clone()).unwrap(),
        _ => String::new(),
    };
    if names[answering] == "redmond-pstn" && host == Host::Harness {
        assert!(!invite.contains("<?xml"), "{invite}");
        assert!(invite.contains("\nP-Asserted-Identity: "), "{invite}");
        assert!(invite.contains("\nPriority: emergency"), "{invite}");
    } else if !first.is_empty() {
        assert_eq!(
            pidf(&first),
            pidf(invite),
            "the same location at every trunk"
        );
    }
    // The decision was audited once, listing the trunks to fail over to.
    let decisions = proxy.decisions();
    assert_eq!(decisions.len(), 1, "{decisions:#?}");
    assert_eq!(
        decisions[0]["route"]["failover"],
        serde_json::json!(["esp-secondary", "redmond-pstn"])
    );
    let events = proxy.events();
    let call_id = decisions[0]["call_id"].as_str().unwrap();
    events
        .iter()
        .map(|e| {
            assert_eq!(e["event"], "failover");
            assert_eq!(e["call_id"], call_id);
            (
                e["trunk"].as_str().unwrap().to_owned(),
                e["why"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

const SECONDARY: &str = "sip:911@esp-backup.example.net;transport=tcp";
const ECRC: &str = "sip:+18005550199@pstn-gw1.redmond.contoso.com;transport=tcp";

/// The primary answers 503: the secondary gets the call; the audit names the 503.
fn primary_answers_503(host: Host, name: &str) {
    let trunks = [Trunk::Refuses, Trunk::Answers, Trunk::Closed];
    let failed = call(host, name, trunks, 1, SECONDARY);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, "esp-primary");
    assert!(failed[0].1.contains("503"), "{failed:?}");
}

/// Nothing listens on the primary's port: the secondary gets the call.
fn primary_port_closed(host: Host, name: &str) -> String {
    let trunks = [Trunk::Closed, Trunk::Answers, Trunk::Closed];
    let failed = call(host, name, trunks, 1, SECONDARY);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, "esp-primary");
    failed[0].1.clone()
}

/// The primary reads and never answers: after 500 ms the secondary gets the call.
fn primary_silent(host: Host, name: &str) {
    let trunks = [Trunk::Silent, Trunk::Answers, Trunk::Closed];
    let failed = call(host, name, trunks, 1, SECONDARY);
    assert_eq!(
        failed,
        [(
            "esp-primary".to_owned(),
            "no provisional response in 500 ms".to_owned()
        )]
    );
}

/// Both provider trunks fail: the ECRC route's trunk gets the call.
fn every_provider_trunk_down(host: Host, name: &str) {
    let trunks = [Trunk::Refuses, Trunk::Closed, Trunk::Answers];
    let failed = call(host, name, trunks, 2, ECRC);
    let tried: Vec<&str> = failed.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(tried, ["esp-primary", "esp-secondary"], "{failed:?}");
}

/// The primary refuses the location it was sent (424): the secondary, which would get
/// the same PIDF-LO, is skipped (it is silent here, so trying it would add a failover
/// event of its own), and the ECRC route's trunk gets the call with the ECRC's
/// Request-URI; the audit says why.
fn primary_refuses_the_location(host: Host, name: &str) {
    let trunks = [Trunk::BadLocation, Trunk::Silent, Trunk::Answers];
    let failed = call(host, name, trunks, 2, ECRC);
    assert_eq!(failed, [("esp-primary".to_owned(), ECRC_WHY.to_owned())]);
}

/// One 911 call from HQ through `host` whose every trunk that gets it answers 424:
/// checks that the caller hears `424 Bad Location Information` (an answer, not its Timer
/// B), that each trunk in `refusing` got the call once, and that the decision lists
/// `failover`; returns the audit's failover events as (trunk, why, next).
fn refused_everywhere(
    host: Host,
    name: &str,
    trunks: [Trunk; 3],
    bundle: &dyn Fn(&Path),
    refusing: &[usize],
    failover: &[&str],
) -> Vec<[String; 3]> {
    require_sipp();
    let dir = scratch(name);
    let (mut running, proxy) = start_route_with(host, &dir, &trunks, bundle);
    let t = ["-t", "t1", "-m", "1", "-recv_timeout", "10000"];
    let mut caller = uac(&dir, "caller", &proxy.addr(), "127.1.0.10", "911", &t);
    caller.wait();
    for &n in refusing {
        running[n]
            .sipp
            .as_mut()
            .unwrap()
            .assert_calls(1, || proxy.log());
    }
    let answers = traced(&dir, "caller", "received");
    let status = answers
        .iter()
        .filter_map(|m| m.lines().next())
        .find(|l| l.starts_with("SIP/2.0 ") && !l.starts_with("SIP/2.0 1"))
        .unwrap_or_else(|| panic!("no final answer: {answers:?}\n{}", proxy.log()))
        .trim_end()
        .to_owned();
    assert_eq!(
        status,
        "SIP/2.0 424 Bad Location Information",
        "{}",
        proxy.log()
    );
    let decisions = proxy.decisions();
    assert_eq!(decisions.len(), 1, "{decisions:#?}");
    assert_eq!(
        decisions[0]["route"]["failover"],
        serde_json::json!(failover)
    );
    let events = proxy.events();
    // Both hosts keep what the provider said about the location (RFC 6442 §4.4), as the
    // SIPp trunk sends it (tests/sipp/uas-424.xml).
    let refusals: Vec<_> = events
        .iter()
        .filter(|e| e["why"].as_str().is_some_and(|w| w.starts_with("424 ")))
        .collect();
    assert!(!refusals.is_empty(), "{events:#?}");
    for event in refusals {
        assert_eq!(
            event["geolocation_error"], "100 ;code=\"Cannot Process Location\"",
            "{event}"
        );
    }
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("null").to_owned();
    events
        .iter()
        .map(|e| [text(&e["trunk"]), text(&e["why"]), text(&e["next"])])
        .collect()
}

/// With no ECRC route in the policy, a 424 moves the call to the route's next trunk like
/// any failure, and the last trunk's 424 reaches the caller.
fn refused_location_without_an_ecrc_route(host: Host, name: &str) -> Vec<[String; 3]> {
    let no_ecrc = |src: &Path| {
        edit(src, "policies.toml", "ecrc_route = \"redmond-ecrc\"", "");
    };
    let trunks = [Trunk::BadLocation, Trunk::BadLocation, Trunk::Closed];
    refused_everywhere(host, name, trunks, &no_ecrc, &[0, 1], &["esp-secondary"])
}

/// The ECRC route's trunk answers 424 as well: the call is already where calls without
/// a usable location go, so that 424 reaches the caller, and the audit names only the
/// resend to the ECRC (the silent secondary was skipped, or it would add an event).
fn the_ecrc_refuses_the_location_too(host: Host, name: &str) {
    let trunks = [Trunk::BadLocation, Trunk::Silent, Trunk::BadLocation];
    let failover = ["esp-secondary", "redmond-pstn"];
    let events = refused_everywhere(host, name, trunks, &|_| {}, &[0, 2], &failover);
    assert_eq!(
        events,
        [[
            "esp-primary".to_owned(),
            ECRC_WHY.to_owned(),
            "redmond-pstn".to_owned()
        ]]
    );
}

const ECRC_WHY: &str =
    "424 Bad Location Information from esp-primary: resent on the ECRC route redmond-ecrc";

const NO_ECRC_WHY: &str = "424 Bad Location Information from esp-primary: no ECRC route to resend on, so the next trunk of the route";

#[test]
fn a_424_from_the_ecrc_route_reaches_the_caller() {
    the_ecrc_refuses_the_location_too(Host::Harness, "failover-424-ecrc-too");
}

#[test]
fn kamailio_relays_a_424_from_the_ecrc_route() {
    the_ecrc_refuses_the_location_too(Host::Kamailio, "kamailio-failover-424-ecrc-too");
}

#[test]
fn a_primary_that_refuses_the_location_hands_the_call_to_the_ecrc_route() {
    primary_refuses_the_location(Host::Harness, "failover-424");
}

#[test]
fn kamailio_hands_a_call_whose_location_is_refused_to_the_ecrc_route() {
    primary_refuses_the_location(Host::Kamailio, "kamailio-failover-424");
}

#[test]
fn a_refused_location_with_no_ecrc_route_reaches_the_caller_after_the_last_trunk() {
    let events = refused_location_without_an_ecrc_route(Host::Harness, "failover-424-no-ecrc");
    assert_eq!(
        events,
        [[
            "esp-primary".to_owned(),
            NO_ECRC_WHY.to_owned(),
            "esp-secondary".to_owned()
        ]]
    );
}

#[test]
fn kamailio_relays_a_refused_location_with_no_ecrc_route_after_the_last_trunk() {
    let events =
        refused_location_without_an_ecrc_route(Host::Kamailio, "kamailio-failover-424-no-ecrc");
    // Kamailio also audits the last trunk's failure (route E911_NO_TRUNK_LEFT).
    assert_eq!(
        events.first(),
        Some(&[
            "esp-primary".to_owned(),
            NO_ECRC_WHY.to_owned(),
            "esp-secondary".to_owned()
        ]),
        "{events:?}"
    );
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1][0], "esp-secondary", "{events:?}");
    assert_eq!(events[1][2], "null", "{events:?}");
}

#[test]
fn a_primary_that_answers_503_hands_the_call_to_the_secondary() {
    primary_answers_503(Host::Harness, "failover-503");
}

#[test]
fn a_primary_whose_port_is_closed_hands_the_call_to_the_secondary() {
    let why = primary_port_closed(Host::Harness, "failover-closed");
    assert!(why.starts_with("not sent: "), "{why}");
}

#[test]
fn a_silent_primary_hands_the_call_to_the_secondary_after_the_timeout() {
    primary_silent(Host::Harness, "failover-silent");
}

#[test]
fn with_every_provider_trunk_down_the_call_reaches_the_ecrc_route() {
    every_provider_trunk_down(Host::Harness, "failover-ecrc");
}

#[test]
fn kamailio_hands_a_call_refused_with_503_to_the_secondary() {
    primary_answers_503(Host::Kamailio, "kamailio-failover-503");
}

#[test]
fn kamailio_hands_a_call_to_the_secondary_when_the_primary_port_is_closed() {
    let why = primary_port_closed(Host::Kamailio, "kamailio-failover-closed");
    assert!(!why.is_empty());
}

#[test]
fn kamailio_hands_a_call_to_the_secondary_when_the_primary_is_silent() {
    primary_silent(Host::Kamailio, "kamailio-failover-silent");
}

#[test]
fn kamailio_sends_the_call_to_the_ecrc_route_when_every_provider_trunk_is_down() {
    every_provider_trunk_down(Host::Kamailio, "kamailio-failover-ecrc");
}

/// Every trunk of the route and the ECRC route refuses the connection: the caller gets a
/// final 5xx from the proxy (not silence until its Timer B), and the audit names each
/// trunk left. Returns the status line the caller got.
fn every_trunk_unreachable(host: Host, name: &str) -> String {
    let dir = scratch(name);
    let (_closed, proxy) = start_route(host, &dir, &[Trunk::Closed, Trunk::Closed, Trunk::Closed]);
    // HQ dials 911 (SIPp expects a 200 and fails the call on anything else).
    let t = ["-t", "t1", "-m", "1", "-recv_timeout", "10000"];
    let mut caller = uac(&dir, "caller", &proxy.addr(), "127.1.0.10", "911", &t);
    caller.wait();
    let answers = traced(&dir, "caller", "received");
    let status = answers
        .iter()
        .filter_map(|m| m.lines().next())
        .find(|l| l.starts_with("SIP/2.0 ") && !l.starts_with("SIP/2.0 1"))
        .unwrap_or_else(|| panic!("no final answer: {answers:?}\n{}", proxy.log()))
        .trim_end()
        .to_owned();
    assert!(status.starts_with("SIP/2.0 5"), "{status}");
    let left: Vec<String> = proxy
        .events()
        .iter()
        .map(|e| e["trunk"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        left,
        ["esp-primary", "esp-secondary", "redmond-pstn"],
        "{}",
        proxy.log()
    );
    assert!(proxy.events().last().unwrap()["next"].is_null());
    status
}

#[test]
fn with_every_trunk_unreachable_the_caller_gets_a_5xx_at_once() {
    let status = every_trunk_unreachable(Host::Harness, "failover-nowhere");
    assert!(status.starts_with("SIP/2.0 503 "), "{status}");
}

#[test]
fn kamailio_answers_5xx_when_every_trunk_is_unreachable() {
    let status = every_trunk_unreachable(Host::Kamailio, "kamailio-failover-nowhere");
    assert!(status.starts_with("SIP/2.0 503 "), "{status}");
}

/// On one TCP connection: bytes that are not SIP, then a 911 INVITE. The garbage goes on
/// as received to the default upstream, the connection stays open, and the INVITE is
/// decided and sent on its route (from 127.0.0.1, no site: the ECRC's trunk).
#[test]
fn a_911_after_garbage_on_the_same_connection_is_still_routed() {
    let dir = scratch("garbage-then-911");
    let hook = webhook();
    let bundle = loopback_sources(&dir, &hook.url, &["127.0.0.0/8"]);
    let ecrc = start(&dir, "redmond-pstn", "127.0.0.6", &Trunk::Silent);
    let default = start(&dir, "default", "127.0.0.4", &Trunk::Silent);
    let proxy_port = free_port("127.0.0.1");
    let args = vec![
        format!("--listen=tcp:127.0.0.1:{proxy_port}"),
        format!("--policy={}", bundle.display()),
        format!("--upstream=tcp:{}", default.addr),
        format!("--route-upstream=redmond-pstn=tcp:{}", ecrc.addr),
    ];
    let _proxy = start_proxy(&args, &dir);
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", proxy_port)).unwrap();
    let garbage = b"\x16\x03\x01 not SIP at all\r\nmore of it\r\n";
    conn.write_all(garbage).unwrap();
    conn.write_all(
        b"INVITE sip:911@contoso.com SIP/2.0\r\n\
Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-after-garbage\r\n\
Max-Forwards: 70\r\n\
From: <sip:+14255550101@contoso.com>;tag=g1\r\n\
To: <sip:911@contoso.com>\r\n\
Call-ID: after-garbage\r\n\
CSeq: 1 INVITE\r\n\
Content-Length: 0\r\n\r\n",
    )
    .unwrap();
    let heard = |run: &Running| {
        String::from_utf8_lossy(&run.heard.as_ref().unwrap().lock().unwrap()).into_owned()
    };
    common::process::wait_until(
        "the INVITE at the ECRC trunk",
        Duration::from_secs(10),
        || heard(&ecrc).contains("Call-ID: after-garbage"),
    );
    assert!(
        heard(&ecrc).starts_with("INVITE sip:+18005550199@pstn-gw1.redmond.contoso.com"),
        "{}",
        heard(&ecrc)
    );
    common::process::wait_until(
        "the garbage at the default upstream",
        Duration::from_secs(10),
        || heard(&default).as_bytes() == garbage,
    );
    assert!(proxy_log(&dir).contains("framing resumes at the next message"));
}

/// A 911 INVITE the plugin cannot decide still goes on the emergency route: unchanged, to
/// `--failsafe-upstream`, recognised by the bundle's own numbers. Here one is too large
/// to read (over the 64 KiB message limit; an ordinary one that large goes to the default
/// upstream), and, with a component whose every call traps, one that could not be
/// decided (9999: the outside-line prefix and a dial mask of the bundle).
#[test]
fn an_emergency_call_the_plugin_cannot_decide_goes_to_the_failsafe_upstream() {
    let run = |name: &str, extra: &[&str], invites: &[(&str, &str, usize)]| {
        let dir = scratch(name);
        let hook = webhook();
        let bundle = loopback_sources(&dir, &hook.url, &["127.0.0.0/8"]);
        let failsafe = start(&dir, "failsafe", "127.0.0.7", &Trunk::Silent);
        let default = start(&dir, "default", "127.0.0.4", &Trunk::Silent);
        let port = free_port("127.0.0.1");
        let mut args = vec![
            format!("--listen=tcp:127.0.0.1:{port}"),
            format!("--policy={}", bundle.display()),
            format!("--upstream=tcp:{}", default.addr),
            format!("--failsafe-upstream=tcp:{}", failsafe.addr),
        ];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let _proxy = start_proxy(&args, &dir);
        let heard = |run: &Running| {
            String::from_utf8_lossy(&run.heard.as_ref().unwrap().lock().unwrap()).into_owned()
        };
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        for (dialled, call_id, body) in invites {
            let body = "v".repeat(*body);
            let invite = format!(
                "INVITE sip:{dialled}@contoso.com SIP/2.0\r\n\
Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-{call_id}\r\n\
Max-Forwards: 70\r\n\
From: <sip:+14255550101@contoso.com>;tag=f1\r\n\
To: <sip:{dialled}@contoso.com>\r\n\
Call-ID: {call_id}\r\n\
CSeq: 1 INVITE\r\n\
Content-Type: text/plain\r\n\
Content-Length: {}\r\n\r\n{body}",
                body.len()
            );
            conn.write_all(invite.as_bytes()).unwrap();
            let to = if dialled.starts_with('9') {
                &failsafe
            } else {
                &default
            };
            common::process::wait_until(
                &format!("{call_id} at its upstream"),
                Duration::from_secs(10),
                || heard(to).contains(&format!("Call-ID: {call_id}\r\n")),
            );
            let arrived = heard(to);
            let at = arrived.find(&format!("INVITE sip:{dialled}@")).unwrap();
            assert!(
                arrived[at..].contains(&body),
                "{name}: the body arrived whole"
            );
        }
        proxy_log(&dir)
    };
    let log = run(
        "failsafe-oversize",
        &[],
        &[
            ("911", "too-large-911", 100 * 1024),
            ("4255550100", "too-large-other", 100 * 1024),
        ],
    );
    assert!(
        log.contains(
            "an emergency INVITE over the size limit; passed as received to the fail-safe upstream"
        ),
        "{log}"
    );
    let log = run(
        "failsafe-trap",
        &["--call-deadline-ms=0"],
        &[("9999", "trapped-911", 10)],
    );
    assert!(
        log.contains("emergency call relayed unchanged to the fail-safe upstream"),
        "{log}"
    );
}
