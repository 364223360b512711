//! Golden PIDF-LO documents, compared byte for byte. After an intended change
//! to the writer, re-bless with `E911_BLESS=1 cargo test -p e911-location
//! --test golden` and review the diff.

mod common;

use e911_location::{CivicMarkup, LocationRef, Placement, write_pidf_lo};

#[test]
fn writer_output_matches_the_golden_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let bless = std::env::var_os("E911_BLESS").is_some_and(|v| v == "1");
    let mut mismatches = Vec::new();
    for (name, location, options) in common::golden() {
        let xml = write_pidf_lo(&location, &options).expect("golden location writes");
        let path = dir.join(format!("{name}.xml"));
        if bless {
            std::fs::write(&path, &xml).expect("bless golden file");
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if expected != xml {
            mismatches.push(format!("--- {}\n{xml}", path.display()));
        }
    }
    assert!(
        mismatches.is_empty(),
        "writer output differs from golden files (E911_BLESS=1 to update):\n{}",
        mismatches.join("\n")
    );
}

/// An address's kept `civicAddress` element ([`CivicMarkup`]) changes nothing in the
/// documents: every case written with one gives the bytes written without, the first time
/// (writing and keeping it) and after (copying it), and a document of another placement
/// (another nesting depth) writes its own.
#[test]
fn a_kept_civic_element_gives_the_same_documents() {
    let mut copied = 0;
    for case in common::matrix() {
        let Ok(expected) = write_pidf_lo(&case.location, &case.options) else {
            continue;
        };
        let markup = CivicMarkup::default();
        let with_markup = LocationRef {
            civic_markup: Some(&markup),
            ..case.location.as_ref()
        };
        for round in ["writes", "copies"] {
            let xml = write_pidf_lo(with_markup, &case.options).expect("writes as before");
            assert_eq!(xml, expected, "{} {round}", case.name);
        }
        copied += usize::from(markup.is_written());
        for placement in [Placement::Tuple, Placement::Device, Placement::Person] {
            let options = case.options.clone().with_placement(placement);
            assert_eq!(
                write_pidf_lo(with_markup, &options).ok(),
                write_pidf_lo(&case.location, &options).ok(),
                "{} as {placement:?}",
                case.name
            );
        }
    }
    assert!(copied >= 10, "only {copied} cases kept a civic element");
}
