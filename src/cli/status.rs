//! `kairan status` (how each source's fetches have gone) and `kairan topics` (what each topic
//! holds), both read from the state.

use super::{Out, print_stdout, table};
use chrono::{DateTime, FixedOffset};
use kairan::Config;
use kairan::pipeline::render_store;
use kairan::publish::catalogue::Kind;
use kairan::store::Store;
use std::process::ExitCode;

/// Opens the state for reading, or says why there is none.
pub fn open_state(config: &Config, out: &Out) -> Option<Store> {
    if !config.state_path.exists() {
        out.error(
            &format!(
                "no state at {}: kairan run has not run with it yet",
                config.state_path.display()
            ),
            &[],
        );
        return None;
    }
    Store::open(&config.state_path)
        .map_err(|e| out.error(&e.to_string(), &[]))
        .ok()
}

fn time(t: Option<DateTime<FixedOffset>>) -> String {
    t.map_or_else(
        || "never".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M%:z").to_string(),
    )
}

/// The health table of the configured sources; exit 1 when one is failing or was never read.
pub fn status(config: &Config, out: &Out) -> ExitCode {
    let Some(health) = open_state(config, out)
        .and_then(|s| s.health().map_err(|e| out.error(&e.to_string(), &[])).ok())
    else {
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
    if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
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
        let file = config.output_dir.join(Kind::Atom.path(&slug));
        let url = Kind::Atom.url(&config.site.base_url, &slug);
        rows.push(vec![
            slug,
            n.to_string(),
            file.display().to_string(),
            url,
            title,
        ]);
    }
    print_stdout(&table(&rows));
    ExitCode::SUCCESS
}
