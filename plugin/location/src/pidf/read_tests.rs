//! Unit tests of the reader, on small hand-written documents. The real-world
//! corpus is read by `tests/read_examples.rs`.

use super::*;
use crate::pidf::MAX_DEPTH;

fn read(doc: &str) -> PidfLo {
    read_pidf_lo(doc.as_bytes()).unwrap()
}

fn only(doc: &str) -> FoundLocation {
    let mut pidf = read(doc);
    assert_eq!(pidf.locations.len(), 1, "{pidf:?}");
    pidf.locations.remove(0)
}

/// Shaped like what Lync Server 2013 and Teams clients send (written for this
/// test, not copied): `tuple id="0"`, Microsoft's extension element inside
/// `status`, empty civic elements, the ELIN in `NAM`, a Teams method token.
const LYNC_STYLE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
  xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"
  xmlns:cl="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"
  xmlns:bp="urn:ietf:params:xml:ns:pidf:geopriv10:basicPolicy"
  xmlns:ms="urn:schema:Rtc.LIS.msftE911PidfExtn.2008"
  entity="sip:alice@contoso.example">
  <tuple id="0">
    <status>
      <gp:geopriv>
        <gp:location-info>
          <cl:civicAddress>
            <cl:country>US</cl:country><cl:A1>WA</cl:A1><cl:A3>Redmond</cl:A3>
            <cl:PRD></cl:PRD><cl:RD>163rd</cl:RD><cl:STS>Ave</cl:STS><cl:POD>NE</cl:POD>
            <cl:HNO>3910</cl:HNO><cl:HNS/><cl:LOC>Floor 2, Room 2041</cl:LOC>
            <cl:NAM>(425) 555-0143</cl:NAM><cl:PC>98052</cl:PC>
          </cl:civicAddress>
        </gp:location-info>
        <gp:usage-rules><bp:retransmission-allowed>true</bp:retransmission-allowed></gp:usage-rules>
        <gp:method>LIS</gp:method>
      </gp:geopriv>
      <ms:msftE911PidfExtn>
        <ms:ConferenceUri>sip:security@contoso.example</ms:ConferenceUri>
        <ms:ConferenceMode>oneway</ms:ConferenceMode>
        <ms:geopriv><ms:location-info/></ms:geopriv>
      </ms:msftE911PidfExtn>
    </status>
    <timestamp>2013-05-30T20:51:52Z</timestamp>
  </tuple>
</presence>"#;

#[test]
fn lync_style_document_reads_with_elin_and_teams_method() {
    let pidf = read(LYNC_STYLE);
    assert_eq!(pidf.entity.as_deref(), Some("sip:alice@contoso.example"));
    let found = pidf.preferred().unwrap();
    assert_eq!(found.origin.placement, Some(Placement::Tuple));
    assert_eq!(found.origin.id.as_deref(), Some("0"));
    let loc = &found.location;
    let civic = loc.civic.as_ref().unwrap();
    assert_eq!(civic.hno.as_deref(), Some("3910"));
    assert_eq!(civic.prd, None, "empty elements are absent");
    assert_eq!(civic.loc.as_deref(), Some("Floor 2, Room 2041"));
    assert_eq!(loc.elins, ["+14255550143"]);
    assert_eq!(loc.method, Some(Method::TeamsLis));
    assert!(loc.usage_rules.retransmission_allowed);
    assert_eq!(loc.timestamp.as_deref(), Some("2013-05-30T20:51:52Z"));
    assert_eq!(pidf.locations.len(), 1, "extension elements are ignored");
}

#[test]
fn usage_rules_first_missing_entity_and_civic_out_of_order_are_accepted() {
    let found = only(
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf"
             xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10">
          <tuple id="ue"><status><gp:geopriv>
            <gp:usage-rules><gp:retransmission-allowed>yes</gp:retransmission-allowed></gp:usage-rules>
            <gp:method>MANUAL</gp:method>
            <gp:location-info>
              <civicAddress xmlns="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr">
                <HNO>10</HNO><RD>Main</RD><country>us</country><FLR> 3 </FLR>
              </civicAddress>
            </gp:location-info>
          </gp:geopriv></status></tuple></presence>"#,
    );
    let civic = found.location.civic.unwrap();
    assert_eq!(civic.country.as_deref(), Some("US"));
    assert_eq!(civic.rd.as_deref(), Some("Main"));
    assert_eq!(civic.flr.as_deref(), Some("3"));
    assert_eq!(found.location.method, Some(Method::TeamsManual));
    assert!(found.location.usage_rules.retransmission_allowed);
}

#[test]
fn device_wins_over_tuple_and_person_wherever_it_appears() {
    let pidf = read(
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:a@example.com"
             xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
             xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"
             xmlns:gml="http://www.opengis.net/gml">
          <tuple id="t"><status><gp:geopriv><gp:location-info>
            <gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>1 1</gml:pos></gml:Point>
          </gp:location-info><gp:usage-rules/></gp:geopriv></status></tuple>
          <dm:person id="p"><gp:geopriv><gp:location-info>
            <gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>2 2</gml:pos></gml:Point>
          </gp:location-info><gp:usage-rules/></gp:geopriv></dm:person>
          <dm:device id="d"><gp:geopriv><gp:location-info>
            <gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>3 3</gml:pos></gml:Point>
          </gp:location-info><gp:usage-rules/></gp:geopriv>
          <dm:deviceID>mac:1</dm:deviceID><dm:timestamp>2020-01-01T00:00:00Z</dm:timestamp></dm:device>
        </presence>"#,
    );
    let ids: Vec<_> = pidf
        .locations
        .iter()
        .map(|f| f.origin.id.clone().unwrap())
        .collect();
    assert_eq!(ids, ["t", "p", "d"], "all, in document order");
    let best = pidf.preferred().unwrap();
    assert_eq!(best.origin.id.as_deref(), Some("d"));
    assert_eq!(best.origin.device_id.as_deref(), Some("mac:1"));
    assert_eq!(
        best.location.timestamp.as_deref(),
        Some("2020-01-01T00:00:00Z")
    );
    let order: Vec<_> = pidf
        .in_preference_order()
        .iter()
        .map(|f| f.origin.id.clone().unwrap())
        .collect();
    assert_eq!(order, ["d", "t", "p"]);
}

#[test]
fn rfc_4119_geodetic_example_with_gml_3_0_is_read() {
    let found = only(
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf"
             xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"
             xmlns:gml="urn:opengis:specification:gml:schema-xsd:feature:v3.0"
             entity="pres:geotarget@example.com">
          <tuple id="sg89ae"><status><gp:geopriv><gp:location-info><gml:location>
            <gml:Point gml:id="point1" srsName="epsg:4326">
              <gml:coordinates>37:46:30N 122:25:10W</gml:coordinates>
            </gml:Point>
          </gml:location></gp:location-info></gp:geopriv></status></tuple></presence>"#,
    );
    let p = found.location.shape.unwrap().reference_point().unwrap();
    assert!((p.latitude - 37.775).abs() < 1e-9 && (p.longitude + 122.4194).abs() < 1e-3);
}

#[test]
fn other_shapes_keep_a_reference_point() {
    let found = only(
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:a@example.com"
             xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"
             xmlns:gml="http://www.opengis.net/gml">
          <tuple id="t"><status><gp:geopriv><gp:location-info>
            <gml:Polygon srsName="urn:ogc:def:crs:EPSG::4326"><gml:exterior><gml:LinearRing>
              <gml:posList>0 0 0 2 2 2 2 0 0 0</gml:posList>
            </gml:LinearRing></gml:exterior></gml:Polygon>
          </gp:location-info><gp:usage-rules/></gp:geopriv></status></tuple></presence>"#,
    );
    let Some(Shape::Other(o)) = found.location.shape else {
        panic!("expected another shape");
    };
    assert_eq!(o.kind, "Polygon");
    assert_eq!(o.reference, Some(Point::new(1.0, 1.0)));
}

#[test]
fn circle_with_a_foreign_unit_is_kept_as_its_centre() {
    let found = only(
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:a@example.com"
             xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"
             xmlns:gs="http://www.opengis.net/pidflo/1.0" xmlns:gml="http://www.opengis.net/gml">
          <tuple id="t"><status><gp:geopriv><gp:location-info>
            <gs:Circle srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>1 2</gml:pos>
              <gs:radius uom="urn:ogc:def:uom:EPSG::9002">100</gs:radius></gs:Circle>
          </gp:location-info><gp:usage-rules/></gp:geopriv></status></tuple></presence>"#,
    );
    let shape = found.location.shape.unwrap();
    assert!(matches!(&shape, Shape::Other(o) if o.kind == "Circle"));
    assert_eq!(shape.reference_point(), Some(Point::new(1.0, 2.0)));
}

#[test]
fn provided_by_is_kept_as_raw_xml() {
    let found = only(
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:a@example.com"
             xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"
             xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr">
          <tuple id="t"><status><gp:geopriv>
            <gp:location-info><ca:civicAddress><ca:country>US</ca:country></ca:civicAddress></gp:location-info>
            <gp:usage-rules/><gp:provided-by><x:P xmlns:x="urn:x">TRDO &amp; co</x:P></gp:provided-by>
          </gp:geopriv></status></tuple></presence>"#,
    );
    assert_eq!(
        found.location.provided_by.as_deref(),
        Some(r#"<gp:provided-by><x:P xmlns:x="urn:x">TRDO &amp; co</x:P></gp:provided-by>"#)
    );
}

#[test]
fn documents_without_location_read_as_empty() {
    let pidf = read(
        r#"<impp:presence xmlns:impp="urn:ietf:params:xml:ns:pidf" entity="pres:a@example.com">
          <impp:tuple id="t"><impp:status><impp:basic>open</impp:basic></impp:status></impp:tuple>
        </impp:presence>"#,
    );
    assert!(pidf.locations.is_empty());
    assert!(pidf.preferred().is_none());
}

#[test]
fn bad_input_is_an_error_value() {
    let err = |b: &[u8]| read_pidf_lo(b).unwrap_err();
    assert!(matches!(err(b"<presence"), ReadError::Malformed { .. }));
    assert!(matches!(err(b"\xff\xfe<"), ReadError::NotUtf8 { at: 0 }));
    assert_eq!(
        err(br#"<presence xmlns="urn:x"/>"#),
        ReadError::NotPidf {
            root: "presence".into()
        }
    );
    assert!(matches!(
        err(br#"<held:locationResponse xmlns:held="urn:ietf:params:xml:ns:geopriv:held"/>"#),
        ReadError::NotPidf { .. }
    ));
    let big = vec![b' '; MAX_INPUT_BYTES + 1];
    assert!(matches!(err(&big), ReadError::TooLarge { .. }));
    let deep = format!(
        "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\">{}{}</presence>",
        "<a>".repeat(MAX_DEPTH),
        "</a>".repeat(MAX_DEPTH)
    );
    assert_eq!(err(deep.as_bytes()), ReadError::TooDeep { max: MAX_DEPTH });
}

#[test]
fn byte_order_mark_is_skipped() {
    let doc = "\u{feff}<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"pres:a@b\"/>";
    assert_eq!(read(doc).entity.as_deref(), Some("pres:a@b"));
}

/// Found by the `pidf_read` fuzz target: a raw NUL inside `A3` was read as part of the
/// town's name, and the writer (rightly) wrote it as a space, so the location changed on
/// the way through. XML 1.0 §2.2 (`Char`) allows no C0 control but tab, LF and CR, and
/// neither U+FFFE nor U+FFFF, anywhere in a document: such a document is not XML.
#[test]
fn characters_xml_forbids_are_refused_in_text_and_attributes() {
    let doc = |civic: &str, entity: &str| {
        format!(
            r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="{entity}"
  xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"
  xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr">
  <tuple id="t"><status><gp:geopriv><gp:location-info>
    <ca:civicAddress><ca:country>AU</ca:country><ca:A3>{civic}</ca:A3></ca:civicAddress>
  </gp:location-info></gp:geopriv></status></tuple></presence>"#
        )
    };
    let civic = only(&doc("Wollongong", "pres:a@b")).location.civic.unwrap();
    assert_eq!(civic.get(CivicElement::A3), Some("Wollongong"));
    for (civic, entity) in [
        ("Wol\0longong", "pres:a@b"),
        ("Wol\u{1}longong", "pres:a@b"),
        ("Wol\u{1b}longong", "pres:a@b"),
        ("Wol\u{fffe}longong", "pres:a@b"),
        ("<![CDATA[Wol\0longong]]>", "pres:a@b"),
        ("Wollongong", "pres:a\0@b"),
        ("Wollongong", "pres:a\u{ffff}@b"),
    ] {
        let input = doc(civic, entity);
        let err = read_pidf_lo(input.as_bytes()).unwrap_err();
        let ReadError::Malformed { at, reason } = &err else {
            panic!("{civic:?} / {entity:?}: {err:?}");
        };
        let bad = input
            .char_indices()
            .find(|(_, c)| !is_allowed(*c))
            .unwrap()
            .0;
        assert_eq!(*at, bad as u64, "{civic:?} / {entity:?}: {reason}");
        assert!(reason.contains("§2.2"), "{reason}");
    }
}

fn is_allowed(c: char) -> bool {
    (c >= ' ' || matches!(c, '\t' | '\n' | '\r')) && !matches!(c, '\u{fffe}' | '\u{ffff}')
}

/// Found by the `pidf_read` fuzz target: RFC 3339 §5.6 lets `T` and `Z` be lower case,
/// the writer writes them upper case (as `xs:dateTime` wants), and the reader kept them as
/// sent, so a timestamp changed on the way through. Both now read in the writer's form;
/// what is no date-time stays as written.
#[test]
fn date_times_read_in_the_form_the_writer_writes() {
    let loc = only(
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf"
  xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"
  xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr">
  <tuple id="t"><status><gp:geopriv>
    <gp:location-info><ca:civicAddress><ca:country>US</ca:country></ca:civicAddress></gp:location-info>
    <gp:usage-rules><gp:retention-expiry> 2003-06-23t04:57:29z </gp:retention-expiry></gp:usage-rules>
  </gp:geopriv></status><timestamp>2003-06-22t20:57:29.5z</timestamp></tuple></presence>"#,
    )
    .location;
    assert_eq!(loc.timestamp.as_deref(), Some("2003-06-22T20:57:29.5Z"));
    assert_eq!(
        loc.usage_rules.retention_expiry.as_deref(),
        Some("2003-06-23T04:57:29Z")
    );
    let odd = only(
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf"
  xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"
  xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr">
  <tuple id="t"><status><gp:geopriv>
    <gp:location-info><ca:civicAddress><ca:country>US</ca:country></ca:civicAddress></gp:location-info>
  </gp:geopriv></status><timestamp>yesterday noon</timestamp></tuple></presence>"#,
    );
    assert_eq!(odd.location.timestamp.as_deref(), Some("yesterday noon"));
}
