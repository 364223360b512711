//! Wi-Fi BSSIDs and LLDP chassis IDs as they appear in LIS exports and SIP headers.
//!
//! Lync/Skype for Business exports write `00-11-22-33-44-55`, Teams accepts `:` too, phones
//! put `001122334455` in `P-Access-Network-Info` (RFC 7315 `i-wlan-node-id`), and Teams
//! allows a trailing `*` wildcard (`00-11-22-33-44-6*`) so one row covers every radio of
//! an access point. All of these name the same 48-bit key space, so a BSSID is a prefix of
//! it: 12 hex digits fixed for an exact BSSID, fewer for a wildcard.

use super::prefix::PrefixEntry;

/// Hex digits in a MAC address.
const MAC_DIGITS: u32 = 12;

/// A BSSID pattern: its leading hex digits, and how many of the 12 are fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MacPrefix {
    value: u64,
    digits: u32,
}

impl MacPrefix {
    /// Parses `aa-bb-cc-dd-ee-ff`, `aa:bb:…`, `aabbccddeeff`, any case, optionally ending in
    /// `*` after at least one digit. `None` for anything else, including a `*` elsewhere.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (body, wildcard) = match text.strip_suffix('*') {
            Some(body) => (body, true),
            None => (text, false),
        };
        let mut value = 0u64;
        let mut digits = 0u32;
        for c in body.chars() {
            match c {
                '-' | ':' | '.' => continue,
                _ => {
                    let nibble = c.to_digit(16)?;
                    digits += 1;
                    if digits > MAC_DIGITS {
                        return None;
                    }
                    value = (value << 4) | u64::from(nibble);
                }
            }
        }
        let complete = digits == MAC_DIGITS;
        match (wildcard, complete) {
            (false, true) => Some(Self { value, digits }),
            (true, false) if digits > 0 => Some(Self { value, digits }),
            _ => None,
        }
    }

    /// An exact 48-bit address, as a lookup key.
    pub fn exact(self) -> Option<u64> {
        (self.digits == MAC_DIGITS).then_some(self.value)
    }

    /// Whether the pattern ended in `*`.
    pub fn is_wildcard(self) -> bool {
        self.digits < MAC_DIGITS
    }

    /// The inclusive range of addresses the pattern covers.
    pub fn range(self) -> (u64, u64) {
        let free_bits = 4 * (MAC_DIGITS - self.digits);
        let first = self.value << free_bits;
        let last = first | ((1u64 << free_bits) - 1);
        (first, last)
    }

    /// The entry a prefix table indexes for this pattern.
    pub fn entry(self, value: u32) -> PrefixEntry<u64> {
        let (first, last) = self.range();
        PrefixEntry { first, last, value }
    }
}

/// The canonical form of an LLDP chassis ID: a MAC address as 12 lower-case hex digits,
/// anything else (LLDP also allows network addresses and names) trimmed and lower-cased.
pub fn canonical_chassis(text: &str) -> String {
    match MacPrefix::parse(text).and_then(MacPrefix::exact) {
        Some(mac) => format!("{mac:012x}"),
        None => text.trim().to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_separator_style_and_case() {
        let expected = Some(0x0011_2233_44aa);
        for text in [
            "00-11-22-33-44-AA",
            "00:11:22:33:44:aa",
            "0011223344aA",
            " 0011.2233.44aa ",
        ] {
            assert_eq!(
                MacPrefix::parse(text).and_then(MacPrefix::exact),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn wildcard_covers_the_remaining_digits() {
        let prefix = MacPrefix::parse("00-11-22-33-44-6*").unwrap();
        assert!(prefix.is_wildcard());
        assert_eq!(prefix.range(), (0x0011_2233_4460, 0x0011_2233_446f));
    }

    #[test]
    fn rejects_malformed_bssids() {
        for text in [
            "",
            "*",
            "00-11-22-33-44",
            "00-11-22-33-44-55-66",
            "00-11-22-33-44-5g",
            "00-11-*-33",
            "0011223344556*",
        ] {
            assert_eq!(MacPrefix::parse(text), None, "{text}");
        }
    }

    #[test]
    fn chassis_ids_compare_in_canonical_form() {
        assert_eq!(canonical_chassis("00-AA-BB-CC-DD-EE"), "00aabbccddee");
        assert_eq!(canonical_chassis("00:aa:bb:cc:dd:ee"), "00aabbccddee");
        assert_eq!(canonical_chassis(" Core-SW-1 "), "core-sw-1");
    }
}
