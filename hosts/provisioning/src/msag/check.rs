//! Checking ERLs against an MSAG extract. Both sides are compared upper case, with
//! directionals and suffixes in their abbreviations (`North Main Street` is `N MAIN ST`),
//! in the order a 9-1-1 authority's validation reads an address: state, community, street
//! name, directionals and suffix, then the house number against the ranges and their side.
//! The first thing that does not match is reported, with the nearest entry that would.

use e911_location::CivicElement as E;
use e911_policy::{ErlOrigin, Policy, Problem, Validation};

use super::{Msag, MsagEntry};
use crate::street;
use crate::{Located, located};

/// What checking a policy found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MsagCheck {
    /// One per ERL that does not match: `file:line: ERL id: …; nearest: …`, sorted.
    pub problems: Vec<Problem>,
    /// For each checked ERL (index in [`Policy::erls`]), whether it matched.
    pub verdicts: Vec<(u32, Validation)>,
    /// ERLs outside the US, which an MSAG does not cover; not checked.
    pub skipped: usize,
}

/// Checks every US ERL of `policy`.
pub fn check(policy: &Policy, origins: &[ErlOrigin], msag: &Msag) -> MsagCheck {
    let mut out = MsagCheck::default();
    for at in located(policy, origins) {
        if !at
            .erl
            .civic
            .get(E::Country)
            .is_some_and(|c| c.eq_ignore_ascii_case("US"))
        {
            out.skipped += 1;
            continue;
        }
        match check_erl(&at, msag) {
            Ok(_) => out.verdicts.push((at.index, Validation::Validated)),
            Err(problem) => {
                out.verdicts.push((at.index, Validation::NotValidated));
                out.problems.push(problem);
            }
        }
    }
    out.problems.sort();
    out
}

/// The address of an ERL, as the MSAG would write it.
struct Address {
    prd: String,
    name: String,
    suffix: String,
    pod: String,
    number: Option<u32>,
    community: String,
    state: String,
    /// `RD 'Microsft'`-style quotes use what the ERL wrote.
    written_name: String,
    written_community: String,
    written_state: String,
}

impl Address {
    fn of(at: &Located<'_>) -> Self {
        let get = |e: E| at.erl.civic.get(e).map(str::trim).unwrap_or_default();
        let hno = get(E::Hno);
        Self {
            // An unknown directional stays as written: it then matches no entry.
            prd: street::directional(get(E::Prd)).unwrap_or_else(|| street::plain(get(E::Prd))),
            name: street::plain(get(E::Rd)),
            suffix: street::suffix(get(E::Sts)),
            pod: street::directional(get(E::Pod)).unwrap_or_else(|| street::plain(get(E::Pod))),
            number: hno.parse().ok(),
            community: street::plain(get(E::A3)),
            state: street::plain(get(E::A1)),
            written_name: get(E::Rd).to_owned(),
            written_community: get(E::A3).to_owned(),
            written_state: get(E::A1).to_owned(),
        }
    }

    fn same_street(&self, entry: &MsagEntry) -> bool {
        self.prd == entry.prefix_directional
            && self.suffix == entry.street_suffix
            && self.pod == entry.post_directional
    }
}

/// The entry the ERL's address is in, or the problem naming the first field that is not
/// and the nearest entry.
pub fn check_erl<'m>(at: &Located<'_>, msag: &'m Msag) -> Result<&'m MsagEntry, Problem> {
    let address = Address::of(at);
    let fail = |message: String| Err(at.problem(message));
    let Some(number) = address.number else {
        let hno = at.erl.civic.get(E::Hno).unwrap_or_default();
        return fail(format!(
            "HNO `{hno}` is not a house number the MSAG can range"
        ));
    };
    let in_state: Vec<&MsagEntry> = msag
        .entries
        .iter()
        .filter(|e| e.state == address.state)
        .collect();
    if in_state.is_empty() {
        let near = nearest_by_name(&address, msag.entries.iter());
        return fail(format!(
            "A1 '{}' has no MSAG entries{}",
            address.written_state,
            nearest_with_place(near)
        ));
    }
    let in_community: Vec<&MsagEntry> = in_state
        .iter()
        .copied()
        .filter(|e| e.community == address.community)
        .collect();
    if in_community.is_empty() {
        let near = nearest_by_name(&address, in_state.iter().copied());
        return fail(format!(
            "A3 '{}' is not an MSAG community of {}{}",
            address.written_community,
            address.state,
            nearest_with_place(near)
        ));
    }
    let place = format!("{} {}", address.written_community, address.written_state);
    let named: Vec<&MsagEntry> = in_community
        .iter()
        .copied()
        .filter(|e| e.street_name == address.name)
        .collect();
    if named.is_empty() {
        let near = nearest_by_name(&address, in_community.iter().copied());
        return fail(format!(
            "RD '{}' not in MSAG for {place}{}",
            address.written_name,
            nearest(near)
        ));
    }
    let streets: Vec<&MsagEntry> = named
        .iter()
        .copied()
        .filter(|e| address.same_street(e))
        .collect();
    if streets.is_empty() {
        let near = closest_range(number, named.iter().copied());
        return fail(street_mismatch(at, &address, near, &place));
    }
    let in_range: Vec<&MsagEntry> = streets
        .iter()
        .copied()
        .filter(|e| (e.low..=e.high).contains(&number))
        .collect();
    if in_range.is_empty() {
        let near = closest_range(number, streets.iter().copied());
        return fail(format!(
            "HNO {number} is outside the MSAG ranges of {} in {place}{}",
            near.map_or_else(String::new, MsagEntry::street),
            nearest(near)
        ));
    }
    match in_range.iter().copied().find(|e| e.parity.admits(number)) {
        Some(entry) => Ok(entry),
        None => {
            let side = if number.is_multiple_of(2) {
                "even"
            } else {
                "odd"
            };
            fail(format!(
                "HNO {number} is {side}, but the MSAG range has the other side only{}",
                nearest(in_range.first().copied())
            ))
        }
    }
}

/// Which of PRD, STS, POD differ from the nearest entry of the same street name.
fn street_mismatch(
    at: &Located<'_>,
    address: &Address,
    near: Option<&MsagEntry>,
    place: &str,
) -> String {
    let Some(entry) = near else {
        return format!("street not in MSAG for {place}");
    };
    let written = |e: E| at.erl.civic.get(e).map(str::trim).unwrap_or_default();
    let mut differences = Vec::new();
    let mut differ = |element: &str, ours: &str, theirs: &str, text: &str| {
        if ours != theirs {
            differences.push(format!("{element} '{text}' (MSAG: '{theirs}')"));
        }
    };
    differ(
        "PRD",
        &address.prd,
        &entry.prefix_directional,
        written(E::Prd),
    );
    differ(
        "STS",
        &address.suffix,
        &entry.street_suffix,
        written(E::Sts),
    );
    differ(
        "POD",
        &address.pod,
        &entry.post_directional,
        written(E::Pod),
    );
    format!(
        "{} does not match the MSAG's {} in {place}{}",
        differences.join(", "),
        entry.street(),
        nearest(Some(entry))
    )
}

fn nearest(entry: Option<&MsagEntry>) -> String {
    entry.map_or_else(String::new, |e| format!("; nearest: {e}"))
}

fn nearest_with_place(entry: Option<&MsagEntry>) -> String {
    entry.map_or_else(String::new, |e| {
        format!("; nearest: {e}, {} {}", e.community, e.state)
    })
}

/// The entry whose street reads most like the address's (name, then directionals and
/// suffix, then how far the number is from the range).
fn nearest_by_name<'m>(
    address: &Address,
    entries: impl Iterator<Item = &'m MsagEntry>,
) -> Option<&'m MsagEntry> {
    entries.min_by_key(|e| {
        let name = street::distance(&address.name, &e.street_name);
        let street = usize::from(!address.same_street(e));
        let number = address.number.map_or(0, |n| gap(n, e));
        (name, street, number)
    })
}

/// The range closest to `number` (zero when inside).
fn closest_range<'m>(
    number: u32,
    entries: impl Iterator<Item = &'m MsagEntry>,
) -> Option<&'m MsagEntry> {
    entries.min_by_key(|e| gap(number, e))
}

fn gap(number: u32, entry: &MsagEntry) -> u32 {
    if number < entry.low {
        entry.low - number
    } else {
        number.saturating_sub(entry.high)
    }
}

#[cfg(test)]
mod tests;
