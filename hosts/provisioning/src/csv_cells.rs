//! A CSV reader that keeps where each cell is, so a cell can be rewritten and every other
//! byte left alone, and that numbers rows the way the policy compiler does (a record's
//! line is the line it starts on; `#…` and blank lines before the header are skipped, as
//! PowerShell 5.1 writes a `#TYPE` line first), so `file:line` agrees with `bundle check`.

use core::ops::Range;

/// One cell: where its bytes are (quotes included) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cell {
    /// Byte range in the text, quotes included.
    pub span: Range<usize>,
    /// Whether it was written in quotes.
    pub quoted: bool,
    /// The value, `""` unescaped.
    pub value: String,
}

/// One row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    /// 1-based line the row starts on.
    pub line: u32,
    pub cells: Vec<Cell>,
}

impl Row {
    /// The trimmed value of the cell at `index`, `""` when the row is short.
    pub(crate) fn get(&self, index: Option<usize>) -> &str {
        index
            .and_then(|i| self.cells.get(i))
            .map_or("", |c| c.value.trim())
    }

    fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| c.value.trim().is_empty())
    }
}

/// A whole file: the header (names normalised by [`normalize`]) and the data rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Table {
    pub header_line: u32,
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
}

impl Table {
    /// The first column with one of these (normalised) names.
    pub(crate) fn column(&self, names: &[&str]) -> Option<usize> {
        names
            .iter()
            .find_map(|n| self.columns.iter().position(|c| c == n))
    }
}

/// Column names compare without case, spaces, `_` or `-`, as in the policy's CSV files.
pub(crate) fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Parses `text` (after any byte-order mark, which the caller strips and accounts for).
/// The error is the line of a quoted cell that never ends.
pub(crate) fn parse(text: &str) -> Result<Table, u32> {
    let mut at = 0;
    let mut line = 1u32;
    let mut header: Option<Row> = None;
    let mut rows = Vec::new();
    while at < text.len() {
        let rest = text.get(at..).unwrap_or_default();
        let first_line = rest.split('\n').next().unwrap_or_default();
        if header.is_none() && (rest.starts_with('#') || first_line.trim().is_empty()) {
            at += first_line.len() + usize::from(rest.len() > first_line.len());
            line = line.saturating_add(1);
            continue;
        }
        let row = read_row(text, &mut at, &mut line)?;
        match header {
            None => header = Some(row),
            Some(_) if row.is_blank() => {}
            Some(_) => rows.push(row),
        }
    }
    Ok(match header {
        Some(head) => Table {
            header_line: head.line,
            columns: head.cells.iter().map(|c| normalize(&c.value)).collect(),
            rows,
        },
        None => Table {
            header_line: 1,
            columns: Vec::new(),
            rows,
        },
    })
}

/// Reads one row through its line end.
fn read_row(text: &str, at: &mut usize, line: &mut u32) -> Result<Row, u32> {
    let start_line = *line;
    let mut cells = Vec::new();
    loop {
        let cell = if text.get(*at..).is_some_and(|r| r.starts_with('"')) {
            quoted(text, at, line, start_line)?
        } else {
            plain(text, at)
        };
        cells.push(cell);
        match text.as_bytes().get(*at) {
            Some(b',') => *at += 1,
            Some(b'\r') if text.as_bytes().get(*at + 1) == Some(&b'\n') => {
                *at += 2;
                *line = line.saturating_add(1);
                break;
            }
            Some(b'\r' | b'\n') => {
                *at += 1;
                *line = line.saturating_add(1);
                break;
            }
            None => break,
            // Text after a closing quote (`"a"b`): read on into the next cell, as the
            // policy compiler does, rather than fail the file.
            Some(_) => {}
        }
    }
    Ok(Row {
        line: start_line,
        cells,
    })
}

fn plain(text: &str, at: &mut usize) -> Cell {
    let rest = text.get(*at..).unwrap_or_default();
    let len = rest.find([',', '\r', '\n']).unwrap_or(rest.len());
    let span = *at..*at + len;
    *at += len;
    Cell {
        value: rest.get(..len).unwrap_or_default().to_owned(),
        span,
        quoted: false,
    }
}

/// A quoted cell: `""` is one quote; line breaks inside belong to the cell.
fn quoted(text: &str, at: &mut usize, line: &mut u32, start_line: u32) -> Result<Cell, u32> {
    let start = *at;
    let mut value = String::new();
    let mut pos = start + 1;
    loop {
        let rest = text.get(pos..).ok_or(start_line)?;
        let quote = rest.find('"').ok_or(start_line)?;
        let chunk = rest.get(..quote).unwrap_or_default();
        value.push_str(chunk);
        let newlines = chunk.matches('\n').count();
        *line = line.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
        if rest.get(quote + 1..quote + 2) == Some("\"") {
            value.push('"');
            pos += quote + 2;
            continue;
        }
        *at = pos + quote + 1;
        return Ok(Cell {
            span: start..*at,
            quoted: true,
            value,
        });
    }
}

/// Writes one cell: quoted when it holds a comma, a quote or a line break.
pub(crate) fn escape(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_rows_like_the_policy_compiler_and_keeps_spans() {
        let text = "#TYPE Lis\r\n\"a\",b\r\n\"x, \"\"y\"\"\",2\r\n\r\n\"multi\nline\",3\n4,5";
        let table = parse(text).unwrap();
        assert_eq!(
            (table.header_line, table.columns.clone()),
            (2, vec!["a".into(), "b".into()])
        );
        let lines: Vec<u32> = table.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [3, 5, 7]);
        let cell = &table.rows[0].cells[0];
        assert_eq!(cell.value, "x, \"y\"");
        assert!(cell.quoted);
        assert_eq!(&text[cell.span.clone()], "\"x, \"\"y\"\"\"");
        assert_eq!(table.rows[2].get(Some(1)), "5");
    }

    #[test]
    fn an_unterminated_quote_names_its_line() {
        assert_eq!(parse("a\n\"open\n"), Err(2));
    }

    #[test]
    fn escapes_only_what_needs_quotes() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a,b"), "\"a,b\"");
        assert_eq!(escape("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
