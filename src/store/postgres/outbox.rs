//! The outbox's rows: queued in a refresh's transaction, marked and settled one statement at a
//! time as deliveries go.

use super::feeds::{STORED_ENTRY_COLUMNS, stored_entry};
use super::{Db, Fallible, number};
use crate::model::EntryKey;
use crate::store::rules::outbox::Next;
use crate::store::rules::{format_time, parse_time, topic_ids};
use crate::store::{Event, Queued};
use chrono::{DateTime, FixedOffset};

pub(super) fn read_before(db: &mut Db, source: &str) -> Fallible<bool> {
    let row = db.query_opt("SELECT last_success FROM sources WHERE id = $1", &[&source])?;
    Ok(match row {
        Some(r) => r.try_get::<_, Option<&str>>(0)?.is_some(),
        None => false,
    })
}

pub(super) fn enqueue(
    db: &mut Db,
    notify: &str,
    key: &EntryKey,
    event: Event,
    now: DateTime<FixedOffset>,
) -> Fallible<()> {
    // A message already queued stays as it is; one that a killed run was sending (its fate
    // unknown, about to be dropped) gives way to this one, which would otherwise be lost.
    db.execute(
        "INSERT INTO outbox (notify, key, event, queued) VALUES ($1, $2, $3, $4)
         ON CONFLICT (notify, key) DO UPDATE SET event = excluded.event,
             queued = excluded.queued, failures = 0, refusals = 0, not_before = NULL,
             last_error = NULL, sending = NULL
         WHERE outbox.sending IS NOT NULL",
        &[&notify, &key.0, &event.as_str(), &format_time(now)],
    )?;
    Ok(())
}

/// Removes the messages of every notification but those in `keep`.
pub(super) fn unsubscribe(db: &mut Db, keep: &[&str]) -> Fallible<()> {
    db.execute("DELETE FROM outbox WHERE notify <> ALL ($1)", &[&keep])?;
    Ok(())
}

pub(super) fn queued(db: &mut Db) -> Fallible<Vec<Queued>> {
    let time = |t: Option<&str>| t.map(parse_time);
    db.query(
        &format!(
            "SELECT {STORED_ENTRY_COLUMNS}, e.topics, o.notify, o.event, o.queued, o.failures,
                 o.refusals, o.not_before, o.last_error, o.sending
             FROM outbox o JOIN entries e ON e.key = o.key LEFT JOIN articles a ON a.key = e.key
             ORDER BY o.notify, o.queued, e.published, e.key"
        ),
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(Queued {
            entry: stored_entry(r)?,
            topics: topic_ids(r.try_get(10)?),
            notify: r.try_get(11)?,
            event: Event::parse(r.try_get(12)?),
            queued: parse_time(r.try_get(13)?),
            failures: number(r, 14)?,
            refusals: number(r, 15)?,
            not_before: time(r.try_get(16)?),
            last_error: r.try_get(17)?,
            sending: r.try_get::<_, Option<&str>>(18)?.is_some(),
        })
    })
    .collect()
}

/// Marks messages as handed to their receiver, all in one statement.
pub(super) fn sending(
    db: &mut Db,
    notify: &str,
    keys: &[&EntryKey],
    now: DateTime<FixedOffset>,
) -> Fallible<()> {
    let keys: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
    db.execute(
        "UPDATE outbox SET sending = $3 WHERE notify = $1 AND key = ANY ($2)",
        &[&notify, &keys, &format_time(now)],
    )?;
    Ok(())
}

pub(super) fn settle(db: &mut Db, notify: &str, key: &EntryKey, next: &Next) -> Fallible<()> {
    match next {
        Next::Delivered | Next::Dropped => db.execute(
            "DELETE FROM outbox WHERE notify = $1 AND key = $2",
            &[&notify, &key.0],
        )?,
        Next::Retry {
            failures,
            refusals,
            not_before,
            error,
        } => db.execute(
            "UPDATE outbox SET failures = $3, refusals = $4, not_before = $5,
                 last_error = $6, sending = NULL
             WHERE notify = $1 AND key = $2",
            &[
                &notify,
                &key.0,
                &i64::from(*failures),
                &i64::from(*refusals),
                &format_time(*not_before),
                error,
            ],
        )?,
    };
    Ok(())
}
