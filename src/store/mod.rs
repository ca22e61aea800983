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
pub mod lock;
pub mod outbox;
mod refresh;
pub mod rules;
pub mod sqlite;

use crate::fetch::Validators;
use crate::model::{ArticleDates, Entry, EntryKey, Origin, StoredEntry};
use crate::source::SourceReport;
use crate::text::fold;
use chrono::{DateTime, FixedOffset};
use rules::article::ArticleState;
use rules::{First, Known, Revision, Write};
use std::collections::HashMap;
use std::path::Path;

pub use archives::Written;
pub use article::{ArticleEvent, ArticleNote, KeptPage, Page, Reading};
pub use lock::{Lock, LockError};
pub use outbox::{Answer, Event, OutboxHealth, Queued, Subscription};
pub use refresh::{Changes, Refresh};

/// A failure of the state, naming it (a path, or a database URL without its password).
#[derive(Debug, thiserror::Error)]
#[error("state {state}: {source}")]
pub struct StoreError {
    state: String,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl StoreError {
    pub fn new(
        state: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> StoreError {
        StoreError {
            state: state.into(),
            source: source.into(),
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
    /// Starts the one transaction of a refresh.
    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>>;
}

/// The writes of one refresh, applied all together by [`Transaction::commit`] or not at all.
pub trait Transaction {
    /// Whether a source was ever read successfully: its first read is an import, not news.
    fn read_before(&mut self, source: &str) -> Result<bool>;
    /// Records how a source's read went at `now`.
    fn record_source(&mut self, report: &SourceReport, now: DateTime<FixedOffset>) -> Result<()>;
    fn known(&mut self, key: &EntryKey) -> Result<Option<Known>>;
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
    /// The rows an entry was read from, as (source, position).
    fn rows(&mut self, key: &EntryKey) -> Result<Vec<(String, usize)>>;
    /// Replaces an entry's rows in one source.
    fn set_rows(&mut self, key: &EntryKey, source: &str, positions: &[usize]) -> Result<()>;
    fn commit(self: Box<Self>) -> Result<()>;
}

/// The state, in whichever backend it lives.
pub struct Store {
    backend: Box<dyn Backend>,
}

impl Store {
    /// Opens (or creates) the SQLite state at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        Ok(Store {
            backend: Box::new(sqlite::Sqlite::open(path)?),
        })
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

    /// Records one refresh in a single transaction: the sources' outcomes, the entries seen and
    /// what was learned of their articles. `now` stamps first sightings and content changes
    /// that carry no newer date of their own. New entries, and those whose title or summary
    /// changed, are classified with `topics_of` (the rules [`Store::topic_rules`] names): the
    /// others keep their topics. An article read this run dates its entry (by
    /// [`rules::revise`]) even when the entry is no longer listed.
    ///
    /// Each entry that is news for a subscription is queued in the outbox, in the same
    /// transaction: a new entry from a source read before (a source's first read is an import,
    /// not news), and one whose listing row changed where the subscription asks for updates. Messages of
    /// notifications no longer subscribed are removed.
    pub fn commit(
        &mut self,
        now: DateTime<FixedOffset>,
        refresh: &Refresh<'_>,
        topics_of: impl Fn(&Entry) -> Vec<String>,
    ) -> Result<Changes> {
        let Refresh {
            sources,
            entries,
            articles,
            subscriptions,
        } = *refresh;
        let read: HashMap<&EntryKey, ArticleDates> = articles
            .iter()
            .filter_map(|n| Some((&n.key, n.article()?.dates)))
            .collect();
        let mut tx = self.backend.begin()?;
        let mut read_before = std::collections::HashSet::new();
        for report in sources {
            if !subscriptions.is_empty() && tx.read_before(&report.id)? {
                read_before.insert(report.id.as_str());
            }
            tx.record_source(report, now)?;
        }
        let mut changes = Changes::default();
        // Whether what a feed shows of an entry was written (its row, topics, rows, article).
        let mut touched = false;
        let queue = |tx: &mut Box<dyn Transaction + '_>, key, topics: &[String], event| {
            let mut queued = 0;
            for s in subscriptions.iter().filter(|s| s.wants(topics, event)) {
                tx.enqueue(&s.notify, key, event, now)?;
                queued += 1;
            }
            Ok::<usize, StoreError>(queued)
        };
        // In key order, the index pages each entry touches are those of the one before.
        let mut in_order: Vec<&Entry> = entries.iter().collect();
        in_order.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        for e in in_order {
            let fresh = read.get(&e.key);
            let Some(known) = tx.known(&e.key)? else {
                let first = rules::first(e, fresh.unwrap_or(&ArticleDates::default()), now);
                let topics = topics_of(e);
                tx.insert(e, &first, &topics, now)?;
                changes.new += 1;
                touched = true;
                if e.origins
                    .iter()
                    .any(|o| read_before.contains(o.source.as_str()))
                {
                    changes.queued += queue(&mut tx, &e.key, &topics, Event::New)?;
                }
                continue;
            };
            let article = fresh.copied().unwrap_or(known.article);
            let revision = rules::revise(&known, e, &article, now, &topics_of);
            touched |= revision.write == Write::Row || revision.topics_moved;
            match revision.write {
                Write::Row => tx.update(e, &revision, now)?,
                Write::LastSeen => tx.seen(&e.key, now)?,
                Write::Nothing => {}
            }
            changes.updated += usize::from(revision.changed);
            // An update is news when the listing says so; an article read (a rule turned on or
            // changed) would otherwise announce every stored entry again.
            let listing_changed = known.title != e.title
                || known.link != e.link
                || known.summary != e.summary
                || known.source_date != revision.source_date;
            if listing_changed {
                changes.queued += queue(&mut tx, &e.key, &revision.topics, Event::Updated)?;
            }
            if revision.topics_moved {
                tx.move_topics(&e.key, &known, &revision)?;
            }
            let was = tx.rows(&e.key)?;
            for (source, positions) in rules::moved_rows(&was, &e.origins) {
                tx.set_rows(&e.key, source, &positions)?;
                touched = true;
            }
        }
        let listed: std::collections::HashSet<&EntryKey> = entries.iter().map(|e| &e.key).collect();
        for note in articles {
            // An entry no longer listed whose kept page was read again: its dates may move.
            if let (false, Some(dates)) = (listed.contains(&note.key), read.get(&note.key))
                && let Some(known) = tx.known(&note.key)?
            {
                let seen = rules::as_listed(&note.key, &known);
                let revision = rules::revise(&known, &seen, dates, now, |_| known.topics.clone());
                if revision.write == Write::Row {
                    touched = true;
                    tx.redate(&note.key, &revision)?;
                    changes.updated += usize::from(revision.changed);
                    if revision.topics_moved {
                        tx.move_topics(&note.key, &known, &revision)?;
                    }
                }
            }
            touched |= note.read().is_some();
            tx.article(note, now)?;
        }
        let keep: Vec<&str> = subscriptions.iter().map(|s| s.notify.as_str()).collect();
        tx.unsubscribe(&keep)?;
        if touched {
            tx.touch()?;
        }
        tx.commit()?;
        Ok(changes)
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
}
