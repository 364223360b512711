//! Who gets which policy: network sites (by subnet), caller-specific assignments, the
//! tenant's global policy; and the tenant settings around them (`bundle.toml`).

use core::ops::Range;
use std::borrow::Cow;
use std::collections::HashMap;

use e911_location::lis::{NetworkMap, NetworkMapBuilder};
use toml::Spanned;

use super::erls::ErlSet;
use super::resolve::{Doc, Index};
use super::subnet::{self, Subnet};
use super::toml_files::{BundleFile, CallersFile, SitesFile};
use crate::identity::identity_key;
use crate::model::{Caller, HeaderNames, Settings, Site};
use crate::problem::{Problems, saturate};

/// Sites, their subnet map (values are site indices) and where each was defined.
#[derive(Default)]
pub(crate) struct SiteSet {
    pub sites: Vec<Site>,
    pub map: NetworkMap,
    /// `file:line` of each site, for messages that point at it.
    pub origins: Vec<String>,
}

pub(crate) fn sites(
    doc: Option<&Doc<'_, SitesFile>>,
    policies: &Index,
    problems: &mut Problems,
) -> SiteSet {
    let mut set = SiteSet::default();
    let Some(doc) = doc else { return set };
    let mut builder = NetworkMapBuilder::default();
    let mut seen: HashMap<Subnet, String> = HashMap::new();
    for (id, table) in &doc.data.sites {
        let site = table.get_ref();
        let index = saturate(set.sites.len());
        for text in &site.subnets {
            let parsed = subnet::parse(text.get_ref(), "").and_then(|s| {
                builder
                    .add_subnet(s.addr, s.len, index)
                    .map(|()| s)
                    .map_err(|e| format!("bad subnet {s}: {e}"))
            });
            match parsed {
                Ok(s) => {
                    if let Some(other) = seen.insert(s, id.get_ref().clone()) {
                        doc.report(
                            problems,
                            text.span(),
                            format!("duplicate site subnet {s} (also in site `{other}`)"),
                        );
                    }
                }
                Err(message) => doc.report(problems, text.span(), message),
            }
        }
        let policy = policy_ref(
            doc,
            site.policy.get_ref(),
            site.policy.span(),
            policies,
            problems,
        );
        let description = site.description.clone().unwrap_or_default();
        set.sites.push(Site {
            id: id.get_ref().clone(),
            description,
            policy: policy.unwrap_or(0),
        });
        set.origins.push(doc.line(&table.span()));
    }
    set.map = builder.build();
    set
}

fn policy_ref<T>(
    doc: &Doc<'_, T>,
    name: &str,
    span: Range<usize>,
    policies: &Index,
    problems: &mut Problems,
) -> Option<u32> {
    let found = policies.get(name.trim()).copied();
    if found.is_none() && policies.readable {
        doc.report(
            problems,
            span,
            format!("unknown location policy `{name}` (no such policy in policies.toml)"),
        );
    }
    found
}

/// Caller assignments, each with where it was defined.
pub(crate) fn callers(
    doc: Option<&Doc<'_, CallersFile>>,
    policies: &Index,
    erls: &ErlSet,
    problems: &mut Problems,
) -> Vec<(Caller, String)> {
    let mut out = Vec::new();
    let Some(doc) = doc else { return out };
    let mut seen: HashMap<String, String> = HashMap::new();
    for (name, table) in &doc.data.callers {
        let t = table.get_ref();
        let Some(key) = identity_key(name.get_ref()).map(Cow::into_owned) else {
            doc.report(
                problems,
                name.span(),
                format!("`{}` is not a phone number or SIP URI", name.get_ref()),
            );
            continue;
        };
        if let Some(first) = seen.insert(key.clone(), name.get_ref().clone()) {
            doc.report(
                problems,
                name.span(),
                format!(
                    "caller `{}` is the same caller as `{first}`",
                    name.get_ref()
                ),
            );
        }
        let policy = t
            .policy
            .as_ref()
            .and_then(|p| policy_ref(doc, p.get_ref(), p.span(), policies, problems));
        let location = t.location.as_ref().and_then(|l| {
            let found = erls.index(l.get_ref().trim());
            if found.is_none() && erls.complete {
                doc.report(problems, l.span(), format!("unknown ERL `{}`", l.get_ref()));
            }
            found
        });
        if t.policy.is_none() && t.location.is_none() {
            doc.report(
                problems,
                table.span(),
                format!("caller `{}` needs `policy` or `location`", name.get_ref()),
            );
        }
        let caller = Caller {
            identity: key,
            description: t.description.clone().unwrap_or_default(),
            policy,
            location,
        };
        out.push((caller, doc.line(&table.span())));
    }
    out
}

/// The networks `bundle.toml` trusts: enterprise networks (whose headers are believed)
/// and, when named, the carriers' (where PSAP callbacks come from).
pub(crate) struct TrustMaps {
    pub trusted: NetworkMap,
    pub carriers: Option<NetworkMap>,
}

/// Settings and the trust maps from `bundle.toml`.
pub(crate) fn settings(
    doc: &Doc<'_, BundleFile>,
    policies: &Index,
    problems: &mut Problems,
) -> Option<(Settings, TrustMaps)> {
    let b = &doc.data;
    let tenant = b.tenant.get_ref().trim().to_owned();
    if tenant.is_empty() {
        doc.report(problems, b.tenant.span(), "tenant must not be empty");
    }
    let revision = b.revision.get_ref().text();
    if revision.is_empty() || revision.len() > usize::from(u16::MAX) {
        doc.report(
            problems,
            b.revision.span(),
            "revision must be a non-empty string or an integer",
        );
    }
    let global = policy_ref(
        doc,
        b.global_policy.get_ref(),
        b.global_policy.span(),
        policies,
        problems,
    );
    let (trusted, trusted_networks) = networks(doc, &b.trust.networks, "trusted network", problems);
    let carriers = b
        .trust
        .carriers
        .as_ref()
        .map(|list| networks(doc, list.get_ref(), "carrier network", problems));
    let clean = |v: &Option<String>| {
        v.as_ref()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let headers = HeaderNames {
        lldp_chassis: clean(&b.headers.lldp_chassis),
        lldp_port: clean(&b.headers.lldp_port),
        client_ip: clean(&b.headers.client_ip),
    };
    let provider = b
        .provider
        .as_ref()
        .and_then(|table| super::profile::provider(doc, table, problems));
    let settings = Settings {
        tenant,
        revision,
        global_policy: global?,
        headers,
        trusted_networks,
        carrier_networks: carriers
            .as_ref()
            .map(|(_, written)| written.clone())
            .unwrap_or_default(),
        provider,
    };
    let maps = TrustMaps {
        trusted,
        carriers: carriers.map(|(map, _)| map),
    };
    Some((settings, maps))
}

/// A list of subnets as a map (every value 0) and as written, each bad one reported.
fn networks(
    doc: &Doc<'_, BundleFile>,
    list: &[Spanned<String>],
    what: &str,
    problems: &mut Problems,
) -> (NetworkMap, Vec<String>) {
    let mut map = NetworkMapBuilder::default();
    let mut written = Vec::new();
    for text in list {
        let parsed = subnet::parse(text.get_ref(), "").and_then(|s| {
            map.add_subnet(s.addr, s.len, 0)
                .map(|()| s)
                .map_err(|e| format!("bad subnet {s}: {e}"))
        });
        match parsed {
            Ok(s) => written.push(s.to_string()),
            Err(message) => doc.report(problems, text.span(), format!("{what}: {message}")),
        }
    }
    (map.build(), written)
}
