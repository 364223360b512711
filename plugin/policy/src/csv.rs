//! A small RFC 4180 CSV reader that remembers line numbers.
//!
//! It accepts what Lync/Skype for Business and Teams exports look like after PowerShell's
//! `Export-Csv`: an optional UTF-8 byte-order mark, an optional `#TYPE …` line before the
//! header (Windows PowerShell 5.1 writes one unless told `-NoTypeInformation`), every
//! field quoted, CRLF or LF line ends. Fields borrow from the text unless they contain
//! an escaped quote, so a million-row file costs few allocations.

use std::borrow::Cow;

use crate::problem::saturate;

/// One data row: its first line in the file and its fields.
#[derive(Debug)]
pub(crate) struct Record<'a> {
    pub line: u32,
    pub fields: Vec<Cow<'a, str>>,
}

impl Record<'_> {
    /// The field at `index`, trimmed; empty when the row is short.
    pub(crate) fn get(&self, index: Option<usize>) -> &str {
        index
            .and_then(|i| self.fields.get(i))
            .map_or("", |f| f.trim())
    }

    /// Whether every field is blank (a spacer row some spreadsheets leave).
    pub(crate) fn is_blank(&self) -> bool {
        self.fields.iter().all(|f| f.trim().is_empty())
    }
}

/// A parsed file: the header row (column names normalized) and the data rows.
#[derive(Debug)]
pub(crate) struct Table<'a> {
    pub header_line: u32,
    pub columns: Vec<String>,
    pub records: Vec<Record<'a>>,
}

impl Table<'_> {
    /// The index of the first column with any of these names (normalized, see [`normalize`]).
    pub(crate) fn column(&self, names: &[&str]) -> Option<usize> {
        names
            .iter()
            .find_map(|name| self.columns.iter().position(|c| c == name))
    }
}

/// Column names compare without case, spaces, `_` or `-`: `PortIDSubType`, `portid_subtype`
/// and `Port ID SubType` are one column.
pub(crate) fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Why a file is not CSV at all (an unterminated quote); the line where the field began.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CsvError {
    pub line: u32,
    pub message: &'static str,
}

/// Parses a whole file. An empty file is a table with no columns.
pub(crate) fn parse(text: &str) -> Result<Table<'_>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader {
        text,
        pos: 0,
        line: 1,
    };
    let mut header = None;
    let mut records = Vec::new();
    while reader.pos < text.len() {
        let rest = reader.rest();
        if header.is_none() && (rest.starts_with('#') || starts_blank_line(rest)) {
            reader.skip_line();
            continue;
        }
        let record = reader.record()?;
        match header {
            None => header = Some(record),
            Some(_) if record.is_blank() => {}
            Some(_) => records.push(record),
        }
    }
    Ok(match header {
        Some(head) => Table {
            header_line: head.line,
            columns: head.fields.iter().map(|c| normalize(c)).collect(),
            records,
        },
        None => Table {
            header_line: 1,
            columns: Vec::new(),
            records,
        },
    })
}

fn starts_blank_line(rest: &str) -> bool {
    let line = rest.split('\n').next().unwrap_or("");
    line.trim().is_empty()
}

struct Reader<'a> {
    text: &'a str,
    pos: usize,
    line: u32,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn skip_line(&mut self) {
        let rest = self.rest();
        self.pos += rest.find('\n').map_or(rest.len(), |at| at + 1);
        self.line = self.line.saturating_add(1);
    }

    /// Reads one record, through its line end.
    fn record(&mut self) -> Result<Record<'a>, CsvError> {
        let line = self.line;
        let mut fields = Vec::new();
        loop {
            let field = if self.rest().starts_with('"') {
                self.quoted(line)?
            } else {
                self.plain()
            };
            fields.push(field);
            match self.rest().as_bytes().first() {
                Some(b',') => self.pos += 1,
                Some(b'\r') | Some(b'\n') => {
                    self.end_of_line();
                    break;
                }
                None => break,
                // Text after a closing quote (`"a"b`): keep reading it into the next field
                // rather than failing the file.
                Some(_) => {}
            }
        }
        Ok(Record { line, fields })
    }

    fn end_of_line(&mut self) {
        if self.rest().starts_with("\r\n") {
            self.pos += 2;
        } else {
            self.pos += 1;
        }
        self.line = self.line.saturating_add(1);
    }

    fn plain(&mut self) -> Cow<'a, str> {
        let rest = self.rest();
        let end = rest.find([',', '\r', '\n']).unwrap_or(rest.len());
        self.pos += end;
        Cow::Borrowed(rest.get(..end).unwrap_or(""))
    }

    /// A quoted field: `""` is one quote, and line breaks inside belong to the field.
    fn quoted(&mut self, line: u32) -> Result<Cow<'a, str>, CsvError> {
        let rest = self.rest();
        let body = rest.get(1..).unwrap_or("");
        let mut value: Option<String> = None;
        let mut at = 0;
        loop {
            let Some(quote) = body.get(at..).and_then(|s| s.find('"')).map(|q| q + at) else {
                return Err(CsvError {
                    line,
                    message: "unterminated quoted field",
                });
            };
            let chunk = body.get(at..quote).unwrap_or("");
            self.line = self
                .line
                .saturating_add(saturate(chunk.matches('\n').count()));
            if body.get(quote + 1..quote + 2) == Some("\"") {
                value.get_or_insert_with(String::new).push_str(chunk);
                if let Some(v) = value.as_mut() {
                    v.push('"');
                }
                at = quote + 2;
                continue;
            }
            self.pos += 1 + quote + 1;
            return Ok(match value {
                Some(mut v) => {
                    v.push_str(chunk);
                    Cow::Owned(v)
                }
                None => Cow::Borrowed(body.get(..quote).unwrap_or("")),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(table: &Table<'_>) -> Vec<(u32, Vec<String>)> {
        table
            .records
            .iter()
            .map(|r| (r.line, r.fields.iter().map(|f| f.to_string()).collect()))
            .collect()
    }

    #[test]
    fn reads_a_powershell_export_with_bom_type_line_and_quotes() {
        let text = "\u{feff}#TYPE Deserialized.Microsoft.Rtc.Management.WritableConfig.Policy.Lis.LisSubnet\r\n\
                    \"Subnet\",\"Description\",\"Location\"\r\n\
                    \"10.1.2.0\",\"HQ \"\"east\"\"\",\"Bldg 40, Floor 2\"\r\n";
        let table = parse(text).unwrap();
        assert_eq!(table.header_line, 2);
        assert_eq!(table.columns, ["subnet", "description", "location"]);
        assert_eq!(
            rows(&table),
            [(
                3,
                vec![
                    "10.1.2.0".into(),
                    "HQ \"east\"".into(),
                    "Bldg 40, Floor 2".into()
                ]
            )]
        );
    }

    #[test]
    fn counts_lines_inside_multiline_fields() {
        let table = parse("a,b\n\"one\ntwo\",x\n3,y\n").unwrap();
        assert_eq!(
            rows(&table),
            [
                (2, vec!["one\ntwo".into(), "x".into()]),
                (4, vec!["3".into(), "y".into()])
            ]
        );
    }

    #[test]
    fn skips_blank_rows_and_keeps_empty_fields() {
        let table = parse("a,b,c\n\n1,,3\n,,\n").unwrap();
        assert_eq!(rows(&table), [(3, vec!["1".into(), "".into(), "3".into()])]);
    }

    #[test]
    fn reports_an_unterminated_quote_at_its_line() {
        assert_eq!(
            parse("a\n\"x\n").unwrap_err(),
            CsvError {
                line: 2,
                message: "unterminated quoted field"
            }
        );
    }

    #[test]
    fn normalizes_column_names() {
        assert_eq!(normalize(" PortID_Sub-Type "), "portidsubtype");
        let table = parse("LocationId,BSSID\n").unwrap();
        assert_eq!(table.column(&["erl", "locationid"]), Some(0));
    }
}
