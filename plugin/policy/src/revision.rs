//! Which of two bundle revisions is newer, and whether a host may move to an offered one.
//!
//! Revisions are whatever `bundle.toml` says (`"2026.11.1"`, `"2026-11-20"`, `7`), so the
//! order is defined on their text, once, here, for every host:
//!
//! - the text is cut into segments at `.`, `-` and `_`;
//! - segments compare left to right; a segment of ASCII digits is a number and compares
//!   by value (`10` is newer than `9`, `01` equals `1`); any other segment compares
//!   bytewise; a number is older than text;
//! - when one revision is a prefix of the other, the shorter is older (`2026.11` before
//!   `2026.11.1`).
//!
//! A host refuses a bundle older than the one it runs unless its operator forces it: a
//! signed bundle from last year is still signed, and loading it would bring last year's
//! wiremap back. An equal revision is a reload and is accepted.

use core::cmp::Ordering;
use core::fmt;

/// A bundle revision, ordered as the module documentation says.
#[derive(Debug, Clone)]
pub struct Revision(String);

impl Revision {
    /// The revision written as `text` (surrounding whitespace ignored).
    pub fn new(text: &str) -> Self {
        Self(text.trim().to_owned())
    }

    /// The revision's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn segments(&self) -> impl Iterator<Item = Segment<'_>> {
        self.0.split(['.', '-', '_']).map(Segment::of)
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Ord for Revision {
    fn cmp(&self, other: &Self) -> Ordering {
        let (mut mine, mut theirs) = (self.segments(), other.segments());
        loop {
            match (mine.next(), theirs.next()) {
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(a), Some(b)) => match a.cmp(&b) {
                    Ordering::Equal => {}
                    unequal => return unequal,
                },
            }
        }
    }
}

impl PartialOrd for Revision {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Equal when they order equal (`2026.11.01` equals `2026-11-1`), so `Eq` agrees with
/// `Ord`.
impl PartialEq for Revision {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Revision {}

/// One segment. The variant order is the sort order: numbers before text.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Segment<'a> {
    /// Digits without leading zeros: a longer one is larger, equal lengths compare
    /// bytewise, so numbers of any length compare by value without overflowing.
    Number {
        digits: usize,
        text: &'a [u8],
    },
    Text(&'a [u8]),
}

impl<'a> Segment<'a> {
    fn of(text: &'a str) -> Self {
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            let significant = text.trim_start_matches('0').as_bytes();
            Self::Number {
                digits: significant.len(),
                text: significant,
            }
        } else {
            Self::Text(text.as_bytes())
        }
    }
}

/// Whether a host may load a bundle older than the one it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rollback {
    /// Refuse it (the default).
    #[default]
    Refuse,
    /// Load it anyway: the operator forces a rollback.
    Allow,
}

/// How an accepted bundle's revision relates to the running one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    /// Nothing runs yet.
    First,
    /// Newer than the running revision.
    Newer,
    /// The same revision again (a reload).
    Same,
    /// Older, loaded because the operator allowed rollbacks: worth a warning.
    ForcedRollback,
}

/// An offered bundle older than the running one, refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
/// Each host adds the name of its own setting that forces a rollback.
#[error("bundle revision {offered} is older than the running revision {running}")]
pub struct OlderRevision {
    /// The revision offered.
    pub offered: String,
    /// The revision running.
    pub running: String,
}

/// The one rollback rule for every host: may a bundle of revision `offered` replace the
/// one running `running` (`None` before any bundle)?
pub fn admit(
    running: Option<&str>,
    offered: &str,
    rollback: Rollback,
) -> Result<Admitted, OlderRevision> {
    let Some(running) = running else {
        return Ok(Admitted::First);
    };
    match Revision::new(offered).cmp(&Revision::new(running)) {
        Ordering::Greater => Ok(Admitted::Newer),
        Ordering::Equal => Ok(Admitted::Same),
        Ordering::Less if rollback == Rollback::Allow => Ok(Admitted::ForcedRollback),
        Ordering::Less => Err(OlderRevision {
            offered: offered.to_owned(),
            running: running.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn older(a: &str, b: &str) -> bool {
        Revision::new(a) < Revision::new(b)
    }

    #[test]
    fn numbers_compare_by_value_not_by_text() {
        assert!(older("2026.9.1", "2026.11.1"));
        assert!(older("9", "10"));
        assert!(older("7", "12"));
        assert!(older("2026-11-09", "2026-11-20"));
        assert!(older("99999999999999999999999", "100000000000000000000000"));
        assert_eq!(Revision::new("2026.11.01"), Revision::new("2026-11-1"));
    }

    #[test]
    fn a_prefix_is_older_and_a_number_sorts_before_text() {
        assert!(older("2026.11", "2026.11.1"));
        assert!(older("1", "1.0"));
        assert!(older("2026.11.1", "2026.11.rc1"));
        assert!(older("2026.11.alpha", "2026.11.beta"));
        assert!(!older("2026.11.1", "2026.11.1"));
    }

    #[test]
    fn the_order_is_total_over_the_revisions_seen() {
        let mut seen: Vec<Revision> = ["2026.11.1", "1", "2026-11-20", "7", "2026.12.1", "10"]
            .into_iter()
            .map(Revision::new)
            .collect();
        seen.sort();
        let order: Vec<&str> = seen.iter().map(Revision::as_str).collect();
        assert_eq!(
            order,
            ["1", "7", "10", "2026.11.1", "2026-11-20", "2026.12.1"]
        );
    }

    #[test]
    fn an_older_bundle_is_refused_unless_forced() {
        assert_eq!(admit(None, "1", Rollback::Refuse), Ok(Admitted::First));
        assert_eq!(
            admit(Some("2026.11.1"), "2026.12.1", Rollback::Refuse),
            Ok(Admitted::Newer)
        );
        assert_eq!(
            admit(Some("2026.11.1"), "2026.11.1", Rollback::Refuse),
            Ok(Admitted::Same)
        );
        let refused = admit(Some("2026.11.1"), "2025.11.1", Rollback::Refuse).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("older than the running revision 2026.11.1")
        );
        assert_eq!(
            admit(Some("2026.11.1"), "2025.11.1", Rollback::Allow),
            Ok(Admitted::ForcedRollback)
        );
    }
}
