//! The root context's side of the replicated callback store: once a second, one worker
//! of the process (elected through shared data, like the bundle poller) keeps a lease
//! for new mappings, writes the mappings decided while etcd did not answer, and lists
//! every mapping into the mirror the connections decide on (`crate::replicated`).

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use e911_etcd::wire;
use proxy_wasm::types::{BufferType, LogLevel};

use crate::active::HostShared;
use crate::config::EtcdStore;
use crate::replicated::{
    Keys, Push, Pushed, SYNCER_KEY, current_lease, lease_for, pending, refresh, set_lease,
};
use crate::shared::claim;
use crate::{host, metrics};

const NANOS: u64 = 1_000_000_000;

/// How long the root's requests may take: they are off every call's path.
const TIMEOUT: Duration = Duration::from_secs(1);

/// A lease is shared by the mappings written within this many seconds: one grant per
/// ten minutes instead of one per call.
const LEASE_SHARING: u64 = 600;

/// The syncer's lease in shared data outlives a missed tick or two, not a stopped VM.
const SYNCER_LEASE_NS: u64 = 3 * NANOS;

thread_local! {
    /// The member (index into the configured clusters) this worker asks first: the last
    /// one that answered, or the one after the last that failed.
    static PREFERRED: Cell<usize> = const { Cell::new(0) };
}

/// One request to etcd in flight: its token and the member it went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// The HTTP call's token.
    pub token: u32,
    /// The member (index into the configured clusters).
    pub member: usize,
}

/// Notes how member `sent.member` did: asked first while it answers, passed over for
/// the next one when it does not.
pub fn member_answered(etcd: &EtcdStore, sent: Sent, answered: bool) {
    let next = if answered {
        sent.member
    } else {
        (sent.member + 1) % etcd.clusters.len().max(1)
    };
    let _ = PREFERRED.try_with(|p| {
        if answered || p.get() == sent.member {
            p.set(next);
        }
    });
}

/// One worker's syncing state (all of it idle on the workers that are not elected).
pub struct Sync {
    holder: String,
    keys: Keys,
    /// The ELINs the last listing found, so the next one can tell which went.
    known: BTreeSet<String>,
    list: Option<Sent>,
    /// The grant in flight, with the second its lease would end.
    grant: Option<(Sent, u64)>,
    pushes: BTreeMap<u32, (Push, Sent)>,
    /// Whether etcd answered the last request (`None` before the first).
    reachable: Option<bool>,
}

impl Sync {
    /// A syncer for `etcd`, elected as `holder`.
    pub fn new(holder: &str, etcd: &EtcdStore) -> Self {
        Self {
            holder: holder.to_owned(),
            keys: Keys::new(&etcd.prefix),
            known: BTreeSet::new(),
            list: None,
            grant: None,
            pushes: BTreeMap::new(),
            reachable: None,
        }
    }

    /// One tick: the lease, the pending mappings, the listing. `window` is the longest
    /// callback window of the policy in force, in seconds.
    pub fn tick(&mut self, etcd: &EtcdStore, now_ns: u64, window: u64) {
        if !claim(
            &HostShared,
            SYNCER_KEY,
            &self.holder,
            now_ns,
            now_ns + SYNCER_LEASE_NS,
        ) {
            return;
        }
        let now = now_ns / NANOS;
        let grace = u64::from(etcd.grace_seconds);
        let needed = now + window + grace;
        if self.grant.is_none() && current_lease(&HostShared).is_none_or(|(_, ends)| ends < needed)
        {
            let ttl = window + grace + LEASE_SHARING;
            if let Some(sent) = send(etcd, wire::GRANT, &wire::grant(ttl)) {
                self.grant = Some((sent, now + ttl));
            }
        }
        let pending = pending(&HostShared);
        metrics::gauge(
            metrics::ETCD_PENDING,
            u64::try_from(pending.len()).unwrap_or(u64::MAX),
        );
        for (elin, ours) in pending {
            if self.pushes.values().any(|(p, _)| p.elin == elin) {
                continue;
            }
            let push = Push::new(&HostShared, &elin, ours);
            self.push(etcd, push);
        }
        if self.list.is_none() {
            self.list = send(etcd, wire::RANGE, &wire::list(self.keys.callbacks()));
        }
    }

    /// Takes an answer if it is one of ours (false: someone else's call).
    pub fn answered(&mut self, etcd: &EtcdStore, token: u32, body_size: usize) -> bool {
        let list = self.list.filter(|s| s.token == token);
        let grant = self.grant.filter(|(s, _)| s.token == token);
        let push = self.pushes.remove(&token);
        let Some(sent) = list
            .or(grant.map(|(s, _)| s))
            .or(push.as_ref().map(|(_, s)| *s))
        else {
            return false;
        };
        let is_list = list.is_some();
        if is_list {
            self.list = None;
        }
        if grant.is_some() {
            self.grant = None;
        }
        let answered = answer(body_size);
        member_answered(etcd, sent, answered.is_ok());
        let body = match answered {
            Ok(body) => {
                self.reachable(true);
                body
            }
            Err(why) => {
                metrics::count(metrics::ETCD_FAILURES);
                if self.reachable.is_none_or(|was| was) {
                    host::log(
                        LogLevel::Warn,
                        &format!("e911: etcd: {why}; calls decide on this proxy's copy"),
                    );
                }
                self.reachable(false);
                return true;
            }
        };
        let now = host::now_nanos() / NANOS;
        if is_list {
            match wire::listing(&body) {
                Ok((revision, listed)) => {
                    refresh(&HostShared, &self.keys, revision, &listed, &mut self.known);
                }
                Err(why) => malformed(&why),
            }
        } else if let Some((_, ends)) = grant {
            match wire::granted(&body) {
                // A few seconds' margin for the time the grant took.
                Ok(id) => {
                    set_lease(&HostShared, id, ends.saturating_sub(5));
                }
                Err(why) => malformed(&why),
            }
        } else if let Some((push, _)) = push {
            match wire::txn_answer(&body) {
                Ok(answer) => match push.answered(&HostShared, &self.keys, &answer, now) {
                    Pushed::Done(conflict) => {
                        metrics::count(metrics::ETCD_RECONCILED);
                        if let Some(conflict) = conflict {
                            metrics::count(metrics::ETCD_CONFLICTS);
                            audit_conflict(&conflict);
                        }
                    }
                    Pushed::Again(push) => self.push(etcd, push),
                },
                Err(why) => malformed(&why),
            }
        }
        true
    }

    fn push(&mut self, etcd: &EtcdStore, push: Push) {
        let lease = lease_for(
            &HostShared,
            push.ours
                .expires_at
                .saturating_add(u64::from(etcd.grace_seconds)),
        );
        if lease == 0 {
            metrics::count(metrics::ETCD_UNLEASED);
        }
        if let Some(sent) = send(etcd, wire::TXN, &push.request(&self.keys, lease)) {
            self.pushes.insert(sent.token, (push, sent));
        }
    }

    /// Notes whether etcd answers; logs when that changes.
    fn reachable(&mut self, now: bool) {
        if self.reachable == Some(false) && now {
            host::log(LogLevel::Info, "e911: etcd reachable again");
        }
        self.reachable = Some(now);
        metrics::gauge(metrics::ETCD_REACHABLE, u64::from(now));
    }
}

/// POSTs `body` to `path` on the preferred etcd member; the call, or `None` (counted as
/// a failure) when Envoy would not send it.
pub fn send(etcd: &EtcdStore, path: &str, body: &[u8]) -> Option<Sent> {
    send_within(etcd, path, body, TIMEOUT)
}

/// [`send`] with its own timeout.
pub fn send_within(etcd: &EtcdStore, path: &str, body: &[u8], timeout: Duration) -> Option<Sent> {
    let count = etcd.clusters.len().max(1);
    let member = PREFERRED.try_with(Cell::get).unwrap_or(0) % count;
    let cluster = etcd.clusters.get(member)?;
    let headers = vec![
        (":method", "POST"),
        (":path", path),
        (":authority", etcd.authority.as_str()),
        ("content-type", "application/json"),
    ];
    metrics::count(metrics::ETCD_REQUESTS);
    match host::http_call(cluster, headers, Some(body), timeout) {
        Ok(token) => Some(Sent { token, member }),
        Err(status) => {
            metrics::count(metrics::ETCD_FAILURES);
            member_answered(etcd, Sent { token: 0, member }, false);
            host::log(
                LogLevel::Warn,
                &format!("e911: request to etcd through cluster {cluster} not sent ({status:?})"),
            );
            None
        }
    }
}

/// The body of an etcd answer, or why there is none worth reading.
pub fn answer(body_size: usize) -> Result<Vec<u8>, String> {
    let status = host::call_response_header(":status").unwrap_or_default();
    let body = host::buffer(BufferType::HttpCallResponseBody, body_size);
    match status.as_str() {
        "200" => Ok(body),
        "" => Err("no answer within the wait".to_owned()),
        other => Err(format!("HTTP {other}: {}", wire::message(&body))),
    }
}

fn malformed(why: &wire::Malformed) {
    metrics::count(metrics::ETCD_FAILURES);
    host::log(LogLevel::Warn, &format!("e911: {why}"));
}

/// One audit record for two calls that met at an ELIN during an outage.
fn audit_conflict(conflict: &e911_etcd::Conflict) {
    #[derive(serde::Serialize)]
    struct Record<'a> {
        event: &'static str,
        #[serde(flatten)]
        conflict: &'a e911_etcd::Conflict,
    }
    host::log(
        LogLevel::Warn,
        &format!(
            "e911: ELIN {} was given to two calls while etcd was away; {} keeps it, {} is displaced",
            conflict.elin, conflict.kept_call_id, conflict.displaced_call_id
        ),
    );
    if let Ok(json) = serde_json::to_string(&Record {
        event: "callback-conflict",
        conflict,
    }) {
        host::log(LogLevel::Info, &format!("{}{json}", crate::AUDIT_PREFIX));
    }
}

/// The longest callback window of `engine`'s policy, in seconds (an hour without one).
pub fn longest_window(engine: Option<&e911_engine::Engine>) -> u64 {
    engine
        .and_then(|e| {
            e.policy()
                .policies()
                .iter()
                .map(|p| u64::from(p.callback_window_secs))
                .max()
        })
        .unwrap_or(3600)
}
