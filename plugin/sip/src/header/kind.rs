//! `HeaderKind`: header names resolved once, case-insensitively, compact forms included.

/// A header field name resolved to what it means.
///
/// Field names are case-insensitive (RFC 3261 §7.3.1) and many have a one-letter compact
/// form (RFC 3261 §7.3.3 and the extensions that registered one). Both spellings map to
/// the same kind; names nobody here needs become [`HeaderKind::Other`], whose spelling
/// stays available through [`crate::Field::name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HeaderKind {
    /// `Accept`.
    Accept,
    /// `Accept-Contact`, compact `a` (RFC 3841).
    AcceptContact,
    /// `Allow`.
    Allow,
    /// `Allow-Events`, compact `u` (RFC 6665).
    AllowEvents,
    /// `Authorization`.
    Authorization,
    /// `Call-ID`, compact `i`.
    CallId,
    /// `Contact`, compact `m`.
    Contact,
    /// `Content-Disposition`.
    ContentDisposition,
    /// `Content-Encoding`, compact `e`.
    ContentEncoding,
    /// `Content-ID` (RFC 2392), used by multipart parts a `cid:` URI points at.
    ContentId,
    /// `Content-Length`, compact `l`.
    ContentLength,
    /// `Content-Transfer-Encoding` (MIME part headers).
    ContentTransferEncoding,
    /// `Content-Type`, compact `c`.
    ContentType,
    /// `CSeq`.
    Cseq,
    /// `Date`.
    Date,
    /// `Event`, compact `o` (RFC 6665).
    Event,
    /// `Expires`.
    Expires,
    /// `From`, compact `f`.
    From,
    /// `Geolocation` (RFC 6442 §4.1).
    Geolocation,
    /// `Geolocation-Error` (RFC 6442 §4.3).
    GeolocationError,
    /// `Geolocation-Routing` (RFC 6442 §4.2).
    GeolocationRouting,
    /// `Identity`, compact `y` (RFC 8224).
    Identity,
    /// `Max-Forwards`.
    MaxForwards,
    /// `Min-Expires`.
    MinExpires,
    /// `P-Access-Network-Info` (RFC 7315 §5.4).
    PAccessNetworkInfo,
    /// `P-Asserted-Identity` (RFC 3325).
    PAssertedIdentity,
    /// `P-Preferred-Identity` (RFC 3325).
    PPreferredIdentity,
    /// `Priority`.
    Priority,
    /// `Proxy-Authenticate`.
    ProxyAuthenticate,
    /// `Proxy-Authorization`.
    ProxyAuthorization,
    /// `Proxy-Require`.
    ProxyRequire,
    /// `Reason` (RFC 3326).
    Reason,
    /// `Record-Route`.
    RecordRoute,
    /// `Referred-By`, compact `b` (RFC 3892).
    ReferredBy,
    /// `Refer-To`, compact `r` (RFC 3515).
    ReferTo,
    /// `Reject-Contact`, compact `j` (RFC 3841).
    RejectContact,
    /// `Request-Disposition`, compact `d` (RFC 3841).
    RequestDisposition,
    /// `Require`.
    Require,
    /// `Retry-After`.
    RetryAfter,
    /// `Route`.
    Route,
    /// `Server`.
    Server,
    /// `Session-Expires`, compact `x` (RFC 4028).
    SessionExpires,
    /// `Subject`, compact `s`.
    Subject,
    /// `Supported`, compact `k`.
    Supported,
    /// `To`, compact `t`.
    To,
    /// `Unsupported`.
    Unsupported,
    /// `User-Agent`.
    UserAgent,
    /// `Via`, compact `v`.
    Via,
    /// `Warning`.
    Warning,
    /// `WWW-Authenticate`.
    WwwAuthenticate,
    /// Any other name (an extension header); compare names with
    /// [`crate::Message::headers_named`].
    Other,
}

impl HeaderKind {
    /// Resolves a field name, case-insensitively, compact forms included.
    ///
    /// The length picks at most five candidates, the first byte usually rules out all
    /// but one; nothing is copied or lowercased. This runs for every header line, and
    /// twice on a stream (framing looks for Content-Length).
    pub fn from_name(name: &[u8]) -> Self {
        let Some(&first) = name.first() else {
            return Self::Other;
        };
        if name.len() == 1 {
            return Self::from_compact(first.to_ascii_lowercase());
        }
        let first = first.to_ascii_lowercase();
        Self::same_length(name.len())
            .iter()
            .find(|(known, _)| known.first() == Some(&first) && eq_known(name, known))
            .map_or(Self::Other, |&(_, kind)| kind)
    }

    fn from_compact(c: u8) -> Self {
        // RFC 3261 §7.3.3 plus the compact forms other RFCs registered with IANA.
        match c {
            b'a' => Self::AcceptContact,
            b'b' => Self::ReferredBy,
            b'c' => Self::ContentType,
            b'd' => Self::RequestDisposition,
            b'e' => Self::ContentEncoding,
            b'f' => Self::From,
            b'i' => Self::CallId,
            b'j' => Self::RejectContact,
            b'k' => Self::Supported,
            b'l' => Self::ContentLength,
            b'm' => Self::Contact,
            b'o' => Self::Event,
            b'r' => Self::ReferTo,
            b's' => Self::Subject,
            b't' => Self::To,
            b'u' => Self::AllowEvents,
            b'v' => Self::Via,
            b'x' => Self::SessionExpires,
            b'y' => Self::Identity,
            _ => Self::Other,
        }
    }

    /// The known long names of one length, lowercase.
    fn same_length(len: usize) -> &'static [(&'static [u8], Self)] {
        match len {
            2 => &[(b"to", Self::To)],
            3 => &[(b"via", Self::Via)],
            4 => &[
                (b"cseq", Self::Cseq),
                (b"date", Self::Date),
                (b"from", Self::From),
            ],
            5 => &[
                (b"allow", Self::Allow),
                (b"event", Self::Event),
                (b"route", Self::Route),
            ],
            6 => &[
                (b"accept", Self::Accept),
                (b"reason", Self::Reason),
                (b"server", Self::Server),
            ],
            7 => &[
                (b"call-id", Self::CallId),
                (b"contact", Self::Contact),
                (b"expires", Self::Expires),
                (b"require", Self::Require),
                (b"subject", Self::Subject),
                (b"warning", Self::Warning),
            ],
            8 => &[
                (b"identity", Self::Identity),
                (b"priority", Self::Priority),
                (b"refer-to", Self::ReferTo),
            ],
            9 => &[(b"supported", Self::Supported)],
            10 => &[
                (b"content-id", Self::ContentId),
                (b"user-agent", Self::UserAgent),
            ],
            11 => &[
                (b"geolocation", Self::Geolocation),
                (b"min-expires", Self::MinExpires),
                (b"referred-by", Self::ReferredBy),
                (b"retry-after", Self::RetryAfter),
                (b"unsupported", Self::Unsupported),
            ],
            12 => &[
                (b"allow-events", Self::AllowEvents),
                (b"content-type", Self::ContentType),
                (b"max-forwards", Self::MaxForwards),
                (b"record-route", Self::RecordRoute),
            ],
            13 => &[
                (b"authorization", Self::Authorization),
                (b"proxy-require", Self::ProxyRequire),
            ],
            14 => &[
                (b"accept-contact", Self::AcceptContact),
                (b"content-length", Self::ContentLength),
                (b"reject-contact", Self::RejectContact),
            ],
            15 => &[(b"session-expires", Self::SessionExpires)],
            16 => &[
                (b"content-encoding", Self::ContentEncoding),
                (b"www-authenticate", Self::WwwAuthenticate),
            ],
            17 => &[(b"geolocation-error", Self::GeolocationError)],
            18 => &[(b"proxy-authenticate", Self::ProxyAuthenticate)],
            19 => &[
                (b"content-disposition", Self::ContentDisposition),
                (b"geolocation-routing", Self::GeolocationRouting),
                (b"p-asserted-identity", Self::PAssertedIdentity),
                (b"proxy-authorization", Self::ProxyAuthorization),
                (b"request-disposition", Self::RequestDisposition),
            ],
            20 => &[(b"p-preferred-identity", Self::PPreferredIdentity)],
            21 => &[(b"p-access-network-info", Self::PAccessNetworkInfo)],
            25 => &[(b"content-transfer-encoding", Self::ContentTransferEncoding)],
            _ => &[],
        }
    }

    /// The canonical spelling (RFC 3261 §20 capitalisation), `None` for
    /// [`HeaderKind::Other`]. Used when a field is re-rendered.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::Accept => "Accept",
            Self::AcceptContact => "Accept-Contact",
            Self::Allow => "Allow",
            Self::AllowEvents => "Allow-Events",
            Self::Authorization => "Authorization",
            Self::CallId => "Call-ID",
            Self::Contact => "Contact",
            Self::ContentDisposition => "Content-Disposition",
            Self::ContentEncoding => "Content-Encoding",
            Self::ContentId => "Content-ID",
            Self::ContentLength => "Content-Length",
            Self::ContentTransferEncoding => "Content-Transfer-Encoding",
            Self::ContentType => "Content-Type",
            Self::Cseq => "CSeq",
            Self::Date => "Date",
            Self::Event => "Event",
            Self::Expires => "Expires",
            Self::From => "From",
            Self::Geolocation => "Geolocation",
            Self::GeolocationError => "Geolocation-Error",
            Self::GeolocationRouting => "Geolocation-Routing",
            Self::Identity => "Identity",
            Self::MaxForwards => "Max-Forwards",
            Self::MinExpires => "Min-Expires",
            Self::PAccessNetworkInfo => "P-Access-Network-Info",
            Self::PAssertedIdentity => "P-Asserted-Identity",
            Self::PPreferredIdentity => "P-Preferred-Identity",
            Self::Priority => "Priority",
            Self::ProxyAuthenticate => "Proxy-Authenticate",
            Self::ProxyAuthorization => "Proxy-Authorization",
            Self::ProxyRequire => "Proxy-Require",
            Self::Reason => "Reason",
            Self::RecordRoute => "Record-Route",
            Self::ReferredBy => "Referred-By",
            Self::ReferTo => "Refer-To",
            Self::RejectContact => "Reject-Contact",
            Self::RequestDisposition => "Request-Disposition",
            Self::Require => "Require",
            Self::RetryAfter => "Retry-After",
            Self::Route => "Route",
            Self::Server => "Server",
            Self::SessionExpires => "Session-Expires",
            Self::Subject => "Subject",
            Self::Supported => "Supported",
            Self::To => "To",
            Self::Unsupported => "Unsupported",
            Self::UserAgent => "User-Agent",
            Self::Via => "Via",
            Self::Warning => "Warning",
            Self::WwwAuthenticate => "WWW-Authenticate",
            Self::Other => return None,
        })
    }
}

/// Whether `name` equals `known` (same length, lowercase letters and `-` only) up to
/// ASCII case, eight bytes at a time.
fn eq_known(name: &[u8], known: &[u8]) -> bool {
    if let (Some((_, n)), Some((_, k))) = (name.split_last_chunk(), known.split_last_chunk()) {
        let (mut name, mut known) = (name, known);
        while let (Some((a, an)), Some((b, kn))) =
            (name.split_first_chunk(), known.split_first_chunk())
        {
            if !eq_word(u64::from_le_bytes(*a), u64::from_le_bytes(*b)) {
                return false;
            }
            (name, known) = (an, kn);
        }
        // The last eight bytes, overlapping the chunks above: the tail they left.
        return eq_word(u64::from_le_bytes(*n), u64::from_le_bytes(*k));
    }
    name.len() == known.len() && eq_word(pack_short(name), pack_short(known))
}

/// The bytes of a name shorter than eight as one word: its first and last four bytes
/// (or two, when shorter than four), overlapping. Two names of the same length pack
/// byte for byte alike.
fn pack_short(s: &[u8]) -> u64 {
    let four = |c: &[u8; 4]| u64::from(u32::from_le_bytes(*c));
    let two = |c: &[u8; 2]| u64::from(u16::from_le_bytes(*c));
    match (s.first_chunk(), s.last_chunk()) {
        (Some(a), Some(z)) => four(a) | four(z) << 32,
        _ => match (s.first_chunk(), s.last_chunk()) {
            (Some(a), Some(z)) => two(a) | two(z) << 16,
            _ => s.first().map_or(0, |&b| u64::from(b)),
        },
    }
}

/// Byte-wise ASCII case-insensitive equality of `word` with `known`, whose bytes are
/// lowercase letters, `-` or padding zeros. Letters have bit 0x40 set, `-` and zero do
/// not, so `(known & 0x40..) >> 1` sets the case bit 0x20 exactly where a letter is:
/// `w | 0x20 == k` holds for `w` = `k` or its upper case only, and elsewhere `w == k`.
fn eq_word(word: u64, known: u64) -> bool {
    let case = (known & 0x4040_4040_4040_4040) >> 1;
    word | case == known
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_names_case_insensitively() {
        assert_eq!(
            HeaderKind::from_name(b"MaX-fOrWaRdS"),
            HeaderKind::MaxForwards
        );
        assert_eq!(HeaderKind::from_name(b"VIA"), HeaderKind::Via);
        assert_eq!(HeaderKind::from_name(b"call-id"), HeaderKind::CallId);
        assert_eq!(
            HeaderKind::from_name(b"P-ACCESS-NETWORK-INFO"),
            HeaderKind::PAccessNetworkInfo
        );
    }

    #[test]
    fn resolves_every_compact_form() {
        let pairs: &[(&[u8], HeaderKind)] = &[
            (b"v", HeaderKind::Via),
            (b"F", HeaderKind::From),
            (b"t", HeaderKind::To),
            (b"M", HeaderKind::Contact),
            (b"i", HeaderKind::CallId),
            (b"L", HeaderKind::ContentLength),
            (b"c", HeaderKind::ContentType),
            (b"k", HeaderKind::Supported),
            (b"s", HeaderKind::Subject),
            (b"e", HeaderKind::ContentEncoding),
            (b"o", HeaderKind::Event),
            (b"u", HeaderKind::AllowEvents),
            (b"r", HeaderKind::ReferTo),
            (b"b", HeaderKind::ReferredBy),
            (b"x", HeaderKind::SessionExpires),
            (b"y", HeaderKind::Identity),
            (b"a", HeaderKind::AcceptContact),
            (b"j", HeaderKind::RejectContact),
            (b"d", HeaderKind::RequestDisposition),
            (b"z", HeaderKind::Other),
        ];
        for (name, kind) in pairs {
            assert_eq!(HeaderKind::from_name(name), *kind, "{name:?}");
        }
    }

    #[test]
    fn case_folding_touches_letters_only() {
        // CR | 0x20 is `-`, `@` | 0x20 is a backquote: neither may pass for a letter.
        assert_eq!(HeaderKind::from_name(b"Call\rID"), HeaderKind::Other);
        assert_eq!(HeaderKind::from_name(b"Content\rLength"), HeaderKind::Other);
        assert_eq!(
            HeaderKind::from_name(b"CONTENT-lENGTH"),
            HeaderKind::ContentLength
        );
        assert_eq!(HeaderKind::from_name(b"Via\0"), HeaderKind::Other);
        assert_eq!(HeaderKind::from_name(b"t@"), HeaderKind::Other);
        assert_eq!(HeaderKind::from_name(b"\xe0o"), HeaderKind::Other);
        for name in [
            &b"to"[..],
            b"via",
            b"cseq",
            b"call-id",
            b"content-disposition",
        ] {
            for i in 0..name.len() {
                for b in 0..=255u8 {
                    let mut n = name.to_vec();
                    n[i] = b;
                    let expect = b.to_ascii_lowercase() == name[i];
                    let kind = HeaderKind::from_name(&n);
                    assert_eq!(kind != HeaderKind::Other, expect, "{n:?}");
                }
            }
        }
    }

    #[test]
    fn unknown_and_escaped_names_are_other() {
        // RFC 4475 §3.1.1.5: `C%6Fntact` is not Contact.
        assert_eq!(HeaderKind::from_name(b"C%6Fntact"), HeaderKind::Other);
        assert_eq!(
            HeaderKind::from_name(b"NewFangledHeader"),
            HeaderKind::Other
        );
        assert_eq!(HeaderKind::from_name(&[b'x'; 100]), HeaderKind::Other);
        assert_eq!(HeaderKind::from_name(b""), HeaderKind::Other);
    }

    #[test]
    fn every_known_name_resolves_in_any_case() {
        let mut seen = 0;
        for len in 2..=40 {
            for &(name, kind) in HeaderKind::same_length(len) {
                assert_eq!(name.len(), len);
                assert!(name.iter().all(|&b| b.is_ascii_lowercase() || b == b'-'));
                let canonical = kind.name().unwrap();
                assert!(canonical.as_bytes().eq_ignore_ascii_case(name));
                assert_eq!(HeaderKind::from_name(canonical.as_bytes()), kind);
                assert_eq!(HeaderKind::from_name(&name.to_ascii_uppercase()), kind);
                let mut other = name.to_vec();
                other[len - 1] ^= 1;
                assert_eq!(HeaderKind::from_name(&other), HeaderKind::Other);
                seen += 1;
            }
        }
        assert_eq!(seen, 50);
    }

    #[test]
    fn canonical_names_resolve_back() {
        let kinds = [
            HeaderKind::Cseq,
            HeaderKind::CallId,
            HeaderKind::WwwAuthenticate,
            HeaderKind::GeolocationRouting,
            HeaderKind::ContentId,
            HeaderKind::PAssertedIdentity,
        ];
        for k in kinds {
            let name = k.name().unwrap();
            assert_eq!(HeaderKind::from_name(name.as_bytes()), k);
        }
        assert_eq!(HeaderKind::Other.name(), None);
    }
}
