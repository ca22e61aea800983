//! Reading entries back: a feed's newest entries by index, every entry, an entry's rows.

use crate::model::{EntryKey, Origin, StoredEntry};
use crate::store::FeedRows;
use crate::store::rules::{parse_time, topic_ids};
use rusqlite::Connection;

pub(super) fn feed(
    conn: &Connection,
    topic: Option<&str>,
    limit: usize,
) -> rusqlite::Result<FeedRows> {
    // The newest keys are picked first and only then their rows read: sorting carries the
    // key and the order columns, not every member's summary and topics.
    let columns = format!("{STORED_ENTRY_COLUMNS}, e.topics");
    const ORDER: &str = "ORDER BY e.updated_ts DESC, e.published DESC, e.id";
    // The same order, led by the topic's own copy of `updated_ts`, which its key has.
    const TOPIC_ORDER: &str = "ORDER BY t.updated_ts DESC, e.published DESC, e.id";
    fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(StoredEntry, Vec<String>)> {
        let topics: String = r.get(10)?;
        Ok((stored_entry(r)?, topic_ids(&topics)))
    }
    // Written into the statement, not bound: SQLite plans with a bound LIMIT's value, so a
    // cached statement given it again is prepared anew at every step (a parse per topic).
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let (entries, total) = match topic {
        Some(t) => (
            conn.prepare_cached(&format!(
                "SELECT {columns} FROM entries e LEFT JOIN articles a ON a.key = e.key
                 WHERE e.key IN (
                     SELECT e.key FROM entry_topics t JOIN entries e ON e.key = t.key
                     WHERE t.topic = ?1 {TOPIC_ORDER} LIMIT {limit})
                 {ORDER}"
            ))?
            .query_map([t], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
            conn.prepare_cached("SELECT count(*) FROM entry_topics WHERE topic = ?1")?
                .query_row([t], |r| r.get::<_, i64>(0))?,
        ),
        None => (
            conn.prepare_cached(&format!(
                "SELECT {columns} FROM entries e LEFT JOIN articles a ON a.key = e.key
                 WHERE e.key IN (SELECT e.key FROM entries e {ORDER} LIMIT {limit})
                 {ORDER}"
            ))?
            .query_map([], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
            conn.query_row("SELECT count(*) FROM entries", [], |r| r.get::<_, i64>(0))?,
        ),
    };
    Ok(FeedRows {
        entries,
        total: usize::try_from(total).unwrap_or(0),
    })
}

pub(super) fn entries(conn: &Connection) -> rusqlite::Result<Vec<StoredEntry>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {STORED_ENTRY_COLUMNS} FROM entries e LEFT JOIN articles a ON a.key = e.key
         ORDER BY e.updated_ts DESC, e.published DESC, e.id"
    ))?;
    stmt.query_map([], stored_entry)?.collect()
}

pub(super) fn origins(conn: &Connection, key: &EntryKey) -> rusqlite::Result<Vec<Origin>> {
    let mut stmt = conn.prepare_cached(
        "SELECT source, position FROM entry_sources WHERE key = ?1 ORDER BY source, position",
    )?;
    stmt.query_map([&key.0], |r| {
        Ok(Origin {
            source: r.get(0)?,
            position: r.get::<_, i64>(1)? as usize,
        })
    })?
    .collect()
}

/// The columns [`stored_entry`] reads, of `entries e` left-joined with `articles a`; the
/// PostgreSQL backend reads the same.
pub(in crate::store) const STORED_ENTRY_COLUMNS: &str = "e.id, e.key, e.title, e.link, e.summary, \
     e.published, e.updated, (SELECT min(s.source) FROM entry_sources s WHERE s.key = e.key), \
     a.content, a.excerpt";

/// A [`StoredEntry`] from the columns id, key, title, link, summary, published, updated, the
/// entry's first source, and its article's content and excerpt.
pub(super) fn stored_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEntry> {
    Ok(StoredEntry {
        id: r.get(0)?,
        key: EntryKey(r.get(1)?),
        title: r.get(2)?,
        link: r.get(3)?,
        summary: r.get(4)?,
        published: parse_time(&r.get::<_, String>(5)?),
        updated: parse_time(&r.get::<_, String>(6)?),
        source: r.get(7)?,
        content: r.get(8)?,
        excerpt: r.get(9)?,
    })
}
