//! Kamailio 5.6 with the shipped `hosts/kamailio/kamailio.cfg` and the component called
//! from `app_python3` through the native bridge (`hosts/kamailio/native/`): start it on
//! loopback, read its log, audit lines and htables.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::ports::free_port;
use super::process::Guard;
use super::repo_root;
use super::sipp::require_sipp;
use super::tools::{component, kamailio_bridge, require_program};

/// Fails (never skips) when something the tests drive is missing.
pub fn require_tools() {
    require_sipp();
    require_program("kamailio", "-v", "kamailio");
    require_program("kamcmd", "-V", "kamailio");
    // Debian installs modules under /usr/lib/<multiarch triple>/kamailio/modules.
    let app_python3 = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .any(|entry| {
            entry
                .map(|e| e.path().join("kamailio/modules/app_python3.so").exists())
                .unwrap_or(false)
        });
    assert!(
        app_python3,
        "Kamailio's app_python3 is missing: install kamailio-python3-modules, or run `cargo xtask test`"
    );
    kamailio_bridge();
    component();
}

/// One Kamailio with its scratch folder, control socket and log.
pub struct Kamailio {
    pub dir: PathBuf,
    pub port: u16,
    pub ctl: String,
    group: Guard,
}

/// The settings file for the glue: `upstreams` as `[upstreams]` lines, `extra` as more
/// `[e911]` lines.
pub fn settings(dir: &Path, upstreams: &[(&str, String)], extra: &str) -> PathBuf {
    let mut text = format!(
        "[e911]\ncomponent = {}\nbundle = {}\nnative_module = {}\nnode = kamailio-test\n\
         cache_dir = {}\nstate_dir = {}\n{extra}\n[upstreams]\n",
        component().display(),
        dir.join("policy.bundle").display(),
        kamailio_bridge().display(),
        // Shared by every test: compiled once per component and wasmtime version.
        std::env::temp_dir().join("e911-kamailio-cwasm").display(),
        dir.join("state").display(),
    );
    for (name, uri) in upstreams {
        text.push_str(&format!("{name} = {uri}\n"));
    }
    let path = dir.join("e911.ini");
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts Kamailio on 127.0.0.1 (an ephemeral UDP port) with the shipped configuration
/// and waits until its control socket answers.
pub fn start_kamailio(dir: &Path, settings: &Path, upstream: &str, failsafe: &str) -> Kamailio {
    start_kamailio_with(dir, settings, upstream, failsafe, &[])
}

/// As `start_kamailio`, with more `-A` defines (`NAME=value`, as written in the cfg).
pub fn start_kamailio_with(
    dir: &Path,
    settings: &Path,
    upstream: &str,
    failsafe: &str,
    defines: &[String],
) -> Kamailio {
    let port = free_port("127.0.0.1");
    let ctl = format!("unix:{}", dir.join("kamailio.ctl").display());
    let define = |name: &str, value: &str| format!("{name}=\"{value}\"");
    let mut guard = Guard::spawn(
        Command::new("kamailio")
            .arg("-f")
            .arg(repo_root().join("hosts/kamailio/kamailio.cfg"))
            .args(["-DD", "-E", "-m", "64", "-M", "16"])
            .arg("-Y")
            .arg(dir)
            .args(["-l", &format!("udp:127.0.0.1:{port}")])
            .args(["-l", &format!("tcp:127.0.0.1:{port}")])
            .arg("-A")
            .arg(define(
                "E911_GLUE",
                &repo_root()
                    .join("hosts/kamailio/e911_kamailio.py")
                    .display()
                    .to_string(),
            ))
            .arg("-A")
            .arg(define("E911_SETTINGS", &settings.display().to_string()))
            .arg("-A")
            .arg(define("UPSTREAM", upstream))
            .arg("-A")
            .arg(define("E911_FAILSAFE_UPSTREAM", failsafe))
            .arg("-A")
            .arg(define("CTL_SOCKET", &ctl))
            .args(defines.iter().flat_map(|d| ["-A", d.as_str()]))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("kamailio.log")).unwrap()),
    );
    let start = Instant::now();
    loop {
        if kamcmd_output(&ctl, &["core.uptime"]).is_some() {
            break;
        }
        if let Some(status) = guard.child().try_wait().unwrap() {
            panic!("kamailio exited with {status}:\n{}", log(dir));
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "kamailio did not start:\n{}",
            log(dir)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Kamailio {
        dir: dir.to_owned(),
        port,
        ctl,
        group: guard,
    }
}

pub fn kamcmd_output(ctl: &str, args: &[&str]) -> Option<String> {
    let out = Command::new("kamcmd")
        .args(["-s", ctl])
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("kamailio.log")).unwrap_or_default()
}

impl Kamailio {
    /// Kills every Kamailio process at once (SIGKILL): no module gets to save anything.
    pub fn crash(mut self) {
        let group = format!("-{}", self.group.child().id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    }

    /// Whether the main process is still running.
    pub fn alive(&mut self) -> bool {
        self.group.child().try_wait().unwrap().is_none()
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn kamcmd(&self, args: &[&str]) -> String {
        kamcmd_output(&self.ctl, args)
            .unwrap_or_else(|| panic!("kamcmd {args:?} failed:\n{}", log(&self.dir)))
    }

    /// The audit events kamailio.cfg logged (`{"event":"failover",...}`), in order.
    pub fn audit_events(&self) -> Vec<serde_json::Value> {
        log(&self.dir)
            .lines()
            .filter_map(|line| line.split_once("e911 audit ").map(|(_, json)| json))
            .map(|json| serde_json::from_str::<serde_json::Value>(json).unwrap())
            .filter(|r| r.get("event").is_some())
            .collect()
    }

    /// The decisions the glue logged, first per Call-ID (a UDP retransmission is
    /// absorbed by the transaction layer, but judge by the first anyway).
    pub fn audit(&self) -> Vec<serde_json::Value> {
        let mut seen = std::collections::HashSet::new();
        log(&self.dir)
            .lines()
            .filter_map(|line| line.split_once("e911 audit ").map(|(_, json)| json))
            .map(|json| serde_json::from_str::<serde_json::Value>(json).unwrap())
            .filter(|r| r.get("event").is_none())
            .filter(|r| seen.insert(r["call_id"].as_str().unwrap_or_default().to_owned()))
            .collect()
    }
}
