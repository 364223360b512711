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

/// Names longer than this are never a known header; they skip the lookup.
const LONGEST_KNOWN: usize = 32;

impl HeaderKind {
    /// Resolves a field name, case-insensitively, compact forms included.
    pub fn from_name(name: &[u8]) -> Self {
        if let [one] = name {
            return Self::from_compact(one.to_ascii_lowercase());
        }
        let mut lower = [0u8; LONGEST_KNOWN];
        let Some(dst) = lower.get_mut(..name.len()) else {
            return Self::Other;
        };
        for (d, s) in dst.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        Self::from_lowercase(dst)
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

    fn from_lowercase(name: &[u8]) -> Self {
        match name {
            b"accept" => Self::Accept,
            b"accept-contact" => Self::AcceptContact,
            b"allow" => Self::Allow,
            b"allow-events" => Self::AllowEvents,
            b"authorization" => Self::Authorization,
            b"call-id" => Self::CallId,
            b"contact" => Self::Contact,
            b"content-disposition" => Self::ContentDisposition,
            b"content-encoding" => Self::ContentEncoding,
            b"content-id" => Self::ContentId,
            b"content-length" => Self::ContentLength,
            b"content-transfer-encoding" => Self::ContentTransferEncoding,
            b"content-type" => Self::ContentType,
            b"cseq" => Self::Cseq,
            b"date" => Self::Date,
            b"event" => Self::Event,
            b"expires" => Self::Expires,
            b"from" => Self::From,
            b"geolocation" => Self::Geolocation,
            b"geolocation-error" => Self::GeolocationError,
            b"geolocation-routing" => Self::GeolocationRouting,
            b"identity" => Self::Identity,
            b"max-forwards" => Self::MaxForwards,
            b"min-expires" => Self::MinExpires,
            b"p-access-network-info" => Self::PAccessNetworkInfo,
            b"p-asserted-identity" => Self::PAssertedIdentity,
            b"p-preferred-identity" => Self::PPreferredIdentity,
            b"priority" => Self::Priority,
            b"proxy-authenticate" => Self::ProxyAuthenticate,
            b"proxy-authorization" => Self::ProxyAuthorization,
            b"proxy-require" => Self::ProxyRequire,
            b"reason" => Self::Reason,
            b"record-route" => Self::RecordRoute,
            b"referred-by" => Self::ReferredBy,
            b"refer-to" => Self::ReferTo,
            b"reject-contact" => Self::RejectContact,
            b"request-disposition" => Self::RequestDisposition,
            b"require" => Self::Require,
            b"retry-after" => Self::RetryAfter,
            b"route" => Self::Route,
            b"server" => Self::Server,
            b"session-expires" => Self::SessionExpires,
            b"subject" => Self::Subject,
            b"supported" => Self::Supported,
            b"to" => Self::To,
            b"unsupported" => Self::Unsupported,
            b"user-agent" => Self::UserAgent,
            b"via" => Self::Via,
            b"warning" => Self::Warning,
            b"www-authenticate" => Self::WwwAuthenticate,
            _ => Self::Other,
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
