//! ERLs from CSV: the native `erls.csv`, Teams' location export, and the addresses Lync
//! exports inline on every element row.
//!
//! Columns are found by name, in three vocabularies at once:
//!
//! | RFC 5139 (native) | Lync (`Get-CsLisSubnet` …)  | Teams (`Get-CsOnlineLisLocation`) |
//! |-------------------|-----------------------------|-----------------------------------|
//! | `id`, `erl`       | (derived from the address)  | `LocationId`                      |
//! | `HNO` `HNS` `PRD` | `HouseNumber` `HouseNumberSuffix` `PreDirectional` | same    |
//! | `RD` `STS` `POD`  | `StreetName` `StreetSuffix` `PostDirectional` | same         |
//! | `A3` `A1` `PC`    | `City` `State` `PostalCode` | `City` `StateOrProvince` `PostalCode` |
//! | `A2`              | —                           | `CountyOrDistrict`                |
//! | `country`         | `Country`                   | `CountryOrRegion`                 |
//! | `LOC`             | `Location`                  | `Location`                        |
//! | `NAM` + `elins`   | `CompanyName` (`Contoso;+13165550100`) | `CompanyName` + `Elin` |
//! | `validated`       | `MSAGValid`                 | `ValidationStatus`                |
//! | `latitude` `longitude` | —                      | `Latitude` `Longitude`            |
//!
//! Lync puts ELINs in `CompanyName`, separated by `;`: parts that look like a phone number
//! are ELINs, the rest is the name. Lync's `Location` text (`Bldg 40, Floor 2`) becomes
//! `LOC` unchanged; the native file can also give `BLD`, `FLR`, `ROOM` separately.

use std::collections::HashMap;

use e911_location::{CivicAddress, CivicElement as CivicField, CivicMarkup, Point};

use crate::civic::set_trimmed;
use crate::csv::{Record, Table};
use crate::model::{Erl, Validation};
use crate::problem::Problems;

/// Column names that hold an ERL id (in `erls.csv`) or reference one (element files).
pub(crate) const ID_COLUMNS: [&str; 4] = ["id", "erl", "erlid", "locationid"];

/// Lync and Teams column names for civic elements; RFC names are recognised as well.
const ALIASES: [(&str, CivicField); 13] = [
    ("housenumber", CivicField::Hno),
    ("housenumbersuffix", CivicField::Hns),
    ("predirectional", CivicField::Prd),
    ("streetname", CivicField::Rd),
    ("streetsuffix", CivicField::Sts),
    ("postdirectional", CivicField::Pod),
    ("city", CivicField::A3),
    ("state", CivicField::A1),
    ("stateorprovince", CivicField::A1),
    ("postalcode", CivicField::Pc),
    ("countryorregion", CivicField::Country),
    ("countyordistrict", CivicField::A2),
    ("location", CivicField::Loc),
];

/// The fields a Lync row carries; two rows with equal values here are one ERL.
const LYNC_KEY: [CivicField; 12] = [
    CivicField::Hno,
    CivicField::Hns,
    CivicField::Prd,
    CivicField::Rd,
    CivicField::Sts,
    CivicField::Pod,
    CivicField::A3,
    CivicField::A1,
    CivicField::Pc,
    CivicField::Country,
    CivicField::Loc,
    CivicField::Nam,
];

/// Where each address column of a file is.
#[derive(Debug, Default)]
pub(crate) struct AddressColumns {
    civic: Vec<(CivicField, usize)>,
    company: Option<usize>,
    elins: Option<usize>,
    validated: Option<usize>,
    latitude: Option<usize>,
    longitude: Option<usize>,
    description: Option<usize>,
}

impl AddressColumns {
    pub(crate) fn find(table: &Table<'_>) -> Self {
        let mut civic = Vec::new();
        for (at, name) in table.columns.iter().enumerate() {
            let alias = ALIASES.iter().find(|(n, _)| n == name).map(|(_, f)| *f);
            if let Some(field) = alias.or_else(|| CivicField::from_name(name)) {
                civic.push((field, at));
            }
        }
        Self {
            civic,
            company: table.column(&["companyname"]),
            elins: table.column(&["elins", "elin"]),
            validated: table.column(&["validated", "msagvalid", "validationstatus"]),
            latitude: table.column(&["latitude"]),
            longitude: table.column(&["longitude"]),
            description: table.column(&["description"]),
        }
    }

    /// Whether the file carries addresses at all (a Lync element export does).
    pub(crate) fn has_address(&self) -> bool {
        self.civic
            .iter()
            .any(|(f, _)| matches!(f, CivicField::Country | CivicField::Rd))
    }

    pub(crate) fn has_country(&self) -> bool {
        self.civic.iter().any(|(f, _)| *f == CivicField::Country)
    }
}

/// An ERL with where it was defined.
#[derive(Debug)]
pub(crate) struct ErlDraft {
    pub erl: Erl,
    pub file: String,
    pub line: u32,
}

/// Every ERL of the bundle, by id and by Lync address key.
#[derive(Debug, Default)]
pub(crate) struct ErlSet {
    pub drafts: Vec<ErlDraft>,
    by_id: HashMap<String, u32>,
    by_address: HashMap<String, u32>,
    default_validation: Option<Validation>,
    /// False when an ERL file could not be read at all: unknown references are then not
    /// reported (they are most likely defined in that file).
    pub complete: bool,
}

impl ErlSet {
    pub(crate) fn new(default_validated: bool) -> Self {
        let validation = if default_validated {
            Validation::Validated
        } else {
            Validation::NotValidated
        };
        Self {
            default_validation: Some(validation),
            complete: true,
            ..Self::default()
        }
    }

    pub(crate) fn index(&self, id: &str) -> Option<u32> {
        self.by_id.get(id).copied()
    }

    pub(crate) fn get(&self, index: u32) -> Option<&ErlDraft> {
        self.drafts.get(index as usize)
    }

    /// Reads an ERL file (native or Teams); rows without an id get one from their address.
    pub(crate) fn import_table(&mut self, file: &str, table: &Table<'_>, problems: &mut Problems) {
        let columns = AddressColumns::find(table);
        if !columns.has_country() {
            problems.at(
                file,
                table.header_line,
                "missing column `country` (Lync/Teams: `Country`, `CountryOrRegion`)",
            );
            self.complete = false;
            return;
        }
        let id_column = table.column(&ID_COLUMNS);
        for record in &table.records {
            // A row with a problem still defines its id, so references to it do not add
            // "unknown ERL" noise; the bundle fails on the row's own problem.
            let erl = read_erl(file, record, &columns, self.validation_default(), problems);
            match record.get(id_column) {
                // A Lync location export has no id column: ids come from the address.
                "" if id_column.is_none() => {
                    self.inline(file, record.line, erl);
                }
                "" => problems.at(file, record.line, "no ERL id"),
                id => self.define(file, record.line, id, erl, problems),
            }
        }
    }

    fn validation_default(&self) -> Validation {
        self.default_validation.unwrap_or(Validation::NotValidated)
    }

    fn define(&mut self, file: &str, line: u32, id: &str, mut erl: Erl, problems: &mut Problems) {
        if let Some(first) = self.index(id).and_then(|i| self.get(i)) {
            let at = format!("{}:{}", first.file, first.line);
            problems.at(
                file,
                line,
                format!("duplicate ERL id `{id}` (first defined at {at})"),
            );
            return;
        }
        id.clone_into(&mut erl.id);
        let index = crate::problem::saturate(self.drafts.len());
        self.by_id.insert(id.to_owned(), index);
        self.by_address
            .entry(address_key(&erl.civic))
            .or_insert(index);
        self.drafts.push(ErlDraft {
            erl,
            file: file.to_owned(),
            line,
        });
    }

    /// The ERL with this address, created on first sight; ELINs of every row are merged.
    fn inline(&mut self, file: &str, line: u32, erl: Erl) -> u32 {
        let key = address_key(&erl.civic);
        if let Some(&index) = self.by_address.get(&key) {
            if let Some(draft) = self.drafts.get_mut(index as usize) {
                for elin in erl.elins {
                    if !draft.erl.elins.contains(&elin) {
                        draft.erl.elins.push(elin);
                    }
                }
            }
            return index;
        }
        let mut id = slug(&erl.civic);
        let mut n = 2;
        while self.by_id.contains_key(&id) {
            id = format!("{}-{n}", slug(&erl.civic));
            n += 1;
        }
        let index = crate::problem::saturate(self.drafts.len());
        self.by_id.insert(id.clone(), index);
        self.by_address.insert(key, index);
        self.drafts.push(ErlDraft {
            erl: Erl { id, ..erl },
            file: file.to_owned(),
            line,
        });
        index
    }

    /// The ERL a Lync element row describes inline.
    pub(crate) fn inline_row(
        &mut self,
        file: &str,
        record: &Record<'_>,
        columns: &AddressColumns,
        problems: &mut Problems,
    ) -> u32 {
        let mut erl = read_erl(file, record, columns, self.validation_default(), problems);
        // An element row's Description describes the element, not the place.
        erl.description = erl
            .civic
            .get(CivicField::Loc)
            .unwrap_or_default()
            .to_owned();
        self.inline(file, record.line, erl)
    }

    pub(crate) fn into_erls(self) -> Vec<Erl> {
        self.drafts.into_iter().map(|d| d.erl).collect()
    }
}

/// Reads the address, ELINs, validation and point of one row, reporting what is wrong.
fn read_erl(
    file: &str,
    record: &Record<'_>,
    columns: &AddressColumns,
    default_validation: Validation,
    problems: &mut Problems,
) -> Erl {
    let line = record.line;
    let mut civic = CivicAddress::default();
    for &(field, at) in &columns.civic {
        set_trimmed(&mut civic, field, record.get(Some(at)));
    }
    let mut elins = Vec::new();
    if columns.company.is_some() {
        let (name, found) = split_company(record.get(columns.company));
        set_trimmed(&mut civic, CivicField::Nam, &name);
        elins.extend(found);
    }
    elins.extend(
        record
            .get(columns.elins)
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    );
    for elin in &elins {
        if !is_e164(elin) {
            problems.at(
                file,
                line,
                format!("bad ELIN `{elin}`: expected E.164 (`+` and up to 15 digits)"),
            );
        }
    }
    match civic.get(CivicField::Country) {
        Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            let upper = c.to_ascii_uppercase();
            civic.set(CivicField::Country, upper);
        }
        Some(c) => {
            problems.at(
                file,
                line,
                format!("country `{c}` is not a two-letter ISO 3166 code (RFC 5139 §3.1)"),
            );
        }
        None => {
            problems.at(file, line, "the address has no country");
        }
    }
    let validation = read_validation(
        file,
        line,
        record.get(columns.validated),
        default_validation,
        problems,
    );
    let point = read_point(file, record, columns, problems);
    let description = record.get(columns.description).to_owned();
    Erl {
        id: String::new(),
        description,
        civic,
        point: point.ok().flatten(),
        elins,
        validation: validation.unwrap_or(Validation::NotValidated),
        inside: None,
        civic_markup: CivicMarkup::default(),
    }
}

fn read_validation(
    file: &str,
    line: u32,
    text: &str,
    default: Validation,
    problems: &mut Problems,
) -> Option<Validation> {
    match text.to_ascii_lowercase().as_str() {
        "" => Some(default),
        "yes" | "true" | "1" | "validated" | "valid" => Some(Validation::Validated),
        "no" | "false" | "0" | "notvalidated" | "not validated" | "invalid" | "pending" => {
            Some(Validation::NotValidated)
        }
        _ => {
            problems.at(file, line, format!("`{text}` is not a validation status (yes/no, True/False, Validated/NotValidated)"));
            None
        }
    }
}

fn read_point(
    file: &str,
    record: &Record<'_>,
    columns: &AddressColumns,
    problems: &mut Problems,
) -> Result<Option<Point>, ()> {
    let (lat, lon) = (record.get(columns.latitude), record.get(columns.longitude));
    if lat.is_empty() && lon.is_empty() {
        return Ok(None);
    }
    match (lat.parse::<f64>(), lon.parse::<f64>()) {
        // Teams exports 0,0 for locations without coordinates.
        (Ok(la), Ok(lo)) if la == 0.0 && lo == 0.0 => Ok(None),
        (Ok(la), Ok(lo)) if (-90.0..=90.0).contains(&la) && (-180.0..=180.0).contains(&lo) => {
            Ok(Some(Point::new(la, lo)))
        }
        _ => {
            problems.at(
                file,
                record.line,
                format!(
                    "bad coordinates `{lat}`, `{lon}`: expected degrees of latitude and longitude"
                ),
            );
            Err(())
        }
    }
}

/// Splits Lync's `CompanyName` into the name and the ELINs listed after it.
pub(crate) fn split_company(text: &str) -> (String, Vec<String>) {
    let mut name = Vec::new();
    let mut elins = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let phone_like = part.bytes().any(|b| b.is_ascii_digit())
            && part
                .bytes()
                .all(|b| b.is_ascii_digit() || b"+-(). ".contains(&b));
        if phone_like {
            elins.push(part.to_owned())
        } else {
            name.push(part)
        }
    }
    (name.join("; "), elins)
}

/// E.164: `+`, a non-zero country code digit, at most 15 digits in all.
pub(crate) fn is_e164(text: &str) -> bool {
    let Some(digits) = text.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

fn address_key(civic: &CivicAddress) -> String {
    let parts: Vec<String> = LYNC_KEY
        .iter()
        .map(|f| civic.get(*f).unwrap_or_default().to_ascii_uppercase())
        .collect();
    parts.join("\u{1f}")
}

/// A readable id for an address that has none: `1-microsoft-way-redmond-bldg-40-floor-2`.
fn slug(civic: &CivicAddress) -> String {
    use CivicField as F;
    let mut out = String::new();
    for field in [F::Hno, F::Hns, F::Prd, F::Rd, F::Sts, F::Pod, F::A3, F::Loc] {
        for c in civic.get(field).unwrap_or_default().chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        }
        if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        String::from("erl")
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv;

    #[test]
    fn splits_elins_out_of_lync_company_name() {
        assert_eq!(
            split_company("Contoso Wichita;+13165550100; +13165550101"),
            (
                "Contoso Wichita".into(),
                vec!["+13165550100".into(), "+13165550101".into()]
            )
        );
        assert_eq!(
            split_company("3M; 7-Eleven"),
            ("3M; 7-Eleven".into(), vec![])
        );
        assert_eq!(
            split_company("Contoso;316-555-0100"),
            ("Contoso".into(), vec!["316-555-0100".into()])
        );
    }

    #[test]
    fn accepts_only_e164_elins() {
        assert!(is_e164("+13165550100"));
        for bad in [
            "13165550100",
            "+0123",
            "+1",
            "+1316555010012345",
            "+1-316-555-0100",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    #[test]
    fn identical_lync_addresses_form_one_erl_with_merged_elins() {
        let text = "Subnet,Location,CompanyName,HouseNumber,StreetName,StreetSuffix,City,State,PostalCode,Country\n\
                    10.2.0.0,Floor 1,Contoso;+13165550100,100,Main,St,Wichita,KS,67202,US\n\
                    10.2.1.0,Floor 1,contoso;+13165550101,100,MAIN,St,Wichita,KS,67202,us\n";
        let table = csv::parse(text).unwrap();
        let columns = AddressColumns::find(&table);
        let mut set = ErlSet::new(true);
        let mut problems = Problems::default();
        let a = set.inline_row("s.csv", &table.records[0], &columns, &mut problems);
        let b = set.inline_row("s.csv", &table.records[1], &columns, &mut problems);
        assert!(problems.is_empty());
        assert_eq!((a, b), (0, 0));
        let erl = &set.drafts[0].erl;
        assert_eq!(erl.id, "100-main-st-wichita-floor-1");
        assert_eq!(erl.elins, ["+13165550100", "+13165550101"]);
        assert_eq!(erl.civic.get(CivicField::Nam), Some("Contoso"));
    }

    #[test]
    fn reads_a_teams_location_export() {
        let text = "LocationId,CompanyName,HouseNumber,StreetName,City,StateOrProvince,PostalCode,CountryOrRegion,Location,Elin,ValidationStatus,Latitude,Longitude\n\
                    7e1c-1,Fabrikam,500,Pine,Seattle,WA,98101,US,Floor 3,+12065550100,Validated,47.61,-122.33\n";
        let table = csv::parse(text).unwrap();
        let mut set = ErlSet::new(false);
        let mut problems = Problems::default();
        set.import_table("teams.csv", &table, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        let erl = &set.drafts[0].erl;
        assert_eq!(
            (erl.id.as_str(), erl.validation),
            ("7e1c-1", Validation::Validated)
        );
        assert_eq!(erl.civic.get(CivicField::A1), Some("WA"));
        assert_eq!(erl.point, Some(Point::new(47.61, -122.33)));
    }
}
