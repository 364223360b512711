//! The TOML files of a bundle, as written, with spans so every later problem has a line.
//!
//! Unknown keys are refused (`deny_unknown_fields`): a misspelt `dial_string` silently
//! ignored would leave a site without 911. Values whose spelling matters (modes, kinds)
//! are read as text and checked afterwards, so one bad value does not hide the others.
//! Policy fields also answer to Lync's `Set-CsLocationPolicy` parameter names.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// A named table: `[policies.<id>]`, `[routes.<id>]`, …
pub(crate) type Named<T> = BTreeMap<Spanned<String>, Spanned<T>>;

/// A list written either as a TOML array or as Lync's `;`-separated string (`"112;999"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum StringList {
    Joined(String),
    Items(Vec<String>),
}

impl StringList {
    pub(crate) fn items(&self) -> Vec<String> {
        let raw: Vec<&str> = match self {
            Self::Joined(text) => text.split(';').collect(),
            Self::Items(items) => items.iter().map(String::as_str).collect(),
        };
        raw.into_iter()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// `revision = "2026.11.1"` or `revision = 42`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Revision {
    Text(String),
    Number(i64),
}

impl Revision {
    pub(crate) fn text(&self) -> String {
        match self {
            Self::Text(text) => text.trim().to_owned(),
            Self::Number(n) => n.to_string(),
        }
    }
}

/// `bundle.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BundleFile {
    pub tenant: Spanned<String>,
    pub revision: Spanned<Revision>,
    pub global_policy: Spanned<String>,
    #[serde(default)]
    pub headers: HeadersTable,
    #[serde(default)]
    pub trust: TrustTable,
    #[serde(default)]
    pub import: ImportTable,
    pub provider: Option<Spanned<ProviderTable>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HeadersTable {
    pub lldp_chassis: Option<String>,
    pub lldp_port: Option<String>,
    pub client_ip: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrustTable {
    #[serde(default)]
    pub networks: Vec<Spanned<String>>,
    /// The carriers' networks: where PSAP callbacks come from (RFC 3325 §2.3: the
    /// carrier's SBC is part of the trust domain for the calls it delivers).
    pub carriers: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportTable {
    /// Whether ERLs whose source says nothing about validation count as validated.
    #[serde(default)]
    pub default_validated: bool,
}

/// `policies.toml`: `[defaults]` every policy inherits, then `[policies.<id>]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PoliciesFile {
    #[serde(default)]
    pub defaults: PolicyTable,
    #[serde(default)]
    pub policies: Named<PolicyTable>,
}

/// One location policy; every field optional so `[defaults]` can fill it.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyTable {
    pub description: Option<String>,
    #[serde(alias = "EnhancedEmergencyServicesEnabled")]
    pub enabled: Option<bool>,
    #[serde(alias = "EmergencyDialString")]
    pub dial_strings: Option<Spanned<StringList>>,
    #[serde(alias = "EmergencyDialMask")]
    pub dial_masks: Option<Spanned<StringList>>,
    /// Several numbers, each with its masks and route (Skype for Business
    /// `EmergencyNumbers`, Teams emergency numbers).
    #[serde(alias = "EmergencyNumbers")]
    pub emergency_numbers: Option<Spanned<Vec<Spanned<NumberTable>>>>,
    pub test_numbers: Option<Spanned<StringList>>,
    pub outside_line_prefixes: Option<Spanned<StringList>>,
    #[serde(alias = "PstnUsage")]
    pub route: Option<Spanned<String>>,
    pub ecrc_route: Option<Spanned<String>>,
    pub unvalidated_to_ecrc: Option<bool>,
    #[serde(alias = "LocationRequired")]
    pub location_required: Option<Spanned<String>>,
    #[serde(alias = "NotificationUri")]
    pub notifications: Option<Spanned<StringList>>,
    pub test_notifications: Option<Spanned<StringList>>,
    #[serde(alias = "ConferenceUri")]
    pub conference_uri: Option<Spanned<String>>,
    #[serde(alias = "ConferenceMode")]
    pub conference_mode: Option<Spanned<String>>,
    pub callback_window_minutes: Option<Spanned<i64>>,
    pub callback_fallback: Option<Spanned<String>>,
    pub location_combine: Option<Spanned<String>>,
}

impl PolicyTable {
    /// This policy with every unset field taken from `defaults`.
    pub(crate) fn inherit(self, defaults: &Self) -> Self {
        let d = defaults.clone();
        Self {
            description: self.description.or(d.description),
            enabled: self.enabled.or(d.enabled),
            dial_strings: self.dial_strings.or(d.dial_strings),
            dial_masks: self.dial_masks.or(d.dial_masks),
            emergency_numbers: self.emergency_numbers.or(d.emergency_numbers),
            test_numbers: self.test_numbers.or(d.test_numbers),
            outside_line_prefixes: self.outside_line_prefixes.or(d.outside_line_prefixes),
            route: self.route.or(d.route),
            ecrc_route: self.ecrc_route.or(d.ecrc_route),
            unvalidated_to_ecrc: self.unvalidated_to_ecrc.or(d.unvalidated_to_ecrc),
            location_required: self.location_required.or(d.location_required),
            notifications: self.notifications.or(d.notifications),
            test_notifications: self.test_notifications.or(d.test_notifications),
            conference_uri: self.conference_uri.or(d.conference_uri),
            conference_mode: self.conference_mode.or(d.conference_mode),
            callback_window_minutes: self.callback_window_minutes.or(d.callback_window_minutes),
            callback_fallback: self.callback_fallback.or(d.callback_fallback),
            location_combine: self.location_combine.or(d.location_combine),
        }
    }
}

/// One of `emergency_numbers`: Skype for Business `New-CsEmergencyNumber -DialString
/// -DialMask`, Teams `New-CsTeamsEmergencyNumber -EmergencyDialString -EmergencyDialMask
/// -OnlinePSTNUsage`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NumberTable {
    /// An engineer's note; not carried into the bundle.
    #[allow(dead_code)]
    pub description: Option<String>,
    #[serde(alias = "DialString", alias = "EmergencyDialString")]
    pub dial_string: Spanned<String>,
    #[serde(alias = "DialMask", alias = "EmergencyDialMask")]
    pub dial_masks: Option<Spanned<StringList>>,
    #[serde(alias = "OnlinePSTNUsage", alias = "PstnUsage")]
    pub route: Option<Spanned<String>>,
}

/// `routes.toml`: trunks, then routes (ordered trunk lists).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoutesFile {
    #[serde(default)]
    pub trunks: Named<TrunkTable>,
    #[serde(default)]
    pub routes: Named<RouteTable>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrunkTable {
    /// An engineer's note; not carried into the bundle.
    #[allow(dead_code)]
    pub description: Option<String>,
    pub kind: Spanned<String>,
    pub target: Spanned<String>,
    pub route_header: Option<String>,
    pub service_urns: Option<Spanned<String>>,
    /// What the provider receives beyond the PIDF-LO (`[trunks.<id>.profile]`).
    pub profile: Option<Spanned<ProfileTable>>,
}

/// `[trunks.<id>.profile]`: the extensions a sip-trunk's provider accepts.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileTable {
    pub msft_e911_extension: Option<bool>,
    pub additional_data: Option<Spanned<StringList>>,
    pub call_identifiers: Option<bool>,
    pub resource_priority: Option<Spanned<String>>,
    pub loc_src: Option<Spanned<String>>,
    pub pidf_placement: Option<Spanned<String>>,
    pub device_id: Option<bool>,
}

/// `bundle.toml` `[provider]`: the tenant as a data provider (RFC 7852 §4.1, §4.2).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProviderTable {
    pub name: Spanned<String>,
    pub id: Spanned<String>,
    pub id_series: Spanned<String>,
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    pub contact: Spanned<String>,
    pub languages: Option<Spanned<StringList>>,
    pub service_environment: Option<Spanned<String>>,
    pub service_types: Option<Spanned<StringList>>,
    pub service_mobility: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteTable {
    /// An engineer's note; not carried into the bundle.
    #[allow(dead_code)]
    pub description: Option<String>,
    pub trunks: Spanned<StringList>,
    /// A number dialled instead of what the caller dialled (the ECRC's number).
    pub dial: Option<Spanned<String>>,
}

/// `sites.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SitesFile {
    #[serde(default)]
    pub sites: Named<SiteTable>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SiteTable {
    pub description: Option<String>,
    pub subnets: Vec<Spanned<String>>,
    pub policy: Spanned<String>,
}

/// `notifications.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotificationsFile {
    #[serde(default)]
    pub targets: Named<TargetTable>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TargetTable {
    /// An engineer's note; not carried into the bundle.
    #[allow(dead_code)]
    pub description: Option<String>,
    pub webhook: Option<Spanned<String>>,
    pub sip: Option<Spanned<String>>,
}

/// `callers.toml`: `[callers."+14255550142"]`, `[callers."sip:alice@contoso.com"]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CallersFile {
    #[serde(default)]
    pub callers: Named<CallerTable>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CallerTable {
    pub description: Option<String>,
    pub policy: Option<Spanned<String>>,
    pub location: Option<Spanned<String>>,
}
