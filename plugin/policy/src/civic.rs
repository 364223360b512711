//! Civic addresses and points of ERLs: `e911-location`'s RFC 5139 [`CivicAddress`] and RFC
//! 5491 [`Point`], so the engine hands them to the PIDF-LO writer as they are, plus the
//! serde forms a bundle stores them in (that crate stays serde-free).

use e911_location::{CivicAddress, CivicElement, Point};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Sets an element from a CSV cell: trimmed, and a blank cell sets nothing.
pub(crate) fn set_trimmed(civic: &mut CivicAddress, element: CivicElement, value: &str) {
    let value = value.trim();
    if value.is_empty() {
        civic.remove(element);
    } else {
        civic.set(element, value);
    }
}

/// One line for a person: `1 Microsoft Way, Redmond, WA 98052, US (40 1)`, with the parts
/// `inside` names (an ERL's [`crate::Erl::inside`], or [`Inside::of`] the address).
pub fn summary(civic: &CivicAddress, inside: Inside) -> String {
    let mut text = String::with_capacity(96);
    push_summary(&mut text, civic, inside);
    text
}

/// [`summary`] at the end of `text` (the trace's location line writes it in place).
pub fn push_summary(text: &mut String, civic: &CivicAddress, inside: Inside) {
    push_place(text, civic);
    let mut any = false;
    for (_, value) in inside.parts(civic) {
        text.push_str(if any { " " } else { " (" });
        text.push_str(value);
        any = true;
    }
    if any {
        text.push(')');
    }
}

/// Appends the street, city, state with postal code, and country as people write them
/// (`1 Microsoft Way, Redmond, WA 98052, US`); elements without a value are left out.
pub fn push_place(text: &mut String, civic: &CivicAddress) {
    use CivicElement as E;
    const GROUPS: [&[CivicElement]; 4] = [
        &[E::Hno, E::Hns, E::Prd, E::Rd, E::Sts, E::Pod],
        &[E::A3],
        &[E::A1, E::Pc],
        &[E::Country],
    ];
    let start = text.len();
    for group in GROUPS {
        let mut words = group
            .iter()
            .filter_map(|e| civic.get(*e))
            .filter(|v| !v.is_empty())
            .peekable();
        if words.peek().is_none() {
            continue;
        }
        if text.len() > start {
            text.push_str(", ");
        }
        for (n, word) in words.enumerate() {
            if n > 0 {
                text.push(' ');
            }
            text.push_str(word);
        }
    }
}

/// The labelled parts of where in a building, in the order people say them.
const LABELLED: [(CivicElement, &str); 4] = [
    (CivicElement::Bld, "building"),
    (CivicElement::Flr, "floor"),
    (CivicElement::Unit, "unit"),
    (CivicElement::Room, "room"),
];

/// Which of an address's labelled parts (building, floor, unit, room) are named where it
/// is said where in the building: a labelled part that `LOC` already states is left out,
/// so a dispatcher reads it once. Lync's LIS export fills `LOC` with the location name
/// ("Building 40, Floor 1") next to the building and floor it was derived from.
///
/// Working it out compares each part with `LOC` word by word, which an emergency call's
/// trace, report and notification would each repeat; an ERL's is worked out once, when
/// its bundle is assembled ([`crate::Erl::inside`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inside {
    /// One bit per entry of [`LABELLED`]: set when that part is named.
    named: u8,
}

impl Inside {
    /// The parts of `civic` to name.
    pub fn of(civic: &CivicAddress) -> Self {
        let loc = loc(civic);
        let mut named = 0;
        for (bit, (element, label)) in LABELLED.iter().enumerate() {
            let stated = match (labelled(civic, *element), loc) {
                (None, _) => continue,
                (Some(value), Some(loc)) => states(loc, label, value),
                (Some(_), None) => false,
            };
            if !stated {
                named |= 1 << bit;
            }
        }
        Self { named }
    }

    /// Where in the building, as `(label, value)`: building, floor, unit and room with
    /// their labels (those named), then the free-text location (`LOC`, label `""`).
    /// `civic` is the address this was worked out for.
    pub fn parts(self, civic: &CivicAddress) -> impl Iterator<Item = (&'static str, &str)> {
        LABELLED
            .iter()
            .enumerate()
            .filter(move |(bit, _)| self.named & (1 << bit) != 0)
            .filter_map(|(_, (element, label))| Some((*label, labelled(civic, *element)?)))
            .chain(loc(civic).map(|l| ("", l)))
    }
}

/// A labelled part's value, trimmed; none when blank.
fn labelled(civic: &CivicAddress, element: CivicElement) -> Option<&str> {
    civic.get(element).map(str::trim).filter(|v| !v.is_empty())
}

/// The free-text location (`LOC`), trimmed; none when blank.
fn loc(civic: &CivicAddress) -> Option<&str> {
    labelled(civic, CivicElement::Loc)
}

/// The words people write for each labelled part, the label first: Lync's location names
/// say `Bldg 40`, `Flr 2`, `Ste 300` as often as the words themselves.
const LABEL_WORDS: [(&str, &[&str]); 4] = [
    ("building", &["building", "bldg", "bld"]),
    ("floor", &["floor", "flr", "fl"]),
    ("unit", &["unit", "suite", "ste", "apt"]),
    ("room", &["room", "rm"]),
];

/// Whether free text states `label value` as words, ignoring case and punctuation:
/// "Building 40, Floor 1" and "Bldg 40 / Flr 1" state floor 1, "2nd Floor" states floor 2,
/// "Building 40, Lobby" states room Lobby (a value with letters stands for itself), and
/// "Floor 10" does not state floor 1.
fn states(text: &str, label: &str, value: &str) -> bool {
    // Word iterators over the inputs, compared without case: this runs for every part of
    // every address a report or notification prints, so it allocates nothing.
    let Some(first_value) = words(value).next() else {
        return false;
    };
    let single = words(value).nth(1).is_none();
    let aliases = LABEL_WORDS
        .iter()
        .find(|(l, _)| *l == label)
        .map_or(&[][..], |(_, a)| *a);
    let named = words(value).any(|w| w.chars().any(char::is_alphabetic))
        && words(value).map(|w| w.chars().count()).sum::<usize>() >= 3;
    let is_label = |w: Option<&str>| w.is_some_and(|w| aliases.iter().any(|a| same(a, w)));
    // Whether the words from `rest` on start with the value's words.
    let starts_with_value =
        |mut rest: Words<'_>| words(value).all(|v| rest.next().is_some_and(|t| same(t, v)));
    let mut rest = words(text);
    loop {
        let here = rest.clone();
        let Some(first) = rest.next() else {
            return false;
        };
        let label_first = is_label(Some(first)) && starts_with_value(rest.clone());
        let ordinal_first = single
            && ordinal_of(first).is_some_and(|n| same(n, first_value))
            && is_label(rest.clone().next());
        if label_first || ordinal_first || (named && starts_with_value(here)) {
            return true;
        }
    }
}

/// The words of a text, as [`words`] splits them.
type Words<'t> = core::iter::Filter<core::str::Split<'t, fn(char) -> bool>, fn(&&'t str) -> bool>;

/// The words of `text`, split at anything not a letter or digit.
fn words(text: &str) -> Words<'_> {
    fn separates(c: char) -> bool {
        !c.is_alphanumeric()
    }
    fn is_word(w: &&str) -> bool {
        !w.is_empty()
    }
    text.split(separates as fn(char) -> bool)
        .filter(is_word as fn(&&str) -> bool)
}

/// Two words equal without case (Unicode lower case only when one is not ASCII).
fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
        || (!(a.is_ascii() && b.is_ascii()) && a.to_lowercase() == b.to_lowercase())
}

/// `2nd` → `2`, `3rd` → `3`, `10th` → `10`.
fn ordinal_of(word: &str) -> Option<&str> {
    let split = word.len().checked_sub(2)?;
    let (number, suffix) = (word.get(..split)?, word.get(split..)?);
    let ordinal = ["st", "nd", "rd", "th"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(suffix));
    (ordinal && !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())).then_some(number)
}

/// Serde for [`CivicAddress`]: `xml:lang` and the present elements as (schema position,
/// value) pairs, so the bundle stays compact and independent of field names.
pub(crate) mod civic_serde {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Wire {
        lang: Option<String>,
        elements: Vec<(u8, String)>,
    }

    pub(crate) fn serialize<S: Serializer>(civic: &CivicAddress, s: S) -> Result<S::Ok, S::Error> {
        let position = |e: CivicElement| {
            CivicElement::ALL
                .iter()
                .position(|x| *x == e)
                .and_then(|p| u8::try_from(p).ok())
        };
        let elements = civic
            .elements()
            .filter_map(|(e, v)| Some((position(e)?, v.to_owned())))
            .collect();
        Wire {
            lang: civic.lang.clone(),
            elements,
        }
        .serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<CivicAddress, D::Error> {
        let wire = Wire::deserialize(d)?;
        let mut civic = CivicAddress {
            lang: wire.lang,
            ..CivicAddress::default()
        };
        for (position, value) in wire.elements {
            let element = CivicElement::ALL
                .get(usize::from(position))
                .ok_or_else(|| serde::de::Error::custom("unknown civic element"))?;
            civic.set(*element, value);
        }
        Ok(civic)
    }
}

/// Serde for an optional [`Point`].
pub(crate) mod point_serde {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(point: &Option<Point>, s: S) -> Result<S::Ok, S::Error> {
        point
            .map(|p| (p.latitude, p.longitude, p.altitude))
            .serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Point>, D::Error> {
        let wire = Option::<(f64, f64, Option<f64>)>::deserialize(d)?;
        Ok(wire.map(|(latitude, longitude, altitude)| Point {
            latitude,
            longitude,
            altitude,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(civic: &CivicAddress) -> Vec<(&'static str, &str)> {
        Inside::of(civic).parts(civic).collect()
    }

    #[test]
    fn blank_cells_set_nothing_and_values_are_trimmed() {
        let mut civic = CivicAddress::default();
        set_trimmed(&mut civic, CivicElement::Rd, " Microsoft ");
        set_trimmed(&mut civic, CivicElement::Flr, "  ");
        assert_eq!(civic.get(CivicElement::Rd), Some("Microsoft"));
        assert_eq!(civic.get(CivicElement::Flr), None);
    }

    #[test]
    fn summary_reads_like_an_address() {
        let civic = CivicAddress::default()
            .with(CivicElement::Hno, "1")
            .with(CivicElement::Rd, "Microsoft")
            .with(CivicElement::Sts, "Way")
            .with(CivicElement::A3, "Redmond")
            .with(CivicElement::A1, "WA")
            .with(CivicElement::Pc, "98052")
            .with(CivicElement::Country, "US")
            .with(CivicElement::Flr, "1");
        assert_eq!(
            summary(&civic, Inside::of(&civic)),
            "1 Microsoft Way, Redmond, WA 98052, US (1)"
        );
    }

    #[test]
    fn names_a_floor_the_location_text_already_states_once() {
        let lync = CivicAddress::default()
            .with(CivicElement::Bld, "40")
            .with(CivicElement::Flr, "1")
            .with(CivicElement::Loc, "Building 40, Floor 1");
        assert_eq!(inside(&lync), [("", "Building 40, Floor 1")]);
        let wing = lync.clone().with(CivicElement::Loc, "Floor 10 east wing");
        assert_eq!(
            inside(&wing),
            [
                ("building", "40"),
                ("floor", "1"),
                ("", "Floor 10 east wing")
            ]
        );
        let room = CivicAddress::default()
            .with(CivicElement::Flr, "2")
            .with(CivicElement::Room, "2-114");
        assert_eq!(inside(&room), [("floor", "2"), ("room", "2-114")]);
    }

    #[test]
    fn location_text_in_lync_abbreviations_states_building_floor_and_room() {
        let lync = CivicAddress::default()
            .with(CivicElement::Bld, "40")
            .with(CivicElement::Flr, "2")
            .with(CivicElement::Loc, "Bldg 40, Flr 2");
        assert_eq!(inside(&lync), [("", "Bldg 40, Flr 2")]);
        let ordinal = CivicAddress::default()
            .with(CivicElement::Flr, "3")
            .with(CivicElement::Loc, "3rd Floor");
        assert_eq!(inside(&ordinal), [("", "3rd Floor")]);
        let shouted = CivicAddress::default()
            .with(CivicElement::Flr, "3")
            .with(CivicElement::Loc, "3RD FLOOR");
        assert_eq!(inside(&shouted), [("", "3RD FLOOR")]);
        let lobby = CivicAddress::default()
            .with(CivicElement::Flr, "1")
            .with(CivicElement::Room, "Lobby")
            .with(CivicElement::Loc, "Building 40, Lobby");
        assert_eq!(inside(&lobby), [("floor", "1"), ("", "Building 40, Lobby")]);
        let other_room = lobby.clone().with(CivicElement::Room, "2-114");
        assert_eq!(
            inside(&other_room),
            [
                ("floor", "1"),
                ("room", "2-114"),
                ("", "Building 40, Lobby")
            ]
        );
    }
}
