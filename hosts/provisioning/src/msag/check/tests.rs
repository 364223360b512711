use super::*;
use crate::msag::read;
use crate::testdata::{Files, compile, contoso, replace, text_of};

fn shipped_msag() -> Msag {
    let path = crate::testdata::contoso_dir().join("../msag/contoso-msag.csv");
    read("contoso-msag.csv", &std::fs::read(path).unwrap()).unwrap()
}

/// Contoso with one ERL row of erls.csv edited.
fn with_erl_row(id: &str, from: &str, to: &str) -> Files {
    let files = contoso();
    let erls = text_of(&files, "erls.csv");
    let edited: String = erls
        .split_inclusive('\n')
        .map(|line| {
            if line.starts_with(&format!("{id},")) {
                assert!(line.contains(from), "{line} lacks {from}");
                line.replacen(from, to, 1)
            } else {
                line.to_owned()
            }
        })
        .collect();
    replace(files, "erls.csv", &edited)
}

fn problems_of(files: &Files) -> Vec<String> {
    let (policy, origins) = compile(files);
    check(&policy, &origins, &shipped_msag())
        .problems
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn the_example_policy_matches_the_shipped_extract() {
    let (policy, origins) = compile(&contoso());
    let checked = check(&policy, &origins, &shipped_msag());
    assert!(checked.problems.is_empty(), "{:?}", checked.problems);
    assert_eq!(checked.verdicts.len(), policy.erls().len());
    assert!(
        checked
            .verdicts
            .iter()
            .all(|(_, v)| *v == Validation::Validated)
    );
}

#[test]
fn real_looking_mismatches_name_the_row_and_the_nearest_entry() {
    let cases = [
        (
            with_erl_row("redmond-b40-f1", ",Microsoft,Way,", ",Microsft,Way,"),
            "erls.csv:2: ERL redmond-b40-f1: RD 'Microsft' not in MSAG for Redmond WA; nearest: MICROSOFT WAY 1-99 both",
        ),
        (
            with_erl_row("redmond-b40-f1", ",Microsoft,Way,", ",Microsoft,Ave,"),
            "erls.csv:2: ERL redmond-b40-f1: STS 'Ave' (MSAG: 'WAY') does not match the MSAG's MICROSOFT WAY in Redmond WA; nearest: MICROSOFT WAY 1-99 both",
        ),
        (
            with_erl_row("redmond-b40-f2", ",Redmond,1,", ",Redmond,1001,"),
            "erls.csv:3: ERL redmond-b40-f2: HNO 1001 is outside the MSAG ranges of MICROSOFT WAY in Redmond WA; nearest: MICROSOFT WAY 100-298 even",
        ),
        (
            with_erl_row("redmond-b40-f2", ",Redmond,1,", ",Redmond,101,"),
            "erls.csv:3: ERL redmond-b40-f2: HNO 101 is odd, but the MSAG range has the other side only; nearest: MICROSOFT WAY 100-298 even",
        ),
        (
            with_erl_row("redmond-b40-lobby", ",WA,Redmond,", ",WA,Redmund,"),
            "erls.csv:4: ERL redmond-b40-lobby: A3 'Redmund' is not an MSAG community of WA; nearest: MICROSOFT WAY 1-99 both, REDMOND WA",
        ),
        (
            with_erl_row("redmond-b40-lobby", ",US,WA,", ",US,OR,"),
            "erls.csv:4: ERL redmond-b40-lobby: A1 'OR' has no MSAG entries; nearest: MICROSOFT WAY 1-99 both, REDMOND WA",
        ),
        (
            with_erl_row("wichita-f1", ",100,N,Main,", ",100,,Main,"),
            "erls.csv:5: ERL wichita-f1: PRD '' (MSAG: 'N') does not match the MSAG's N MAIN ST in Wichita KS; nearest: N MAIN ST 100-198 even",
        ),
    ];
    for (files, expected) in cases {
        let problems = problems_of(&files);
        assert!(
            problems.contains(&expected.to_owned()),
            "{expected}\n{problems:#?}"
        );
        assert_eq!(problems.len(), 1, "{problems:#?}");
    }
}

#[test]
fn spellings_of_directionals_and_suffixes_still_match() {
    let files = with_erl_row("wichita-f1", ",100,N,Main,St,", ",100,North,MAIN,Street,");
    assert_eq!(problems_of(&files), Vec::<String>::new());
}

#[test]
fn a_house_number_the_msag_cannot_range_is_a_mismatch() {
    let files = with_erl_row("redmond-b40-f1", ",Redmond,1,", ",Redmond,One,");
    let problems = problems_of(&files);
    assert!(
        problems[0].ends_with("HNO `One` is not a house number the MSAG can range"),
        "{problems:?}"
    );
}
