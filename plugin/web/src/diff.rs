//! The forwarded message against the received one, line by line, so the page can
//! highlight what the engine changed. A longest-common-subsequence diff: SIP messages are
//! a few dozen lines, and the engine's edits (Request-URI, a few headers, the body) leave
//! most lines alone.

use serde::Serialize;

/// What happened to one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// In both messages.
    Same,
    /// Only in the forwarded message.
    Added,
    /// Only in the received message.
    Removed,
}

/// One line of the diff, without its line end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    /// What happened to it.
    pub change: Change,
    /// The line.
    pub text: String,
}

/// Beyond this many lines on either side the table would be large; the diff then marks the
/// whole messages as removed and added rather than spend the page's time.
const MAX_LINES: usize = 2000;

/// The diff of `before` and `after`, split at LF (a CR before it is dropped).
pub fn lines(before: &[u8], after: &[u8]) -> Vec<DiffLine> {
    let a = split(before);
    let b = split(after);
    if a.len() > MAX_LINES || b.len() > MAX_LINES {
        let removed = a.iter().map(|t| line(Change::Removed, t));
        return removed
            .chain(b.iter().map(|t| line(Change::Added, t)))
            .collect();
    }
    // suffix[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let width = b.len() + 1;
    let mut suffix = vec![0u32; (a.len() + 1) * width];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            let value = if a.get(i) == b.get(j) {
                at(&suffix, (i + 1) * width + j + 1) + 1
            } else {
                at(&suffix, (i + 1) * width + j).max(at(&suffix, i * width + j + 1))
            };
            if let Some(cell) = suffix.get_mut(i * width + j) {
                *cell = value;
            }
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                out.push(line(Change::Same, x));
                i += 1;
                j += 1;
            }
            (Some(x), Some(_))
                if at(&suffix, (i + 1) * width + j) >= at(&suffix, i * width + j + 1) =>
            {
                out.push(line(Change::Removed, x));
                i += 1;
            }
            (_, Some(y)) => {
                out.push(line(Change::Added, y));
                j += 1;
            }
            (Some(x), None) => {
                out.push(line(Change::Removed, x));
                i += 1;
            }
            (None, None) => break,
        }
    }
    out
}

fn at(table: &[u32], index: usize) -> u32 {
    table.get(index).copied().unwrap_or(0)
}

fn split(bytes: &[u8]) -> Vec<String> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
        .collect()
}

fn line(change: Change, text: &str) -> DiffLine {
    DiffLine {
        change,
        text: text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(diff: &[DiffLine]) -> Vec<String> {
        let mark = |c| match c {
            Change::Same => ' ',
            Change::Added => '+',
            Change::Removed => '-',
        };
        diff.iter()
            .map(|l| format!("{}{}", mark(l.change), l.text))
            .collect()
    }

    #[test]
    fn marks_a_replaced_start_line_and_an_added_header() {
        let before = b"INVITE sip:911@a SIP/2.0\r\nVia: v\r\nTo: t\r\n\r\n";
        let after =
            b"INVITE sip:911@esp SIP/2.0\r\nVia: v\r\nTo: t\r\nGeolocation-Routing: yes\r\n\r\n";
        assert_eq!(
            shown(&lines(before, after)),
            [
                "-INVITE sip:911@a SIP/2.0",
                "+INVITE sip:911@esp SIP/2.0",
                " Via: v",
                " To: t",
                "+Geolocation-Routing: yes",
                " ",
            ]
        );
    }

    #[test]
    fn identical_messages_are_all_same() {
        let msg = b"OPTIONS sip:a SIP/2.0\r\nVia: v\r\n\r\n";
        let diff = lines(msg, msg);
        assert!(diff.iter().all(|l| l.change == Change::Same));
        assert_eq!(diff.len(), 3);
    }
}
