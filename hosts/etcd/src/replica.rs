//! One proxy's side of the replicated callback store: etcd when it answers within the
//! wait, this replica's own copy when it does not, and the catching up afterwards.
//!
//! The engine asks for ELINs one by one ([`Session::get`]) and writes the one it picked
//! ([`Session::put`]). The write is a compare-and-swap against the revision the read saw,
//! so two replicas that both saw an ELIN free cannot both take it: the second one's swap
//! fails ([`Outcome::lost_race`]) and its host decides the call again, now seeing the
//! ELIN taken. The engine does not know any of this; it only sees a `CallbackStore`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use e911_engine::{CallbackEntry, CallbackStore};

/// Seconds since the Unix epoch, as the engine counts them.
type Seconds = u64;

use crate::client::{Client, Connection, Swap};
use crate::reconcile::{Conflict, Settle, settle};
use crate::wire::Kv;

/// How long a replica stops asking etcd after a failure before it tries again on a call
/// (the background [`Replicated::sync`] keeps trying meanwhile): calls in an outage are
/// decided at once on the local copy instead of each waiting out the bound.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// How many recent request latencies the health figures are computed over.
const LATENCY_SAMPLES: usize = 1024;

/// A lease is shared by the mappings written within this many seconds: one grant per
/// minute instead of one per call.
const LEASE_SHARING: Seconds = 60;

/// What the operator configures.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The cluster and how to reach it.
    pub connection: Connection,
    /// Keys live under this prefix (`/e911/` by default): mappings at
    /// `<prefix>callbacks/<ELIN>`.
    pub prefix: String,
    /// The longest a call waits for etcd, over all its requests.
    pub wait: Duration,
    /// How long a mapping outlives its callback window, so that ELIN choice still sees
    /// how often and how recently an ELIN was used.
    pub grace: Seconds,
}

/// The replica's view of the cluster, shared by its deciders and its sync thread.
pub struct Replicated {
    client: Client,
    settings: Settings,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Mappings decided here that etcd does not have yet, by ELIN.
    pending: BTreeMap<String, CallbackEntry>,
    /// Set after a failure: calls skip etcd until then.
    down_until: Option<Instant>,
    last_error: Option<String>,
    /// The lease recent writes share, with the second it ends.
    lease: Option<(i64, Seconds)>,
    latencies_us: VecDeque<u64>,
    /// What each recent decision that used the store waited for etcd, over all its
    /// requests (and retries after a lost race): the latency the store adds to a call.
    call_waits_us: VecDeque<u64>,
    counters: Counters,
}

/// Running totals since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counters {
    /// Requests to etcd that failed or timed out.
    pub failures: u64,
    /// Decisions made on the local copy because etcd did not answer in time.
    pub fallbacks: u64,
    /// Compare-and-swaps lost to another replica (the call was decided again).
    pub lost_races: u64,
    /// Mappings written to etcd after an outage.
    pub reconciled: u64,
    /// Mappings found taken by another replica's call when written after an outage.
    pub conflicts: u64,
}

/// The store's health, for `status` and metrics.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Health {
    /// Whether the last request reached etcd.
    pub reachable: bool,
    /// Why the last failed request failed.
    pub last_error: Option<String>,
    /// Mappings waiting to be written to etcd.
    pub pending: usize,
    /// Median and 99th percentile of recent request latencies, in microseconds.
    pub latency_p50_us: u64,
    /// See `latency_p50_us`.
    pub latency_p99_us: u64,
    /// Median and 99th percentile of what recent calls that used the store waited for
    /// it (all their requests together), in microseconds.
    #[serde(default)]
    pub call_wait_p50_us: u64,
    /// See `call_wait_p50_us`.
    #[serde(default)]
    pub call_wait_p99_us: u64,
    /// Running totals.
    #[serde(flatten)]
    pub counters: Counters,
}

/// How one decision went with the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Why the decision used the local copy, if it did.
    pub degraded: Option<String>,
    /// Another replica took an ELIN first: decide the call again.
    pub lost_race: bool,
}

/// What one sync did.
#[derive(Debug, Default)]
pub struct Synced {
    /// Every mapping in etcd that this replica is not still waiting to write: the local
    /// copy to use if etcd goes away.
    pub mirror: Vec<(String, CallbackEntry)>,
    /// Mappings written during the outage that met another replica's.
    pub conflicts: Vec<Conflict>,
}

impl Replicated {
    /// A replica of the cluster in `settings`; `local` is what it had decided and not
    /// written before it stopped ([`pending`](Self::pending), saved by the host): the
    /// mappings still open are written to etcd by the first [`sync`](Self::sync) unless
    /// etcd already has them.
    pub fn new(
        settings: Settings,
        local: impl IntoIterator<Item = (String, CallbackEntry)>,
        now: Seconds,
    ) -> Result<Self> {
        let client = Client::new(&settings.connection)?;
        let pending = local
            .into_iter()
            .filter(|(_, entry)| entry.is_active(now))
            .collect();
        Ok(Self {
            client,
            settings,
            state: Mutex::new(State {
                pending,
                ..State::default()
            }),
        })
    }

    /// Health figures.
    pub fn health(&self) -> Health {
        let state = self.lock();
        let (latency_p50_us, latency_p99_us) = percentiles(&state.latencies_us);
        let (call_wait_p50_us, call_wait_p99_us) = percentiles(&state.call_waits_us);
        Health {
            reachable: state.down_until.is_none(),
            last_error: state.last_error.clone(),
            pending: state.pending.len(),
            latency_p50_us,
            latency_p99_us,
            call_wait_p50_us,
            call_wait_p99_us,
            counters: state.counters,
        }
    }

    /// Writes what is pending, then reads every mapping back: run it every second or
    /// so from a thread of its own. Clears the outage when etcd answers.
    pub fn sync(&self, now: Seconds) -> Result<Synced> {
        let deadline = Instant::now() + self.settings.wait.max(Duration::from_secs(1));
        let mut synced = Synced::default();
        let pending: Vec<(String, CallbackEntry)> = self
            .lock()
            .pending
            .iter()
            .map(|(elin, entry)| (elin.clone(), entry.clone()))
            .collect();
        for (elin, ours) in pending {
            let conflict = self.push(&elin, &ours, now, deadline)?;
            let mut state = self.lock();
            // Done unless a newer call at this ELIN was decided locally meanwhile.
            if state.pending.get(&elin) == Some(&ours) {
                state.pending.remove(&elin);
            }
            state.counters.reconciled += 1;
            if let Some(conflict) = conflict {
                state.counters.conflicts += 1;
                synced.conflicts.push(conflict);
            }
        }
        let prefix = self.callbacks_prefix();
        let listed = self.timed(|c| c.list(&prefix, deadline))?;
        let state = self.lock();
        for (key, kv) in listed {
            let Some(elin) = key.strip_prefix(&prefix) else {
                continue;
            };
            if let (false, Some(entry)) = (state.pending.contains_key(elin), decode(&kv)) {
                synced.mirror.push((elin.to_owned(), entry));
            }
        }
        Ok(synced)
    }

    /// Writes one mapping decided during an outage. When another replica's call took the
    /// ELIN meanwhile, the one assigned last stays, and the other is reported.
    fn push(
        &self,
        elin: &str,
        ours: &CallbackEntry,
        now: Seconds,
        deadline: Instant,
    ) -> Result<Option<Conflict>> {
        let key = self.key(elin);
        let lease = self.lease(ours, now, deadline)?;
        let value = serde_json::to_vec(ours)?;
        let mut revision = 0;
        // An open mapping ours is about to replace: reported once ours is written.
        let mut displacing = None;
        loop {
            let Swap::Lost(current) =
                self.timed(|c| c.swap(&key, revision, &value, lease, deadline))?
            else {
                return Ok(displacing.map(|theirs| Conflict::new(elin, ours, &theirs)));
            };
            revision = current.as_ref().map_or(0, |kv| kv.mod_revision);
            let theirs = current.as_ref().and_then(decode);
            match settle(ours, theirs.as_ref(), now) {
                Settle::Same => return Ok(None),
                Settle::KeepTheirs => {
                    return Ok(theirs.map(|theirs| Conflict::new(elin, &theirs, ours)));
                }
                // Write ours over theirs at the revision just read, naming whom it
                // displaces.
                Settle::Replace { displacing: theirs } => displacing = theirs,
            }
        }
    }

    /// A lease that outlives `entry`'s window by the grace period, shared with recent
    /// writes.
    fn lease(&self, entry: &CallbackEntry, now: Seconds, deadline: Instant) -> Result<i64> {
        let needed = entry
            .expires_at
            .max(now)
            .saturating_add(self.settings.grace);
        if let Some((id, ends)) = self.lock().lease
            && ends >= needed
        {
            return Ok(id);
        }
        let ends = needed + LEASE_SHARING;
        let id = self.timed(|c| c.grant(ends.saturating_sub(now).max(1), deadline))?;
        self.lock().lease = Some((id, ends));
        Ok(id)
    }

    /// Runs one request, timing it and noting a failure.
    fn timed<T>(&self, request: impl FnOnce(&Client) -> Result<T>) -> Result<T> {
        let started = Instant::now();
        let result = request(&self.client);
        let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let mut state = self.lock();
        sample(&mut state.latencies_us, took);
        match &result {
            Ok(_) => {
                state.down_until = None;
                state.last_error = None;
            }
            Err(err) => {
                state.counters.failures += 1;
                state.down_until = Some(Instant::now() + RETRY_AFTER);
                state.last_error = Some(format!("{err:#}"));
            }
        }
        result
    }

    fn key(&self, elin: &str) -> String {
        format!("{}{elin}", self.callbacks_prefix())
    }

    fn callbacks_prefix(&self) -> String {
        format!("{}callbacks/", self.settings.prefix)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether calls should skip etcd for now.
    fn resting(&self) -> bool {
        self.lock()
            .down_until
            .is_some_and(|until| Instant::now() < until)
    }
}

/// One decision's use of the store: start it, hand the engine a `CallbackStore` that
/// calls [`get`](Self::get) and [`put`](Self::put), and read the [`Outcome`].
#[derive(Debug, Default)]
pub struct Session {
    state: Mutex<SessionState>,
}

#[derive(Debug, Default)]
struct SessionState {
    deadline: Option<Instant>,
    /// Time spent waiting for etcd in this decision.
    waited: Duration,
    /// The revision each ELIN had when first read in this try (0: absent), for the
    /// compare-and-swap.
    seen: BTreeMap<String, i64>,
    outcome: Outcome,
}

impl Session {
    /// Begins a decision (or its retry): its wait for etcd starts now.
    pub fn start(&self, replica: &Replicated) {
        let mut session = self.lock();
        session.deadline = Some(Instant::now() + replica.settings.wait);
        session.seen.clear();
        session.outcome = Outcome::default();
    }

    /// How one try of the decision went.
    pub fn finish(&self) -> Outcome {
        std::mem::take(&mut self.lock().outcome)
    }

    /// Ends the call's decision, after its last try: records how long it waited for etcd
    /// in all its tries (for [`Health`]), if it asked etcd at all.
    pub fn end(&self, replica: &Replicated) {
        let waited = std::mem::take(&mut self.lock().waited);
        if !waited.is_zero() {
            let waited = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
            sample(&mut replica.lock().call_waits_us, waited);
        }
    }

    /// Runs one request for this decision, adding its time to the decision's wait.
    fn request<T>(
        &self,
        replica: &Replicated,
        request: impl FnOnce(&Client) -> Result<T>,
    ) -> Result<T> {
        let started = Instant::now();
        let result = replica.timed(request);
        self.lock().waited += started.elapsed();
        result
    }

    /// The entry for `elin`: etcd's, or `local`'s when etcd does not answer in time.
    pub fn get(
        &self,
        replica: &Replicated,
        local: &dyn CallbackStore,
        elin: &str,
    ) -> Option<CallbackEntry> {
        let Some(deadline) = self.etcd_deadline(replica) else {
            return local.get(elin);
        };
        match self.request(replica, |c| c.get(&replica.key(elin), deadline)) {
            Ok(found) => {
                let revision = found.as_ref().map_or(0, |kv| kv.mod_revision);
                // The first read is the one the engine chose by: a later read of the same
                // ELIN in this decision (the engine reads the chosen one again for its use
                // count) must not move the swap's expectation past another replica's
                // write, or the swap would overwrite the mapping it should lose to.
                self.lock().seen.entry(elin.to_owned()).or_insert(revision);
                match found.as_ref().and_then(decode) {
                    Some(entry) => Some(entry),
                    // Not in etcd yet, but decided here during an outage.
                    None => replica.lock().pending.get(elin).cloned(),
                }
            }
            Err(err) => {
                self.fall_back(&err);
                local.get(elin)
            }
        }
    }

    /// Stores `entry` in `local`, and in etcd if nobody wrote the ELIN since it was
    /// read; when etcd does not answer, it is written later by [`Replicated::sync`].
    pub fn put(
        &self,
        replica: &Replicated,
        local: &mut dyn CallbackStore,
        elin: &str,
        entry: CallbackEntry,
    ) {
        local.put(elin, entry.clone());
        let Some(deadline) = self.etcd_deadline(replica) else {
            replica.lock().pending.insert(elin.to_owned(), entry);
            return;
        };
        let revision = self.lock().seen.get(elin).copied().unwrap_or(0);
        let started = Instant::now();
        let written = serde_json::to_vec(&entry)
            .context("encoding a callback mapping")
            .and_then(|value| {
                let lease = replica.lease(&entry, entry.assigned_at, deadline)?;
                replica.timed(|c| c.swap(&replica.key(elin), revision, &value, lease, deadline))
            });
        self.lock().waited += started.elapsed();
        match written {
            Ok(Swap::Written) => {}
            Ok(Swap::Lost(current)) => {
                replica.lock().counters.lost_races += 1;
                self.lock().outcome.lost_race = true;
                // The local copy holds what etcd holds, not the mapping that lost.
                if let Some(theirs) = current.as_ref().and_then(decode) {
                    local.put(elin, theirs);
                }
            }
            Err(err) => {
                self.fall_back(&err);
                replica.lock().pending.insert(elin.to_owned(), entry);
            }
        }
    }

    /// The deadline for a request to etcd, or `None` when this decision uses the local
    /// copy (etcd failed earlier in it, or recently).
    fn etcd_deadline(&self, replica: &Replicated) -> Option<Instant> {
        let session = self.lock();
        if session.outcome.degraded.is_some() {
            return None;
        }
        let deadline = session.deadline?;
        drop(session);
        if replica.resting() {
            let why = replica
                .lock()
                .last_error
                .clone()
                .unwrap_or_else(|| "no answer".to_owned());
            self.degrade(format!("unreachable: {why}"));
            return None;
        }
        Some(deadline)
    }

    fn fall_back(&self, err: &anyhow::Error) {
        self.degrade(format!("did not answer: {err:#}"));
    }

    /// Notes the first reason this decision used the local copy.
    fn degrade(&self, why: String) {
        let mut session = self.lock();
        if session.outcome.degraded.is_none() {
            session.outcome.degraded = Some(format!(
                "callback store (etcd) {why}; decided on this replica's copy"
            ));
        }
    }

    fn lock(&self) -> MutexGuard<'_, SessionState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Replicated {
    /// The mappings decided here that etcd does not have yet: what to offer etcd after a
    /// restart (see [`Replicated::new`]), as opposed to the rest of the local copy, which
    /// came from etcd.
    pub fn pending(&self) -> Vec<(String, CallbackEntry)> {
        self.lock()
            .pending
            .iter()
            .map(|(elin, entry)| (elin.clone(), entry.clone()))
            .collect()
    }

    /// Counts a decision made on the local copy (the host calls this once per degraded
    /// decision, after any retries).
    pub fn count_fallback(&self) {
        self.lock().counters.fallbacks += 1;
    }
}

/// Keeps the last [`LATENCY_SAMPLES`] values.
fn sample(samples: &mut VecDeque<u64>, value: u64) {
    if samples.len() == LATENCY_SAMPLES {
        samples.pop_front();
    }
    samples.push_back(value);
}

/// The median and 99th percentile of `samples` (0 when there are none).
fn percentiles(samples: &VecDeque<u64>) -> (u64, u64) {
    let mut sorted: Vec<u64> = samples.iter().copied().collect();
    sorted.sort_unstable();
    let at = |q: usize| {
        sorted
            .get((sorted.len() * q / 100).min(sorted.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    (at(50), at(99))
}

fn decode(kv: &Kv) -> Option<CallbackEntry> {
    serde_json::from_slice(&kv.value).ok()
}
