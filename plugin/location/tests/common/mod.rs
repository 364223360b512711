//! The writer's test matrix, shared by the schema, golden and round-trip tests.
// Test helpers: failing loudly is their job.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use e911_location::{
    Circle, CivicAddress, CivicElement, Location, Method, Placement, Point, Shape, UsageRules,
    WriteOptions,
};

/// One document the writer must produce validly.
pub struct Case {
    pub name: String,
    pub location: Location,
    pub options: WriteOptions,
    /// False when the writer is expected to clean a value (control
    /// characters), so reading back gives something else by design.
    pub round_trips: bool,
}

pub fn redmond() -> CivicAddress {
    CivicAddress::new()
        .with_lang("en-US")
        .with(CivicElement::Country, "US")
        .with(CivicElement::A1, "WA")
        .with(CivicElement::A2, "King")
        .with(CivicElement::A3, "Redmond")
        .with(CivicElement::Rd, "163rd")
        .with(CivicElement::Sts, "Ave")
        .with(CivicElement::Pod, "NE")
        .with(CivicElement::Hno, "3910")
        .with(CivicElement::Flr, "2")
        .with(CivicElement::Room, "2041")
        .with(CivicElement::Pc, "98052")
}

/// Every RFC 5139 element filled, inserted in reverse to show order does not
/// depend on the caller.
pub fn every_element() -> CivicAddress {
    let mut civic = CivicAddress::new().with_lang("en-AU");
    for element in CivicElement::ALL.iter().rev() {
        let value = match element {
            CivicElement::Country => "AU".to_owned(),
            CivicElement::Plc => "office".to_owned(),
            e => format!("{} value", e.name()),
        };
        civic.set(*element, value);
    }
    civic
}

pub fn point_2d() -> Shape {
    Shape::Point(Point::new(47.6395, -122.1281))
}

pub fn point_3d() -> Shape {
    Shape::Point(Point::new(-34.407, 150.883).with_altitude(24.8))
}

pub fn circle() -> Shape {
    Shape::Circle(Circle::new(42.5463, -73.2512, 850.24))
}

fn full_rules() -> UsageRules {
    UsageRules {
        retransmission_allowed: true,
        retention_expiry: Some("2024-05-02T12:00:00Z".into()),
        external_ruleset: Some("https://lis.example.com/rules/alice".into()),
        note_well: Some("Security desk: ext. 4400".into()),
    }
}

fn options(placement: Placement) -> WriteOptions {
    WriteOptions::new("pres:alice@example.com")
        .with_placement(placement)
        .with_id("alice-phone")
        .with_device_id("mac:00000a0b0c0d")
}

/// Every location shape × every placement × minimal and full usage rules,
/// plus escaping and id cases.
pub fn matrix() -> Vec<Case> {
    let locations: [(&str, Location); 6] = [
        ("civic", Location::from_civic(redmond())),
        ("civic-every-element", Location::from_civic(every_element())),
        ("point-2d", Location::from_shape(point_2d())),
        ("point-3d", Location::from_shape(point_3d())),
        ("circle", Location::from_shape(circle())),
        (
            "civic-and-point",
            Location::from_civic(redmond()).with_shape(point_2d()),
        ),
    ];
    let placements = [
        ("device", Placement::Device),
        ("tuple", Placement::Tuple),
        ("person", Placement::Person),
    ];
    let mut cases = Vec::new();
    for (shape_name, location) in &locations {
        for (placement_name, placement) in placements {
            for full in [false, true] {
                let mut location = location.clone();
                if full {
                    location = location
                        .with_usage_rules(full_rules())
                        .with_method(Method::Wiremap)
                        .with_timestamp("2024-05-01T12:00:00Z");
                }
                let rules = if full { "full-rules" } else { "bare" };
                cases.push(Case {
                    name: format!("{shape_name}-{placement_name}-{rules}"),
                    location,
                    options: options(placement),
                    round_trips: true,
                });
            }
        }
    }
    cases.extend(special_cases());
    cases
}

fn special_cases() -> Vec<Case> {
    let awkward = CivicAddress::new()
        .with_lang("de-CH")
        .with(CivicElement::Country, "CH")
        .with(CivicElement::A3, "Zürich")
        .with(CivicElement::Rd, "Bahnhofstraße")
        .with(CivicElement::Hno, "1 & 2")
        .with(
            CivicElement::Nam,
            "Müller & Söhne <\"Zentrale\"> 'Nord' ]]> 東京 🚒",
        )
        .with(CivicElement::Loc, "a > b");
    let mut rules = full_rules();
    rules.note_well = Some("Use <door> \"B\" & 'C'\nthen go up".into());
    let controls = CivicAddress::new()
        .with(CivicElement::Country, "us")
        .with(CivicElement::Loc, "bell\u{7}\u{0} here\r\n  there");
    vec![
        Case {
            name: "escaping-civic".into(),
            location: Location::from_civic(awkward.clone()).with_usage_rules(rules),
            options: WriteOptions::new("sip:m%C3%BCller&co@example.com;user=phone")
                .with_id("Zürich desk #1")
                .with_device_id("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"),
            round_trips: true,
        },
        Case {
            name: "escaping-tuple-lync-id".into(),
            location: Location::from_civic(awkward).with_method(Method::TeamsLis),
            options: WriteOptions::new("sip:+14255550100@contoso.example;user=phone")
                .with_placement(Placement::Tuple)
                .with_id("0"),
            round_trips: true,
        },
        Case {
            name: "control-characters-cleaned".into(),
            location: Location::from_civic(controls).with_shape(circle()),
            options: WriteOptions::new("http://[2001:db8::1]/alice").with_device_id("mac:1"),
            round_trips: false,
        },
        Case {
            name: "device-without-device-id".into(),
            location: Location::from_shape(point_3d()).with_method(Method::Gps),
            options: WriteOptions::new("pres:bob@example.com"),
            round_trips: true,
        },
    ]
}

/// The golden documents: civic, point and circle.
pub fn golden() -> Vec<(&'static str, Location, WriteOptions)> {
    let rules = UsageRules {
        retransmission_allowed: true,
        ..UsageRules::default()
    };
    let stamp = "2024-05-01T12:00:00Z";
    let base = |location: Location, method: Method| {
        location
            .with_usage_rules(rules.clone())
            .with_method(method)
            .with_timestamp(stamp)
    };
    let options = WriteOptions::new("pres:alice@example.com")
        .with_id("alice-phone")
        .with_device_id("mac:00000a0b0c0d");
    vec![
        (
            "civic",
            base(Location::from_civic(redmond()), Method::Wiremap),
            options.clone(),
        ),
        (
            "point",
            base(Location::from_shape(point_3d()), Method::Gps),
            options.clone(),
        ),
        (
            "circle",
            base(Location::from_shape(circle()), Method::Cell),
            options,
        ),
    ]
}

/// `validate-pidf` in the conformance checkout beside this repository.
pub fn validator() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/validate-pidf")
}

/// `location-examples` in the conformance checkout beside this repository.
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/location-examples")
}

/// Runs the validator on `files`; panics with its report unless all pass.
/// Missing xmllint is a failure, not a skip: schema validity is the point.
pub fn validate(files: &[PathBuf]) {
    let script = validator();
    assert!(
        script.exists(),
        "validator not found at {}: clone the conformance repository beside this one",
        script.display()
    );
    let xmllint = Command::new("xmllint").arg("--version").output();
    assert!(
        xmllint.is_ok_and(|o| o.status.success()),
        "xmllint is missing: install libxml2-utils (apt-get update && apt-get install -y libxml2-utils)"
    );
    let output = Command::new("bash")
        .arg(&script)
        .args(files)
        .output()
        .expect("run validate-pidf");
    let report = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert_ne!(
        output.status.code(),
        Some(3),
        "validate-pidf: xmllint missing; install libxml2-utils\n{report}"
    );
    assert!(
        output.status.success(),
        "schema validation failed:\n{report}"
    );
}

/// A fresh directory under the system temp dir for this test binary.
pub fn scratch_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("e911-location-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}
