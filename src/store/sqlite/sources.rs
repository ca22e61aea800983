//! Each source's fetch state: validators for conditional requests, and how its reads went.

use crate::fetch::Validators;
use crate::source::{Outcome, SourceReport};
use crate::store::SourceHealth;
use crate::store::rules::{failure_note, parse_time};
use chrono::{DateTime, FixedOffset};
use rusqlite::{Connection, OptionalExtension, params};

pub(super) fn fetch_state(
    conn: &Connection,
    source: &str,
) -> rusqlite::Result<Option<(Validators, Option<DateTime<FixedOffset>>)>> {
    conn.query_row(
        "SELECT etag, last_modified, last_full FROM sources WHERE id = ?1",
        [source],
        |r| {
            let validators = Validators {
                etag: r.get(0)?,
                last_modified: r.get(1)?,
            };
            let full: Option<String> = r.get(2)?;
            Ok((validators, full.map(|t| parse_time(&t))))
        },
    )
    .optional()
}

pub(super) fn health(conn: &Connection) -> rusqlite::Result<Vec<SourceHealth>> {
    let mut stmt = conn.prepare(
        // One pass over the rows for every source's count: entry_sources is keyed by entry,
        // so a count per source would scan it once per source.
        "SELECT s.id, s.url, s.last_attempt, s.last_success, s.last_error,
                s.consecutive_failures, coalesce(c.entries, 0), coalesce(f.failing, 0)
         FROM sources s LEFT JOIN (
             SELECT source, count(DISTINCT key) AS entries FROM entry_sources GROUP BY source
         ) c ON c.source = s.id LEFT JOIN (
             SELECT source, count(*) AS failing FROM articles WHERE failures > 0 GROUP BY source
         ) f ON f.source = s.id
         ORDER BY s.id",
    )?;
    stmt.query_map([], |r| {
        Ok(SourceHealth {
            id: r.get(0)?,
            url: r.get(1)?,
            last_attempt: r.get::<_, Option<String>>(2)?.map(|t| parse_time(&t)),
            last_success: r.get::<_, Option<String>>(3)?.map(|t| parse_time(&t)),
            last_error: r.get(4)?,
            consecutive_failures: r.get(5)?,
            entries: r.get(6)?,
            article_failures: r.get(7)?,
        })
    })?
    .collect()
}

/// Records how a source's read went; `now` as the state writes times.
pub(super) fn record(
    conn: &Connection,
    report: &SourceReport,
    now: DateTime<FixedOffset>,
    now_text: &str,
) -> rusqlite::Result<()> {
    let id = &report.id;
    conn.prepare_cached(
        "INSERT INTO sources (id, url, last_attempt) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET url = ?2, last_attempt = ?3",
    )?
    .execute(params![id, report.url, now_text])?;
    match &report.outcome {
        Outcome::Fetched { validators: v, .. } => conn
            .prepare_cached(
                "UPDATE sources SET etag = ?2, last_modified = ?3, last_success = ?4,
                 last_full = ?4, consecutive_failures = 0 WHERE id = ?1",
            )?
            .execute(params![id, v.etag, v.last_modified, now_text])?,
        Outcome::NotModified => conn
            .prepare_cached(
                "UPDATE sources SET last_success = ?2, consecutive_failures = 0 WHERE id = ?1",
            )?
            .execute(params![id, now_text])?,
        Outcome::Failed(reason) => conn
            .prepare_cached(
                "UPDATE sources SET last_error = ?2,
                 consecutive_failures = consecutive_failures + 1 WHERE id = ?1",
            )?
            .execute(params![id, failure_note(now, &reason.to_string())])?,
    };
    Ok(())
}
