//! The PostgreSQL backend: the state in a database on a server, which several kairan nodes can
//! share. The same tables, rules and results as [`super::sqlite`], through the synchronous
//! client of rust-postgres.
//!
//! Split by concern, as the SQLite backend is: [`schema`] (migrations), [`entries`] (a
//! refresh's writes and topics), [`feeds`] (reading entries back), [`sources`] (fetch state
//! and health), [`articles`] (each entry's own page), [`outbox`] (notifications to send),
//! [`archives`] (what the archive documents are made of, and the objects published), [`copy`]
//! (a whole state's rows out and in); and what SQLite has no need of: [`connect`] (the URL,
//! the `PG*` variables, messages) and [`lock`] (the single writer, as an advisory lock).
//!
//! The driver blocks on a tokio runtime of its own, which panics when it is entered, or
//! dropped, on a thread that runs one already (the pipeline's workers). So every call into the
//! client, and its drop, runs inside [`crate::runtime::blocking`]: through [`Postgres::run`]
//! and [`entries::Refresh`], and in the `Drop` of [`Db`] and of the lock.

mod archives;
mod articles;
mod batch;
mod connect;
mod copy;
mod entries;
mod feeds;
mod lock;
mod outbox;
mod schema;
mod sources;
#[cfg(test)]
mod tests;

pub use connect::{is_url, shown};
pub use lock::lock;

use super::rules::article::ArticleState;
use super::rules::outbox::Next;
use super::{
    Backend, FeedRows, KeptPage, Queued, Result, SourceHealth, StoreError, TopicsOf, Transaction,
    Written,
};
use crate::fetch::Validators;
use crate::model::{EntryKey, Origin, StoredEntry};
use chrono::{DateTime, FixedOffset};
use postgres::types::ToSql;
use postgres::{Client, Row, Statement};
use std::cell::RefCell;
use std::collections::HashMap;

/// What the backend's functions fail with, before [`failure`] names the state: a driver error,
/// or a value the state holds that cannot be read.
pub(super) type Fallible<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A statement's parameters.
pub(super) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// A connection with the statements prepared on it, each once and reused by its text. Used
/// only inside [`crate::runtime::blocking`].
pub(super) struct Db {
    /// Always there but while being dropped.
    client: Option<Client>,
    statements: HashMap<String, Statement>,
}

impl Db {
    fn new(client: Client) -> Db {
        Db {
            client: Some(client),
            statements: HashMap::new(),
        }
    }

    fn client(&mut self) -> Fallible<&mut Client> {
        self.client
            .as_mut()
            .ok_or_else(|| "the connection is closed".into())
    }

    /// `sql` prepared, on first use or from the cache.
    fn statement(&mut self, sql: &str) -> Fallible<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client()?.prepare(sql)?;
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    pub(super) fn query(&mut self, sql: &str, params: Params<'_>) -> Fallible<Vec<Row>> {
        let s = self.statement(sql)?;
        Ok(self.client()?.query(&s, params)?)
    }

    /// The one row `sql` returns, if any.
    pub(super) fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Fallible<Option<Row>> {
        let s = self.statement(sql)?;
        Ok(self.client()?.query_opt(&s, params)?)
    }

    /// Runs `sql`; how many rows it wrote.
    pub(super) fn execute(&mut self, sql: &str, params: Params<'_>) -> Fallible<u64> {
        let s = self.statement(sql)?;
        Ok(self.client()?.execute(&s, params)?)
    }

    /// Runs statements without parameters, unprepared: transaction control, the schema.
    pub(super) fn batch(&mut self, sql: &str) -> Fallible<()> {
        Ok(self.client()?.batch_execute(sql)?)
    }

    /// Runs `f` in a transaction: committed if it succeeds, rolled back if it fails.
    pub(super) fn transaction<T>(&mut self, f: impl FnOnce(&mut Db) -> Fallible<T>) -> Fallible<T> {
        self.batch("BEGIN")?;
        match f(self) {
            Ok(done) => {
                self.batch("COMMIT")?;
                Ok(done)
            }
            Err(e) => {
                // The failure is the news; a rollback that fails too (the server gone) adds
                // nothing, and the server rolls back a transaction whose session ends.
                let _ = self.batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let statements = std::mem::take(&mut self.statements);
        let client = self.client.take();
        crate::runtime::blocking(move || {
            drop(statements);
            drop(client);
        });
    }
}

/// A failure of the backend as a [`StoreError`] naming the state (its URL without the
/// password).
pub(super) fn failure(state: &str, e: Box<dyn std::error::Error + Send + Sync>) -> StoreError {
    StoreError::new(state, connect::cause(&*e))
}

/// A count or number the state holds as an integer, as the model's type; a value out of its
/// range (a hand-edited row) fails rather than wraps.
pub(super) fn number<T: TryFrom<i64>>(row: &Row, column: usize) -> Fallible<T>
where
    T::Error: std::error::Error + Send + Sync + 'static,
{
    Ok(T::try_from(row.try_get::<_, i64>(column)?)?)
}

/// The state in a PostgreSQL database.
pub struct Postgres {
    /// In a cell because the driver's every call takes the client mutably, reads included.
    db: RefCell<Db>,
    /// The URL without its password, as messages name the state.
    state: String,
}

impl Postgres {
    /// Connects to the database at `url` (completed from the `PG*` variables where it is
    /// silent) and brings its schema up to date; an empty database becomes a new state. A
    /// database that holds other tables, or a newer kairan's schema, is refused.
    pub fn open(url: &str) -> Result<Postgres> {
        let state = shown(url);
        // A database refused is closed in here too: its connection is dropped where it may be.
        let db = crate::runtime::blocking(|| {
            let mut db = Db::new(connect::connect(url, "kairan")?);
            match schema::migrate(&mut db)? {
                None => Ok(Ok(db)),
                Some(why) => Ok(Err(why)),
            }
        })
        .map_err(|e| failure(&state, e))?
        .map_err(|why| StoreError::new(state.clone(), why))?;
        Ok(Postgres {
            db: RefCell::new(db),
            state,
        })
    }

    /// Runs `f` on the connection, where the driver may block.
    fn run<T>(&self, f: impl FnOnce(&mut Db) -> Fallible<T>) -> Result<T> {
        let mut db = self.db.borrow_mut();
        crate::runtime::blocking(|| f(&mut db)).map_err(|e| failure(&self.state, e))
    }
}

impl Backend for Postgres {
    fn created(&self) -> Result<DateTime<FixedOffset>> {
        self.run(|db| {
            let text = archives::note(db, "created")?.ok_or("meta 'created' is missing")?;
            Ok(super::rules::parse_time(&text))
        })
    }

    fn fetch_state(
        &self,
        source: &str,
    ) -> Result<Option<(Validators, Option<DateTime<FixedOffset>>)>> {
        self.run(|db| sources::fetch_state(db, source))
    }

    fn health(&self) -> Result<Vec<SourceHealth>> {
        self.run(sources::health)
    }

    fn topic_rules(&self) -> Result<Option<String>> {
        self.run(|db| archives::note(db, "topic_rules"))
    }

    fn retopic(&mut self, rules: &str, topics_of: TopicsOf<'_>) -> Result<()> {
        self.run(|db| entries::retopic(db, rules, topics_of))
    }

    fn feed(&self, topic: Option<&str>, limit: usize) -> Result<FeedRows> {
        self.run(|db| feeds::feed(db, topic, limit))
    }

    fn count(&self) -> Result<usize> {
        self.run(|db| {
            let n: i64 = match db.query_opt("SELECT count(*) FROM entries", &[])? {
                Some(row) => row.try_get(0)?,
                None => 0,
            };
            Ok(usize::try_from(n).unwrap_or(0))
        })
    }

    fn entries(&self) -> Result<Vec<StoredEntry>> {
        self.run(feeds::entries)
    }

    fn origins(&self, key: &EntryKey) -> Result<Vec<Origin>> {
        self.run(|db| feeds::origins(db, key))
    }

    fn articles(&self) -> Result<HashMap<EntryKey, ArticleState>> {
        self.run(articles::states)
    }

    fn pages_to_reread(&self, source: &str, rule: &str) -> Result<Vec<KeptPage>> {
        self.run(|db| articles::pages_to_reread(db, source, rule))
    }

    fn members(&self, topic: Option<&str>) -> Result<Vec<(i64, EntryKey, i64)>> {
        self.run(|db| archives::members(db, topic))
    }

    fn between(
        &self,
        topic: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<(StoredEntry, Vec<String>)>> {
        self.run(|db| archives::between(db, topic, from, to))
    }

    fn generation(&self) -> Result<u64> {
        self.run(archives::generation)
    }

    fn note(&self, name: &str) -> Result<Option<String>> {
        self.run(|db| archives::note(db, name))
    }

    fn set_note(&mut self, name: &str, value: &str) -> Result<()> {
        self.run(|db| archives::set_note(db, name, value))
    }

    fn archives(&self) -> Result<(Option<String>, Vec<Written>)> {
        self.run(archives::fingerprints)
    }

    fn record_archives(
        &mut self,
        stamp: &str,
        written: &[Written],
        removed: &[(String, String)],
    ) -> Result<()> {
        self.run(|db| archives::record(db, stamp, written, removed))
    }

    fn outbox(&self) -> Result<Vec<Queued>> {
        self.run(outbox::queued)
    }

    fn sending(
        &mut self,
        notify: &str,
        keys: &[&EntryKey],
        now: DateTime<FixedOffset>,
    ) -> Result<()> {
        self.run(|db| outbox::sending(db, notify, keys, now))
    }

    fn settle(&mut self, notify: &str, key: &EntryKey, next: &Next) -> Result<()> {
        self.run(|db| outbox::settle(db, notify, key, next))
    }

    fn objects(&self, place: &str) -> Result<HashMap<String, String>> {
        self.run(|db| archives::objects(db, place))
    }

    fn record_objects(
        &mut self,
        place: &str,
        put: &[(String, String)],
        deleted: &[String],
    ) -> Result<()> {
        self.run(|db| archives::record_objects(db, place, put, deleted))
    }

    fn export(
        &self,
        table: &'static str,
        columns: &'static [&'static str],
    ) -> Result<super::copy::Rows> {
        self.run(|db| copy::export(db, table, columns))
    }

    fn import(&mut self, tables: &[super::copy::Rows]) -> Result<()> {
        self.run(|db| copy::import(db, tables))
    }

    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>> {
        let Postgres { db, state } = self;
        let db = db.get_mut();
        crate::runtime::blocking(|| db.batch("BEGIN")).map_err(|e| failure(state, e))?;
        Ok(Box::new(entries::Refresh::new(db, state)))
    }
}
