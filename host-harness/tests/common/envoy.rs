//! Pieces of an Envoy bootstrap (JSON, which Envoy reads as YAML) the Envoy suites share.

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
