//! The outbox's rows: queued in a refresh's transaction, marked and settled one statement at a
//! time as deliveries go.

use super::feeds::{STORED_ENTRY_COLUMNS, stored_entry};
use crate::model::EntryKey;
use crate::store::rules::outbox::Next;
use crate::store::rules::{format_time, parse_time, topic_ids};
use crate::store::{Event, Queued};
use chrono::{DateTime, FixedOffset};
use rusqlite::{Connection, OptionalExtension, params};

pub(super) fn read_before(conn: &Connection, source: &str) -> rusqlite::Result<bool> {
    let success: Option<Option<String>> = conn
        .prepare_cached("SELECT last_success FROM sources WHERE id = ?1")?
        .query_row([source], |r| r.get(0))
        .optional()?;
    Ok(success.flatten().is_some())
}

pub(super) fn enqueue(
    conn: &Connection,
    notify: &str,
    key: &EntryKey,
    event: Event,
    now: DateTime<FixedOffset>,
) -> rusqlite::Result<()> {
    // A message already queued stays as it is; one that a killed run was sending (its fate
    // unknown, about to be dropped) gives way to this one, which would otherwise be lost.
    conn.prepare_cached(
        "INSERT INTO outbox (notify, key, event, queued) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (notify, key) DO UPDATE SET event = excluded.event,
             queued = excluded.queued, failures = 0, refusals = 0, not_before = NULL,
             last_error = NULL, sending = NULL
         WHERE outbox.sending IS NOT NULL",
    )?
    .execute(params![notify, key.0, event.as_str(), format_time(now)])
    .map(drop)
}

pub(super) fn unsubscribe(conn: &Connection, keep: &[&str]) -> rusqlite::Result<()> {
    let notifies: Vec<String> = conn
        .prepare_cached("SELECT DISTINCT notify FROM outbox")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for n in notifies.iter().filter(|n| !keep.contains(&n.as_str())) {
        conn.execute("DELETE FROM outbox WHERE notify = ?1", [n])?;
    }
    Ok(())
}

pub(super) fn queued(conn: &Connection) -> rusqlite::Result<Vec<Queued>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {STORED_ENTRY_COLUMNS}, e.topics, o.notify, o.event, o.queued, o.failures,
             o.refusals, o.not_before, o.last_error, o.sending
         FROM outbox o JOIN entries e ON e.key = o.key LEFT JOIN articles a ON a.key = e.key
         ORDER BY o.notify, o.queued, e.published, e.key"
    ))?;
    stmt.query_map([], |r| {
        Ok(Queued {
            entry: stored_entry(r)?,
            topics: topic_ids(&r.get::<_, String>(10)?),
            notify: r.get(11)?,
            event: Event::parse(&r.get::<_, String>(12)?),
            queued: parse_time(&r.get::<_, String>(13)?),
            failures: r.get(14)?,
            refusals: r.get(15)?,
            not_before: r.get::<_, Option<String>>(16)?.map(|t| parse_time(&t)),
            last_error: r.get(17)?,
            sending: r.get::<_, Option<String>>(18)?.is_some(),
        })
    })?
    .collect()
}

pub(super) fn sending(
    conn: &mut Connection,
    notify: &str,
    keys: &[&EntryKey],
    now: DateTime<FixedOffset>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt =
            tx.prepare_cached("UPDATE outbox SET sending = ?3 WHERE notify = ?1 AND key = ?2")?;
        for key in keys {
            stmt.execute(params![notify, key.0, format_time(now)])?;
        }
    }
    tx.commit()
}

pub(super) fn settle(
    conn: &Connection,
    notify: &str,
    key: &EntryKey,
    next: &Next,
) -> rusqlite::Result<()> {
    match next {
        Next::Delivered | Next::Dropped => conn
            .prepare_cached("DELETE FROM outbox WHERE notify = ?1 AND key = ?2")?
            .execute(params![notify, key.0]),
        Next::Retry {
            failures,
            refusals,
            not_before,
            error,
        } => conn
            .prepare_cached(
                "UPDATE outbox SET failures = ?3, refusals = ?4, not_before = ?5,
                     last_error = ?6, sending = NULL
                 WHERE notify = ?1 AND key = ?2",
            )?
            .execute(params![
                notify,
                key.0,
                failures,
                refusals,
                format_time(*not_before),
                error
            ]),
    }
    .map(drop)
}
