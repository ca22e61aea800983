//! `kairan status` (how each source's fetches have gone) and `kairan topics` (what each topic
//! holds), both read from the state.

use super::{Out, print_stdout, table};
use chrono::{DateTime, FixedOffset};
use kairan::Config;
use kairan::pipeline::render_store;
use kairan::publish::catalogue::Kind;
use kairan::store::{OutboxHealth, Queued, Store};
use std::process::ExitCode;

/// Opens the state for reading, or says why there is none.
pub fn open_state(config: &Config, out: &Out) -> Option<Store> {
    if !config.state.may_exist() {
        out.error(
            &format!(
                "no state at {}: kairan run has not run with it yet",
                config.state.shown()
            ),
            &[],
        );
        return None;
    }
    Store::open(&config.state)
        .map_err(|e| out.error(&e.to_string(), &[]))
        .ok()
}

fn time(t: Option<DateTime<FixedOffset>>) -> String {
    t.map_or_else(
        || "never".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M%:z").to_string(),
    )
}

/// The health table of the configured sources, and of the notifications' outboxes; exit 1
/// when a source is failing or was never read, or a notification's deliveries are failing.
pub fn status(config: &Config, out: &Out) -> ExitCode {
    let Some((health, outbox)) = open_state(config, out).and_then(|s| {
        let read = s.health().and_then(|h| Ok((h, s.outbox()?)));
        read.map_err(|e| out.error(&e.to_string(), &[])).ok()
    }) else {
        return ExitCode::from(1);
    };
    // A column for articles where a source reads them, and only then.
    let articles = config.sources.iter().any(|s| s.article.is_some());
    let mut header = vec!["SOURCE", "LAST SUCCESS", "FAILURES", "ENTRIES"];
    if articles {
        header.push("ARTICLES FAILING");
    }
    header.push("LAST ERROR");
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    let mut healthy = true;
    for source in &config.sources {
        let (mut row, failing, error) = match health.iter().find(|h| h.id == source.id) {
            Some(h) => {
                healthy &= h.consecutive_failures == 0 && h.last_success.is_some();
                let row = vec![
                    source.id.clone(),
                    time(h.last_success),
                    h.consecutive_failures.to_string(),
                    h.entries.to_string(),
                ];
                let error = h.last_error.clone().unwrap_or_else(|| "-".to_owned());
                (row, h.article_failures.to_string(), error)
            }
            None => {
                healthy = false;
                let row = [source.id.as_str(), "never", "-", "0"].map(String::from);
                (row.to_vec(), "0".to_owned(), "not fetched yet".to_owned())
            }
        };
        if articles {
            row.push(failing);
        }
        row.push(error);
        rows.push(row);
    }
    print_stdout(&table(&rows));
    if !config.notify.is_empty() {
        healthy &= notify_table(config, &outbox);
    }
    if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Each notification's outbox, after the sources' table; whether none is failing.
fn notify_table(config: &Config, outbox: &[Queued]) -> bool {
    let waiting = OutboxHealth::of(outbox);
    let mut rows = vec![
        [
            "NOTIFY",
            "KIND",
            "TOPICS",
            "WAITING",
            "FAILING",
            "LAST ERROR",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let mut healthy = true;
    for n in &config.notify {
        let h = waiting.get(&n.id).cloned().unwrap_or_default();
        healthy &= h.failing == 0;
        rows.push(vec![
            n.id.clone(),
            n.kind.name().to_owned(),
            n.topics
                .as_ref()
                .map_or_else(|| "*".to_owned(), |t| t.join(",")),
            h.queued.to_string(),
            h.failing.to_string(),
            h.last_error.unwrap_or_else(|| "-".to_owned()),
        ]);
    }
    print_stdout(&format!("\n{}", table(&rows)));
    healthy
}

/// Each topic with its stored entries (as the next publish would sort them) and its feed.
pub fn topics(config: &Config, out: &Out) -> ExitCode {
    let Some(rendered) = open_state(config, out).and_then(|s| {
        render_store(config, &s)
            .map_err(|e| out.error(&e.to_string(), &[]))
            .ok()
    }) else {
        return ExitCode::from(1);
    };
    let mut rows = vec![
        ["TOPIC", "ENTRIES", "FILE", "URL", "TITLE"]
            .map(String::from)
            .to_vec(),
    ];
    for (slug, n) in rendered.totals {
        let title = config
            .topics
            .iter()
            .find(|t| t.id == slug)
            .map_or(config.site.labels.all, |t| t.title.as_str())
            .to_owned();
        let file = format!(
            "{}/{}",
            config.output.shown().trim_end_matches('/'),
            Kind::Atom.path(&slug)
        );
        let url = Kind::Atom.url(&config.site.base_url, &slug);
        rows.push(vec![slug, n.to_string(), file, url, title]);
    }
    print_stdout(&table(&rows));
    ExitCode::SUCCESS
}
