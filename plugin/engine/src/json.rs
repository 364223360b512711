//! Compact JSON for the two records every emergency call writes: the audit line
//! ([`crate::Report::to_json`]) and the webhook body of a notification.
//!
//! `serde_json` writes the same bytes (a test holds every corpus call's report to it), but
//! it looks at each byte of each string on its own to decide whether to escape it: for a
//! report's 1.3 KB that was about a sixth of an emergency decision's instructions, paid
//! again in every host (Envoy's audit log line, Kamailio's). Here a string is scanned
//! eight bytes at a time (RFC 8259 §7: only `"`, `\` and the controls below U+0020 must
//! be escaped), and a record's fields are written in order without serde's machinery.
//! Field names are this crate's constants, written without escaping.

/// A JSON object being written: fields in the order they are added, `}` on
/// [`Object::close`].
pub struct Object<'o> {
    out: &'o mut String,
    empty: bool,
}

impl<'o> Object<'o> {
    /// Starts an object at the end of `out`.
    pub fn open(out: &'o mut String) -> Self {
        out.push('{');
        Self { out, empty: true }
    }

    /// Ends the object.
    pub fn close(self) {
        self.out.push('}');
    }

    fn key(&mut self, name: &str) {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        self.out.push('"');
        self.out.push_str(name);
        self.out.push_str("\":");
    }

    /// `"name":"value"`.
    pub fn str(&mut self, name: &str, value: &str) {
        self.key(name);
        push_string(self.out, value);
    }

    /// `"name":"value"`, or `"name":null`.
    pub fn opt_str(&mut self, name: &str, value: Option<&str>) {
        match value {
            Some(value) => self.str(name, value),
            None => self.null(name),
        }
    }

    /// `"name":null`.
    pub fn null(&mut self, name: &str) {
        self.key(name);
        self.out.push_str("null");
    }

    /// `"name":true` or `false`.
    pub fn bool(&mut self, name: &str, value: bool) {
        self.key(name);
        self.out.push_str(if value { "true" } else { "false" });
    }

    /// `"name":1234`.
    pub fn u64(&mut self, name: &str, value: u64) {
        self.key(name);
        crate::time::push_padded(self.out, value, 1);
    }

    /// `"name":["a","b"]`.
    pub fn strs<'s>(&mut self, name: &str, values: impl IntoIterator<Item = &'s str>) {
        self.key(name);
        self.out.push('[');
        for (n, value) in values.into_iter().enumerate() {
            if n > 0 {
                self.out.push(',');
            }
            push_string(self.out, value);
        }
        self.out.push(']');
    }

    /// `"name":{…}` with the fields `write` adds.
    pub fn object(&mut self, name: &str, write: impl FnOnce(&mut Object<'_>)) {
        self.key(name);
        let mut inner = Object::open(self.out);
        write(&mut inner);
        inner.close();
    }
}

/// `value` as a JSON string, quoted, escaped as `serde_json` escapes: `\"`, `\\`, the
/// short forms `\b \f \n \r \t`, and `\u00XX` (lower-case hex) for the other controls.
pub fn push_string(out: &mut String, value: &str) {
    out.push('"');
    let mut rest = value;
    while let Some(at) = first_to_escape(rest.as_bytes()) {
        // `at` is an ASCII byte's index, so a char boundary on both sides.
        let (plain, tail) = rest.split_at_checked(at).unwrap_or((rest, ""));
        out.push_str(plain);
        let mut chars = tail.chars();
        match chars.next() {
            Some('"') => out.push_str("\\\""),
            Some('\\') => out.push_str("\\\\"),
            Some('\u{8}') => out.push_str("\\b"),
            Some('\u{c}') => out.push_str("\\f"),
            Some('\n') => out.push_str("\\n"),
            Some('\r') => out.push_str("\\r"),
            Some('\t') => out.push_str("\\t"),
            Some(c) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let byte = c as u32;
                out.push_str("\\u00");
                for nibble in [byte >> 4, byte & 0xf] {
                    let digit = HEX.get(nibble as usize).copied().unwrap_or(b'0');
                    out.push(char::from(digit));
                }
            }
            None => break,
        }
        rest = chars.as_str();
    }
    out.push_str(rest);
    out.push('"');
}

/// The index of the first byte that must be escaped: `"`, `\`, or below 0x20.
fn first_to_escape(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let chunks = bytes.chunks_exact(8);
    let tail = chunks.remainder();
    for (n, chunk) in chunks.enumerate() {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        // A byte below 0x20 borrows when 0x20 is subtracted from it and had its high bit
        // clear; `"` and `\` are the zero bytes of the word xor-ed with them. Exact as a
        // yes-or-no for the whole word (false hits only follow a true one).
        let below_space = word.wrapping_sub(ONES * 0x20) & !word;
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let zero = |v: u64| v.wrapping_sub(ONES) & !v;
        if (below_space | zero(quote) | zero(backslash)) & HIGHS != 0 {
            return chunk
                .iter()
                .position(|&b| must_escape(b))
                .map(|i| n * 8 + i);
        }
    }
    let start = bytes.len() - tail.len();
    tail.iter().position(|&b| must_escape(b)).map(|i| start + i)
}

fn must_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(value: &str) -> String {
        let mut out = String::new();
        push_string(&mut out, value);
        out
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut every_ascii = String::new();
        for b in 0u8..=0x7f {
            every_ascii.push(char::from(b));
        }
        let samples = [
            "",
            "plain",
            "Building 40, Floor 1",
            "say \"hi\" \\ bye",
            "line\r\nbreak\ttab\u{8}\u{c}\u{1}\u{1f}\u{7f}",
            "Zürich 日本 😀 \u{2028}",
            every_ascii.as_str(),
        ];
        for sample in samples {
            // Every position of the byte to escape against the eight-byte chunks.
            for pad in 0..9 {
                let value = ["x".repeat(pad).as_str(), sample, "y".repeat(pad).as_str()].concat();
                assert_eq!(
                    json(&value),
                    serde_json::to_string(&value).unwrap(),
                    "{value:?}"
                );
            }
        }
    }

    #[test]
    fn every_byte_is_found_where_it_is() {
        for len in 0..24 {
            for at in 0..len {
                for special in [b'"', b'\\', 0x00, 0x1f] {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = special;
                    assert_eq!(first_to_escape(&bytes), Some(at), "{len} {at} {special}");
                }
                let mut high = vec![b'a'; len];
                high[at] = 0xa2;
                assert_eq!(first_to_escape(&high), None);
            }
        }
    }

    #[test]
    fn objects_nest_and_separate_their_fields() {
        let mut out = String::new();
        let mut object = Object::open(&mut out);
        object.str("a", "1");
        object.opt_str("b", None);
        object.bool("c", true);
        object.u64("d", 0);
        object.u64("e", u64::MAX);
        object.strs("f", ["x", "y"]);
        object.strs("g", []);
        object.object("h", |inner| inner.bool("i", false));
        object.close();
        assert_eq!(
            out,
            r#"{"a":"1","b":null,"c":true,"d":0,"e":18446744073709551615,"f":["x","y"],"g":[],"h":{"i":false}}"#
        );
    }
}
