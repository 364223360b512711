//! The two addresses the filter reads as text: a peer from Envoy's `address` attributes,
//! and a webhook URL turned into what `dispatch_http_call` needs.

use std::net::{IpAddr, SocketAddr};

/// `ip:port` (`[v6]:port`) or a bare address, as Envoy's `source.address` and
/// `upstream.address` attributes give it.
pub fn parse_peer(text: &str) -> Option<IpAddr> {
    text.parse::<SocketAddr>()
        .map(|s| s.ip())
        .or_else(|_| text.parse::<IpAddr>())
        .ok()
}

/// `http://host:port/path?q` → (`host:port`, `/path?q`): the `:authority` and `:path` of
/// a call through a cluster, which decides where it really goes.
pub fn split_webhook_url(url: &str) -> (&str, &str) {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or(url);
    match rest.find('/') {
        Some(i) => (rest.get(..i).unwrap_or(rest), rest.get(i..).unwrap_or("/")),
        None => (rest, "/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_peers_with_and_without_ports() {
        assert_eq!(parse_peer("10.1.0.25:5060"), "10.1.0.25".parse().ok());
        assert_eq!(parse_peer("[2001:db8::1]:5060"), "2001:db8::1".parse().ok());
        assert_eq!(parse_peer("2001:db8::1"), "2001:db8::1".parse().ok());
        assert_eq!(parse_peer("envoy://internal"), None);
    }

    #[test]
    fn splits_webhook_urls_into_authority_and_path() {
        assert_eq!(
            split_webhook_url("http://desk.contoso.com:8080/hooks/e911?x=1"),
            ("desk.contoso.com:8080", "/hooks/e911?x=1")
        );
        assert_eq!(
            split_webhook_url("https://desk.example"),
            ("desk.example", "/")
        );
    }
}
