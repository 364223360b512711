//! Pieces of an Envoy bootstrap (JSON, which Envoy reads as YAML) the Envoy suites share,
//! the shipped examples filled in for a test, and a certificate for TLS listeners.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

/// A socket address.
pub fn address(ip: &str, port: u16) -> Value {
    json!({"socket_address": {"address": ip, "port_value": port}})
}

/// A static cluster of one endpoint.
pub fn cluster(name: &str, (ip, port): (&str, u16)) -> Value {
    json!({
        "name": name,
        "type": "STATIC",
        "connect_timeout": "2s",
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": address(ip, port)}}
        ]}]},
    })
}

/// The example configuration `tests/envoy/NAME` with each `(from, to)` replaced, for a
/// test to run what the repository ships. Each `from` must occur exactly once, so an
/// edited example fails here rather than running with a value the test meant to replace.
pub fn fill_example(name: &str, replacements: &[(&str, &str)]) -> String {
    let path = super::repo_root().join("tests/envoy").join(name);
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in replacements {
        assert_eq!(
            text.matches(from).count(),
            1,
            "{} should contain {from:?} once",
            path.display()
        );
        text = text.replace(from, to);
    }
    text
}

/// A self-signed P-256 certificate for `localhost`, valid for a day, made by openssl in
/// `dir`: the certificate and key (PEM) and the certificate in DER. Subject Alt Name and
/// CA:FALSE because rustls's verifier ignores the CN and refuses a CA certificate used
/// as a server's (openssl's default for `-x509`).
pub fn self_signed_cert(dir: &Path) -> (PathBuf, PathBuf, Vec<u8>) {
    let (cert, key, der) = (
        dir.join("sip.crt"),
        dir.join("sip.key"),
        dir.join("sip.der"),
    );
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args([
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-days", "1", "-addext", "subjectAltName=DNS:localhost"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("openssl")
        .args(["x509", "-outform", "der", "-in"])
        .arg(&cert)
        .arg("-out")
        .arg(&der)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl x509 -outform der");
    (cert, key, std::fs::read(&der).unwrap())
}
