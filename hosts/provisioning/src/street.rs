//! Street words as ALI and the MSAG write them: upper case, directionals as `N S E W NE NW
//! SE SW` (NENA 02-010's "Valid entries" for Prefix and Post Directional), suffixes as the
//! USPS Publication 28 Appendix C abbreviation the same table names for Street Suffix
//! ("Valid street abbreviation, as defined by the U.S. Postal Service Publication 28").
//! Both the ALI export and the MSAG check compare through these, so `North Main Street`,
//! `N MAIN ST` and `n. main st.` are one street.

/// The eight directionals NENA 02-010 allows, with the words people write for them.
const DIRECTIONALS: [(&str, &[&str]); 8] = [
    ("N", &["NORTH"]),
    ("S", &["SOUTH"]),
    ("E", &["EAST"]),
    ("W", &["WEST"]),
    ("NE", &["NORTHEAST", "NORTH EAST"]),
    ("NW", &["NORTHWEST", "NORTH WEST"]),
    ("SE", &["SOUTHEAST", "SOUTH EAST"]),
    ("SW", &["SOUTHWEST", "SOUTH WEST"]),
];

/// Common street suffixes: the Publication 28 Appendix C standard abbreviation, then the
/// spellings seen in LIS exports. Not the whole appendix: the ones enterprise sites sit on.
const SUFFIXES: [(&str, &[&str]); 40] = [
    ("ALY", &["ALLEY", "ALLY"]),
    ("AVE", &["AVENUE", "AV", "AVEN", "AVENU", "AVN", "AVNUE"]),
    ("BLVD", &["BOULEVARD", "BOUL", "BOULV"]),
    ("BR", &["BRANCH", "BRNCH"]),
    ("BRG", &["BRIDGE", "BRDGE"]),
    ("BYP", &["BYPASS", "BYPA", "BYPAS", "BYPS"]),
    ("CIR", &["CIRCLE", "CIRC", "CIRCL", "CRCL", "CRCLE"]),
    ("CT", &["COURT"]),
    (
        "CTR",
        &["CENTER", "CENTRE", "CEN", "CENT", "CENTR", "CNTER", "CNTR"],
    ),
    ("CV", &["COVE"]),
    ("CRES", &["CRESCENT", "CRSENT", "CRSNT"]),
    ("DR", &["DRIVE", "DRIV", "DRV"]),
    ("EXPY", &["EXPRESSWAY", "EXP", "EXPR", "EXPRESS", "EXPW"]),
    ("FWY", &["FREEWAY", "FREEWY", "FRWAY", "FRWY"]),
    ("HTS", &["HEIGHTS", "HT"]),
    ("HWY", &["HIGHWAY", "HIGHWY", "HIWAY", "HIWY", "HWAY"]),
    ("LN", &["LANE"]),
    ("LOOP", &["LOOPS"]),
    ("MALL", &[]),
    ("PARK", &["PRK"]),
    ("PKWY", &["PARKWAY", "PARKWY", "PKWAY", "PKY"]),
    ("PIKE", &["PIKES"]),
    ("PL", &["PLACE"]),
    ("PLZ", &["PLAZA", "PLZA"]),
    ("PT", &["POINT"]),
    ("RD", &["ROAD"]),
    ("RDG", &["RIDGE", "RDGE"]),
    ("ROW", &[]),
    ("RTE", &["ROUTE"]),
    ("SQ", &["SQUARE", "SQR", "SQRE", "SQU"]),
    ("ST", &["STREET", "STRT", "STR"]),
    ("TER", &["TERRACE", "TERR"]),
    ("TPKE", &["TURNPIKE", "TRNPK", "TURNPK"]),
    ("TRL", &["TRAIL", "TRAILS", "TRLS"]),
    ("TRCE", &["TRACE", "TRACES"]),
    ("VIA", &["VIADUCT", "VDCT", "VIADCT"]),
    ("VW", &["VIEW"]),
    ("WALK", &["WALKS"]),
    ("WAY", &["WY"]),
    ("XING", &["CROSSING", "CRSSNG"]),
];

/// Upper case, `.` dropped, runs of spaces made one: how both sides are compared.
pub(crate) fn plain(text: &str) -> String {
    text.replace('.', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

/// A directional as NENA writes it (`North` → `N`); `None` when the text is not one.
/// Blank text is the empty directional.
pub(crate) fn directional(text: &str) -> Option<String> {
    let word = plain(text);
    if word.is_empty() {
        return Some(word);
    }
    DIRECTIONALS
        .iter()
        .find(|(code, words)| *code == word || words.contains(&word.as_str()))
        .map(|(code, _)| (*code).to_owned())
}

/// A street suffix as Publication 28 abbreviates it (`Street` → `ST`); text that is no
/// known suffix comes back in plain upper case, for the caller to judge.
pub(crate) fn suffix(text: &str) -> String {
    let word = plain(text);
    SUFFIXES
        .iter()
        .find(|(code, words)| *code == word || words.contains(&word.as_str()))
        .map_or(word, |(code, _)| (*code).to_owned())
}

/// Edit distance between two short texts (street names), for "nearest" suggestions.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous.get(j).copied().unwrap_or(0) + usize::from(ca != cb);
            let insert = current.get(j).copied().unwrap_or(0) + 1;
            let delete = previous.get(j + 1).copied().unwrap_or(0) + 1;
            current.push(substitute.min(insert).min(delete));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_street_compare_equal() {
        assert_eq!(directional("North").as_deref(), Some("N"));
        assert_eq!(directional(" n. ").as_deref(), Some("N"));
        assert_eq!(directional("South West").as_deref(), Some("SW"));
        assert_eq!(directional("").as_deref(), Some(""));
        assert_eq!(directional("Up"), None);
        assert_eq!(suffix("Street"), "ST");
        assert_eq!(suffix("st."), "ST");
        assert_eq!(suffix("Avenue"), "AVE");
        assert_eq!(suffix("Way"), "WAY");
        assert_eq!(suffix("Promenade"), "PROMENADE");
        assert_eq!(plain("  main   st. "), "MAIN ST");
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("MICROSFT", "MICROSOFT"), 1);
        assert_eq!(distance("MAIN", "MAIN"), 0);
        assert_eq!(distance("", "ABC"), 3);
    }
}
