//! etcd's JSON gateway as bytes: the requests this store sends and the answers it reads,
//! with no I/O, so every host speaks it the same way (the blocking [`Client`] of the
//! harness proxy, and the Envoy filter through `dispatch_http_call`).
//!
//! The gateway maps etcd's protobuf messages to JSON (proto3 JSON mapping): keys and
//! values travel base64-encoded, 64-bit numbers as strings, and fields at their default
//! value are left out of answers, so every field read here has a default.
//!
//! Nothing here panics: it is compiled into the Envoy module, where a panic stops every
//! connection of a worker.
//!
//! [`Client`]: crate::Client

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

/// Reads one key or a range of keys.
pub const RANGE: &str = "/v3/kv/range";
/// A transaction: compares, then puts or reads.
pub const TXN: &str = "/v3/kv/txn";
/// Grants a lease.
pub const GRANT: &str = "/v3/lease/grant";
/// The answering member's status (its id and the leader's).
pub const STATUS: &str = "/v3/maintenance/status";
/// Exchanges a user and password for a token.
pub const AUTHENTICATE: &str = "/v3/auth/authenticate";

/// One key's value and the revision that last changed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kv {
    /// The stored bytes.
    pub value: Vec<u8>,
    /// The cluster revision of the last write to this key: what a compare-and-swap
    /// compares.
    pub mod_revision: i64,
}

/// An answer that is not what etcd sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl core::fmt::Display for Malformed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "etcd answered something unexpected: {}", self.0)
    }
}

impl std::error::Error for Malformed {}

/// One put of a transaction.
#[derive(Debug, Clone, Copy)]
pub struct Put<'a> {
    /// The key.
    pub key: &'a str,
    /// The value.
    pub value: &'a [u8],
    /// The lease the key lives under (0: none, it stays until overwritten).
    pub lease: i64,
}

/// What a transaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Txn {
    /// Every compared key still had the expected revision; the puts are written at
    /// `revision` (their new `mod_revision`).
    Written {
        /// The cluster revision of the transaction.
        revision: i64,
    },
    /// A compared key had changed: what every compared key (and every key the
    /// transaction also read) holds now. A key missing from the list does not exist.
    Lost(Vec<(String, Kv)>),
}

/// A serializable read of `key`: the member answers from its own state without a round
/// of the quorum. A read a few milliseconds stale is harmless here: a write based on it
/// fails its compare-and-swap, and the member that answers the failed swap has applied
/// the write that beat it.
pub fn get(key: &str) -> Vec<u8> {
    encode(&RangeRequest {
        key: B64.encode(key),
        range_end: None,
        serializable: true,
    })
}

/// A linearizable read of every key under `prefix`.
pub fn list(prefix: &str) -> Vec<u8> {
    encode(&RangeRequest {
        key: B64.encode(prefix),
        range_end: Some(B64.encode(prefix_end(prefix))),
        serializable: false,
    })
}

/// A transaction that writes `puts` if every key of `compares` was last written at its
/// revision (0: if it does not exist), and otherwise reads every compared key and every
/// key of `also_read` (what the writer should know before it tries again).
pub fn txn(compares: &[(&str, i64)], puts: &[Put<'_>], also_read: &[&str]) -> Vec<u8> {
    encode(&TxnRequest {
        compare: compares
            .iter()
            .map(|(key, revision)| Compare {
                key: B64.encode(key),
                target: "MOD",
                result: "EQUAL",
                mod_revision: revision.to_string(),
            })
            .collect(),
        success: puts
            .iter()
            .map(|put| SuccessOp {
                request_put: PutRequest {
                    key: B64.encode(put.key),
                    value: B64.encode(put.value),
                    lease: put.lease.to_string(),
                },
            })
            .collect(),
        failure: compares
            .iter()
            .map(|(key, _)| *key)
            .chain(
                also_read
                    .iter()
                    .copied()
                    .filter(|key| !compares.iter().any(|(compared, _)| compared == key)),
            )
            .map(|key| FailureOp {
                request_range: RangeRequest {
                    key: B64.encode(key),
                    range_end: None,
                    serializable: false,
                },
            })
            .collect(),
    })
}

/// A lease of `ttl` seconds: keys written with it go when it expires.
pub fn grant(ttl: u64) -> Vec<u8> {
    encode(&GrantRequest {
        ttl: ttl.to_string(),
    })
}

/// The request for [`STATUS`].
pub fn status() -> Vec<u8> {
    b"{}".to_vec()
}

/// The request for [`AUTHENTICATE`].
pub fn authenticate(name: &str, password: &str) -> Vec<u8> {
    encode(&AuthenticateRequest { name, password })
}

/// The `kvs` of a range answer as (key, value), keys decoded.
pub fn kvs(answer: &[u8]) -> Result<Vec<(String, Kv)>, Malformed> {
    decode::<RangeAnswer>(answer)?.kvs()
}

/// A listing's answer: the cluster revision it was read at, and the keys with their
/// values.
pub fn listing(answer: &[u8]) -> Result<(i64, Vec<(String, Kv)>), Malformed> {
    let answer: RangeAnswer = decode(answer)?;
    let revision = answer.header.revision.0;
    Ok((revision, answer.kvs()?))
}

/// A transaction's answer (see [`txn`]).
pub fn txn_answer(answer: &[u8]) -> Result<Txn, Malformed> {
    let answer: TxnAnswer = decode(answer)?;
    if answer.succeeded {
        return Ok(Txn::Written {
            revision: answer.header.revision.0,
        });
    }
    let mut current = Vec::new();
    for response in answer.responses {
        current.extend(response.response_range.kvs()?);
    }
    Ok(Txn::Lost(current))
}

/// The lease id of a grant's answer.
pub fn granted(answer: &[u8]) -> Result<i64, Malformed> {
    let answer: GrantAnswer = decode(answer)?;
    match answer.id {
        Some(Int(id)) if id != 0 => Ok(id),
        _ => Err(Malformed("a lease without an ID".to_owned())),
    }
}

/// A status answer: (the answering member's id, the leader's id), as etcd writes them
/// (unsigned 64-bit, in decimal).
pub fn status_answer(answer: &[u8]) -> Result<(String, String), Malformed> {
    let answer: StatusAnswer = decode(answer)?;
    Ok((answer.header.member_id, answer.leader))
}

/// The token of an authentication answer.
pub fn token(answer: &[u8]) -> Option<String> {
    decode::<TokenAnswer>(answer).ok()?.token
}

/// The gateway's error text, for a refused call.
pub fn message(answer: &[u8]) -> String {
    decode::<ErrorAnswer>(answer)
        .ok()
        .and_then(|a| a.message.or(a.error))
        .unwrap_or_else(|| "no message".to_owned())
}

/// The first key after every key that starts with `prefix` (etcd's range end for a
/// prefix: the last byte plus one, dropping trailing 0xff bytes).
pub fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // Every byte was 0xff: the range runs to the end of the keyspace.
    vec![0]
}

/// The JSON of a request. Requests are strings and numbers only, which always
/// serialise; an empty body (refused by etcd) stands in for the impossible failure
/// rather than a panic.
fn encode(request: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(request).unwrap_or_default()
}

fn decode<'a, T: Deserialize<'a>>(answer: &'a [u8]) -> Result<T, Malformed> {
    serde_json::from_slice(answer).map_err(|err| Malformed(err.to_string()))
}

#[derive(Serialize)]
struct RangeRequest {
    key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    range_end: Option<String>,
    #[serde(skip_serializing_if = "core::ops::Not::not")]
    serializable: bool,
}

#[derive(Serialize)]
struct TxnRequest {
    compare: Vec<Compare>,
    success: Vec<SuccessOp>,
    failure: Vec<FailureOp>,
}

#[derive(Serialize)]
struct Compare {
    key: String,
    target: &'static str,
    result: &'static str,
    mod_revision: String,
}

#[derive(Serialize)]
struct SuccessOp {
    request_put: PutRequest,
}

#[derive(Serialize)]
struct FailureOp {
    request_range: RangeRequest,
}

#[derive(Serialize)]
struct PutRequest {
    key: String,
    value: String,
    lease: String,
}

#[derive(Serialize)]
struct GrantRequest {
    #[serde(rename = "TTL")]
    ttl: String,
}

#[derive(Serialize)]
struct AuthenticateRequest<'a> {
    name: &'a str,
    password: &'a str,
}

/// A 64-bit number, which the gateway writes as a string (and a few fields as numbers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Int(i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Text(String),
            Number(i64),
        }
        match Either::deserialize(d)? {
            Either::Number(n) => Ok(Self(n)),
            Either::Text(text) => text.parse().map(Self).map_err(serde::de::Error::custom),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RangeAnswer {
    header: Header,
    kvs: Vec<RawKv>,
}

impl RangeAnswer {
    fn kvs(self) -> Result<Vec<(String, Kv)>, Malformed> {
        self.kvs
            .into_iter()
            .map(|kv| {
                let key = base64(&kv.key, "key")?;
                let key = String::from_utf8(key)
                    .map_err(|_| Malformed("a key that is not UTF-8".to_owned()))?;
                Ok((
                    key,
                    Kv {
                        value: base64(&kv.value, "value")?,
                        mod_revision: kv.mod_revision.0,
                    },
                ))
            })
            .collect()
    }
}

fn base64(text: &str, what: &str) -> Result<Vec<u8>, Malformed> {
    B64.decode(text)
        .map_err(|err| Malformed(format!("a {what} that is not base64 ({err})")))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawKv {
    key: String,
    value: String,
    mod_revision: Int,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Header {
    revision: Int,
    member_id: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TxnAnswer {
    header: Header,
    succeeded: bool,
    responses: Vec<ResponseOp>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResponseOp {
    response_range: RangeAnswer,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GrantAnswer {
    #[serde(rename = "ID")]
    id: Option<Int>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusAnswer {
    header: Header,
    leader: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenAnswer {
    token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorAnswer {
    message: Option<String>,
    error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn a_prefix_ends_after_its_last_byte() {
        assert_eq!(prefix_end("/e911/"), b"/e9110".to_vec());
        assert_eq!(prefix_end("a\u{7f}"), b"a\x80".to_vec());
    }

    #[test]
    fn a_transaction_compares_puts_and_reads_back_what_it_compared() {
        let body = text(txn(
            &[("/e911/callbacks/+1", 7)],
            &[Put {
                key: "/e911/callbacks/+1",
                value: b"{}",
                lease: 42,
            }],
            &["/e911/callbacks/+1"],
        ));
        assert_eq!(
            body,
            r#"{"compare":[{"key":"L2U5MTEvY2FsbGJhY2tzLysx","target":"MOD","result":"EQUAL","mod_revision":"7"}],"#
                .to_owned()
                + r#""success":[{"request_put":{"key":"L2U5MTEvY2FsbGJhY2tzLysx","value":"e30=","lease":"42"}}],"#
                + r#""failure":[{"request_range":{"key":"L2U5MTEvY2FsbGJhY2tzLysx"}}]}"#
        );
        assert_eq!(
            text(list("/e911/")),
            r#"{"key":"L2U5MTEv","range_end":"L2U5MTEw"}"#
        );
        assert_eq!(text(get("k")), r#"{"key":"aw==","serializable":true}"#);
        assert_eq!(text(grant(90)), r#"{"TTL":"90"}"#);
    }

    #[test]
    fn reads_answers_as_the_gateway_writes_them() {
        let won = br#"{"header":{"cluster_id":"1","revision":"31"},"succeeded":true,
            "responses":[{"response_put":{"header":{"revision":"31"}}}]}"#;
        assert_eq!(txn_answer(won), Ok(Txn::Written { revision: 31 }));
        let lost = br#"{"header":{"revision":"32"},"responses":[{"response_range":{
            "header":{"revision":"32"},"kvs":[{"key":"aw==","create_revision":"3",
            "mod_revision":"30","version":"2","value":"e30=","lease":"5"}],"count":"1"}},
            {"response_range":{"header":{"revision":"32"}}}]}"#;
        assert_eq!(
            txn_answer(lost),
            Ok(Txn::Lost(vec![(
                "k".to_owned(),
                Kv {
                    value: b"{}".to_vec(),
                    mod_revision: 30
                }
            )]))
        );
        assert_eq!(kvs(br#"{"header":{}}"#), Ok(Vec::new()));
        assert_eq!(
            listing(br#"{"header":{"revision":"40"},"kvs":[{"key":"aw==","mod_revision":"39"}]}"#),
            Ok((
                40,
                vec![(
                    "k".to_owned(),
                    Kv {
                        value: Vec::new(),
                        mod_revision: 39
                    }
                )]
            ))
        );
        assert_eq!(
            granted(br#"{"header":{},"ID":"7587","TTL":"90"}"#),
            Ok(7587)
        );
        assert!(granted(br#"{"header":{}}"#).is_err());
        assert_eq!(
            status_answer(br#"{"header":{"member_id":"11"},"leader":"12"}"#),
            Ok(("11".to_owned(), "12".to_owned()))
        );
        assert_eq!(
            message(br#"{"error":"etcdserver: request timed out","code":14,"message":"etcdserver: request timed out"}"#),
            "etcdserver: request timed out"
        );
        assert_eq!(message(b"<html>"), "no message");
        assert_eq!(token(br#"{"token":"abc.1"}"#).as_deref(), Some("abc.1"));
    }

    #[test]
    fn refuses_what_is_not_an_answer() {
        assert!(kvs(b"not json").is_err());
        assert!(kvs(br#"{"kvs":[{"key":"***"}]}"#).is_err());
        assert!(txn_answer(br#"{"header":{"revision":"x"}}"#).is_err());
    }
}
