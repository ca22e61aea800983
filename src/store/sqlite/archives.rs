//! What the archive documents need of the state: every member of a feed by its `updated`, the
//! entries of one month, and the fingerprints of the documents as last written.

use super::feeds::{STORED_ENTRY_COLUMNS, stored_entry};
use crate::model::{EntryKey, StoredEntry};
use crate::store::Written;
use crate::store::rules::topic_ids;
use rusqlite::{Connection, OptionalExtension, params};

/// Every entry of a feed as (`updated_ts`, key, revision).
pub(super) fn members(
    conn: &Connection,
    topic: Option<&str>,
) -> rusqlite::Result<Vec<(i64, EntryKey, i64)>> {
    let row = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, EntryKey(r.get(1)?), r.get(2)?));
    match topic {
        Some(t) => conn
            .prepare_cached(
                "SELECT t.updated_ts, t.key, e.rev FROM entry_topics t
                 JOIN entries e ON e.key = t.key WHERE t.topic = ?1",
            )?
            .query_map([t], row)?
            .collect(),
        // From the index alone.
        None => conn
            .prepare_cached(
                "SELECT updated_ts, key, rev FROM entries INDEXED BY entries_by_updated",
            )?
            .query_map([], row)?
            .collect(),
    }
}

/// The entries of a feed with `from <= updated_ts < to`, each with its topic ids, in the order
/// of the feeds.
pub(super) fn between(
    conn: &Connection,
    topic: Option<&str>,
    from: i64,
    to: i64,
) -> rusqlite::Result<Vec<(StoredEntry, Vec<String>)>> {
    const ORDER: &str = "ORDER BY e.updated_ts DESC, e.published DESC, e.id";
    let row = |r: &rusqlite::Row<'_>| Ok((stored_entry(r)?, topic_ids(&r.get::<_, String>(10)?)));
    match topic {
        Some(t) => conn
            .prepare_cached(&format!(
                "SELECT {STORED_ENTRY_COLUMNS}, e.topics
                 FROM entry_topics t JOIN entries e ON e.key = t.key
                 LEFT JOIN articles a ON a.key = e.key
                 WHERE t.topic = ?1 AND t.updated_ts >= ?2 AND t.updated_ts < ?3 {ORDER}"
            ))?
            .query_map(params![t, from, to], row)?
            .collect(),
        None => conn
            .prepare_cached(&format!(
                "SELECT {STORED_ENTRY_COLUMNS}, e.topics
                 FROM entries e LEFT JOIN articles a ON a.key = e.key
                 WHERE e.updated_ts >= ?1 AND e.updated_ts < ?2 {ORDER}"
            ))?
            .query_map(params![from, to], row)?
            .collect(),
    }
}

pub(super) fn generation(conn: &Connection) -> rusqlite::Result<u64> {
    let value: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE name = 'generation'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Counts a refresh that changed what the feeds show.
pub(super) fn touch(conn: &Connection) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (name, value) VALUES ('generation', '1')
         ON CONFLICT (name) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
    )?
    .execute([])
    .map(drop)
}

pub(super) fn fingerprints(conn: &Connection) -> rusqlite::Result<(Option<String>, Vec<Written>)> {
    let stamp = conn
        .prepare_cached("SELECT value FROM meta WHERE name = 'archives'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    let written = conn
        .prepare_cached("SELECT feed, month, fingerprint FROM archives ORDER BY feed, month")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok((stamp, written))
}

pub(super) fn record(
    conn: &mut Connection,
    stamp: &str,
    written: &[Written],
    removed: &[(String, String)],
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut put = tx.prepare_cached(
            "INSERT OR REPLACE INTO archives (feed, month, fingerprint) VALUES (?1, ?2, ?3)",
        )?;
        for (feed, month, fingerprint) in written {
            put.execute(params![feed, month, fingerprint])?;
        }
        let mut delete =
            tx.prepare_cached("DELETE FROM archives WHERE feed = ?1 AND month = ?2")?;
        for (feed, month) in removed {
            delete.execute(params![feed, month])?;
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta (name, value) VALUES ('archives', ?1)",
            [stamp],
        )?;
    }
    tx.commit()
}
