//! The MSAG (Master Street Address Guide): for each street of each community, the house
//! number ranges 9-1-1 can route, odd, even or both sides. An ERL whose address is not in
//! the MSAG is not dispatchable as written; carriers refuse its ALI record.
//!
//! Two layouts are read:
//!
//! - **CSV with named columns** (the shipped form, what carriers and 9-1-1 authorities
//!   hand out as a spreadsheet): `prefix_directional`, `street_name`, `street_suffix`,
//!   `post_directional`, `low`, `high`, `odd_even` (`O`, `E`, `B` or the words),
//!   `community`, `state`, optionally `esn`. Names compare like the policy's columns
//!   (without case, spaces, `_`, `-`), and the NENA field names are accepted too
//!   (`PreDirectional`, `StreetName`, `StreetSuffix`, `LowRange`, `HighRange`,
//!   `MSAGCommunity`, …).
//! - **The NENA fixed-width MSAG record** (NENA 02-010, Version 3 "Format for MSAG Data
//!   Exchange", Exhibit 11 of the 2002 issue: 200 characters, End of Record `*`), told
//!   apart by its length: positions 1-2 prefix directional, 3-62 street name, 63-66
//!   suffix, 67-68 post directional, 69-78 low, 79-88 high, 89-120 community, 121-122
//!   state, 123 odd/even, 124-128 ESN, 173 function of change (a `D` delete record is
//!   skipped).

mod check;
mod read;

pub use check::{MsagCheck, check, check_erl};
pub use read::{MAX_MSAG_BYTES, MAX_MSAG_ENTRIES, read};

use core::fmt;

/// Which house numbers of a range exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parity {
    /// Odd numbers only (one side of the street).
    Odd,
    /// Even numbers only.
    Even,
    /// Both sides.
    Both,
}

impl Parity {
    /// Whether `number` is on this side.
    pub fn admits(self, number: u32) -> bool {
        match self {
            Self::Odd => !number.is_multiple_of(2),
            Self::Even => number.is_multiple_of(2),
            Self::Both => true,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Odd => "odd",
            Self::Even => "even",
            Self::Both => "both",
        }
    }
}

/// One MSAG range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsagEntry {
    /// Prefix directional, normalised (`N`).
    pub prefix_directional: String,
    /// Street name, upper case.
    pub street_name: String,
    /// Street suffix, USPS abbreviation.
    pub street_suffix: String,
    /// Post directional, normalised.
    pub post_directional: String,
    /// Lowest house number of the range.
    pub low: u32,
    /// Highest house number of the range.
    pub high: u32,
    /// Which side(s).
    pub parity: Parity,
    /// MSAG community, upper case.
    pub community: String,
    /// State, upper case.
    pub state: String,
    /// Emergency Service Number, as written (may be empty).
    pub esn: String,
    /// Line in the extract.
    pub line: u32,
}

impl MsagEntry {
    /// The street as the MSAG writes it: `N MAIN ST`.
    pub fn street(&self) -> String {
        [
            self.prefix_directional.as_str(),
            self.street_name.as_str(),
            self.street_suffix.as_str(),
            self.post_directional.as_str(),
        ]
        .iter()
        .filter(|w| !w.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// `N MAIN ST 100-198 even`, the form mismatches quote as the nearest entry.
impl fmt::Display for MsagEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}-{} {}",
            self.street(),
            self.low,
            self.high,
            self.parity.word()
        )
    }
}

/// A whole extract.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Msag {
    /// Every range, in file order.
    pub entries: Vec<MsagEntry>,
}
