//! # e911-plugin-component: the engine as a WebAssembly component
//!
//! Implements the `e911:policy/policy-plugin` world (`wit/policy.wit`) over
//! [`e911_engine::Engine`]. This crate only translates: `configure` loads a bundle with
//! [`e911_policy::Bundle::load`] and swaps the engine; `on-message` calls
//! [`e911_engine::Engine::on_message`] with a [`CallbackStore`] backed by the imported
//! `callback-store`, hands each notification to the imported `notifier`, logs emergency
//! and degraded decisions through the imported `log`, and returns the verdict as WIT
//! records. Every decision stays in the engine.
//!
//! Built for `wasm32-unknown-unknown` and encoded as a component by
//! `cargo xtask build-component` (see `wit/README.md` for why), so the component imports
//! nothing but our world.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use e911_engine::{CallCtx, CallbackStore, Engine, Transport};
use e911_policy::{Admitted, Bundle, LoadError, PublicKey, Rollback};

use bindings::e911::policy::{callback_store, log, notifier};
use bindings::{
    Attempt, BundleCounts, BundleError, BundleInfo, CallKind, EditOp, ElementKind, InsertHeader,
    IpAddress, Location, LocationSource, MessageContext, Metric, Mismatch, OlderRevision, Output,
    Position, ReplaceHeader, Route, RouteKind, RouteReason, SetBody, Verdict,
};

/// The generated bindings. wit-bindgen's expansion uses `unsafe` (the canonical ABI glue:
/// raw pointers into linear memory, `#[unsafe(export_name)]`); it is allowed here and
/// only here. Our own code below has none.
#[allow(unsafe_code, missing_docs, clippy::all)]
mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "policy-plugin",
    });
}

/// The component. Stateless itself: the engine lives in [`ACTIVE`].
struct Plugin;

/// The engine for the active bundle and that bundle's revision.
struct Active {
    engine: Engine,
    revision: String,
}

thread_local! {
    /// The active bundle; `None` until the first successful `configure`. A component
    /// instance is single-threaded, so a `RefCell` is all it takes.
    static ACTIVE: RefCell<Option<Active>> = const { RefCell::new(None) };
}

impl bindings::Guest for Plugin {
    fn configure(
        bundle: Vec<u8>,
        trusted_keys: Vec<Vec<u8>>,
        rollback: bindings::Rollback,
    ) -> Result<BundleInfo, BundleError> {
        let running = ACTIVE.with(|cell| cell.borrow().as_ref().map(|a| a.revision.clone()));
        match load(&bundle, &trusted_keys)
            .and_then(|loaded| admit(running.as_deref(), loaded, rollback))
        {
            Ok((info, engine, admitted)) => {
                let revision = info.revision.clone();
                ACTIVE.with(|cell| *cell.borrow_mut() = Some(Active { engine, revision }));
                log::log(
                    log::Level::Info,
                    &format!(
                        "policy bundle {} active (digest {})",
                        info.revision, info.digest
                    ),
                );
                if admitted == Admitted::ForcedRollback {
                    log::log(
                        log::Level::Warn,
                        &format!(
                            "policy bundle rolled back from revision {} to the older {} because rollback was allowed",
                            running.unwrap_or_default(),
                            info.revision
                        ),
                    );
                }
                if info.signer_key_id.is_none() {
                    log::log(
                        log::Level::Warn,
                        &e911_policy::unsigned_warning(&info.revision),
                    );
                }
                Ok(info)
            }
            Err(err) => {
                log::log(
                    log::Level::Error,
                    &format!(
                        "policy bundle refused, previous policy stays active: {}",
                        describe(&err)
                    ),
                );
                Err(err)
            }
        }
    }

    fn on_message(message: Vec<u8>, ctx: MessageContext) -> Verdict {
        let ctx_node = ctx.node;
        let call_ctx = CallCtx {
            now: ctx.now,
            peer: ctx.peer.map(ip_addr),
            transport: transport(ctx.transport),
            node: &ctx_node,
        };
        let verdict = ACTIVE.with(|cell| match &*cell.borrow() {
            Some(active) => active
                .engine
                .on_message(&message, &call_ctx, &mut HostStore),
            None => unconfigured(ctx.now),
        });
        if let Some(line) = log_line(&verdict) {
            let level = if verdict.report.degraded.is_some() {
                log::Level::Warn
            } else {
                log::Level::Info
            };
            log::log(level, &line);
        }
        // The verdict's notifications are the records the notifier takes: handed over
        // from the verdict, not copied for it.
        let verdict = to_wit(verdict);
        for n in &verdict.notifications {
            notifier::notify(n);
        }
        verdict
    }
}

/// The world's exports, bound to [`Plugin`] (generated glue: `unsafe` allowed here too).
#[allow(unsafe_code)]
mod export {
    use crate::Plugin;
    crate::bindings::export!(Plugin with_types_in crate::bindings);
}

/// [`CallbackStore`] over the imported `callback-store` interface.
struct HostStore;

impl CallbackStore for HostStore {
    fn get(&self, elin: &str) -> Option<e911_engine::CallbackEntry> {
        callback_store::get(elin).map(|e| e911_engine::CallbackEntry {
            caller: e.caller,
            call_id: e.call_id,
            assigned_at: e.assigned_at,
            expires_at: e.expires_at,
            uses: e.uses,
            policy: e.policy,
        })
    }

    fn put(&mut self, elin: &str, entry: e911_engine::CallbackEntry) {
        callback_store::put(
            elin,
            &callback_store::CallbackEntry {
                caller: entry.caller,
                call_id: entry.call_id,
                assigned_at: entry.assigned_at,
                expires_at: entry.expires_at,
                uses: entry.uses,
                policy: entry.policy,
            },
        );
    }
}

/// Checks the keys, loads the bundle and builds its engine.
fn load(bundle: &[u8], trusted_keys: &[Vec<u8>]) -> Result<(BundleInfo, Engine), BundleError> {
    let keys = trusted_keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let bytes = <[u8; 32]>::try_from(key.as_slice()).map_err(|_| {
                BundleError::BadKey(format!("trusted key {i} is {} bytes, not 32", key.len()))
            })?;
            PublicKey::from_bytes(bytes)
                .map_err(|err| BundleError::BadKey(format!("trusted key {i}: {err}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bundle = Bundle::load(bundle, &keys).map_err(bundle_error)?;
    let info = bundle_info(&bundle);
    Ok((info, Engine::new(bundle.into_policy())))
}

/// The rollback rule (`e911_policy::admit`, the same for every host) applied to a bundle
/// just loaded, given the revision this instance runs.
fn admit(
    running: Option<&str>,
    (info, engine): (BundleInfo, Engine),
    rollback: bindings::Rollback,
) -> Result<(BundleInfo, Engine, Admitted), BundleError> {
    let rollback = match rollback {
        bindings::Rollback::Refuse => Rollback::Refuse,
        bindings::Rollback::Allow => Rollback::Allow,
    };
    match e911_policy::admit(running, &info.revision, rollback) {
        Ok(admitted) => Ok((info, engine, admitted)),
        Err(older) => Err(BundleError::OlderRevision(OlderRevision {
            offered: older.offered,
            running: older.running,
        })),
    }
}

fn bundle_info(bundle: &Bundle) -> BundleInfo {
    let info = bundle.info();
    let c = bundle.counts();
    let dial_plan = bundle.policy().dial_plan();
    BundleInfo {
        revision: info.revision.clone(),
        digest: info.digest_hex(),
        signer_key_id: info.signer_key_id(),
        format_version: info.format_version,
        size: u64::try_from(info.size).unwrap_or(u64::MAX),
        counts: BundleCounts {
            erls: c.erls,
            subnets: c.subnets,
            bssids: c.bssids,
            chassis: c.chassis,
            ports: c.ports,
            policies: c.policies,
            sites: c.sites,
            routes: c.routes,
            callers: c.callers,
        },
        emergency_numbers: dial_plan.numbers,
        outside_line_prefixes: dial_plan.prefixes,
    }
}

fn bundle_error(err: LoadError) -> BundleError {
    match err {
        LoadError::TooLarge { size, .. } => {
            BundleError::TooLarge(u64::try_from(size).unwrap_or(u64::MAX))
        }
        LoadError::BadMagic => BundleError::BadMagic,
        LoadError::UnsupportedVersion(v) => BundleError::UnsupportedVersion(v),
        LoadError::Truncated => BundleError::Truncated,
        LoadError::DigestMismatch => BundleError::DigestMismatch,
        LoadError::Unsigned => BundleError::Unsigned,
        LoadError::UntrustedSigner { key_id } => BundleError::UntrustedSigner(key_id),
        LoadError::BadSignature => BundleError::BadSignature,
        LoadError::Malformed(what) => BundleError::Malformed(what.to_owned()),
    }
}

/// A refusal in words, for the log.
fn describe(err: &BundleError) -> String {
    match err {
        BundleError::TooLarge(size) => format!("bundle is {size} bytes, too large"),
        BundleError::BadMagic => "not a policy bundle (wrong magic bytes)".to_owned(),
        BundleError::UnsupportedVersion(v) => format!("bundle format version {v} not supported"),
        BundleError::Truncated => "bundle is truncated".to_owned(),
        BundleError::DigestMismatch => "bundle content does not match its digest".to_owned(),
        BundleError::Unsigned => "bundle is unsigned, but trusted keys are given".to_owned(),
        BundleError::UntrustedSigner(key_id) => {
            format!("bundle is signed by key {key_id}, which is not trusted")
        }
        BundleError::BadSignature => "bundle signature does not verify".to_owned(),
        BundleError::Malformed(what) => format!("bundle content is malformed: {what}"),
        BundleError::BadKey(what) => what.clone(),
        BundleError::OlderRevision(older) => e911_policy::OlderRevision {
            offered: older.offered.clone(),
            running: older.running.clone(),
        }
        .to_string(),
    }
}

/// The verdict before any bundle is configured: forward unchanged, as the engine does for
/// anything it does not act on.
fn unconfigured(now: u64) -> e911_engine::Verdict {
    let trace = vec!["no policy bundle configured: forwarded unchanged".to_owned()];
    let mut verdict = e911_engine::Verdict::unchanged(now, String::new(), trace);
    verdict.metrics.push(e911_engine::Metric::Unconfigured);
    verdict
}

/// One log line for an emergency, test or callback decision, or a degraded one.
fn log_line(verdict: &e911_engine::Verdict) -> Option<String> {
    let r = &verdict.report;
    if r.kind == e911_engine::Kind::None && r.degraded.is_none() {
        return None;
    }
    let mut line = String::with_capacity(192);
    line.extend([
        r.kind.as_str(),
        " call ",
        r.call_id.as_deref().unwrap_or("(no Call-ID)"),
    ]);
    if let Some(route) = &r.route {
        line.extend([
            ": route ",
            &route.id,
            " (",
            route.kind.as_str(),
            ") to ",
            &route.target,
        ]);
    }
    if let Some(erl) = r.location.as_ref().and_then(|l| l.erl.as_deref()) {
        line.extend([", ERL ", erl]);
    }
    if let Some(elin) = &r.elin {
        line.extend([", ELIN ", elin]);
    }
    if let Some(why) = &r.degraded {
        line.extend([", degraded: ", why]);
    }
    line.extend([", bundle ", &r.bundle_revision]);
    Some(line)
}

fn ip_addr(ip: IpAddress) -> IpAddr {
    match ip {
        IpAddress::Ipv4((a, b, c, d)) => IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
        IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => {
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h))
        }
    }
}

fn transport(t: bindings::Transport) -> Transport {
    match t {
        bindings::Transport::Udp => Transport::Udp,
        bindings::Transport::Tcp => Transport::Tcp,
        bindings::Transport::Tls => Transport::Tls,
    }
}

fn notification(n: e911_engine::Notification) -> notifier::Notification {
    notifier::Notification {
        target: n.target,
        webhook: n.webhook,
        sip: n.sip,
        text: n.text,
        json: n.json,
    }
}

fn output(output: e911_engine::Output) -> Output {
    match output {
        e911_engine::Output::Unchanged => Output::Unchanged,
        e911_engine::Output::Rewritten(bytes) => Output::Rewritten(bytes),
    }
}

fn route_kind(kind: e911_engine::RouteKind) -> RouteKind {
    match kind {
        e911_engine::RouteKind::SipTrunk => RouteKind::SipTrunk,
        e911_engine::RouteKind::ElinGateway => RouteKind::ElinGateway,
        e911_engine::RouteKind::LocalGateway => RouteKind::LocalGateway,
        e911_engine::RouteKind::Ecrc => RouteKind::Ecrc,
    }
}

fn route_reason(reason: e911_engine::RouteReason) -> RouteReason {
    match reason {
        e911_engine::RouteReason::Policy => RouteReason::Policy,
        e911_engine::RouteReason::Number => RouteReason::Number,
        e911_engine::RouteReason::NoLocation => RouteReason::NoLocation,
        e911_engine::RouteReason::Unvalidated => RouteReason::Unvalidated,
        e911_engine::RouteReason::NoElin => RouteReason::NoElin,
        e911_engine::RouteReason::Failover => RouteReason::Failover,
    }
}

fn location_source(source: e911_engine::LocationSource) -> LocationSource {
    match source {
        e911_engine::LocationSource::Network => LocationSource::Network,
        e911_engine::LocationSource::Client => LocationSource::Client,
        e911_engine::LocationSource::Static => LocationSource::Static,
        e911_engine::LocationSource::ClientElin => LocationSource::ClientElin,
    }
}

fn element_kind(kind: e911_engine::ElementKind) -> ElementKind {
    match kind {
        e911_engine::ElementKind::Bssid => ElementKind::Bssid,
        e911_engine::ElementKind::Port => ElementKind::Port,
        e911_engine::ElementKind::Chassis => ElementKind::Chassis,
        e911_engine::ElementKind::Subnet => ElementKind::Subnet,
    }
}

fn mismatch(value: e911_engine::Mismatch) -> Mismatch {
    match value {
        e911_engine::Mismatch::NotCompared => Mismatch::NotCompared,
        e911_engine::Mismatch::Agrees => Mismatch::Agrees,
        e911_engine::Mismatch::Differs => Mismatch::Differs,
    }
}

fn metric(value: e911_engine::Metric) -> Metric {
    match value {
        e911_engine::Metric::Messages => Metric::Messages,
        e911_engine::Metric::Emergency => Metric::Emergency,
        e911_engine::Metric::Test => Metric::Test,
        e911_engine::Metric::Degraded => Metric::Degraded,
        e911_engine::Metric::CallbackMatched => Metric::CallbackMatched,
        e911_engine::Metric::CallbackExpired => Metric::CallbackExpired,
        e911_engine::Metric::RouteSipTrunk => Metric::RouteSipTrunk,
        e911_engine::Metric::RouteElinGateway => Metric::RouteElinGateway,
        e911_engine::Metric::RouteLocalGateway => Metric::RouteLocalGateway,
        e911_engine::Metric::RouteEcrc => Metric::RouteEcrc,
        e911_engine::Metric::RouteNone => Metric::RouteNone,
        e911_engine::Metric::LocationNetwork => Metric::LocationNetwork,
        e911_engine::Metric::LocationClient => Metric::LocationClient,
        e911_engine::Metric::LocationStatic => Metric::LocationStatic,
        e911_engine::Metric::LocationClientElin => Metric::LocationClientElin,
        e911_engine::Metric::LocationNone => Metric::LocationNone,
        e911_engine::Metric::Unconfigured => Metric::Unconfigured,
        e911_engine::Metric::Trap => Metric::Trap,
        e911_engine::Metric::CallbackStoreDegraded => Metric::CallbackStoreDegraded,
    }
}

/// The engine's verdict as WIT records.
fn to_wit(verdict: e911_engine::Verdict) -> Verdict {
    let audit = verdict.is_audited();
    let e911_engine::Verdict {
        report,
        output: output_bytes,
        edits,
        alternates,
        notifications,
        metrics,
    } = verdict;
    Verdict {
        kind: match report.kind {
            e911_engine::Kind::Emergency => CallKind::Emergency,
            e911_engine::Kind::Test => CallKind::Test,
            e911_engine::Kind::Callback => CallKind::Callback,
            e911_engine::Kind::None => CallKind::None,
        },
        output: output(output_bytes),
        edits: edits.into_iter().map(edit_op).collect(),
        route: report.route.map(|r| Route {
            id: r.id,
            kind: route_kind(r.kind),
            trunk: r.trunk,
            target: r.target,
            reason: route_reason(r.reason),
            failover: r.failover,
        }),
        alternates: alternates
            .into_iter()
            .map(|a| Attempt {
                route: a.route,
                kind: route_kind(a.kind),
                trunk: a.trunk,
                target: a.target,
                output: output(a.output),
            })
            .collect(),
        location: report.location.map(|l| Location {
            source: location_source(l.source),
            erl: l.erl,
            element: l.element.map(element_kind),
            method: l.method,
            validated: l.validated,
            mismatch: mismatch(l.mismatch),
            address: l.address,
        }),
        policy: report.policy,
        policy_reason: report.policy_reason,
        elin: report.elin,
        degraded: report.degraded,
        read_leniently: report.read_leniently,
        bundle_revision: report.bundle_revision.to_string(),
        call_id: report.call_id,
        caller: report.caller,
        dialed: report.dialed,
        trace: report.trace,
        notifications: notifications.into_iter().map(notification).collect(),
        metrics: metrics.into_iter().map(metric).collect(),
        audit,
    }
}

fn edit_op(op: e911_engine::EditOp) -> EditOp {
    match op {
        e911_engine::EditOp::SetRequestUri(uri) => EditOp::SetRequestUri(uri),
        e911_engine::EditOp::InsertHeader {
            name,
            value,
            position,
        } => EditOp::InsertHeader(InsertHeader {
            name: name.into_owned(),
            value,
            position: match position {
                e911_engine::Position::End => Position::End,
                e911_engine::Position::Before(field) => Position::Before(field),
            },
        }),
        e911_engine::EditOp::ReplaceHeader { field, value } => {
            EditOp::ReplaceHeader(ReplaceHeader { field, value })
        }
        e911_engine::EditOp::RemoveHeader { field } => EditOp::RemoveHeader(field),
        e911_engine::EditOp::SetBody { content_type, body } => {
            EditOp::SetBody(SetBody { content_type, body })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use e911_engine::MemoryStore;
    use e911_policy::{SecretKey, Sources};

    use super::*;

    fn root() -> &'static Path {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
    }

    fn contoso() -> e911_policy::Policy {
        contoso_at("2026.11.1")
    }

    /// Contoso's policy with `bundle.toml` saying `revision`.
    fn contoso_at(revision: &str) -> e911_policy::Policy {
        let mut sources = Sources::new();
        for entry in std::fs::read_dir(root().join("policies/contoso")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let mut bytes = std::fs::read(&path).unwrap();
            if name == "bundle.toml" {
                let text = String::from_utf8(bytes).unwrap();
                assert!(text.contains("\"2026.11.1\""));
                bytes = text
                    .replace("\"2026.11.1\"", &format!("\"{revision}\""))
                    .into_bytes();
            }
            sources.add(name, &bytes);
        }
        sources.compile().unwrap()
    }

    #[test]
    fn an_older_revision_is_refused_unless_rollback_is_allowed() {
        let older = contoso_at("2025.11.1").write_bundle(None).unwrap();
        let refused = load(&older, &[])
            .and_then(|loaded| admit(Some("2026.11.1"), loaded, bindings::Rollback::Refuse));
        let Err(err) = refused else {
            panic!("an older revision was admitted")
        };
        assert!(matches!(&err, BundleError::OlderRevision(o) if o.running == "2026.11.1"));
        assert!(describe(&err).contains("older than the running revision 2026.11.1"));

        let forced = load(&older, &[])
            .and_then(|loaded| admit(Some("2026.11.1"), loaded, bindings::Rollback::Allow));
        assert!(matches!(forced, Ok((_, _, Admitted::ForcedRollback))));
        let same = load(&older, &[])
            .and_then(|loaded| admit(Some("2025.11.01"), loaded, bindings::Rollback::Refuse));
        assert!(matches!(same, Ok((_, _, Admitted::Same))));
    }

    #[test]
    fn configure_reports_the_bundle_and_maps_every_refusal() {
        let key = SecretKey::from_seed([7; 32]);
        let trusted = vec![key.public_key().to_bytes().to_vec()];
        let signed = contoso().write_bundle(Some(&key)).unwrap();
        let (info, _engine) = load(&signed, &trusted).unwrap();
        assert_eq!(info.revision, "2026.11.1");
        assert_eq!(info.digest.len(), 64);
        assert_eq!(info.signer_key_id, Some(key.public_key().key_id()));
        assert_eq!(info.size, signed.len() as u64);
        assert!(info.counts.erls > 0 && info.counts.subnets > 0 && info.counts.policies > 0);
        assert_eq!(info.emergency_numbers, ["911", "112", "999"]);
        assert_eq!(info.outside_line_prefixes, ["9"]);

        let unsigned = contoso().write_bundle(None).unwrap();
        assert!(load(&unsigned, &[]).is_ok());
        assert!(matches!(
            load(&unsigned, &trusted),
            Err(BundleError::Unsigned)
        ));
        let other = vec![
            SecretKey::from_seed([8; 32])
                .public_key()
                .to_bytes()
                .to_vec(),
        ];
        assert!(matches!(
            load(&signed, &other),
            Err(BundleError::UntrustedSigner(id)) if id == key.public_key().key_id()
        ));
        assert!(matches!(
            load(b"not a bundle", &[]),
            Err(BundleError::BadMagic)
        ));
        assert!(matches!(
            load(&signed, &[vec![1; 31]]),
            Err(BundleError::BadKey(why)) if why.contains("31 bytes")
        ));
        let mut tampered = signed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert!(load(&tampered, &trusted).is_err());
    }

    #[test]
    fn an_emergency_verdict_keeps_every_field() {
        let engine = Engine::new(contoso());
        let message =
            std::fs::read(root().join("tests/corpus/emergency/hq-wired-911.sip")).unwrap();
        let ctx = CallCtx {
            now: 1_790_000_000,
            peer: Some(ip_addr(IpAddress::Ipv4((10, 1, 0, 25)))),
            transport: transport(bindings::Transport::Tcp),
            node: "edge-1.example",
        };
        let native = engine.on_message(&message, &ctx, &mut MemoryStore::default());
        assert!(log_line(&native).unwrap().starts_with("emergency call "));
        let wit = to_wit(native.clone());

        assert!(matches!(wit.kind, CallKind::Emergency));
        assert!(wit.audit);
        match (&wit.output, &native.output) {
            (Output::Rewritten(a), e911_engine::Output::Rewritten(b)) => assert_eq!(a, b),
            _ => panic!("not rewritten"),
        }
        assert_eq!(wit.edits.len(), native.edits.len());
        assert!(wit.edits.iter().any(|op| matches!(op, EditOp::SetBody(_))));
        let route = wit.route.unwrap();
        let native_route = native.report.route.unwrap();
        assert_eq!(
            (route.id, route.kind, route.target),
            (
                native_route.id,
                route_kind(native_route.kind),
                native_route.target
            )
        );
        assert_eq!(
            wit.location.map(|l| l.erl),
            native.report.location.map(|l| l.erl)
        );
        assert_eq!(wit.trace, native.report.trace);
        assert_eq!(wit.bundle_revision, "2026.11.1");
        assert_eq!(wit.notifications.len(), native.notifications.len());
        assert_eq!(
            wit.metrics,
            native.metrics.into_iter().map(metric).collect::<Vec<_>>()
        );
    }

    #[test]
    fn unconfigured_passes_unchanged() {
        let verdict = unconfigured(5);
        assert!(log_line(&verdict).is_none());
        let wit = to_wit(verdict);
        assert!(matches!(wit.kind, CallKind::None));
        assert!(matches!(wit.output, Output::Unchanged));
        assert!(wit.edits.is_empty() && !wit.audit && wit.bundle_revision.is_empty());
    }

    #[test]
    fn ipv6_peers_keep_their_groups() {
        assert_eq!(
            ip_addr(IpAddress::Ipv6((0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
    }
}
