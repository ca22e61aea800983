//! What the published files need of the state: every member of a feed by its `updated`, the
//! entries of one month, the fingerprints of the archive documents as last written, the hashes
//! of the objects published to a bucket; and the notes in `meta` they are stamped with.

use super::feeds::{STORED_ENTRY_COLUMNS, stored_entry};
use super::{Db, Fallible};
use crate::model::{EntryKey, StoredEntry};
use crate::store::Written;
use crate::store::rules::topic_ids;
use std::collections::{BTreeMap, HashMap};

/// Every entry of a feed as (`updated_ts`, key, revision), in the order SQLite's index gives
/// them: `updated` newest first, then key.
pub(super) fn members(db: &mut Db, topic: Option<&str>) -> Fallible<Vec<(i64, EntryKey, i64)>> {
    let rows = match topic {
        Some(t) => db.query(
            "SELECT t.updated_ts, t.key, e.rev FROM entry_topics t
             JOIN entries e ON e.key = t.key WHERE t.topic = $1
             ORDER BY t.updated_ts DESC, t.key",
            &[&t],
        )?,
        // From the index alone.
        None => db.query(
            "SELECT updated_ts, key, rev FROM entries ORDER BY updated_ts DESC, key",
            &[],
        )?,
    };
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, EntryKey(r.try_get(1)?), r.try_get(2)?)))
        .collect()
}

/// The entries of a feed with `from <= updated_ts < to`, each with its topic ids, in the order
/// of the feeds.
pub(super) fn between(
    db: &mut Db,
    topic: Option<&str>,
    from: i64,
    to: i64,
) -> Fallible<Vec<(StoredEntry, Vec<String>)>> {
    const ORDER: &str = "ORDER BY e.updated_ts DESC, e.published DESC, e.id";
    let rows = match topic {
        Some(t) => db.query(
            &format!(
                "SELECT {STORED_ENTRY_COLUMNS}, e.topics
                 FROM entry_topics t JOIN entries e ON e.key = t.key
                 LEFT JOIN articles a ON a.key = e.key
                 WHERE t.topic = $1 AND t.updated_ts >= $2 AND t.updated_ts < $3 {ORDER}"
            ),
            &[&t, &from, &to],
        )?,
        None => db.query(
            &format!(
                "SELECT {STORED_ENTRY_COLUMNS}, e.topics
                 FROM entries e LEFT JOIN articles a ON a.key = e.key
                 WHERE e.updated_ts >= $1 AND e.updated_ts < $2 {ORDER}"
            ),
            &[&from, &to],
        )?,
    };
    rows.iter()
        .map(|r| Ok((stored_entry(r)?, topic_ids(r.try_get(10)?))))
        .collect()
}

/// A note in `meta`.
pub(super) fn note(db: &mut Db, name: &str) -> Fallible<Option<String>> {
    let row = db.query_opt("SELECT value FROM meta WHERE name = $1", &[&name])?;
    Ok(match row {
        Some(r) => Some(r.try_get(0)?),
        None => None,
    })
}

/// Keeps a note in `meta`, replacing one of the same name.
pub(super) fn set_note(db: &mut Db, name: &str, value: &str) -> Fallible<()> {
    db.execute(
        "INSERT INTO meta (name, value) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        &[&name, &value],
    )?;
    Ok(())
}

pub(super) fn generation(db: &mut Db) -> Fallible<u64> {
    Ok(note(db, "generation")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// Counts a refresh that changed what the feeds show.
pub(super) fn touch(db: &mut Db) -> Fallible<()> {
    // As SQLite's CAST reads a value that is not a number: its leading digits, or 0.
    db.execute(
        "INSERT INTO meta (name, value) VALUES ('generation', '1')
         ON CONFLICT (name) DO UPDATE SET value =
             (coalesce(substring(meta.value FROM '^[0-9]+'), '0')::bigint + 1)::text",
        &[],
    )?;
    Ok(())
}

pub(super) fn fingerprints(db: &mut Db) -> Fallible<(Option<String>, Vec<Written>)> {
    let stamp = note(db, "archives")?;
    let written = db
        .query(
            "SELECT feed, month, fingerprint FROM archives ORDER BY feed, month",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect::<Fallible<_>>()?;
    Ok((stamp, written))
}

pub(super) fn record(
    db: &mut Db,
    stamp: &str,
    written: &[Written],
    removed: &[(String, String)],
) -> Fallible<()> {
    db.transaction(|db| {
        for (feed, month, fingerprint) in written {
            db.execute(
                "INSERT INTO archives (feed, month, fingerprint) VALUES ($1, $2, $3)
                 ON CONFLICT (feed, month) DO UPDATE SET fingerprint = excluded.fingerprint",
                &[feed, month, fingerprint],
            )?;
        }
        for (feed, month) in removed {
            db.execute(
                "DELETE FROM archives WHERE feed = $1 AND month = $2",
                &[feed, month],
            )?;
        }
        set_note(db, "archives", stamp)
    })
}

/// The content hash of every object published to `place`, by key.
pub(super) fn objects(db: &mut Db, place: &str) -> Fallible<HashMap<String, String>> {
    db.query(
        "SELECT key, sha256 FROM objects WHERE place = $1",
        &[&place],
    )?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}

/// Keeps the hashes of objects put to `place` and forgets those deleted, in one transaction of
/// two statements however many objects there are.
pub(super) fn record_objects(
    db: &mut Db,
    place: &str,
    put: &[(String, String)],
    deleted: &[String],
) -> Fallible<()> {
    // One row per key (the last hash of a key given twice), as one upsert needs.
    let put: BTreeMap<&str, &str> = put.iter().map(|(k, h)| (k.as_str(), h.as_str())).collect();
    let (keys, hashes): (Vec<&str>, Vec<&str>) = put.into_iter().unzip();
    db.transaction(|db| {
        db.execute(
            "INSERT INTO objects (place, key, sha256)
             SELECT $1, k, h FROM unnest($2::text[], $3::text[]) AS p (k, h)
             ON CONFLICT (place, key) DO UPDATE SET sha256 = excluded.sha256",
            &[&place, &keys, &hashes],
        )?;
        db.execute(
            "DELETE FROM objects WHERE place = $1 AND key = ANY ($2)",
            &[&place, &deleted],
        )?;
        Ok(())
    })
}
