//! Each entry's article: what deciding to read it needs, the kept pages a changed rule reads
//! again, and what a refresh learned of it. Pages are kept zlib-compressed, as the SQLite
//! backend keeps them (its own helpers): a state copied between them keeps its bytes.

use super::{Db, Fallible, number};
use crate::fetch::Validators;
use crate::model::EntryKey;
use crate::store::rules::article::ArticleState;
use crate::store::rules::{failure_note, format_time, parse_time};
use crate::store::sqlite::articles::{deflate, inflate};
use crate::store::{ArticleEvent, ArticleNote, KeptPage, Page, Reading};
use chrono::{DateTime, FixedOffset};
use std::collections::HashMap;

pub(super) fn states(db: &mut Db) -> Fallible<HashMap<EntryKey, ArticleState>> {
    let time = |t: Option<&str>| t.map(parse_time);
    db.query(
        "SELECT key, link, listing_date, etag, last_modified, checked,
                key IN (SELECT key FROM article_pages), rule, excerpt IS NOT NULL, failures,
                last_attempt
         FROM articles",
        &[],
    )?
    .iter()
    .map(|r| {
        Ok((
            EntryKey(r.try_get(0)?),
            ArticleState {
                link: r.try_get(1)?,
                listing_date: r.try_get(2)?,
                validators: Validators {
                    etag: r.try_get(3)?,
                    last_modified: r.try_get(4)?,
                },
                checked: time(r.try_get(5)?),
                has_page: r.try_get(6)?,
                rule: r.try_get(7)?,
                has_content: r.try_get(8)?,
                failures: number(r, 9)?,
                last_attempt: time(r.try_get(10)?),
            },
        ))
    })
    .collect()
}

pub(super) fn pages_to_reread(db: &mut Db, source: &str, rule: &str) -> Fallible<Vec<KeptPage>> {
    db.query(
        // By key, where SQLite gives its table's order: the same pages either way, in an
        // order that does not depend on how the rows were written.
        "SELECT a.key, a.link, a.listing_date, p.page, p.content_type, p.page_url
         FROM articles a JOIN article_pages p ON p.key = a.key
         WHERE a.source = $1 AND a.rule IS DISTINCT FROM $2
         ORDER BY a.key",
        &[&source, &rule],
    )?
    .iter()
    .map(|r| {
        Ok(KeptPage {
            key: EntryKey(r.try_get(0)?),
            link: r.try_get(1)?,
            listing_date: r.try_get(2)?,
            page: Page {
                body: inflate(r.try_get(3)?)?,
                content_type: r.try_get(4)?,
                url: r.try_get(5)?,
            },
        })
    })
    .collect()
}

/// Keeps what a refresh learned of an entry's article. A failure keeps the content read
/// before: the entry loses nothing it had.
pub(super) fn write(db: &mut Db, note: &ArticleNote, now: DateTime<FixedOffset>) -> Fallible<()> {
    let at = now;
    let now = format_time(now);
    db.execute(
        "INSERT INTO articles (key, source, link, listing_date, last_attempt)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (key) DO UPDATE SET source = excluded.source, link = excluded.link,
             listing_date = excluded.listing_date, last_attempt = excluded.last_attempt",
        &[
            &note.key.0,
            &note.source,
            &note.link,
            &note.listing_date,
            &now,
        ],
    )?;
    let key = note.key.0.as_str();
    match &note.event {
        ArticleEvent::Fetched {
            page,
            validators,
            read,
        } => {
            db.execute(
                "UPDATE articles SET etag = $2, last_modified = $3, checked = $4 WHERE key = $1",
                &[&key, &validators.etag, &validators.last_modified, &now],
            )?;
            db.execute(
                "INSERT INTO article_pages (key, page, content_type, page_url)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key) DO UPDATE SET page = excluded.page,
                     content_type = excluded.content_type, page_url = excluded.page_url",
                &[&key, &deflate(&page.body), &page.content_type, &page.url],
            )?;
            reading(db, key, read, at)
        }
        ArticleEvent::NotModified => {
            db.execute(
                "UPDATE articles SET checked = $2, failures = 0, last_error = NULL WHERE key = $1",
                &[&key, &now],
            )?;
            Ok(())
        }
        ArticleEvent::Reread(read) => reading(db, key, read, at),
        ArticleEvent::Failed(reason) => failed(db, key, reason, at),
    }
}

fn reading(db: &mut Db, key: &str, read: &Reading, now: DateTime<FixedOffset>) -> Fallible<()> {
    match &read.article {
        Ok(a) => {
            db.execute(
                "UPDATE articles SET rule = $2, content = $3, excerpt = $4, published = $5,
                 updated = $6, failures = 0, last_error = NULL WHERE key = $1",
                &[
                    &key,
                    &read.rule,
                    &a.content,
                    &a.excerpt,
                    &a.dates.published.map(format_time),
                    &a.dates.updated.map(format_time),
                ],
            )?;
            Ok(())
        }
        Err(reason) => {
            db.execute(
                "UPDATE articles SET rule = $2 WHERE key = $1",
                &[&key, &read.rule],
            )?;
            failed(db, key, reason, now)
        }
    }
}

fn failed(db: &mut Db, key: &str, reason: &str, now: DateTime<FixedOffset>) -> Fallible<()> {
    db.execute(
        "UPDATE articles SET failures = failures + 1, last_error = $2 WHERE key = $1",
        &[&key, &failure_note(now, reason)],
    )?;
    Ok(())
}
