//! ELIN callback state shared with other proxies through etcd (`"callback_store":
//! {"etcd": …}`), as the Envoy filter keeps it: the rules, over shared data, with no
//! host calls of their own, so they are tested here like the rest of the filter.
//!
//! Envoy's filter cannot block on a request, so a decision is made optimistically and
//! confirmed in one round trip:
//!
//! 1. the engine decides on this proxy's copy of etcd's mappings (the *mirror*, in shared
//!    data, one key per ELIN with the `mod_revision` etcd had for it), through
//!    [`Recording`], which notes what the decision read and what it would write;
//! 2. a decision that touched the store becomes a [`Plan`]: one etcd transaction that
//!    compares the revisions the decision relied on and writes its mappings;
//! 3. the connection waits for the answer (at most `wait_ms`). Written: the message is
//!    forwarded as decided. Lost: another proxy wrote first; the answer carries what the
//!    compared keys hold now, the mirror takes it, and the message is decided again. No
//!    answer: the message goes out as decided on the mirror, marked degraded, and its
//!    mappings wait in [`PENDING_KEY`] until the root context writes them ([`Push`]).
//!
//! What the transaction compares: the keys the decision writes, at the revision of its
//! first read of each (0: absent), so two proxies that both saw an ELIN free cannot both
//! take it; a decision that writes nothing (a PSAP callback) compares what it read, so a
//! callback never acts on a mirror older than etcd. Reads of other ELINs (the engine
//! reads a whole pool to choose one) are not compared: a stale one can only make the
//! choice less even, never give one ELIN to two callers.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use e911_engine::{CallbackEntry, CallbackStore};
use e911_etcd::wire::{self, Kv, Put, Txn};
use e911_etcd::{Conflict, Settle, settle};
use serde::{Deserialize, Serialize};

use crate::shared::Shared;

/// Prefix of one ELIN's mirrored mapping (JSON of [`Mirrored`]; empty: none).
pub const MIRROR_PREFIX: &str = "e911.etcd.elin.";
/// Mappings decided while etcd did not answer, waiting to be written (JSON map of ELIN
/// to `CallbackEntry`).
pub const PENDING_KEY: &str = "e911.etcd.pending";
/// The lease new mappings are written under: `<id> <second it ends>`.
pub const LEASE_KEY: &str = "e911.etcd.lease";
/// Which worker's root syncs with etcd: `<holder> <expiry in ns>` (as the bundle
/// poller's lease).
pub const SYNCER_KEY: &str = "e911.etcd.syncer";

/// How many times a call is decided again after losing a race for an ELIN before it
/// goes out with its last choice, degraded.
pub const TRIES: u8 = 3;

/// Bounded CAS loops on shared data: another worker writing the same key this many
/// times in a row is not contention but a fault.
const CAS_TRIES: usize = 8;

/// One ELIN's mapping as this proxy last knew etcd to hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mirrored {
    /// The key's `mod_revision` in etcd (what a transaction compares); for a mapping
    /// decided while etcd was away, the revision it replaces.
    pub rev: i64,
    /// The mapping.
    pub entry: CallbackEntry,
    /// Decided here and not confirmed by etcd yet (its transaction is in flight, or
    /// pending): `rev` is the revision it replaces.
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub tentative: bool,
}

impl Mirrored {
    /// A mapping as etcd holds it at `rev`.
    pub fn confirmed(rev: i64, entry: CallbackEntry) -> Self {
        Self {
            rev,
            entry,
            tentative: false,
        }
    }
}

/// The etcd keys of one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    callbacks: String,
}

impl Keys {
    /// The keys under `prefix` (`/e911/`): mappings at `<prefix>callbacks/<ELIN>`.
    pub fn new(prefix: &str) -> Self {
        Self {
            callbacks: format!("{prefix}callbacks/"),
        }
    }

    /// The key of `elin`'s mapping.
    pub fn key(&self, elin: &str) -> String {
        format!("{}{elin}", self.callbacks)
    }

    /// The prefix every mapping's key starts with.
    pub fn callbacks(&self) -> &str {
        &self.callbacks
    }

    /// The ELIN of a mapping's key.
    pub fn elin<'k>(&self, key: &'k str) -> Option<&'k str> {
        key.strip_prefix(&self.callbacks)
    }
}

/// The mirrored mapping of `elin`, if any.
pub fn mirrored(shared: &dyn Shared, elin: &str) -> Option<Mirrored> {
    let (value, _) = shared.get(&format!("{MIRROR_PREFIX}{elin}"))?;
    serde_json::from_slice(&value).ok()
}

/// Replaces the mirrored mapping of `elin` (`None`: etcd has none). False when the
/// host refused.
pub fn mirror(shared: &dyn Shared, elin: &str, mirrored: Option<&Mirrored>) -> bool {
    let value = mirrored
        .and_then(|m| serde_json::to_vec(m).ok())
        .unwrap_or_default();
    shared
        .set(&format!("{MIRROR_PREFIX}{elin}"), &value, None)
        .is_ok()
}

/// The mirror as a `CallbackStore` that writes nothing: it notes the revision of the
/// first read of each ELIN and the mappings the decision would write.
pub struct Recording<'a> {
    shared: &'a dyn Shared,
    reads: RefCell<BTreeMap<String, i64>>,
    writes: BTreeMap<String, CallbackEntry>,
}

impl<'a> Recording<'a> {
    /// A recording store over the mirror in `shared`.
    pub fn new(shared: &'a dyn Shared) -> Self {
        Self {
            shared,
            reads: RefCell::new(BTreeMap::new()),
            writes: BTreeMap::new(),
        }
    }

    /// The transaction that confirms the decision, or `None` when it did not use the
    /// store (every message but emergency calls on ELIN routes and PSAP callbacks).
    pub fn plan(self) -> Option<Plan> {
        let reads = self.reads.into_inner();
        if self.writes.is_empty() && reads.is_empty() {
            return None;
        }
        let read = reads.keys().cloned().collect();
        let compares = if self.writes.is_empty() {
            reads.into_iter().collect()
        } else {
            self.writes
                .keys()
                .map(|elin| (elin.clone(), reads.get(elin).copied().unwrap_or(0)))
                .collect()
        };
        Some(Plan {
            compares,
            puts: self.writes.into_iter().collect(),
            read,
        })
    }
}

impl CallbackStore for Recording<'_> {
    fn get(&self, elin: &str) -> Option<CallbackEntry> {
        let found = mirrored(self.shared, elin);
        if let Ok(mut reads) = self.reads.try_borrow_mut() {
            // The first read is the one the engine chose by (see `e911_etcd::Session`).
            reads
                .entry(elin.to_owned())
                .or_insert_with(|| found.as_ref().map_or(0, |m| m.rev));
        }
        found.map(|m| m.entry)
    }

    fn put(&mut self, elin: &str, entry: CallbackEntry) {
        self.writes.insert(elin.to_owned(), entry);
    }
}

/// One decision's transaction: what it compares and what it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// (ELIN, the revision the decision relied on; 0: absent).
    pub compares: Vec<(String, i64)>,
    /// The mappings it writes.
    pub puts: Vec<(String, CallbackEntry)>,
    /// Every ELIN it read. A lost transaction reads them all back, so the decision made
    /// again sees the whole pool as etcd has it, not only the ELIN it lost.
    pub read: Vec<String>,
}

/// How a transaction's answer went for a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmed {
    /// etcd agreed: forward as decided.
    Yes,
    /// Another proxy wrote first: the mirror now holds what etcd holds; decide again.
    Lost,
}

impl Plan {
    /// The transaction's body, with new mappings under `lease` (0: none).
    pub fn request(&self, keys: &Keys, lease: i64) -> Vec<u8> {
        let compared: Vec<(String, i64)> = self
            .compares
            .iter()
            .map(|(elin, rev)| (keys.key(elin), *rev))
            .collect();
        let compares: Vec<(&str, i64)> = compared.iter().map(|(k, r)| (k.as_str(), *r)).collect();
        let values: Vec<(String, Vec<u8>)> = self
            .puts
            .iter()
            .map(|(elin, entry)| {
                (
                    keys.key(elin),
                    serde_json::to_vec(entry).unwrap_or_default(),
                )
            })
            .collect();
        let puts: Vec<Put<'_>> = values
            .iter()
            .map(|(key, value)| Put { key, value, lease })
            .collect();
        let read: Vec<String> = self.read.iter().map(|elin| keys.key(elin)).collect();
        let read: Vec<&str> = read.iter().map(String::as_str).collect();
        wire::txn(&compares, &puts, &read)
    }

    /// Takes etcd's answer into the mirror.
    pub fn answered(&self, shared: &dyn Shared, keys: &Keys, answer: &Txn) -> Confirmed {
        match answer {
            Txn::Written { revision } => {
                for (elin, entry) in &self.puts {
                    let mirrored = Mirrored::confirmed(*revision, entry.clone());
                    mirror(shared, elin, Some(&mirrored));
                }
                Confirmed::Yes
            }
            Txn::Lost(current) => {
                let now = |elin: &str| {
                    let key = keys.key(elin);
                    current
                        .iter()
                        .find(|(k, _)| *k == key)
                        .and_then(|(_, kv)| decode(kv))
                };
                for (elin, _) in &self.compares {
                    mirror(shared, elin, now(elin).as_ref());
                }
                // The other ELINs read, unless this proxy has a newer word on them: a
                // decision still waiting, or a mapping etcd does not have yet.
                let pending = pending(shared);
                for elin in &self.read {
                    let compared = self.compares.iter().any(|(e, _)| e == elin);
                    let ours = mirrored(shared, elin).is_some_and(|m| m.tentative);
                    if !compared && !ours && !pending.contains_key(elin) {
                        mirror(shared, elin, now(elin).as_ref());
                    }
                }
                Confirmed::Lost
            }
        }
    }

    /// The decision waits for etcd: the mirror takes its mappings now (keeping the
    /// revisions they replace, which the transaction compares), so the next decision on
    /// this proxy, made before the answer comes, sees the ELIN taken and chooses
    /// another. The answer then puts etcd's revision or etcd's mapping in their place.
    pub fn tentative(&self, shared: &dyn Shared) {
        for (elin, entry) in &self.puts {
            let rev = mirrored(shared, elin).map_or(0, |m| m.rev);
            let local = Mirrored {
                rev,
                entry: entry.clone(),
                tentative: true,
            };
            mirror(shared, elin, Some(&local));
        }
    }

    /// etcd did not answer: the decision stands on the mirror, which keeps its mappings
    /// (see [`tentative`](Self::tentative)), and they wait to be written.
    pub fn unanswered(&self, shared: &dyn Shared) -> bool {
        self.tentative(shared);
        update_pending(shared, |pending| {
            for (elin, entry) in &self.puts {
                pending.insert(elin.clone(), entry.clone());
            }
        })
    }
}

fn decode(kv: &Kv) -> Option<Mirrored> {
    Some(Mirrored::confirmed(
        kv.mod_revision,
        serde_json::from_slice(&kv.value).ok()?,
    ))
}

/// Mappings waiting to be written.
pub fn pending(shared: &dyn Shared) -> BTreeMap<String, CallbackEntry> {
    shared
        .get(PENDING_KEY)
        .and_then(|(value, _)| serde_json::from_slice(&value).ok())
        .unwrap_or_default()
}

/// Changes the pending mappings by CAS, so workers adding at once lose nothing. False
/// when it could not (the host refused, or endless contention).
fn update_pending(
    shared: &dyn Shared,
    change: impl Fn(&mut BTreeMap<String, CallbackEntry>),
) -> bool {
    for _ in 0..CAS_TRIES {
        let (mut pending, cas) = match shared.get(PENDING_KEY) {
            Some((value, cas)) => (
                serde_json::from_slice(&value).unwrap_or_default(),
                Some(cas),
            ),
            None => (BTreeMap::new(), None),
        };
        change(&mut pending);
        let Ok(value) = serde_json::to_vec(&pending) else {
            return false;
        };
        match shared.set(PENDING_KEY, &value, cas) {
            Ok(()) => return true,
            Err(crate::shared::SetError::Conflict) => continue,
            Err(crate::shared::SetError::Failed) => return false,
        }
    }
    false
}

/// The lease a mapping open until `until` (plus grace) can be written under: the
/// shared one if it lasts long enough, else 0 (written without a lease; the root grants
/// a longer one on its next tick).
pub fn lease_for(shared: &dyn Shared, until: u64) -> i64 {
    match current_lease(shared) {
        Some((id, ends)) if ends >= until => id,
        _ => 0,
    }
}

/// The shared lease: (id, the second it ends).
pub fn current_lease(shared: &dyn Shared) -> Option<(i64, u64)> {
    let (value, _) = shared.get(LEASE_KEY)?;
    let text = String::from_utf8(value).ok()?;
    let (id, ends) = text.split_once(' ')?;
    Some((id.parse().ok()?, ends.parse().ok()?))
}

/// Publishes a granted lease.
pub fn set_lease(shared: &dyn Shared, id: i64, ends: u64) -> bool {
    shared
        .set(LEASE_KEY, format!("{id} {ends}").as_bytes(), None)
        .is_ok()
}

/// Takes a listing of every mapping, read at cluster `revision`, into the mirror: those
/// etcd has, and none for the ELINs in `known` that etcd no longer has (their lease
/// ended). `known` becomes the listed ELINs. Two kinds of mirrored mapping are newer
/// than the listing and stay: those still pending here, and those a transaction wrote
/// after the listing was read (the answers of both can cross on the way).
pub fn refresh(
    shared: &dyn Shared,
    keys: &Keys,
    revision: i64,
    listed: &[(String, Kv)],
    known: &mut BTreeSet<String>,
) {
    let pending = pending(shared);
    let newer = |elin: &str| mirrored(shared, elin).is_some_and(|m| m.rev > revision);
    let mut now_known = BTreeSet::new();
    for (key, kv) in listed {
        let Some(elin) = keys.elin(key) else {
            continue;
        };
        now_known.insert(elin.to_owned());
        if pending.contains_key(elin) || newer(elin) {
            continue;
        }
        let fresh = decode(kv);
        if mirrored(shared, elin) != fresh {
            mirror(shared, elin, fresh.as_ref());
        }
    }
    for gone in known.difference(&now_known) {
        if !pending.contains_key(gone) && !newer(gone) {
            mirror(shared, gone, None);
        }
    }
    *known = now_known;
}

/// Writing one pending mapping, by compare-and-swap, until it is written or settled
/// against another proxy's (the rule of [`e911_etcd::reconcile`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// The ELIN.
    pub elin: String,
    /// The mapping decided here.
    pub ours: CallbackEntry,
    /// The revision the next swap expects.
    rev: i64,
    /// The open mapping ours replaces, reported once ours is written.
    displacing: Option<CallbackEntry>,
}

/// What a push's answer settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    /// Done (written, or settled); a conflict to audit, if two calls met.
    Done(Option<Conflict>),
    /// Another write came first and ours still wins: swap again.
    Again(Push),
}

impl Push {
    /// Starts writing `ours` at `elin`, expecting the revision the mirror has.
    pub fn new(shared: &dyn Shared, elin: &str, ours: CallbackEntry) -> Self {
        Self {
            elin: elin.to_owned(),
            rev: mirrored(shared, elin).map_or(0, |m| m.rev),
            ours,
            displacing: None,
        }
    }

    /// The swap's body.
    pub fn request(&self, keys: &Keys, lease: i64) -> Vec<u8> {
        Plan {
            compares: vec![(self.elin.clone(), self.rev)],
            puts: vec![(self.elin.clone(), self.ours.clone())],
            read: Vec::new(),
        }
        .request(keys, lease)
    }

    /// Takes etcd's answer: the mirror and the pending mappings follow it.
    pub fn answered(self, shared: &dyn Shared, keys: &Keys, answer: &Txn, now: u64) -> Pushed {
        let current = match answer {
            Txn::Written { revision } => {
                let written = Mirrored::confirmed(*revision, self.ours.clone());
                self.done(shared, Some(&written));
                let conflict = self
                    .displacing
                    .as_ref()
                    .map(|theirs| Conflict::new(&self.elin, &self.ours, theirs));
                return Pushed::Done(conflict);
            }
            Txn::Lost(current) => {
                let key = keys.key(&self.elin);
                current
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, kv)| kv.clone())
            }
        };
        let theirs = current.as_ref().and_then(decode);
        match settle(&self.ours, theirs.as_ref().map(|m| &m.entry), now) {
            Settle::Same => {
                self.done(shared, theirs.as_ref());
                Pushed::Done(None)
            }
            Settle::KeepTheirs => {
                self.done(shared, theirs.as_ref());
                let conflict = theirs.map(|t| Conflict::new(&self.elin, &t.entry, &self.ours));
                Pushed::Done(conflict)
            }
            Settle::Replace { displacing } => Pushed::Again(Self {
                rev: current.map_or(0, |kv| kv.mod_revision),
                displacing,
                ..self
            }),
        }
    }

    /// The push is over: the mirror holds what etcd holds, and ours is no longer
    /// pending (unless a newer call at the ELIN was decided here meanwhile).
    fn done(&self, shared: &dyn Shared, now_in_etcd: Option<&Mirrored>) {
        let pending = pending(shared);
        if pending.get(&self.elin) == Some(&self.ours) {
            mirror(shared, &self.elin, now_in_etcd);
            update_pending(shared, |p| {
                if p.get(&self.elin) == Some(&self.ours) {
                    p.remove(&self.elin);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::Memory;

    const A: &str = "+13165550100";
    const B: &str = "+13165550101";

    fn entry(call_id: &str, assigned_at: u64) -> CallbackEntry {
        CallbackEntry {
            caller: format!("sip:{call_id}@example.com"),
            call_id: call_id.to_owned(),
            assigned_at,
            expires_at: assigned_at + 1800,
            uses: 1,
            policy: None,
        }
    }

    fn kv(keys: &Keys, elin: &str, e: &CallbackEntry, rev: i64) -> (String, Kv) {
        (
            keys.key(elin),
            Kv {
                value: serde_json::to_vec(e).unwrap(),
                mod_revision: rev,
            },
        )
    }

    #[test]
    fn a_decision_that_takes_an_elin_compares_only_the_elin_it_takes() {
        let m = Memory::default();
        mirror(&m, A, Some(&Mirrored::confirmed(7, entry("old", 1))));
        let mut store = Recording::new(&m);
        // The engine reads the pool, then the chosen ELIN again, then writes it.
        let _ = store.get(A);
        let _ = store.get(B);
        // A newer mirror between the reads must not move the compared revision.
        mirror(&m, A, Some(&Mirrored::confirmed(9, entry("other", 2))));
        let _ = store.get(A);
        store.put(A, entry("c1", 100));
        let plan = store.plan().unwrap();
        assert_eq!(plan.compares, vec![(A.to_owned(), 7)]);
        assert_eq!(plan.read, vec![A.to_owned(), B.to_owned()]);
        assert_eq!(plan.puts, vec![(A.to_owned(), entry("c1", 100))]);
    }

    #[test]
    fn a_callback_compares_what_it_read_and_an_ordinary_message_plans_nothing() {
        let m = Memory::default();
        assert_eq!(Recording::new(&m).plan(), None);
        let store = Recording::new(&m);
        assert_eq!(store.get(A), None);
        assert_eq!(
            store.plan().unwrap(),
            Plan {
                compares: vec![(A.to_owned(), 0)],
                puts: Vec::new(),
                read: vec![A.to_owned()],
            }
        );
    }

    #[test]
    fn answers_update_the_mirror() {
        let m = Memory::default();
        let keys = Keys::new("/e911/");
        let plan = Plan {
            compares: vec![(A.to_owned(), 0)],
            puts: vec![(A.to_owned(), entry("c1", 100))],
            read: Vec::new(),
        };
        assert_eq!(
            plan.answered(&m, &keys, &Txn::Written { revision: 12 }),
            Confirmed::Yes
        );
        assert_eq!(mirrored(&m, A).unwrap().rev, 12);
        // Lost: the mirror takes etcd's mapping, and a compared key etcd lacks goes.
        let lost = Txn::Lost(vec![kv(&keys, A, &entry("other", 101), 13)]);
        assert_eq!(plan.answered(&m, &keys, &lost), Confirmed::Lost);
        assert_eq!(
            mirrored(&m, A),
            Some(Mirrored::confirmed(13, entry("other", 101)))
        );
        assert_eq!(
            plan.answered(&m, &keys, &Txn::Lost(Vec::new())),
            Confirmed::Lost
        );
        assert_eq!(mirrored(&m, A), None);
    }

    #[test]
    fn a_lost_race_reads_the_whole_pool_back_but_keeps_this_proxy_s_newer_word() {
        let m = Memory::default();
        let keys = Keys::new("/e911/");
        let plan = Plan {
            compares: vec![(A.to_owned(), 0)],
            puts: vec![(A.to_owned(), entry("c1", 100))],
            read: vec![A.to_owned(), B.to_owned()],
        };
        let body: serde_json::Value = serde_json::from_slice(&plan.request(&keys, 0)).unwrap();
        assert_eq!(body["failure"].as_array().unwrap().len(), 2, "{body}");
        let lost = Txn::Lost(vec![
            kv(&keys, A, &entry("x", 101), 20),
            kv(&keys, B, &entry("y", 102), 21),
        ]);
        plan.answered(&m, &keys, &lost);
        assert_eq!(
            mirrored(&m, B).unwrap().rev,
            21,
            "B is fresh for the next try"
        );
        // A decision of this proxy still waiting on B keeps its word.
        let waiting = Plan {
            compares: vec![(B.to_owned(), 21)],
            puts: vec![(B.to_owned(), entry("mine", 103))],
            read: Vec::new(),
        };
        waiting.tentative(&m);
        plan.answered(&m, &keys, &lost);
        assert_eq!(mirrored(&m, B).unwrap().entry.call_id, "mine");
        assert!(mirrored(&m, B).unwrap().tentative);
    }

    #[test]
    fn the_request_names_keys_under_the_prefix_and_the_lease() {
        let keys = Keys::new("/e911/");
        let plan = Plan {
            compares: vec![(A.to_owned(), 4)],
            puts: vec![(A.to_owned(), entry("c1", 100))],
            read: Vec::new(),
        };
        let body: serde_json::Value = serde_json::from_slice(&plan.request(&keys, 77)).unwrap();
        let key = body["compare"][0]["key"].as_str().unwrap();
        use base64::Engine as _;
        let key = base64::engine::general_purpose::STANDARD
            .decode(key)
            .unwrap();
        assert_eq!(key, format!("/e911/callbacks/{A}").as_bytes());
        assert_eq!(body["compare"][0]["mod_revision"], "4");
        assert_eq!(body["success"][0]["request_put"]["lease"], "77");
    }

    #[test]
    fn an_unanswered_decision_waits_and_is_pushed_with_the_settle_rule() {
        let m = Memory::default();
        let keys = Keys::new("/e911/");
        mirror(&m, A, Some(&Mirrored::confirmed(5, entry("old", 1))));
        let plan = Plan {
            compares: vec![(A.to_owned(), 5)],
            puts: vec![(A.to_owned(), entry("ours", 200))],
            read: Vec::new(),
        };
        assert!(plan.unanswered(&m));
        assert_eq!(pending(&m).get(A), Some(&entry("ours", 200)));
        assert_eq!(mirrored(&m, A).unwrap().rev, 5, "the revision it replaces");
        // A listing does not overwrite a pending mapping.
        let mut known = BTreeSet::new();
        refresh(
            &m,
            &keys,
            6,
            &[kv(&keys, A, &entry("theirs", 150), 6)],
            &mut known,
        );
        assert_eq!(mirrored(&m, A).unwrap().entry, entry("ours", 200));

        // Another proxy's older call took it meanwhile: ours is newer and replaces it.
        let push = Push::new(&m, A, entry("ours", 200));
        let lost = Txn::Lost(vec![kv(&keys, A, &entry("theirs", 150), 6)]);
        let Pushed::Again(push) = push.answered(&m, &keys, &lost, 300) else {
            panic!("ours should be written over theirs");
        };
        let Pushed::Done(Some(conflict)) =
            push.answered(&m, &keys, &Txn::Written { revision: 8 }, 300)
        else {
            panic!("the displaced caller is reported");
        };
        assert_eq!(
            (
                conflict.kept_call_id.as_str(),
                conflict.displaced_call_id.as_str()
            ),
            ("ours", "theirs")
        );
        assert!(pending(&m).is_empty());
        assert_eq!(mirrored(&m, A).unwrap().rev, 8);

        // A newer call of theirs stays, and ours is dropped from pending.
        let plan = Plan {
            compares: vec![(B.to_owned(), 0)],
            puts: vec![(B.to_owned(), entry("late", 200))],
            read: Vec::new(),
        };
        assert!(plan.unanswered(&m));
        let push = Push::new(&m, B, entry("late", 200));
        let lost = Txn::Lost(vec![kv(&keys, B, &entry("newer", 250), 9)]);
        let Pushed::Done(Some(conflict)) = push.answered(&m, &keys, &lost, 300) else {
            panic!("theirs stays");
        };
        assert_eq!(conflict.kept_call_id, "newer");
        assert!(pending(&m).is_empty());
        assert_eq!(mirrored(&m, B).unwrap().entry.call_id, "newer");
    }

    #[test]
    fn a_listing_refreshes_and_forgets_what_etcd_let_go() {
        let m = Memory::default();
        let keys = Keys::new("/e911/");
        let mut known = BTreeSet::new();
        refresh(
            &m,
            &keys,
            4,
            &[
                kv(&keys, A, &entry("a", 1), 3),
                kv(&keys, B, &entry("b", 1), 4),
            ],
            &mut known,
        );
        assert_eq!(mirrored(&m, B).unwrap().rev, 4);
        refresh(&m, &keys, 5, &[kv(&keys, A, &entry("a", 1), 3)], &mut known);
        assert_eq!(mirrored(&m, B), None, "B's lease ended");
        assert_eq!(known.len(), 1);
        // A transaction answered after the listing was read: its mapping is newer.
        let written = Mirrored::confirmed(9, entry("fresh", 2));
        mirror(&m, A, Some(&written));
        refresh(&m, &keys, 8, &[kv(&keys, A, &entry("a", 1), 3)], &mut known);
        assert_eq!(mirrored(&m, A), Some(written));
    }

    #[test]
    fn leases_are_used_only_while_they_last() {
        let m = Memory::default();
        assert_eq!(lease_for(&m, 100), 0);
        assert!(set_lease(&m, 42, 5000));
        assert_eq!(lease_for(&m, 4000), 42);
        assert_eq!(lease_for(&m, 6000), 0);
        assert_eq!(current_lease(&m), Some((42, 5000)));
    }
}
