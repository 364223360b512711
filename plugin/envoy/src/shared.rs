//! What every worker shares through proxy-wasm shared data (process-wide per `vm_id`,
//! kept across VM reloads): the active bundle and the ELIN callback state.
//!
//! The bundle lives under [`BUNDLE_KEY`]; [`VERSION_KEY`] holds its digest, a few bytes a
//! connection reads before each message to learn whether a newer bundle was published
//! (reading the bundle itself, megabytes for a large LIS, on every message would not do).
//! A publisher writes the bundle first, then the version, so a reader that sees a new
//! version finds that bundle or a newer one.

use e911_engine::{CallbackEntry, CallbackStore};

/// The compiled bundle bytes.
pub const BUNDLE_KEY: &str = "e911.bundle";
/// The active bundle's digest (hex).
pub const VERSION_KEY: &str = "e911.bundle.version";
/// The active bundle's revision: what a new bundle must not be older than. In shared
/// data, not in a worker, because it must outlive a VM reload (an ECDS update).
pub const REVISION_KEY: &str = "e911.bundle.revision";
/// The HTTP poller's lease: `<holder> <expiry in ns>`.
pub const POLLER_KEY: &str = "e911.bundle.poller";
/// Prefix of one ELIN's callback entry (JSON of [`CallbackEntry`]).
pub const ELIN_PREFIX: &str = "e911.elin.";

/// Why a conditional write failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetError {
    /// Someone wrote since our read (CAS mismatch).
    Conflict,
    /// The host refused.
    Failed,
}

/// Shared data as the filter uses it: values with a CAS number.
pub trait Shared {
    /// The value and its CAS; `None` when absent.
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)>;
    /// Writes `value`; with `cas`, only if nobody wrote since that CAS was read.
    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), SetError>;
}

/// What [`publish`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// The bundle is now the shared one.
    New,
    /// It already was (another worker, or an unchanged poll).
    AlreadyActive,
}

/// Publishes validated bundle bytes of `revision` under `digest` unless they are already
/// active.
pub fn publish(
    shared: &dyn Shared,
    bytes: &[u8],
    revision: &str,
    digest: &str,
) -> Result<Published, SetError> {
    if shared
        .get(VERSION_KEY)
        .is_some_and(|(v, _)| v == digest.as_bytes())
    {
        return Ok(Published::AlreadyActive);
    }
    shared.set(BUNDLE_KEY, bytes, None)?;
    shared.set(REVISION_KEY, revision.as_bytes(), None)?;
    shared.set(VERSION_KEY, digest.as_bytes(), None)?;
    Ok(Published::New)
}

/// The revision published now, if any.
pub fn published_revision(shared: &dyn Shared) -> Option<String> {
    shared
        .get(REVISION_KEY)
        .map(|(v, _)| String::from_utf8_lossy(&v).into_owned())
}

/// The rollback rule (`e911_policy::admit`, the same in every host) for a bundle of
/// `revision` against the one published now; the refusal names the setting that forces it.
pub fn admit(
    shared: &dyn Shared,
    revision: &str,
    rollback: e911_policy::Rollback,
) -> Result<e911_policy::Admitted, String> {
    e911_policy::admit(published_revision(shared).as_deref(), revision, rollback).map_err(|older| {
        format!("{older}; \"allow_rollback\": true in the plugin configuration accepts it")
    })
}

/// The version (digest) currently published, if any.
pub fn published_version(shared: &dyn Shared) -> Option<Vec<u8>> {
    shared.get(VERSION_KEY).map(|(v, _)| v)
}

/// Tries to take or renew the poller lease for `holder` until `until_ns`; true when this
/// holder polls.
pub fn claim_poller(shared: &dyn Shared, holder: &str, now_ns: u64, until_ns: u64) -> bool {
    claim(shared, POLLER_KEY, holder, now_ns, until_ns)
}

/// Tries to take or renew the lease at `key` (`<holder> <expiry in ns>`) for `holder`
/// until `until_ns`: one worker of the process does a job (the bundle poll, the etcd
/// sync) while its lease runs. Conditional on the CAS read, so of two workers racing one
/// wins.
pub fn claim(shared: &dyn Shared, key: &str, holder: &str, now_ns: u64, until_ns: u64) -> bool {
    let current = shared.get(key);
    let free = match &current {
        None => true,
        Some((value, _)) => {
            let text = String::from_utf8_lossy(value);
            let mut parts = text.split(' ');
            let who = parts.next().unwrap_or_default();
            let expiry: u64 = parts.next().and_then(|e| e.parse().ok()).unwrap_or(0);
            who == holder || expiry <= now_ns
        }
    };
    if !free {
        return false;
    }
    let lease = format!("{holder} {until_ns}");
    let cas = current.map(|(_, cas)| cas);
    shared.set(key, lease.as_bytes(), cas).is_ok()
}

/// [`CallbackStore`] over shared data, so a PSAP callback reaching any worker finds the
/// ELIN another worker handed out. A write is conditional on the CAS of this store's last
/// read of that ELIN; if another worker wrote in between (both picked the same ELIN at the
/// same moment), the newer mapping is written anyway (the call is never held) and the
/// conflict is counted so operators see it.
pub struct SharedCallbacks<'a> {
    shared: &'a dyn Shared,
    read: std::cell::RefCell<Vec<(String, u32)>>,
    /// Writes that found another worker's write in between.
    pub conflicts: u32,
    /// Writes the host refused.
    pub failures: u32,
}

impl<'a> SharedCallbacks<'a> {
    /// A store over `shared`.
    pub fn new(shared: &'a dyn Shared) -> Self {
        Self {
            shared,
            read: std::cell::RefCell::new(Vec::new()),
            conflicts: 0,
            failures: 0,
        }
    }
}

impl CallbackStore for SharedCallbacks<'_> {
    fn get(&self, elin: &str) -> Option<CallbackEntry> {
        let (value, cas) = self.shared.get(&format!("{ELIN_PREFIX}{elin}"))?;
        if let Ok(mut read) = self.read.try_borrow_mut() {
            read.push((elin.to_owned(), cas));
        }
        serde_json::from_slice(&value).ok()
    }

    fn put(&mut self, elin: &str, entry: CallbackEntry) {
        let Ok(value) = serde_json::to_vec(&entry) else {
            self.failures += 1;
            return;
        };
        let key = format!("{ELIN_PREFIX}{elin}");
        let cas = self.read.try_borrow().ok().and_then(|read| {
            read.iter()
                .rev()
                .find(|(e, _)| e == elin)
                .map(|(_, cas)| *cas)
        });
        match self.shared.set(&key, &value, cas) {
            Ok(()) => {}
            Err(SetError::Conflict) => {
                self.conflicts += 1;
                if self.shared.set(&key, &value, None).is_err() {
                    self.failures += 1;
                }
            }
            Err(SetError::Failed) => self.failures += 1,
        }
    }
}

/// In-memory shared data with Envoy's CAS rules, for tests.
#[cfg(test)]
#[derive(Default)]
pub struct Memory(pub std::cell::RefCell<std::collections::BTreeMap<String, (Vec<u8>, u32)>>);

#[cfg(test)]
impl Shared for Memory {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.0.borrow().get(key).cloned()
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), SetError> {
        let mut map = self.0.borrow_mut();
        let current = map.get(key).map(|(_, c)| *c);
        if let (Some(want), Some(have)) = (cas, current)
            && want != have
        {
            return Err(SetError::Conflict);
        }
        let next = current.unwrap_or(0) + 1;
        map.insert(key.to_owned(), (value.to_vec(), next));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(caller: &str) -> CallbackEntry {
        CallbackEntry {
            caller: caller.to_owned(),
            call_id: "c1".to_owned(),
            assigned_at: 10,
            expires_at: 1810,
            uses: 1,
            policy: None,
        }
    }

    #[test]
    fn publishes_once_per_digest_bundle_before_version() {
        let m = Memory::default();
        assert_eq!(publish(&m, b"B1", "1", "d1"), Ok(Published::New));
        assert_eq!(publish(&m, b"B1", "1", "d1"), Ok(Published::AlreadyActive));
        assert_eq!(published_version(&m), Some(b"d1".to_vec()));
        assert_eq!(publish(&m, b"B2", "2", "d2"), Ok(Published::New));
        assert_eq!(m.get(BUNDLE_KEY).unwrap().0, b"B2");
        assert_eq!(published_revision(&m).as_deref(), Some("2"));
    }

    #[test]
    fn a_bundle_older_than_the_published_one_is_refused_unless_rollback_is_allowed() {
        use e911_policy::{Admitted, Rollback};
        let m = Memory::default();
        assert_eq!(
            admit(&m, "2026.11.1", Rollback::Refuse),
            Ok(Admitted::First)
        );
        publish(&m, b"B1", "2026.11.1", "d1").unwrap();
        let why = admit(&m, "2026.9.1", Rollback::Refuse).unwrap_err();
        assert!(
            why.contains("older than the running revision 2026.11.1")
                && why.contains("allow_rollback"),
            "{why}"
        );
        assert_eq!(
            admit(&m, "2026.9.1", Rollback::Allow),
            Ok(Admitted::ForcedRollback)
        );
        assert_eq!(admit(&m, "2026.11.1", Rollback::Refuse), Ok(Admitted::Same));
        assert_eq!(
            admit(&m, "2026.12.1", Rollback::Refuse),
            Ok(Admitted::Newer)
        );
    }

    #[test]
    fn one_poller_holds_the_lease_until_it_expires() {
        let m = Memory::default();
        assert!(claim_poller(&m, "w1", 0, 100));
        assert!(!claim_poller(&m, "w2", 50, 150));
        assert!(claim_poller(&m, "w1", 60, 160), "the holder renews");
        assert!(claim_poller(&m, "w2", 170, 270), "an expired lease is free");
        assert!(!claim_poller(&m, "w1", 180, 280));
    }

    #[test]
    fn callback_entries_round_trip_and_count_conflicts() {
        let m = Memory::default();
        let mut a = SharedCallbacks::new(&m);
        assert_eq!(a.get("+13165550100"), None);
        a.put("+13165550100", entry("sip:alice@x"));
        let mut b = SharedCallbacks::new(&m);
        assert_eq!(b.get("+13165550100"), Some(entry("sip:alice@x")));
        let mut a2 = SharedCallbacks::new(&m);
        let _ = a2.get("+13165550100");
        b.put("+13165550100", entry("sip:bob@x"));
        a2.put("+13165550100", entry("sip:carol@x"));
        assert_eq!(a2.conflicts, 1);
        assert_eq!(b.conflicts, 0);
        assert_eq!(a.get("+13165550100"), Some(entry("sip:carol@x")));
    }
}
