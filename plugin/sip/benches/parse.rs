//! Criterion benchmarks: framing and parsing, typed view lookups, rendering.
//!
//! Samples: `emergency-invite.sip` (about 1.5 KB, an SDP offer to
//! `urn:service:sos` as a phone behind an SBC sends it), `options.sip` (about 400
//! bytes, a keep-alive OPTIONS) and `pidf-lo.xml` (a civic PIDF-LO part). The rewrite
//! benchmark turns the INVITE's SDP body into `multipart/mixed` with the PIDF-LO part,
//! as the plugin does for a `sip-trunk` route (RFC 6442 §4.1).

// clippy.toml allows these in #[test] functions only; a benchmark's setup may panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use e911_sip::{Edits, Framed, Limits, Message, NewPart, frame, multipart_mixed, parse};

const INVITE: &[u8] = include_bytes!("emergency-invite.sip");
const OPTIONS: &[u8] = include_bytes!("options.sip");
const PIDF: &[u8] = include_bytes!("pidf-lo.xml");
const CID: &[u8] = b"loc-1@edge-1.contoso.com";

/// Frames the first message of a stream buffer, then parses it.
fn frame_and_parse(buf: &[u8]) -> Message<'_> {
    match frame(buf, &Limits::DEFAULT) {
        Framed::Message { skip, len } => parse(&buf[skip..skip + len], &Limits::DEFAULT).unwrap(),
        other => panic!("sample did not frame: {other:?}"),
    }
}

/// The plugin's sip-trunk rewrite: Geolocation headers plus SDP → multipart/mixed.
fn rewrite(msg: &Message<'_>) -> Vec<u8> {
    let mut edits = Edits::new(msg);
    edits
        .push_header("Geolocation", b"<cid:loc-1@edge-1.contoso.com>")
        .unwrap();
    edits.push_header("Geolocation-Routing", b"yes").unwrap();
    let parts = [
        NewPart::new(b"application/sdp", msg.body()),
        NewPart::new(b"application/pidf+xml", PIDF).with_content_id(CID),
    ];
    let body = multipart_mixed(b"e911-boundary-7f3a", &parts).unwrap();
    edits.set_body(&body.content_type, body.body).unwrap();
    edits.render()
}

fn bench_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame_and_parse");
    for (name, sample) in [("emergency_invite", INVITE), ("options", OPTIONS)] {
        g.throughput(Throughput::Bytes(sample.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| frame_and_parse(black_box(sample)).fields().len())
        });
    }
    g.finish();
}

fn bench_views(c: &mut Criterion) {
    let msg = frame_and_parse(INVITE);
    let rewritten = rewrite(&msg);
    let by_value = parse(&rewritten, &Limits::DEFAULT).unwrap();
    let mut g = c.benchmark_group("views");
    g.bench_function("request_uri_service_urn", |b| {
        b.iter(|| {
            black_box(&msg)
                .request_uri()
                .ok()
                .and_then(|u| u.service_urn())
                .is_some_and(|s| s.is_sos())
        })
    });
    g.bench_function("geolocation_cid", |b| {
        b.iter(|| {
            black_box(&by_value)
                .geolocation()
                .flatten()
                .find_map(|g| g.cid())
                .map(<[u8]>::len)
        })
    });
    g.bench_function("geolocation_part_by_cid", |b| {
        b.iter(|| {
            black_box(&by_value)
                .part_by_cid(CID, &Limits::DEFAULT)
                .map(|p| p.body().len())
        })
    });
    g.bench_function("top_via_and_pani", |b| {
        b.iter(|| {
            let m = black_box(&msg);
            let via = m.top_via().ok().map(|v| v.port);
            let bssid = m
                .access_network_info()
                .flatten()
                .find_map(|a| a.i_wlan_node_id());
            (via, bssid.map(<[u8]>::len))
        })
    });
    g.finish();
}

fn bench_render(c: &mut Criterion) {
    let msg = frame_and_parse(INVITE);
    let mut g = c.benchmark_group("render");
    g.bench_function("no_edits", |b| {
        b.iter(|| Edits::new(black_box(&msg)).render().len())
    });
    g.bench_function("sdp_to_multipart_with_pidf_lo", |b| {
        b.iter(|| rewrite(black_box(&msg)).len())
    });
    g.finish();
}

criterion_group!(benches, bench_parse, bench_views, bench_render);
criterion_main!(benches);
