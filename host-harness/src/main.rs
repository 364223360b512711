//! `e911-harness`: the local host for the E9-1-1 policy plugin.
//!
//! Subcommands are thin: each reads files, calls the plugin crates or a host crate
//! (`e911-decider` for the engine, `e911-sip-proxy`, `e911-oci`, `e911-http`), and prints.
//! Every user mistake becomes one line naming the file and the problem (no panics, no
//! backtraces). The commands that listen or fetch (proxy, status, playground, oci, bundle
//! serve) are the `network` feature, on by default; `cargo xtask demo` builds without it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

mod bundle_cmd;
mod demo;
mod inspect;
#[cfg(feature = "network")]
mod playground;
mod run;

#[derive(Parser)]
#[command(
    name = "e911-harness",
    version,
    about = "Runs the E9-1-1 policy plugin locally"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decide one message; print the bytes the proxy forwards (or --json).
    Run(run::RunArgs),
    /// Decide one message; print the decision trace for a person.
    Explain(run::RunArgs),
    /// Run the sample calls of a manifest through the engine and print a table.
    Demo {
        /// Policy: a source folder or a compiled bundle.
        #[arg(long, default_value = "policies/contoso")]
        policy: PathBuf,
        /// The calls: a manifest.tsv (file, peer, kind, shows).
        #[arg(long, default_value = "tests/corpus/emergency/manifest.tsv")]
        calls: PathBuf,
        /// Where the forwarded messages are written.
        #[arg(long, default_value = "out/demo")]
        out: PathBuf,
        /// The first call's time of arrival (RFC 3339), each next call a second later;
        /// default now.
        #[arg(long)]
        now: Option<String>,
        /// The engine: `--engine component|native`, `--component PATH`.
        #[command(flatten)]
        engine: e911_decider::EngineArgs,
    },
    /// Parse SIP messages and print what the plugin would base its decision on.
    Inspect {
        /// Message files (one SIP message each, as on the wire).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Policy bundles: check (also against an MSAG), build, inspect, keygen, export-ali.
    #[command(subcommand)]
    Bundle(BundleCommand),
    #[cfg(feature = "network")]
    /// A small SIP proxy over UDP and TCP with the plugin in the path (for SIPp tests).
    Proxy(Box<e911_sip_proxy::ProxyArgs>),
    #[cfg(feature = "network")]
    /// Serve the policy playground page (the engine in the browser) and a policy folder.
    Playground(playground::PlaygroundArgs),
    #[cfg(feature = "network")]
    /// Print a running proxy's status: active bundle revision, last reload error, counters.
    Status {
        /// The proxy's --state-dir.
        #[arg(long)]
        state_dir: PathBuf,
    },
    #[cfg(feature = "network")]
    /// OCI registries: push, pull and inspect modules, components and policy bundles.
    #[command(subcommand)]
    Oci(e911_oci::OciCommand),
}

#[derive(Subcommand)]
enum BundleCommand {
    /// Validate a source folder (every problem, with file:line) or a bundle file.
    Check {
        /// Source folder or bundle file.
        path: PathBuf,
        /// Public key files; a bundle must be signed by one of them.
        #[arg(long = "trust-key")]
        trust_keys: Vec<PathBuf>,
        /// An MSAG extract (CSV, or NENA fixed width): every US ERL of the source folder
        /// is checked against it, each mismatch named with the nearest valid entry.
        #[arg(long)]
        msag: Option<PathBuf>,
        /// Write what the MSAG check found into the ERL files' validation column
        /// (`validated`, `MSAGValid`, `ValidationStatus`), changing nothing else.
        #[arg(long, requires = "msag")]
        write_validated: bool,
    },
    /// Write every ELIN's address as the records a carrier loads into its ALI database.
    ExportAli(bundle_cmd::ExportAliArgs),
    /// Compile a source folder into a bundle file.
    Build {
        /// Source folder.
        dir: PathBuf,
        /// Output bundle file.
        #[arg(short, long)]
        out: PathBuf,
        /// Secret key file to sign with (from `bundle keygen`).
        #[arg(long)]
        sign_key: Option<PathBuf>,
    },
    /// Print a bundle's header and contents.
    Inspect {
        /// Bundle file.
        file: PathBuf,
        /// Public key files; the signature is checked against them.
        #[arg(long = "trust-key")]
        trust_keys: Vec<PathBuf>,
    },
    /// Create a signing key: FILE gets the secret, FILE.pub the public key.
    Keygen {
        /// Where to write the secret key.
        file: PathBuf,
    },
    #[cfg(feature = "network")]
    /// Follow a registry tag and serve the current bundle over HTTP with an ETag.
    Serve(e911_oci::serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("e911-harness: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Run(args) => run::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Explain(args) => run::explain(&args).map(|()| ExitCode::SUCCESS),
        Command::Demo {
            policy,
            calls,
            out,
            now,
            engine,
        } => {
            print!(
                "{}",
                demo::run(&policy, &calls, &out, &engine, now.as_deref())?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Inspect { files } => inspect::run(&files),
        Command::Bundle(command) => bundle(command),
        #[cfg(feature = "network")]
        Command::Proxy(args) => e911_sip_proxy::run(&args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "network")]
        Command::Playground(args) => playground::run(&args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "network")]
        Command::Status { state_dir } => {
            e911_sip_proxy::print_status(&state_dir).map(|()| ExitCode::SUCCESS)
        }
        #[cfg(feature = "network")]
        Command::Oci(command) => {
            println!("{}", e911_oci::run(&command)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints what an export or an MSAG check found: each problem, then the summary (on
/// standard error when something failed, since standard output may carry the records).
fn finish(done: bundle_cmd::Provisioned) -> Result<ExitCode> {
    for line in &done.problems {
        eprintln!("{line}");
    }
    eprintln!("{}", done.summary);
    Ok(if done.failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn bundle(command: BundleCommand) -> Result<ExitCode> {
    match command {
        BundleCommand::Check {
            path,
            trust_keys,
            msag,
            write_validated,
        } => {
            let checked = bundle_cmd::check(&path, &trust_keys)?;
            let problems = checked.problems;
            for line in checked.warnings.iter().chain(&problems) {
                eprintln!("{line}");
            }
            if !problems.is_empty() {
                eprintln!("{} problem(s)", problems.len());
                return Ok(ExitCode::FAILURE);
            }
            match msag {
                Some(msag) => finish(bundle_cmd::check_msag(&path, &msag, write_validated)?),
                None => {
                    println!("{}: ok", path.display());
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        BundleCommand::ExportAli(args) => finish(bundle_cmd::export_ali(&args)?),
        BundleCommand::Build { dir, out, sign_key } => {
            println!("{}", bundle_cmd::build(&dir, &out, sign_key.as_deref())?);
            Ok(ExitCode::SUCCESS)
        }
        BundleCommand::Inspect { file, trust_keys } => {
            print!("{}", bundle_cmd::inspect(&file, &trust_keys)?);
            Ok(ExitCode::SUCCESS)
        }
        BundleCommand::Keygen { file } => {
            println!("{}", bundle_cmd::keygen(&file)?);
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "network")]
        BundleCommand::Serve(args) => e911_oci::serve::run(&args).map(|()| ExitCode::SUCCESS),
    }
}
