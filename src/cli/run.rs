//! `kairan run`: one refresh, with a progress bar for a person at a terminal.

use super::Out;
use kairan::model::Origin;
use kairan::pipeline::Report;
use kairan::{Config, Options};
use std::process::ExitCode;
use std::sync::Arc;

pub fn run(config: &Config, wait: bool, out: &Out) -> ExitCode {
    let progress = (out.terminal && out.summary_wanted()).then(|| {
        let bar = indicatif::ProgressBar::new(config.sources.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} sources {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let options = Options {
        wait_for_lock: wait,
        health: false,
        all_files: false,
        on_fetched: progress.clone().map(|bar| {
            Arc::new(move |id: &str| {
                bar.set_message(id.to_owned());
                bar.inc(1);
            }) as kairan::pipeline::OnFetched
        }),
    };
    let result = kairan::run(config, options);
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    match result {
        Ok(report) => print_report(&report, out),
        Err(e) => {
            out.error(&e.to_string(), &[]);
            ExitCode::from(1)
        }
    }
}

/// Failures always (cron mails them); details with `-v`; the summary with `-v` or at a
/// terminal.
fn print_report(report: &Report, out: &Out) -> ExitCode {
    for (source, error) in report.failures() {
        let reason = error.to_string();
        out.error(
            &format!("source {} ({}): {reason}", source.id, source.url),
            &[
                ("source", &source.id),
                ("url", &source.url),
                ("reason", &reason),
            ],
        );
    }
    for s in &report.sources {
        out.info(
            &format!("source {}: {}", s.id, s.outcome),
            &[("source", &s.id)],
        );
        for w in &s.warnings {
            out.info(&format!("  warning: {w}"), &[("source", &s.id)]);
        }
    }
    for f in &report.notified.failures {
        out.error(
            &f.to_string(),
            &[("notify", &f.notify), ("reason", &f.reason)],
        );
    }
    for m in &report.merges {
        let from: Vec<String> = m.origins.iter().map(Origin::to_string).collect();
        out.info(&format!("merged {} from {}", m.key, from.join(", ")), &[]);
    }
    let failed = report.failures().count();
    let c = &report.changes;
    let mut summary = format!(
        "{} sources ok, {failed} failed; {} new, {} updated, {} stored; {} files written, {} unchanged",
        report.sources.len() - failed,
        c.new,
        c.updated,
        report.stored,
        report.published.written.len(),
        report.published.unchanged
    );
    let n = &report.notified;
    let sent: usize = n.sent.values().sum();
    let waiting: usize = n.waiting.values().map(|h| h.queued).sum();
    if sent + waiting + n.failures.len() > 0 {
        summary.push_str(&format!("; {sent} notifications sent, {waiting} waiting"));
    }
    out.summary(&summary, &[]);
    if failed > 0 || !n.failures.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
