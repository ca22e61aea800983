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
use std::collections::VecDeque;

/// Rows read back at a time.
const PAGE: usize = 1000;

/// What a failure names: where the rows are.
pub const WHAT: &str = "this run's rows, held in a temporary file (under SQLITE_TMPDIR or TMPDIR)";

/// The spilled rows could not be written or read.
#[derive(Debug, thiserror::Error)]
#[error("{}: {}", WHAT, .0)]
pub struct SpillError(#[from] pub rusqlite::Error);

pub(super) struct Spill {
    db: Connection,
    /// Rows written so far: each row's place in arrival order, so that a read is stable.
    count: i64,
    indexed: bool,
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
            db,
            count: 0,
            indexed: false,
        })
    }

    /// Writes `entries`, one transaction for them all.
    pub(super) fn add(
        &mut self,
        entries: impl IntoIterator<Item = Entry>,
    ) -> Result<(), SpillError> {
        let tx = self.db.transaction()?;
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

    /// Every row written, in key order, then in the order they came.
    pub(super) fn read(&mut self) -> Result<Reader<'_>, SpillError> {
        if !self.indexed {
            // One sort of everything, after the writes: cheaper than keeping a tree in order
            // while rows arrive in no order.
            self.db
                .execute_batch("CREATE INDEX rows_by_key ON rows (key, ord)")?;
            self.indexed = true;
        }
        Ok(Reader {
            db: &self.db,
            after: None,
            page: VecDeque::new(),
            done: false,
        })
    }
}

/// Reads the rows a page at a time, each page starting after the last row of the one before:
/// a statement would hold the connection it borrows for the whole read.
pub(super) struct Reader<'a> {
    db: &'a Connection,
    after: Option<(String, i64)>,
    page: VecDeque<Entry>,
    done: bool,
}

impl Reader<'_> {
    fn next_page(&mut self) -> Result<(), SpillError> {
        const COLUMNS: &str = "SELECT key, ord, title, link, summary, published, updated, origins
                               FROM rows";
        let mut rows = Vec::with_capacity(PAGE);
        let mut last = None;
        let mut push = |row: &Row<'_>| -> rusqlite::Result<()> {
            last = Some((row.get(0)?, row.get(1)?));
            rows.push(entry(row)?);
            Ok(())
        };
        match self.after.take() {
            None => {
                let mut stmt = self
                    .db
                    .prepare_cached(&format!("{COLUMNS} ORDER BY key, ord LIMIT {PAGE}"))?;
                let mut found = stmt.query([])?;
                while let Some(row) = found.next()? {
                    push(row)?;
                }
            }
            Some((key, ord)) => {
                let mut stmt = self.db.prepare_cached(&format!(
                    "{COLUMNS} WHERE (key, ord) > (?1, ?2) ORDER BY key, ord LIMIT {PAGE}"
                ))?;
                let mut found = stmt.query(params![key, ord])?;
                while let Some(row) = found.next()? {
                    push(row)?;
                }
            }
        }
        self.after = last;
        self.done = rows.len() < PAGE;
        self.page.extend(rows);
        Ok(())
    }
}

impl Iterator for Reader<'_> {
    type Item = Result<Entry, SpillError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.page.is_empty()
            && !self.done
            && let Err(e) = self.next_page()
        {
            self.done = true;
            return Some(Err(e));
        }
        self.page.pop_front().map(Ok)
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
