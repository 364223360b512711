//! The ALI export as CSV: the NENA record's fields under their NENA names, one row per
//! ELIN, plus the ERL id and the ELIN in E.164 (which the fixed-width record has no room
//! for) so a carrier's onboarding team can trace a row back to the policy.

use e911_policy::Problem;

use super::AliRecord;
use crate::csv_cells::{self, escape};

/// The header row, in order.
pub const CSV_COLUMNS: [&str; 19] = [
    "erl",
    "elin",
    "function_of_change",
    "npa",
    "calling_number",
    "house_number",
    "house_number_suffix",
    "prefix_directional",
    "street_name",
    "street_suffix",
    "post_directional",
    "community",
    "state",
    "location",
    "customer_name",
    "class_of_service",
    "type_of_service",
    "zip",
    "zip4",
];

fn values(r: &AliRecord) -> [String; 19] {
    [
        r.erl.clone(),
        r.elin.clone(),
        r.function_of_change.to_string(),
        r.npa.clone(),
        r.calling_number.clone(),
        r.house_number.clone(),
        r.house_number_suffix.clone(),
        r.prefix_directional.clone(),
        r.street_name.clone(),
        r.street_suffix.clone(),
        r.post_directional.clone(),
        r.community.clone(),
        r.state.clone(),
        r.location.clone(),
        r.customer_name.clone(),
        r.class_of_service.to_string(),
        r.type_of_service.to_string(),
        r.zip.clone(),
        r.zip4.clone(),
    ]
}

/// The header row and one row per record, CRLF line ends (RFC 4180 §2).
pub fn write_csv(records: &[AliRecord]) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    for record in records {
        let row: Vec<String> = values(record).iter().map(|v| escape(v)).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Reads a file [`write_csv`] wrote (columns by name, any order); `name` is the file
/// name problems show.
pub fn read_csv(name: &str, text: &str) -> Result<Vec<AliRecord>, Problem> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let table = csv_cells::parse(text)
        .map_err(|line| Problem::new(name, line, "unterminated quoted field"))?;
    let mut at = Vec::new();
    for column in CSV_COLUMNS {
        let index = table
            .column(&[&csv_cells::normalize(column)])
            .ok_or_else(|| {
                Problem::new(
                    name,
                    table.header_line,
                    format!("missing column `{column}`"),
                )
            })?;
        at.push(index);
    }
    let records = table
        .rows
        .iter()
        .map(|row| {
            let cell = |n: usize| row.get(at.get(n).copied()).to_owned();
            let one = |n: usize| cell(n).chars().next().unwrap_or(' ');
            AliRecord {
                erl: cell(0),
                elin: cell(1),
                function_of_change: one(2),
                npa: cell(3),
                calling_number: cell(4),
                house_number: cell(5),
                house_number_suffix: cell(6),
                prefix_directional: cell(7),
                street_name: cell(8),
                street_suffix: cell(9),
                post_directional: cell(10),
                community: cell(11),
                state: cell(12),
                location: cell(13),
                customer_name: cell(14),
                class_of_service: one(15),
                type_of_service: one(16),
                zip: cell(17),
                zip4: cell(18),
            }
        })
        .collect();
    Ok(records)
}
