//! The contoso example bundle mapped onto loopback, for the end-to-end suites (the harness
//! proxy, Envoy, Kamailio), and the edits the suites make to it.
//!
//! Callers bind 127.1.0.x (HQ, floor 1) and 127.2.0.x (Wichita, a subnet of the Wichita
//! site); notifications go to one webhook. Which networks are trusted is the suite's
//! choice; every other loopback address is a carrier, so a callee answering from
//! 127.0.0.x can call an ELIN back.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{harness, repo_root};

/// policies/contoso copied into `dir/bundle-src` with the loopback subnets and sites,
/// `trusted` (TOML strings, e.g. `"127.0.0.0/8"`) added to the trusted networks, loopback
/// as a carrier network, and `webhook` as every notification target. Returns the folder.
pub fn loopback_sources(dir: &Path, webhook: &str, trusted: &[&str]) -> PathBuf {
    let src = dir.join("bundle-src");
    std::fs::create_dir_all(&src).unwrap();
    for entry in std::fs::read_dir(repo_root().join("policies/contoso")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, src.join(path.file_name().unwrap())).unwrap();
    }
    let mut subnets = std::fs::read_to_string(src.join("subnets.csv")).unwrap();
    subnets.push_str(concat!(
        "\"127.1.0.0\",\"Redmond B40 wired, floor 1\",\"Building 40, Floor 1\",\"Contoso\",",
        "\"1\",\"\",\"\",\"Microsoft\",\"Way\",\"\",\"Redmond\",\"WA\",\"98052\",\"US\"\r\n",
        "\"127.2.0.0\",\"Wichita branch\",\"Floor 1\",\"Contoso;+13165550100;+13165550101\",",
        "\"100\",\"\",\"N\",\"Main\",\"St\",\"\",\"Wichita\",\"KS\",\"67202\",\"US\"\r\n"
    ));
    std::fs::write(src.join("subnets.csv"), subnets).unwrap();
    edit(
        &src,
        "sites.toml",
        "[\"10.2.0.0/16\"]",
        "[\"10.2.0.0/16\", \"127.2.0.0/16\"]",
    );
    let trusted: String = trusted.iter().map(|t| format!(", \"{t}\"")).collect();
    edit(
        &src,
        "bundle.toml",
        "\"2001:db8::/32\"]",
        &format!("\"2001:db8::/32\"{trusted}]"),
    );
    edit(
        &src,
        "bundle.toml",
        "carriers = [\"203.0.113.0/24\"]",
        "carriers = [\"203.0.113.0/24\", \"127.0.0.0/8\"]",
    );
    std::fs::write(
        src.join("notifications.toml"),
        format!(
            "[targets.redmond-security]\nwebhook = \"{webhook}\"\n\n\
             [targets.wichita-security]\nwebhook = \"{webhook}\"\n"
        ),
    )
    .unwrap();
    src
}

/// Replaces the first `from` in the bundle folder's `file` with `to`; `from` must be there.
pub fn edit(src: &Path, file: &str, from: &str, to: &str) {
    let path = src.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no {from}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// Compiles bundle sources into `out` with the harness, written aside and then renamed
/// (as a deployment would, so a watching host never reads half a file).
pub fn build_bundle(src: &Path, out: &Path) {
    let tmp = out.with_extension("tmp");
    let status = Command::new(harness())
        .args(["bundle", "build"])
        .arg(src)
        .arg("-o")
        .arg(&tmp)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "bundle build {}", src.display());
    std::fs::rename(&tmp, out).unwrap();
}
