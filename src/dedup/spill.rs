//! A refresh's rows, when there are too many to hold, kept in a temporary file and read back
//! in key order: an external sort, by SQLite (already linked for the state), so that memory
//! stays bounded however many listings a run reads.
//!
//! The file is SQLite's private temporary database (opened with an empty name): in memory up
//! to its cache (2 MiB: rows are written once and read back once, in order, so a larger cache
//! would only hold them in memory), on disk beyond it (under `SQLITE_TMPDIR` or `TMPDIR`),
//! removed when the connection closes. Nobody else ever sees it, so nothing is journaled or
//! synced.

use crate::model::{Entry, EntryKey, Origin};
use chrono::{DateTime, FixedOffset};
use rusqlite::{Connection, Row, params};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, PoisonError};

/// Rows read ahead of the store.
const PAGE: usize = 1000;

/// What a failure names: where the rows are.
pub const WHAT: &str = "this run's rows, held in a temporary file (under SQLITE_TMPDIR or TMPDIR)";

/// The spilled rows could not be written or read. Shared, so that every later read of the
/// rows reports the same failure.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {}", WHAT, .0)]
pub struct SpillError(pub Arc<dyn std::error::Error + Send + Sync>);

impl From<rusqlite::Error> for SpillError {
    fn from(e: rusqlite::Error) -> SpillError {
        SpillError(Arc::new(e))
    }
}

pub(super) struct Spill {
    /// Shared with the thread that reads the rows back ([`Spill::read`]).
    db: Arc<Mutex<Connection>>,
    /// Rows written so far: each row's place in arrival order, so that a read is stable.
    count: i64,
}

impl Spill {
    pub(super) fn new() -> Result<Spill, SpillError> {
        let db = Connection::open("")?;
        db.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
             PRAGMA locking_mode = EXCLUSIVE; PRAGMA temp_store = FILE;
             PRAGMA cache_size = -2048;
             CREATE TABLE rows (key TEXT NOT NULL, ord INTEGER NOT NULL, title TEXT NOT NULL,
                 link TEXT NOT NULL, summary TEXT, published TEXT, updated TEXT,
                 origins TEXT NOT NULL);",
        )?;
        Ok(Spill {
            db: Arc::new(Mutex::new(db)),
            count: 0,
        })
    }

    /// Writes `entries`, one transaction for them all.
    pub(super) fn add(
        &mut self,
        entries: impl IntoIterator<Item = Entry>,
    ) -> Result<(), SpillError> {
        let mut db = self.db.lock().unwrap_or_else(PoisonError::into_inner);
        let tx = db.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO rows (key, ord, title, link, summary, published, updated, origins)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for e in entries {
                let origins: Vec<(&str, usize)> = (e.origins.iter())
                    .map(|o| (o.source.as_str(), o.position))
                    .collect();
                insert.execute(params![
                    e.key.0,
                    self.count,
                    e.title,
                    e.link,
                    e.summary,
                    e.published.map(|d| d.to_rfc3339()),
                    e.updated.map(|d| d.to_rfc3339()),
                    serde_json::to_string(&origins).expect("strings and numbers"),
                ])?;
                self.count += 1;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every row written, in key order, then in the order they came: sorted by SQLite (in
    /// memory up to the cache, in merged runs on disk beyond it) and read on a thread of its
    /// own, a page ahead of the store that takes them, on the other core.
    pub(super) fn read(&self) -> Reader {
        let (send, receive) = std::sync::mpsc::sync_channel::<Sent>(PAGE);
        let db = self.db.clone();
        std::thread::spawn(move || {
            let db = db.lock().unwrap_or_else(PoisonError::into_inner);
            let read = || -> rusqlite::Result<()> {
                let mut sorted = db.prepare(
                    "SELECT key, ord, title, link, summary, published, updated, origins
                     FROM rows ORDER BY key, ord",
                )?;
                let mut rows = sorted.query([])?;
                while let Some(row) = rows.next()? {
                    if send.send(Sent::Row(entry(row)?)).is_err() {
                        // The rows are no longer wanted.
                        return Ok(());
                    }
                }
                let _ = send.send(Sent::End);
                Ok(())
            };
            if let Err(e) = read() {
                let _ = send.send(Sent::Failed(e.into()));
            }
        });
        Reader {
            rows: receive,
            done: false,
        }
    }
}

/// What [`Spill::read`]'s thread sends: the end is said, so that a thread that stopped
/// otherwise (a panic) is never taken for the end of the rows.
enum Sent {
    Row(Entry),
    End,
    Failed(SpillError),
}

/// The rows as [`Spill::read`]'s thread sends them; dropped, it stops that thread.
pub(super) struct Reader {
    rows: Receiver<Sent>,
    done: bool,
}

impl Iterator for Reader {
    type Item = Result<Entry, SpillError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.rows.recv() {
            Ok(Sent::Row(entry)) => Some(Ok(entry)),
            Ok(Sent::End) => {
                self.done = true;
                None
            }
            Ok(Sent::Failed(e)) => {
                self.done = true;
                Some(Err(e))
            }
            Err(_) => {
                self.done = true;
                let stopped: Box<dyn std::error::Error + Send + Sync> =
                    "the thread reading them back stopped before their end".into();
                Some(Err(SpillError(Arc::from(stopped))))
            }
        }
    }
}

fn entry(row: &Row<'_>) -> rusqlite::Result<Entry> {
    let origins: String = row.get(7)?;
    let origins: Vec<(String, usize)> = serde_json::from_str(&origins).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(7, rusqlite::types::Type::Text, e.into())
    })?;
    Ok(Entry {
        key: EntryKey(row.get(0)?),
        title: row.get(2)?,
        link: row.get(3)?,
        summary: row.get(4)?,
        published: date(row, 5)?,
        updated: date(row, 6)?,
        origins: (origins.into_iter())
            .map(|(source, position)| Origin { source, position })
            .collect(),
    })
}

fn date(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<DateTime<FixedOffset>>> {
    let text: Option<String> = row.get(i)?;
    text.map(|t| {
        DateTime::parse_from_rfc3339(&t).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
        })
    })
    .transpose()
}
