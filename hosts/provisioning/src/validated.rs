//! Writing MSAG validation back into the ERL files, so `unvalidated_to_ecrc` acts on what
//! the check found: only the validation cell of each row changes (`validated` in native
//! `erls.csv`, Lync's `MSAGValid`, Teams' `ValidationStatus`), in the words that column
//! uses, quoted if it was; every other byte (the byte-order mark, quoting, CRLF or LF line
//! ends, the other cells) stays as it was. A cell that already says the right thing is left
//! alone, so a clean run rewrites nothing.

use std::collections::BTreeMap;

use e911_policy::{ElementRow, ErlOrigin, Problem, Validation};

use crate::csv_cells;

/// The column names that hold a validation status, normalised.
const COLUMNS: [&str; 3] = ["validated", "msagvalid", "validationstatus"];

/// The rows to set in one file: line → status.
pub type Edits = BTreeMap<u32, Validation>;

/// Which rows of which files to set, from the check's verdicts: each ERL's own row and
/// every element row that carries its address inline (a Lync export repeats the address,
/// and its `MSAGValid`, on every subnet or switch row). Files are by source name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// File → its edits.
    pub files: BTreeMap<String, Edits>,
    /// Files holding an ERL's own row: a missing validation column there is a problem,
    /// while an element file without one (it names its ERL by id) is simply skipped.
    pub defining: Vec<String>,
}

/// The plan for `verdicts` (ERL index, status) over the rows of the sources.
pub fn plan(verdicts: &[(u32, Validation)], origins: &[ErlOrigin], rows: &[ElementRow]) -> Plan {
    let mut out = Plan::default();
    for (erl, status) in verdicts {
        for origin in origins.iter().filter(|o| o.erl == *erl) {
            out.files
                .entry(origin.file.clone())
                .or_default()
                .insert(origin.line, *status);
            if !out.defining.contains(&origin.file) {
                out.defining.push(origin.file.clone());
            }
        }
        for row in rows.iter().filter(|r| r.erl == *erl) {
            out.files
                .entry(row.file.clone())
                .or_default()
                .insert(row.line, *status);
        }
    }
    out
}

/// A file after the rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    /// The new bytes.
    pub bytes: Vec<u8>,
    /// How many cells changed.
    pub changed: usize,
}

/// Why a file cannot be rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RewriteError {
    /// The file has no validation column (an element file naming its ERL by id).
    NoColumn(Problem),
    /// The file cannot be rewritten byte for byte (UTF-16, not CSV, a short row).
    Unreadable(Problem),
}

/// Sets the validation cell of the rows at `edits` in `bytes` (a CSV file named `name`).
pub fn rewrite(name: &str, bytes: &[u8], edits: &Edits) -> Result<Rewritten, RewriteError> {
    let fail = |line, message: &str| RewriteError::Unreadable(Problem::new(name, line, message));
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err(fail(
            1,
            "UTF-16 (PowerShell's Out-File): save it as UTF-8 to have the validation written",
        ));
    }
    let text = core::str::from_utf8(bytes).map_err(|_| fail(1, "not UTF-8 text"))?;
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let body = text.get(bom..).unwrap_or_default();
    let table = csv_cells::parse(body).map_err(|line| fail(line, "unterminated quoted field"))?;
    let Some(column) = table.column(&COLUMNS) else {
        return Err(RewriteError::NoColumn(Problem::new(
            name,
            table.header_line,
            "no validation column (`validated`, `MSAGValid` or `ValidationStatus`) to write",
        )));
    };
    let header = table
        .columns
        .get(column)
        .map_or("validated", String::as_str);
    let mut out = Vec::with_capacity(bytes.len() + 64);
    let mut copied = 0;
    let mut changed = 0;
    for row in table.rows.iter().filter(|r| edits.contains_key(&r.line)) {
        let Some(status) = edits.get(&row.line) else {
            continue;
        };
        let Some(cell) = row.cells.get(column) else {
            return Err(fail(row.line, "the row has no validation cell"));
        };
        if reads_as(&cell.value) == Some(*status) {
            continue;
        }
        let word = word_for(header, *status);
        let start = bom + cell.span.start;
        out.extend_from_slice(bytes.get(copied..start).unwrap_or_default());
        if cell.quoted {
            out.extend_from_slice(format!("\"{word}\"").as_bytes());
        } else {
            out.extend_from_slice(word.as_bytes());
        }
        copied = bom + cell.span.end;
        changed += 1;
    }
    out.extend_from_slice(bytes.get(copied..).unwrap_or_default());
    Ok(Rewritten {
        bytes: out,
        changed,
    })
}

/// The words each column's source writes: Lync `True`/`False`, Teams
/// `Validated`/`NotValidated`, the native file `yes`/`no`.
fn word_for(column: &str, status: Validation) -> &'static str {
    let validated = status == Validation::Validated;
    match (column, validated) {
        ("msagvalid", true) => "True",
        ("msagvalid", false) => "False",
        ("validationstatus", true) => "Validated",
        ("validationstatus", false) => "NotValidated",
        (_, true) => "yes",
        (_, false) => "no",
    }
}

/// What a cell says, in the words the policy compiler accepts.
fn reads_as(cell: &str) -> Option<Validation> {
    match cell.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" | "validated" | "valid" => Some(Validation::Validated),
        "no" | "false" | "0" | "notvalidated" | "not validated" | "invalid" | "pending" => {
            Some(Validation::NotValidated)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edits(list: &[(u32, Validation)]) -> Edits {
        list.iter().copied().collect()
    }

    #[test]
    fn rewrites_only_the_cell_keeping_bom_quotes_and_crlf() {
        let text = "\u{feff}\"Subnet\",\"Location\",\"MSAGValid\",\"City\"\r\n\
                    \"10.1.0.0\",\"Building 40, Floor 1\",\"False\",\"Redmond\"\r\n\
                    \"10.2.0.0\",\"Floor 1\",\"True\",\"Wichita\"\r\n";
        let out = rewrite(
            "subnets.csv",
            text.as_bytes(),
            &edits(&[(2, Validation::Validated), (3, Validation::NotValidated)]),
        )
        .unwrap();
        let expected = text.replacen("\"False\"", "\"True\"", 1).replacen(
            "\"True\",\"Wichita\"",
            "\"False\",\"Wichita\"",
            1,
        );
        assert_eq!(String::from_utf8(out.bytes).unwrap(), expected);
        assert_eq!(out.changed, 2);
    }

    #[test]
    fn leaves_a_file_byte_identical_when_every_cell_already_agrees() {
        let text = "id,country,validated,description\nhq,US,yes,\"a, b\"\nbranch,US,no,x";
        let out = rewrite(
            "erls.csv",
            text.as_bytes(),
            &edits(&[(2, Validation::Validated), (3, Validation::NotValidated)]),
        )
        .unwrap();
        assert_eq!((out.bytes.as_slice(), out.changed), (text.as_bytes(), 0));
        let flipped = rewrite(
            "erls.csv",
            text.as_bytes(),
            &edits(&[(3, Validation::Validated)]),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(flipped.bytes).unwrap(),
            "id,country,validated,description\nhq,US,yes,\"a, b\"\nbranch,US,yes,x"
        );
    }

    #[test]
    fn writes_teams_words_and_names_files_it_cannot_rewrite() {
        let teams = "LocationId,ValidationStatus\r\nabc,\r\n";
        let out = rewrite(
            "t.csv",
            teams.as_bytes(),
            &edits(&[(2, Validation::Validated)]),
        )
        .unwrap();
        assert_eq!(
            out.bytes,
            b"LocationId,ValidationStatus\r\nabc,Validated\r\n"
        );
        let no_column = rewrite(
            "p.csv",
            b"chassisid,erl\nx,hq\n",
            &edits(&[(2, Validation::Validated)]),
        );
        assert!(matches!(no_column, Err(RewriteError::NoColumn(p)) if p.line == 1));
        let utf16 = rewrite("u.csv", &[0xff, 0xfe, b'a', 0], &edits(&[]));
        assert!(matches!(utf16, Err(RewriteError::Unreadable(_))));
    }
}
