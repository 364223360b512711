//! The proxy's ELIN callback store: this process's copy, saved to `--state-dir`, and with
//! `--etcd` the replicated store every replica of an HA group shares (`e911-etcd`).
//!
//! The store is shared by every decider the proxy ever installs (a hot reload swaps the
//! deciders, never the store) and is saved before the message that changed it is
//! forwarded (DESIGN §2.5: a crash right after forwarding loses nothing). The file is
//! written outside the store's lock, from a snapshot, so other calls decide while it is
//! written ([`Callbacks::persist`]).
//!
//! With etcd, each decision is one [`Session`]: etcd is asked within `--etcd-wait-ms`,
//! a decision that lost an ELIN to another replica is made again ([`decide_with`]), and
//! one made on the local copy says so in its report. A thread of its own writes what an
//! outage left pending and refreshes the local copy every second
//! ([`Callbacks::start_sync`]).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use e911_engine::{CallbackEntry, CallbackStore, MemoryStore, Verdict};
use e911_etcd::{Conflict, Connection, Health, Replicated, Session, Settings};
use e911_host_files::state;

use super::lock;

/// How many times a call is decided when other replicas keep taking the ELIN it chose.
const ATTEMPTS: usize = 3;

/// How often the sync thread writes what is pending and refreshes the local copy.
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// With `--etcd`, the mappings decided here that etcd does not have yet, saved next to
/// the local copy (`callbacks.json`): after a restart only these are offered to etcd.
/// The rest of the copy came from etcd, and offering it back when etcd has moved on
/// would report a conflict between calls that never clashed.
const PENDING_FILE: &str = "callbacks-pending.json";

/// `--etcd…`: the replicated callback store.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct EtcdArgs {
    /// etcd members (`http://HOST:PORT` or `https://…`, comma-separated or repeated):
    /// share ELIN callback mappings with the other proxies of this group. Without it, the
    /// mappings are this proxy's own (`--state-dir/callbacks.json`).
    #[arg(long = "etcd", value_delimiter = ',')]
    pub endpoints: Vec<String>,
    /// The key prefix in etcd (mappings at `PREFIX callbacks/ELIN`).
    #[arg(long = "etcd-prefix", default_value = "/e911/")]
    pub prefix: String,
    /// The longest an emergency call waits for etcd, over all its requests; after it the
    /// call is decided on this proxy's copy, marked degraded.
    #[arg(long = "etcd-wait-ms", default_value_t = 150)]
    pub wait_ms: u64,
    /// How long a mapping stays in etcd after its callback window (ELIN choice reads
    /// how often and how recently each ELIN was used).
    #[arg(long = "etcd-grace-seconds", default_value_t = 3600)]
    pub grace_seconds: u64,
    /// PEM file with the CA that signed the etcd members' certificates.
    #[arg(long = "etcd-ca")]
    pub ca: Option<PathBuf>,
    /// PEM client certificate, for etcd's `--client-cert-auth`.
    #[arg(long = "etcd-cert", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long = "etcd-key", requires = "cert")]
    pub key: Option<PathBuf>,
    /// etcd user, when its authentication is on (with `--etcd-password-file`).
    #[arg(long = "etcd-user", requires = "password_file")]
    pub user: Option<String>,
    /// File holding the etcd user's password (its first line).
    #[arg(long = "etcd-password-file", requires = "user")]
    pub password_file: Option<PathBuf>,
}

impl EtcdArgs {
    /// The store's settings, or `None` when no member is given.
    fn settings(&self) -> Result<Option<Settings>> {
        if self.endpoints.is_empty() {
            return Ok(None);
        }
        let user = match (&self.user, &self.password_file) {
            (Some(user), Some(file)) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("--etcd-password-file {}", file.display()))?;
                let password = text.lines().next().unwrap_or_default().to_owned();
                Some((user.clone(), password))
            }
            _ => None,
        };
        Ok(Some(Settings {
            connection: Connection {
                endpoints: self.endpoints.clone(),
                ca: self.ca.clone(),
                cert: self.cert.clone(),
                key: self.key.clone(),
                user,
            },
            prefix: self.prefix.clone(),
            wait: Duration::from_millis(self.wait_ms),
            grace: self.grace_seconds,
        }))
    }
}

/// The local copy and whether it changed since it was last written.
#[derive(Debug, Default)]
struct Local {
    store: MemoryStore,
    /// Bumped by every write; the file holds `saved`'s generation.
    generation: u64,
}

/// The callback store shared across reloads, with where it is persisted and, with
/// `--etcd`, the cluster it is replicated through.
#[derive(Default)]
pub struct Callbacks {
    current: Mutex<Local>,
    /// The generation on disk: a write never replaces a newer snapshot with an older one.
    saved: Mutex<u64>,
    path: Option<PathBuf>,
    replica: Option<Replicated>,
    /// Where the replica's pending mappings are saved, and what was saved last (`None`:
    /// nothing yet since start).
    pending_path: Option<PathBuf>,
    saved_pending: Mutex<Option<Vec<(String, CallbackEntry)>>>,
    /// Mappings two replicas wrote during an outage, for the audit log.
    conflicts: Mutex<Vec<Conflict>>,
}

/// [`Callbacks`] shared by the deciders and the sync thread.
pub type SharedCallbacks = Arc<Callbacks>;

impl Callbacks {
    /// Loads `path` (a missing file is an empty store; an unreadable one is moved aside by
    /// [`state::load`] and reported) and, with `etcd`, joins the cluster.
    pub fn open(
        path: Option<PathBuf>,
        etcd: &EtcdArgs,
    ) -> Result<(SharedCallbacks, Option<String>)> {
        let (store, warning) = match &path {
            Some(path) => state::load(path),
            None => (MemoryStore::default(), None),
        };
        let pending_path = path.as_ref().map(|p| p.with_file_name(PENDING_FILE));
        let replica = match etcd.settings()? {
            Some(settings) => {
                // A state folder without the pending file (kept by a proxy without
                // `--etcd`, or by an older version) offers everything it holds.
                let pending = match &pending_path {
                    Some(file) if file.exists() => state::load(file).0,
                    _ => store.clone(),
                };
                let local = pending
                    .entries()
                    .iter()
                    .map(|(elin, entry)| (elin.clone(), entry.clone()));
                Some(Replicated::new(settings, local, now()).context("--etcd")?)
            }
            None => None,
        };
        let callbacks = Self {
            current: Mutex::new(Local {
                store,
                generation: 0,
            }),
            saved: Mutex::new(0),
            path,
            replica,
            pending_path,
            saved_pending: Mutex::new(None),
            conflicts: Mutex::new(Vec::new()),
        };
        Ok((Arc::new(callbacks), warning))
    }

    /// Starts the thread that keeps the replica in step with etcd (none without
    /// `--etcd`).
    pub fn start_sync(self: &Arc<Self>) -> Result<()> {
        if self.replica.is_none() {
            return Ok(());
        }
        let callbacks = Arc::clone(self);
        std::thread::Builder::new()
            .name("etcd-sync".to_owned())
            .spawn(move || {
                loop {
                    callbacks.sync();
                    std::thread::sleep(SYNC_EVERY);
                }
            })
            .context("starting the etcd sync thread")?;
        Ok(())
    }

    /// One round of the sync thread: what is pending goes to etcd, etcd's mappings come
    /// into the local copy (and its file).
    fn sync(&self) {
        let Some(replica) = &self.replica else { return };
        let Ok(synced) = replica.sync(now()) else {
            // The health figures say why; the next round tries again.
            return;
        };
        {
            let mut current = lock(&self.current);
            let mut changed = false;
            for (elin, entry) in synced.mirror {
                if current.store.get(&elin).as_ref() != Some(&entry) {
                    current.store.put(&elin, entry);
                    changed = true;
                }
            }
            if changed {
                current.generation += 1;
            }
        }
        self.persist();
        lock(&self.conflicts).extend(synced.conflicts);
    }

    /// The conflicts found since the last call, for the audit log.
    pub fn take_conflicts(&self) -> Vec<Conflict> {
        std::mem::take(&mut *lock(&self.conflicts))
    }

    /// Whether the store is replicated through etcd (`--etcd`).
    pub fn replicated(&self) -> bool {
        self.replica.is_some()
    }

    /// The replicated store's health (`None` without `--etcd`).
    pub fn health(&self) -> Option<Health> {
        self.replica.as_ref().map(Replicated::health)
    }

    /// Writes the store to its file (if it has one) when it changed since the last write,
    /// from a snapshot taken under the store's lock and written outside it, and with
    /// `--etcd` what is pending to its own file; a failure is logged, the call goes on.
    pub fn persist(&self) {
        self.persist_copy();
        self.persist_pending();
    }

    fn persist_pending(&self) {
        let (Some(replica), Some(path)) = (&self.replica, &self.pending_path) else {
            return;
        };
        let pending = replica.pending();
        let mut saved = lock(&self.saved_pending);
        if saved.as_ref() == Some(&pending) {
            return;
        }
        let mut store = MemoryStore::default();
        for (elin, entry) in &pending {
            store.put(elin, entry.clone());
        }
        match state::save(path, &store) {
            Ok(()) => *saved = Some(pending),
            Err(err) => eprintln!("e911-harness proxy: pending callback state not saved: {err:#}"),
        }
    }

    fn persist_copy(&self) {
        let Some(path) = &self.path else { return };
        let mut saved = lock(&self.saved);
        let (snapshot, generation) = {
            let current = lock(&self.current);
            if current.generation == *saved {
                return;
            }
            (current.store.clone(), current.generation)
        };
        match state::save(path, &snapshot) {
            Ok(()) => *saved = generation,
            Err(err) => eprintln!("e911-harness proxy: callback state not saved: {err:#}"),
        }
    }
}

/// The local copy as a `CallbackStore`: each call locks; a write bumps the generation.
struct LocalCopy<'a>(&'a Callbacks);

impl CallbackStore for LocalCopy<'_> {
    fn get(&self, elin: &str) -> Option<CallbackEntry> {
        lock(&self.0.current).store.get(elin)
    }

    fn put(&mut self, elin: &str, entry: CallbackEntry) {
        let mut current = lock(&self.0.current);
        current.store.put(elin, entry);
        current.generation += 1;
    }
}

/// What a decider hands the engine: the shared store, through the decider's own
/// [`Session`] when it is replicated. Clones share the session, so a decider can keep one
/// to start and finish decisions while the component host holds the other.
#[derive(Clone)]
pub struct ProxyStore {
    callbacks: SharedCallbacks,
    session: Arc<Session>,
}

impl ProxyStore {
    /// A store for one decider.
    pub fn new(callbacks: SharedCallbacks) -> Self {
        Self {
            callbacks,
            session: Arc::new(Session::default()),
        }
    }
}

impl CallbackStore for ProxyStore {
    fn get(&self, elin: &str) -> Option<CallbackEntry> {
        let local = LocalCopy(&self.callbacks);
        match &self.callbacks.replica {
            Some(replica) => self.session.get(replica, &local, elin),
            None => local.get(elin),
        }
    }

    fn put(&mut self, elin: &str, entry: CallbackEntry) {
        let mut local = LocalCopy(&self.callbacks);
        match &self.callbacks.replica {
            Some(replica) => self.session.put(replica, &mut local, elin, entry),
            None => local.put(elin, entry),
        }
    }
}

/// Runs one decision against `store`: again when another replica took the ELIN it chose
/// (at most three times), marked degraded when it was made on the local copy,
/// then saved before the message is forwarded.
pub fn decide_with(store: &ProxyStore, mut decide: impl FnMut() -> Verdict) -> Verdict {
    let Some(replica) = &store.callbacks.replica else {
        let verdict = decide();
        store.callbacks.persist();
        return verdict;
    };
    let mut attempt = 1;
    let (mut verdict, outcome) = loop {
        store.session.start(replica);
        let verdict = decide();
        let outcome = store.session.finish();
        if !outcome.lost_race || attempt == ATTEMPTS {
            store.session.end(replica);
            break (verdict, outcome);
        }
        attempt += 1;
    };
    let why = match (outcome.degraded, outcome.lost_race) {
        (Some(why), _) => Some(why),
        (None, true) => Some(format!(
            "other replicas took the ELIN this call chose {ATTEMPTS} times; forwarded with the last choice"
        )),
        (None, false) => None,
    };
    if let Some(why) = why {
        replica.count_fallback();
        verdict
            .metrics
            .push(e911_engine::Metric::CallbackStoreDegraded);
        verdict.degrade(why);
    }
    store.callbacks.persist();
    verdict
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
