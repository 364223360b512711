//! The reader on real-world documents: every file under
//! `location-examples/pidf-lo/`, and the PIDF-LO bodies of the SIP messages
//! under `location-examples/sip/`. Every file must be claimed by a table entry
//! below; a new file without one fails the test, and so does an entry whose
//! file is gone.

// Test helpers outside #[test] functions: failing loudly is their job.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use e911_location::{PidfLo, Placement, Shape, WriteOptions, read_pidf_lo, write_pidf_lo};

/// Where the preferred location must be.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Where {
    Any,
    In(Placement),
    /// A `geopriv` in no tuple, device or person.
    Unplaced,
}

/// Key facts of the preferred location; `None` fields are not checked.
#[derive(Clone, Copy)]
struct Facts {
    count: Option<usize>,
    place: Where,
    country: Option<&'static str>,
    a1: Option<&'static str>,
    hno: Option<&'static str>,
    flr: Option<&'static str>,
    lat_lon: Option<(f64, f64)>,
}

const ANY: Facts = Facts {
    count: None,
    place: Where::Any,
    country: None,
    a1: None,
    hno: None,
    flr: None,
    lat_lon: None,
};

#[derive(Clone, Copy)]
enum Expect {
    /// Reads, with at least one location whose preferred one has these facts.
    Facts(Facts),
    /// Well-formed PIDF with no usable location (the reason is documentation).
    NoLocation(&'static str),
    /// Must be an error (not well-formed, or not a document at all).
    Error,
    /// Deliberately broken: an error, or a lenient result that still has a
    /// location; never a panic.
    ErrorOrLenient,
    /// A SIP file whose body holds no PIDF-LO (location by reference, SDP only).
    NoPidf,
}

use Expect::{Error, ErrorOrLenient, NoLocation, NoPidf};

const fn located() -> Expect {
    Expect::Facts(ANY)
}

const fn civic(place: Where, country: &'static str, a1: &'static str, hno: &'static str) -> Expect {
    Expect::Facts(Facts {
        place,
        country: Some(country),
        a1: Some(a1),
        hno: Some(hno),
        ..ANY
    })
}

const fn at(place: Where, lat: f64, lon: f64) -> Expect {
    Expect::Facts(Facts {
        place,
        lat_lon: Some((lat, lon)),
        ..ANY
    })
}

const DEVICE: Where = Where::In(Placement::Device);
const TUPLE: Where = Where::In(Placement::Tuple);

const TAMU_POINT: (f64, f64) = (40.716_683_007_560_87, -73.990_697_566_546_83);

/// Files under `pidf-lo/`, relative to it.
const PIDF_LO: &[(&str, Expect)] = &[
    (
        "asterisk/pidf_lo_test.xml",
        at(TUPLE, -34.410649, 150.87651),
    ),
    (
        "asterisk/wiki-CivicAddress-alice.xml",
        Expect::Facts(Facts {
            flr: Some("4"),
            ..facts_ny()
        }),
    ),
    (
        "asterisk/wiki-CivicAddress-bob.xml",
        Expect::Facts(Facts {
            flr: Some("32"),
            ..facts_ny()
        }),
    ),
    ("broken/circle-radius-no-uom.xml", ErrorOrLenient),
    ("broken/civic-lowercase-country.xml", ErrorOrLenient),
    ("broken/civic-out-of-order.xml", ErrorOrLenient),
    ("broken/device-id-not-ncname.xml", ErrorOrLenient),
    ("broken/not-well-formed.xml", Error),
    ("broken/point-comma-in-pos.xml", ErrorOrLenient),
    ("broken/point-no-usage-rules.xml", ErrorOrLenient),
    ("broken/retransmission-allowed-no.xml", ErrorOrLenient),
    (
        "dec112/civic-circle_location.xml",
        Expect::Facts(Facts {
            lat_lon: Some((48.123, 14.456)),
            ..facts_of(civic(TUPLE, "AT", "Wien", "51A"))
        }),
    ),
    (
        "dec112/invalid-pidf-lo_invalid-full-1.xml",
        NoLocation("circle without gml:pos"),
    ),
    ("dec112/invalid-pidf-lo_invalid-full-2.xml", Error),
    (
        "dec112/invalid-pidf-lo_invalid-part-1.xml",
        NoLocation("gml:pos is `0 0 xxxxxxx`"),
    ),
    (
        "dec112/invalid-pidf-lo_invalid-part-2.xml",
        NoLocation("gml:pos is `0 0 xxxxxxx`"),
    ),
    (
        "dec112/multiple-locations_valid.xml",
        Expect::Facts(Facts {
            count: Some(2),
            lat_lon: Some((12.345, 67.89)),
            ..ANY
        }),
    ),
    (
        "dec112/rfc5491_point-example.xml",
        at(DEVICE, -34.407, 150.883),
    ),
    (
        "dec112/simple-circle-with-altitude_valid-circle.xml",
        at(TUPLE, 48.123, 14.456),
    ),
    (
        "dec112/simple-circle_invalid-tuple.xml",
        at(TUPLE, 48.123, 14.456),
    ),
    ("dec112/simple-circle_valid-circle.xml", located()),
    (
        "dec112/simple-civic_valid-civic-address.xml",
        Expect::Facts(Facts {
            country: Some("AT"),
            a1: Some("Upper Austria"),
            flr: Some("5"),
            ..ANY
        }),
    ),
    ("dec112/simple-point_valid-point.xml", located()),
    (
        "dec112/wifi-location_location.xml",
        at(DEVICE, 48.197457, 14.482596),
    ),
    (
        "jibx-bindings/pidf-valid-0.xml",
        NoLocation("plain RFC 3863 presence"),
    ),
    (
        "jibx-bindings/pidf-valid-1.xml",
        NoLocation("plain RFC 3863 presence"),
    ),
    ("jibx-bindings/pidf-valid-10.xml", located()),
    (
        "jibx-bindings/pidf-valid-11.xml",
        civic(TUPLE, "US", "AK", "11234"),
    ),
    (
        "jibx-bindings/pidf-valid-12.xml",
        Expect::Facts(Facts {
            flr: Some("2"),
            ..facts_of(at(DEVICE, -43.5723, 153.2176))
        }),
    ),
    (
        "jibx-bindings/pidf-valid-13.xml",
        Expect::Facts(Facts {
            count: Some(2),
            place: DEVICE,
            country: Some("AU"),
            a1: Some("NSW"),
            ..ANY
        }),
    ),
    (
        "jibx-bindings/pidf-valid-14.xml",
        at(DEVICE, -34.407, 150.883),
    ),
    (
        "jibx-bindings/pidf-valid-15.xml",
        at(DEVICE, -34.407, 150.883),
    ),
    (
        "jibx-bindings/pidf-valid-16.xml",
        civic(DEVICE, "US", "TX", "123"),
    ),
    (
        "jibx-bindings/pidf-valid-17.xml",
        civic(DEVICE, "US", "TX", "123"),
    ),
    (
        "jibx-bindings/pidf-valid-18.xml",
        civic(TUPLE, "US", "AZ", "13000"),
    ),
    ("jibx-bindings/pidf-valid-19.xml", located()),
    (
        "jibx-bindings/pidf-valid-2.xml",
        Expect::Facts(Facts {
            lat_lon: Some((39.744876, -104.979637)),
            ..facts_of(civic(TUPLE, "US", "Colorado", "601"))
        }),
    ),
    ("jibx-bindings/pidf-valid-3.xml", located()),
    ("jibx-bindings/pidf-valid-4.xml", located()),
    (
        "jibx-bindings/pidf-valid-5.xml",
        at(TUPLE, 42.5463, -73.2512),
    ),
    ("jibx-bindings/pidf-valid-6.xml", located()),
    ("jibx-bindings/pidf-valid-7.xml", located()),
    ("jibx-bindings/pidf-valid-8.xml", located()),
    ("jibx-bindings/pidf-valid-9.xml", located()),
    (
        "jibx-bindings/pidf-valid-notyet.xml",
        Expect::Facts(Facts {
            count: Some(1),
            ..ANY
        }),
    ),
    (
        "ng911-tamu/Default_location.pidf1.xml",
        at(TUPLE, -63.184694571164925, -56.641464837236164),
    ),
    (
        "ng911-tamu/Location_response.pidf1.xml",
        at(TUPLE, TAMU_POINT.0, TAMU_POINT.1),
    ),
    (
        "ng911-tamu/SIP_INVITE_from_BCF_with_SDP_PIDF-LO_NG-AACS.pidf1.xml",
        at(DEVICE, TAMU_POINT.0, TAMU_POINT.1),
    ),
    (
        "ng911-tamu/SIP_INVITE_from_ESRP_with_complex_multipart_mixed_SDP_PIDFLO_AddData_NGAACN.pidf1.xml",
        at(TUPLE, 50.6199, 26.2516),
    ),
    (
        "ng911-tamu/SIP_INVITE_from_ESRP_with_nested_multipart_mixed.pidf1.xml",
        NoLocation("empty location-info"),
    ),
    (
        "ng911-tamu/SIP_INVITE_from_OSP_with_EmergencyCallData_PIDF-LO_reference.pidf1.xml",
        civic(Where::Unplaced, "US", "MD", "10"),
    ),
    (
        "ng911-tamu/SIP_INVITE_from_OSP_with_EmergencyCallData_PIDF-LO_reference_fail.pidf1.xml",
        civic(Where::Unplaced, "US", "MD", "10"),
    ),
    (
        "ng911-tamu/SIP_INVITE_from_OSP_with_SDP_PIDF-LO_NG-AACS.pidf1.xml",
        at(DEVICE, TAMU_POINT.0, TAMU_POINT.1),
    ),
    (
        "ng911-tamu/SIP_INVITE_location_PIDF-LO.pidf1.xml",
        civic(TUPLE, "US", "MD", "10"),
    ),
    (
        "ng911-tamu/SIP_INVITE_location_PIDF-LO_Boundary1.pidf1.xml",
        at(TUPLE, TAMU_POINT.0, TAMU_POINT.1),
    ),
    (
        "ng911-tamu/SIP_INVITE_location_PIDF-LO_Boundary1_without_identifiers.pidf1.xml",
        located(),
    ),
    (
        "ng911-tamu/SIP_INVITE_location_garbled_PIDF-LO_body.pidf1.xml",
        Error,
    ),
    ("ng911-tamu/rendered/Default_location.pidf1.xml", located()),
    ("ng911-tamu/rendered/Location_response.pidf1.xml", located()),
    (
        "ng911-tamu/rendered/SIP_INVITE_from_BCF_with_SDP_PIDF-LO_NG-AACS.pidf1.xml",
        at(DEVICE, TAMU_POINT.0, TAMU_POINT.1),
    ),
    (
        "ng911-tamu/rendered/SIP_INVITE_from_ESRP_with_complex_multipart_mixed_SDP_PIDFLO_AddData_NGAACN.pidf1.xml",
        located(),
    ),
    (
        "ng911-tamu/rendered/SIP_INVITE_from_ESRP_with_nested_multipart_mixed.pidf1.xml",
        NoLocation("empty location-info"),
    ),
    (
        "ng911-tamu/rendered/SIP_INVITE_from_OSP_with_EmergencyCallData_PIDF-LO_reference.pidf1.xml",
        civic(Where::Unplaced, "US", "MD", "10"),
    ),
    (
        "ng911-tamu/rendered/SIP_INVITE_from_OSP_with_EmergencyCallData_PIDF-LO_reference_fail.pidf1.xml",
        located(),
    ),
    (
        "ng911-tamu/rendered/SIP_INVITE_from_OSP_with_SDP_PIDF-LO_NG-AACS.pidf1.xml",
        located(),
    ),
    (
        "ng911-tamu/rendered/SIP_INVITE_location_PIDF-LO.pidf1.xml",
        civic(TUPLE, "US", "MD", "10"),
    ),
    (
        "ng911-tamu/rendered/SIP_INVITE_location_PIDF-LO_Boundary1.pidf1.xml",
        located(),
    ),
    (
        "ng911-tamu/rendered/SIP_INVITE_location_PIDF-LO_Boundary1_without_identifiers.pidf1.xml",
        located(),
    ),
    (
        "ng911-tamu/rendered/SIP_INVITE_location_garbled_PIDF-LO_body.pidf1.xml",
        Error,
    ),
    (
        "ng911lib/DeviceAndPerson.xml",
        Expect::Facts(Facts {
            count: Some(2),
            ..facts_of(civic(DEVICE, "US", "CA", "311"))
        }),
    ),
    (
        "ng911lib/DeviceCircleDynamic1.xml",
        at(DEVICE, 42.5463, -73.2512),
    ),
    (
        "ng911lib/DeviceCircleLocation.xml",
        at(DEVICE, 41.760537, -88.261914),
    ),
    (
        "ng911lib/DeviceCircleWithConfidence.xml",
        at(DEVICE, 41.760537, -88.261914),
    ),
    (
        "ng911lib/DeviceCivicLocation.xml",
        civic(DEVICE, "US", "IL", "2106"),
    ),
    (
        "ng911lib/DeviceDynamicOnly1.xml",
        NoLocation("only dyn:Dynamic, no position"),
    ),
    (
        "ng911lib/DevicePointLocation.xml",
        at(DEVICE, 41.772035, -88.473291),
    ),
    (
        "ng911lib/PersonDeviceCivicCircleLocation.xml",
        Expect::Facts(Facts {
            count: Some(2),
            ..facts_of(civic(DEVICE, "US", "CA", "1657"))
        }),
    ),
    ("ng911lib/RFC5491TupleArcBandLocation.xml", located()),
    (
        "ng911lib/RFC5491TupleCircleLocation.xml",
        at(TUPLE, 42.5463, -73.2512),
    ),
    (
        "ng911lib/RFC5491TupleCivicLocation.xml",
        civic(TUPLE, "US", "New York", "123"),
    ),
    ("ng911lib/RFC5491TupleEllipseLocation.xml", located()),
    ("ng911lib/RFC5491TupleEllipsoidLocation.xml", located()),
    (
        "ng911lib/RFC5491TuplePointLocation.xml",
        at(TUPLE, 37.775, -122.419_444_444_444_45),
    ),
    ("ng911lib/RFC5491TuplePolygonCompactLocation.xml", located()),
    ("ng911lib/RFC5491TuplePolygonLocation.xml", located()),
    ("ng911lib/RFC5491TuplePrismLocation.xml", located()),
    ("ng911lib/RFC5491TupleSphereLocation.xml", located()),
    ("ng911lib/RFC6848CivicExtendedExample1.xml", located()),
    ("ng911lib/RFC6848Figure7Example.xml", located()),
    (
        "ng911lib/RFC6848Figure8Example.xml",
        Expect::Facts(Facts {
            hno: Some("223"),
            country: Some("US"),
            ..ANY
        }),
    ),
    ("ng911lib/RFC6848Section3.4Example.xml", located()),
    ("ng911lib/XMLFile1.xml", Error),
    ("ng911lib/XMLFile2.xml", Error),
    (
        "phrsite/psapsimulator-BasicLocation.pidf.xml",
        at(TUPLE, 41.134006, -85.16636),
    ),
    (
        "phrsite/siplib-InviteAllAdditionalDataByValue1.pidf.xml",
        civic(DEVICE, "US", "CA", "311"),
    ),
];

/// Files under `sip/`, relative to it; the PIDF-LO body is cut out crudely.
const SIP: &[(&str, Expect)] = &[
    (
        "ng911-tamu/Default_location",
        at(TUPLE, -63.184694571164925, -56.641464837236164),
    ),
    (
        "ng911-tamu/Location_response",
        at(TUPLE, TAMU_POINT.0, TAMU_POINT.1),
    ),
    (
        "ng911-tamu/SIP_INVITE_from_BCF_with_SDP_PIDF-LO_NG-AACS.xml",
        at(DEVICE, TAMU_POINT.0, TAMU_POINT.1),
    ),
    (
        "ng911-tamu/SIP_INVITE_from_BCF_with_multipart_mixed_SDP_only.xml",
        NoPidf,
    ),
    (
        "ng911-tamu/SIP_INVITE_from_BCF_with_nested_multipart_body.xml",
        NoPidf,
    ),
    (
        "ng911-tamu/SIP_INVITE_from_ESRP_with_complex_multipart_mixed_SDP_PIDFLO_AddData_NGAACN.xml",
        at(TUPLE, 50.6199, 26.2516),
    ),
    (
        "ng911-tamu/SIP_INVITE_from_ESRP_with_nested_multipart_mixed.xml",
        NoLocation("empty location-info"),
    ),
    (
        "ng911-tamu/SIP_INVITE_from_OSP_with_EmergencyCallData_PIDF-LO_reference.xml",
        civic(Where::Unplaced, "US", "MD", "10"),
    ),
    (
        "ng911-tamu/SIP_INVITE_from_OSP_with_EmergencyCallData_PIDF-LO_reference_fail.xml",
        civic(Where::Unplaced, "US", "MD", "10"),
    ),
    (
        "ng911-tamu/SIP_INVITE_from_OSP_with_SDP_PIDF-LO_NG-AACS.xml",
        located(),
    ),
    ("ng911-tamu/SIP_INVITE_geolocation_HELD.xml", NoPidf),
    ("ng911-tamu/SIP_INVITE_geolocation_SIP.xml", NoPidf),
    (
        "ng911-tamu/SIP_INVITE_incorrect_geolocation_for_dereference.xml",
        NoPidf,
    ),
    (
        "ng911-tamu/SIP_INVITE_location_PIDF-LO.xml",
        civic(TUPLE, "US", "MD", "10"),
    ),
    (
        "ng911-tamu/SIP_INVITE_location_PIDF-LO_Boundary1.xml",
        located(),
    ),
    (
        "ng911-tamu/SIP_INVITE_location_PIDF-LO_Boundary1_without_identifiers.xml",
        located(),
    ),
    (
        "ng911-tamu/SIP_INVITE_location_garbled_PIDF-LO_body.xml",
        Error,
    ),
    ("ng911-tamu/SIP_INVITE_location_reference.xml", NoPidf),
    ("ng911-tamu/findService_civic_address.xml", NoPidf),
    (
        "psapsimulator/BasicLocation.xml",
        at(TUPLE, 41.134006, -85.16636),
    ),
    (
        "siplib/InviteAllAdditionalDataByValue1.sip",
        Expect::Facts(Facts {
            count: Some(2),
            ..facts_of(civic(DEVICE, "US", "CA", "311"))
        }),
    ),
];

const fn facts_of(expect: Expect) -> Facts {
    match expect {
        Expect::Facts(f) => f,
        _ => ANY,
    }
}

/// Asterisk's wiki examples: Device, New York.
const fn facts_ny() -> Facts {
    Facts {
        place: DEVICE,
        country: Some("US"),
        a1: Some("New York"),
        hno: Some("1633"),
        ..ANY
    }
}

#[test]
fn every_pidf_lo_example_meets_its_expectation() {
    let root = common::examples_dir().join("pidf-lo");
    check_claims(&root, PIDF_LO);
    for (name, expect) in PIDF_LO {
        let bytes = std::fs::read(root.join(name)).expect("read example");
        check(name, read_pidf_lo(&bytes), *expect);
    }
}

#[test]
fn every_sip_example_body_meets_its_expectation() {
    let root = common::examples_dir().join("sip");
    check_claims(&root, SIP);
    for (name, expect) in SIP {
        let text = String::from_utf8_lossy(&std::fs::read(root.join(name)).expect("read example"))
            .into_owned();
        match (pidf_body(&text), expect) {
            (None, NoPidf) => {}
            (None, _) => panic!("{name}: no PIDF-LO body found"),
            (Some(_), NoPidf) => panic!("{name}: has a PIDF-LO body; claim it"),
            (Some(body), _) => check(name, read_pidf_lo(body.as_bytes()), *expect),
        }
    }
}

/// Crude body extraction: from `<presence` to the end of `</presence>`. The
/// SIPp scenarios carry the message in CDATA, so this also works there.
fn pidf_body(text: &str) -> Option<&str> {
    let start = text.find("<presence")?;
    let end = start + text.get(start..)?.find("</presence>")? + "</presence>".len();
    text.get(start..end)
}

fn check_claims(root: &Path, table: &[(&str, Expect)]) {
    let on_disk: BTreeSet<String> = files_under(root)
        .into_iter()
        .map(|p| {
            p.strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    let claimed: BTreeSet<String> = table.iter().map(|(n, _)| (*n).to_owned()).collect();
    let unclaimed: Vec<_> = on_disk.difference(&claimed).collect();
    let missing: Vec<_> = claimed.difference(&on_disk).collect();
    assert!(
        unclaimed.is_empty(),
        "files with no expectation: {unclaimed:?}"
    );
    assert!(
        missing.is_empty(),
        "expectations for missing files: {missing:?}"
    );
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list examples") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn check(name: &str, result: Result<PidfLo, e911_location::ReadError>, expect: Expect) {
    match (expect, result) {
        (Error | ErrorOrLenient, Err(_)) => {}
        // Lenient must mean "still found the location", not "quietly lost it".
        (ErrorOrLenient, Ok(p)) => assert!(!p.locations.is_empty(), "{name}: lenient but empty"),
        (Error, Ok(p)) => panic!("{name}: expected an error, read {p:?}"),
        (_, Err(e)) => panic!("{name}: {e}"),
        (NoLocation(why), Ok(p)) => {
            assert!(p.locations.is_empty(), "{name} ({why}): {:?}", p.locations);
        }
        (Expect::Facts(facts), Ok(p)) => check_facts(name, &p, &facts),
        (NoPidf, Ok(_)) => unreachable!("NoPidf is handled by the caller"),
    }
}

fn check_facts(name: &str, pidf: &PidfLo, facts: &Facts) {
    let found = pidf
        .preferred()
        .unwrap_or_else(|| panic!("{name}: no location"));
    if let Some(n) = facts.count {
        assert_eq!(pidf.locations.len(), n, "{name}: location count");
    }
    match facts.place {
        Where::Any => {}
        Where::In(p) => assert_eq!(found.origin.placement, Some(p), "{name}: placement"),
        Where::Unplaced => assert_eq!(found.origin.placement, None, "{name}: placement"),
    }
    let civic = found.location.civic.as_ref();
    let field = |f: fn(&e911_location::CivicAddress) -> &Option<String>| {
        civic.and_then(|c| f(c).as_deref())
    };
    let checks = [
        ("country", facts.country, field(|c| &c.country)),
        ("A1", facts.a1, field(|c| &c.a1)),
        ("HNO", facts.hno, field(|c| &c.hno)),
        ("FLR", facts.flr, field(|c| &c.flr)),
    ];
    for (what, want, got) in checks {
        if want.is_some() {
            assert_eq!(got, want, "{name}: {what}");
        }
    }
    if let Some((lat, lon)) = facts.lat_lon {
        let p = found
            .location
            .shape
            .as_ref()
            .and_then(Shape::reference_point);
        let p = p.unwrap_or_else(|| panic!("{name}: no position"));
        assert!(
            (p.latitude - lat).abs() < 1e-6 && (p.longitude - lon).abs() < 1e-6,
            "{name}: at {p:?}, expected {lat} {lon}"
        );
    }
}

/// "Parse leniently, emit strictly": whatever the reader takes from the
/// corpus, the writer either refuses with an error or writes a valid document.
#[test]
fn locations_read_from_the_corpus_are_rewritten_schema_valid() {
    let root = common::examples_dir().join("pidf-lo");
    let dir = common::scratch_dir("rewrite");
    let mut files = Vec::new();
    for (name, _) in PIDF_LO {
        let Ok(pidf) = read_pidf_lo(&std::fs::read(root.join(name)).expect("read example")) else {
            continue;
        };
        for (i, found) in pidf.locations.iter().enumerate() {
            let options = WriteOptions::new("pres:rewrite@example.com")
                .with_placement(found.origin.placement.unwrap_or_default())
                .with_id(found.origin.id.clone().unwrap_or_default())
                .with_device_id("mac:00000a0b0c0d");
            if let Ok(xml) = write_pidf_lo(&found.location, &options) {
                let path = dir.join(format!("{}-{i}.xml", name.replace('/', "_")));
                std::fs::write(&path, xml).expect("write temp file");
                files.push(path);
            }
        }
    }
    assert!(files.len() > 50, "only {} rewritten", files.len());
    common::validate(&files);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Truncated and mangled copies of every example: errors or results, never a
/// panic (a panic in Envoy kills the VM for every connection).
#[test]
fn truncated_and_mangled_examples_never_panic() {
    let root = common::examples_dir().join("pidf-lo");
    let mut runs = 0usize;
    for (name, _) in PIDF_LO {
        let bytes = std::fs::read(root.join(name)).expect("read example");
        for cut in (0..bytes.len()).step_by(9) {
            let _ = read_pidf_lo(bytes.get(..cut).unwrap_or_default());
            let mut mangled = bytes.clone();
            for swap in [b'<', b'&', b'"', 0xC3] {
                if let Some(b) = mangled.get_mut(cut) {
                    *b = swap;
                }
                let _ = read_pidf_lo(&mangled);
            }
            runs += 5;
        }
    }
    assert!(runs > 5_000, "only {runs} runs");
}
