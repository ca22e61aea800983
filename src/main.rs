//! The `kairan` command: parses arguments, calls the library, maps outcomes to exit statuses
//! (0 all well, 1 a source or the refresh failed, 2 usage or configuration).

use clap::{Args, Parser, Subcommand};
use kairan::pipeline::{Report, SourceOutcome};
use kairan::store::{SourceHealth, Store};
use kairan::{Config, Options};
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

#[derive(Args)]
struct ConfigArgs {
    /// Configuration file [default: ./kairan.toml if present, else the built-in one]
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// State file (overrides [state] path)
    #[arg(long)]
    state: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch every source once, update the state and publish the feeds.
    Run {
        #[command(flatten)]
        config: ConfigArgs,
        /// Output directory (overrides [output] dir)
        #[arg(long)]
        out: Option<PathBuf>,
        /// Wait for a run that holds the state to finish, instead of exiting at once
        #[arg(long)]
        wait: bool,
        /// Also print a summary and per-row warnings
        #[arg(long, short)]
        verbose: bool,
    },
    /// Show each source's last success, last error and consecutive failures.
    Status {
        #[command(flatten)]
        config: ConfigArgs,
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
    let result = match Cli::parse().command {
        Command::Run {
            config,
            out,
            wait,
            verbose,
        } => load_config(&config).map(|mut config| {
            if let Some(out) = out {
                config.output_dir = out;
            }
            let options = Options {
                wait_for_lock: wait,
            };
            match kairan::run(&config, options) {
                Ok(report) => print_report(&report, verbose),
                Err(e) => {
                    eprintln!("kairan: {e}");
                    ExitCode::from(1)
                }
            }
        }),
        Command::Status { config } => load_config(&config).map(|c| status(&c)),
    };
    result.unwrap_or_else(|e| {
        eprintln!("kairan: {e}");
        ExitCode::from(2)
    })
}

fn load_config(args: &ConfigArgs) -> Result<Config, kairan::config::ConfigError> {
    let mut config = match &args.config {
        Some(p) => Config::load(p)?,
        None if Path::new(LOCAL_CONFIG).exists() => Config::load(Path::new(LOCAL_CONFIG))?,
        None => Config::builtin(),
    };
    if let Some(state) = &args.state {
        config.state_path.clone_from(state);
    }
    Ok(config)
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

/// The health table of the configured sources; exit 1 when one is failing or was never read.
fn status(config: &Config) -> ExitCode {
    if !config.state_path.exists() {
        eprintln!(
            "kairan: no state at {}: kairan run has not run with it yet",
            config.state_path.display()
        );
        return ExitCode::from(1);
    }
    let health = match Store::open(&config.state_path).and_then(|s| s.health()) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("kairan: {e}");
            return ExitCode::from(1);
        }
    };
    let time = |t: Option<chrono::DateTime<chrono::FixedOffset>>| {
        t.map_or_else(
            || "never".to_owned(),
            |t| t.format("%Y-%m-%d %H:%M%:z").to_string(),
        )
    };
    let mut rows = vec![[
        "SOURCE".to_owned(),
        "LAST SUCCESS".to_owned(),
        "FAILURES".to_owned(),
        "ENTRIES".to_owned(),
        "LAST ERROR".to_owned(),
    ]];
    let mut healthy = true;
    for source in &config.sources {
        let h = health.iter().find(|h| h.id == source.id);
        let failing = h.is_none_or(|h| h.consecutive_failures > 0 || h.last_success.is_none());
        healthy &= !failing;
        rows.push(match h {
            Some(SourceHealth {
                last_success,
                consecutive_failures,
                entries,
                last_error,
                ..
            }) => [
                source.id.clone(),
                time(*last_success),
                consecutive_failures.to_string(),
                entries.to_string(),
                last_error.clone().unwrap_or_else(|| "-".to_owned()),
            ],
            None => [
                source.id.clone(),
                "never".to_owned(),
                "-".to_owned(),
                "0".to_owned(),
                "not fetched yet".to_owned(),
            ],
        });
    }
    let widths: Vec<usize> = (0..4)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(&widths) {
            line.push_str(cell);
            line.push_str(&" ".repeat(width - cell.chars().count() + 2));
        }
        line.push_str(&row[4]);
        println!("{line}");
    }
    if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
