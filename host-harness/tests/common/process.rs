//! Processes a test starts: each runs in its own process group and is stopped with all
//! its children when the test ends, passing or failing.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Stops a process and every process it started when dropped. Some (Kamailio) leave
/// children that outlive a SIGKILLed main process, so each guarded process leads its own
/// process group: SIGTERM to the group (the main process stops its children), up to 5 s
/// for it to exit, then SIGKILL to whatever is left.
pub struct Guard(Child);

impl Guard {
    /// Spawns `command` as the leader of a new process group.
    pub fn spawn(command: &mut Command) -> Self {
        Self(command.process_group(0).spawn().unwrap())
    }

    /// The process, for its pipes or to kill it mid-test.
    pub fn child(&mut self) -> &mut Child {
        &mut self.0
    }

    /// Waits for the process to exit on its own, at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < limit,
                "process still running after {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let signal = |name: &str| {
            let _ = Command::new("kill")
                .args([name, "--", &group])
                .stderr(Stdio::null())
                .status();
        };
        signal("-TERM");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.0.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        signal("-KILL");
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `cond` every 100 ms until it holds; fails naming `what` after `limit`.
pub fn wait_until(what: &str, limit: Duration, cond: impl FnMut() -> bool) {
    wait_until_explained(what, limit, cond, String::new);
}

/// [`wait_until`], and on failure what `explain` says (the processes' logs, say).
pub fn wait_until_explained(
    what: &str,
    limit: Duration,
    mut cond: impl FnMut() -> bool,
    explain: impl Fn() -> String,
) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "timed out waiting for {what}\n{}",
            explain()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
