//! Reading an MSAG extract, CSV or NENA fixed-width (see the module above).

use e911_policy::Problem;

use super::{Msag, MsagEntry, Parity};
use crate::csv_cells::{self, Row, Table};
use crate::street;

/// The largest extract read: a statewide MSAG is a few hundred thousand ranges of 200
/// characters; anything far beyond is not an MSAG extract.
pub const MAX_MSAG_BYTES: usize = 256 * 1024 * 1024;

/// The most ranges kept, for the same reason.
pub const MAX_MSAG_ENTRIES: usize = 2_000_000;

/// Length of the NENA MSAG record, End of Record included.
const NENA_MSAG_LEN: usize = 200;

/// Reads an extract; `name` is the file name problems show. Every bad row is a problem;
/// the extract is refused when there is any.
pub fn read(name: &str, bytes: &[u8]) -> Result<Msag, Vec<Problem>> {
    let one = |line, message: &str| vec![Problem::new(name, line, message)];
    if bytes.len() > MAX_MSAG_BYTES {
        return Err(one(0, "larger than 256 MiB: not an MSAG extract"));
    }
    let text = core::str::from_utf8(bytes)
        .map_err(|_| one(1, "not UTF-8 text (save the extract as CSV, UTF-8)"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    if first.len() == NENA_MSAG_LEN && first.ends_with('*') && !first.contains(',') {
        return fixed_width(name, text);
    }
    let table = csv_cells::parse(text).map_err(|line| one(line, "unterminated quoted field"))?;
    from_table(name, &table)
}

/// Where each column of a CSV extract is.
struct Columns {
    prd: Option<usize>,
    name: usize,
    suffix: Option<usize>,
    pod: Option<usize>,
    low: usize,
    high: usize,
    parity: Option<usize>,
    community: usize,
    state: usize,
    esn: Option<usize>,
}

fn find_columns(name: &str, table: &Table) -> Result<Columns, Vec<Problem>> {
    let mut missing = Vec::new();
    let mut required = |names: &[&str]| {
        let found = table.column(names);
        if found.is_none() {
            missing.push(Problem::new(
                name,
                table.header_line,
                format!("missing column `{}`", names.first().copied().unwrap_or("")),
            ));
        }
        found.unwrap_or(0)
    };
    let columns = Columns {
        name: required(&["streetname", "street", "rd"]),
        low: required(&["low", "lowrange", "fromhouse", "rangelow"]),
        high: required(&["high", "highrange", "tohouse", "rangehigh"]),
        community: required(&["community", "msagcommunity", "communityname", "a3"]),
        state: required(&["state", "a1"]),
        prd: table.column(&["prefixdirectional", "predirectional", "prd"]),
        suffix: table.column(&["streetsuffix", "suffix", "sts"]),
        pod: table.column(&["postdirectional", "pod"]),
        parity: table.column(&["oddeven", "parity", "oddevenindicator"]),
        esn: table.column(&["esn"]),
    };
    if missing.is_empty() {
        Ok(columns)
    } else {
        Err(missing)
    }
}

fn from_table(name: &str, table: &Table) -> Result<Msag, Vec<Problem>> {
    let columns = find_columns(name, table)?;
    let mut problems = Vec::new();
    let mut entries = Vec::new();
    for row in &table.rows {
        match entry(row, &columns) {
            Ok(entry) => entries.push(entry),
            Err(message) => problems.push(Problem::new(name, row.line, message)),
        }
        if entries.len() > MAX_MSAG_ENTRIES {
            problems.push(Problem::new(name, row.line, "more than 2,000,000 ranges"));
            break;
        }
    }
    if problems.is_empty() {
        Ok(Msag { entries })
    } else {
        Err(problems)
    }
}

fn entry(row: &Row, c: &Columns) -> Result<MsagEntry, String> {
    let fields = Fields {
        prd: row.get(c.prd),
        name: row.get(Some(c.name)),
        suffix: row.get(c.suffix),
        pod: row.get(c.pod),
        low: row.get(Some(c.low)),
        high: row.get(Some(c.high)),
        parity: row.get(c.parity),
        community: row.get(Some(c.community)),
        state: row.get(Some(c.state)),
        esn: row.get(c.esn),
    };
    fields.into_entry(row.line)
}

/// One range as written, before it is checked.
struct Fields<'a> {
    prd: &'a str,
    name: &'a str,
    suffix: &'a str,
    pod: &'a str,
    low: &'a str,
    high: &'a str,
    parity: &'a str,
    community: &'a str,
    state: &'a str,
    esn: &'a str,
}

impl Fields<'_> {
    fn into_entry(self, line: u32) -> Result<MsagEntry, String> {
        let number = |text: &str, what: &str| {
            text.trim()
                .parse::<u32>()
                .map_err(|_| format!("{what} `{}` is not a house number", text.trim()))
        };
        let low = number(self.low, "low")?;
        let high = number(self.high, "high")?;
        if low > high {
            return Err(format!("low {low} is above high {high}"));
        }
        let direction = |text: &str| {
            street::directional(text).ok_or_else(|| {
                format!(
                    "`{}` is not a directional (N S E W NE NW SE SW)",
                    text.trim()
                )
            })
        };
        let parity = match street::plain(self.parity).as_str() {
            "O" | "ODD" => Parity::Odd,
            "E" | "EVEN" => Parity::Even,
            "" | "B" | "BOTH" | "A" | "ALL" => Parity::Both,
            other => return Err(format!("odd/even `{other}` is not O, E or B")),
        };
        let street_name = street::plain(self.name);
        let community = street::plain(self.community);
        let state = street::plain(self.state);
        if street_name.is_empty() || community.is_empty() || state.is_empty() {
            return Err("a range needs a street name, a community and a state".to_owned());
        }
        Ok(MsagEntry {
            prefix_directional: direction(self.prd)?,
            street_name,
            street_suffix: street::suffix(self.suffix),
            post_directional: direction(self.pod)?,
            low,
            high,
            parity,
            community,
            state,
            esn: self.esn.trim().to_owned(),
            line,
        })
    }
}

/// The NENA 200-character MSAG record, one per line.
fn fixed_width(name: &str, text: &str) -> Result<Msag, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut entries = Vec::new();
    for (index, record) in text.lines().enumerate() {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        if record.trim().is_empty() {
            continue;
        }
        // A header or trailer record of the file, not a range.
        if record.starts_with("UHL") || record.starts_with("UTL") {
            continue;
        }
        if record.len() != NENA_MSAG_LEN || !record.is_ascii() {
            problems.push(Problem::new(
                name,
                line,
                "not a 200-character NENA MSAG record",
            ));
            continue;
        }
        let at = |start: usize, len: usize| record.get(start - 1..start - 1 + len).unwrap_or("");
        if at(173, 1) == "D" {
            continue;
        }
        let fields = Fields {
            prd: at(1, 2),
            name: at(3, 60),
            suffix: at(63, 4),
            pod: at(67, 2),
            low: at(69, 10),
            high: at(79, 10),
            community: at(89, 32),
            state: at(121, 2),
            parity: at(123, 1),
            esn: at(124, 5),
        };
        match fields.into_entry(line) {
            Ok(entry) => entries.push(entry),
            Err(message) => problems.push(Problem::new(name, line, message)),
        }
        if entries.len() > MAX_MSAG_ENTRIES {
            problems.push(Problem::new(name, line, "more than 2,000,000 ranges"));
            break;
        }
    }
    if problems.is_empty() {
        Ok(Msag { entries })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_csv_extract_with_nena_column_names_and_spellings() {
        let text = "PreDirectional,StreetName,StreetSuffix,PostDirectional,LowRange,HighRange,OddEven,MSAGCommunity,State,ESN\r\n\
                    ,Microsoft,Way,,1,99,B,Redmond,WA,101\r\n\
                    North,Main,Street,,100,198,E,Wichita,KS,201\r\n";
        let msag = read("msag.csv", text.as_bytes()).unwrap();
        assert_eq!(msag.entries.len(), 2);
        assert_eq!(msag.entries[1].to_string(), "N MAIN ST 100-198 even");
        assert_eq!(msag.entries[1].line, 3);
        assert_eq!(msag.entries[0].esn, "101");
    }

    #[test]
    fn reads_the_nena_fixed_width_record() {
        let mut record = vec![b' '; 200];
        let mut put = |start: usize, text: &str| {
            record[start - 1..start - 1 + text.len()].copy_from_slice(text.as_bytes());
        };
        put(1, "N");
        put(3, "MAIN");
        put(63, "ST");
        put(69, "0000000100");
        put(79, "0000000198");
        put(89, "WICHITA");
        put(121, "KS");
        put(123, "E");
        put(124, "00201");
        put(173, "I");
        put(200, "*");
        let text = String::from_utf8(record).unwrap();
        let msag = read("msag.dat", format!("{text}\n").as_bytes()).unwrap();
        assert_eq!(msag.entries[0].to_string(), "N MAIN ST 100-198 even");
        assert_eq!(msag.entries[0].community, "WICHITA");
    }

    #[test]
    fn bad_rows_are_named_by_line() {
        let text = "street_name,low,high,odd_even,community,state\nMain,200,100,E,Wichita,KS\nMain,1,x,B,Wichita,KS\n";
        let problems = read("m.csv", text.as_bytes()).unwrap_err();
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "m.csv:2: low 200 is above high 100",
                "m.csv:3: high `x` is not a house number"
            ]
        );
        let missing = read("m.csv", b"street,low\n").unwrap_err();
        assert!(missing[0].to_string().contains("missing column `high`"));
    }
}
