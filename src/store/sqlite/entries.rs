//! A refresh's writes: entries, their topics and their rows, in one transaction; and
//! classifying every stored entry again when the topic rules change.

use super::{archives, articles, outbox, sources};
use crate::model::{ArticleDates, Entry, EntryKey};
use crate::source::SourceReport;
use crate::store::rules::{
    First, Known, Revision, format_time, parse_time, topic_ids, topics_column,
};
use crate::store::{ArticleNote, Event, Result, StoreError, TopicsOf, Transaction};
use chrono::{DateTime, FixedOffset};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;

/// The transaction of one refresh. Statements are prepared once per connection and reused from
/// its cache.
pub(super) struct Refresh<'a> {
    tx: rusqlite::Transaction<'a>,
    state: &'a str,
    /// Set for a first import into a new state made aside.
    import: Option<Import>,
}

/// A first import into a new state made aside ([`super::aside`]). Entries come in key order,
/// but the date index and each topic's entries are ordered by date: written as the entries
/// come, both are written at random places, and at a million entries they are several times
/// the page cache, so nearly every row reads a page and writes one back. Here the topics wait
/// in a temporary table and the date index is dropped; both are built at the commit, sorted
/// (BENCHMARKS.md section 15).
struct Import {
    /// The date index's definition, as the schema has it, to build it again.
    by_updated: String,
}

impl<'a> Refresh<'a> {
    /// Begins a refresh; `import`: the state is new, made aside, and holds no entry yet.
    pub(super) fn begin(
        tx: rusqlite::Transaction<'a>,
        state: &'a str,
        import: bool,
    ) -> Result<Refresh<'a>> {
        let mut refresh = Refresh {
            tx,
            state,
            import: None,
        };
        if import {
            let by_updated = (refresh.tx)
                .query_row(
                    "SELECT sql FROM sqlite_schema
                     WHERE type = 'index' AND name = 'entries_by_updated'",
                    [],
                    |r| r.get(0),
                )
                .map_err(refresh.fail())?;
            refresh.import = Some(Import { by_updated });
            (refresh.tx)
                .execute_batch(
                    "DROP INDEX entries_by_updated;
                     CREATE TEMP TABLE import_topics (
                         topic TEXT NOT NULL, updated_ts INTEGER NOT NULL, key TEXT NOT NULL);",
                )
                .map_err(refresh.fail())?;
        }
        Ok(refresh)
    }
}

impl Refresh<'_> {
    /// A failure named by the state, and in an import also by the temporary files it fills.
    fn fail(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |e| match self.import {
            None => super::error(&self.tx, self.state, e),
            Some(_) => {
                let what = format!(
                    "{} (its first import, sorted in temporary files under SQLITE_TMPDIR or \
                     TMPDIR)",
                    self.state
                );
                super::error(&self.tx, &what, e)
            }
        }
    }

    fn run(&self, sql: &str, params: impl rusqlite::Params) -> Result<()> {
        self.tx
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params))
            .map(drop)
            .map_err(self.fail())
    }

    fn add_topics(&self, key: &EntryKey, topics: &[String], updated: i64) -> Result<()> {
        let insert = match self.import {
            None => "INSERT INTO entry_topics (topic, updated_ts, key) VALUES (?1, ?2, ?3)",
            Some(_) => "INSERT INTO import_topics (topic, updated_ts, key) VALUES (?1, ?2, ?3)",
        };
        for t in topics {
            self.run(insert, params![t, updated, key.0])?;
        }
        Ok(())
    }

    /// Counts a change of what a feed shows of an entry, outside its own row.
    fn revise(&self, key: &EntryKey) -> Result<()> {
        self.run(
            "UPDATE entries SET rev = rev + 1 WHERE key = ?1",
            params![key.0],
        )
    }

    fn add_row(&self, key: &EntryKey, source: &str, position: usize) -> Result<()> {
        self.run(
            "INSERT OR REPLACE INTO entry_sources (key, source, position) VALUES (?1, ?2, ?3)",
            params![key.0, source, position as i64],
        )
    }
}

impl Transaction for Refresh<'_> {
    fn read_before(&mut self, source: &str) -> Result<bool> {
        outbox::read_before(&self.tx, source).map_err(self.fail())
    }

    fn enqueue(
        &mut self,
        notify: &str,
        key: &EntryKey,
        event: Event,
        now: DateTime<FixedOffset>,
    ) -> Result<()> {
        outbox::enqueue(&self.tx, notify, key, event, now).map_err(self.fail())
    }

    fn unsubscribe(&mut self, keep: &[&str]) -> Result<()> {
        outbox::unsubscribe(&self.tx, keep).map_err(self.fail())
    }

    fn touch(&mut self) -> Result<()> {
        archives::touch(&self.tx).map_err(self.fail())
    }

    fn record_source(&mut self, report: &SourceReport, now: DateTime<FixedOffset>) -> Result<()> {
        sources::record(&self.tx, report, now, &format_time(now)).map_err(self.fail())
    }

    fn known(&mut self, key: &EntryKey) -> Result<Option<Known>> {
        self.tx
            .prepare_cached(
                "SELECT e.title, e.link, e.summary, e.source_date, e.published, e.updated,
                     e.last_seen, e.topics, a.published, a.updated
                 FROM entries e LEFT JOIN articles a ON a.key = e.key WHERE e.key = ?1",
            )
            .and_then(|mut s| {
                s.query_row([&key.0], |r| {
                    let time = |t: Option<String>| t.map(|t| parse_time(&t));
                    Ok(Known {
                        title: r.get(0)?,
                        link: r.get(1)?,
                        summary: r.get(2)?,
                        source_date: r.get(3)?,
                        published: parse_time(&r.get::<_, String>(4)?),
                        updated: parse_time(&r.get::<_, String>(5)?),
                        last_seen: parse_time(&r.get::<_, String>(6)?),
                        topics: topic_ids(&r.get::<_, String>(7)?),
                        article: ArticleDates {
                            published: time(r.get(8)?),
                            updated: time(r.get(9)?),
                        },
                    })
                })
                .optional()
            })
            .map_err(self.fail())
    }

    fn holds_entries(&mut self) -> Result<bool> {
        (self.tx)
            .query_row("SELECT EXISTS (SELECT 1 FROM entries)", [], |r| r.get(0))
            .map_err(self.fail())
    }

    fn insert(
        &mut self,
        e: &Entry,
        first: &First,
        topics: &[String],
        now: DateTime<FixedOffset>,
    ) -> Result<()> {
        self.run(
            "INSERT INTO entries (key, id, title, link, summary, source_date, published,
             updated, updated_ts, last_seen, topics)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                e.key.0,
                first.id,
                e.title,
                e.link,
                e.summary,
                first.source_date,
                format_time(first.published),
                format_time(first.updated),
                first.updated.timestamp(),
                format_time(now),
                topics_column(topics),
            ],
        )?;
        self.add_topics(&e.key, topics, first.updated.timestamp())?;
        for o in &e.origins {
            self.add_row(&e.key, &o.source, o.position)?;
        }
        Ok(())
    }

    fn update(&mut self, e: &Entry, r: &Revision, now: DateTime<FixedOffset>) -> Result<()> {
        self.run(
            "UPDATE entries SET title = ?2, link = ?3, summary = ?4, source_date = ?5,
             published = ?6, updated = ?7, updated_ts = ?8, last_seen = ?9, topics = ?10,
             rev = rev + 1
             WHERE key = ?1",
            params![
                e.key.0,
                e.title,
                e.link,
                e.summary,
                r.source_date,
                format_time(r.published),
                format_time(r.updated),
                r.updated.timestamp(),
                format_time(now),
                topics_column(&r.topics),
            ],
        )
    }

    fn seen(&mut self, key: &EntryKey, now: DateTime<FixedOffset>) -> Result<()> {
        self.run(
            "UPDATE entries SET last_seen = ?2 WHERE key = ?1",
            params![key.0, format_time(now)],
        )
    }

    fn redate(&mut self, key: &EntryKey, r: &Revision) -> Result<()> {
        self.run(
            "UPDATE entries SET published = ?2, updated = ?3, updated_ts = ?4, rev = rev + 1
             WHERE key = ?1",
            params![
                key.0,
                format_time(r.published),
                format_time(r.updated),
                r.updated.timestamp()
            ],
        )
    }

    fn article(&mut self, note: &ArticleNote, now: DateTime<FixedOffset>) -> Result<()> {
        articles::write(&self.tx, note, now).map_err(self.fail())?;
        if note.read().is_some() {
            self.revise(&note.key)?;
        }
        Ok(())
    }

    fn move_topics(&mut self, key: &EntryKey, was: &Known, r: &Revision) -> Result<()> {
        for t in &was.topics {
            self.run(
                "DELETE FROM entry_topics WHERE topic = ?1 AND updated_ts = ?2 AND key = ?3",
                params![t, was.updated.timestamp(), key.0],
            )?;
        }
        self.add_topics(key, &r.topics, r.updated.timestamp())
    }

    fn rows_all(&mut self, keys: &[&EntryKey]) -> Result<HashMap<EntryKey, Vec<(String, usize)>>> {
        // A statement per entry: in-process, a round trip costs nothing.
        let read = |key: &EntryKey| -> rusqlite::Result<Vec<(String, usize)>> {
            let mut s = self.tx.prepare_cached(
                "SELECT source, position FROM entry_sources WHERE key = ?1
                 ORDER BY source, position",
            )?;
            s.query_map([&key.0], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))?
                .collect()
        };
        keys.iter()
            .map(|&key| Ok((key.clone(), read(key).map_err(self.fail())?)))
            .collect()
    }

    fn set_rows(&mut self, key: &EntryKey, source: &str, positions: &[usize]) -> Result<()> {
        self.run(
            "DELETE FROM entry_sources WHERE key = ?1 AND source = ?2",
            params![key.0, source],
        )?;
        for &p in positions {
            self.add_row(key, source, p)?;
        }
        // The first source names an entry without a summary.
        self.revise(key)
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        if let Some(import) = &self.import {
            // SQLite's sorter takes as much memory again as the page cache may hold: the cache
            // is cut to 8 MiB for the two sorts, so that they add little to the run's peak (at
            // 32 MiB a million entries peaked 40 MB higher; BENCHMARKS.md section 14).
            (self.tx)
                .execute_batch(&format!(
                    "PRAGMA cache_size = -8192;
                     INSERT INTO entry_topics (topic, updated_ts, key)
                         SELECT topic, updated_ts, key FROM import_topics
                         ORDER BY topic, updated_ts DESC, key;
                     DROP TABLE import_topics;
                     {};",
                    import.by_updated
                ))
                .map_err(self.fail())?;
        }
        // COMMIT by hand rather than `Transaction::commit`, which gives up the connection: a
        // failed commit's cause (a full disk) is read from it. Dropped uncommitted, the
        // transaction rolls back.
        self.tx.execute_batch("COMMIT").map_err(self.fail())?;
        self.tx.set_drop_behavior(rusqlite::DropBehavior::Ignore);
        Ok(())
    }
}

pub(super) fn retopic(
    conn: &mut Connection,
    rules: &str,
    topics_of: TopicsOf<'_>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM entry_topics", [])?;
    {
        let mut read = tx.prepare("SELECT key, title, summary, updated_ts, topics FROM entries")?;
        let mut insert =
            tx.prepare("INSERT INTO entry_topics (topic, updated_ts, key) VALUES (?1, ?2, ?3)")?;
        // Rows whose topics moved are rewritten once the reading is done.
        let mut moved = Vec::new();
        let mut rows = read.query([])?;
        while let Some(r) = rows.next()? {
            let key: String = r.get(0)?;
            let title: String = r.get(1)?;
            let summary: Option<String> = r.get(2)?;
            let updated: i64 = r.get(3)?;
            let topics = topics_of(&title, summary.as_deref());
            for t in &topics {
                insert.execute(params![t, updated, key])?;
            }
            let joined = topics_column(&topics);
            if joined != r.get::<_, String>(4)? {
                moved.push((key, joined));
            }
        }
        let mut set = tx.prepare("UPDATE entries SET topics = ?2, rev = rev + 1 WHERE key = ?1")?;
        for (key, topics) in moved {
            set.execute(params![key, topics])?;
        }
    }
    tx.execute(
        "INSERT OR REPLACE INTO meta (name, value) VALUES ('topic_rules', ?1)",
        [rules],
    )?;
    archives::touch(&tx)?;
    tx.commit()
}
