//! The `ufm` command line: a thin layer over the engine (see `ufm --help`).
//! Exit status: see `cli/exit.rs` (0 finished, 1 run-time failure or a diverged/failed run,
//! 2 invalid input, 130/143 cancelled by SIGINT/SIGTERM).

// The engine library is `ufm_engine`; the command's modules call it `ufm`.
extern crate ufm_engine as ufm;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[path = "cli"]
mod cli {
    pub mod analyze;
    pub mod bench;
    pub mod exit;
    pub mod plot;
    pub mod progress;
    pub mod run;
    pub mod signals;
    pub mod sweep;
    pub mod theory;
}

#[derive(Parser)]
#[command(
    name = "ufm",
    version,
    about = "Train and measure the deep unconstrained feature model"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train one job and write result.json, curve.csv and params/ into --out.
    Run(cli::run::RunArgs),
    /// Check a job file (and every point of its sweep) without running it.
    Validate(cli::run::ValidateArgs),
    /// Time GD steps on the benchmark settings (see BENCHMARKS.md).
    Bench(cli::bench::BenchArgs),
    /// Print the JSON Schema of the job file.
    Schema,
    /// Run every point of a job's sweep in parallel into --out (resumable).
    Sweep(cli::sweep::SweepArgs),
    /// Combine sweep folders of one job (e.g. shards) into one, or show their progress (--status).
    Merge(cli::sweep::MergeArgs),
    /// Plot a run folder or a sweep folder (SVG and PNG, into DIR/plots by default).
    Plot(cli::plot::PlotArgs),
    /// Closed forms, critical scales, regions and Hessian reports (docs/theory.md).
    Theory(cli::theory::TheoryArgs),
    /// Measure activations exported from any network (docs/analyze.md).
    Analyze(cli::analyze::AnalyzeArgs),
}

/// A command's failure: the engine's error type ([`ufm::Error`]); its kind decides the exit
/// status (`cli/exit.rs`). The name is kept so the commands read `Failure::Input(..)`.
pub use ufm::Error as Failure;

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when stdout is a closed pipe (`ufm ... | head`) instead
    // of panicking in println!: Rust ignores SIGPIPE by default.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of a signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    // UFM_SIMD forces the engine's SIMD level; a value the CPU cannot run is an input error.
    let result = match ufm::simd::requested() {
        Err(e) => Err(e),
        Ok(_) => dispatch(cli.command),
    };
    finish(result)
}

fn dispatch(command: Command) -> Result<(), Failure> {
    match command {
        Command::Run(a) => cli::run::run(a),
        Command::Validate(a) => cli::run::validate(a),
        Command::Bench(a) => cli::bench::bench(a),
        Command::Sweep(a) => cli::sweep::sweep(a),
        Command::Merge(a) => cli::sweep::merge(a),
        Command::Plot(a) => cli::plot::plot(a),
        Command::Theory(a) => cli::theory::theory(a),
        Command::Analyze(a) => cli::analyze::analyze(a),
        Command::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&ufm::job::json_schema()).unwrap_or_default()
            );
            Ok(())
        }
    }
}

fn finish(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::from(cli::exit::FINISHED),
        Err(e) => {
            // A finished command with an unhappy outcome (files written) reads "ufm: ..."; a
            // failure "error: ...".
            match e.kind() {
                ufm::ErrorKind::RunEnded | ufm::ErrorKind::Cancelled => eprintln!("ufm: {e}"),
                _ => eprintln!("error: {e}"),
            }
            ExitCode::from(cli::exit::for_error(&e))
        }
    }
}
