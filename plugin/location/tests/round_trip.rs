//! Writing a location and reading it back gives the same location, and the
//! origin says where the writer put it.

mod common;

use e911_location::{Placement, read_pidf_lo, write_pidf_lo};

#[test]
fn write_then_read_gives_the_same_location() {
    for case in common::matrix().into_iter().filter(|c| c.round_trips) {
        let xml = write_pidf_lo(&case.location, &case.options).expect("writes");
        let pidf = read_pidf_lo(xml.as_bytes()).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(
            pidf.entity.as_deref(),
            Some(case.options.entity.as_str()),
            "{}",
            case.name
        );
        assert_eq!(pidf.locations.len(), 1, "{}", case.name);
        let found = pidf.preferred().expect("one location");
        assert_eq!(found.location, case.location, "{}\n{xml}", case.name);
        let expected_placement = match (case.options.placement, &case.options.device_id) {
            (Placement::Device, None) => Placement::Tuple,
            (p, _) => p,
        };
        assert_eq!(
            found.origin.placement,
            Some(expected_placement),
            "{}",
            case.name
        );
        let expected_device = case
            .options
            .device_id
            .clone()
            .filter(|_| expected_placement != Placement::Person);
        assert_eq!(found.origin.device_id, expected_device, "{}", case.name);
        assert!(found.origin.id.is_some(), "{}", case.name);
    }
}

#[test]
fn ids_come_back_as_written_when_already_valid() {
    let (_, location, options) = common::golden().remove(0);
    let xml = write_pidf_lo(&location, &options).expect("writes");
    let pidf = read_pidf_lo(xml.as_bytes()).expect("reads");
    assert_eq!(pidf.locations[0].origin.id.as_deref(), Some("alice-phone"));
}

#[test]
fn control_characters_come_back_as_spaces() {
    let case = common::matrix()
        .into_iter()
        .find(|c| c.name == "control-characters-cleaned")
        .expect("case exists");
    let xml = write_pidf_lo(&case.location, &case.options).expect("writes");
    let found = read_pidf_lo(xml.as_bytes())
        .expect("reads")
        .locations
        .remove(0);
    let civic = found.location.civic.expect("civic");
    assert_eq!(civic.loc.as_deref(), Some("bell here there"));
    assert_eq!(civic.country.as_deref(), Some("US"));
}
