//! The verdict as the glue reads it: a Python object over the engine's own
//! [`e911_engine::Verdict`], each field turned into Python objects only when read, so an
//! ordinary INVITE (the glue reads `kind`, `metrics`, `changed`, `route`, `audit`) costs
//! a few small strings and no copy of the message.

use e911_engine::{EditOp, Output, Position, Word};
use pyo3::IntoPyObjectExt as _;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

/// What the component decided about one message (fields as in `wit/policy.wit`'s
/// `verdict`, in Python's spelling).
#[pyclass(frozen, module = "e911_native")]
pub struct Verdict(pub e911_engine::Verdict);

#[pymethods]
impl Verdict {
    /// `emergency`, `test`, `callback` or `none`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.0.report.kind.as_str()
    }

    /// Whether the message is to be rewritten (the edit list says how); False: it goes
    /// as received.
    #[getter]
    fn changed(&self) -> bool {
        matches!(self.0.output, Output::Rewritten(_))
    }

    /// Whether this verdict goes to the audit log: every emergency, test and callback
    /// call, and every degraded decision.
    #[getter]
    fn audit(&self) -> bool {
        self.0.is_audited()
    }

    /// The edit list against the received message, as tuples: `("set-request-uri",
    /// uri)`, `("insert-header", name, value, before)` (`before`: a field index, or None
    /// for the end of the header), `("replace-header", field, value)`,
    /// `("remove-header", field)`, `("set-body", content_type, body)` (`body`: bytes).
    #[getter]
    fn edits<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let ops = self
            .0
            .edits
            .iter()
            .map(|op| edit_tuple(py, op))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, ops)
    }

    /// The route as a dict (`id`, `kind`, `trunk`, `target`, `reason`, `failover`), or
    /// None for a call the component left alone.
    #[getter]
    fn route<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(route) = &self.0.report.route else {
            return Ok(None);
        };
        let dict = PyDict::new(py);
        dict.set_item("id", &route.id)?;
        dict.set_item("kind", route.kind.word())?;
        dict.set_item("trunk", &route.trunk)?;
        dict.set_item("target", &route.target)?;
        dict.set_item("reason", route.reason.word())?;
        dict.set_item("failover", &route.failover)?;
        Ok(Some(dict))
    }

    /// Where the call goes if the trunk before fails, in order, as `(trunk, target, route,
    /// kind)` tuples: `kind` is the route's (`ecrc` for the ECRC route's trunks, where a
    /// 424 Bad Location Information sends the call).
    #[getter]
    fn alternates(&self) -> Vec<(String, String, String, &'static str)> {
        self.0
            .alternates
            .iter()
            .map(|a| {
                (
                    a.trunk.clone(),
                    a.target.clone(),
                    a.route.clone(),
                    a.kind.word(),
                )
            })
            .collect()
    }

    /// The location as a dict (`source`, `erl`, `element`, `method`, `validated`,
    /// `mismatch`, `address`), or None.
    #[getter]
    fn location<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(location) = &self.0.report.location else {
            return Ok(None);
        };
        let dict = PyDict::new(py);
        dict.set_item("source", location.source.word())?;
        dict.set_item("erl", location.erl.as_deref())?;
        dict.set_item("element", location.element.map(Word::word))?;
        dict.set_item("method", location.method.as_deref())?;
        dict.set_item("validated", location.validated)?;
        dict.set_item("mismatch", location.mismatch.word())?;
        dict.set_item("address", &location.address)?;
        Ok(Some(dict))
    }

    /// Notifications for the security desk, as dicts (`target`, `webhook`, `sip`,
    /// `text`, `json`): the glue queues them, the call never waits for one.
    #[getter]
    fn notifications<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self
            .0
            .notifications
            .iter()
            .map(|n| {
                let dict = PyDict::new(py);
                dict.set_item("target", &n.target)?;
                dict.set_item("webhook", n.webhook.as_deref())?;
                dict.set_item("sip", n.sip.as_deref())?;
                dict.set_item("text", &n.text)?;
                dict.set_item("json", &n.json)?;
                Ok(dict)
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    /// Counter names to increment by one.
    #[getter]
    fn metrics(&self) -> Vec<&'static str> {
        self.0.metrics.iter().map(|m| m.as_str()).collect()
    }

    #[getter]
    fn call_id(&self) -> Option<&str> {
        self.0.report.call_id.as_deref()
    }

    #[getter]
    fn caller(&self) -> Option<&str> {
        self.0.report.caller.as_deref()
    }

    #[getter]
    fn dialed(&self) -> Option<&str> {
        self.0.report.dialed.as_deref()
    }

    #[getter]
    fn policy(&self) -> Option<&str> {
        self.0.report.policy.as_deref()
    }

    #[getter]
    fn elin(&self) -> Option<&str> {
        self.0.report.elin.as_deref()
    }

    #[getter]
    fn degraded(&self) -> Option<&str> {
        self.0.report.degraded.as_deref()
    }

    #[getter]
    fn read_leniently(&self) -> bool {
        self.0.report.read_leniently
    }

    #[getter]
    fn bundle_revision(&self) -> &str {
        &self.0.report.bundle_revision
    }

    #[getter]
    fn trace(&self) -> Vec<String> {
        self.0.report.trace.clone()
    }

    /// The audit line's JSON: the engine's report as every host records it (the harness
    /// proxy's audit.jsonl, Envoy's audit log line), plus the worker's `pid`; edits
    /// Kamailio could not apply (`problems`) are added to `degraded`. Serialized here, not
    /// in Python: per emergency call that was the glue's largest cost after the decision.
    fn audit_json(&self, pid: u32, problems: Vec<String>) -> PyResult<String> {
        let with_problems;
        let report = if problems.is_empty() {
            &self.0.report
        } else {
            let mut report = self.0.report.clone();
            let reasons = report.degraded.take().into_iter().chain(problems);
            report.degraded = Some(reasons.collect::<Vec<_>>().join("; "));
            with_problems = report;
            &with_problems
        };
        let mut line = String::with_capacity(1600);
        let mut object = e911_engine::json::Object::open(&mut line);
        report.write_json_fields(&mut object);
        object.u64("pid", u64::from(pid));
        object.close();
        Ok(line)
    }
}

fn edit_tuple<'py>(py: Python<'py>, op: &EditOp) -> PyResult<Bound<'py, PyTuple>> {
    let items: Vec<Bound<'py, PyAny>> = match op {
        EditOp::SetRequestUri(uri) => vec![
            "set-request-uri".into_bound_py_any(py)?,
            uri.into_bound_py_any(py)?,
        ],
        EditOp::InsertHeader {
            name,
            value,
            position,
        } => vec![
            "insert-header".into_bound_py_any(py)?,
            name.as_ref().into_bound_py_any(py)?,
            value.into_bound_py_any(py)?,
            match position {
                Position::End => py.None().into_bound(py),
                Position::Before(field) => field.into_bound_py_any(py)?,
            },
        ],
        EditOp::ReplaceHeader { field, value } => vec![
            "replace-header".into_bound_py_any(py)?,
            field.into_bound_py_any(py)?,
            value.into_bound_py_any(py)?,
        ],
        EditOp::RemoveHeader { field } => vec![
            "remove-header".into_bound_py_any(py)?,
            field.into_bound_py_any(py)?,
        ],
        EditOp::SetBody { content_type, body } => vec![
            "set-body".into_bound_py_any(py)?,
            content_type.into_bound_py_any(py)?,
            PyBytes::new(py, body).into_any(),
        ],
    };
    PyTuple::new(py, items)
}
