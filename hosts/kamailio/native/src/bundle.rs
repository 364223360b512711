//! What `configure` answers, in the glue's terms: the bundle's facts as a dict (the WIT
//! `bundle-info` field names), a refusal as one line for the log and the state htable.

use e911_component_host::BundleInfo;
use e911_component_host::bindings::BundleError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// `bundle-info` as a dict: `revision`, `digest`, `signer-key-id`, `format-version`,
/// `size`, `counts` (a dict), `emergency-numbers`, `outside-line-prefixes`.
pub fn info_dict<'py>(py: Python<'py>, info: &BundleInfo) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("revision", &info.revision)?;
    dict.set_item("digest", &info.digest)?;
    dict.set_item("signer-key-id", info.signer_key_id.as_deref())?;
    dict.set_item("format-version", info.format_version)?;
    dict.set_item("size", info.size)?;
    let c = &info.counts;
    let counts = PyDict::new(py);
    for (name, count) in [
        ("erls", c.erls),
        ("subnets", c.subnets),
        ("bssids", c.bssids),
        ("chassis", c.chassis),
        ("ports", c.ports),
        ("policies", c.policies),
        ("sites", c.sites),
        ("routes", c.routes),
        ("callers", c.callers),
    ] {
        counts.set_item(name, count)?;
    }
    dict.set_item("counts", counts)?;
    dict.set_item("emergency-numbers", &info.emergency_numbers)?;
    dict.set_item("outside-line-prefixes", &info.outside_line_prefixes)?;
    Ok(dict)
}

/// A refusal in one line: the WIT case's name, then what it carries, and for an older
/// revision the setting that would accept it.
pub fn refusal(err: &BundleError) -> String {
    match err {
        BundleError::TooLarge(size) => format!("too-large: {size} bytes"),
        BundleError::BadMagic => "bad-magic".to_owned(),
        BundleError::UnsupportedVersion(v) => format!("unsupported-version: format {v}"),
        BundleError::Truncated => "truncated".to_owned(),
        BundleError::DigestMismatch => "digest-mismatch".to_owned(),
        BundleError::Unsigned => "unsigned".to_owned(),
        BundleError::UntrustedSigner(key) => format!("untrusted-signer: {key}"),
        BundleError::BadSignature => "bad-signature".to_owned(),
        BundleError::Malformed(what) => format!("malformed: {what}"),
        BundleError::BadKey(what) => format!("bad-key: {what}"),
        BundleError::OlderRevision(older) => format!(
            "older-revision: bundle revision {} is older than the running revision {}; \
             allow_rollback = yes accepts it",
            older.offered, older.running
        ),
    }
}
