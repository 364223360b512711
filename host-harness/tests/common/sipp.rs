//! SIPp (Debian's `sip-tester`): one process per caller or callee, its files named
//! `dir/NAME.{msg,err,csv,out}`, and what its traces say.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::ports::free_port;
use super::process::Guard;
use super::repo_root;
use super::tools::require_program;

/// Fails (never skips) when SIPp is missing.
pub fn require_sipp() {
    require_program("sipp", "-v", "sip-tester");
}

/// A scenario file under `tests/sipp/`, as an argument.
pub fn scenario(name: &str) -> String {
    repo_root()
        .join("tests/sipp")
        .join(name)
        .display()
        .to_string()
}

/// One running SIPp, stopped when dropped.
pub struct Sipp {
    dir: PathBuf,
    name: String,
    guard: Guard,
}

/// Starts SIPp with `args`, a 60 s limit it fails on (unless `args` sets `-timeout`), and its message, error and
/// statistics traces in `dir`.
pub fn sipp(dir: &Path, name: &str, args: &[String]) -> Sipp {
    let file = |ext: &str| dir.join(format!("{name}.{ext}")).display().to_string();
    let guard = Guard::spawn(
        Command::new("sipp")
            .args(args)
            .args(["-nostdin", "-timeout_error"])
            // A run that says how long it may take (`-timeout` in `args`) keeps its own.
            .args(if args.iter().any(|a| a == "-timeout") {
                &[][..]
            } else {
                &["-timeout", "60s"][..]
            })
            .args(["-trace_msg", "-message_file", &file("msg")])
            .args(["-trace_err", "-error_file", &file("err")])
            .args(["-trace_stat", "-stf", &file("csv"), "-fd", "1"])
            .stdout(std::fs::File::create(file("out")).unwrap())
            .stderr(Stdio::null()),
    );
    Sipp {
        dir: dir.to_owned(),
        name: name.to_owned(),
        guard,
    }
}

impl Sipp {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A cumulative figure from SIPp's last `-trace_stat` line (`OutgoingCall(C)`, ...).
    pub fn stat(&self, name: &str) -> u64 {
        let csv = std::fs::read_to_string(self.dir.join(format!("{}.csv", self.name))).unwrap();
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap().split(';').collect();
        let last: Vec<&str> = lines.last().unwrap().split(';').collect();
        let i = header.iter().position(|h| *h == name).unwrap();
        last[i].parse().unwrap()
    }

    /// The Call-IDs of the calls SIPp placed from `ip`: `[call_id]` is `N-PID@IP` for the
    /// Nth call. (Not from its trace: an INVITE written on a connection still opening,
    /// `-t tn`, is not traced.)
    pub fn call_ids(&mut self, ip: &str) -> Vec<String> {
        let pid = self.guard.child().id();
        (1..=self.stat("OutgoingCall(C)"))
            .map(|n| format!("{n}-{pid}@{ip}"))
            .collect()
    }

    /// Waits for SIPp to exit (at most its 60 s limit and a margin), whatever its calls
    /// did.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.guard.wait(Duration::from_secs(120))
    }

    /// Waits for SIPp to exit and asserts it succeeded with exactly `calls` successful
    /// calls and no failed one (from its `-trace_stat` file); a failure shows SIPp's
    /// errors and `host_log`, the log of what the calls went through.
    pub fn assert_calls(&mut self, calls: u64, host_log: impl FnOnce() -> String) {
        let status = self.guard.wait(Duration::from_secs(120));
        let file = |ext: &str| self.dir.join(format!("{}.{ext}", self.name));
        let errors = std::fs::read_to_string(file("err")).unwrap_or_default();
        assert!(
            status.success(),
            "sipp {} exited with {status}\nerrors:\n{errors}\nlog:\n{}",
            self.name,
            host_log()
        );
        let column = |name: &str| self.stat(name);
        assert_eq!(
            column("SuccessfulCall(C)"),
            calls,
            "sipp {}: successful calls",
            self.name
        );
        assert_eq!(
            column("FailedCall(C)"),
            0,
            "sipp {}: failed calls",
            self.name
        );
    }
}

/// The blocks of SIPp `NAME`'s `-trace_msg` file whose trace line contains `what`
/// ("sent", "received"): the text after the trace line, exactly as traced.
pub fn trace_blocks(dir: &Path, name: &str, what: &str) -> Vec<String> {
    let log = std::fs::read_to_string(dir.join(format!("{name}.msg"))).unwrap();
    log.split("----------------------------------------------- ")
        .filter_map(|block| {
            let mut parts = block.splitn(3, '\n');
            let _time = parts.next()?;
            let kind = parts.next()?;
            let text = parts.next()?.strip_prefix('\n')?;
            kind.contains(what).then(|| text.to_owned())
        })
        .collect()
}

/// The messages SIPp `NAME` traced as `what`, without the blank lines the trace adds.
pub fn traced(dir: &Path, name: &str, what: &str) -> Vec<String> {
    trace_blocks(dir, name, what)
        .into_iter()
        .map(|text| text.trim_end_matches('\n').to_owned())
        .collect()
}

/// The security desk's MESSAGE as SIPp `desk` traced it, after the checks every host's
/// must pass: sent to `desk_uri`, with what [MS-SIPRE] §3.17.5.2 has a Lync front end's
/// emergency IM carry (`Priority: emergency`, the caller in `Call-Info` with purpose
/// `ms-emergency-notification`), `text/plain; charset=UTF-8`, and the engine's summary
/// line for the HQ caller first. Returns the header lines and the body.
pub fn desk_message(dir: &Path, desk_uri: &str) -> (Vec<String>, String) {
    let message = traced(dir, "desk", "received")
        .into_iter()
        .find(|m| m.starts_with("MESSAGE "))
        .expect("the desk received a MESSAGE");
    let (head, body) = message.split_once("\r\n\r\n").unwrap();
    let lines: Vec<String> = head.lines().map(str::to_owned).collect();
    assert_eq!(lines[0], format!("MESSAGE {desk_uri} SIP/2.0"), "{message}");
    let header = |name: &str| header_value(&lines, name);
    assert_eq!(header("To:"), format!("<{desk_uri}>"), "{message}");
    assert_eq!(header("Priority:"), "emergency", "{message}");
    assert_eq!(
        header("Call-Info:"),
        "<sip:+14255550101@contoso.com>;purpose=ms-emergency-notification",
        "{message}"
    );
    assert_eq!(
        header("Content-Type:"),
        "text/plain; charset=UTF-8",
        "{message}"
    );
    assert!(
        body.starts_with("EMERGENCY 911 call from sip:+14255550101@contoso.com"),
        "{body}"
    );
    (lines, body.to_owned())
}

/// The value of the first header line starting `name` (with its colon), trimmed.
pub fn header_value<'l>(lines: &'l [String], name: &str) -> &'l str {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name} in {lines:?}"))
        .trim()
}

/// A callee running `tests/sipp/XML` on `ip:port` over SIPp transport `t` (`u1`, `t1`),
/// ending after `calls` calls.
pub fn uas(dir: &Path, name: &str, xml: &str, ip: &str, port: u16, t: &str, calls: u32) -> Sipp {
    let args = [
        "-sf",
        &scenario(xml),
        "-i",
        ip,
        "-p",
        &port.to_string(),
        "-t",
        t,
        "-m",
        &calls.to_string(),
    ];
    sipp(dir, name, &args.map(String::from))
}

/// A caller from `from_ip` (on a fresh port) dialling `dial` through `proxy` with
/// `tests/sipp/uac.xml`, then `extra` arguments (transport, rate, call count).
pub fn uac(dir: &Path, name: &str, proxy: &str, from_ip: &str, dial: &str, extra: &[&str]) -> Sipp {
    let port = free_port(from_ip).to_string();
    let mut args: Vec<String> = [
        proxy,
        "-sf",
        &scenario("uac.xml"),
        "-s",
        dial,
        "-i",
        from_ip,
        "-p",
        &port,
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    sipp(dir, name, &args)
}
