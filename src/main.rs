//! The `kairan` command: parses arguments, calls the library, maps outcomes to exit statuses
//! (0 all well, 1 a source or the refresh failed, 2 usage or configuration).

use clap::{Parser, Subcommand};
use kairan::Config;
use kairan::pipeline::{Report, SourceOutcome};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "kairan",
    version,
    about = "Per-topic Atom feeds from security-advisory listings"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch every source once, update the state and publish the feeds.
    Run {
        /// Configuration file [default: ./kairan.toml if present, else the built-in one]
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Output directory (overrides [output] dir)
        #[arg(long)]
        out: Option<PathBuf>,
        /// State file (overrides [state] path)
        #[arg(long)]
        state: Option<PathBuf>,
        /// Also print a summary and per-row warnings
        #[arg(long, short)]
        verbose: bool,
    },
}

const LOCAL_CONFIG: &str = "kairan.toml";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KAIRAN_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Run {
            config,
            out,
            state,
            verbose,
        } => {
            let mut config = match load_config(config.as_deref()) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("kairan: {e}");
                    return ExitCode::from(2);
                }
            };
            if let Some(out) = out {
                config.output_dir = out;
            }
            if let Some(state) = state {
                config.state_path = state;
            }
            match kairan::run(&config) {
                Ok(report) => print_report(&report, verbose),
                Err(e) => {
                    eprintln!("kairan: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

fn load_config(path: Option<&Path>) -> Result<Config, kairan::config::ConfigError> {
    match path {
        Some(p) => Config::load(p),
        None if Path::new(LOCAL_CONFIG).exists() => Config::load(Path::new(LOCAL_CONFIG)),
        None => Ok(Config::builtin()),
    }
}

/// Failures always (cron mails them); the rest only when asked for.
fn print_report(report: &Report, verbose: bool) -> ExitCode {
    for (source, error) in report.failures() {
        eprintln!("kairan: source {} ({}): {error}", source.id, source.url);
    }
    if verbose {
        for s in &report.sources {
            let what = match &s.outcome {
                SourceOutcome::Fetched { rows, entries } => {
                    format!("{rows} rows, {entries} entries")
                }
                SourceOutcome::NotModified => "not modified".into(),
                SourceOutcome::Failed(_) => "failed".into(),
            };
            eprintln!("source {}: {what}", s.id);
            for w in &s.warnings {
                eprintln!("  warning: {w}");
            }
        }
        for m in &report.merges {
            let from: Vec<String> = m
                .origins
                .iter()
                .map(|o| format!("{} row {}", o.source, o.position))
                .collect();
            eprintln!("merged {} from {}", m.key, from.join(", "));
        }
        eprintln!(
            "{} new, {} updated, {} stored; {} files written, {} unchanged",
            report.changes.new,
            report.changes.updated,
            report.stored,
            report.published.written.len(),
            report.published.unchanged
        );
    }
    if report.failures().next().is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
