//! `Limits` and `Leniency`: how much the parser accepts, in size and in syntax.

/// Largest message (header section plus body) accepted by default: 64 KiB.
///
/// Threat: a peer streaming an endless body over TCP. Envoy stops reading at about
/// 1 MiB buffered; a SIP INVITE with SDP and a PIDF-LO is a few KiB, so 64 KiB leaves
/// room for large multipart bodies while bounding what the VM keeps per connection.
pub const MAX_MESSAGE_BYTES: u32 = 64 * 1024;

/// Largest header section (start line through the blank line) accepted by default: 16 KiB.
///
/// Threat: a stream that never sends the blank line, keeping the framer scanning and
/// buffering. Real INVITEs with long Via and Record-Route sets stay under 8 KiB.
pub const MAX_HEADER_BYTES: u32 = 16 * 1024;

/// Most header fields (lines, not comma-separated values) accepted by default.
///
/// Threat: many tiny header lines inflating the field table the parser allocates.
/// RFC 4475 `longreq.dat` has about 50.
pub const MAX_HEADERS: u32 = 256;

/// Most parts a multipart body may split into.
///
/// Threat: a body of thousands of empty parts, each costing a header table. An
/// emergency INVITE carries two or three (SDP, PIDF-LO, maybe a signature).
pub const MAX_PARTS: usize = 32;

/// Size limits and syntax tolerance for framing and parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest message, header section plus body, in bytes.
    pub max_message_bytes: u32,
    /// Largest header section, start line through the blank line, in bytes.
    pub max_header_bytes: u32,
    /// Most header field lines.
    pub max_headers: u32,
    /// Deviations from RFC 3261 syntax that are tolerated.
    pub leniency: Leniency,
}

impl Limits {
    /// Strict syntax and no size limit: how a message we wrote is checked (the limits
    /// bound what we accept, not what an edit adds).
    pub const STRICT_UNBOUNDED: Self = Self {
        max_message_bytes: u32::MAX,
        max_header_bytes: u32::MAX,
        max_headers: u32::MAX,
        leniency: Leniency::STRICT,
    };

    /// 64 KiB messages, 16 KiB header sections, 256 header fields, strict syntax.
    pub const DEFAULT: Self = Self {
        max_message_bytes: MAX_MESSAGE_BYTES,
        max_header_bytes: MAX_HEADER_BYTES,
        max_headers: MAX_HEADERS,
        leniency: Leniency::STRICT,
    };

    /// The same limits with another leniency.
    #[must_use]
    pub const fn with_leniency(self, leniency: Leniency) -> Self {
        Self { leniency, ..self }
    }

    /// The same limits with another maximum message size.
    #[must_use]
    pub const fn with_max_message_bytes(self, max_message_bytes: u32) -> Self {
        Self {
            max_message_bytes,
            ..self
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Named deviations from RFC 3261 the parser tolerates. All `false` is strict.
///
/// Each one is something real systems send (DESIGN.md: "parse leniently, emit
/// strictly"). None of them changes bytes on the way out: a message accepted leniently
/// renders byte-identical when nobody edits it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Leniency {
    /// Accept a bare LF as a line end (RFC 3261 §7: lines end with CRLF). Also lets a
    /// lone LF count as a keep-alive on streams.
    pub allow_lf_only_line_ends: bool,
    /// Accept runs of SP/HT between the elements of the start line and after it
    /// (RFC 3261 §7.1 allows exactly one SP; RFC 4475 §3.1.2.9 `lwsstart.dat`,
    /// §3.1.2.10 `trws.dat`).
    pub allow_extra_start_line_spaces: bool,
    /// In a datagram, accept a body shorter than Content-Length and take the bytes
    /// present (RFC 3261 §18.3 calls it an error; RFC 4475 §3.1.2.2 `clerr.dat`).
    pub allow_short_body: bool,
    /// In a datagram, accept a header section that ends at the end of the datagram
    /// without the blank line (RFC 4475 §3.1.2.15 `baddn.dat` as archived).
    pub allow_missing_blank_line: bool,
    /// On a stream, take a message without Content-Length to have an empty body
    /// (RFC 3261 §18.3: Content-Length MUST be used over stream transports).
    pub assume_empty_body_on_stream: bool,
}

impl Leniency {
    /// Whether [`crate::parse`] under this leniency accepts only RFC 3261 syntax (the
    /// stream-only [`Leniency::assume_empty_body_on_stream`] does not reach it).
    pub(crate) const fn parses_strictly(&self) -> bool {
        !(self.allow_lf_only_line_ends
            || self.allow_extra_start_line_spaces
            || self.allow_short_body
            || self.allow_missing_blank_line)
    }

    /// Nothing tolerated: RFC 3261 syntax only.
    pub const STRICT: Self = Self {
        allow_lf_only_line_ends: false,
        allow_extra_start_line_spaces: false,
        allow_short_body: false,
        allow_missing_blank_line: false,
        assume_empty_body_on_stream: false,
    };

    /// Every deviation tolerated.
    pub const TOLERANT: Self = Self {
        allow_lf_only_line_ends: true,
        allow_extra_start_line_spaces: true,
        allow_short_body: true,
        allow_missing_blank_line: true,
        assume_empty_body_on_stream: true,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limits_are_strict() {
        assert_eq!(Limits::default(), Limits::DEFAULT);
        assert_eq!(Limits::DEFAULT.leniency, Leniency::STRICT);
        assert_eq!(Leniency::default(), Leniency::STRICT);
        assert_eq!(Limits::DEFAULT.max_message_bytes, 65536);
    }

    #[test]
    fn builders_change_one_field() {
        let l = Limits::DEFAULT
            .with_leniency(Leniency::TOLERANT)
            .with_max_message_bytes(10);
        assert_eq!(l.max_message_bytes, 10);
        assert_eq!(l.leniency, Leniency::TOLERANT);
        assert_eq!(l.max_headers, MAX_HEADERS);
    }
}
