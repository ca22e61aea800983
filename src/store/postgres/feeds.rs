//! Reading entries back: a feed's newest entries by index, every entry, an entry's rows.

use super::{Db, Fallible};
use crate::model::{EntryKey, Origin, StoredEntry};
use crate::store::FeedRows;
use crate::store::rules::{parse_time, topic_ids};
pub(super) use crate::store::sqlite::feeds::STORED_ENTRY_COLUMNS;
use postgres::Row;

/// The order of the feeds: `updated`, then `published`, both newest first, then id.
const ORDER: &str = "ORDER BY e.updated_ts DESC, e.published DESC, e.id";

pub(super) fn feed(db: &mut Db, topic: Option<&str>, limit: usize) -> Fallible<FeedRows> {
    // The newest keys are picked first and only then their rows read: sorting carries the
    // key and the order columns, not every member's summary and topics.
    let columns = format!("{STORED_ENTRY_COLUMNS}, e.topics");
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let (rows, total) = match topic {
        Some(t) => {
            // The same order, led by the topic's own copy of `updated_ts`, which its key has.
            let rows = db.query(
                &format!(
                    "SELECT {columns} FROM entries e LEFT JOIN articles a ON a.key = e.key
                     WHERE e.key IN (
                         SELECT e.key FROM entry_topics t JOIN entries e ON e.key = t.key
                         WHERE t.topic = $1
                         ORDER BY t.updated_ts DESC, e.published DESC, e.id LIMIT $2)
                     {ORDER}"
                ),
                &[&t, &limit],
            )?;
            let total =
                db.query_opt("SELECT count(*) FROM entry_topics WHERE topic = $1", &[&t])?;
            (rows, total)
        }
        None => {
            let rows = db.query(
                &format!(
                    "SELECT {columns} FROM entries e LEFT JOIN articles a ON a.key = e.key
                     WHERE e.key IN (SELECT e.key FROM entries e {ORDER} LIMIT $1)
                     {ORDER}"
                ),
                &[&limit],
            )?;
            (rows, db.query_opt("SELECT count(*) FROM entries", &[])?)
        }
    };
    let total: i64 = match total {
        Some(r) => r.try_get(0)?,
        None => 0,
    };
    Ok(FeedRows {
        entries: rows
            .iter()
            .map(|r| Ok((stored_entry(r)?, topic_ids(r.try_get(10)?))))
            .collect::<Fallible<_>>()?,
        total: usize::try_from(total).unwrap_or(0),
    })
}

pub(super) fn entries(db: &mut Db) -> Fallible<Vec<StoredEntry>> {
    db.query(
        &format!(
            "SELECT {STORED_ENTRY_COLUMNS} FROM entries e LEFT JOIN articles a ON a.key = e.key
             {ORDER}"
        ),
        &[],
    )?
    .iter()
    .map(stored_entry)
    .collect()
}

pub(super) fn origins(db: &mut Db, key: &EntryKey) -> Fallible<Vec<Origin>> {
    db.query(
        "SELECT source, position FROM entry_sources WHERE key = $1 ORDER BY source, position",
        &[&key.0],
    )?
    .iter()
    .map(|r| {
        Ok(Origin {
            source: r.try_get(0)?,
            position: r.try_get::<_, i64>(1)? as usize,
        })
    })
    .collect()
}

/// A [`StoredEntry`] from the columns of [`STORED_ENTRY_COLUMNS`], in their order.
pub(super) fn stored_entry(r: &Row) -> Fallible<StoredEntry> {
    Ok(StoredEntry {
        id: r.try_get(0)?,
        key: EntryKey(r.try_get(1)?),
        title: r.try_get(2)?,
        link: r.try_get(3)?,
        summary: r.try_get(4)?,
        published: parse_time(r.try_get(5)?),
        updated: parse_time(r.try_get(6)?),
        source: r.try_get(7)?,
        content: r.try_get(8)?,
        excerpt: r.try_get(9)?,
    })
}
