//! The ALI export: every ELIN of every ERL as the record a carrier (or a PS-ALI service)
//! loads into its ALI database before any call, so the PSAP's screen shows the ERL's
//! address when a call arrives from that ELIN.
//!
//! The fields and their sizes are those of the NENA data exchange record, NENA 02-010
//! ("Standard Data Formats for 9-1-1 Data Exchange & GIS Mapping"), Version 3 "Format for
//! Data Exchange" (Exhibit 10 of the 2002 issue, the 512-byte record kept in later issues
//! and in NENA-STA-015): an address that does not fit them, or that the record cannot
//! carry (no house number, no street, no community, no state, text outside ASCII), is a
//! problem at the ERL's source row, and none of that ERL's ELINs is exported.

mod csv;
mod nena;

pub use csv::{CSV_COLUMNS, read_csv, write_csv};
pub use nena::{
    ExtractDate, FIELDS, Field, RECORD_LEN, Span, TRAILER_COUNT, write_header, write_nena,
    write_record, write_trailer,
};

use e911_location::CivicElement as E;
use e911_policy::{Erl, ErlOrigin, Policy, Problem};

use crate::street;
use crate::{Located, located};

/// What the export is told beyond the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliOptions {
    /// The date the file is made, for the Extract Date fields.
    pub extract_date: ExtractDate,
    /// The NENA-registered Company ID of whoever submits the records (5 characters; blank
    /// when the carrier fills it).
    pub company_id: String,
    /// Who submits the file, for the header record (50 characters): the tenant by default.
    pub company_name: String,
    /// NENA Class of Service: `4` (business PBX) for the ELINs of an enterprise's
    /// private switch, which is what a PBX's or Teams' ELINs are.
    pub class_of_service: char,
    /// The header's Cycle Counter: 1 for the first file sent, one more for each next.
    pub cycle: u32,
}

/// One ELIN and the address the PSAP is to see for it, upper case and abbreviated as the
/// record wants it; each field already fits its column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AliRecord {
    /// The ERL this ELIN belongs to (not in the NENA record; the CSV carries it).
    pub erl: String,
    /// The ELIN, E.164 (`+13165550100`).
    pub elin: String,
    /// Function of Change: `I`, insert.
    pub function_of_change: char,
    /// NPA of the Calling Number: the ELIN's area code.
    pub npa: String,
    /// The Calling Number's seven digits.
    pub calling_number: String,
    /// House Number (`HNO`).
    pub house_number: String,
    /// House Number Suffix (`HNS`).
    pub house_number_suffix: String,
    /// Prefix Directional (`PRD`): N S E W NE NW SE SW.
    pub prefix_directional: String,
    /// Street Name (`RD`).
    pub street_name: String,
    /// Street Suffix (`STS`), Publication 28 abbreviation.
    pub street_suffix: String,
    /// Post Directional (`POD`).
    pub post_directional: String,
    /// Community Name (`A3`): the MSAG community.
    pub community: String,
    /// State (`A1`).
    pub state: String,
    /// Location: where in the building, each part once (building, floor, unit, room and
    /// the free text `LOC`).
    pub location: String,
    /// Customer Name (`NAM`, else the tenant).
    pub customer_name: String,
    /// Class of Service.
    pub class_of_service: char,
    /// Type of Service: `0`, neither FX nor non-published.
    pub type_of_service: char,
    /// ZIP Code (`PC`, first five digits).
    pub zip: String,
    /// ZIP + 4 (`PC` after the dash).
    pub zip4: String,
}

/// The records of the ERLs that can be exported and a problem for each address that
/// cannot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AliExport {
    /// One per ELIN of each exportable ERL, in ERL then ELIN order.
    pub records: Vec<AliRecord>,
    /// `file:line: ERL id: what is wrong`, the ERL's source row, sorted.
    pub problems: Vec<Problem>,
    /// How many ERLs with ELINs were left out.
    pub erls_left_out: usize,
}

/// Builds the export of every ERL with ELINs.
pub fn export(policy: &Policy, origins: &[ErlOrigin], options: &AliOptions) -> AliExport {
    let default_name = policy.settings().tenant.clone();
    let mut out = AliExport::default();
    for at in located(policy, origins) {
        if at.erl.elins.is_empty() {
            continue;
        }
        match records_of(&at, &default_name, options) {
            Ok(records) => out.records.extend(records),
            Err(problems) => {
                out.erls_left_out += 1;
                out.problems.extend(problems);
            }
        }
    }
    out.problems.sort();
    out
}

/// The records of one ERL, or every reason it cannot be exported.
fn records_of(
    at: &Located<'_>,
    default_name: &str,
    options: &AliOptions,
) -> Result<Vec<AliRecord>, Vec<Problem>> {
    let mut problems = Vec::new();
    let address = address_fields(at.erl, default_name, options, &mut |message| {
        problems.push(at.problem(message));
    });
    let mut records = Vec::new();
    for elin in &at.erl.elins {
        match nanp(elin) {
            Some((npa, number)) => records.push(AliRecord {
                erl: at.erl.id.clone(),
                elin: elin.clone(),
                npa,
                calling_number: number,
                ..address.clone()
            }),
            None => problems.push(at.problem(format!(
                "ELIN {elin} is not a North American number (+1 and ten digits): the ALI \
                 record holds an NPA and seven digits"
            ))),
        }
    }
    if problems.is_empty() {
        Ok(records)
    } else {
        Err(problems)
    }
}

/// The address part of a record, reporting each field the layout cannot carry.
fn address_fields(
    erl: &Erl,
    default_name: &str,
    options: &AliOptions,
    report: &mut dyn FnMut(String),
) -> AliRecord {
    let civic = &erl.civic;
    let get = |e: E| civic.get(e).map(str::trim).unwrap_or_default();
    match get(E::Country).to_ascii_uppercase().as_str() {
        // NENA's ALI is North America's: the US and Canada share the numbering plan.
        "US" | "CA" => {}
        other => report(format!(
            "country `{other}`: an ALI record is for the US or Canada"
        )),
    }
    let house_number = text_field(
        ("house number", "HNO"),
        plain(get(E::Hno)),
        Field::HouseNumber,
        true,
        report,
    );
    let house_number_suffix = text_field(
        ("house number suffix", "HNS"),
        plain(get(E::Hns)),
        Field::HouseNumberSuffix,
        false,
        report,
    );
    let street_name = text_field(
        ("street name", "RD"),
        plain(get(E::Rd)),
        Field::StreetName,
        true,
        report,
    );
    let community = text_field(
        ("community", "A3"),
        plain(get(E::A3)),
        Field::Community,
        true,
        report,
    );
    let state = text_field(
        ("state", "A1"),
        plain(get(E::A1)),
        Field::State,
        true,
        report,
    );
    let two_letters = state.len() == 2 && state.bytes().all(|b| b.is_ascii_alphabetic());
    if !state.is_empty() && !two_letters {
        report(format!(
            "A1 `{state}` is not a two-letter state abbreviation"
        ));
    }
    let location = text_field(
        ("location", "LOC"),
        location_text(civic),
        Field::Location,
        false,
        report,
    );
    let name = match get(E::Nam) {
        "" => default_name,
        nam => nam,
    };
    let customer_name = text_field(
        ("customer name", "NAM"),
        plain(name),
        Field::CustomerName,
        false,
        report,
    );
    let prefix_directional = directional("PRD", get(E::Prd), report);
    let post_directional = directional("POD", get(E::Pod), report);
    let suffix_text = get(E::Sts);
    let street_suffix = street::suffix(suffix_text);
    if street_suffix.len() > Field::StreetSuffix.span().len {
        report(format!(
            "STS `{suffix_text}` is no USPS Publication 28 suffix and does not fit the \
             record's 4 characters"
        ));
    }
    let (zip, zip4) = zip_code(get(E::Pc), get(E::Country), report);
    AliRecord {
        function_of_change: 'I',
        house_number,
        house_number_suffix,
        prefix_directional,
        street_name,
        street_suffix,
        post_directional,
        community,
        state,
        location,
        customer_name,
        class_of_service: options.class_of_service,
        type_of_service: '0',
        zip,
        zip4,
        ..AliRecord::default()
    }
}

/// A directional as NENA writes it (`North` → `N`), or a problem.
fn directional(element: &str, text: &str, report: &mut dyn FnMut(String)) -> String {
    street::directional(text).unwrap_or_else(|| {
        report(format!(
            "{element} `{text}` is not a directional (N S E W NE NW SE SW)"
        ));
        String::new()
    })
}

/// A text field checked against its column: present when required, ASCII, not too long.
/// `what` is the field's name for people and its RFC 5139 element.
fn text_field(
    (name, element): (&str, &str),
    value: String,
    field: Field,
    required: bool,
    report: &mut dyn FnMut(String),
) -> String {
    let width = field.span().len;
    if value.is_empty() {
        if required {
            report(format!("no {name} ({element}): the ALI record needs one"));
        }
    } else if let Some(bad) = value
        .chars()
        .find(|c| !c.is_ascii() || c.is_ascii_control())
    {
        report(format!(
            "{element} `{value}` has `{bad}`: the NENA record carries ASCII only"
        ));
    } else if value.len() > width {
        report(format!(
            "{element} `{value}` is {} characters; the record's {name} holds {width}",
            value.len()
        ));
    }
    value
}

/// Where in the building, each part once, as a dispatcher reads it: `BUILDING 40, FLOOR 2`
/// from Lync's `LOC`, not also the `BLD` and `FLR` it was derived from.
fn location_text(civic: &e911_location::CivicAddress) -> String {
    let parts: Vec<String> = e911_policy::civic::Inside::of(civic)
        .parts(civic)
        .map(|(label, value)| {
            if label.is_empty() {
                value.to_owned()
            } else {
                format!("{label} {value}")
            }
        })
        .collect();
    plain(&parts.join(", "))
}

/// Upper case with runs of spaces made one (NENA's records are upper case).
fn plain(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

/// ZIP and ZIP+4 from a US postal code (`98052`, `98052-6399`); a Canadian postal code
/// has no place in these numeric fields and is left out.
fn zip_code(pc: &str, country: &str, report: &mut dyn FnMut(String)) -> (String, String) {
    if pc.is_empty() || country.eq_ignore_ascii_case("CA") {
        return (String::new(), String::new());
    }
    let (five, four) = pc.split_once('-').unwrap_or((pc, ""));
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if digits(five, 5) && (four.is_empty() || digits(four, 4)) {
        (five.to_owned(), four.to_owned())
    } else {
        report(format!(
            "PC `{pc}` is not a ZIP Code (five digits, or ZIP+4)"
        ));
        (String::new(), String::new())
    }
}

/// `+13165550100` → (`316`, `5550100`).
fn nanp(elin: &str) -> Option<(String, String)> {
    let digits = elin.strip_prefix("+1")?;
    if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (npa, number) = digits.split_at(3);
    Some((npa.to_owned(), number.to_owned()))
}

#[cfg(test)]
mod tests;
