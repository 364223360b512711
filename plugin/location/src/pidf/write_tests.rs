//! Unit tests of the writer. Schema validity is checked by
//! `tests/pidf_schema.rs`; these check structure, escaping and errors.

use super::*;
use crate::geodetic::{Circle, OtherShape, Point};
use crate::model::{Location, Method, UsageRules};

fn civic() -> CivicAddress {
    CivicAddress::new()
        .with(CivicElement::Country, "US")
        .with(CivicElement::A1, "WA")
        .with(CivicElement::A3, "Redmond")
        .with(CivicElement::Rd, "163rd")
        .with(CivicElement::Hno, "3910")
}

fn device() -> WriteOptions {
    WriteOptions::new("pres:alice@example.com").with_device_id("mac:00000a0b0c0d")
}

fn write(location: &Location, options: &WriteOptions) -> String {
    write_pidf_lo(location, options).unwrap()
}

#[test]
fn civic_location_goes_in_a_device_with_device_id_and_timestamp() {
    let location = Location::from_civic(civic())
        .with_method(Method::Wiremap)
        .with_timestamp("2024-05-01T12:00:00Z");
    let xml = write(&location, &device().with_id("phone1"));
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<presence "));
    assert!(xml.contains("entity=\"pres:alice@example.com\""));
    assert!(xml.contains("<dm:device id=\"phone1\">"));
    assert!(xml.contains("<dm:deviceID>mac:00000a0b0c0d</dm:deviceID>"));
    assert!(xml.contains("<dm:timestamp>2024-05-01T12:00:00Z</dm:timestamp>"));
    assert!(xml.contains("<gp:method>Wiremap</gp:method>"));
    assert!(
        !xml.contains("xmlns:gml"),
        "no unused namespace declarations"
    );
    let order = [
        "<gp:location-info>",
        "<gp:usage-rules>",
        "<gp:method>",
        "</gp:geopriv>",
        "<dm:deviceID>",
        "<dm:timestamp>",
    ];
    let positions: Vec<usize> = order.iter().map(|t| xml.find(t).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{xml}");
}

#[test]
fn civic_elements_are_written_in_schema_order() {
    let xml = write(&Location::from_civic(civic()), &device());
    let names = ["country", "A1", "A3", "RD", "HNO"];
    let positions: Vec<usize> = names
        .iter()
        .map(|n| xml.find(&format!("<ca:{n}>")).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{xml}");
}

#[test]
fn device_without_device_id_falls_back_to_a_tuple() {
    let options = WriteOptions::new("pres:alice@example.com");
    let xml = write(&Location::from_civic(civic()), &options);
    assert!(
        xml.contains("<tuple id=\"location\">\n    <status>\n      <gp:geopriv>"),
        "{xml}"
    );
    assert!(!xml.contains("dm:"), "{xml}");
}

#[test]
fn tuple_carries_device_id_and_pidf_timestamp_after_status() {
    let options = device().with_placement(Placement::Tuple).with_id("0");
    let location = Location::from_civic(civic()).with_timestamp("2024-05-01T12:00:00Z");
    let xml = write(&location, &options);
    assert!(xml.contains("<tuple id=\"id-0\">"), "{xml}");
    let status_end = xml.find("</status>").unwrap();
    assert!(xml.find("<dm:deviceID>").unwrap() > status_end);
    assert!(xml.contains("<timestamp>2024-05-01T12:00:00Z</timestamp>"));
}

#[test]
fn person_has_no_device_id() {
    let xml = write(
        &Location::from_civic(civic()),
        &device().with_placement(Placement::Person),
    );
    assert!(xml.contains("<dm:person id=\"location\">"));
    assert!(!xml.contains("deviceID"));
}

#[test]
fn point_is_2d_without_altitude_and_3d_with_it() {
    let two = write(
        &Location::from_shape(Shape::Point(Point::new(-34.407, 150.883))),
        &device(),
    );
    assert!(two.contains("<gml:Point srsName=\"urn:ogc:def:crs:EPSG::4326\">"));
    assert!(two.contains("<gml:pos>-34.407 150.883</gml:pos>"));
    let point = Point::new(-34.407, 150.883).with_altitude(24.8);
    let three = write(&Location::from_shape(Shape::Point(point)), &device());
    assert!(three.contains("EPSG::4979"));
    assert!(three.contains("<gml:pos>-34.407 150.883 24.8</gml:pos>"));
}

#[test]
fn circle_has_centre_and_radius_in_metres() {
    let circle = Shape::Circle(Circle::new(42.5463, -73.2512, 850.24));
    let xml = write(&Location::from_shape(circle), &device());
    assert!(xml.contains("<gs:Circle srsName=\"urn:ogc:def:crs:EPSG::4326\">"));
    assert!(xml.contains("<gml:pos>42.5463 -73.2512</gml:pos>"));
    assert!(xml.contains("<gs:radius uom=\"urn:ogc:def:uom:EPSG::9001\">850.24</gs:radius>"));
    assert!(xml.contains("xmlns:gs="));
}

#[test]
fn usage_rules_are_written_in_basic_policy_order() {
    let rules = UsageRules {
        retransmission_allowed: true,
        retention_expiry: Some("2024-05-02T12:00:00z".into()),
        external_ruleset: Some("https://example.com/rules".into()),
        note_well: Some("Call the front desk".into()),
    };
    let xml = write(
        &Location::from_civic(civic()).with_usage_rules(rules),
        &device(),
    );
    let order = [
        "<gbp:retransmission-allowed>true<",
        "<gbp:retention-expiry>2024-05-02T12:00:00Z<",
        "<gbp:external-ruleset>https://example.com/rules<",
        "<gbp:note-well>Call the front desk<",
    ];
    let positions: Vec<usize> = order.iter().map(|t| xml.find(t).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{xml}");
}

#[test]
fn text_and_attributes_are_escaped() {
    let civic = CivicAddress::new()
        .with(CivicElement::Country, "ch")
        .with(CivicElement::A3, "Zürich")
        .with(CivicElement::Nam, "Smith & Sons <\"HQ\"> 'West'")
        .with(CivicElement::Loc, "bell\u{7}  rings\n twice");
    let options = WriteOptions::new("sip:a&b@example.com").with_device_id("mac:1");
    let xml = write(&Location::from_civic(civic), &options);
    assert!(xml.contains("entity=\"sip:a&amp;b@example.com\""), "{xml}");
    assert!(xml.contains("<ca:country>CH</ca:country>"));
    assert!(xml.contains("<ca:A3>Zürich</ca:A3>"));
    assert!(
        xml.contains("<ca:NAM>Smith &amp; Sons &lt;&quot;HQ&quot;&gt; &apos;West&apos;</ca:NAM>"),
        "{xml}"
    );
    assert!(xml.contains("<ca:LOC>bell rings twice</ca:LOC>"), "{xml}");
}

#[test]
fn invalid_values_are_errors_not_invalid_documents() {
    let loc = Location::from_civic(civic());
    let err = |l: &Location, o: &WriteOptions| write_pidf_lo(l, o).unwrap_err();
    assert_eq!(
        err(&Location::default(), &device()),
        WriteError::EmptyLocation
    );
    assert!(matches!(
        err(&loc, &WriteOptions::new("alice")),
        WriteError::Entity(_)
    ));
    assert!(matches!(
        err(&loc, &device().with_device_id("no uri")),
        WriteError::DeviceId(_)
    ));
    let bad_country = Location::from_civic(civic().with(CivicElement::Country, "USA"));
    assert_eq!(
        err(&bad_country, &device()),
        WriteError::Country("USA".into())
    );
    let bad_lang = Location::from_civic(civic().with_lang("en_US"));
    assert!(matches!(err(&bad_lang, &device()), WriteError::Language(_)));
    let bad_time = loc.clone().with_timestamp("yesterday");
    assert!(matches!(
        err(&bad_time, &device()),
        WriteError::Timestamp {
            field: "timestamp",
            ..
        }
    ));
    let far = Location::from_shape(Shape::Point(Point::new(91.0, 0.0)));
    assert_eq!(
        err(&far, &device()),
        WriteError::Shape(ShapeError::Latitude)
    );
    let polygon = Location::from_shape(Shape::Other(OtherShape {
        kind: "Polygon".into(),
        reference: None,
    }));
    assert_eq!(
        err(&polygon, &device()),
        WriteError::Shape(ShapeError::Unsupported)
    );
    let mut ruleset = loc.clone();
    ruleset.usage_rules.external_ruleset = Some("not a uri".into());
    assert!(matches!(err(&ruleset, &device()), WriteError::Ruleset(_)));
}

#[test]
fn elins_and_provided_by_are_not_written() {
    let mut location = Location::from_civic(civic());
    location.elins = vec!["+14255550100".into()];
    location.provided_by = Some("<x/>".into());
    let xml = write(&location, &device());
    assert!(!xml.contains("4255550100"));
    assert!(!xml.contains("provided-by"));
}
