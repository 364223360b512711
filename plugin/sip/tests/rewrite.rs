//! The plugin's sip-trunk rewrite on the benchmark's emergency INVITE: SDP body to
//! `multipart/mixed` with a PIDF-LO part (RFC 6442 §4.1), Geolocation headers added,
//! everything else byte-identical.

// clippy.toml allows these in #[test] functions only; the helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use e911_sip::{Edits, Framed, HeaderKind, Limits, NewPart, frame, multipart_mixed, parse};

const INVITE: &[u8] = include_bytes!("../benches/emergency-invite.sip");
const OPTIONS: &[u8] = include_bytes!("../benches/options.sip");
const PIDF: &[u8] = include_bytes!("../benches/pidf-lo.xml");

#[test]
fn benchmark_samples_frame_and_parse() {
    for sample in [INVITE, OPTIONS] {
        assert_eq!(
            frame(sample, &Limits::DEFAULT),
            Framed::Message {
                skip: 0,
                len: sample.len()
            }
        );
        let msg = parse(sample, &Limits::DEFAULT).unwrap();
        assert_eq!(msg.content_length(), Some(msg.body().len() as u32));
        assert!(
            msg.top_via().is_ok() && msg.cseq().is_ok() && msg.from().is_ok() && msg.to().is_ok()
        );
    }
    let msg = parse(INVITE, &Limits::DEFAULT).unwrap();
    assert!(msg.request_uri().unwrap().service_urn().unwrap().is_sos());
}

#[test]
fn sdp_becomes_multipart_with_the_pidf_lo_part_the_geolocation_names() {
    let msg = parse(INVITE, &Limits::DEFAULT).unwrap();
    let mut edits = Edits::new(&msg);
    edits
        .push_header("Geolocation", "<cid:loc-1@edge-1.contoso.com>")
        .unwrap();
    edits.push_header("Geolocation-Routing", "yes").unwrap();
    let parts = [
        NewPart::new(b"application/sdp", msg.body()),
        NewPart::new(b"application/pidf+xml", PIDF).with_content_id(b"loc-1@edge-1.contoso.com"),
    ];
    let body = multipart_mixed(b"e911-boundary-7f3a", &parts).unwrap();
    edits.set_body(&body.content_type, body.body).unwrap();
    let out = edits.render();

    let new = parse(&out, &Limits::DEFAULT).unwrap();
    assert_eq!(new.content_length(), Some(new.body().len() as u32));
    let cid = new.geolocation().next().unwrap().unwrap().cid().unwrap();
    let pidf = new.part_by_cid(cid, &Limits::DEFAULT).unwrap();
    assert!(pidf.content_type().unwrap().is(b"application", b"pidf+xml"));
    assert_eq!(pidf.body(), PIDF);
    let parts = new.multipart(&Limits::DEFAULT).unwrap();
    assert_eq!(parts[0].body(), msg.body());

    // Every original header line except Content-Type/-Length comes out unchanged and in
    // order. Those two are rewritten where they were (here, last), and the pushed
    // lines follow at the end of the header section.
    let kept: Vec<&[u8]> = msg
        .fields()
        .iter()
        .filter(|f| !matches!(f.kind, HeaderKind::ContentType | HeaderKind::ContentLength))
        .map(|f| msg.slice(msg.field_line(f)))
        .collect();
    let mut rest = &out[..];
    for line in kept {
        let at = rest.windows(line.len()).position(|w| w == line).unwrap();
        rest = &rest[at + line.len()..];
    }
    let tail = String::from_utf8_lossy(rest);
    let expected = format!(
        "Content-Type: multipart/mixed;boundary=e911-boundary-7f3a\r\nContent-Length: {}\r\n\
         Geolocation: <cid:loc-1@edge-1.contoso.com>\r\nGeolocation-Routing: yes\r\n\r\n--e911-boundary-7f3a\r\n",
        new.body().len()
    );
    assert!(tail.starts_with(&expected), "{tail}");
}
