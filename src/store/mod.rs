//! The state: entries with their permanent ids, the rows they were read from, their topics,
//! and each source's fetch state; one transaction per refresh.
//!
//! Three parts, each in its own place:
//! - [`rules`]: what counts as a change, which date wins, when topics are classified again.
//!   Pure functions over the model; every backend applies the same ones.
//! - [`Backend`] and [`Transaction`]: what a database must do for kairan, in its own terms
//!   (rows in, rows out). [`sqlite`] is the one backend today.
//! - [`Store`]: what the pipeline and the commands call. It runs a refresh's commit as the
//!   rules say, through whichever backend the state lives in.
//!
//! The boundary is a trait, not an enum over backends, so that a new backend is one new module
//! implementing it plus one line in [`Store::open`], and nothing else learns its name; the cost
//! of a virtual call per row is nothing beside the database work behind it. [`lock`] keeps two
//! refreshes off one state.

mod archives;
mod article;
pub mod copy;
pub mod lock;
pub mod outbox;
pub mod postgres;
mod refresh;
pub mod rules;
pub mod sqlite;

use crate::fetch::Validators;
use crate::model::{Entry, EntryKey, Origin, StoredEntry};
use crate::source::SourceReport;
use crate::text::fold;
use chrono::{DateTime, FixedOffset};
use rules::article::ArticleState;
use rules::{First, Known, Revision};
use std::collections::HashMap;
use std::path::PathBuf;

pub use archives::Written;
pub use article::{ArticleEvent, ArticleNote, KeptPage, Page, Reading};
pub use lock::{Lock, LockError};
pub use outbox::{Answer, Event, OutboxHealth, Queued, Subscription};
#[cfg(test)]
pub use refresh::listed;
pub use refresh::{Changes, Refresh};

/// A failure of the state, naming it (a path, or a database URL without its password); or of
/// the entries a refresh brought to it, as they were read back ([`crate::dedup::Rows`]).
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct StoreError {
    /// "state <where>", or what else failed.
    what: String,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl StoreError {
    pub fn new(
        state: impl std::fmt::Display,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> StoreError {
        StoreError {
            what: format!("state {state}"),
            source: source.into(),
        }
    }
}

/// Named as the spill names itself: no state is at fault.
impl From<crate::dedup::SpillError> for StoreError {
    fn from(e: crate::dedup::SpillError) -> StoreError {
        StoreError {
            what: crate::dedup::spill::WHAT.to_owned(),
            source: Box::new(e.0),
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// How a source's fetches have gone, as `kairan status` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceHealth {
    pub id: String,
    pub url: String,
    pub last_attempt: Option<DateTime<FixedOffset>>,
    pub last_success: Option<DateTime<FixedOffset>>,
    /// The time and reason of the last failure, as [`rules::failure_note`] writes it.
    pub last_error: Option<String>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Entries this source has contributed.
    pub entries: u32,
    /// Its entries whose article could not be read the last time it was tried.
    pub article_failures: u32,
}

/// A feed's share of the store: its newest entries, each with the ids of its topics, and how
/// many entries it has in all.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedRows {
    pub entries: Vec<(StoredEntry, Vec<String>)>,
    pub total: usize,
}

/// Classifies an entry's title and summary into topic ids.
pub type TopicsOf<'a> = &'a dyn Fn(&str, Option<&str>) -> Vec<String>;

/// What a database does for kairan. Reads outside a refresh; writes through [`Transaction`].
pub trait Backend: Send {
    /// When the state was created: the `updated` of a feed that has never had an entry.
    fn created(&self) -> Result<DateTime<FixedOffset>>;
    /// A source's validators and when its last full response came, if it was ever fetched.
    fn fetch_state(
        &self,
        source: &str,
    ) -> Result<Option<(Validators, Option<DateTime<FixedOffset>>)>>;
    /// Every source the state knows, by id.
    fn health(&self) -> Result<Vec<SourceHealth>>;
    /// The name of the rules the stored topics follow, as [`Backend::retopic`] recorded it.
    fn topic_rules(&self) -> Result<Option<String>>;
    /// Classifies every stored entry again and records that topics now follow `rules`; all or
    /// nothing.
    fn retopic(&mut self, rules: &str, topics_of: TopicsOf<'_>) -> Result<()>;
    /// The newest `limit` entries of a topic (of all, for `None`), ordered by `updated`, then
    /// `published`, both newest first, then id; and how many the topic has in all.
    fn feed(&self, topic: Option<&str>, limit: usize) -> Result<FeedRows>;
    fn count(&self) -> Result<usize>;
    /// Every stored entry, in the order of [`Backend::feed`].
    fn entries(&self) -> Result<Vec<StoredEntry>>;
    /// The rows an entry was last read from, by source and position.
    fn origins(&self, key: &EntryKey) -> Result<Vec<Origin>>;
    /// What the state holds of every entry's article, by entry.
    fn articles(&self) -> Result<HashMap<EntryKey, ArticleState>>;
    /// The kept pages of `source`'s articles that were last read with another rule than
    /// `rule`.
    fn pages_to_reread(&self, source: &str, rule: &str) -> Result<Vec<KeptPage>>;
    /// See [`Store::members`].
    fn members(&self, topic: Option<&str>) -> Result<Vec<(i64, EntryKey, i64)>>;
    /// See [`Store::between`].
    fn between(
        &self,
        topic: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<(StoredEntry, Vec<String>)>>;
    /// How many refreshes changed an entry or its topics: what was published from the store
    /// stands as long as it does not move.
    fn generation(&self) -> Result<u64>;
    /// A note kept in the state by name (`meta`), such as the stamp of the last publish.
    fn note(&self, name: &str) -> Result<Option<String>>;
    /// Keeps a note; committed at once.
    fn set_note(&mut self, name: &str, value: &str) -> Result<()>;
    /// See [`Store::archives`].
    fn archives(&self) -> Result<(Option<String>, Vec<Written>)>;
    /// See [`Store::record_archives`].
    fn record_archives(
        &mut self,
        stamp: &str,
        written: &[Written],
        removed: &[(String, String)],
    ) -> Result<()>;
    /// Every message in the outbox, per notification oldest first.
    fn outbox(&self) -> Result<Vec<Queued>>;
    /// Marks messages as handed to their receiver; committed at once.
    fn sending(
        &mut self,
        notify: &str,
        keys: &[&EntryKey],
        now: DateTime<FixedOffset>,
    ) -> Result<()>;
    /// Removes a message, or records its failure, as `next` says; committed at once.
    fn settle(&mut self, notify: &str, key: &EntryKey, next: &rules::outbox::Next) -> Result<()>;
    /// The content hash of every object published to `place` (an object store's URL), by key,
    /// as [`Backend::record_objects`] kept them.
    fn objects(&self, place: &str) -> Result<HashMap<String, String>>;
    /// Keeps the hashes of objects just uploaded to `place` and forgets those deleted;
    /// committed at once.
    fn record_objects(
        &mut self,
        place: &str,
        put: &[(String, String)],
        deleted: &[String],
    ) -> Result<()>;
    /// A table's rows, `columns` in order (one of [`copy::TABLES`]).
    fn export(&self, table: &'static str, columns: &'static [&'static str]) -> Result<copy::Rows>;
    /// Replaces everything in a state that holds no entry with `tables`; all or nothing.
    fn import(&mut self, tables: &[copy::Rows]) -> Result<()>;
    /// Starts the one transaction of a refresh.
    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>>;
    /// Puts a new state in place once a refresh's transaction is committed to it, where the
    /// backend makes new states aside (SQLite's: one file, linked into place whole); nothing
    /// for a state already there.
    fn place(&mut self) -> Result<()> {
        Ok(())
    }
}

/// The writes of one refresh, applied all together by [`Transaction::commit`] or not at all.
pub trait Transaction {
    /// Whether a source was ever read successfully: its first read is an import, not news.
    fn read_before(&mut self, source: &str) -> Result<bool>;
    /// Records how a source's read went at `now`.
    fn record_source(&mut self, report: &SourceReport, now: DateTime<FixedOffset>) -> Result<()>;
    fn known(&mut self, key: &EntryKey) -> Result<Option<Known>>;
    /// Whether the state holds any entry: where it holds none, nothing is looked up.
    fn holds_entries(&mut self) -> Result<bool>;
    /// [`Transaction::known`] of each of `keys`, for those the state holds: a backend with a
    /// round trip to pay per statement reads them together.
    fn known_all(&mut self, keys: &[&EntryKey]) -> Result<HashMap<EntryKey, Known>> {
        let mut known = HashMap::with_capacity(keys.len());
        for &key in keys {
            if let Some(k) = self.known(key)? {
                known.insert(key.clone(), k);
            }
        }
        Ok(known)
    }
    /// Stores a new entry with its topics and rows.
    fn insert(
        &mut self,
        e: &Entry,
        first: &First,
        topics: &[String],
        now: DateTime<FixedOffset>,
    ) -> Result<()>;
    /// Writes an entry's row as revised (content, dates, topics column, `last_seen`).
    fn update(&mut self, e: &Entry, r: &Revision, now: DateTime<FixedOffset>) -> Result<()>;
    fn seen(&mut self, key: &EntryKey, now: DateTime<FixedOffset>) -> Result<()>;
    /// Writes an entry's dates as revised (`published`, `updated`), and nothing else.
    fn redate(&mut self, key: &EntryKey, r: &Revision) -> Result<()>;
    /// Keeps what a refresh learned of an entry's article.
    fn article(&mut self, note: &ArticleNote, now: DateTime<FixedOffset>) -> Result<()>;
    /// Queues a message about an entry to a notification, unless one is queued already.
    fn enqueue(
        &mut self,
        notify: &str,
        key: &EntryKey,
        event: Event,
        now: DateTime<FixedOffset>,
    ) -> Result<()>;
    /// Removes the messages of every notification but `keep`.
    fn unsubscribe(&mut self, keep: &[&str]) -> Result<()>;
    /// Counts this refresh in [`Backend::generation`]: it changed an entry or its topics.
    fn touch(&mut self) -> Result<()>;
    /// Moves an entry's topic memberships from `was` to `r`'s (topics and `updated`).
    fn move_topics(&mut self, key: &EntryKey, was: &Known, r: &Revision) -> Result<()>;
    /// The rows each of `keys` was read from, as (source, position) in that order; an entry
    /// read from none may be left out. Asked for many entries at once, as
    /// [`Transaction::known_all`].
    fn rows_all(&mut self, keys: &[&EntryKey]) -> Result<HashMap<EntryKey, Vec<(String, usize)>>>;
    /// Replaces an entry's rows in one source.
    fn set_rows(&mut self, key: &EntryKey, source: &str, positions: &[usize]) -> Result<()>;
    fn commit(self: Box<Self>) -> Result<()>;
}

/// Where a state lives: `[state] path` or `url`, or `--state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file, the embedded default.
    File(PathBuf),
    /// A PostgreSQL database, by its URL (`postgres://` or `postgresql://`), completed from
    /// the `PG*` variables where it is silent.
    Postgres(String),
}

impl Location {
    /// A URL of a database kairan keeps states in, or else a file's path.
    pub fn parse(text: &str) -> Location {
        if postgres::is_url(text) {
            Location::Postgres(text.to_owned())
        } else {
            Location::File(PathBuf::from(text))
        }
    }

    /// As messages name it: a path, or the URL without its password.
    pub fn shown(&self) -> String {
        match self {
            Location::File(path) => path.display().to_string(),
            Location::Postgres(url) => postgres::shown(url),
        }
    }

    /// Whether there may be a state there to read: a file that exists, or any database (which
    /// opening will tell).
    pub fn may_exist(&self) -> bool {
        match self {
            Location::File(path) => path.exists(),
            Location::Postgres(_) => true,
        }
    }
}

/// The state, in whichever backend it lives.
pub struct Store {
    backend: Box<dyn Backend>,
}

impl Store {
    /// Opens (or creates) the state at `at` and brings its schema up to date.
    pub fn open(at: &Location) -> Result<Store> {
        let backend: Box<dyn Backend> = match at {
            Location::File(path) => Box::new(sqlite::Sqlite::open(path)?),
            Location::Postgres(url) => Box::new(postgres::Postgres::open(url)?),
        };
        Ok(Store { backend })
    }

    /// See [`Backend::created`].
    pub fn created(&self) -> Result<DateTime<FixedOffset>> {
        self.backend.created()
    }

    /// The validators to send for a source at `now`, by [`rules::validators_to_send`].
    pub fn validators(&self, source: &str, now: DateTime<FixedOffset>) -> Result<Validators> {
        Ok(rules::validators_to_send(
            self.backend.fetch_state(source)?,
            now,
        ))
    }

    /// See [`Backend::health`].
    pub fn health(&self) -> Result<Vec<SourceHealth>> {
        self.backend.health()
    }

    /// See [`Backend::topic_rules`].
    pub fn topic_rules(&self) -> Result<Option<String>> {
        self.backend.topic_rules()
    }

    /// Classifies every stored entry again with `topics_of` (title, summary → topic ids), and
    /// records that the topics now follow `rules`. One transaction: all or nothing.
    pub fn retopic(
        &mut self,
        rules: &str,
        topics_of: impl Fn(&str, Option<&str>) -> Vec<String>,
    ) -> Result<()> {
        self.backend.retopic(rules, &topics_of)
    }

    /// See [`Backend::articles`].
    pub fn articles(&self) -> Result<HashMap<EntryKey, ArticleState>> {
        self.backend.articles()
    }

    /// See [`Backend::pages_to_reread`].
    pub fn pages_to_reread(&self, source: &str, rule: &str) -> Result<Vec<KeptPage>> {
        self.backend.pages_to_reread(source, rule)
    }

    /// See [`Backend::feed`].
    pub fn feed(&self, topic: Option<&str>, limit: usize) -> Result<FeedRows> {
        self.backend.feed(topic, limit)
    }

    /// How many entries the store holds.
    pub fn count(&self) -> Result<usize> {
        self.backend.count()
    }

    /// Stored entries whose link, key or title is `query`; failing that, those whose title
    /// contains it (compared folded). Each with the rows it was last read from.
    pub fn find(&self, query: &str) -> Result<Vec<(StoredEntry, Vec<Origin>)>> {
        let query = query.trim();
        let all = self.entries()?;
        let mut found: Vec<StoredEntry> = all
            .iter()
            .filter(|e| e.link == query || e.key.0 == query || e.title == query)
            .cloned()
            .collect();
        if found.is_empty() {
            let folded = fold(query);
            found = all
                .into_iter()
                .filter(|e| fold(&e.title).contains(&folded))
                .collect();
        }
        found
            .into_iter()
            .map(|e| {
                let origins = self.backend.origins(&e.key)?;
                Ok((e, origins))
            })
            .collect()
    }

    /// Every stored entry, newest first (by `updated`, then `published`, then id).
    pub fn entries(&self) -> Result<Vec<StoredEntry>> {
        self.backend.entries()
    }

    /// See [`Backend::objects`].
    pub fn objects(&self, place: &str) -> Result<HashMap<String, String>> {
        self.backend.objects(place)
    }

    /// See [`Backend::record_objects`].
    pub fn record_objects(
        &mut self,
        place: &str,
        put: &[(String, String)],
        deleted: &[String],
    ) -> Result<()> {
        self.backend.record_objects(place, put, deleted)
    }

    /// See [`Backend::export`].
    pub fn export(
        &self,
        table: &'static str,
        columns: &'static [&'static str],
    ) -> Result<copy::Rows> {
        self.backend.export(table, columns)
    }

    /// See [`Backend::import`].
    pub fn import(&mut self, tables: &[copy::Rows]) -> Result<()> {
        self.backend.import(tables)
    }
}
