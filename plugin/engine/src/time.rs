//! Unix seconds to RFC 3339 text. The engine has no clock; hosts pass `now` in, and
//! PIDF-LO timestamps (RFC 4479 §6.2.2 `timestamp`), notifications and audit records
//! print it.

/// `1970-01-01T00:00:00Z`-style UTC time for `secs` since the Unix epoch.
pub fn rfc3339(secs: u64) -> String {
    Timestamp::of(secs).as_str().to_owned()
}

/// [`rfc3339`] text on the stack: an emergency call prints its time two or three times
/// (PIDF-LO timestamp, notification, audit line), and none of them needs to own it.
#[derive(Clone, Copy)]
pub struct Timestamp {
    text: [u8; 32],
    len: usize,
}

impl Timestamp {
    /// The time `secs` after the Unix epoch.
    pub fn of(secs: u64) -> Self {
        const TAIL: &[u8; 16] = b"-00-00T00:00:00Z";
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let (year, month, day) = civil_from_days(days);
        // At least four digits, as `{year:04}` pads: a u64 of seconds reaches twelve.
        let mut width = 4;
        let mut rest = year / 10_000;
        while rest > 0 {
            width += 1;
            rest /= 10;
        }
        let mut stamp = Self {
            text: [0; 32],
            len: width + TAIL.len(),
        };
        for (slot, &byte) in stamp.text.iter_mut().skip(width).zip(TAIL) {
            *slot = byte;
        }
        stamp.put(0, year, width);
        let fields = [month, day, rem / 3600, rem % 3600 / 60, rem % 60];
        for (at, value) in [1, 4, 7, 10, 13].into_iter().zip(fields) {
            stamp.put_two(width + at, value);
        }
        stamp
    }

    /// `value` (below 100) as two digits at `at`.
    fn put_two(&mut self, at: usize, value: u64) {
        // Both are single digits.
        let digits = [b'0' + (value / 10 % 10) as u8, b'0' + (value % 10) as u8];
        for (slot, digit) in self.text.iter_mut().skip(at).zip(digits) {
            *slot = digit;
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Digits and separators only: always UTF-8.
        self.text
            .get(..self.len)
            .and_then(|t| core::str::from_utf8(t).ok())
            .unwrap_or_default()
    }

    /// The last `width` decimal digits of `value` at `at`.
    fn put(&mut self, at: usize, value: u64, width: usize) {
        let mut rest = value;
        for slot in self.text.iter_mut().skip(at).take(width).rev() {
            // `rest % 10` is a single digit.
            *slot = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
    }
}

/// `value` in decimal, zero-padded to at least `width` digits (`{value:0width$}`).
pub(crate) fn push_padded(text: &mut String, value: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        if let Some(slot) = digits.get_mut(at) {
            // `rest % 10` is a single digit.
            *slot = b'0' + (rest % 10) as u8;
        }
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let start = at.min(digits.len().saturating_sub(width));
    for &digit in digits.get(start..).unwrap_or_default() {
        text.push(char::from(digit));
    }
}

/// Parses an RFC 3339 date-time (`2026-11-21T14:03:11Z`, `…+01:00`, fractions ignored)
/// into seconds since the Unix epoch; `None` for anything else or a time before 1970.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = text.get(from..from + len)?;
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let sep = |at: usize, allowed: &[u8]| bytes.get(at).is_some_and(|b| allowed.contains(b));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = text.get(19..)?;
    if let Some(fraction) = rest.strip_prefix('.') {
        rest = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m) = rest.get(1..)?.split_once(':')?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(secs).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of
/// [`civil_from_days`]).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian date of a day count since 1970-01-01, by eras of 400 years
/// (146,097 days), so no table and no loop.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097;
    let doe = z % 146_097; // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::{parse_rfc3339, rfc3339};

    #[test]
    fn parses_what_it_formats_and_common_offsets() {
        for secs in [0, 951_782_400, 1_795_273_391, 4_107_542_399] {
            assert_eq!(parse_rfc3339(&rfc3339(secs)), Some(secs));
        }
        assert_eq!(
            parse_rfc3339("2026-11-21T16:03:11.250+01:00"),
            Some(1_795_273_391)
        );
        assert_eq!(
            parse_rfc3339("2026-11-21T10:03:11-05:00"),
            Some(1_795_273_391)
        );
        for bad in [
            "",
            "2026-11-21",
            "2026-13-01T00:00:00Z",
            "2026-11-21T14:03:11",
            "1969-12-31T23:59:59Z",
            "2026-11-21T14:03:11+0100",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_273_391), "2026-11-21T15:03:11Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
        // The last second the fixed template writes, then the first it cannot: padding
        // is a minimum width, as `{year:04}` was.
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_800), "10000-01-01T00:00:00Z");
        // The last second a u64 holds: a twelve-digit year still fits.
        assert_eq!(rfc3339(u64::MAX), "584554051223-11-09T07:00:15Z");
    }
}
