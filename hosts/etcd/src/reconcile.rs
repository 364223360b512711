//! What happens when a mapping decided during an outage reaches etcd and finds the ELIN
//! taken meanwhile by another replica's call: one rule, the same in every host.
//!
//! The mapping assigned last stays. A PSAP calls back the number it saw most recently,
//! and that is the caller of the latest call at the ELIN; the other caller can no
//! longer be reached through it, and the audit says so.

use e911_engine::CallbackEntry;
use serde::Serialize;

/// Seconds since the Unix epoch, as the engine counts them.
pub type Seconds = u64;

/// What to do with a pending mapping, given what etcd holds at its ELIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// etcd already has this call's mapping: nothing to write.
    Same,
    /// etcd's mapping is open and newer: it stays, ours is dropped.
    KeepTheirs,
    /// Write ours over what is there; `displacing` is the open mapping it replaces.
    Replace {
        /// The open mapping ours displaces, to report once ours is written.
        displacing: Option<CallbackEntry>,
    },
}

/// Something a reconciliation found that belongs in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The ELIN two calls were given during the outage.
    pub elin: String,
    /// The call whose mapping stays: the one assigned last, the caller a PSAP that
    /// saw this ELIN most recently will want.
    pub kept_call_id: String,
    /// The caller the kept mapping reaches.
    pub kept_caller: String,
    /// The call whose mapping was displaced.
    pub displaced_call_id: String,
    /// The caller a callback to this ELIN will no longer reach.
    pub displaced_caller: String,
}

impl Conflict {
    /// The conflict at `elin` between the mapping that stays and the one that goes.
    pub fn new(elin: &str, kept: &CallbackEntry, displaced: &CallbackEntry) -> Self {
        Self {
            elin: elin.to_owned(),
            kept_call_id: kept.call_id.clone(),
            kept_caller: kept.caller.clone(),
            displaced_call_id: displaced.call_id.clone(),
            displaced_caller: displaced.caller.clone(),
        }
    }
}

/// The rule for `ours` against `theirs` (what etcd holds at the ELIN; `None` when the
/// key is absent or holds something that is not a mapping) at `now`.
pub fn settle(ours: &CallbackEntry, theirs: Option<&CallbackEntry>, now: Seconds) -> Settle {
    let Some(theirs) = theirs else {
        return Settle::Replace { displacing: None };
    };
    if theirs.call_id == ours.call_id {
        return Settle::Same;
    }
    if theirs.is_active(now) && theirs.assigned_at >= ours.assigned_at {
        return Settle::KeepTheirs;
    }
    // Ours is newer, or theirs has closed.
    Settle::Replace {
        displacing: theirs.is_active(now).then(|| theirs.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(call_id: &str, assigned_at: Seconds) -> CallbackEntry {
        CallbackEntry {
            caller: format!("sip:{call_id}@example.com"),
            call_id: call_id.to_owned(),
            assigned_at,
            expires_at: assigned_at + 1800,
            uses: 1,
            policy: None,
        }
    }

    #[test]
    fn the_mapping_assigned_last_stays() {
        let ours = entry("a", 100);
        assert_eq!(
            settle(&ours, None, 150),
            Settle::Replace { displacing: None }
        );
        assert_eq!(settle(&ours, Some(&entry("a", 100)), 150), Settle::Same);
        assert_eq!(
            settle(&ours, Some(&entry("b", 120)), 150),
            Settle::KeepTheirs
        );
        assert_eq!(
            settle(&ours, Some(&entry("b", 90)), 150),
            Settle::Replace {
                displacing: Some(entry("b", 90))
            }
        );
        // A closed window displaces nobody.
        assert_eq!(
            settle(&ours, Some(&entry("b", 120)), 5000),
            Settle::Replace { displacing: None }
        );
    }
}
