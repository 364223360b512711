//! Golden PIDF-LO documents, compared byte for byte. After an intended change
//! to the writer, re-bless with `E911_BLESS=1 cargo test -p e911-location
//! --test golden` and review the diff.

mod common;

use e911_location::write_pidf_lo;

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
