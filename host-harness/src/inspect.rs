//! `e911-harness inspect`: what a SIP message carries that an emergency decision uses —
//! the dialled target, the caller, the network facts and the client's own location.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use e911_engine::ENGINE_LIMITS;
use e911_engine::client_location::{ClientLocation, client_location};
use e911_location::{CivicAddress, Location, Shape};
use e911_sip::{Message, parse};

/// Prints one block per file. Exits non-zero if any file does not parse, after printing
/// the others: one bad sample must not hide what the rest say.
pub fn run(files: &[PathBuf]) -> Result<ExitCode> {
    let mut failed = false;
    for path in files {
        match describe_file(path) {
            Ok(text) => print!("{text}"),
            Err(err) => {
                failed = true;
                eprintln!("{}: {err:#}", path.display());
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn describe_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).context("cannot read")?;
    let msg =
        parse(&bytes, &ENGINE_LIMITS).map_err(|err| anyhow::anyhow!("not a SIP message: {err}"))?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(describe(&name, &msg))
}

/// The block printed for one message.
pub fn describe(name: &str, msg: &Message<'_>) -> String {
    let mut out = String::new();
    let first_line = msg
        .as_bytes()
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "== {name} ({} bytes)\n   {}",
        msg.len(),
        lossy(first_line)
    );
    if let Some(target) = target(msg) {
        let _ = writeln!(out, "   target    {target}");
    }
    if let Some(caller) = caller(msg) {
        let _ = writeln!(out, "   caller    {caller}");
    }
    for info in msg.access_network_info().flatten() {
        let bssid = info
            .i_wlan_node_id()
            .map(lossy)
            .unwrap_or_else(|| "-".to_owned());
        let _ = writeln!(
            out,
            "   network   {} BSSID {bssid}",
            lossy(info.access_type)
        );
    }
    for (name, value) in lldp_headers(msg) {
        let _ = writeln!(out, "   network   {name}: {value}");
    }
    let _ = writeln!(
        out,
        "   location  {}",
        location_line(&client_location(msg, &ENGINE_LIMITS))
    );
    let _ = writeln!(out, "   body      {}", body_line(msg));
    out
}

fn target(msg: &Message<'_>) -> Option<String> {
    let uri = msg.request_uri().ok()?;
    Some(match uri.service_urn() {
        Some(urn) => format!("service URN {}", lossy(urn.service())),
        None => match uri.user() {
            Some(user) => format!("dialled {} ({})", lossy(user), lossy(uri.scheme())),
            None => format!("{} URI without a user part", lossy(uri.scheme())),
        },
    })
}

/// RFC 3325 §9.1: P-Asserted-Identity is the identity the network vouches for; From is
/// what the caller claims.
fn caller(msg: &Message<'_>) -> Option<String> {
    if let Some(Ok(pai)) = msg.p_asserted_identities().next() {
        return Some(format!("{} (P-Asserted-Identity)", lossy(pai.uri)));
    }
    let from = msg.from().ok()?;
    Some(format!("{} (From)", lossy(from.uri)))
}

/// Headers an edge switch or SBC adds with LLDP facts. Their names are configured per
/// bundle; the sample messages use `X-LLDP-*`.
fn lldp_headers<'a>(msg: &Message<'a>) -> Vec<(String, String)> {
    msg.fields()
        .iter()
        .filter(|f| {
            msg.name(f)
                .get(..7)
                .is_some_and(|head| head.eq_ignore_ascii_case(b"x-lldp-"))
        })
        .map(|f| (lossy(msg.name(f)), lossy(msg.value(f))))
        .collect()
}

fn location_line(found: &ClientLocation) -> String {
    match found {
        ClientLocation::Absent => "none sent".to_owned(),
        ClientLocation::ByReference { uri } => format!("by reference {uri} (not dereferenced)"),
        ClientLocation::Unusable { reason } => format!("unusable: {reason}"),
        ClientLocation::ByValue { pidf, matched } => match pidf.preferred() {
            None => format!(
                "by value (cid {}), but the PIDF-LO holds no location",
                matched.as_str()
            ),
            Some(found) => format!(
                "by value (cid {}): {}",
                matched.as_str(),
                summary(&found.location)
            ),
        },
    }
}

fn summary(location: &Location) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(civic) = &location.civic {
        parts.push(civic_line(civic));
    }
    match &location.shape {
        Some(Shape::Point(p)) => parts.push(format!("point {:.6},{:.6}", p.latitude, p.longitude)),
        Some(Shape::Circle(c)) => parts.push(format!(
            "circle {:.6},{:.6} r={}m",
            c.latitude, c.longitude, c.radius_m
        )),
        Some(Shape::Other(other)) => parts.push(format!("{} shape", other.kind)),
        None => {}
    }
    if let Some(method) = &location.method {
        parts.push(format!("method {}", method.as_str()));
    }
    if !location.elins.is_empty() {
        parts.push(format!("ELIN {}", location.elins.join(",")));
    }
    parts.join("; ")
}

fn civic_line(civic: &CivicAddress) -> String {
    civic
        .elements()
        .map(|(element, value)| format!("{}={value}", element.name()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn body_line(msg: &Message<'_>) -> String {
    if msg.body().is_empty() {
        return "none".to_owned();
    }
    let Ok(ct) = msg.content_type() else {
        return format!("{} bytes, no usable Content-Type", msg.body().len());
    };
    let kind = format!("{}/{}", lossy(ct.main_type), lossy(ct.subtype));
    if !ct.is_multipart() {
        return format!("{kind}, {} bytes", msg.body().len());
    }
    match msg.multipart(&ENGINE_LIMITS) {
        Ok(parts) => {
            let names: Vec<String> = parts
                .iter()
                .map(|p| {
                    p.content_type().map_or_else(
                        |_| "text/plain".to_owned(),
                        |ct| format!("{}/{}", lossy(ct.main_type), lossy(ct.subtype)),
                    )
                })
                .collect();
            format!("{kind}: {} parts ({})", parts.len(), names.join(", "))
        }
        Err(err) => format!("{kind} that does not split: {err}"),
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
