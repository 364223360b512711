//! What the harness accepts as its policy: an older revision is refused on reload unless
//! `--allow-rollback` (the running bundle stays, and the log and status say why), an
//! unsigned bundle runs with a loud warning at start and at each reload, and
//! `--trust-key` refuses a source folder as it refuses an unsigned bundle.

// clippy.toml allows these in #[test] functions; the helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;
use common::ports::free_port;
use common::process::Guard;
use common::proxy::{proxy_log, start_proxy};
use common::{TempDir, harness, repo_root};

const RUNNING: &str = "2026.11.1";
const OLDER: &str = "2026.9.30";

/// A folder with a signing key (`k1`, `k1.pub`) and contoso bundles: `signed.bundle`
/// (revision [`RUNNING`]), `older.bundle` (revision [`OLDER`], signed by the same key) and
/// `unsigned.bundle`.
struct Folder {
    tmp: TempDir,
}

impl Folder {
    fn new(label: &str) -> Self {
        let folder = Self {
            tmp: TempDir::new(label),
        };
        folder.ok(&["bundle", "keygen", "k1"]);
        let contoso = repo_root().join("policies/contoso");
        let contoso = contoso.to_str().unwrap();
        folder.ok(&[
            "bundle",
            "build",
            contoso,
            "-o",
            "signed.bundle",
            "--sign-key",
            "k1",
        ]);
        folder.ok(&["bundle", "build", contoso, "-o", "unsigned.bundle"]);
        let older = folder.path("older-src");
        std::fs::create_dir_all(&older).unwrap();
        for entry in std::fs::read_dir(contoso).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, older.join(path.file_name().unwrap())).unwrap();
        }
        let toml = std::fs::read_to_string(older.join("bundle.toml")).unwrap();
        let running = format!("revision = \"{RUNNING}\"");
        assert!(
            toml.contains(&running),
            "contoso's revision moved; update this test"
        );
        let toml = toml.replace(&running, &format!("revision = \"{OLDER}\""));
        std::fs::write(older.join("bundle.toml"), toml).unwrap();
        let older = older.to_str().unwrap().to_owned();
        folder.ok(&[
            "bundle",
            "build",
            &older,
            "-o",
            "older.bundle",
            "--sign-key",
            "k1",
        ]);
        folder
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn harness(&self, args: &[&str]) -> Output {
        Command::new(harness())
            .current_dir(self.tmp.path())
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) {
        let out = self.harness(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Replaces `live.bundle` with `from` in one rename, so the proxy never sees half.
    fn install(&self, from: &str) {
        let tmp = self.path("live.tmp");
        std::fs::copy(self.path(from), &tmp).unwrap();
        std::fs::rename(&tmp, self.path("live.bundle")).unwrap();
    }

    /// Starts the proxy on `live.bundle` with `extra` arguments; its log and state live in
    /// `dir`.
    fn proxy(&self, dir: &Path, extra: &[&str]) -> Guard {
        std::fs::create_dir_all(dir).unwrap();
        let port = free_port("127.0.0.1");
        let upstream = free_port("127.0.0.5");
        let mut args = vec![
            format!("--listen=udp:127.0.0.1:{port}"),
            format!("--policy={}", self.path("live.bundle").display()),
            format!("--upstream=127.0.0.5:{upstream}"),
            format!("--state-dir={}", dir.join("state").display()),
        ];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        start_proxy(&args, dir)
    }
}

/// `e911-harness status` for the proxy whose state is under `dir`.
fn status(dir: &Path) -> String {
    let out = Command::new(harness())
        .args(["status", "--state-dir"])
        .arg(dir.join("state"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until the status (or the log) contains `needle`.
fn wait_for(dir: &Path, needle: &str) -> String {
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        let text = format!("{}\n{}", status(dir), proxy_log(dir));
        if text.contains(needle) || Instant::now() > until {
            return text;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_proxy_refuses_an_older_signed_bundle_and_keeps_the_running_one() {
    let f = Folder::new("rollback-refused");
    f.install("signed.bundle");
    let dir = f.path("refuse");
    let key = format!("--trust-key={}", f.path("k1.pub").display());
    let _proxy = f.proxy(&dir, &[&key]);
    let text = wait_for(&dir, &format!("active revision  {RUNNING}"));
    assert!(
        text.contains(&format!("active revision  {RUNNING}")),
        "{text}"
    );

    f.install("older.bundle");
    let text = wait_for(&dir, "1 refused");
    assert!(text.contains("reloads          1 (1 refused)"), "{text}");
    assert!(
        text.contains(&format!("active revision  {RUNNING}")),
        "the running bundle stays:\n{text}"
    );
    let why = format!("bundle revision {OLDER} is older than the running revision {RUNNING}");
    assert!(status(&dir).contains(&why), "the status says why:\n{text}");
    let log = proxy_log(&dir);
    assert!(log.contains(&why), "the log says why:\n{log}");
    assert!(
        log.contains("--allow-rollback"),
        "and how to force it:\n{log}"
    );
}

#[test]
fn the_proxy_accepts_an_older_bundle_with_allow_rollback_and_says_so() {
    let f = Folder::new("rollback-forced");
    f.install("signed.bundle");
    let dir = f.path("force");
    let key = format!("--trust-key={}", f.path("k1.pub").display());
    let _proxy = f.proxy(&dir, &[&key, "--allow-rollback"]);

    f.install("older.bundle");
    let text = wait_for(&dir, &format!("active revision  {OLDER}"));
    assert!(
        text.contains(&format!("active revision  {OLDER}")),
        "{text}"
    );
    assert!(text.contains("reloads          1 (0 refused)"), "{text}");
    let log = proxy_log(&dir);
    assert!(
        log.contains(&format!(
            "policy reloaded: revision {OLDER} (was {RUNNING}) (an older revision: --allow-rollback)"
        )),
        "{log}"
    );
}

#[test]
fn an_unsigned_bundle_is_warned_about_at_start_and_at_each_reload() {
    let f = Folder::new("unsigned-warning");
    f.install("unsigned.bundle");
    let dir = f.path("unsigned");
    let _proxy = f.proxy(&dir, &[]);
    let warning = format!("WARNING: policy bundle revision {RUNNING} is unsigned");
    let text = wait_for(&dir, "signature        unsigned");
    assert_eq!(text.matches(&warning).count(), 1, "at start:\n{text}");
    assert!(text.contains("signature        unsigned"), "{text}");

    // The same revision again is a reload, accepted, and warned about again.
    std::thread::sleep(Duration::from_millis(1100));
    f.install("unsigned.bundle");
    let text = wait_for(&dir, "reloads          1");
    assert!(text.contains("reloads          1 (0 refused)"), "{text}");
    assert_eq!(
        proxy_log(&dir).matches(&warning).count(),
        2,
        "and at the reload:\n{}",
        proxy_log(&dir)
    );

    // Signed, the warning stops and the status names the key.
    std::thread::sleep(Duration::from_millis(1100));
    f.install("signed.bundle");
    let text = wait_for(&dir, "reloads          2");
    assert!(text.contains("signature        signed by "), "{text}");
    assert_eq!(proxy_log(&dir).matches(&warning).count(), 2);
}

#[test]
fn trust_key_refuses_a_source_folder_and_says_to_sign_it() {
    let f = Folder::new("trust-folder");
    let contoso = repo_root().join("policies/contoso");
    let call = repo_root().join("tests/corpus/emergency/hq-wired-911.sip");
    let out = f.harness(&[
        "run",
        "--policy",
        contoso.to_str().unwrap(),
        "--trust-key",
        "k1.pub",
        "--peer",
        "10.1.0.25",
        "--now",
        "2026-11-21T14:00:00Z",
        call.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a folder ran under --trust-key");
    assert_eq!(err.lines().count(), 1, "{err}");
    for needle in [
        "a source folder is unsigned",
        "--trust-key",
        "bundle build",
        "--sign-key",
    ] {
        assert!(err.contains(needle), "{needle:?} missing:\n{err}");
    }

    // `bundle check` says the same of the folder, which compiles fine without keys.
    let check = f.harness(&[
        "bundle",
        "check",
        contoso.to_str().unwrap(),
        "--trust-key",
        "k1.pub",
    ]);
    assert_eq!(check.status.code(), Some(1));
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(err.contains("a source folder is unsigned"), "{err}");
    let check = f.harness(&["bundle", "check", contoso.to_str().unwrap()]);
    assert!(check.status.success());

    // The proxy refuses it at start the same way.
    let dir = f.path("proxy");
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(harness())
        .arg("proxy")
        .arg(format!("--listen=udp:127.0.0.1:{}", free_port("127.0.0.1")))
        .arg(format!("--policy={}", contoso.display()))
        .arg("--upstream=127.0.0.5:5060")
        .arg(format!("--trust-key={}", f.path("k1.pub").display()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the proxy started on a folder");
    assert!(err.contains("a source folder is unsigned"), "{err}");
}
