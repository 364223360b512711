//! `tests/cases/<name>/`: reading `case.toml` and running `e911-harness run` on a case
//! (shared by the golden cases and the native/component differential test).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{TempDir, harness, repo_root};

pub const DEFAULT_POLICY: &str = "policies/contoso";

/// What `case.toml` says.
#[derive(Debug)]
pub struct Case {
    pub name: String,
    pub dir: PathBuf,
    pub peer: String,
    pub now: String,
    pub transport: Option<String>,
    pub policy: String,
    pub state: Option<String>,
    pub expect_exit: i32,
    pub known_bug: Option<String>,
}

/// What one run of the harness left behind.
pub struct RunResult {
    pub output: Output,
    pub state_before: Option<Vec<u8>>,
    pub state_after: Option<Vec<u8>>,
}

pub fn cases_dir() -> PathBuf {
    repo_root().join("tests/cases")
}

pub fn case_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/cases is readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// A deliberately small reader for `case.toml`: `key = "string"` or `key = integer` lines
/// and `#` comments. Unknown keys are mistakes, not extensions.
pub fn read_case(dir: &Path) -> Result<Case, String> {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let path = dir.join("case.toml");
    let text = std::fs::read_to_string(&path)
        .map_err(|err| format!("{}: cannot read ({err})", path.display()))?;
    let mut case = Case {
        name,
        dir: dir.to_owned(),
        peer: String::new(),
        now: String::new(),
        transport: None,
        policy: DEFAULT_POLICY.to_owned(),
        state: None,
        expect_exit: 0,
        known_bug: None,
    };
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{}:{}", path.display(), n + 1);
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("{at}: expected key = value"))?;
        let value = value.trim();
        let string = || {
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_owned)
                .ok_or_else(|| format!("{at}: expected a quoted string"))
        };
        match key.trim() {
            "peer" => case.peer = string()?,
            "now" => case.now = string()?,
            "transport" => case.transport = Some(string()?),
            "policy" => case.policy = string()?,
            "state" => case.state = Some(string()?),
            "known_bug" => case.known_bug = Some(string()?),
            "expect_exit" => {
                case.expect_exit = value
                    .parse()
                    .map_err(|_| format!("{at}: expect_exit must be an integer"))?;
            }
            other => return Err(format!("{at}: unknown key `{other}`")),
        }
    }
    if case.peer.is_empty() || case.now.is_empty() {
        return Err(format!("{}: `peer` and `now` are required", path.display()));
    }
    if let Some(state) = &case.state
        && !dir.join(state).is_file()
    {
        return Err(format!("{}: state file {state} is missing", path.display()));
    }
    Ok(case)
}

/// Runs `e911-harness run` on a case from the repository root, with a fresh copy of the
/// case's starting state (if any) in a temporary folder.
pub fn run_case(case: &Case, json: bool, tmp: &TempDir, extra: &[&str]) -> RunResult {
    let state = tmp
        .path()
        .join(if json { "json.state" } else { "run.state" });
    let state_before = case.state.as_ref().map(|file| {
        let bytes = std::fs::read(case.dir.join(file)).unwrap();
        std::fs::write(&state, &bytes).unwrap();
        bytes
    });
    let input = Path::new("tests/cases").join(&case.name).join("input.sip");
    let mut cmd = Command::new(harness());
    cmd.current_dir(repo_root())
        .args(["run", "--policy", &case.policy, "--peer", &case.peer])
        .args(["--now", &case.now])
        .arg("--state")
        .arg(&state);
    if let Some(transport) = &case.transport {
        cmd.args(["--transport", transport]);
    }
    if json {
        cmd.arg("--json");
    }
    cmd.args(extra);
    let output = cmd.arg(&input).output().expect("e911-harness runs");
    RunResult {
        output,
        state_before,
        state_after: std::fs::read(&state).ok(),
    }
}
