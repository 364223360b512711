//! `read_pidf_lo` on arbitrary bytes (seeded with the PIDF-LO examples of
//! `shared/conformance/location-examples/`). Invariant: every location it reads and the
//! writer accepts reads back, from what the writer wrote, as the same location
//! (read, write, read). The writer leaves out `provided-by` and ELINs by design.
#![no_main]

use e911_location::{Location, WriteOptions, read_pidf_lo, write_pidf_lo};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = read_pidf_lo(data) else {
        return;
    };
    for found in &doc.locations {
        let mut options = WriteOptions::new("pres:fuzz@example.com");
        if let Some(placement) = found.origin.placement {
            options = options.with_placement(placement);
        }
        let Ok(written) = write_pidf_lo(&found.location, &options) else {
            continue;
        };
        let again = read_pidf_lo(written.as_bytes())
            .unwrap_or_else(|e| panic!("the writer's document does not read ({e}):\n{written}"));
        let [back] = again.locations.as_slice() else {
            panic!(
                "one location written, {} read:\n{written}",
                again.locations.len()
            );
        };
        assert_eq!(
            comparable(&back.location),
            comparable(&found.location),
            "the location changed on the round trip:\n{written}"
        );
    }
});

/// What the writer writes.
fn comparable(location: &Location) -> Location {
    Location {
        provided_by: None,
        elins: Vec::new(),
        ..location.clone()
    }
}
