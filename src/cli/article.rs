//! `kairan check --article`: what a source's article rule reads from the pages of its first
//! rows, fetched now, so that a rule can be tried before a run uses it.

use kairan::Config;
use kairan::model::Entry;
use kairan::pipeline::Inspection;
use serde_json::{Value, json};
use std::fmt::Write;

/// Rows whose pages are read.
const ROWS: usize = 5;

use kairan::article::Inspected as Read;

/// Reads the pages of the first rows of the one source checked; an error when it has no
/// article rule.
pub fn read(config: &Config, inspection: &Inspection) -> Result<Vec<Read>, String> {
    let source = &config.sources[0];
    if source.article.is_none() {
        return Err(format!(
            "{}: source \"{}\" has no [source.article] table to check",
            config.origin, source.id
        ));
    }
    let entries: Vec<Entry> = inspection.rows.iter().map(|(e, _)| e.clone()).collect();
    kairan::inspect_articles(config, &source.id, &entries, ROWS)
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

pub fn to_text(config: &Config, read: &[Read]) -> String {
    let mut out = String::new();
    let source = &config.sources[0];
    let _ = writeln!(
        out,
        "\narticles of {} (the first {} rows with a page of their own):",
        source.id,
        read.len()
    );
    for (entry, article, warnings) in read {
        let row = entry.origins.first().map_or(0, |o| o.position);
        let _ = writeln!(out, "  row {row}: {} ({})", entry.title, entry.link);
        match article {
            Ok(a) => {
                let date = |d: Option<chrono::DateTime<chrono::FixedOffset>>| {
                    d.map_or_else(|| "not found".to_owned(), |d| d.to_rfc3339())
                };
                let _ = writeln!(
                    out,
                    "    published {}, updated {}",
                    date(a.dates.published),
                    date(a.dates.updated)
                );
                let _ = writeln!(out, "    content: {}", a.excerpt.replace('\n', " "));
            }
            Err(reason) => {
                let _ = writeln!(out, "    FAILED: {reason}");
            }
        }
        for w in warnings {
            let _ = writeln!(out, "    warning: {w}");
        }
    }
    out
}

pub fn to_json(read: &[Read]) -> Value {
    read.iter()
        .map(|(entry, article, warnings)| {
            let mut row = json!({
                "title": entry.title,
                "link": entry.link,
                "warnings": warnings,
            });
            match article {
                Ok(a) => {
                    row["published"] = json!(a.dates.published.map(|d| d.to_rfc3339()));
                    row["updated"] = json!(a.dates.updated.map(|d| d.to_rfc3339()));
                    row["excerpt"] = json!(a.excerpt);
                    row["content_html"] = json!(a.content);
                }
                Err(reason) => row["error"] = json!(reason),
            }
            row
        })
        .collect()
}
