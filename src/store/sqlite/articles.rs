//! Each entry's article: what deciding to read it needs, the kept pages a changed rule reads
//! again, and what a refresh learned of it. Pages are kept zlib-compressed (flate2, already
//! the server's gzip): IPA's pages shrink to a fifth.

use crate::fetch::Validators;
use crate::model::EntryKey;
use crate::store::rules::article::ArticleState;
use crate::store::rules::{failure_note, format_time, parse_time};
use crate::store::{ArticleEvent, ArticleNote, KeptPage, Page, Reading};
use chrono::{DateTime, FixedOffset};
use flate2::Compression;
use rusqlite::{Connection, params};
use std::collections::HashMap;
use std::io::{Read, Write};

pub(super) fn states(conn: &Connection) -> rusqlite::Result<HashMap<EntryKey, ArticleState>> {
    let mut stmt = conn.prepare(
        "SELECT key, link, listing_date, etag, last_modified, checked,
                key IN (SELECT key FROM article_pages), rule, excerpt IS NOT NULL, failures,
                last_attempt
         FROM articles",
    )?;
    let time = |t: Option<String>| t.map(|t| parse_time(&t));
    stmt.query_map([], |r| {
        Ok((
            EntryKey(r.get(0)?),
            ArticleState {
                link: r.get(1)?,
                listing_date: r.get(2)?,
                validators: Validators {
                    etag: r.get(3)?,
                    last_modified: r.get(4)?,
                },
                checked: time(r.get(5)?),
                has_page: r.get(6)?,
                rule: r.get(7)?,
                has_content: r.get(8)?,
                failures: r.get(9)?,
                last_attempt: time(r.get(10)?),
            },
        ))
    })?
    .collect()
}

pub(super) fn pages_to_reread(
    conn: &Connection,
    source: &str,
    rule: &str,
) -> rusqlite::Result<Vec<KeptPage>> {
    let mut stmt = conn.prepare(
        "SELECT a.key, a.link, a.listing_date, p.page, p.content_type, p.page_url
         FROM articles a JOIN article_pages p ON p.key = a.key
         WHERE a.source = ?1 AND a.rule IS NOT ?2",
    )?;
    let rows = stmt.query_map(params![source, rule], |r| {
        let compressed: Vec<u8> = r.get(3)?;
        Ok(KeptPage {
            key: EntryKey(r.get(0)?),
            link: r.get(1)?,
            listing_date: r.get(2)?,
            page: Page {
                body: inflate(&compressed).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        3,
                        rusqlite::types::Type::Blob,
                        e.into(),
                    )
                })?,
                content_type: r.get(4)?,
                url: r.get(5)?,
            },
        })
    })?;
    rows.collect()
}

/// Keeps what a refresh learned of an entry's article. A failure keeps the content read
/// before: the entry loses nothing it had.
pub(super) fn write(
    conn: &Connection,
    note: &ArticleNote,
    now: DateTime<FixedOffset>,
) -> rusqlite::Result<()> {
    let at = now;
    let now = format_time(now);
    conn.prepare_cached(
        "INSERT INTO articles (key, source, link, listing_date, last_attempt)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (key) DO UPDATE SET source = ?2, link = ?3, listing_date = ?4,
             last_attempt = ?5",
    )?
    .execute(params![
        note.key.0,
        note.source,
        note.link,
        note.listing_date,
        now
    ])?;
    let key = &note.key.0;
    match &note.event {
        ArticleEvent::Fetched {
            page,
            validators,
            read,
        } => {
            conn.prepare_cached(
                "UPDATE articles SET etag = ?2, last_modified = ?3, checked = ?4 WHERE key = ?1",
            )?
            .execute(params![key, validators.etag, validators.last_modified, now])?;
            conn.prepare_cached(
                "INSERT OR REPLACE INTO article_pages (key, page, content_type, page_url)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                key,
                deflate(&page.body),
                page.content_type,
                page.url
            ])?;
            reading(conn, key, read, at)
        }
        ArticleEvent::NotModified => conn
            .prepare_cached(
                "UPDATE articles SET checked = ?2, failures = 0, last_error = NULL WHERE key = ?1",
            )?
            .execute(params![key, now])
            .map(drop),
        ArticleEvent::Reread(read) => reading(conn, key, read, at),
        ArticleEvent::Failed(reason) => failed(conn, key, reason, at),
    }
}

fn reading(
    conn: &Connection,
    key: &str,
    read: &Reading,
    now: DateTime<FixedOffset>,
) -> rusqlite::Result<()> {
    match &read.article {
        Ok(a) => conn
            .prepare_cached(
                "UPDATE articles SET rule = ?2, content = ?3, excerpt = ?4, published = ?5,
                 updated = ?6, failures = 0, last_error = NULL WHERE key = ?1",
            )?
            .execute(params![
                key,
                read.rule,
                a.content,
                a.excerpt,
                a.dates.published.map(format_time),
                a.dates.updated.map(format_time)
            ])
            .map(drop),
        Err(reason) => {
            conn.prepare_cached("UPDATE articles SET rule = ?2 WHERE key = ?1")?
                .execute(params![key, read.rule])?;
            failed(conn, key, reason, now)
        }
    }
}

fn failed(
    conn: &Connection,
    key: &str,
    reason: &str,
    now: DateTime<FixedOffset>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE articles SET failures = failures + 1, last_error = ?2 WHERE key = ?1",
    )?
    .execute(params![key, failure_note(now, reason)])
    .map(drop)
}

/// A page as kept: zlib-compressed, the same bytes in either backend.
pub(in crate::store) fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), Compression::default());
    z.write_all(bytes).expect("writing to memory cannot fail");
    z.finish().expect("writing to memory cannot fail")
}

/// A kept page as it came.
pub(in crate::store) fn inflate(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}
