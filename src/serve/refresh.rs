//! The refresh on a schedule: the same pipeline as `run`, every `[serve] interval` (give or
//! take a tenth) and on SIGHUP; what it published swapped in whole, a failure leaving the last
//! good feeds served, and a refresh left to another node that publishes for this one.

use super::cache::Files;
use super::{App, Snapshot};
use crate::pipeline::{self, Options, Report};
use crate::store::LockError;
use crate::store::lock::publisher;
use chrono::Utc;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(super) async fn refresh_loop(app: Arc<App>) {
    // SIGHUP asks for a refresh now (`systemctl reload`), instead of at the next interval.
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .expect("a SIGHUP handler can be installed");
    loop {
        let started = Instant::now();
        let options = Options {
            health: true,
            all_files: true,
            ..Options::default()
        };
        let mut result = pipeline::refresh(&app.config, options).await;
        let took = started.elapsed();
        if let Err(pipeline::Error::Lock(LockError::Busy { holder, .. })) = &result {
            // Another node refreshes this state; the follower takes what it publishes. What
            // this node serves from the state at start is that node's publish: it is up.
            tracing::info!("another kairan refreshes the state ({holder}): serving its feeds");
            let _replacing = app.replacing.lock().unwrap_or_else(|e| e.into_inner());
            let previous = app.snapshot.load_full();
            if previous.last_success.is_none() && previous.stamp.is_some() {
                let mut s = previous.carried();
                s.last_success = Some(Utc::now());
                app.snapshot.store(Arc::new(s));
            }
        } else {
            let _replacing = app.replacing.lock().unwrap_or_else(|e| e.into_inner());
            let previous = app.snapshot.load_full();
            let now = Utc::now();
            let mut snapshot = match &mut result {
                Ok(report) => {
                    log_report(report, took);
                    let files = Files::build(&report.published.files, &previous.files, now);
                    // Moved, not copied: the report has no further use for them.
                    let feeds = Arc::new(std::mem::take(&mut report.feeds));
                    let mut s = Snapshot::new(files, feeds, report.empty_updated);
                    s.last_success = Some(now);
                    s.sources = report.health.clone().unwrap_or_default();
                    s.stamp = Some(report.stamp.clone());
                    s.published_by = Some(publisher(now));
                    s
                }
                Err(e) => {
                    tracing::error!("refresh failed: {e}; the last good feeds stay served");
                    previous.carried()
                }
            };
            snapshot.last_refresh = Some(now);
            app.snapshot.store(Arc::new(snapshot));
            // Counted once what it published is served, so that a count seen means it is there.
            match &result {
                Ok(report) => {
                    let failed: Vec<&str> = report.failures().map(|(s, _)| s.id.as_str()).collect();
                    let totals = report.published.totals.clone();
                    app.metrics.refreshed(true, took, &failed, Some(totals));
                    app.metrics.notified(&report.notified);
                }
                Err(_) => app.metrics.refreshed(false, took, &[], None),
            }
        }
        // Until a refresh is due: with several nodes on one state, another node's publish
        // followed within the interval stands for this one's, so the sources are read once
        // an interval, not once per node; if that node stops, this one takes over.
        let interval = app.config.serve.interval;
        loop {
            let asked = tokio::select! {
                () = tokio::time::sleep(jittered(interval)) => false,
                _ = hangup.recv() => true,
            };
            if asked {
                tracing::info!("SIGHUP: refreshing now");
                break;
            }
            let followed = app.snapshot.load().followed;
            if followed.is_none_or(|at| at.elapsed() >= interval.mul_f64(0.9)) {
                break;
            }
            tracing::info!("another node published within the interval: no refresh here");
        }
    }
}

fn log_report(report: &Report, took: Duration) {
    for (source, error) in report.failures() {
        tracing::error!(
            source = %source.id,
            url = %source.url,
            "source {} ({}): {error}",
            source.id,
            source.url
        );
    }
    for f in &report.notified.failures {
        tracing::error!(notify = %f.notify, reason = %f.reason, "{f}");
    }
    let read = report
        .sources
        .iter()
        .filter(|s| s.failure().is_none())
        .count();
    tracing::info!(
        "refreshed in {:.2} s: {read} of {} sources read; {} new, {} updated; {} files written; {} notifications sent",
        took.as_secs_f64(),
        report.sources.len(),
        report.changes.new,
        report.changes.updated,
        report.published.written.len(),
        report.notified.sent.values().sum::<usize>()
    );
}

/// The interval give or take a tenth, so that instances started together drift apart.
fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.9 + fastrand::f64() / 5.0)
}
