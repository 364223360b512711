//! `e911_sip::parse` on arbitrary bytes, strict and with every leniency. Invariants:
//!
//! - a message that parses renders back byte-identical when nothing was edited (the
//!   "untouched bytes stay identical" rule, ARCHITECTURE.md), and `rendered_len` says so;
//! - what it renders parses again, to the same start line, fields and body;
//! - after a body edit, the rendering parses and its Content-Length is the body's length
//!   (only the body edit touches Content-Length);
//! - edits of every kind the engine makes, checked as it checks them
//!   (`Edits::render_checked`: over a strictly parsed message, only the start line is
//!   parsed again), agree with a full strict parse of the rendering.
#![no_main]

use e911_sip::{Leniency, Limits, Message, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for limits in [
        Limits::DEFAULT,
        Limits::DEFAULT.with_leniency(Leniency::TOLERANT),
    ] {
        if let Ok(msg) = parse(data, &limits) {
            check(data, &msg, &limits);
        }
    }
});

fn check(data: &[u8], msg: &Message<'_>, limits: &Limits) {
    assert_eq!(msg.buffer(), data);
    let unedited = e911_sip::Edits::new(msg);
    let out = unedited.render();
    assert_eq!(
        out.as_slice(),
        msg.as_bytes(),
        "no edits must render the input"
    );
    assert_eq!(out.len(), unedited.rendered_len());
    assert_eq!(Some(out.as_slice()), data.get(..msg.len()));

    let again = parse(&out, limits).expect("the rendering of a parsed message parses");
    assert_eq!(again.start_line(), msg.start_line());
    assert_eq!(again.fields().len(), msg.fields().len());
    for (a, b) in again.fields().iter().zip(msg.fields()) {
        assert_eq!(again.name(a), msg.name(b));
        assert_eq!(again.value(a), msg.value(b));
    }
    assert_eq!(again.body(), msg.body());

    let mut edits = e911_sip::Edits::new(msg);
    if edits.set_body(b"text/plain", b"fuzz\r\n".to_vec()).is_ok() {
        let out = edits.render();
        assert_eq!(out.len(), edits.rendered_len());
        // The edit may add header lines: the limits bound input, not what we write.
        let unbounded = Limits {
            max_message_bytes: u32::MAX,
            max_header_bytes: u32::MAX,
            max_headers: u32::MAX,
            ..*limits
        };
        let edited = parse(&out, &unbounded)
            .unwrap_or_else(|e| panic!("a body edit renders what does not parse: {e}"));
        assert_eq!(edited.body(), b"fuzz\r\n");
        assert_eq!(edited.content_length(), Some(6));
    }

    let mut edits = e911_sip::Edits::new(msg);
    let fields = msg.fields();
    if let Some(first) = fields.first() {
        let _ = edits.insert_before(first, "Route", "<sip:esp.example.net;lr>");
    }
    if let Some(last) = fields.last() {
        let _ = edits.replace_value(last, "replaced");
        let _ = edits.insert_after(last, "Geolocation", "<cid:loc@example.net>");
    }
    if let Some(middle) = fields.get(fields.len() / 2) {
        let _ = edits.remove(middle);
    }
    let _ = edits.push_header("Priority", "emergency");
    let _ = edits.set_request_uri("sip:911@esp.example.net;transport=tcp");
    let _ = edits.set_body(
        b"multipart/mixed;boundary=b",
        b"--b\r\n\r\nx\r\n--b--\r\n".to_vec(),
    );
    let full = parse(&edits.render(), &Limits::STRICT_UNBOUNDED).map(drop);
    assert_eq!(edits.render_checked().map(drop), full);
    if msg.parsed_strictly() {
        assert_eq!(
            full,
            Ok(()),
            "edits of a strict message must render a strict one"
        );
    }
}
