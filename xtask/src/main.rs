//! The README's two commands, and nothing else:
//!
//! - `cargo xtask demo` builds the component and the harness and runs the sample calls
//!   through the component under wasmtime.
//! - `cargo xtask test` installs what the tests need, then runs every check and test.
//! - `cargo xtask setup` installs what the tests run against (the first step of `test`).
//! - `cargo xtask build-component` builds the WebAssembly component
//!   (`target/wasm/e911_policy.component.wasm`); `test` does it before the tests.
//! - `cargo xtask build-envoy` builds the Envoy filter (`target/wasm/e911_envoy.wasm`) and
//!   checks its imports and panic paths (`envoy.rs`); `test` does it before the tests.
//! - `cargo xtask build-kamailio` builds the native Kamailio bridge
//!   (`target/kamailio/e911_native.so`, see `kamailio.rs`); `test` does it before the tests.
//! - `cargo xtask build-web` builds the policy playground (`target/wasm/web/`, see
//!   `web.rs`); `test` does it before the tests.
//! - `cargo xtask fuzz [--seconds N] [--target NAME]` builds the fuzz targets (`fuzz/`)
//!   and runs each for N seconds (`fuzz.rs`); `test` runs each for 10.
//!
//! Each command does its own set-up on a fresh machine of this project's kind (Debian with
//! rustup), so a new clone needs nothing but these two lines. Set-up steps are idempotent:
//! they look first and install only what is missing.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use anyhow::{Context, Result, bail};

mod architecture;
mod component;
mod envoy;
mod fuzz;
mod kamailio;
mod tools;
mod wasm_build;
mod web;

/// Crates that are compiled into the plugin: they must build, clippy-clean, for both wasm
/// targets (the Envoy filter, `e911-envoy`, builds for all three too).
const PLUGIN_CRATES: &[&str] = &[
    "e911-sip",
    "e911-location",
    "e911-policy",
    "e911-engine",
    "e911-plugin-component",
    "e911-envoy",
];

/// The wasm targets the plugin ships for: `wasm32-wasip1` (proxy-wasm in Envoy),
/// `wasm32-wasip2`, and `wasm32-unknown-unknown` (the core module of the WIT component,
/// see `component.rs`). `rust-toolchain.toml` names them too; rustup does not add targets
/// to a toolchain that is already installed, so we ask explicitly.
const WASM_TARGETS: &[&str] = &["wasm32-wasip1", "wasm32-wasip2", "wasm32-unknown-unknown"];

/// Debian packages the tests run against: xmllint (PIDF-LO schemas), SIPp, Kamailio with
/// its Python module (the Kamailio host), the CNCF distribution registry (OCI tests), etcd
/// (the replicated callback store) and Chromium (the playground's browser tests).
const TEST_PACKAGES: &[&str] = &[
    "libxml2-utils",
    "sip-tester",
    "kamailio",
    "kamailio-python3-modules",
    "kamailio-extra-modules",
    "docker-registry",
    "etcd-server",
    "chromium",
];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("test") => test(),
        Some("setup") => setup().map(|_| ()),
        Some("chaos") => chaos(&args[1..]),
        Some("fuzz") => workspace_root().and_then(|root| fuzz::command(&root, &args[1..])),
        Some("build-component") => install_wasm_targets()
            .and_then(|()| workspace_root())
            .and_then(|root| component::build(&root))
            .map(|_| ()),
        Some("build-envoy") => install_wasm_targets()
            .and_then(|()| workspace_root())
            .and_then(|root| envoy::build(&root))
            .map(|_| ()),
        Some("build-kamailio") => workspace_root()
            .and_then(|root| kamailio::build(&root))
            .map(|_| ()),
        Some("build-web") => install_wasm_targets()
            .and_then(|()| workspace_root())
            .and_then(|root| web::build(&root))
            .map(|_| ()),
        _ => {
            eprintln!(
                "usage: cargo xtask demo | cargo xtask test | cargo xtask setup | cargo xtask chaos [--seconds N] | cargo xtask fuzz [--seconds N] [--target NAME] | cargo xtask build-component | cargo xtask build-envoy | cargo xtask build-kamailio | cargo xtask build-web"
            );
            return ExitCode::from(2);
        }
    };
    end_step();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The main job: the sample calls of `tests/corpus/emergency/manifest.tsv` through the
/// plugin built as a WebAssembly component (built first), run by the harness under
/// wasmtime, on the contoso example policy; a table of verdicts, the forwarded messages in
/// `out/demo/`.
fn demo() -> Result<()> {
    install_wasm_targets()?;
    let root = workspace_root()?;
    let component = component::build(&root)?;
    // On a fresh machine this build is most of the wait: its own step, with cargo's
    // progress shown, and without the harness's network commands (tokio, hyper, rustls,
    // the OCI client), which the demo does not run.
    let harness = ["--release", "-p", "e911-harness", "--no-default-features"];
    step("demo: build e911-harness (release, local commands only)");
    // Cargo's progress stands still on the last crate: say so before it does.
    println!(
        "    on a fresh 2-core machine about four minutes, most of it wasmtime and Cranelift;"
    );
    println!(
        "    the last minute is e911-harness itself, linked with thin LTO, without new output"
    );
    run(cargo().current_dir(&root).arg("build").args(harness))?;
    step("demo: the sample calls through the component");
    run(cargo()
        .current_dir(&root)
        .args(["run", "--quiet"])
        .args(harness)
        .args(["--", "demo"])
        .args(["--policy", "policies/contoso"])
        .args(["--calls", "tests/corpus/emergency/manifest.tsv"])
        .args(["--out", "out/demo"])
        .args(["--engine", "component", "--component"])
        .arg(&component))
}

/// What the tests run against, installed where missing (the first step of `test`; on its
/// own for running single tests by hand): wasm targets, Debian packages, `target/tools/`.
/// Returns the tools folder, which tests find through `E911_TOOLS`.
fn setup() -> Result<PathBuf> {
    install_wasm_targets()?;
    install_debian_packages(TEST_PACKAGES)?;
    tools::install(&workspace_root()?)
}

/// The chaos tests (`host-harness/tests/chaos.rs`) run long: each host under emergency and
/// ordinary calls, malformed traffic and a primary trunk stopped and started, for
/// `--seconds` (300 by default; `cargo xtask test` runs them for 10). The counts each
/// prints go in `BENCHMARKS.md`.
fn chaos(args: &[String]) -> Result<()> {
    let seconds = match args {
        [] => 300,
        [flag, n] if flag == "--seconds" => n.parse().context("--seconds takes a number")?,
        _ => bail!("usage: cargo xtask chaos [--seconds N]"),
    };
    let tools = setup()?;
    let root = workspace_root()?;
    component::build(&root)?;
    envoy::build(&root)?;
    kamailio::build(&root)?;
    step(&format!("chaos: {seconds} s per host"));
    run(cargo()
        .args(["test", "-p", "e911-harness", "--test", "chaos", "--"])
        .args(["--nocapture", "--test-threads", "1"])
        .env("E911_TOOLS", &tools)
        .env("E911_CHAOS_SECONDS", seconds.to_string()))
}

/// Every check CI runs, in the order that fails fastest.
fn test() -> Result<()> {
    let tools = setup()?;
    let root = workspace_root()?;

    step("architecture: paths named in ARCHITECTURE.md exist");
    architecture::check(&root)?;
    step("architecture: host crates depend only on the layers above them");
    architecture::check_layers(&root)?;

    step("fmt");
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;

    step("clippy (host)");
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;

    fuzz::lint(&root)?;

    for target in WASM_TARGETS {
        step(&format!("clippy ({target}): the plugin crates"));
        let mut cmd = cargo();
        cmd.args(["clippy", "--target", target]);
        for krate in PLUGIN_CRATES {
            cmd.args(["-p", krate]);
        }
        run(cmd.args(["--", "-D", "warnings"]))?;
    }

    // `cargo xtask demo` builds the harness without its network commands: keep that
    // build compiling.
    step("clippy (host): e911-harness without the network feature");
    run(cargo().args([
        "clippy",
        "-p",
        "e911-harness",
        "--no-default-features",
        "--",
        "-D",
        "warnings",
    ]))?;

    step("docs");
    run(cargo()
        .args(["doc", "--no-deps", "--workspace"])
        .env("RUSTDOCFLAGS", "-D warnings"))?;

    component::build(&root)?;
    envoy::build(&root)?;
    kamailio::build(&root)?;
    web::build(&root)?;

    step("test");
    run(cargo()
        .args(["test", "--workspace"])
        .env("E911_TOOLS", &tools))?;

    // Every fuzz target briefly, so a change that breaks one of their invariants on the
    // seeds or near them fails here; long runs are `cargo xtask fuzz` (FUZZING.md).
    fuzz::run_targets(&root, &fuzz::TARGETS, fuzz::TEST_SECONDS)
}

/// The step under way and when it started: each step says how long the one before it
/// took, so a newcomer sees where the minutes go.
static STEP: Mutex<Option<(String, Instant)>> = Mutex::new(None);

fn step(name: &str) {
    end_step();
    println!("\n==> {name}");
    *STEP.lock().unwrap_or_else(PoisonError::into_inner) = Some((name.to_owned(), Instant::now()));
}

/// Reports how long the step under way took, and ends it.
fn end_step() {
    let done = STEP.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some((name, started)) = done {
        println!("    ({name}: {:.1} s)", started.elapsed().as_secs_f64());
    }
}

fn cargo() -> Command {
    Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

fn workspace_root() -> Result<PathBuf> {
    let manifest = env::var("CARGO_MANIFEST_DIR").context("run me through `cargo xtask`")?;
    Path::new(&manifest)
        .parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent folder")
}

fn install_wasm_targets() -> Result<()> {
    step("set-up: wasm targets");
    run(Command::new("rustup")
        .args(["target", "add"])
        .args(WASM_TARGETS))
}

/// Installs the Debian packages that are not installed yet. Needs root, which this
/// project's machines (and CI) give; elsewhere it says what to install.
fn install_debian_packages(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| !dpkg_installed(package))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    step(&format!("set-up: apt-get install {}", missing.join(" ")));
    run(Command::new("apt-get")
        .arg("update")
        .arg("-qq")
        .env("DEBIAN_FRONTEND", "noninteractive"))
    .context("apt-get update (install the packages by hand if you are not root)")?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Whether dpkg has `package` installed (some packages, like Kamailio's modules, install
/// no command to look for).
fn dpkg_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout.ends_with(b"install ok installed"))
}
