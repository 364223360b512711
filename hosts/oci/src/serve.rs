//! `e911-harness bundle serve`: a mirror between a registry and proxies that poll HTTP
//! (the Envoy filter's bundle poller, DESIGN §5). It follows a tag ([`Follower`]) and
//! serves the bundle in force, byte for byte, at one path:
//!
//! - `ETag: "<sha256 hex of the bundle file>"`; a request whose `If-None-Match` lists it
//!   gets `304 Not Modified` with no body (RFC 9110 §13.1.2: a strong comparison is not
//!   required for `If-None-Match`, so `W/` tags match too; `*` matches any bundle).
//! - Before the first good bundle, `503` with `Retry-After`; after it, registry outages
//!   and refused pushes change nothing: the last good bundle stays served.
//! - HTTP/1.1 persistent connections (RFC 9112 §9.3), as Envoy's cluster pools them, on
//!   the shared server ([`e911_http`]: its connection cap, timeouts and framing
//!   checks).

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use hyper::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, HeaderName, HeaderValue, IF_NONE_MATCH, RETRY_AFTER,
};
use hyper::{Method, Request, Response, StatusCode};

use super::follow::{Follower, Update};
use super::{FollowArgs, RegistryArgs, verify};
use e911_http::{Body, LimitsArgs};

/// `bundle serve`'s arguments.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// The tag to follow: `oci://REGISTRY/REPO:TAG`.
    pub reference: String,
    /// Where to serve HTTP: `HOST:PORT`.
    #[arg(long)]
    pub listen: SocketAddr,
    /// The path the bundle is served at.
    #[arg(long, default_value = "/bundle")]
    pub path: String,
    /// Public key files; only bundles signed by one of them are served.
    #[arg(long = "trust-key")]
    pub trust_keys: Vec<PathBuf>,
    /// Registry connection.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Poll interval.
    #[command(flatten)]
    pub follow: FollowArgs,
    /// Connection cap and timeouts.
    #[command(flatten)]
    pub limits: LimitsArgs,
}

/// How often the main loop asks the follower whether a look is due.
const TICK: Duration = Duration::from_millis(50);

/// The bundle being served.
struct Served {
    /// Cheap to clone into each response.
    bytes: hyper::body::Bytes,
    /// Quoted, as it goes on the wire.
    etag: HeaderValue,
    revision: HeaderValue,
}

/// Names the revision served, for operators reading a response.
const REVISION: HeaderName = HeaderName::from_static("e911-bundle-revision");

type Current = Arc<RwLock<Option<Arc<Served>>>>;

/// Serves until killed.
pub fn run(args: &ServeArgs) -> Result<()> {
    let limits = args.limits.limits()?;
    let keys = e911_host_files::policy_source::read_keys(&args.trust_keys)?;
    let mut follower = Follower::new(&args.reference, &args.registry, &args.follow, keys)?;
    let listener = TcpListener::bind(args.listen)
        .with_context(|| format!("--listen {}: cannot bind", args.listen))?;
    let current: Current = Arc::new(RwLock::new(None));
    match follower.pull_now() {
        Ok(followed) => install(&current, &followed.bytes, followed.bundle.info()),
        Err(err) => eprintln!(
            "e911-harness bundle serve: {}: {err:#}; answering 503 until a bundle arrives",
            args.reference
        ),
    }
    let addr = listener.local_addr().unwrap_or(args.listen);
    let path = args.path.clone();
    let serving = current.clone();
    std::thread::spawn(move || {
        let handler =
            move |request: &Request<()>| respond(request, read(&serving).as_deref(), &path);
        if let Err(err) = e911_http::serve(listener, limits, "e911-harness bundle serve", handler) {
            // A mirror that cannot serve is of no use to anyone polling it: say why and
            // stop, rather than follow the tag with the port dead.
            eprintln!("e911-harness bundle serve: {err:#}");
            std::process::exit(1);
        }
    });
    println!(
        "e911-harness bundle serve: ready on http://{addr}{} following {} every {:?}",
        args.path,
        follower.spec(),
        follower.interval()
    );
    loop {
        std::thread::sleep(TICK);
        match follower.poll() {
            Update::Unchanged => {}
            Update::Reachable => eprintln!(
                "e911-harness bundle serve: {} reachable again",
                follower.spec()
            ),
            Update::New(followed) => install(&current, &followed.bytes, followed.bundle.info()),
            Update::Unreachable(why) | Update::Refused(why) => {
                let revision = read(&current).map_or("none".to_owned(), |s| {
                    String::from_utf8_lossy(s.revision.as_bytes()).into_owned()
                });
                eprintln!("e911-harness bundle serve: {why}; revision {revision} stays served");
            }
        }
    }
}

fn read(current: &Current) -> Option<Arc<Served>> {
    current
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

fn install(current: &Current, bytes: &[u8], info: &e911_policy::BundleInfo) {
    let etag = format!("\"{}\"", verify::sha256_hex(bytes));
    // The revision comes from a signed bundle, but a field value still may not carry
    // control characters (RFC 9110 §5.5); such a revision is named, not sent.
    let revision = HeaderValue::from_str(&info.revision)
        .unwrap_or_else(|_| HeaderValue::from_static("unprintable"));
    eprintln!(
        "e911-harness bundle serve: serving revision {} (ETag {etag})",
        info.revision
    );
    // Quoted hex always is a field value; were it not, the last bundle stays served.
    let Ok(etag) = HeaderValue::from_str(&etag) else {
        eprintln!("e911-harness bundle serve: ETag {etag} is not a field value; not served");
        return;
    };
    let served = Served {
        bytes: hyper::body::Bytes::copy_from_slice(bytes),
        etag,
        revision,
    };
    *current
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(served));
}

/// Whether `If-None-Match` names the served ETag (weak comparison, RFC 9110 §13.1.2).
fn matches(if_none_match: &str, etag: &HeaderValue) -> bool {
    if_none_match.split(',').map(str::trim).any(|tag| {
        tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).as_bytes() == etag.as_bytes()
    })
}

/// The response to one request; hyper adds `Content-Length`, `Date` and the
/// keep-alive handling, and leaves the body off for HEAD.
fn respond(request: &Request<()>, served: Option<&Served>, path: &str) -> Response<Body> {
    let method = request.method();
    if method != Method::GET && method != Method::HEAD {
        let mut response = status(StatusCode::METHOD_NOT_ALLOWED);
        response
            .headers_mut()
            .insert(hyper::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    if request.uri().path() != path {
        return status(StatusCode::NOT_FOUND);
    }
    let Some(served) = served else {
        let mut response = status(StatusCode::SERVICE_UNAVAILABLE);
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("5"));
        return response;
    };
    let not_modified = request
        .headers()
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|tags| matches(tags, &served.etag));
    let mut response = if not_modified {
        status(StatusCode::NOT_MODIFIED)
    } else {
        let mut response = Response::new(Body::new(served.bytes.clone()));
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static(super::layout::BUNDLE_ARTIFACT_TYPE),
        );
        response
    };
    let headers = response.headers_mut();
    headers.insert(ETAG, served.etag.clone());
    headers.insert(REVISION, served.revision.clone());
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// A response with no body.
fn status(code: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::default());
    *response.status_mut() = code;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served() -> Served {
        Served {
            bytes: hyper::body::Bytes::from_static(b"bundle"),
            etag: HeaderValue::from_static("\"abc\""),
            revision: HeaderValue::from_static("r1"),
        }
    }

    fn request(method: &str, target: &str, if_none_match: &[&str]) -> Request<()> {
        let mut builder = Request::builder().method(method).uri(target);
        for tags in if_none_match {
            builder = builder.header(IF_NONE_MATCH, *tags);
        }
        builder.body(()).unwrap()
    }

    async fn body(response: Response<Body>) -> Vec<u8> {
        use http_body_util::BodyExt;
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec()
    }

    fn body_now(response: Response<Body>) -> Vec<u8> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(body(response))
    }

    #[test]
    fn answers_304_to_a_matching_if_none_match_in_any_form() {
        for tags in [
            &["\"abc\""][..],
            &["W/\"abc\""],
            &["\"x\", \"abc\""],
            &["*"],
            &["\"x\"", "\"abc\""],
        ] {
            let response = respond(&request("GET", "/bundle", tags), Some(&served()), "/bundle");
            assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{tags:?}");
            assert_eq!(response.headers()[ETAG], "\"abc\"");
            assert!(body_now(response).is_empty());
        }
    }

    #[test]
    fn serves_the_bundle_bytes_with_its_etag() {
        let r = request("GET", "/bundle?x=1", &["\"old\""]);
        let response = respond(&r, Some(&served()), "/bundle");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[ETAG], "\"abc\"");
        assert_eq!(response.headers()[REVISION], "r1");
        assert_eq!(body_now(response), b"bundle");
    }

    #[test]
    fn answers_404_405_503() {
        let r = request("GET", "/other", &[]);
        assert_eq!(
            respond(&r, Some(&served()), "/bundle").status(),
            StatusCode::NOT_FOUND
        );
        let r = request("POST", "/bundle", &[]);
        let response = respond(&r, Some(&served()), "/bundle");
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[hyper::header::ALLOW], "GET, HEAD");
        let r = request("GET", "/bundle", &[]);
        let response = respond(&r, None, "/bundle");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[RETRY_AFTER], "5");
    }
}
