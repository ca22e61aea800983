//! Each source's fetch state: validators for conditional requests, and how its reads went.

use super::{Db, Fallible, number};
use crate::fetch::Validators;
use crate::source::{Outcome, SourceReport};
use crate::store::SourceHealth;
use crate::store::rules::{failure_note, format_time, parse_time};
use chrono::{DateTime, FixedOffset};

pub(super) fn fetch_state(
    db: &mut Db,
    source: &str,
) -> Fallible<Option<(Validators, Option<DateTime<FixedOffset>>)>> {
    let Some(r) = db.query_opt(
        "SELECT etag, last_modified, last_full FROM sources WHERE id = $1",
        &[&source],
    )?
    else {
        return Ok(None);
    };
    let validators = Validators {
        etag: r.try_get(0)?,
        last_modified: r.try_get(1)?,
    };
    let full: Option<&str> = r.try_get(2)?;
    Ok(Some((validators, full.map(parse_time))))
}

pub(super) fn health(db: &mut Db) -> Fallible<Vec<SourceHealth>> {
    let time = |t: Option<&str>| t.map(parse_time);
    db.query(
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
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(SourceHealth {
            id: r.try_get(0)?,
            url: r.try_get(1)?,
            last_attempt: time(r.try_get(2)?),
            last_success: time(r.try_get(3)?),
            last_error: r.try_get(4)?,
            consecutive_failures: number(r, 5)?,
            entries: number(r, 6)?,
            article_failures: number(r, 7)?,
        })
    })
    .collect()
}

/// Records how a source's read went at `now`.
pub(super) fn record(
    db: &mut Db,
    report: &SourceReport,
    now: DateTime<FixedOffset>,
) -> Fallible<()> {
    let id = &report.id;
    let now_text = format_time(now);
    db.execute(
        "INSERT INTO sources (id, url, last_attempt) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET url = excluded.url, last_attempt = excluded.last_attempt",
        &[id, &report.url, &now_text],
    )?;
    match &report.outcome {
        Outcome::Fetched { validators: v, .. } => db.execute(
            "UPDATE sources SET etag = $2, last_modified = $3, last_success = $4,
             last_full = $4, consecutive_failures = 0 WHERE id = $1",
            &[id, &v.etag, &v.last_modified, &now_text],
        )?,
        Outcome::NotModified => db.execute(
            "UPDATE sources SET last_success = $2, consecutive_failures = 0 WHERE id = $1",
            &[id, &now_text],
        )?,
        Outcome::Failed(reason) => db.execute(
            "UPDATE sources SET last_error = $2,
             consecutive_failures = consecutive_failures + 1 WHERE id = $1",
            &[id, &failure_note(now, &reason.to_string())],
        )?,
    };
    Ok(())
}
