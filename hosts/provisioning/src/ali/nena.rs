//! The NENA fixed-width ALI data exchange record: 512 characters, each field at a fixed
//! position, left-justified and space-filled ("The field should be space filled if no
//! house number is available"), upper case, the last character `*` (End of Record).
//!
//! Positions are those of NENA 02-010, Version 3 "Format for Data Exchange" (Exhibit 10
//! of the January 2002 issue; the same 512-byte layout in Version 9, 2011, and in
//! NENA-STA-015, which replaced 02-010). The file opens with a header record and closes
//! with a trailer record of the same length (Exhibits 12 and 13, "Header/Trailer Format
//! for Data Exchange", as the carriers' guides reproduce them, e.g. AT&T's CG-IEIK-001
//! §7.13): `UHL`, the extract date, the company name and the cycle counter; `UTL`, the
//! extract date, the company name and the number of data records. Records are separated
//! by a line feed.

use super::{AliOptions, AliRecord};

/// Length of every record, End of Record included.
pub const RECORD_LEN: usize = 512;

/// A field's place in the record: 1-based first position and length, as NENA's tables
/// give them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// 1-based position of the first character.
    pub start: usize,
    /// Characters.
    pub len: usize,
}

/// The fields of the data record this export fills or reserves, in record order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// 1: Function of Change (`I` insert, `C` change, `D` delete).
    FunctionOfChange,
    /// 2-4: NPA of the Calling Number.
    Npa,
    /// 5-11: Calling Number, seven digits.
    CallingNumber,
    /// 12-21: House Number.
    HouseNumber,
    /// 22-25: House Number Suffix.
    HouseNumberSuffix,
    /// 26-27: Prefix Directional.
    PrefixDirectional,
    /// 28-87: Street Name.
    StreetName,
    /// 88-91: Street Suffix.
    StreetSuffix,
    /// 92-93: Post Directional.
    PostDirectional,
    /// 94-125: Community Name (the MSAG community).
    Community,
    /// 126-127: State.
    State,
    /// 128-187: Location (additional address information).
    Location,
    /// 188-219: Customer Name.
    CustomerName,
    /// 220: Class of Service.
    ClassOfService,
    /// 221: Type of Service.
    TypeOfService,
    /// 222-225: Exchange (the carrier's).
    Exchange,
    /// 226-230: ESN (the DBMS assigns it from the MSAG).
    Esn,
    /// 231-233: Main NPA.
    MainNpa,
    /// 234-240: Main Number.
    MainNumber,
    /// 241-250: Order Number.
    OrderNumber,
    /// 251-256: Extract Date, MMDDYY.
    ExtractDate,
    /// 257-260: County ID.
    CountyId,
    /// 261-265: Company ID (NENA-registered).
    CompanyId,
    /// 266: Source ID (blank: daily update).
    SourceId,
    /// 267-271: ZIP Code.
    Zip,
    /// 272-275: ZIP + 4.
    Zip4,
    /// 276-286: General Use.
    GeneralUse,
    /// 287-289: Customer Code.
    CustomerCode,
    /// 290-319: Comments.
    Comments,
    /// 320-328: X Coordinate.
    X,
    /// 329-337: Y Coordinate.
    Y,
    /// 338-342: Z Coordinate.
    Z,
    /// 343-348: Cell ID.
    CellId,
    /// 349: Sector ID.
    SectorId,
    /// 350-355: TAR Code.
    TarCode,
    /// 356-376: Reserved.
    Reserved,
    /// 377-386: Alternate Number.
    AltNumber,
    /// 387-394: Expanded Extract Date, CCYYMMDD.
    ExpandedExtractDate,
    /// 395-475: NENA Reserved.
    NenaReserved,
    /// 476-511: reserved for the DBMS provider.
    DbmsReserved,
    /// 512: End of Record, always `*`.
    EndOfRecord,
}

/// Every field with its span, in order; the spans tile positions 1 to 512 exactly (a
/// unit test holds them to it).
pub const FIELDS: [(Field, Span); 41] = {
    const fn at(start: usize, len: usize) -> Span {
        Span { start, len }
    }
    [
        (Field::FunctionOfChange, at(1, 1)),
        (Field::Npa, at(2, 3)),
        (Field::CallingNumber, at(5, 7)),
        (Field::HouseNumber, at(12, 10)),
        (Field::HouseNumberSuffix, at(22, 4)),
        (Field::PrefixDirectional, at(26, 2)),
        (Field::StreetName, at(28, 60)),
        (Field::StreetSuffix, at(88, 4)),
        (Field::PostDirectional, at(92, 2)),
        (Field::Community, at(94, 32)),
        (Field::State, at(126, 2)),
        (Field::Location, at(128, 60)),
        (Field::CustomerName, at(188, 32)),
        (Field::ClassOfService, at(220, 1)),
        (Field::TypeOfService, at(221, 1)),
        (Field::Exchange, at(222, 4)),
        (Field::Esn, at(226, 5)),
        (Field::MainNpa, at(231, 3)),
        (Field::MainNumber, at(234, 7)),
        (Field::OrderNumber, at(241, 10)),
        (Field::ExtractDate, at(251, 6)),
        (Field::CountyId, at(257, 4)),
        (Field::CompanyId, at(261, 5)),
        (Field::SourceId, at(266, 1)),
        (Field::Zip, at(267, 5)),
        (Field::Zip4, at(272, 4)),
        (Field::GeneralUse, at(276, 11)),
        (Field::CustomerCode, at(287, 3)),
        (Field::Comments, at(290, 30)),
        (Field::X, at(320, 9)),
        (Field::Y, at(329, 9)),
        (Field::Z, at(338, 5)),
        (Field::CellId, at(343, 6)),
        (Field::SectorId, at(349, 1)),
        (Field::TarCode, at(350, 6)),
        (Field::Reserved, at(356, 21)),
        (Field::AltNumber, at(377, 10)),
        (Field::ExpandedExtractDate, at(387, 8)),
        (Field::NenaReserved, at(395, 81)),
        (Field::DbmsReserved, at(476, 36)),
        (Field::EndOfRecord, at(512, 1)),
    ]
};

impl Field {
    /// Where the field sits.
    pub fn span(self) -> Span {
        FIELDS
            .iter()
            .find(|(f, _)| *f == self)
            .map_or(Span { start: 1, len: 0 }, |(_, s)| *s)
    }
}

/// A calendar date, for the Extract Date fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractDate {
    /// Year, four digits.
    pub year: u16,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day, 1 to 31.
    pub day: u8,
}

impl ExtractDate {
    /// `2026-12-06`; `None` unless it is a date of the Gregorian calendar.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().splitn(3, '-');
        let year: u16 = parts.next()?.parse().ok()?;
        let month: u8 = parts.next()?.parse().ok()?;
        let day: u8 = parts.next()?.parse().ok()?;
        let leap =
            year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        ((1000..=9999).contains(&year) && (1..=days).contains(&day)).then_some(Self {
            year,
            month,
            day,
        })
    }

    /// The date `days` after 1970-01-01 (the host passes the clock's).
    pub fn from_unix_days(days: i64) -> Self {
        // Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self {
            year: u16::try_from(year).unwrap_or(9999),
            month: u8::try_from(month).unwrap_or(1),
            day: u8::try_from(day).unwrap_or(1),
        }
    }

    /// `MMDDYY`, the Extract Date field.
    pub fn mmddyy(self) -> String {
        format!("{:02}{:02}{:02}", self.month, self.day, self.year % 100)
    }

    /// `CCYYMMDD`, the Expanded Extract Date field.
    pub fn ccyymmdd(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

/// A record being filled: 511 spaces and the End of Record mark.
struct Record([u8; RECORD_LEN]);

impl Record {
    fn new() -> Self {
        let mut bytes = [b' '; RECORD_LEN];
        if let Some(last) = bytes.last_mut() {
            *last = b'*';
        }
        Self(bytes)
    }

    /// Puts `value` at 1-based `start`, left-justified; what does not fit (or is not
    /// ASCII) is not written: the export refused such addresses before they got here.
    fn put_at(&mut self, start: usize, len: usize, value: &str) {
        let from = start.saturating_sub(1);
        let cells = self.0.get_mut(from..from + len).unwrap_or_default();
        for (cell, byte) in cells.iter_mut().zip(value.bytes()) {
            *cell = if byte.is_ascii() && !byte.is_ascii_control() {
                byte.to_ascii_uppercase()
            } else {
                b' '
            };
        }
    }

    fn put(&mut self, field: Field, value: &str) {
        let span = field.span();
        self.put_at(span.start, span.len, value);
    }
}

/// One data record, 512 characters.
pub fn write_record(record: &AliRecord, options: &AliOptions) -> [u8; RECORD_LEN] {
    let mut out = Record::new();
    let char_text = |c: char| c.to_string();
    let fields: [(Field, String); 21] = [
        (
            Field::FunctionOfChange,
            char_text(record.function_of_change),
        ),
        (Field::Npa, record.npa.clone()),
        (Field::CallingNumber, record.calling_number.clone()),
        (Field::HouseNumber, record.house_number.clone()),
        (Field::HouseNumberSuffix, record.house_number_suffix.clone()),
        (Field::PrefixDirectional, record.prefix_directional.clone()),
        (Field::StreetName, record.street_name.clone()),
        (Field::StreetSuffix, record.street_suffix.clone()),
        (Field::PostDirectional, record.post_directional.clone()),
        (Field::Community, record.community.clone()),
        (Field::State, record.state.clone()),
        (Field::Location, record.location.clone()),
        (Field::CustomerName, record.customer_name.clone()),
        (Field::ClassOfService, char_text(record.class_of_service)),
        (Field::TypeOfService, char_text(record.type_of_service)),
        (Field::ExtractDate, options.extract_date.mmddyy()),
        (Field::CompanyId, options.company_id.clone()),
        (Field::Zip, record.zip.clone()),
        (Field::Zip4, record.zip4.clone()),
        (Field::ExpandedExtractDate, options.extract_date.ccyymmdd()),
        (Field::EndOfRecord, "*".to_owned()),
    ];
    for (field, value) in &fields {
        out.put(*field, value);
    }
    out.0
}

/// The header record (`UHL`): positions 1-5 the indicator, 6-11 the extract date
/// (MMDDYY), 12-61 the company name, 62-67 the cycle counter (zero-filled), 97 the format
/// version (3), 512 `*`; the rest (county, state, general use, release number) blank.
pub fn write_header(options: &AliOptions) -> [u8; RECORD_LEN] {
    let mut out = Record::new();
    out.put_at(1, 5, "UHL");
    out.put_at(6, 6, &options.extract_date.mmddyy());
    out.put_at(12, 50, &options.company_name);
    out.put_at(62, 6, &format!("{:06}", options.cycle.min(999_999)));
    out.put_at(97, 1, "3");
    out.0
}

/// Where the trailer's record count sits: positions 62-70, zero-filled.
pub const TRAILER_COUNT: Span = Span { start: 62, len: 9 };

/// The trailer record (`UTL`): the extract date and company name as in the header, then
/// the number of data records (header and trailer not counted).
pub fn write_trailer(options: &AliOptions, records: usize) -> [u8; RECORD_LEN] {
    let mut out = Record::new();
    out.put_at(1, 5, "UTL");
    out.put_at(6, 6, &options.extract_date.mmddyy());
    out.put_at(12, 50, &options.company_name);
    let count = format!("{:09}", records.min(999_999_999));
    out.put_at(TRAILER_COUNT.start, TRAILER_COUNT.len, &count);
    out.0
}

/// The whole file: header, one record per ELIN, trailer, each ended by a line feed.
pub fn write_nena(records: &[AliRecord], options: &AliOptions) -> Vec<u8> {
    let mut out = Vec::with_capacity((records.len() + 2) * (RECORD_LEN + 1));
    let mut line = |record: &[u8; RECORD_LEN]| {
        out.extend_from_slice(record);
        out.push(b'\n');
    };
    line(&write_header(options));
    for record in records {
        line(&write_record(record, options));
    }
    line(&write_trailer(options, records.len()));
    out
}
