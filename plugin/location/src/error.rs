//! Errors of the PIDF-LO reader and writer. Values, never panics.

use crate::geodetic::ShapeError;

/// Why a document could not be read as PIDF-LO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The input is longer than [`crate::pidf::MAX_INPUT_BYTES`].
    TooLarge {
        /// Input length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Elements nest deeper than [`crate::pidf::MAX_DEPTH`].
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// The input is not UTF-8 (the only encoding read; RFC 3863 PIDF
    /// documents in SIP are UTF-8 in practice).
    NotUtf8 {
        /// Byte offset of the first invalid sequence.
        at: usize,
    },
    /// Not well-formed XML.
    Malformed {
        /// Byte offset near the problem.
        at: u64,
        /// What is wrong.
        reason: String,
    },
    /// Well-formed XML whose root is not a PIDF `presence` element.
    NotPidf {
        /// Namespace URI and local name of the root, `{uri}name`.
        root: String,
    },
}

impl core::fmt::Display for ReadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooLarge { len, max } => {
                write!(f, "PIDF-LO of {len} bytes exceeds the {max}-byte limit")
            }
            Self::TooDeep { max } => write!(f, "PIDF-LO nests elements deeper than {max}"),
            Self::NotUtf8 { at } => write!(f, "PIDF-LO is not UTF-8 (byte {at})"),
            Self::Malformed { at, reason } => {
                write!(f, "PIDF-LO is not well-formed XML near byte {at}: {reason}")
            }
            Self::NotPidf { root } => {
                write!(f, "root element {root} is not a PIDF presence element")
            }
        }
    }
}

impl std::error::Error for ReadError {}

/// Why a location could not be written as a schema-valid PIDF-LO.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteError {
    /// The location has neither a civic element nor a shape.
    EmptyLocation,
    /// `presence/@entity` is not a URI (RFC 3863 makes it an `xs:anyURI`).
    Entity(String),
    /// The device id is not a URI (RFC 4479 §3.4.2: "a URN").
    DeviceId(String),
    /// `country` is not two ASCII letters (RFC 5139 §3.1: ISO 3166 alpha-2).
    Country(String),
    /// `xml:lang` is not a language tag.
    Language(String),
    /// A timestamp is not RFC 3339 date-time.
    Timestamp {
        /// Which field: `timestamp` or `retention-expiry`.
        field: &'static str,
        /// The value given.
        value: String,
    },
    /// `external-ruleset` is not a URI.
    Ruleset(String),
    /// A URI of Lync's `msftE911PidfExtn` is not one ([MS-SIPRE] Appendix D: `xs:anyURI`).
    ExtensionUri(String),
    /// The shape cannot be written.
    Shape(ShapeError),
    /// The XML writer failed. An in-memory buffer does not fail; this exists
    /// so that nothing has to unwrap.
    Xml(String),
}

impl core::fmt::Display for WriteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::EmptyLocation => f.write_str("location has neither civic address nor shape"),
            Self::Entity(v) => write!(f, "presence entity {v:?} is not a URI"),
            Self::DeviceId(v) => write!(f, "device id {v:?} is not a URI"),
            Self::Country(v) => write!(f, "country {v:?} is not an ISO 3166 alpha-2 code"),
            Self::Language(v) => write!(f, "xml:lang {v:?} is not a language tag"),
            Self::Timestamp { field, value } => {
                write!(f, "{field} {value:?} is not an RFC 3339 date-time")
            }
            Self::Ruleset(v) => write!(f, "external-ruleset {v:?} is not a URI"),
            Self::ExtensionUri(v) => write!(f, "msftE911PidfExtn URI {v:?} is not a URI"),
            Self::Shape(e) => write!(f, "shape: {e}"),
            Self::Xml(e) => write!(f, "XML writer: {e}"),
        }
    }
}

impl std::error::Error for WriteError {}

impl From<ShapeError> for WriteError {
    fn from(e: ShapeError) -> Self {
        Self::Shape(e)
    }
}
