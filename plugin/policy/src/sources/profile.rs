//! `[trunks.<id>.profile]` in `routes.toml` and `[provider]` in `bundle.toml`, checked.
//!
//! Registry values (RFC 7852 §11) are compared without case and written as the registry
//! spells them, so what reaches the PSAP is always a registered token.

use toml::Spanned;

use super::resolve::{Doc, keyword};
use super::toml_files::{BundleFile, ProfileTable, ProviderTable, RoutesFile, StringList};
use crate::model::TrunkKind;
use crate::problem::Problems;
use crate::profile::{AdditionalData, PidfPlacement, ProviderInfo, ProviderProfile};

/// RFC 7852 §11.1.2 "Provider ID Series".
const ID_SERIES: [&str; 3] = ["NENA", "EENA", "domain"];
/// RFC 7852 §11.1.3 "Type of Provider".
const PROVIDER_TYPES: [&str; 9] = [
    "Access Network Provider",
    "Service Provider",
    "Service Provider Subcontractor",
    "Telematics Provider",
    "Language Translation Provider",
    "Emergency Service Provider",
    "Emergency Modality Translation",
    "Relay Provider",
    "Other",
];
/// RFC 7852 §11.1.6 "Service Environment".
const SERVICE_ENVIRONMENTS: [&str; 3] = ["Business", "Residence", "Unknown"];
/// RFC 7852 §11.1.5 "Service Type".
const SERVICE_TYPES: [&str; 12] = [
    "wireless",
    "coin",
    "one-way",
    "temp",
    "MLTS-hosted",
    "MLTS-local",
    "sensor-unattended",
    "sensor-attended",
    "POTS",
    "VOIP",
    "remote",
    "relay",
];
/// RFC 7852 §11.1.7 "Service Mobility".
const SERVICE_MOBILITY: [&str; 4] = ["Mobile", "Fixed", "Nomadic", "Unknown"];

/// A trunk's profile; the default (nothing added) when it has none. Only a sip-trunk's
/// provider receives a PIDF-LO and SIP extensions: a gateway's profile is a problem.
pub(super) fn profile(
    doc: &Doc<'_, RoutesFile>,
    kind: TrunkKind,
    table: Option<&Spanned<ProfileTable>>,
    has_provider: bool,
    problems: &mut Problems,
) -> ProviderProfile {
    let Some(table) = table else {
        return ProviderProfile::default();
    };
    if kind != TrunkKind::SipTrunk {
        doc.report(
            problems,
            table.span(),
            format!(
                "a {kind} takes the call over the PSTN: a provider profile applies to sip-trunks only"
            ),
        );
        return ProviderProfile::default();
    }
    let t = table.get_ref();
    let placement = keyword(
        doc,
        &t.pidf_placement,
        ("pidf_placement", &PidfPlacement::NAMES),
        PidfPlacement::default(),
        problems,
    );
    let msft_extension = t.msft_e911_extension.unwrap_or(false);
    if msft_extension && placement != PidfPlacement::Tuple {
        let span = t
            .pidf_placement
            .as_ref()
            .map_or(table.span(), Spanned::span);
        doc.report(
            problems,
            span,
            "msft_e911_extension goes in the PIDF tuple's status ([MS-SIPRE] §2.2.23): \
             pidf_placement must be `tuple`",
        );
    }
    let additional_data = t
        .additional_data
        .as_ref()
        .map(|list| additional_data(doc, list, problems))
        .unwrap_or_default();
    if let Some(list) = &t.additional_data
        && !has_provider
        && let Some(block) = additional_data
            .iter()
            .find(|b| **b != AdditionalData::DeviceInfo)
    {
        doc.report(
            problems,
            list.span(),
            format!(
                "additional_data `{}` is written from bundle.toml's [provider] (name, id, \
                 id_series, type, contact), which is missing",
                AdditionalData::NAMES
                    .iter()
                    .find(|(_, b)| b == block)
                    .map_or("", |(n, _)| *n)
            ),
        );
    }
    ProviderProfile {
        msft_extension,
        additional_data,
        call_identifiers: t.call_identifiers.unwrap_or(false),
        resource_priority: t
            .resource_priority
            .as_ref()
            .and_then(|v| resource_priority(doc, v, problems)),
        loc_src: t.loc_src.as_ref().and_then(|v| {
            let host = v.get_ref().trim().to_ascii_lowercase();
            if is_hostname(&host) {
                Some(host)
            } else {
                doc.report(
                    problems,
                    v.span(),
                    format!(
                        "loc_src `{}` is not a hostname (RFC 8787: the location source's domain, \
                         e.g. `lis.contoso.com`)",
                        v.get_ref()
                    ),
                );
                None
            }
        }),
        placement,
        device_id: t.device_id.unwrap_or(false),
    }
}

/// `additional_data = ["provider-info", "service-info", "device-info"]`, each once.
fn additional_data(
    doc: &Doc<'_, RoutesFile>,
    list: &Spanned<StringList>,
    problems: &mut Problems,
) -> Vec<AdditionalData> {
    let mut out = Vec::new();
    for item in list.get_ref().items() {
        let wanted = item.to_ascii_lowercase();
        match AdditionalData::NAMES.iter().find(|(name, _)| *name == wanted) {
            Some((_, block)) if !out.contains(block) => out.push(*block),
            Some(_) => {}
            None => doc.report(
                problems,
                list.span(),
                format!(
                    "unknown additional_data `{item}`: expected provider-info, service-info or device-info"
                ),
            ),
        }
    }
    out
}

/// `resource_priority = "esnet.1"`: RFC 7135's namespace, levels 0 (lowest) to 4.
fn resource_priority(
    doc: &Doc<'_, RoutesFile>,
    value: &Spanned<String>,
    problems: &mut Problems,
) -> Option<u8> {
    let text = value.get_ref().trim().to_ascii_lowercase();
    let level = text
        .strip_prefix("esnet.")
        .and_then(|n| n.parse::<u8>().ok())
        .filter(|n| *n <= 4);
    if level.is_none() {
        doc.report(
            problems,
            value.span(),
            format!(
                "resource_priority `{}`: expected esnet.0 to esnet.4 (RFC 7135's emergency namespace)",
                value.get_ref()
            ),
        );
    }
    level
}

/// `[provider]`, each registry value checked; `None` (with problems) when a value is bad.
pub(super) fn provider(
    doc: &Doc<'_, BundleFile>,
    table: &Spanned<ProviderTable>,
    problems: &mut Problems,
) -> Option<ProviderInfo> {
    let t = table.get_ref();
    let before = problems.len();
    let text = |v: &Spanned<String>, what: &str, problems: &mut Problems| {
        let value = v.get_ref().trim().to_owned();
        if value.is_empty() {
            doc.report(
                problems,
                v.span(),
                format!("[provider] {what} must not be empty"),
            );
        }
        value
    };
    let name = text(&t.name, "name", problems);
    let id = text(&t.id, "id", problems);
    let contact = text(&t.contact, "contact", problems);
    if !contact.is_empty()
        && !["tel:", "sip:", "sips:"]
            .iter()
            .any(|s| starts_with(&contact, s))
    {
        doc.report(
            problems,
            t.contact.span(),
            format!("[provider] contact `{contact}` must be a tel:, sip: or sips: URI (RFC 7852 §4.1 ContactURI)"),
        );
    }
    let registered =
        |v: &Spanned<String>, list: &[&'static str], what: &str, problems: &mut Problems| {
            registry(doc, v, list, what, problems)
        };
    let id_series = registered(&t.id_series, &ID_SERIES, "id_series", problems);
    let kind = registered(&t.kind, &PROVIDER_TYPES, "type", problems);
    let service_environment = t
        .service_environment
        .as_ref()
        .map_or(Some("Business"), |v| {
            registered(v, &SERVICE_ENVIRONMENTS, "service_environment", problems)
        });
    let service_mobility = t.service_mobility.as_ref().map_or(Some("Unknown"), |v| {
        registered(v, &SERVICE_MOBILITY, "service_mobility", problems)
    });
    let service_types = match &t.service_types {
        None => vec!["MLTS-local"],
        Some(list) => list
            .get_ref()
            .items()
            .iter()
            .filter_map(|item| {
                let spanned = Spanned::new(list.span(), item.clone());
                registered(&spanned, &SERVICE_TYPES, "service_types", problems)
            })
            .collect(),
    };
    let languages = t
        .languages
        .as_ref()
        .map(|l| l.get_ref().items())
        .unwrap_or_default();
    if problems.len() > before {
        return None;
    }
    Some(ProviderInfo {
        name,
        id,
        id_series: id_series?.to_owned(),
        kind: kind?.to_owned(),
        contact,
        languages,
        service_environment: service_environment?.to_owned(),
        service_types: service_types.into_iter().map(str::to_owned).collect(),
        service_mobility: service_mobility?.to_owned(),
    })
}

/// The registry's spelling of `value` (compared without case), or a problem listing the
/// registry.
fn registry(
    doc: &Doc<'_, BundleFile>,
    value: &Spanned<String>,
    list: &[&'static str],
    what: &str,
    problems: &mut Problems,
) -> Option<&'static str> {
    let text = value.get_ref().trim();
    let found = list.iter().find(|t| t.eq_ignore_ascii_case(text)).copied();
    if found.is_none() {
        doc.report(
            problems,
            value.span(),
            format!(
                "[provider] {what} `{text}` is not in RFC 7852's registry: expected one of {}",
                list.join(", ")
            ),
        );
    }
    found
}

/// RFC 8787 §3: `loc-src` carries an RFC 3261 `hostname`; written by us, so held to RFC
/// 1123's labels (letters, digits, inner hyphens) and a top label that is not all digits.
fn is_hostname(text: &str) -> bool {
    let labels: Vec<&str> = text.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    text.len() <= 253
        && labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|top| !top.bytes().all(|b| b.is_ascii_digit()))
}

fn starts_with(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}
