//! PIDF-LO benchmarks (figures are recorded elsewhere, by whoever runs them):
//!
//! - `write/contoso_civic`: `write_pidf_lo` for the document the engine inserts into an
//!   emergency INVITE routed by the contoso policy (a `tuple`, RFC 5139 civic address from an
//!   ERL, usage rules, method and timestamp).
//! - `write/device_point`: a `dm:device` with a 3D `gml:Point` (RFC 5491 §5.2.1).
//! - `read/contoso_civic`: `read_pidf_lo` of the first document.

// A benchmark that cannot build its input should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use e911_location::{
    CivicAddress, CivicElement, Location, Method, Placement, Point, Shape, UsageRules,
    WriteOptions, read_pidf_lo, write_pidf_lo,
};

/// `redmond-b40-f1` of `policies/contoso/erls.csv`, as the engine writes it.
fn contoso() -> (Location, WriteOptions) {
    let civic = CivicAddress::new()
        .with(CivicElement::Country, "US")
        .with(CivicElement::A1, "WA")
        .with(CivicElement::A3, "Redmond")
        .with(CivicElement::Rd, "Microsoft")
        .with(CivicElement::Sts, "Way")
        .with(CivicElement::Hno, "1")
        .with(CivicElement::Loc, "Building 40, Floor 1")
        .with(CivicElement::Flr, "1")
        .with(CivicElement::Nam, "Contoso")
        .with(CivicElement::Pc, "98052")
        .with(CivicElement::Bld, "40");
    let location = Location::from_civic(civic)
        .with_usage_rules(UsageRules::retransmission_allowed())
        .with_method(Method::Wiremap)
        .with_timestamp("2024-05-01T12:00:00Z");
    let options =
        WriteOptions::new("sip:+14255550142@contoso.com").with_placement(Placement::Tuple);
    (location, options)
}

fn device_point() -> (Location, WriteOptions) {
    let point = Point::new(-34.407, 150.883).with_altitude(24.8);
    let location = Location::from_shape(Shape::Point(point))
        .with_usage_rules(UsageRules::retransmission_allowed())
        .with_method(Method::Gps)
        .with_timestamp("2024-05-01T12:00:00Z");
    let options = WriteOptions::new("pres:alice@example.com")
        .with_id("alice-phone")
        .with_device_id("mac:00000a0b0c0d");
    (location, options)
}

fn write(c: &mut Criterion) {
    let mut group = c.benchmark_group("write");
    let (location, options) = contoso();
    group.bench_function("contoso_civic", |b| {
        b.iter(|| write_pidf_lo(black_box(&location), black_box(&options)).unwrap());
    });
    let (location, options) = device_point();
    group.bench_function("device_point", |b| {
        b.iter(|| write_pidf_lo(black_box(&location), black_box(&options)).unwrap());
    });
    group.finish();
}

fn read(c: &mut Criterion) {
    let (location, options) = contoso();
    let xml = write_pidf_lo(&location, &options).unwrap();
    c.bench_function("read/contoso_civic", |b| {
        b.iter(|| read_pidf_lo(black_box(xml.as_bytes())).unwrap());
    });
    // What a SIP body carries: the same document with CRLF line ends.
    let crlf = xml.replace('\n', "\r\n");
    c.bench_function("read/contoso_civic_crlf", |b| {
        b.iter(|| read_pidf_lo(black_box(crlf.as_bytes())).unwrap());
    });
}

criterion_group!(benches, write, read);
criterion_main!(benches);
