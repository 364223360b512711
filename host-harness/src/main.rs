//! `e911-harness`: the local host for the E9-1-1 policy plugin.
//!
//! Subcommands are thin: each reads files, calls the plugin crates, and prints. Every user
//! mistake becomes one line naming the file and the problem (no panics, no backtraces).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod inspect;

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
    /// Parse SIP messages and print what the plugin would base its decision on.
    Inspect {
        /// Message files (one SIP message each, as on the wire).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect { files } => inspect::run(&files),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("e911-harness: {err:#}");
            ExitCode::FAILURE
        }
    }
}
