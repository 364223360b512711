//! `e911-harness playground`: serves the policy playground page (`cargo xtask
//! build-web` writes it to `target/wasm/web/`) and one policy folder for it to load, over
//! a small static HTTP/1.1 server on a std `TcpListener`. The page does everything itself
//! in the browser; this server only hands out files:
//!
//! - `/policy/index.json`: `{"name", "files"}`, the files of `--policy` as they are on
//!   disk now (so an edit on disk shows on the next load), and `/policy/NAME` each file;
//! - anything else: a file under `--dir` (`/` is `index.html`).
//!
//! GET and HEAD only, on the shared server ([`e911_http`]: connection cap,
//! timeouts, framing checks). A path is taken apart into segments before anything is
//! decoded, and a segment that is empty, `.` or `..`, or that decodes to something with a
//! `/`, `\\` or NUL in it, refuses the request; what is left is opened only if its real
//! path (symlinks resolved) is still inside the folder, so nothing outside the two
//! folders is reachable however the path is written.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use hyper::{Method, Request, Response, StatusCode};

use e911_http::{Body, LimitsArgs};

/// What `playground` takes.
#[derive(clap::Args, Debug)]
pub struct PlaygroundArgs {
    /// The policy folder the page loads (bundle sources: TOML and CSV files).
    #[arg(long, default_value = "policies/contoso")]
    pub policy: PathBuf,
    /// Address to listen on; port 0 picks a free one (the URL is printed).
    #[arg(long, default_value = "127.0.0.1:8911")]
    pub listen: String,
    /// The built page (from `cargo xtask build-web`).
    #[arg(long, default_value = "target/wasm/web")]
    pub dir: PathBuf,
    /// Connection cap and timeouts.
    #[command(flatten)]
    pub limits: LimitsArgs,
}

/// The two folders served.
struct Site {
    dir: PathBuf,
    policy: PathBuf,
}

/// Serves until the process is stopped.
pub fn run(args: &PlaygroundArgs) -> Result<()> {
    let limits = args.limits.limits()?;
    let index = args.dir.join("index.html");
    if !index.is_file() {
        bail!(
            "{}: missing; run cargo xtask build-web (or pass --dir)",
            index.display()
        );
    }
    if !args.policy.is_dir() {
        bail!("{}: not a policy folder", args.policy.display());
    }
    let site = Site {
        dir: root(&args.dir)?,
        policy: root(&args.policy)?,
    };
    let listener = TcpListener::bind(&args.listen)
        .with_context(|| format!("--listen {}: cannot bind", args.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    println!(
        "playground: http://{addr}/ (policy {}, page {})",
        args.policy.display(),
        args.dir.display()
    );
    std::io::stdout().flush().ok();
    e911_http::serve(
        listener,
        limits,
        "playground",
        move |request: &Request<()>| respond(request, &site),
    )
}

/// A served folder's real path, the prefix every file served from it must keep.
fn root(dir: &Path) -> Result<PathBuf> {
    dir.canonicalize()
        .with_context(|| format!("{}: cannot resolve", dir.display()))
}

/// The whole response to one request. Files are small and local, so they are read on
/// the server's thread rather than streamed.
fn respond(request: &Request<()>, site: &Site) -> Response<Body> {
    let method = request.method();
    if method != Method::GET && method != Method::HEAD {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET or HEAD only\n",
        );
    }
    let Some(segments) = segments(request.uri().path()) else {
        return reply(StatusCode::BAD_REQUEST, "text/plain", "bad path\n");
    };
    let names: Vec<&str> = segments.iter().map(String::as_str).collect();
    let found = match names.as_slice() {
        [] => read(&site.dir, &["index.html"]),
        ["policy", "index.json"] => {
            policy_index(&site.policy).map(|json| (json, "application/json"))
        }
        ["policy", rest @ ..] => read(&site.policy, rest),
        _ => read(&site.dir, &names),
    };
    match found {
        Some((body, content_type)) => reply(StatusCode::OK, content_type, body),
        None => reply(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
    }
}

/// The path's segments, each `%XX`-decoded; `None` if any could name something other
/// than an entry of the folder it is in. `/` alone is no segments.
fn segments(path: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix('/')?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    // Split first, decode second: `%2F` is then a character inside one name (refused
    // below), never a separator that could start an absolute path.
    rest.split('/')
        .map(|raw| {
            let name = decode(raw)?;
            let plain = !name.is_empty()
                && name != "."
                && name != ".."
                && !name.contains(['/', '\\', '\0']);
            plain.then_some(name)
        })
        .collect()
}

/// `%XX` decoded; `None` for a bad escape or bytes that are not UTF-8.
fn decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = raw.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The file `names` under `root` and its content type, if its real path is still under
/// `root` (a symlink out of the folder is not followed).
fn read(root: &Path, names: &[&str]) -> Option<(Vec<u8>, &'static str)> {
    let last = names.last()?;
    let path = names
        .iter()
        .fold(root.to_path_buf(), |path, name| path.join(name));
    let real = path.canonicalize().ok()?;
    if !real.starts_with(root) || !real.is_file() {
        return None;
    }
    let body = std::fs::read(&real).ok()?;
    Some((body, content_type(last)))
}

/// `{"name": "<folder name>", "files": [<file names, sorted>]}`.
fn policy_index(dir: &Path) -> Option<Vec<u8>> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.canonicalize()
                .is_ok_and(|real| real.starts_with(dir) && real.is_file())
        })
        .filter_map(|path| Some(path.file_name()?.to_string_lossy().into_owned()))
        .collect();
    files.sort();
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|d| Some(d.file_name()?.to_string_lossy().into_owned()))
        .unwrap_or_default();
    serde_json::to_vec(&serde_json::json!({ "name": name, "files": files })).ok()
}

/// The type a browser needs: `application/wasm` for streaming compilation, a JavaScript
/// type for module scripts (browsers refuse modules served as anything else).
fn content_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map_or("", |(_, e)| e);
    match extension.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        _ => "text/plain; charset=utf-8",
    }
}

fn reply(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response<Body> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The page is edited while served: always fetch it anew.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn site() -> Site {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        Site {
            dir: root.join("plugin/web/www").canonicalize().unwrap(),
            policy: root.join("policies/contoso").canonicalize().unwrap(),
        }
    }

    fn get(method: &str, target: &str) -> (StatusCode, String) {
        let request = Request::builder()
            .method(method)
            .uri(target)
            .body(())
            .unwrap();
        let response = respond(&request, &site());
        let status = response.status();
        let body = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(response.into_body().collect())
            .unwrap()
            .to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[test]
    fn serves_the_page_and_the_policy_listing() {
        let (status, body) = get("GET", "/");
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("E9-1-1 policy playground"));
        let (status, body) = get("GET", "/policy/index.json");
        assert_eq!(status, StatusCode::OK);
        let index: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(index["name"], "contoso");
        assert!(
            index["files"]
                .as_array()
                .unwrap()
                .contains(&"erls.csv".into())
        );
        let (_, body) = get("GET", "/policy/erls.csv");
        assert!(body.starts_with("id,description"));
    }

    #[test]
    fn refuses_segments_that_could_leave_the_folder() {
        for path in [
            "/..", "/a/../b", "/a//b", "//etc", "/a/", "/.", "/%2e%2e", "/a%2Fb", "/a%2fb",
            "/a%5cb", "/a\\b", "/a%00", "/%zz", "/%ff", "relative",
        ] {
            assert_eq!(segments(path), None, "{path}");
        }
        assert_eq!(segments("/"), Some(vec![]));
        assert_eq!(
            segments("/pkg/e911%20web.js"),
            Some(vec!["pkg".to_owned(), "e911 web.js".to_owned()])
        );
    }

    #[test]
    fn names_types_browsers_insist_on() {
        assert_eq!(content_type("pkg/e911_web_bg.wasm"), "application/wasm");
        assert!(content_type("app.js").starts_with("text/javascript"));
        assert_eq!(get("POST", "/").0, StatusCode::METHOD_NOT_ALLOWED);
    }
}
