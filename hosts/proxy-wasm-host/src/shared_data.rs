//! Shared data: one key-value map per VM id, with a CAS number per key, as Envoy keeps it
//! (`proxy-wasm-cpp-host`, `src/shared_data.cc`): process-wide, outliving any one VM, so a
//! restarted module finds what the last one stored (the plugin keeps ELIN callback state
//! and the active bundle there).
//!
//! `get` of a missing key is `NotFound`; `set` with CAS 0 always writes, with another CAS
//! only while it is still the key's current one (else `CasMismatch`); every write gives
//! the key a new CAS, never 0.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::abi::Status;

/// The map, cheap to clone: clones share it (as every worker's VM shares Envoy's).
#[derive(Debug, Clone, Default)]
pub struct SharedData {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: BTreeMap<Vec<u8>, (Vec<u8>, u32)>,
    last_cas: u32,
}

impl SharedData {
    /// The value and CAS of `key`.
    pub fn get(&self, key: &[u8]) -> Result<(Vec<u8>, u32), Status> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.entries.get(key).cloned().ok_or(Status::NotFound)
    }

    /// Writes `value` unless `cas` is non-zero and stale.
    pub fn set(&self, key: &[u8], value: &[u8], cas: u32) -> Status {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, current)) = inner.entries.get(key)
            && cas != 0
            && cas != *current
        {
            return Status::CasMismatch;
        }
        inner.last_cas = inner.last_cas.wrapping_add(1).max(1);
        let next = inner.last_cas;
        inner.entries.insert(key.to_vec(), (value.to_vec(), next));
        Status::Ok
    }

    /// Every key and value, in key order.
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner
            .entries
            .iter()
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_key_is_not_found_and_cas_guards_writes() {
        let data = SharedData::default();
        assert_eq!(data.get(b"k"), Err(Status::NotFound));
        assert_eq!(data.set(b"k", b"one", 0), Status::Ok);
        let (value, cas) = data.get(b"k").unwrap();
        assert_eq!((value.as_slice(), cas), (&b"one"[..], 1));
        assert_eq!(data.set(b"k", b"two", cas), Status::Ok);
        assert_eq!(data.set(b"k", b"three", cas), Status::CasMismatch);
        let (value, new_cas) = data.get(b"k").unwrap();
        assert_eq!(value, b"two");
        assert_ne!(new_cas, cas);
        assert_eq!(data.set(b"k", b"four", 0), Status::Ok);
        assert_eq!(data.clone().get(b"k").unwrap().0, b"four");
    }
}
