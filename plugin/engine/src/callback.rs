//! ELIN callback state: which caller an ELIN stands for, and for how long.
//!
//! When a call leaves through an ELIN gateway, the caller's own number is replaced by an
//! ELIN the carrier has loaded into ALI for that location. If the PSAP calls the ELIN back
//! within the callback window, the call must reach the person who dialled 911 — so the
//! engine stores ELIN → caller, and each host backs the store with what it has (Envoy
//! shared data, a WIT import, a file in the harness). The engine never reads a clock:
//! `now` comes in, expiry is a timestamp, and the store only keeps what it is given.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch.
pub type Seconds = u64;

/// What the store keeps per ELIN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackEntry {
    /// The caller to reach on a callback: the original From/P-Asserted-Identity URI.
    pub caller: String,
    /// The Call-ID of the emergency call, for the audit trail.
    pub call_id: String,
    /// When the ELIN was last handed out.
    pub assigned_at: Seconds,
    /// When the callback window closes.
    pub expires_at: Seconds,
    /// How many emergency calls have used this ELIN; survives the window so that "least
    /// used" still means something after a mapping expires.
    pub uses: u32,
    /// The location policy of the call, whose callback fallback applies after the window.
    pub policy: Option<String>,
}

impl CallbackEntry {
    /// Whether the callback window is still open at `now`.
    pub fn is_active(&self, now: Seconds) -> bool {
        now < self.expires_at
    }
}

/// The callback store a host provides. Implementations keep entries past `expires_at`
/// (the engine reads `uses` and `assigned_at` for ELIN selection) but may drop them after
/// a grace period of their choosing.
pub trait CallbackStore {
    /// The entry for an ELIN (E.164, with `+`), active or not.
    fn get(&self, elin: &str) -> Option<CallbackEntry>;
    /// Stores or replaces the entry for an ELIN.
    fn put(&mut self, elin: &str, entry: CallbackEntry);
}

/// The in-memory store: a sorted map. The harness persists it between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MemoryStore {
    entries: BTreeMap<String, CallbackEntry>,
}

impl MemoryStore {
    /// Every entry, by ELIN.
    pub fn entries(&self) -> &BTreeMap<String, CallbackEntry> {
        &self.entries
    }
}

impl CallbackStore for MemoryStore {
    fn get(&self, elin: &str) -> Option<CallbackEntry> {
        self.entries.get(elin).cloned()
    }

    fn put(&mut self, elin: &str, entry: CallbackEntry) {
        self.entries.insert(elin.to_owned(), entry);
    }
}

/// Picks the ELIN for a new emergency call among an ERL's ELINs: one with no active
/// callback mapping first (a PSAP calling back must not reach the wrong person), then the
/// least used, then the one idle longest. Ties keep the bundle's order, so the first ELIN
/// listed is the default. `None` only for an empty list.
pub fn select_elin<'e>(
    elins: &'e [String],
    store: &dyn CallbackStore,
    now: Seconds,
) -> Option<&'e str> {
    elins
        .iter()
        .enumerate()
        .min_by_key(|(order, elin)| {
            let entry = store.get(elin);
            let busy = entry.as_ref().is_some_and(|e| e.is_active(now));
            let uses = entry.as_ref().map_or(0, |e| e.uses);
            let assigned_at = entry.as_ref().map_or(0, |e| e.assigned_at);
            (busy, uses, assigned_at, *order)
        })
        .map(|(_, elin)| elin.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(assigned_at: Seconds, expires_at: Seconds, uses: u32) -> CallbackEntry {
        CallbackEntry {
            caller: "sip:alice@contoso.com".to_owned(),
            call_id: "c1".to_owned(),
            assigned_at,
            expires_at,
            uses,
            policy: None,
        }
    }

    fn elins() -> Vec<String> {
        vec!["+13165550100".to_owned(), "+13165550101".to_owned()]
    }

    #[test]
    fn prefers_the_first_elin_of_an_empty_store() {
        let store = MemoryStore::default();
        assert_eq!(select_elin(&elins(), &store, 1_000), Some("+13165550100"));
    }

    #[test]
    fn prefers_a_free_elin_over_a_busy_one() {
        let mut store = MemoryStore::default();
        store.put("+13165550100", entry(900, 2_700, 1));
        store.put("+13165550101", entry(100, 200, 5));
        assert_eq!(select_elin(&elins(), &store, 1_000), Some("+13165550101"));
    }

    #[test]
    fn among_busy_elins_takes_the_least_used_then_the_longest_idle() {
        let mut store = MemoryStore::default();
        store.put("+13165550100", entry(900, 9_000, 2));
        store.put("+13165550101", entry(950, 9_000, 1));
        assert_eq!(select_elin(&elins(), &store, 1_000), Some("+13165550101"));
        store.put("+13165550101", entry(950, 9_000, 2));
        assert_eq!(select_elin(&elins(), &store, 1_000), Some("+13165550100"));
    }

    #[test]
    fn has_nothing_to_pick_from_an_empty_list() {
        assert_eq!(select_elin(&[], &MemoryStore::default(), 0), None);
    }
}
