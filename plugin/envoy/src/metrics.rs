//! Proxy-wasm metrics, defined on first use (Envoy shows them in `/stats`, prefixed
//! `wasmcustom.`). Names are the engine's (`e911.emergency`, `e911.route.sip-trunk`…) plus
//! the adapter's own, listed here.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use e911_engine::{Metric, Word};
use proxy_wasm::types::MetricType;

use crate::host;

/// A message over `max_message_bytes` passed as received, undecided.
pub const OVERSIZE: &str = "e911.oversize";
/// Bytes that do not frame as SIP passed as received, up to the next start line.
pub const UNFRAMED: &str = "e911.unframed";
/// A bundle (configured, polled or published by another worker) was refused.
pub const RELOAD_FAILURES: &str = "e911.reload_failures";
/// A bundle became active on this worker.
pub const ACTIVATIONS: &str = "e911.bundle.activations";
/// Gauge: the first six bytes of the active bundle's digest, as a number.
pub const BUNDLE_DIGEST: &str = "e911.bundle.digest";
/// Gauge: 1 while the active bundle is unsigned (no signature vouches for it), else 0.
pub const BUNDLE_UNSIGNED: &str = "e911.bundle.unsigned";
/// Notifications handed to the notification cluster.
pub const NOTIFICATIONS_SENT: &str = "e911.notifications.sent";
/// Notifications the cluster did not accept, or that could not be sent.
pub const NOTIFICATIONS_FAILED: &str = "e911.notifications.failed";
/// An ELIN written while another worker wrote it too (see `shared::SharedCallbacks`).
pub const ELIN_CONFLICTS: &str = "e911.elin.conflicts";
/// A host call on the data path failed (the data was forwarded as received).
pub const HOST_ERRORS: &str = "e911.host_errors";

/// Requests sent to etcd (transactions, listings, lease grants).
pub const ETCD_REQUESTS: &str = "e911.etcd.requests";
/// Requests to etcd that got no answer in time, or an error.
pub const ETCD_FAILURES: &str = "e911.etcd.failures";
/// Decisions whose transaction lost to another proxy's write (decided again).
pub const ETCD_LOST_RACES: &str = "e911.etcd.lost_races";
/// Calls forwarded on this proxy's copy because etcd did not confirm in time.
pub const ETCD_DEGRADED: &str = "e911.etcd.degraded";
/// Mappings decided during an outage, written to etcd afterwards.
pub const ETCD_RECONCILED: &str = "e911.etcd.reconciled";
/// Of those, the ones that met another proxy's call at the same ELIN.
pub const ETCD_CONFLICTS: &str = "e911.etcd.conflicts";
/// Mappings written without a lease (none granted yet): they stay until overwritten.
pub const ETCD_UNLEASED: &str = "e911.etcd.unleased";
/// Gauge: mappings waiting to be written to etcd.
pub const ETCD_PENDING: &str = "e911.etcd.pending";
/// Gauge: 1 while the last request of the syncing worker reached etcd.
pub const ETCD_REACHABLE: &str = "e911.etcd.reachable";
/// Histogram: what a call that used the store waited for etcd, in microseconds.
pub const ETCD_WAIT_US: &str = "e911.etcd.wait_us";

/// Counters worth seeing at zero in `/stats` from the start.
pub const PREDEFINED: &[&str] = &[
    Metric::Messages.as_str(),
    Metric::Emergency.as_str(),
    Metric::Test.as_str(),
    Metric::Degraded.as_str(),
    Metric::CallbackMatched.as_str(),
    Metric::RouteSipTrunk.as_str(),
    Metric::RouteElinGateway.as_str(),
    Metric::RouteLocalGateway.as_str(),
    Metric::RouteEcrc.as_str(),
    Metric::LocationNetwork.as_str(),
    Metric::LocationClient.as_str(),
    Metric::LocationNone.as_str(),
    OVERSIZE,
    UNFRAMED,
    RELOAD_FAILURES,
    ACTIVATIONS,
    NOTIFICATIONS_SENT,
    NOTIFICATIONS_FAILED,
];

thread_local! {
    static IDS: RefCell<BTreeMap<&'static str, u32>> = const { RefCell::new(BTreeMap::new()) };
}

fn id(kind: MetricType, name: &'static str) -> Option<u32> {
    // `try_` forms: a metric is never worth a panic (see `crate::host`).
    IDS.try_with(|ids| {
        let mut ids = ids.try_borrow_mut().ok()?;
        if let Some(id) = ids.get(name) {
            return Some(*id);
        }
        let id = host::define_metric(kind, name)?;
        ids.insert(name, id);
        Some(id)
    })
    .ok()
    .flatten()
}

thread_local! {
    /// The engine's counters by [`Metric`]: a verdict's counts look up no name.
    static ENGINE_IDS: RefCell<[Option<u32>; <Metric as Word>::ALL.len()]> =
        const { RefCell::new([None; <Metric as Word>::ALL.len()]) };
}

thread_local! {
    /// `e911.messages` counted since the last [`flush`].
    static MESSAGES: Cell<u64> = const { Cell::new(0) };
}

/// Adds one to one of the engine's counters. `e911.messages`, which every message of every
/// call counts, is added up here and handed to Envoy by [`flush`] once a tick: a crossing
/// out of the VM per message was a measurable part of what the filter costs per call.
pub fn count_engine(metric: Metric) {
    if metric == Metric::Messages {
        let _ = MESSAGES.try_with(|n| n.set(n.get().saturating_add(1)));
        return;
    }
    increment_engine(metric, 1);
}

/// Hands the messages counted since the last call to `e911.messages` (the root context
/// calls it every tick).
pub fn flush() {
    let counted = MESSAGES.try_with(|n| n.replace(0)).unwrap_or(0);
    if counted > 0 {
        increment_engine(Metric::Messages, i64::try_from(counted).unwrap_or(i64::MAX));
    }
}

fn increment_engine(metric: Metric, by: i64) {
    let id = ENGINE_IDS
        .try_with(|ids| {
            let mut ids = ids.try_borrow_mut().ok()?;
            let slot = ids.get_mut(metric as usize)?;
            if slot.is_none() {
                *slot = id(MetricType::Counter, metric.as_str());
            }
            *slot
        })
        .ok()
        .flatten();
    if let Some(id) = id {
        host::increment(id, by);
    }
}

/// Adds one to a counter.
pub fn count(name: &'static str) {
    if let Some(id) = id(MetricType::Counter, name) {
        host::increment(id, 1);
    }
}

/// Records one value of a histogram.
pub fn histogram(name: &'static str, value: u64) {
    if let Some(id) = id(MetricType::Histogram, name) {
        host::record(id, value);
    }
}

/// Sets a gauge.
pub fn gauge(name: &'static str, value: u64) {
    if let Some(id) = id(MetricType::Gauge, name) {
        host::record(id, value);
    }
}

/// The adapter's counters for the replicated callback store, defined when it is
/// configured.
pub const ETCD_COUNTERS: &[&str] = &[
    ETCD_REQUESTS,
    ETCD_FAILURES,
    ETCD_LOST_RACES,
    ETCD_DEGRADED,
    ETCD_RECONCILED,
    ETCD_CONFLICTS,
    ETCD_UNLEASED,
];

/// Defines the counters of [`PREDEFINED`], and [`ETCD_COUNTERS`] with `etcd`.
pub fn predefine(etcd: bool) {
    let etcd = if etcd { ETCD_COUNTERS } else { &[] };
    for name in PREDEFINED.iter().chain(etcd) {
        let _ = id(MetricType::Counter, name);
    }
}
