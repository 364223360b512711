//! The closed vocabularies of a report (route kinds and reasons, location sources,
//! element kinds, comparisons) as the enums the policy decides with, each with the one
//! word it has in audit JSON and in every host.
//!
//! Hosts read a word back with [`Word::from_word`] (an audit line the Envoy module wrote)
//! or convert from the WIT enum of the same name; neither interns a string. The macro
//! below lists each enum's variants once and fails to compile when a variant is added
//! without being listed.

use e911_policy::{ElementKind, LocationSource, Mismatch, RouteKind, RouteReason};

use crate::metric::Metric;
use crate::verdict::Kind;

/// A value of a closed vocabulary and its one word.
pub trait Word: Copy + PartialEq + 'static {
    /// Every value, in declaration order.
    const ALL: &'static [Self];

    /// The word in audit JSON, traces and host status.
    fn word(self) -> &'static str;

    /// The value whose word is `text`, exactly.
    fn from_word(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|value| value.word() == text)
    }
}

macro_rules! words {
    ($ty:ty: $($variant:path),+ $(,)?) => {
        impl Word for $ty {
            const ALL: &'static [Self] = &[$($variant),+];

            fn word(self) -> &'static str {
                self.as_str()
            }
        }

        // Exhaustive: a variant added to the enum and not to the list above stops the
        // build here.
        const _: fn($ty) = |value| match value {
            $($variant)|+ => {}
        };
    };
}

words!(Kind: Kind::Emergency, Kind::Test, Kind::Callback, Kind::None);
words!(
    LocationSource: LocationSource::Network,
    LocationSource::Client,
    LocationSource::Static,
    LocationSource::ClientElin,
);
words!(
    ElementKind: ElementKind::Bssid,
    ElementKind::Port,
    ElementKind::Chassis,
    ElementKind::Subnet,
);
words!(Mismatch: Mismatch::NotCompared, Mismatch::Agrees, Mismatch::Differs);
words!(
    RouteKind: RouteKind::SipTrunk,
    RouteKind::ElinGateway,
    RouteKind::LocalGateway,
    RouteKind::Ecrc,
);
words!(
    RouteReason: RouteReason::Policy,
    RouteReason::Number,
    RouteReason::NoLocation,
    RouteReason::Unvalidated,
    RouteReason::NoElin,
    RouteReason::Failover,
);

words!(
    Metric: Metric::Messages,
    Metric::Emergency,
    Metric::Test,
    Metric::Degraded,
    Metric::CallbackMatched,
    Metric::CallbackExpired,
    Metric::RouteSipTrunk,
    Metric::RouteElinGateway,
    Metric::RouteLocalGateway,
    Metric::RouteEcrc,
    Metric::RouteNone,
    Metric::LocationNetwork,
    Metric::LocationClient,
    Metric::LocationStatic,
    Metric::LocationClientElin,
    Metric::LocationNone,
    Metric::Unconfigured,
    Metric::Trap,
    Metric::CallbackStoreDegraded,
);

/// Serializes a [`Word`] as its word (serde `serialize_with`).
pub(crate) fn serialize<S: serde::Serializer, W: Word>(value: &W, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(value.word())
}

/// Serializes an optional [`Word`] as its word or `null`.
pub(crate) fn serialize_option<S: serde::Serializer, W: Word>(
    value: &Option<W>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => s.serialize_str(value.word()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<W: Word + core::fmt::Debug>() {
        for value in W::ALL {
            assert_eq!(W::from_word(value.word()), Some(*value));
        }
        let distinct: std::collections::BTreeSet<&str> = W::ALL.iter().map(|v| v.word()).collect();
        assert_eq!(distinct.len(), W::ALL.len(), "two values share a word");
        assert_eq!(W::from_word("no such word"), None);
    }

    #[test]
    fn every_word_reads_back_as_its_value() {
        round_trips::<Kind>();
        round_trips::<LocationSource>();
        round_trips::<ElementKind>();
        round_trips::<Mismatch>();
        round_trips::<RouteKind>();
        round_trips::<RouteReason>();
        round_trips::<Metric>();
    }
}
