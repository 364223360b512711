//! `e911-harness playground`: serves the policy playground page (`cargo xtask
//! build-web` writes it to `target/wasm/web/`) and one policy folder for it to load, over
//! a small static HTTP/1.1 server on a std `TcpListener`. The page does everything itself
//! in the browser; this server only hands out files:
//!
//! - `/policy/index.json`: `{"name", "files"}`, the files of `--policy` as they are on
//!   disk now (so an edit on disk shows on the next load), and `/policy/NAME` each file;
//! - anything else: a file under `--dir` (`/` is `index.html`).
//!
//! GET and HEAD only, one request per connection (`Connection: close`), a thread per
//! connection; paths with `..` or a backslash are refused, so nothing outside the two
//! folders is reachable.

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::http_head::{self, Head, read_head};

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
}

/// A client that sends nothing for this long is dropped.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The two folders served.
struct Site {
    dir: PathBuf,
    policy: PathBuf,
}

/// Serves until the process is stopped.
pub fn run(args: &PlaygroundArgs) -> Result<()> {
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
    let listener = TcpListener::bind(&args.listen)
        .with_context(|| format!("--listen {}: cannot bind", args.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    println!(
        "playground: http://{addr}/ (policy {}, page {})",
        args.policy.display(),
        args.dir.display()
    );
    std::io::stdout().flush().ok();
    let site = Arc::new(Site {
        dir: args.dir.clone(),
        policy: args.policy.clone(),
    });
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let site = Arc::clone(&site);
        std::thread::spawn(move || {
            if let Err(err) = serve(stream, &site) {
                eprintln!("playground: {err:#}");
            }
        });
    }
    Ok(())
}

/// Answers one request.
fn serve(stream: TcpStream, site: &Site) -> Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT)).ok();
    let mut reader = BufReader::new(stream.try_clone().context("cloning the socket")?);
    let response = match read_head(&mut reader).context("reading the request")? {
        Head::Closed => return Ok(()),
        Head::TooLarge => http_head::TOO_LARGE.to_vec(),
        Head::Bad => http_head::BAD_REQUEST.to_vec(),
        Head::Request(request) => respond(&request.method, &request.target, site),
    };
    let mut stream = stream;
    stream
        .write_all(&response)
        .context("writing the response")?;
    Ok(())
}

/// The whole response to one request.
fn respond(method: &str, target: &str, site: &Site) -> Vec<u8> {
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return reply(405, "text/plain", b"GET or HEAD only\n".to_vec(), head_only);
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let Some(path) = decode_path(path) else {
        return reply(400, "text/plain", b"bad path\n".to_vec(), head_only);
    };
    let found = match path.strip_prefix("/policy/") {
        Some("index.json") => policy_index(&site.policy).map(|json| (json, "application/json")),
        Some(name) => read(&site.policy, name),
        None => {
            let name = path.trim_start_matches('/');
            read(&site.dir, if name.is_empty() { "index.html" } else { name })
        }
    };
    match found {
        Some((body, content_type)) => reply(200, content_type, body, head_only),
        None => reply(404, "text/plain", b"not found\n".to_vec(), head_only),
    }
}

/// The request path with `%XX` decoded; `None` for anything that could leave the folder.
fn decode_path(raw: &str) -> Option<String> {
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
    let path = String::from_utf8(out).ok()?;
    let escapes = path.contains('\\')
        || path.contains('\0')
        || path.split('/').any(|segment| segment == "..")
        || !path.starts_with('/');
    (!escapes).then_some(path)
}

/// A file under `dir` and its content type.
fn read(dir: &Path, name: &str) -> Option<(Vec<u8>, &'static str)> {
    let path = dir.join(name);
    if !path.is_file() {
        return None;
    }
    let body = std::fs::read(&path).ok()?;
    Some((body, content_type(name)))
}

/// `{"name": "<folder name>", "files": [<file names, sorted>]}`.
fn policy_index(dir: &Path) -> Option<Vec<u8>> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file())
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

fn reply(status: u16, content_type: &str, body: Vec<u8>, head_only: bool) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend(body);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        Site {
            dir: root.join("plugin/web/www"),
            policy: root.join("policies/contoso"),
        }
    }

    fn status_and_body(response: &[u8]) -> (String, String) {
        let text = String::from_utf8_lossy(response);
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        (head.lines().next().unwrap().to_owned(), body.to_owned())
    }

    #[test]
    fn serves_the_page_and_the_policy_listing() {
        let (status, body) = status_and_body(&respond("GET", "/", &site()));
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(body.contains("E9-1-1 policy playground"));
        let (status, body) = status_and_body(&respond("GET", "/policy/index.json", &site()));
        assert_eq!(status, "HTTP/1.1 200 OK");
        let index: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(index["name"], "contoso");
        assert!(
            index["files"]
                .as_array()
                .unwrap()
                .contains(&"erls.csv".into())
        );
        let (_, body) = status_and_body(&respond("GET", "/policy/erls.csv", &site()));
        assert!(body.starts_with("id,description"));
    }

    #[test]
    fn refuses_paths_that_leave_the_folders() {
        for target in [
            "/../Cargo.toml",
            "/policy/../bundle.toml",
            "/%2e%2e/Cargo.toml",
            "/policy/..%5cx",
            "/%zz",
        ] {
            let response = respond("GET", target, &site());
            let (status, _) = status_and_body(&response);
            assert!(
                status.contains("400") || status.contains("404"),
                "{target}: {status}"
            );
        }
    }

    #[test]
    fn names_types_browsers_insist_on() {
        assert_eq!(content_type("pkg/e911_web_bg.wasm"), "application/wasm");
        assert!(content_type("app.js").starts_with("text/javascript"));
        let (status, _) = status_and_body(&respond("POST", "/", &site()));
        assert!(status.contains("405"));
    }
}
