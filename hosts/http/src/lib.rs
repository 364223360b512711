//! `e911-http`: the HTTP/1.1 server under `bundle serve` and `playground`: hyper's (RFC
//! 9112 framing, keep-alive, HEAD, `Date`) on a current-thread tokio runtime of its own,
//! with what an operator needs before exposing a port:
//!
//! - at most `--max-connections` connections at once (a semaphore); one over the cap is
//!   answered `503` and closed before anything is read from it;
//! - a request head must arrive within `--header-timeout-seconds` of the server asking for
//!   it (hyper's `header_read_timeout`; it also bounds an idle keep-alive connection);
//! - a connection on which no byte moves either way for `--idle-timeout-seconds` is closed
//!   ([`idle::Idle`]): a client that stops reading a response cannot hold a slot forever;
//! - neither server takes a request body, so any request that announces one
//!   (`Transfer-Encoding`, or a `Content-Length` other than 0) is answered `400` and the
//!   connection closed (RFC 9112 §6.3: a server that does not read a body cannot know
//!   where the next request starts). hyper refuses the rest itself: conflicting
//!   `Content-Length` values (§6.3 item 5), whitespace before a field's colon (§5.1),
//!   versions other than HTTP/1.0 and 1.1 (§2.3; 1.2 too, stricter than the RFC asks).
//!   RFC 9112 (<https://www.rfc-editor.org/rfc/rfc9112>) §5.1: "A server MUST reject, with
//!   a response status code of 400 (Bad Request), any received request message that
//!   contains whitespace between a header field name and colon."
//!
//! The two servers supply only a [`Handler`]: a request head in, a whole response out.
//!
//! Depends on nothing of ours: hyper, tokio and clap (for [`LimitsArgs`]). `e911-oci`
//! (`bundle serve`) and the CLI (`playground`) depend on it.

pub mod idle;

use std::convert::Infallible;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, TRANSFER_ENCODING};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;

/// A whole response body, built before the response is sent.
pub type Body = Full<Bytes>;

/// What a server does with one request: the head (the body is refused before this is
/// called) in, the response out.
pub trait Handler: Fn(&Request<()>) -> Response<Body> + Send + Sync + 'static {}
impl<F: Fn(&Request<()>) -> Response<Body> + Send + Sync + 'static> Handler for F {}

/// A request head larger than this is answered `431` (RFC 6585 §5): the old reader's
/// limit, far above what Envoy or a browser sends. hyper's smallest allowed is 8 KiB.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// How long to wait before accepting again after `accept` failed (out of file
/// descriptors, most likely), so a full table does not spin the loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Sent, without reading anything, to a connection over the cap.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\
Content-Length: 0\r\nConnection: close\r\n\r\n";

/// The limits each server's command line takes.
#[derive(clap::Args, Debug, Clone)]
pub struct LimitsArgs {
    /// Connections served at once; one more is answered 503 and closed.
    #[arg(long, default_value_t = 256)]
    pub max_connections: usize,
    /// A request head must arrive within this many seconds (an idle keep-alive connection
    /// is closed after as long).
    #[arg(long, default_value_t = 10.0)]
    pub header_timeout_seconds: f64,
    /// A connection on which nothing is read or written for this many seconds is closed.
    #[arg(long, default_value_t = 60.0)]
    pub idle_timeout_seconds: f64,
}

/// [`LimitsArgs`], checked.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
}

impl LimitsArgs {
    /// The limits, or an error naming the flag that is out of range.
    pub fn limits(&self) -> Result<Limits> {
        if self.max_connections == 0 {
            bail!("--max-connections 0: at least one connection must be allowed");
        }
        Ok(Limits {
            max_connections: self.max_connections,
            header_timeout: seconds("--header-timeout-seconds", self.header_timeout_seconds)?,
            idle_timeout: seconds("--idle-timeout-seconds", self.idle_timeout_seconds)?,
        })
    }
}

fn seconds(flag: &str, value: f64) -> Result<Duration> {
    match Duration::try_from_secs_f64(value) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => bail!("{flag} {value}: must be a positive number of seconds"),
    }
}

/// Serves `listener` with `handler` until the process ends; returns only if the runtime
/// cannot be built or the listener cannot be handed to it. `name` prefixes log lines.
pub fn serve(
    listener: TcpListener,
    limits: Limits,
    name: &'static str,
    handler: impl Handler,
) -> Result<()> {
    listener
        .set_nonblocking(true)
        .context("making the listener non-blocking")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("starting the HTTP server's runtime")?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::from_std(listener).context("registering the listener")?;
        accept_loop(listener, limits, name, Arc::new(handler)).await;
        Ok(())
    })
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    limits: Limits,
    name: &'static str,
    handler: Arc<impl Handler>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                eprintln!("{name}: accept: {err}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            // One non-blocking write into a fresh socket's empty send buffer; whether it
            // lands or not, the connection is dropped here and holds nothing.
            let _ = stream.try_write(BUSY);
            continue;
        };
        let handler = Arc::clone(&handler);
        tokio::spawn(async move {
            let io = TokioIo::new(idle::Idle::new(stream, limits.idle_timeout));
            let service = hyper::service::service_fn(move |request| {
                let response = answer(&*handler, request);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .max_buf_size(MAX_HEAD_BYTES)
                .serve_connection(io, service);
            // The header timeout is also how an idle keep-alive connection ends, which is
            // routine; anything else (bad framing, a stalled reader) gets a line.
            if let Err(err) = connection.await
                && !err.is_timeout()
            {
                eprintln!(
                    "{name}: connection from {peer}: {:#}",
                    anyhow::Error::new(err)
                );
            }
            drop(permit);
        });
    }
}

/// The handler's response, or `400` for a request that carries a body.
fn answer(handler: &impl Handler, request: Request<Incoming>) -> Response<Body> {
    if announces_body(&request) {
        return bad_request("a request body is not accepted here\n");
    }
    let (head, _) = request.into_parts();
    handler(&Request::from_parts(head, ()))
}

/// Whether the request says a body follows (RFC 9112 §6.3). hyper has already refused
/// `Content-Length` values that disagree or do not parse.
fn announces_body<B>(request: &Request<B>) -> bool {
    let headers = request.headers();
    headers.contains_key(TRANSFER_ENCODING)
        || headers.get_all(CONTENT_LENGTH).iter().any(|value| {
            value
                .as_bytes()
                .iter()
                .any(|b| !matches!(b, b'0' | b' ' | b','))
        })
}

/// `400` with `Connection: close`: the unread body makes the rest of the stream
/// meaningless, so hyper closes the connection after this response.
fn bad_request(why: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(why));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(fields: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::builder().uri("/bundle");
        for (name, value) in fields {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn a_body_is_announced_by_transfer_encoding_or_a_nonzero_length() {
        assert!(!announces_body(&request(&[])));
        assert!(!announces_body(&request(&[("Content-Length", "0")])));
        assert!(!announces_body(&request(&[("Content-Length", "00")])));
        assert!(announces_body(&request(&[("Content-Length", "1")])));
        assert!(announces_body(&request(&[(
            "Transfer-Encoding",
            "chunked"
        )])));
        assert!(announces_body(&request(&[(
            "Transfer-Encoding",
            "identity"
        )])));
    }

    #[test]
    fn limits_name_the_flag_out_of_range() {
        let args = LimitsArgs {
            max_connections: 1,
            header_timeout_seconds: 0.0,
            idle_timeout_seconds: 1.0,
        };
        let err = args.limits().unwrap_err().to_string();
        assert!(err.starts_with("--header-timeout-seconds 0"), "{err}");
        let args = LimitsArgs {
            max_connections: 0,
            ..args
        };
        assert!(
            args.limits()
                .unwrap_err()
                .to_string()
                .starts_with("--max-connections 0")
        );
        let args = LimitsArgs {
            max_connections: 1,
            header_timeout_seconds: 1.0,
            idle_timeout_seconds: f64::NAN,
        };
        assert!(args.limits().is_err());
    }
}
