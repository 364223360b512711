//! Validation problems: every one names its file and line, and validation collects them all
//! before it answers, so an engineer fixes a whole bundle in one pass.

use core::fmt;

/// One thing wrong with a bundle's sources.
///
/// Displays as `file:line: message`, the form editors and CI logs turn into links.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The source file name, as given to [`crate::Sources`].
    pub file: String,
    /// 1-based line number; 0 when the problem concerns the bundle as a whole.
    pub line: u32,
    /// 1-based column, where it was cheap to know.
    pub column: Option<u32>,
    /// What is wrong, for a person.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl core::error::Error for Problem {}

impl Problem {
    /// A problem at `file:line`.
    pub fn new(file: &str, line: u32, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line,
            column: None,
            message: message.into(),
        }
    }

    /// The same problem with a column.
    pub fn at_column(mut self, column: u32) -> Self {
        self.column = Some(column);
        self
    }
}

/// Collects problems while the sources are read; sorted by file, then line, on the way out.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    list: Vec<Problem>,
}

impl Problems {
    /// Records a problem at `file:line`.
    pub(crate) fn at(&mut self, file: &str, line: u32, message: impl Into<String>) {
        self.list.push(Problem::new(file, line, message));
    }

    /// Records a problem at a byte offset of a text file (TOML spans), with line and column.
    pub(crate) fn at_offset(
        &mut self,
        file: &str,
        text: &str,
        offset: usize,
        message: impl Into<String>,
    ) {
        let (line, column) = line_column(text, offset);
        self.list
            .push(Problem::new(file, line, message).at_column(column));
    }

    /// How many were recorded so far.
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether nothing was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The problems, sorted by file, then line, then column.
    pub(crate) fn into_sorted(mut self) -> Vec<Problem> {
        self.list.sort();
        self.list.dedup();
        self.list
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (saturate(line), saturate(column))
}

/// A count as a `u32`, saturating (a source file over four billion lines is not a concern).
pub(crate) fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_file_colon_line_colon_message() {
        let problem =
            Problem::new("routes.toml", 7, "route `x` names unknown trunk `y`").at_column(3);
        assert_eq!(
            problem.to_string(),
            "routes.toml:7: route `x` names unknown trunk `y`"
        );
    }

    #[test]
    fn sorts_by_file_then_line() {
        let mut problems = Problems::default();
        problems.at("subnets.csv", 9, "b");
        problems.at("erls.csv", 12, "c");
        problems.at("subnets.csv", 2, "a");
        let order: Vec<_> = problems
            .into_sorted()
            .into_iter()
            .map(|p| (p.file, p.line))
            .collect();
        assert_eq!(
            order,
            [
                ("erls.csv".into(), 12),
                ("subnets.csv".into(), 2),
                ("subnets.csv".into(), 9)
            ]
        );
    }

    #[test]
    fn finds_line_and_column_of_an_offset() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 9), (2, 3));
        assert_eq!(line_column(text, 999), (3, 1));
    }
}
