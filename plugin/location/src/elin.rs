//! Emergency Location Identification Numbers found inside civic addresses.
//!
//! The project carries ELINs out of band (the ELIN gateway substitutes one for
//! the caller ID), so the PIDF-LO writer never writes them. Real systems do put
//! them in documents, though: Lync-era LIS exports and several carriers'
//! gateways fill the RFC 5139 `NAM` element with the ELIN instead of a name.
//! The reader therefore looks at `NAM` and keeps a number it finds there.

/// Countries of the North American Numbering Plan, where a 10-digit number
/// without `+` is national and `+1` makes it E.164 (ITU-T E.164 country code 1).
const NANP_COUNTRIES: [&str; 7] = ["US", "CA", "PR", "VI", "GU", "MP", "AS"];

/// Shortest and longest E.164 numbers we accept, counting digits after `+`
/// (ITU-T E.164 §6 allows at most 15).
const E164_DIGITS: core::ops::RangeInclusive<usize> = 8..=15;

/// Reads `text` (a `NAM` value) as a telephone number and returns it in E.164
/// form (`+` and digits), or `None` when it reads as a name.
///
/// Accepted: an optional `tel:` prefix and `;parameters`, digits with the
/// usual separators (space, `-`, `.`, parentheses), a leading `+`. Without a
/// `+`, only NANP numbers are recognised (10 digits, or 11 starting with 1),
/// and only when `country` is a NANP country: elsewhere a bare digit string is
/// as likely a name or a code as a number.
pub fn elin_from_text(text: &str, country: Option<&str>) -> Option<String> {
    let trimmed = text.trim();
    let number = match trimmed.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("tel:") => trimmed.get(4..)?,
        _ => trimmed,
    };
    let number = number.split(';').next().unwrap_or("").trim();
    let (plus, rest) = match number.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, number),
    };
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'))
    {
        return None;
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    if plus {
        return E164_DIGITS
            .contains(&digits.len())
            .then(|| format!("+{digits}"));
    }
    let nanp = country.is_some_and(|c| NANP_COUNTRIES.iter().any(|n| n.eq_ignore_ascii_case(c)));
    if !nanp {
        return None;
    }
    match (digits.len(), digits.as_bytes().first()) {
        // NANP area codes never start with 0 or 1.
        (10, Some(b'2'..=b'9')) => Some(format!("+1{digits}")),
        (11, Some(b'1')) => Some(format!("+{digits}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn international_numbers_keep_their_digits() {
        assert_eq!(
            elin_from_text("+1 (425) 555-0100", None).as_deref(),
            Some("+14255550100")
        );
        assert_eq!(
            elin_from_text("tel:+43-1-234567;phone-context=x", None).as_deref(),
            Some("+431234567")
        );
    }

    #[test]
    fn national_nanp_numbers_need_a_nanp_country() {
        assert_eq!(
            elin_from_text("1-555-555-5555", Some("US")).as_deref(),
            Some("+15555555555")
        );
        assert_eq!(
            elin_from_text("425.555.0100", Some("ca")).as_deref(),
            Some("+14255550100")
        );
        assert_eq!(elin_from_text("4255550100", Some("AT")), None);
        assert_eq!(elin_from_text("4255550100", None), None);
        assert_eq!(elin_from_text("0255550100", Some("US")), None);
    }

    #[test]
    fn names_and_short_codes_are_not_elins() {
        assert_eq!(elin_from_text("Video Rental Store", Some("US")), None);
        assert_eq!(elin_from_text("TEST", Some("US")), None);
        assert_eq!(elin_from_text("Suite 400", Some("US")), None);
        assert_eq!(elin_from_text("911", Some("US")), None);
        assert_eq!(elin_from_text("+123", None), None);
        assert_eq!(elin_from_text("", Some("US")), None);
        assert_eq!(elin_from_text("++14255550100", None), None);
    }
}
