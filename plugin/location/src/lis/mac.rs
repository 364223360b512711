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
        // Bytes, not chars: a non-ASCII character is never a hex digit nor a separator.
        for byte in body.bytes() {
            let nibble = match byte {
                b'-' | b':' | b'.' => continue,
                b'0'..=b'9' => byte - b'0',
                b'a'..=b'f' => byte - b'a' + 10,
                b'A'..=b'F' => byte - b'A' + 10,
                _ => return None,
            };
            digits += 1;
            if digits > MAC_DIGITS {
                return None;
            }
            value = (value << 4) | u64::from(nibble);
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
    let mut key = KeyBuf::default();
    key.push_chassis(text);
    key.into_string()
}

/// Bytes kept inline by [`KeyBuf`]; longer keys (rare) spill to the heap.
const INLINE_KEY: usize = 96;

/// A lookup key built without allocating: canonical chassis and port IDs are short.
#[derive(Debug)]
pub(crate) struct KeyBuf {
    inline: [u8; INLINE_KEY],
    len: usize,
    /// Holds the whole key once it outgrows `inline`.
    spill: Vec<u8>,
}

impl Default for KeyBuf {
    fn default() -> Self {
        Self {
            inline: [0; INLINE_KEY],
            len: 0,
            spill: Vec::new(),
        }
    }
}

impl KeyBuf {
    /// Appends `bytes`, ASCII letters lower-cased (as `str::to_ascii_lowercase` does).
    pub(crate) fn push_lower(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        match self.inline.get_mut(self.len..end) {
            Some(dst) if self.spill.is_empty() => {
                for (d, s) in dst.iter_mut().zip(bytes) {
                    *d = s.to_ascii_lowercase();
                }
            }
            _ => {
                if self.spill.is_empty() {
                    self.spill
                        .extend_from_slice(self.inline.get(..self.len).unwrap_or_default());
                }
                self.spill.extend(bytes.iter().map(u8::to_ascii_lowercase));
            }
        }
        self.len = end;
    }

    /// Appends the canonical form of an LLDP chassis ID; see [`canonical_chassis`].
    pub(crate) fn push_chassis(&mut self, text: &str) {
        match MacPrefix::parse(text).and_then(MacPrefix::exact) {
            Some(mac) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let mut digits = [0u8; MAC_DIGITS as usize];
                for (i, d) in digits.iter_mut().rev().enumerate() {
                    let nibble = (mac >> (4 * i)) & 0xf;
                    *d = HEX.get(nibble as usize).copied().unwrap_or(b'0');
                }
                self.push_lower(&digits);
            }
            None => self.push_lower(text.trim().as_bytes()),
        }
    }

    /// The key so far.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        if self.spill.is_empty() {
            self.inline.get(..self.len).unwrap_or_default()
        } else {
            &self.spill
        }
    }

    /// Whether nothing was pushed.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The key as text. Only ASCII bytes of UTF-8 input were changed, so it is UTF-8.
    pub(crate) fn into_string(self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
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
        assert_eq!(canonical_chassis("0011.2233.44AA"), "0011223344aa");
        assert_eq!(canonical_chassis(" Ünïcode-SW "), "Ünïcode-sw");
        let long = format!("  {}  ", "Long-Name-".repeat(30));
        assert_eq!(canonical_chassis(&long), long.trim().to_ascii_lowercase());
    }

    #[test]
    fn key_buffer_spills_past_its_inline_bytes() {
        let mut key = KeyBuf::default();
        assert!(key.is_empty());
        let part = "AbC-".repeat(20);
        for _ in 0..4 {
            key.push_lower(part.as_bytes());
        }
        assert_eq!(
            key.as_bytes(),
            part.repeat(4).to_ascii_lowercase().as_bytes()
        );
    }
}
