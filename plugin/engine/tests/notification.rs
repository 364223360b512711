//! What the security desk is told (DESIGN §3 step 9): the SIP MESSAGE text carries, after
//! its one-line summary, the civic address and method as name-value pairs, as Lync's
//! emergency notification does ([MS-SIPRE] §3.17.5.2).

// Test code: a broken fixture should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::decide_sample;

fn text(sample: &str, peer: &str) -> String {
    let verdict = decide_sample(sample, peer);
    let first = verdict.notifications.first().expect("the desk is notified");
    assert!(verdict.notifications.iter().all(|n| n.text == first.text));
    first.text.clone()
}

#[test]
fn the_desk_reads_a_summary_then_every_civic_element_and_the_method() {
    let text = text("hq-wired-911.sip", "10.1.0.25");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("EMERGENCY 911 call from sip:+14255550101@contoso.com"),
        "{text}"
    );
    // RFC 5139 names in schema order, then the method: the ERL of HQ floor 1's subnet.
    let pairs = &lines[1..];
    for expected in ["country=US", "A1=WA", "A3=Redmond", "RD=Microsoft", "HNO=1"] {
        assert!(pairs.contains(&expected), "{expected} missing in {text}");
    }
    assert_eq!(pairs.last(), Some(&"method=Wiremap"), "{text}");
    let at = |p: &str| pairs.iter().position(|l| *l == p).unwrap();
    assert!(at("country=US") < at("A1=WA") && at("A1=WA") < at("A3=Redmond"));
    assert!(pairs.iter().all(|l| l.contains('=') && !l.contains('\r')));
}

#[test]
fn a_call_without_a_location_sends_the_summary_alone() {
    let text = text("unknown-subnet-911.sip", "10.77.0.9");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.ends_with("location unknown"), "{text}");
}

#[test]
fn the_webhook_receives_the_call_as_one_json_object() {
    let verdict = decide_sample("wichita-visitor-911.sip", "10.2.14.30");
    let report = &verdict.report;
    let n = verdict.notifications.first().expect("the desk is notified");
    let body: serde_json::Value = serde_json::from_str(&n.json).expect("JSON");
    let location = report.location.as_ref().expect("a location");
    let expected = serde_json::json!({
        "kind": "emergency",
        "test": false,
        "caller": report.caller,
        "callback": report.elin.as_ref().or(report.caller.as_ref()),
        "time": "2027-01-15T08:00:00Z",
        "location": location.address,
        "erl": location.erl,
        "route": report.route.as_ref().map(|r| &r.id),
        "conference": "sip:security-wichita@contoso.com",
        "conference_mode": "two-way",
        "call_id": report.call_id,
    });
    assert_eq!(body, expected);
    let keys: Vec<&str> = n
        .json
        .split("\":")
        .map(|k| k.rsplit('"').next().unwrap())
        .collect();
    assert_eq!(
        keys[..keys.len() - 1],
        [
            "kind",
            "test",
            "caller",
            "callback",
            "time",
            "location",
            "erl",
            "route",
            "conference",
            "conference_mode",
            "call_id"
        ],
        "field order: {}",
        n.json
    );
}
