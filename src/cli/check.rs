//! `kairan check`: what a configuration extracts from its sources, row by row, without storing
//! or writing anything.

use super::{Out, print_stdout};
use kairan::Config;
use kairan::model::Origin;
use kairan::pipeline::Inspection;
use kairan::source::Outcome;
use serde_json::{Value, json};
use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// What `kairan check` is asked to show.
pub struct What {
    /// One source only.
    pub only: Option<String>,
    /// A saved page to read instead of fetching.
    pub page: Option<PathBuf>,
    /// What the source's article rule reads from its first rows' pages.
    pub articles: bool,
    pub json: bool,
}

pub fn check(mut config: Config, what: What, out: &Out) -> ExitCode {
    let What {
        only,
        page,
        articles,
        json: as_json,
    } = what;
    if let Some(id) = &only {
        config.sources.retain(|s| &s.id == id);
        if config.sources.is_empty() {
            out.error(&format!("{}: no source \"{id}\"", config.origin), &[]);
            return ExitCode::from(2);
        }
    }
    let inspection = match kairan::inspect(&config, page.as_deref()) {
        Ok(i) => i,
        Err(e) => {
            out.error(&e.to_string(), &[]);
            return ExitCode::from(1);
        }
    };
    // With one source, the other topics may rightly stay empty.
    let empty_topics: &[usize] = if only.is_some() {
        &[]
    } else {
        &inspection.empty_topics
    };
    let failed: Vec<&str> = inspection
        .sources
        .iter()
        .filter(|s| s.failure().is_some())
        .map(|s| s.id.as_str())
        .collect();
    let verdict = verdict(&config, &inspection, &failed, empty_topics);
    let read = match articles.then(|| super::article::read(&config, &inspection)) {
        Some(Err(message)) => {
            out.error(&message, &[]);
            return ExitCode::from(2);
        }
        Some(Ok(read)) => Some(read),
        None => None,
    };
    let articles_ok = read.as_ref().is_none_or(|r| r.iter().all(|a| a.1.is_ok()));
    let notify = if config.notify.is_empty() {
        None
    } else {
        match super::notify::preview(&config, &inspection) {
            Ok(previews) => Some(previews),
            Err(message) => {
                out.error(&message, &[]);
                return ExitCode::from(1);
            }
        }
    };
    if as_json {
        let mut json = to_json(
            &config,
            &inspection,
            empty_topics,
            &verdict,
            failed.is_empty(),
        );
        if let Some(read) = &read {
            json["articles"] = super::article::to_json(read);
            json["ok"] = json!(json["ok"].as_bool() == Some(true) && articles_ok);
        }
        if let Some(previews) = &notify {
            json["notify"] = super::notify::to_json(previews.as_deref());
        }
        print_stdout(&format!("{json:#}\n"));
    } else {
        let mut text = to_text(&config, &inspection, empty_topics, &verdict);
        if let Some(read) = &read {
            text.push_str(&super::article::to_text(&config, read));
        }
        if let Some(previews) = &notify {
            text.push_str(&super::notify::to_text(previews.as_deref()));
        }
        print_stdout(&text);
    }
    if failed.is_empty() && empty_topics.is_empty() && articles_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn verdict(config: &Config, i: &Inspection, failed: &[&str], empty_topics: &[usize]) -> String {
    let merged = i.rows.len() - i.entries;
    let read = format!(
        "{} of {} sources read, {} rows, {} entries ({merged} repeated rows merged)",
        i.sources.len() - failed.len(),
        i.sources.len(),
        i.rows.len(),
        i.entries
    );
    let mut problems = Vec::new();
    if !failed.is_empty() {
        problems.push(format!("failed: {}", failed.join(", ")));
    }
    if !empty_topics.is_empty() {
        let ids: Vec<&str> = empty_topics
            .iter()
            .map(|&t| config.topics[t].id.as_str())
            .collect();
        problems.push(format!("topics with no entry: {}", ids.join(", ")));
    }
    if problems.is_empty() {
        format!("ok: {read}")
    } else {
        format!("problems: {}; {read}", problems.join("; "))
    }
}

fn to_text(config: &Config, i: &Inspection, empty_topics: &[usize], verdict: &str) -> String {
    let mut s = String::new();
    for source in &i.sources {
        let _ = writeln!(
            s,
            "source {} ({}): {}",
            source.id, source.url, source.outcome
        );
        let rows: Vec<_> = i
            .rows
            .iter()
            .filter(|(e, _)| e.origins[0].source == source.id)
            .collect();
        if !rows.is_empty() {
            let _ = writeln!(s, "   ROW  DATE                       TITLE");
        }
        for (e, topics) in rows {
            let date = e
                .updated
                .map_or_else(|| "(no date)".to_owned(), |d| d.to_rfc3339());
            let topics: Vec<&str> = topics
                .iter()
                .map(|&t| config.topics[t].id.as_str())
                .collect();
            let topics = if topics.is_empty() {
                "(no topic)".to_owned()
            } else {
                topics.join(", ")
            };
            let _ = writeln!(
                s,
                "  {:>4}  {date:<25}  {}\n        {}\n        → {topics}",
                e.origins[0].position, e.title, e.link
            );
        }
        for w in &source.warnings {
            let _ = writeln!(s, "  warning: row {}: {}", w.position, w.message);
        }
        s.push('\n');
    }
    if i.merges.is_empty() {
        s.push_str("merged as repeats: none\n");
    } else {
        s.push_str("merged as repeats (same key):\n");
        for m in &i.merges {
            let rows: Vec<String> = m.origins.iter().map(Origin::to_string).collect();
            let _ = writeln!(s, "  {} ← {}", m.key, rows.join(", "));
        }
    }
    let empty: Vec<&str> = empty_topics
        .iter()
        .map(|&t| config.topics[t].id.as_str())
        .collect();
    let _ = writeln!(
        s,
        "topics that matched nothing: {}",
        if empty.is_empty() {
            "none".to_owned()
        } else {
            empty.join(", ")
        }
    );
    let _ = writeln!(s, "verdict: {verdict}");
    s
}

fn to_json(
    config: &Config,
    i: &Inspection,
    empty_topics: &[usize],
    verdict: &str,
    sources_ok: bool,
) -> Value {
    let topic_ids =
        |ts: &[usize]| -> Vec<&str> { ts.iter().map(|&t| config.topics[t].id.as_str()).collect() };
    let sources: Vec<Value> = i
        .sources
        .iter()
        .map(|s| {
            let (outcome, error, rows, entries) = match &s.outcome {
                Outcome::Fetched { rows, entries, .. } => {
                    ("fetched", None, Some(rows), Some(entries))
                }
                Outcome::NotModified => ("not-modified", None, None, None),
                Outcome::Failed(e) => ("failed", Some(e.to_string()), None, None),
            };
            json!({
                "id": s.id,
                "url": s.url,
                "outcome": outcome,
                "error": error,
                "rows": rows,
                "entries": entries,
                "warnings": s.warnings.iter().map(|w| json!({
                    "row": w.position,
                    "message": w.message,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let rows: Vec<Value> = i
        .rows
        .iter()
        .map(|(e, topics)| {
            json!({
                "source": e.origins[0].source,
                "row": e.origins[0].position,
                "key": e.key.0,
                "title": e.title,
                "link": e.link,
                "summary": e.summary,
                "updated": e.updated.map(|d| d.to_rfc3339()),
                "published": e.published.map(|d| d.to_rfc3339()),
                "topics": topic_ids(topics),
            })
        })
        .collect();
    let merges: Vec<Value> = i
        .merges
        .iter()
        .map(|m| {
            json!({
                "key": m.key.0,
                "rows": m.origins.iter().map(|o| json!({"source": o.source, "row": o.position})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "ok": sources_ok && empty_topics.is_empty(),
        "verdict": verdict,
        "sources": sources,
        "rows": rows,
        "merges": merges,
        "entries": i.entries,
        "empty_topics": topic_ids(empty_topics),
    })
}
