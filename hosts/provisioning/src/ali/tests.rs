use super::*;
use crate::testdata::{compile, contoso, replace, text_of, without_lines};

/// Contoso without the Lync subnet row that repeats Wichita's address inline, so an edit
/// of the native row is not undone by that row becoming an ERL of its own.
fn contoso_without_lync_wichita() -> crate::testdata::Files {
    without_lines(contoso(), "subnets.csv", "\"10.2.0.0\"")
}

fn options() -> AliOptions {
    AliOptions {
        extract_date: ExtractDate::parse("2026-12-06").unwrap(),
        company_id: "CTSO1".into(),
        company_name: "contoso".into(),
        class_of_service: '4',
        cycle: 1,
    }
}

fn field(record: &[u8], field: Field) -> &str {
    let span = field.span();
    std::str::from_utf8(&record[span.start - 1..span.start - 1 + span.len]).unwrap()
}

#[test]
fn the_field_table_tiles_the_512_characters() {
    let mut next = 1;
    for (field, span) in FIELDS {
        assert_eq!(
            span.start, next,
            "{field:?} starts where the one before ends"
        );
        next += span.len;
    }
    assert_eq!(next - 1, RECORD_LEN);
}

#[test]
fn exports_one_record_per_elin_with_fields_at_the_nena_positions() {
    let (policy, origins) = compile(&contoso());
    let export = export(&policy, &origins, &options());
    assert!(export.problems.is_empty(), "{:?}", export.problems);
    // Only Wichita has ELINs; two of them.
    let elins: Vec<&str> = export.records.iter().map(|r| r.elin.as_str()).collect();
    assert_eq!(elins, ["+13165550100", "+13165550101"]);
    let bytes = write_record(&export.records[0], &options());
    assert_eq!(bytes.len(), 512);
    let expect = [
        (Field::FunctionOfChange, "I"),
        (Field::Npa, "316"),
        (Field::CallingNumber, "5550100"),
        (Field::HouseNumber, "100       "),
        (Field::PrefixDirectional, "N "),
        (Field::StreetSuffix, "ST  "),
        (Field::State, "KS"),
        (Field::ClassOfService, "4"),
        (Field::TypeOfService, "0"),
        (Field::ExtractDate, "120626"),
        (Field::CompanyId, "CTSO1"),
        (Field::Zip, "67202"),
        (Field::Zip4, "    "),
        (Field::ExpandedExtractDate, "20261206"),
        (Field::EndOfRecord, "*"),
    ];
    for (f, value) in expect {
        assert_eq!(field(&bytes, f), value, "{f:?}");
    }
    assert_eq!(field(&bytes, Field::StreetName).trim_end(), "MAIN");
    assert_eq!(field(&bytes, Field::Community).trim_end(), "WICHITA");
    assert_eq!(field(&bytes, Field::CustomerName).trim_end(), "CONTOSO");
    // Native FLR 1 next to LOC "Floor 1": the floor once.
    assert_eq!(field(&bytes, Field::Location).trim_end(), "FLOOR 1");
    // Everything the export does not fill is blank, not garbage.
    assert_eq!(field(&bytes, Field::Esn), "     ");
    assert_eq!(field(&bytes, Field::NenaReserved), " ".repeat(81));
}

#[test]
fn the_file_has_a_header_and_a_trailer_counting_the_records() {
    let (policy, origins) = compile(&contoso());
    let export = export(&policy, &origins, &options());
    let file = write_nena(&export.records, &options());
    let lines: Vec<&[u8]> = file
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().all(|l| l.len() == 512 && l.ends_with(b"*")));
    assert!(lines[0].starts_with(b"UHL  120626CONTOSO"));
    assert_eq!(&lines[0][61..67], b"000001");
    assert!(lines[3].starts_with(b"UTL  120626CONTOSO"));
    let count = TRAILER_COUNT;
    assert_eq!(
        &lines[3][count.start - 1..count.start - 1 + count.len],
        b"000000002"
    );
}

#[test]
fn a_lync_imported_erl_names_its_floor_once() {
    // A Lync location export with the building and floor also in columns of their own.
    let lync = "\u{feff}\"Location\",\"CompanyName\",\"HouseNumber\",\"StreetName\",\"StreetSuffix\",\"City\",\"State\",\"PostalCode\",\"Country\",\"BLD\",\"FLR\",\"MSAGValid\"\r\n\
                \"Bldg 40, Flr 2\",\"Contoso;+14255550100\",\"1\",\"Microsoft\",\"Way\",\"Redmond\",\"WA\",\"98052\",\"US\",\"40\",\"2\",\"True\"\r\n";
    let files = replace(contoso(), "lync-locations.csv", lync);
    let (policy, origins) = compile(&files);
    let export = export(&policy, &origins, &options());
    assert!(export.problems.is_empty(), "{:?}", export.problems);
    let redmond = export.records.iter().find(|r| r.npa == "425").unwrap();
    assert_eq!(redmond.location, "BLDG 40, FLR 2");
    assert_eq!(
        (redmond.street_name.as_str(), redmond.street_suffix.as_str()),
        ("MICROSOFT", "WAY")
    );
}

#[test]
fn bad_addresses_are_named_at_their_row_and_not_exported() {
    let files = contoso_without_lync_wichita();
    let erls = text_of(&files, "erls.csv");
    let broken = erls
        .replace("US,KS,Wichita,100,N,Main", "US,KS,,,Northish,Main")
        .replace(
            "redmond-b40-f1,\"Redmond HQ, building 40, floor 1\",US,WA,Redmond,1,",
            "redmond-b40-f1,\"Redmond HQ, building 40, floor 1\",US,WA,Rédmond,1,",
        )
        .replace(
            "Contoso,,yes\nredmond-b40-f2",
            "Contoso,+14255550199,yes\nredmond-b40-f2",
        );
    let files = replace(files, "erls.csv", &broken);
    let (policy, origins) = compile(&files);
    let export = export(&policy, &origins, &options());
    let shown: Vec<String> = export.problems.iter().map(ToString::to_string).collect();
    assert_eq!(export.erls_left_out, 2, "{shown:#?}");
    assert!(
        export.records.is_empty(),
        "no record of a broken ERL: {:?}",
        export.records
    );
    for needle in [
        "erls.csv:2: ERL redmond-b40-f1: A3 `RÉDMOND` has `É`",
        "erls.csv:5: ERL wichita-f1: no house number (HNO)",
        "erls.csv:5: ERL wichita-f1: no community (A3)",
        "erls.csv:5: ERL wichita-f1: PRD `Northish` is not a directional",
    ] {
        assert!(
            shown.iter().any(|s| s.starts_with(needle)),
            "{needle}\n{shown:#?}"
        );
    }
}

#[test]
fn a_field_too_long_for_its_column_is_a_problem_not_a_truncation() {
    let files = contoso_without_lync_wichita();
    let erls = text_of(&files, "erls.csv");
    let long = "A".repeat(61);
    let files = replace(
        files,
        "erls.csv",
        &erls.replace(",Main,St,", &format!(",{long},St,")),
    );
    let (policy, origins) = compile(&files);
    let export = export(&policy, &origins, &options());
    assert_eq!(export.problems.len(), 1, "{:?}", export.problems);
    assert!(
        export.problems[0]
            .to_string()
            .contains("is 61 characters; the record's street name holds 60")
    );
}

#[test]
fn csv_round_trips() {
    let (policy, origins) = compile(&contoso());
    let mut records = export(&policy, &origins, &options()).records;
    records[0].location = "SUITE 5, \"EAST\" WING".into();
    let text = write_csv(&records);
    assert!(text.starts_with("erl,elin,function_of_change,npa,"));
    assert_eq!(read_csv("ali.csv", &text).unwrap(), records);
}

#[test]
fn extract_dates_come_from_the_calendar() {
    assert_eq!(
        ExtractDate::from_unix_days(0),
        ExtractDate::parse("1970-01-01").unwrap()
    );
    assert_eq!(
        ExtractDate::from_unix_days(20_428),
        ExtractDate::parse("2025-12-06").unwrap()
    );
    assert_eq!(
        ExtractDate::from_unix_days(11_016),
        ExtractDate::parse("2000-02-29").unwrap()
    );
    assert_eq!(ExtractDate::parse("2026-02-29"), None);
    assert_eq!(ExtractDate::parse("2026-13-01"), None);
}
