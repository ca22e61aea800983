//! A refresh's writes: entries, their topics and their rows, in one transaction; and
//! classifying every stored entry again when the topic rules change.

use super::batch::{self, NewEntries};
use super::{Db, Fallible, archives, articles, failure, outbox, sources};
use crate::model::{Entry, EntryKey};
use crate::source::SourceReport;
use crate::store::rules::{First, Known, Revision, format_time, topics_column};
use crate::store::{ArticleNote, Event, Result, TopicsOf, Transaction};
use chrono::{DateTime, FixedOffset};
use std::collections::HashMap;

/// The transaction of one refresh, begun by [`super::Postgres`]'s `begin`. Its statements are
/// the connection's, prepared once and reused. Dropped uncommitted, it rolls back.
pub(super) struct Refresh<'a> {
    db: &'a mut Db,
    state: &'a str,
    /// Begun and neither committed nor rolled back.
    open: bool,
    /// New entries held for writing together; written before any other statement.
    new: NewEntries,
}

impl<'a> Refresh<'a> {
    /// The refresh on `db`, where `BEGIN` has just run.
    pub(super) fn new(db: &'a mut Db, state: &'a str) -> Refresh<'a> {
        Refresh {
            db,
            state,
            open: true,
            new: NewEntries::default(),
        }
    }

    /// Runs `f` on the connection, where the driver may block, after the new entries held.
    fn run<T>(&mut self, f: impl FnOnce(&mut Db) -> Fallible<T>) -> Result<T> {
        let (db, new) = (&mut *self.db, &mut self.new);
        crate::runtime::blocking(|| {
            new.write(db)?;
            f(db)
        })
        .map_err(|e| failure(self.state, e))
    }
}

impl Drop for Refresh<'_> {
    fn drop(&mut self) {
        if self.open {
            let db = &mut *self.db;
            // A rollback that fails leaves the server to roll back when the session ends.
            crate::runtime::blocking(|| drop(db.batch("ROLLBACK")));
        }
    }
}

fn add_topics(db: &mut Db, key: &EntryKey, topics: &[String], updated: i64) -> Fallible<()> {
    for t in topics {
        db.execute(
            "INSERT INTO entry_topics (topic, updated_ts, key) VALUES ($1, $2, $3)",
            &[t, &updated, &key.0],
        )?;
    }
    Ok(())
}

/// Counts a change of what a feed shows of an entry, outside its own row.
fn revise(db: &mut Db, key: &EntryKey) -> Fallible<()> {
    db.execute("UPDATE entries SET rev = rev + 1 WHERE key = $1", &[&key.0])?;
    Ok(())
}

fn add_row(db: &mut Db, key: &EntryKey, source: &str, position: usize) -> Fallible<()> {
    db.execute(
        "INSERT INTO entry_sources (key, source, position) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
        &[&key.0, &source, &(position as i64)],
    )?;
    Ok(())
}

impl Transaction for Refresh<'_> {
    fn read_before(&mut self, source: &str) -> Result<bool> {
        self.run(|db| outbox::read_before(db, source))
    }

    fn enqueue(
        &mut self,
        notify: &str,
        key: &EntryKey,
        event: Event,
        now: DateTime<FixedOffset>,
    ) -> Result<()> {
        self.run(|db| outbox::enqueue(db, notify, key, event, now))
    }

    fn unsubscribe(&mut self, keep: &[&str]) -> Result<()> {
        self.run(|db| outbox::unsubscribe(db, keep))
    }

    fn touch(&mut self) -> Result<()> {
        self.run(archives::touch)
    }

    fn record_source(&mut self, report: &SourceReport, now: DateTime<FixedOffset>) -> Result<()> {
        self.run(|db| sources::record(db, report, now))
    }

    fn known(&mut self, key: &EntryKey) -> Result<Option<Known>> {
        self.run(|db| Ok(batch::known(db, &[key])?.remove(key)))
    }

    fn known_all(&mut self, keys: &[&EntryKey]) -> Result<HashMap<EntryKey, Known>> {
        self.run(|db| batch::known(db, keys))
    }

    fn holds_entries(&mut self) -> Result<bool> {
        self.run(|db| {
            let row = db.query_opt("SELECT EXISTS (SELECT 1 FROM entries)", &[])?;
            Ok(row.map(|r| r.try_get(0)).transpose()?.unwrap_or(false))
        })
    }

    fn insert(
        &mut self,
        e: &Entry,
        first: &First,
        topics: &[String],
        now: DateTime<FixedOffset>,
    ) -> Result<()> {
        self.new.push(e, first, topics, now);
        if self.new.len() >= batch::AT_ONCE {
            self.run(|_| Ok(()))?;
        }
        Ok(())
    }

    fn update(&mut self, e: &Entry, r: &Revision, now: DateTime<FixedOffset>) -> Result<()> {
        self.run(|db| {
            db.execute(
                "UPDATE entries SET title = $2, link = $3, summary = $4, source_date = $5,
                 published = $6, updated = $7, updated_ts = $8, last_seen = $9, topics = $10,
                 rev = rev + 1
                 WHERE key = $1",
                &[
                    &e.key.0,
                    &e.title,
                    &e.link,
                    &e.summary,
                    &r.source_date,
                    &format_time(r.published),
                    &format_time(r.updated),
                    &r.updated.timestamp(),
                    &format_time(now),
                    &topics_column(&r.topics),
                ],
            )?;
            Ok(())
        })
    }

    fn seen(&mut self, key: &EntryKey, now: DateTime<FixedOffset>) -> Result<()> {
        self.run(|db| {
            db.execute(
                "UPDATE entries SET last_seen = $2 WHERE key = $1",
                &[&key.0, &format_time(now)],
            )?;
            Ok(())
        })
    }

    fn redate(&mut self, key: &EntryKey, r: &Revision) -> Result<()> {
        self.run(|db| {
            db.execute(
                "UPDATE entries SET published = $2, updated = $3, updated_ts = $4, rev = rev + 1
                 WHERE key = $1",
                &[
                    &key.0,
                    &format_time(r.published),
                    &format_time(r.updated),
                    &r.updated.timestamp(),
                ],
            )?;
            Ok(())
        })
    }

    fn article(&mut self, note: &ArticleNote, now: DateTime<FixedOffset>) -> Result<()> {
        self.run(|db| {
            articles::write(db, note, now)?;
            if note.read().is_some() {
                revise(db, &note.key)?;
            }
            Ok(())
        })
    }

    fn move_topics(&mut self, key: &EntryKey, was: &Known, r: &Revision) -> Result<()> {
        self.run(|db| {
            for t in &was.topics {
                db.execute(
                    "DELETE FROM entry_topics WHERE topic = $1 AND updated_ts = $2 AND key = $3",
                    &[t, &was.updated.timestamp(), &key.0],
                )?;
            }
            add_topics(db, key, &r.topics, r.updated.timestamp())
        })
    }

    fn rows_all(&mut self, keys: &[&EntryKey]) -> Result<HashMap<EntryKey, Vec<(String, usize)>>> {
        self.run(|db| batch::rows(db, keys))
    }

    fn set_rows(&mut self, key: &EntryKey, source: &str, positions: &[usize]) -> Result<()> {
        self.run(|db| {
            db.execute(
                "DELETE FROM entry_sources WHERE key = $1 AND source = $2",
                &[&key.0, &source],
            )?;
            for &p in positions {
                add_row(db, key, source, p)?;
            }
            // The first source names an entry without a summary.
            revise(db, key)
        })
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.run(|db| db.batch("COMMIT"))?;
        self.open = false;
        Ok(())
    }
}

/// How many entries [`retopic`] reads at a time: the whole store need not fit in memory.
const RETOPIC_BATCH: i64 = 1000;

pub(super) fn retopic(db: &mut Db, rules: &str, topics_of: TopicsOf<'_>) -> Fallible<()> {
    db.transaction(|db| {
        db.execute("DELETE FROM entry_topics", &[])?;
        // By key, a batch at a time; each batch's memberships and moved topics written in one
        // statement each.
        let mut after: Option<String> = None;
        loop {
            let rows = match &after {
                None => db.query(
                    "SELECT key, title, summary, updated_ts, topics FROM entries
                     ORDER BY key LIMIT $1",
                    &[&RETOPIC_BATCH],
                )?,
                Some(after) => db.query(
                    "SELECT key, title, summary, updated_ts, topics FROM entries
                     WHERE key > $1 ORDER BY key LIMIT $2",
                    &[after, &RETOPIC_BATCH],
                )?,
            };
            let Some(last) = rows.last() else { break };
            after = Some(last.try_get(0)?);
            let (mut topic, mut updated_ts, mut member) = (Vec::new(), Vec::new(), Vec::new());
            let (mut moved, mut moved_to) = (Vec::new(), Vec::new());
            for r in &rows {
                let key: &str = r.try_get(0)?;
                let topics = topics_of(r.try_get(1)?, r.try_get(2)?);
                let updated: i64 = r.try_get(3)?;
                for t in &topics {
                    topic.push(t.clone());
                    updated_ts.push(updated);
                    member.push(key);
                }
                let joined = topics_column(&topics);
                if joined != r.try_get::<_, &str>(4)? {
                    moved.push(key);
                    moved_to.push(joined);
                }
            }
            db.execute(
                "INSERT INTO entry_topics (topic, updated_ts, key)
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])",
                &[&topic, &updated_ts, &member],
            )?;
            db.execute(
                "UPDATE entries e SET topics = m.topics, rev = e.rev + 1
                 FROM unnest($1::text[], $2::text[]) AS m (key, topics) WHERE e.key = m.key",
                &[&moved, &moved_to],
            )?;
        }
        archives::set_note(db, "topic_rules", rules)?;
        archives::touch(db)
    })
}
