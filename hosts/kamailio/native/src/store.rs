//! The component's `callback-store` import over the glue's host object, so ELIN mappings
//! live in Kamailio's shared htable (`e911cb`) that every worker sees.
//!
//! Entries cross as dicts keyed by the WIT field names (`caller`, `call-id`,
//! `assigned-at`, `expires-at`, `uses`, `policy`), the shape the glue stores as JSON.

use std::cell::RefCell;

use e911_engine::{CallbackEntry, CallbackStore};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The host object's `store_get(elin) -> dict | None` and `store_put(elin, dict)`.
///
/// [`CallbackStore`] cannot fail, but a store that raised must not be taken for an empty
/// one: two workers could then hand out the same ELIN. The first error is kept and the
/// bridge raises it after the call, so the glue takes the fail-safe route.
pub struct PyStore {
    host: Py<PyAny>,
    failed: RefCell<Option<PyErr>>,
}

impl PyStore {
    pub fn new(host: Py<PyAny>) -> Self {
        Self {
            host,
            failed: RefCell::new(None),
        }
    }

    /// The first error the host raised since the last call, taken.
    pub fn take_error(&self) -> Option<PyErr> {
        self.failed.borrow_mut().take()
    }

    fn fail(&self, err: PyErr) {
        let mut failed = self.failed.borrow_mut();
        if failed.is_none() {
            *failed = Some(err);
        }
    }
}

impl CallbackStore for PyStore {
    fn get(&self, elin: &str) -> Option<CallbackEntry> {
        Python::attach(|py| {
            let entry = self.host.bind(py).call_method1("store_get", (elin,))?;
            if entry.is_none() {
                return Ok(None);
            }
            entry_from_dict(entry.cast::<PyDict>()?).map(Some)
        })
        .unwrap_or_else(|err| {
            self.fail(err);
            None
        })
    }

    fn put(&mut self, elin: &str, entry: CallbackEntry) {
        let stored = Python::attach(|py| -> PyResult<()> {
            let dict = entry_to_dict(py, &entry)?;
            self.host.bind(py).call_method1("store_put", (elin, dict))?;
            Ok(())
        });
        if let Err(err) = stored {
            self.fail(err);
        }
    }
}

fn entry_from_dict(dict: &Bound<'_, PyDict>) -> PyResult<CallbackEntry> {
    let field = |name: &str| -> PyResult<Bound<'_, PyAny>> {
        dict.get_item(name)?.ok_or_else(|| {
            pyo3::exceptions::PyKeyError::new_err(format!("callback entry without {name}"))
        })
    };
    Ok(CallbackEntry {
        caller: field("caller")?.extract()?,
        call_id: field("call-id")?.extract()?,
        assigned_at: field("assigned-at")?.extract()?,
        expires_at: field("expires-at")?.extract()?,
        uses: field("uses")?.extract()?,
        policy: match dict.get_item("policy")? {
            Some(policy) if !policy.is_none() => Some(policy.extract()?),
            _ => None,
        },
    })
}

fn entry_to_dict<'py>(py: Python<'py>, entry: &CallbackEntry) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("caller", &entry.caller)?;
    dict.set_item("call-id", &entry.call_id)?;
    dict.set_item("assigned-at", entry.assigned_at)?;
    dict.set_item("expires-at", entry.expires_at)?;
    dict.set_item("uses", entry.uses)?;
    dict.set_item("policy", entry.policy.as_deref())?;
    Ok(dict)
}
