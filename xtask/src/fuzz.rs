//! `cargo xtask fuzz [--seconds N] [--target NAME]`: builds the fuzz targets (`fuzz/`, a
//! workspace of its own) and runs each for N seconds (60 by default); `cargo xtask test`
//! runs every target for [`TEST_SECONDS`].
//!
//! Stable Rust only, as CI has it: the build passes the coverage flags cargo-fuzz would
//! (sanitizer coverage with 8-bit counters, a PC table and compare tracing, `--cfg
//! fuzzing`), all stable codegen options, and builds no sanitizer runtime (address
//! sanitizer needs nightly; the plugin crates forbid `unsafe`). The fuzz profile turns on
//! debug assertions and overflow checks (`fuzz/Cargo.toml`). Output goes to
//! `target/fuzz/`, away from the workspace build:
//!
//! - `target/fuzz/corpus/<target>/`: the corpus, seeded on every run from
//!   `shared/conformance/` (RFC 4475/5118 messages, PIDF-LO examples), the sample calls
//!   and golden cases, and the committed seeds in `fuzz/seeds/<target>/`;
//! - `target/fuzz/artifacts/<target>/`: what made a target fail;
//! - `target/fuzz/logs/<target>.log`: libFuzzer's output, with its final stats.
//!
//! A failing target fails the command and names the reproducer.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{cargo, run, step};

/// Every target, in `fuzz/fuzz_targets/`.
pub const TARGETS: [&str; 6] = [
    "sip_parse",
    "framer",
    "engine",
    "pidf_read",
    "bundle_load",
    "policy_sources",
];

/// How long `cargo xtask test` runs each target: enough to catch a regression on the
/// seeds and their near mutations, short enough for every CI run.
pub const TEST_SECONDS: u64 = 10;

/// The codegen options cargo-fuzz passes that stable rustc takes.
const RUSTFLAGS: &[&str] = &[
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "--cfg",
    "fuzzing",
];

/// `cargo xtask fuzz` with its arguments.
pub fn command(root: &Path, args: &[String]) -> Result<()> {
    let mut seconds = 60;
    let mut only: Option<&str> = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match (arg.as_str(), rest.next()) {
            ("--seconds", Some(n)) => seconds = n.parse().context("--seconds takes a number")?,
            ("--target", Some(name)) if TARGETS.contains(&name.as_str()) => only = Some(name),
            ("--target", Some(name)) => bail!("no fuzz target {name}; there are {TARGETS:?}"),
            _ => bail!("usage: cargo xtask fuzz [--seconds N] [--target NAME]"),
        }
    }
    let targets: Vec<&str> = TARGETS
        .iter()
        .copied()
        .filter(|t| only.is_none_or(|o| o == *t))
        .collect();
    run_targets(root, &targets, seconds)
}

/// Builds the targets, then runs each in turn for `seconds`.
pub fn run_targets(root: &Path, targets: &[&str], seconds: u64) -> Result<()> {
    let bin = build(root)?;
    let mut summary = Vec::new();
    for target in targets {
        step(&format!("fuzz: {target} for {seconds} s"));
        let corpus = seed(root, target)?;
        summary.push(run_one(root, &bin, target, &corpus, seconds)?);
    }
    println!();
    for line in summary {
        println!("{line}");
    }
    Ok(())
}

/// fmt and clippy on the fuzz crate, which the workspace's own checks do not reach (it is
/// a workspace of its own). Without the coverage flags: lints need no instrumentation.
pub fn lint(root: &Path) -> Result<()> {
    step("fmt and clippy (fuzz targets)");
    let fuzz = root.join("fuzz");
    run(cargo()
        .current_dir(&fuzz)
        .args(["fmt", "--all", "--", "--check"]))?;
    run(cargo()
        .current_dir(&fuzz)
        .args(["clippy", "--all-targets", "--target-dir"])
        .arg(root.join("target/fuzz/clippy"))
        .args(["--", "-D", "warnings"])
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("RUSTFLAGS", "--cfg fuzzing"))
}

/// Builds every target with the coverage flags; returns the folder of the binaries.
fn build(root: &Path) -> Result<PathBuf> {
    step("fuzz: build the targets (stable, sanitizer coverage)");
    let host = host_triple()?;
    // An explicit --target keeps RUSTFLAGS off build scripts and proc macros, which must
    // not be instrumented (they would need libFuzzer's runtime to link).
    run(cargo()
        .current_dir(root.join("fuzz"))
        .args(["build", "--release", "--bins", "--target", &host])
        .arg("--target-dir")
        .arg(root.join("target/fuzz"))
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("RUSTFLAGS", RUSTFLAGS.join(" ")))?;
    Ok(root.join("target/fuzz").join(host).join("release"))
}

fn host_triple() -> Result<String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("running rustc -vV")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV names no host")
}

/// Runs one target; its final stats as one line, or an error naming the reproducer.
fn run_one(root: &Path, bin: &Path, target: &str, corpus: &Path, seconds: u64) -> Result<String> {
    let artifacts = root.join("target/fuzz/artifacts").join(target);
    let logs = root.join("target/fuzz/logs");
    fs::create_dir_all(&artifacts)?;
    fs::create_dir_all(&logs)?;
    let log_path = logs.join(format!("{target}.log"));
    let log = fs::File::create(&log_path)?;
    let started = Instant::now();
    let status = Command::new(bin.join(target))
        .arg(corpus)
        .arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1")
        // A message or a bundle that takes seconds is a finding, not patience.
        .arg("-timeout=10")
        .arg("-rss_limit_mb=2048")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(log)
        .status()
        .with_context(|| format!("starting {}", bin.join(target).display()))?;
    let wall = started.elapsed().as_secs_f64();
    let output = fs::read_to_string(&log_path).unwrap_or_default();
    if !status.success() {
        let tail: Vec<&str> = output.lines().rev().take(40).collect();
        for line in tail.iter().rev() {
            eprintln!("{line}");
        }
        let reproducer = output
            .lines()
            .find_map(|l| l.split("Test unit written to ").nth(1))
            .unwrap_or("(none written)");
        bail!(
            "fuzz target {target} failed ({status}); reproducer: {reproducer}\n  rerun: {} {reproducer}\n  log: {}\n  keep the input as a seed in fuzz/seeds/{target}/ with the fix",
            bin.join(target).display(),
            log_path.display()
        );
    }
    let stat = |name: &str| {
        output
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map_or("?".to_owned(), |v| v.trim().to_owned())
    };
    Ok(format!(
        "{target}: {wall:.0} s, {} executions ({} per second), corpus {} inputs, peak RSS {} MB",
        stat("stat::number_of_executed_units:"),
        stat("stat::average_exec_per_sec:"),
        fs::read_dir(corpus).map_or(0, Iterator::count),
        stat("stat::peak_rss_mb:"),
    ))
}

/// Fills `target/fuzz/corpus/<target>/` with the target's seeds (over what earlier runs
/// found, which stays); returns the folder.
fn seed(root: &Path, target: &str) -> Result<PathBuf> {
    let corpus = root.join("target/fuzz/corpus").join(target);
    fs::create_dir_all(&corpus)?;
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    for file in files_under(&root.join("fuzz/seeds").join(target))? {
        seeds.push(read_seed(root, &file)?);
    }
    let conformance = root.join("../shared/conformance");
    let sip_samples = || -> Result<Vec<(String, Vec<u8>)>> {
        let mut files = files_under(&root.join("tests/corpus/emergency"))?;
        files.retain(|f| f.extension().is_some_and(|e| e == "sip"));
        files.extend(
            files_under(&root.join("tests/cases"))?
                .into_iter()
                .filter(|f| f.file_name().is_some_and(|n| n == "input.sip")),
        );
        files.iter().map(|f| read_seed(root, f)).collect()
    };
    let torture = || -> Result<Vec<(String, Vec<u8>)>> {
        let mut files = files_under(&conformance.join("rfc4475"))?;
        files.extend(files_under(&conformance.join("rfc5118"))?);
        files.retain(|f| !is_metadata(f));
        files.iter().map(|f| read_seed(root, f)).collect()
    };
    match target {
        "sip_parse" => {
            seeds.extend(torture()?);
            seeds.extend(sip_samples()?);
        }
        "engine" => {
            seeds.extend(sip_samples()?);
            let mut files = files_under(&conformance.join("location-examples/sip"))?;
            files.retain(|f| !is_metadata(f));
            for file in files {
                seeds.push(read_seed(root, &file)?);
            }
        }
        "framer" => seeds.extend(streams(&sip_samples()?, &torture()?)),
        "pidf_read" => {
            let mut files = files_under(&conformance.join("location-examples/pidf-lo"))?;
            files.retain(|f| !is_metadata(f));
            for file in files {
                seeds.push(read_seed(root, &file)?);
            }
        }
        "policy_sources" => seeds.extend(policy_files(root)?),
        _ => {}
    }
    if seeds.is_empty() {
        bail!("no seeds for fuzz target {target}");
    }
    for (name, bytes) in seeds {
        fs::write(corpus.join(format!("seed-{name}")), bytes)?;
    }
    Ok(corpus)
}

/// Framer input: a byte choosing the limits, a split count, the split points (two bytes
/// each), then a stream of three messages back to back.
fn streams(samples: &[(String, Vec<u8>)], torture: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let all: Vec<&(String, Vec<u8>)> = samples.iter().chain(torture).collect();
    all.windows(3)
        .enumerate()
        .map(|(i, three)| {
            let stream: Vec<u8> = three.iter().flat_map(|(_, b)| b.clone()).collect();
            let len = stream.len();
            let splits = [len / 7, len / 3, len / 2 + 1, len - len / 5];
            let mut input = vec![(i % 4) as u8, splits.len() as u8];
            for at in splits {
                input.extend_from_slice(&(at as u16).to_le_bytes());
            }
            input.extend_from_slice(&stream);
            (format!("stream-{i}"), input)
        })
        .collect()
}

/// Policy sources input: the index of a contoso file (sorted by name, as the target reads
/// them), then contents for it: each contoso file as it is, and each fabrikam file of the
/// same name.
fn policy_files(root: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut names: Vec<String> = files_under(&root.join("policies/contoso"))?
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    let mut seeds = Vec::new();
    for example in ["contoso", "fabrikam"] {
        for (index, name) in names.iter().enumerate() {
            let path = root.join("policies").join(example).join(name);
            if let Ok(bytes) = fs::read(&path) {
                seeds.push((
                    format!("{example}-{name}"),
                    [&[index as u8], &bytes[..]].concat(),
                ));
            }
        }
    }
    Ok(seeds)
}

fn is_metadata(file: &Path) -> bool {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    matches!(name.as_ref(), "README.md" | "SHA256SUMS" | "manifest.tsv") || name.ends_with(".tsv")
}

/// A seed named after its path (flattened), with its bytes.
fn read_seed(root: &Path, file: &Path) -> Result<(String, Vec<u8>)> {
    let shown = file.strip_prefix(root).unwrap_or(file).to_string_lossy();
    let name: String = shown
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let bytes = fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    Ok((name, bytes))
}

/// Every file under `dir`, recursively, sorted; none when it does not exist.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(out);
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(files_under(&path)?);
        } else {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}
