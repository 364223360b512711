//! Trunk failover through the harness proxy (DESIGN §2.6), with SIPp on loopback over TCP:
//! an HQ caller dials 911; its route is `esp-primary`, then `esp-secondary`, then the ECRC
//! route's `redmond-pstn`. Each test breaks trunks in one way the provider's can break
//! (503, port closed, silent) and checks that the call completes at the next trunk with
//! the PIDF-LO the first trunk was sent, and that the audit names every trunk that failed
//! and why.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod common;
use common::http::webhook;
use common::policy::loopback_sources;
use common::ports::{free_port, scratch};
use common::proxy::{audit, audit_events, proxy_log, start_proxy};
use common::sipp::{Sipp, require_sipp, traced, uac, uas};

/// How a trunk behaves in a test.
enum Trunk {
    /// SIPp answers 503 (`uas-503.xml`).
    Refuses,
    /// Nothing listens on its port.
    Closed,
    /// Accepts the connection, reads, never answers.
    Silent,
    /// SIPp answers the call, checking Geolocation and the PIDF-LO part.
    Answers,
}

/// A trunk as set up: its address and what observes it.
struct Running {
    addr: String,
    sipp: Option<Sipp>,
    heard: Option<Arc<Mutex<Vec<u8>>>>,
}

fn start(dir: &Path, name: &str, ip: &str, trunk: &Trunk) -> Running {
    let port = free_port(ip);
    let addr = format!("{ip}:{port}");
    let sipp = |xml: &str| Some(uas(dir, name, xml, ip, port, "t1", 1));
    match trunk {
        Trunk::Refuses => Running {
            addr,
            sipp: sipp("uas-503.xml"),
            heard: None,
        },
        Trunk::Answers if name == "redmond-pstn" => Running {
            addr,
            sipp: sipp("uas.xml"),
            heard: None,
        },
        Trunk::Answers => Running {
            addr,
            sipp: sipp("uas-failover-trunk.xml"),
            heard: None,
        },
        Trunk::Closed => Running {
            addr,
            sipp: None,
            heard: None,
        },
        Trunk::Silent => {
            let listener = TcpListener::bind(&addr).unwrap();
            let heard = Arc::new(Mutex::new(Vec::new()));
            let sink = Arc::clone(&heard);
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    let Ok(mut conn) = conn else { return };
                    let sink = Arc::clone(&sink);
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 4096];
                        while let Ok(n) = conn.read(&mut buf) {
                            if n == 0 {
                                return;
                            }
                            sink.lock().unwrap().extend_from_slice(&buf[..n]);
                        }
                    });
                }
            });
            Running {
                addr,
                sipp: None,
                heard: Some(heard),
            }
        }
    }
}

/// The PIDF-LO document in a message.
fn pidf(message: &str) -> String {
    let start = message.find("<?xml").expect("a PIDF-LO");
    let end = message.find("</presence>").expect("a whole PIDF-LO");
    message[start..end].to_owned()
}

/// One 911 call from HQ with the three trunks behaving as given; returns, in order, the
/// trunks the audit says failed and why, after checking that the call completed at
/// `answering` with `target` as its Request-URI and the PIDF-LO the first trunk was sent
/// (the ECRC's trunk is a PSTN gateway, which cannot carry one: it gets the ECRC number
/// and the caller's callback number instead).
fn call(name: &str, trunks: [Trunk; 3], answering: usize, target: &str) -> Vec<(String, String)> {
    require_sipp();
    let dir = scratch(name);
    let hook = webhook();
    let bundle = loopback_sources(&dir, &hook.url, &["127.0.0.0/8"]);
    let state = dir.join("state");
    let names = ["esp-primary", "esp-secondary", "redmond-pstn"];
    let ips = ["127.0.0.2", "127.0.0.5", "127.0.0.6"];
    let mut running: Vec<Running> = trunks
        .iter()
        .enumerate()
        .map(|(i, t)| start(&dir, names[i], ips[i], t))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let proxy_port = free_port("127.0.0.1");
    let mut args = vec![
        format!("--listen=tcp:127.0.0.1:{proxy_port}"),
        format!("--policy={}", bundle.display()),
        format!("--upstream=tcp:127.0.0.4:{}", free_port("127.0.0.4")),
        format!("--state-dir={}", state.display()),
        "--failover-timeout-ms=500".to_owned(),
    ];
    for (trunk, run) in names.iter().zip(&running) {
        args.push(format!("--route-upstream={trunk}=tcp:{}", run.addr));
    }
    let _proxy = start_proxy(&args, &dir);
    let proxy = format!("127.0.0.1:{proxy_port}");
    let mut caller = uac(
        &dir,
        "caller",
        &proxy,
        "127.1.0.10",
        "911",
        &["-t", "t1", "-m", "1"],
    );
    caller.assert_calls(1, || proxy_log(&dir));
    for run in &mut running {
        if let Some(sipp) = &mut run.sipp {
            sipp.assert_calls(1, || proxy_log(&dir));
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
    if names[answering] == "redmond-pstn" {
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
    let decisions = audit(&state);
    assert_eq!(decisions.len(), 1, "{decisions:#?}");
    assert_eq!(
        decisions[0]["route"]["failover"],
        serde_json::json!(["esp-secondary", "redmond-pstn"])
    );
    let events = audit_events(&state);
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

#[test]
fn a_primary_that_answers_503_hands_the_call_to_the_secondary() {
    let failed = call(
        "failover-503",
        [Trunk::Refuses, Trunk::Answers, Trunk::Closed],
        1,
        "sip:911@esp-backup.example.net;transport=tcp",
    );
    assert_eq!(
        failed,
        [("esp-primary".to_owned(), "answered 503".to_owned())]
    );
}

#[test]
fn a_primary_whose_port_is_closed_hands_the_call_to_the_secondary() {
    let failed = call(
        "failover-closed",
        [Trunk::Closed, Trunk::Answers, Trunk::Closed],
        1,
        "sip:911@esp-backup.example.net;transport=tcp",
    );
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, "esp-primary");
    assert!(failed[0].1.starts_with("not sent: "), "{failed:?}");
}

#[test]
fn a_silent_primary_hands_the_call_to_the_secondary_after_the_timeout() {
    let failed = call(
        "failover-silent",
        [Trunk::Silent, Trunk::Answers, Trunk::Closed],
        1,
        "sip:911@esp-backup.example.net;transport=tcp",
    );
    assert_eq!(
        failed,
        [(
            "esp-primary".to_owned(),
            "no provisional response in 500 ms".to_owned()
        )]
    );
}

#[test]
fn with_every_provider_trunk_down_the_call_reaches_the_ecrc_route() {
    let failed = call(
        "failover-ecrc",
        [Trunk::Refuses, Trunk::Closed, Trunk::Answers],
        2,
        "sip:+18005550199@pstn-gw1.redmond.contoso.com;transport=tcp",
    );
    let trunks: Vec<&str> = failed.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(trunks, ["esp-primary", "esp-secondary"], "{failed:?}");
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
