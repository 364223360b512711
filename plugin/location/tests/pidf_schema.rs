//! Every document the writer produces over the test matrix validates against
//! the RFC schemas (`shared/conformance/validate-pidf`, xmllint). RFC 4119 §2.2,
//! RFC 5139 §4 and RFC 5491 §5 define what "valid" means; the script loads all
//! their schemas so that the lax wildcards of PIDF and GEOPRIV really check the
//! civic and GML content.

mod common;

use e911_location::write_pidf_lo;

#[test]
fn every_document_in_the_matrix_is_schema_valid() {
    let dir = common::scratch_dir("schema");
    let mut files = Vec::new();
    for case in common::matrix() {
        let xml = write_pidf_lo(&case.location, &case.options)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let path = dir.join(format!("{}.xml", case.name));
        std::fs::write(&path, xml).expect("write temp file");
        files.push(path);
    }
    assert!(files.len() >= 40, "the matrix shrank to {}", files.len());
    common::validate(&files);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn golden_documents_are_schema_valid() {
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let files: Vec<_> = common::golden()
        .iter()
        .map(|(name, _, _)| golden.join(format!("{name}.xml")))
        .collect();
    common::validate(&files);
}
