//! The SQLite backend, the embedded default: one file (WAL mode) beside the configuration.
//! Split by concern: [`aside`] (a new state, made whole before it is in place), [`schema`]
//! (migrations), [`entries`] (a refresh's writes and topics), [`feeds`] (reading entries back),
//! [`sources`] (fetch state and health), [`articles`] (each entry's own page), [`outbox`]
//! (notifications to send), [`archives`] (what the archive documents are made of).

mod archives;
pub(in crate::store) mod articles;
mod aside;
mod copy;
mod entries;
pub(in crate::store) mod feeds;
mod outbox;
mod schema;
mod sources;

use super::rules::article::ArticleState;
use super::rules::outbox::Next;
use super::{
    Backend, FeedRows, KeptPage, Queued, Result, SourceHealth, StoreError, TopicsOf, Transaction,
    Written,
};
use crate::fetch::Validators;
use crate::model::{EntryKey, Origin, StoredEntry};
use chrono::{DateTime, FixedOffset};
use rusqlite::{Connection, OptionalExtension};
use std::path::Path;

pub struct Sqlite {
    conn: Connection,
    /// The file, as messages name it.
    state: String,
    /// Where a new state is made until its first commit puts it in place.
    aside: Option<aside::Aside>,
}

impl Sqlite {
    /// Opens the state file and brings its schema up to date; where no file exists, makes a
    /// new state aside, put in place by its first commit (a refresh's or an import's) and
    /// never made if none comes. A file that is there but is not a whole kairan state is
    /// refused, never taken for a new one.
    pub fn open(path: &Path) -> Result<Sqlite> {
        let state = path.display().to_string();
        aside::remove_abandoned(path);
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (conn, aside) = aside::create(path, &state)?;
                return Ok(Sqlite {
                    conn,
                    state,
                    aside: Some(aside),
                });
            }
            Err(e) => return Err(StoreError::new(state, e)),
            Ok(m) if m.is_dir() => {
                return Err(StoreError::new(
                    state,
                    "is a directory, not a state file; point [state] path or --state at a file",
                ));
            }
            Ok(m) if m.len() == 0 => {
                return Err(StoreError::new(
                    state,
                    "is empty: a truncated state, not a new one; restore it from a backup, \
                     or delete it to start again with no entries",
                ));
            }
            Ok(_) => {}
        }
        let conn = connect(path, &state)?;
        Ok(Sqlite {
            conn,
            state,
            aside: None,
        })
    }

    fn fail(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |e| error(&self.conn, &self.state, e)
    }
}

/// Opens the state file in place and brings its schema up to date.
fn connect(path: &Path, state: &str) -> Result<Connection> {
    let mut conn = Connection::open(path).map_err(|e| StoreError::new(state, e))?;
    // Before the first statement: another process may be migrating the file.
    if let Err(e) = schema::wait_when_busy(&conn) {
        return Err(error(&conn, state, e));
    }
    match schema::unusable(&conn) {
        Ok(None) => {}
        Ok(Some(why)) => return Err(StoreError::new(state, why)),
        Err(e) => return Err(error(&conn, state, e)),
    }
    if let Err(e) = schema::migrate(&mut conn, false) {
        return Err(error(&conn, state, e));
    }
    Ok(conn)
}

impl Drop for Sqlite {
    fn drop(&mut self) {
        if let Some(aside) = &self.aside {
            aside.discard();
        }
    }
}

/// A SQLite failure as a [`StoreError`], with the operating system's reason where SQLite's
/// own hides it (a full disk met while growing the `-shm` file reads only "disk I/O error"),
/// and what to do where the file is not a state at all.
pub(super) fn error(conn: &Connection, state: &str, e: rusqlite::Error) -> StoreError {
    use rusqlite::ffi::ErrorCode;
    let Some(code) = e.sqlite_error_code() else {
        return StoreError::new(state, e);
    };
    match code {
        ErrorCode::NotADatabase => StoreError::new(
            state,
            format!(
                "{e}: not a kairan state (or a damaged one); restore it from a backup, \
                 or move it away to start again with no entries"
            ),
        ),
        // SQLite keeps no errno for this one: it is its name for ENOSPC.
        ErrorCode::DiskFull => StoreError::new(state, format!("{e}: no space left on device")),
        ErrorCode::SystemIoFailure
        | ErrorCode::CannotOpen
        | ErrorCode::ReadOnly
        | ErrorCode::PermissionDenied => {
            // SAFETY: the handle is valid while `conn` is borrowed, and this only reads the
            // errno SQLite saved from its last failed system call on it.
            let errno = unsafe { rusqlite::ffi::sqlite3_system_errno(conn.handle()) };
            if errno == 0 {
                StoreError::new(state, e)
            } else {
                let os = std::io::Error::from_raw_os_error(errno);
                StoreError::new(state, format!("{e}: {os}"))
            }
        }
        _ => StoreError::new(state, e),
    }
}

impl Backend for Sqlite {
    fn created(&self) -> Result<DateTime<FixedOffset>> {
        let text: String = self
            .conn
            .query_row("SELECT value FROM meta WHERE name = 'created'", [], |r| {
                r.get(0)
            })
            .map_err(self.fail())?;
        Ok(super::rules::parse_time(&text))
    }

    fn fetch_state(
        &self,
        source: &str,
    ) -> Result<Option<(Validators, Option<DateTime<FixedOffset>>)>> {
        sources::fetch_state(&self.conn, source).map_err(self.fail())
    }

    fn health(&self) -> Result<Vec<SourceHealth>> {
        sources::health(&self.conn).map_err(self.fail())
    }

    fn topic_rules(&self) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT value FROM meta WHERE name = 'topic_rules'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.fail())
    }

    fn retopic(&mut self, rules: &str, topics_of: TopicsOf<'_>) -> Result<()> {
        let retopicked = entries::retopic(&mut self.conn, rules, topics_of);
        retopicked.map_err(|e| error(&self.conn, &self.state, e))
    }

    fn feed(&self, topic: Option<&str>, limit: usize) -> Result<FeedRows> {
        feeds::feed(&self.conn, topic, limit).map_err(self.fail())
    }

    fn count(&self) -> Result<usize> {
        self.conn
            .query_row("SELECT count(*) FROM entries", [], |r| r.get::<_, i64>(0))
            .map(|n| usize::try_from(n).unwrap_or(0))
            .map_err(self.fail())
    }

    fn entries(&self) -> Result<Vec<StoredEntry>> {
        feeds::entries(&self.conn).map_err(self.fail())
    }

    fn origins(&self, key: &EntryKey) -> Result<Vec<Origin>> {
        feeds::origins(&self.conn, key).map_err(self.fail())
    }

    fn articles(&self) -> Result<std::collections::HashMap<EntryKey, ArticleState>> {
        articles::states(&self.conn).map_err(self.fail())
    }

    fn pages_to_reread(&self, source: &str, rule: &str) -> Result<Vec<KeptPage>> {
        articles::pages_to_reread(&self.conn, source, rule).map_err(self.fail())
    }

    fn members(&self, topic: Option<&str>) -> Result<Vec<(i64, EntryKey, i64)>> {
        archives::members(&self.conn, topic).map_err(self.fail())
    }

    fn between(
        &self,
        topic: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<(StoredEntry, Vec<String>)>> {
        archives::between(&self.conn, topic, from, to).map_err(self.fail())
    }

    fn generation(&self) -> Result<u64> {
        archives::generation(&self.conn).map_err(self.fail())
    }

    fn note(&self, name: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.fail())
    }

    fn set_note(&mut self, name: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)",
                [name, value],
            )
            .map(drop)
            .map_err(self.fail())
    }

    fn archives(&self) -> Result<(Option<String>, Vec<Written>)> {
        archives::fingerprints(&self.conn).map_err(self.fail())
    }

    fn record_archives(
        &mut self,
        stamp: &str,
        written: &[Written],
        removed: &[(String, String)],
    ) -> Result<()> {
        let recorded = archives::record(&mut self.conn, stamp, written, removed);
        recorded.map_err(|e| error(&self.conn, &self.state, e))
    }

    fn outbox(&self) -> Result<Vec<Queued>> {
        outbox::queued(&self.conn).map_err(self.fail())
    }

    fn sending(
        &mut self,
        notify: &str,
        keys: &[&EntryKey],
        now: DateTime<FixedOffset>,
    ) -> Result<()> {
        let marked = outbox::sending(&mut self.conn, notify, keys, now);
        marked.map_err(|e| error(&self.conn, &self.state, e))
    }

    fn settle(&mut self, notify: &str, key: &EntryKey, next: &Next) -> Result<()> {
        outbox::settle(&self.conn, notify, key, next).map_err(self.fail())
    }

    fn objects(&self, place: &str) -> Result<std::collections::HashMap<String, String>> {
        copy::objects(&self.conn, place).map_err(self.fail())
    }

    fn record_objects(
        &mut self,
        place: &str,
        put: &[(String, String)],
        deleted: &[String],
    ) -> Result<()> {
        let recorded = copy::record_objects(&mut self.conn, place, put, deleted);
        recorded.map_err(|e| error(&self.conn, &self.state, e))
    }

    fn export(
        &self,
        table: &'static str,
        columns: &'static [&'static str],
    ) -> Result<super::copy::Rows> {
        copy::export(&self.conn, table, columns).map_err(self.fail())
    }

    fn import(&mut self, tables: &[super::copy::Rows]) -> Result<()> {
        // A state made aside has them off for a refresh's import (see `schema::migrate`); the
        // rows a copy brings are checked as they come.
        (self.conn.pragma_update(None, "foreign_keys", true)).map_err(self.fail())?;
        match copy::import(&mut self.conn, tables) {
            Ok(true) => self.place(),
            Ok(false) => Err(StoreError::new(
                self.state.clone(),
                "already holds entries: copy into a new state, or one with no entry",
            )),
            Err(e) => Err(error(&self.conn, &self.state, e)),
        }
    }

    fn place(&mut self) -> Result<()> {
        let Some(aside) = self.aside.take() else {
            return Ok(());
        };
        // An empty in-memory database stands in until the placed file is opened. Should placing
        // fail, it stays, and this store answers nothing more ("no such table"): the refresh
        // that placed it has failed, and the new state is discarded.
        let stand_in = match Connection::open_in_memory() {
            Ok(stand_in) => stand_in,
            Err(e) => {
                self.aside = Some(aside);
                return Err(error(&self.conn, &self.state, e));
            }
        };
        let made = std::mem::replace(&mut self.conn, stand_in);
        let path = aside.place(made, &self.state)?;
        self.conn = connect(&path, &self.state)?;
        Ok(())
    }

    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>> {
        let Sqlite { conn, state, aside } = self;
        let tx = conn
            .transaction()
            .map_err(|e| StoreError::new(state.clone(), e))?;
        Ok(Box::new(entries::Refresh::begin(
            tx,
            state,
            aside.is_some(),
        )?))
    }
}

#[cfg(test)]
mod tests;
