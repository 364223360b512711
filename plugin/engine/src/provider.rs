//! What a sip-trunk's provider profile adds to an emergency INVITE beyond the PIDF-LO
//! (`[trunks.<id>.profile]`): header fields here, body parts for the multipart body the
//! emergency path builds. The default profile adds nothing.
//!
//! - `Resource-Priority: esnet.<n>` (RFC 7135; RFC 9027 uses `esnet.1` for calls to
//!   emergency services), unless the request already carries one.
//! - NENA i3 call and incident identifiers, `Call-Info: <urn:emergency:uid:callid:…>;
//!   purpose=emergency-CallId` (NENA-STA-010): the first element that handles the call
//!   assigns them, so one already present is kept.
//! - RFC 7852 additional data by value: each block a body part with a Content-ID, named by
//!   `Call-Info: <cid:…>;purpose=EmergencyCallData.<Block>`.
//! - Lync's `msftE911PidfExtn`, the device id and the placement: options of the PIDF-LO
//!   writer ([`pidf_options`]).

use e911_location::call_data::{
    DeviceInfo, ProviderInfo, ServiceInfo, write_device_info, write_provider_info,
    write_service_info,
};
use e911_location::{MsftExtension, Placement, WriteOptions};
use e911_policy::{AdditionalData, ConferenceMode, PidfPlacement, ProviderProfile};
use e911_sip::{HeaderKind, Message};

use crate::emergency::{Input, fnv1a_hex};
use crate::rewrite::EditOp;

/// Longest `User-Agent` carried into `DeviceModelNr`: a device's self-description
/// is a few dozen bytes; a hostile one is cut, never copied whole.
const MAX_MODEL_BYTES: usize = 128;

/// One RFC 7852 block to add to the body, named by its Content-ID.
pub(crate) struct DataPart {
    /// `application/EmergencyCallData.<Block>+xml`.
    pub content_type: String,
    /// The Content-ID, without angle brackets.
    pub cid: String,
    /// The XML document.
    pub body: String,
}

/// `Content-Disposition` of a block: RFC 5621 §9.4 `by-reference` (a header field names
/// the part), `handling=optional` (RFC 3204 §6) so a provider that does not read the
/// block still takes the call instead of refusing it with 415.
pub(crate) const DATA_PART_DISPOSITION: &[u8] = b"by-reference;handling=optional";

/// The header fields the profile adds, and what they are for the trace.
pub(crate) fn header_ops(
    input: &Input<'_, '_>,
    profile: &ProviderProfile,
    token: &str,
    notes: &mut Vec<String>,
) -> Vec<EditOp> {
    // Room for the location edits that follow (Geolocation, Geolocation-Routing, the
    // body, any removals), so the list is not grown as they are added.
    let mut ops = Vec::with_capacity(8);
    if let Some(level) = profile.resource_priority {
        if input
            .msg
            .headers_named(b"resource-priority")
            .next()
            .is_some()
        {
            notes.push("Resource-Priority kept as the caller sent it".to_owned());
        } else {
            ops.push(EditOp::header(
                "Resource-Priority",
                format!("esnet.{level}"),
            ));
            notes.push(format!("Resource-Priority: esnet.{level} (RFC 7135)"));
        }
    }
    if profile.call_identifiers {
        let node = input.ctx.node;
        for (kind, purpose, id) in [
            ("callid", "emergency-CallId", token.to_owned()),
            ("incidentid", "emergency-IncidentId", incident_token(token)),
        ] {
            if call_info_purposes(input.msg).any(|p| p.eq_ignore_ascii_case(purpose)) {
                notes.push(format!("{purpose} kept as assigned upstream"));
                continue;
            }
            ops.push(EditOp::header(
                "Call-Info",
                format!("<urn:emergency:uid:{kind}:{id}:{node}>;purpose={purpose}"),
            ));
            notes.push(format!(
                "{purpose} urn:emergency:uid:{kind}:{id}:{node} (NENA i3)"
            ));
        }
    }
    ops
}

/// The RFC 7852 blocks the profile sends, each with the `Call-Info` that names it. A
/// block with nothing to say (no `[provider]`, no `User-Agent`) is left out, and the
/// trace says so.
pub(crate) fn data_parts(
    input: &Input<'_, '_>,
    profile: &ProviderProfile,
    token: &str,
    notes: &mut Vec<String>,
) -> (Vec<DataPart>, Vec<EditOp>) {
    let mut parts = Vec::new();
    let mut ops = Vec::new();
    for (n, block) in profile.additional_data.iter().enumerate() {
        let reference = format!("{token}-{n}@{}", input.ctx.node);
        let Some(body) = block_document(input, *block, &reference) else {
            notes.push(format!(
                "EmergencyCallData.{} not sent: nothing known to put in it",
                block.block()
            ));
            continue;
        };
        let name = block.block();
        let cid = format!("{token}-{}@{}", name.to_ascii_lowercase(), input.ctx.node);
        ops.push(EditOp::header(
            "Call-Info",
            format!("<cid:{cid}>;purpose=EmergencyCallData.{name}"),
        ));
        notes.push(format!(
            "EmergencyCallData.{name} sent by value as cid:{cid} (RFC 7852)"
        ));
        parts.push(DataPart {
            content_type: format!("application/EmergencyCallData.{name}+xml"),
            cid,
            body,
        });
    }
    (parts, ops)
}

fn block_document(input: &Input<'_, '_>, block: AdditionalData, reference: &str) -> Option<String> {
    match block {
        AdditionalData::ProviderInfo => {
            let p = input.provider?;
            Some(write_provider_info(&ProviderInfo {
                reference,
                name: &p.name,
                id: &p.id,
                id_series: &p.id_series,
                kind: &p.kind,
                contact: &p.contact,
                languages: &p.languages,
            }))
        }
        AdditionalData::ServiceInfo => {
            let p = input.provider?;
            Some(write_service_info(&ServiceInfo {
                reference,
                environment: &p.service_environment,
                types: &p.service_types,
                mobility: &p.service_mobility,
            }))
        }
        AdditionalData::DeviceInfo => {
            let model = user_agent(input.msg);
            let instance = sip_instance(input.msg);
            let imei = instance.as_deref().and_then(imei);
            if model.is_none() && imei.is_none() {
                return None;
            }
            let ids: Vec<(&str, &str)> = imei.iter().map(|i| ("IMEI", *i)).collect();
            Some(write_device_info(&DeviceInfo {
                reference,
                model: model.as_deref(),
                ids: &ids,
            }))
        }
    }
}

/// The PIDF-LO writer's options for this profile: placement, the device id (the caller's
/// `+sip.instance` URN, RFC 5626 §4.1), Lync's extension when the policy has a
/// conference (Appendix D of [MS-SIPRE] requires `ConferenceUri`).
pub(crate) fn pidf_options(
    input: &Input<'_, '_>,
    profile: &ProviderProfile,
    entity: &str,
    notes: &mut Vec<String>,
) -> WriteOptions {
    let placement = match profile.placement {
        PidfPlacement::Tuple => Placement::Tuple,
        PidfPlacement::Device => Placement::Device,
        PidfPlacement::Person => Placement::Person,
    };
    let mut options = WriteOptions::new(entity).with_placement(placement);
    if profile.device_id
        && let Some(instance) = sip_instance(input.msg)
    {
        options = options.with_device_id(instance);
    }
    if profile.msft_extension {
        match input.decision.conference {
            Some(conference) => {
                options = options.with_msft_extension(MsftExtension {
                    notification_uri: input
                        .decision
                        .notifications
                        .iter()
                        .find_map(|t| t.sip.clone()),
                    conference_uri: conference.uri.clone(),
                    two_way: conference.mode == ConferenceMode::TwoWay,
                    policy_tag: input.decision.policy.as_ref().map(|p| p.id.to_owned()),
                });
            }
            None => notes.push(
                "msftE911PidfExtn not written: the policy has no conference_uri, which the \
                 extension requires"
                    .to_owned(),
            ),
        }
    }
    options
}

/// `;loc-src=<host>` for the Geolocation value we insert (RFC 8787), or nothing.
pub(crate) fn loc_src(profile: &ProviderProfile) -> String {
    profile
        .loc_src
        .as_ref()
        .map(|host| format!(";loc-src={host}"))
        .unwrap_or_default()
}

/// Every `purpose` of the request's Call-Info values (RFC 3261 §20.9: `<URI> *(;param)`,
/// comma-separated). Separators inside the `<URI>` or a quoted string are not parameter
/// boundaries.
fn call_info_purposes<'m>(msg: &'m Message<'_>) -> impl Iterator<Item = &'m str> + 'm {
    msg.headers_named(b"call-info")
        .filter_map(|v| core::str::from_utf8(v).ok())
        .flat_map(params_outside_uris)
        .filter_map(|param| {
            let (name, value) = param.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("purpose")
                .then(|| value.trim().trim_matches('"'))
        })
}

/// The `;`- or `,`-separated pieces of `value` that lie outside `<…>` and quotes.
fn params_outside_uris(value: &str) -> Vec<&str> {
    let (mut pieces, mut start, mut in_uri, mut in_quote) = (Vec::new(), 0, false, false);
    for (at, c) in value.char_indices() {
        match c {
            '"' if !in_uri => in_quote = !in_quote,
            '<' if !in_quote => in_uri = true,
            '>' if !in_quote => in_uri = false,
            ';' | ',' if !in_uri && !in_quote => {
                pieces.extend(value.get(start..at));
                start = at + 1;
            }
            _ => {}
        }
    }
    pieces.extend(value.get(start..));
    pieces
}

/// The incident's id: a second token from the call's, so both are stable per call.
fn incident_token(call_token: &str) -> String {
    fnv1a_hex(0x8422_2325_cbf2_9ce4, call_token)
}

/// The `User-Agent` (how the device names itself: `Yealink SIP-T54W 96.86.0.100`),
/// bounded and printable ASCII, or nothing. The writer collapses its white space
/// (`xs:token`).
fn user_agent(msg: &Message<'_>) -> Option<String> {
    let value = msg.header(HeaderKind::UserAgent)?.trim_ascii();
    let value = value.get(..MAX_MODEL_BYTES).unwrap_or(value);
    (!value.is_empty() && value.iter().all(|b| *b == b' ' || b.is_ascii_graphic()))
        .then(|| String::from_utf8_lossy(value).into_owned())
}

/// The first Contact's `+sip.instance` URN (RFC 5626 §4.1: `"<urn:…>"`), when it is one.
fn sip_instance(msg: &Message<'_>) -> Option<String> {
    let contact = msg.header(HeaderKind::Contact)?;
    let text = core::str::from_utf8(contact).ok()?;
    let lower = text.to_ascii_lowercase();
    let at = lower.find("+sip.instance=")?;
    let rest = text.get(at + "+sip.instance=".len()..)?;
    let inner = rest.trim_start().strip_prefix('"')?.strip_prefix('<')?;
    let urn = inner.get(..inner.find('>')?)?;
    let valid = urn.len() <= 256
        && urn.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("urn:"))
        && urn
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'<' | b'>'));
    valid.then(|| urn.to_owned())
}

/// The IMEI of a `urn:gsma:imei:` instance (RFC 7254), digits only.
fn imei(instance: &str) -> Option<&str> {
    let prefix = "urn:gsma:imei:";
    let rest = instance
        .get(..prefix.len())
        .filter(|p| p.eq_ignore_ascii_case(prefix))
        .and_then(|_| instance.get(prefix.len()..))?;
    let digits: &str = rest.split(';').next()?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
        .then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::params_outside_uris;

    #[test]
    fn separators_inside_a_uri_or_quotes_do_not_split_parameters() {
        assert_eq!(
            params_outside_uris(
                "<http://x.example/a;purpose=emergency-CallId,b>;purpose=info;p=\"a;b\""
            ),
            [
                "<http://x.example/a;purpose=emergency-CallId,b>",
                "purpose=info",
                "p=\"a;b\""
            ]
        );
    }
}
