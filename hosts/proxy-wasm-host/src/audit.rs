//! The plugin's audit line, `e911.audit <JSON>` at info level, read back into the
//! engine's [`Report`]: the JSON is `e911_engine::Report` serialized, so every field maps
//! one to one, each closed vocabulary read back with [`Word::from_word`] (no string is
//! interned).

use e911_engine::time::parse_rfc3339;
use e911_engine::{Kind, LocationReport, Report, RouteReport, Word};
use serde_json::Value;

/// What starts an audit line (the Envoy build's).
pub use e911_envoy::AUDIT_PREFIX;

/// The report in one audit line, if it is one; `Err` says what is wrong with it.
pub fn parse_line(line: &str) -> Option<Result<Report, String>> {
    let json = line.strip_prefix(AUDIT_PREFIX)?;
    Some(
        serde_json::from_str::<Value>(json)
            .map_err(|err| format!("not JSON: {err}"))
            .and_then(|v| report(&v)),
    )
}

fn text(v: &Value, key: &str) -> Result<Option<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("`{key}` is not a string: {other}")),
    }
}

fn required(v: &Value, key: &str) -> Result<String, String> {
    text(v, key)?.ok_or_else(|| format!("`{key}` is missing"))
}

/// The value of a closed vocabulary under `key`, by its word.
fn word<W: Word>(v: &Value, key: &str) -> Result<W, String> {
    let text = required(v, key)?;
    W::from_word(&text).ok_or_else(|| format!("unknown `{key}` `{text}`"))
}

fn strings(v: &Value, key: &str) -> Result<Vec<String>, String> {
    match v.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("`{key}` holds a non-string: {i}"))
            })
            .collect(),
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(other) => Err(format!("`{key}` is not a list: {other}")),
    }
}

/// The report an audit JSON object describes.
pub fn report(v: &Value) -> Result<Report, String> {
    let kind: Kind = word(v, "kind")?;
    let time = required(v, "time")?;
    let now = parse_rfc3339(&time).ok_or_else(|| format!("`time` {time} is not RFC 3339"))?;
    let location = match v.get("location") {
        None | Some(Value::Null) => None,
        Some(l) => Some(LocationReport {
            source: word(l, "source")?,
            erl: text(l, "erl")?,
            element: match text(l, "element")? {
                Some(text) => Some(
                    Word::from_word(&text).ok_or_else(|| format!("unknown `element` `{text}`"))?,
                ),
                None => None,
            },
            method: text(l, "method")?,
            validated: l.get("validated").and_then(Value::as_bool).unwrap_or(false),
            mismatch: word(l, "mismatch")?,
            address: required(l, "address")?,
        }),
    };
    let route = match v.get("route") {
        None | Some(Value::Null) => None,
        Some(r) => Some(RouteReport {
            id: required(r, "id")?,
            kind: word(r, "kind")?,
            trunk: required(r, "trunk")?,
            target: required(r, "target")?,
            reason: word(r, "reason")?,
            failover: strings(r, "failover")?,
        }),
    };
    Ok(Report {
        kind,
        call_id: text(v, "call_id")?,
        now,
        caller: text(v, "caller")?,
        dialed: text(v, "dialed")?,
        location,
        policy: text(v, "policy")?,
        policy_reason: text(v, "policy_reason")?,
        route,
        elin: text(v, "elin")?,
        notifications: strings(v, "notifications")?,
        degraded: text(v, "degraded")?,
        read_leniently: v
            .get("read_leniently")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        bundle_revision: required(v, "bundle_revision")?.into(),
        trace: strings(v, "trace")?,
    })
}

#[cfg(test)]
mod tests {
    use e911_engine::{ElementKind, LocationSource, Mismatch, RouteKind, RouteReason, Verdict};

    use super::*;

    #[test]
    fn a_serialized_report_reads_back_equal() {
        let mut verdict = Verdict::unchanged(
            1_793_000_000,
            "2026.11.1".to_owned(),
            vec!["one".to_owned()],
        );
        verdict.report.kind = Kind::Emergency;
        verdict.report.route = Some(RouteReport {
            id: "esp".to_owned(),
            kind: RouteKind::SipTrunk,
            trunk: "esp-primary".to_owned(),
            target: "sip:911@esp.example".to_owned(),
            reason: RouteReason::Policy,
            failover: vec!["esp-secondary".to_owned()],
        });
        verdict.report.location = Some(LocationReport {
            source: LocationSource::Network,
            erl: Some("hq-f1".to_owned()),
            element: Some(ElementKind::Subnet),
            method: Some("Wiremap".to_owned()),
            validated: true,
            mismatch: Mismatch::NotCompared,
            address: "1 Microsoft Way".to_owned(),
        });
        let line = format!(
            "{AUDIT_PREFIX}{}",
            serde_json::to_string(&verdict.report).unwrap()
        );
        assert_eq!(parse_line(&line), Some(Ok(verdict.report)));
        assert_eq!(parse_line("e911.other {}"), None);
        assert!(parse_line("e911.audit {").unwrap().is_err());
    }
}
