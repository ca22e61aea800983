//! The SQLite state: entries with their permanent ids, where they were seen, and each source's
//! fetch state. One transaction per refresh; migrations numbered by `PRAGMA user_version`.

use crate::model::{Entry, EntryKey, Origin, StoredEntry};
use crate::normalize::text::fold;
use chrono::{DateTime, FixedOffset};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("state {path}: {source}")]
pub struct StoreError {
    path: PathBuf,
    source: rusqlite::Error,
}

/// Applied in order; the index + 1 is the schema version. Never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE entries (
        key TEXT PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        link TEXT NOT NULL,
        summary TEXT,
        source_date TEXT,          -- the listing or feed date as last seen, part of the content
        published TEXT NOT NULL,   -- RFC 3339 with the source's offset
        updated TEXT NOT NULL,
        updated_ts INTEGER NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL
    );
    CREATE INDEX entries_by_updated ON entries (updated_ts DESC);
    CREATE TABLE entry_sources (
        key TEXT NOT NULL REFERENCES entries (key),
        source TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (key, source)
    );
    CREATE TABLE sources (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        last_attempt TEXT,
        last_success TEXT,
        last_error TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0
    );
",
    "
    -- When a whole body last arrived: validators are not sent once it is a day old.
    ALTER TABLE sources ADD COLUMN last_full TEXT;
",
    "
    -- Every row an entry was read from, not one per source: a listing may post it twice.
    ALTER TABLE entry_sources RENAME TO entry_sources_old;
    CREATE TABLE entry_sources (
        key TEXT NOT NULL REFERENCES entries (key),
        source TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (key, source, position)
    );
    INSERT INTO entry_sources SELECT key, source, position FROM entry_sources_old;
    DROP TABLE entry_sources_old;
",
    "
    -- Each entry's topics (their ids, space-separated) as classified by the rules named in
    -- meta 'topic_rules', and each topic's entries newest first: feeds are read from here
    -- rather than classified again every run.
    ALTER TABLE entries ADD COLUMN topics TEXT NOT NULL DEFAULT '';
    CREATE TABLE entry_topics (
        topic TEXT NOT NULL,
        updated_ts INTEGER NOT NULL,  -- the entry's
        key TEXT NOT NULL REFERENCES entries (key),
        PRIMARY KEY (topic, updated_ts DESC, key)
    ) WITHOUT ROWID;
",
];

/// How long validators are trusted before a source is fetched unconditionally again, against
/// servers that answer 304 wrongly.
const FULL_FETCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// How stale an unchanged entry's `last_seen` may get: refreshing it every run would rewrite
/// every stored row whose listing changed at all.
const LAST_SEEN_EVERY: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// The lock against two refreshes on one state file: an advisory lock (`flock`) on
/// `<state>.lock`, which the kernel releases when its holder exits, however it exits, so a
/// killed run never blocks the next. The file names the holder, for the message.
#[derive(Debug)]
pub struct Lock {
    _file: std::fs::File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{path} is in use by another kairan ({holder}); try again later, or use --wait")]
    Busy { path: PathBuf, holder: String },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Lock {
    /// Takes the lock of the state at `state`; when another process holds it, waits for it if
    /// `wait`, else fails at once naming the holder.
    pub fn acquire(state: &Path, wait: bool) -> Result<Lock, LockError> {
        let mut name = state.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) if wait => file.lock().map_err(io)?,
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                let holder = holder.trim();
                return Err(LockError::Busy {
                    path: state.to_owned(),
                    holder: if holder.is_empty() {
                        "holder unknown".to_owned()
                    } else {
                        holder.to_owned()
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        use std::io::{Seek, Write};
        let holder = format!(
            "pid {}, since {}",
            std::process::id(),
            chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(holder.as_bytes()).map_err(io)?;
        Ok(Lock { _file: file })
    }
}

/// Validators of a source's last good response, for a conditional request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// How one source's fetch went, to be remembered.
#[derive(Debug, Clone)]
pub enum SourceRecord {
    /// New content; its validators for next time.
    Fetched(Validators),
    /// 304: nothing changed since the validators we sent.
    NotModified,
    Failed(String),
}

/// How a source's fetches have gone, as `kairan status` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceHealth {
    pub id: String,
    pub url: String,
    pub last_attempt: Option<DateTime<FixedOffset>>,
    pub last_success: Option<DateTime<FixedOffset>>,
    /// The time and reason of the last failure, as `2026-11-25T10:00:00+09:00 HTTP status 500`.
    pub last_error: Option<String>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Entries this source has contributed.
    pub entries: u32,
}

/// A feed's share of the store: its newest entries, each with the ids of its topics, and how
/// many entries it has in all.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedRows {
    pub entries: Vec<(StoredEntry, Vec<String>)>,
    pub total: usize,
}

/// What a refresh changed in the store.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Changes {
    pub new: usize,
    pub updated: usize,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (or creates) the state file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let fail = |source| StoreError {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(fail)?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
        };
        store.migrate().map_err(fail)?;
        Ok(store)
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError {
            path: self.path.clone(),
            source,
        }
    }

    fn migrate(&mut self) -> rusqlite::Result<()> {
        // WAL: a reader (serve, status) never blocks the refresh, and a killed run leaves the
        // last committed state.
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // 32 MiB of page cache rather than SQLite's 2: a refresh of a large store touches
        // index pages all over, and a small cache rereads and spills them (measured in
        // BENCHMARKS.md).
        self.conn.pragma_update(None, "cache_size", -32768)?;
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        let tx = self.conn.transaction()?;
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
        }
        if version == 0 {
            tx.execute(
                "INSERT INTO meta (name, value) VALUES ('created', ?1)",
                [chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)],
            )?;
        }
        tx.commit()
    }

    /// When the state was created: the `updated` of a feed that has never had an entry, so
    /// that even an empty feed stays byte-identical from run to run.
    pub fn created(&self) -> Result<DateTime<FixedOffset>, StoreError> {
        let text: String = self
            .conn
            .query_row("SELECT value FROM meta WHERE name = 'created'", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.err(e))?;
        Ok(parse_time(&text))
    }

    /// The validators to send for a source: those of its last full response, unless that is
    /// more than a day before `now` (then none, for an unconditional fetch).
    pub fn validators(
        &self,
        source: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<Validators, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT etag, last_modified, last_full FROM sources WHERE id = ?1",
                [source],
                |r| {
                    let validators = Validators {
                        etag: r.get(0)?,
                        last_modified: r.get(1)?,
                    };
                    Ok((validators, r.get::<_, Option<String>>(2)?))
                },
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(match row {
            Some((validators, Some(full))) if now - parse_time(&full) < FULL_FETCH_EVERY => {
                validators
            }
            _ => Validators::default(),
        })
    }

    /// Every source the state knows, with how its fetches have gone, by id.
    pub fn health(&self) -> Result<Vec<SourceHealth>, StoreError> {
        let run = || -> rusqlite::Result<Vec<SourceHealth>> {
            let mut stmt = self.conn.prepare(
                "SELECT s.id, s.url, s.last_attempt, s.last_success, s.last_error,
                        s.consecutive_failures,
                        (SELECT count(DISTINCT key) FROM entry_sources e WHERE e.source = s.id)
                 FROM sources s ORDER BY s.id",
            )?;
            stmt.query_map([], |r| {
                Ok(SourceHealth {
                    id: r.get(0)?,
                    url: r.get(1)?,
                    last_attempt: r.get::<_, Option<String>>(2)?.map(|t| parse_time(&t)),
                    last_success: r.get::<_, Option<String>>(3)?.map(|t| parse_time(&t)),
                    last_error: r.get(4)?,
                    consecutive_failures: r.get(5)?,
                    entries: r.get(6)?,
                })
            })?
            .collect()
        };
        run().map_err(|e| self.err(e))
    }

    /// Records one refresh in a single transaction: the sources' outcomes and the entries seen.
    /// `now` stamps first sightings and content changes that carry no newer date of their own.
    /// New entries, and those whose title or summary changed, are classified with
    /// `topics_of` (the rules [`Store::topic_rules`] names): the others keep their topics.
    pub fn commit(
        &mut self,
        now: DateTime<FixedOffset>,
        sources: &[(&str, &str, SourceRecord)],
        entries: &[Entry],
        topics_of: impl Fn(&Entry) -> Vec<String>,
    ) -> Result<Changes, StoreError> {
        self.commit_inner(now, sources, entries, topics_of)
            .map_err(|e| self.err(e))
    }

    fn commit_inner(
        &mut self,
        now: DateTime<FixedOffset>,
        sources: &[(&str, &str, SourceRecord)],
        entries: &[Entry],
        topics_of: impl Fn(&Entry) -> Vec<String>,
    ) -> rusqlite::Result<Changes> {
        let now_text = format_time(now);
        let tx = self.conn.transaction()?;
        for (id, url, record) in sources {
            tx.execute(
                "INSERT INTO sources (id, url, last_attempt) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET url = ?2, last_attempt = ?3",
                params![id, url, now_text],
            )?;
            match record {
                SourceRecord::Fetched(v) => tx.execute(
                    "UPDATE sources SET etag = ?2, last_modified = ?3, last_success = ?4,
                     last_full = ?4, consecutive_failures = 0 WHERE id = ?1",
                    params![id, v.etag, v.last_modified, now_text],
                )?,
                SourceRecord::NotModified => tx.execute(
                    "UPDATE sources SET last_success = ?2, consecutive_failures = 0 WHERE id = ?1",
                    params![id, now_text],
                )?,
                SourceRecord::Failed(reason) => tx.execute(
                    "UPDATE sources SET last_error = ?2,
                     consecutive_failures = consecutive_failures + 1 WHERE id = ?1",
                    params![id, format!("{now_text} {reason}")],
                )?,
            };
        }
        let mut changes = Changes::default();
        {
            let mut find = tx.prepare_cached(
                "SELECT title, link, summary, source_date, published, updated, last_seen, topics
                 FROM entries WHERE key = ?1",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO entries (key, id, title, link, summary, source_date, published,
                 updated, updated_ts, first_seen, last_seen, topics)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)",
            )?;
            let mut update = tx.prepare_cached(
                "UPDATE entries SET title = ?2, link = ?3, summary = ?4, source_date = ?5,
                 published = ?6, updated = ?7, updated_ts = ?8, last_seen = ?9, topics = ?10
                 WHERE key = ?1",
            )?;
            let mut seen = tx.prepare_cached("UPDATE entries SET last_seen = ?2 WHERE key = ?1")?;
            let mut origins_of = tx.prepare_cached(
                "SELECT source, position FROM entry_sources WHERE key = ?1
                 ORDER BY source, position",
            )?;
            // An entry's rows are those of the latest fetch of each source it was seen in.
            let mut forget =
                tx.prepare_cached("DELETE FROM entry_sources WHERE key = ?1 AND source = ?2")?;
            let mut origin = tx.prepare_cached(
                "INSERT OR REPLACE INTO entry_sources (key, source, position) VALUES (?1, ?2, ?3)",
            )?;
            let mut untopic = tx.prepare_cached(
                "DELETE FROM entry_topics WHERE topic = ?1 AND updated_ts = ?2 AND key = ?3",
            )?;
            let mut topic = tx.prepare_cached(
                "INSERT INTO entry_topics (topic, updated_ts, key) VALUES (?1, ?2, ?3)",
            )?;
            // In key order, the index pages each entry touches are those of the one before.
            let mut in_order: Vec<&Entry> = entries.iter().collect();
            in_order.sort_unstable_by(|a, b| a.key.cmp(&b.key));
            for e in in_order {
                let source_date = e.updated.map(format_time);
                let stored = find
                    .query_row([&e.key.0], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, Option<String>>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, String>(5)?,
                            r.get::<_, String>(6)?,
                            r.get::<_, String>(7)?,
                        ))
                    })
                    .optional()?;
                let Some((title, link, summary, old_date, published, updated, last_seen, topics)) =
                    stored
                else {
                    let published = e.published.unwrap_or(now);
                    let updated = e.updated.unwrap_or(published);
                    let topics = topics_of(e);
                    insert.execute(params![
                        e.key.0,
                        entry_id(&e.key),
                        e.title,
                        e.link,
                        e.summary,
                        source_date,
                        format_time(published),
                        format_time(updated),
                        updated.timestamp(),
                        now_text,
                        topics_column(&topics),
                    ])?;
                    for t in &topics {
                        topic.execute(params![t, updated.timestamp(), e.key.0])?;
                    }
                    for o in &e.origins {
                        origin.execute(params![e.key.0, o.source, o.position as i64])?;
                    }
                    changes.new += 1;
                    continue;
                };
                let (published, updated) = (parse_time(&published), parse_time(&updated));
                let new_published = e.published.map_or(published, |p| p.min(published));
                let changed = title != e.title
                    || link != e.link
                    || summary != e.summary
                    || old_date != source_date;
                // A content change dated no later than what we had still has to reach readers:
                // it is dated by this refresh.
                let new_updated = match e.updated {
                    _ if !changed => updated,
                    Some(u) if u > updated => u,
                    _ => now.max(updated),
                };
                // Topics follow from the title and summary alone.
                let old_topics: Vec<&str> = topic_ids(&topics).collect();
                let new_topics = if title != e.title || summary != e.summary {
                    topics_of(e)
                } else {
                    old_topics.iter().map(|t| (*t).to_owned()).collect()
                };
                if changed || new_published != published {
                    update.execute(params![
                        e.key.0,
                        e.title,
                        e.link,
                        e.summary,
                        source_date,
                        format_time(new_published),
                        format_time(new_updated),
                        new_updated.timestamp(),
                        now_text,
                        topics_column(&new_topics),
                    ])?;
                    changes.updated += usize::from(changed);
                } else if now - parse_time(&last_seen) >= LAST_SEEN_EVERY {
                    seen.execute(params![e.key.0, now_text])?;
                }
                if new_topics != old_topics || new_updated != updated {
                    for t in old_topics {
                        untopic.execute(params![t, updated.timestamp(), e.key.0])?;
                    }
                    for t in &new_topics {
                        topic.execute(params![t, new_updated.timestamp(), e.key.0])?;
                    }
                }
                // Rows are rewritten only for a source whose rows of the entry moved.
                let was: Vec<(String, i64)> = origins_of
                    .query_map([&e.key.0], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                let sources: BTreeSet<&str> = e.origins.iter().map(|o| o.source.as_str()).collect();
                for source in sources {
                    let mut now_at: Vec<i64> = (e.origins.iter())
                        .filter(|o| o.source == source)
                        .map(|o| o.position as i64)
                        .collect();
                    now_at.sort_unstable();
                    now_at.dedup();
                    let was_at = was.iter().filter(|(s, _)| s == source).map(|(_, p)| *p);
                    if !now_at.iter().copied().eq(was_at) {
                        forget.execute(params![e.key.0, source])?;
                        for p in now_at {
                            origin.execute(params![e.key.0, source, p])?;
                        }
                    }
                }
            }
        }
        tx.commit()?;
        Ok(changes)
    }

    /// The rules the stored topics were classified by, as [`Store::retopic`] named them.
    pub fn topic_rules(&self) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT value FROM meta WHERE name = 'topic_rules'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Classifies every stored entry again, with `topics_of` (title, summary → topic ids), and
    /// records that the topics now follow `rules`. One transaction: all or nothing.
    pub fn retopic(
        &mut self,
        rules: &str,
        topics_of: impl Fn(&str, Option<&str>) -> Vec<String>,
    ) -> Result<(), StoreError> {
        let run = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM entry_topics", [])?;
            {
                let mut read =
                    tx.prepare("SELECT key, title, summary, updated_ts, topics FROM entries")?;
                let mut insert = tx.prepare(
                    "INSERT INTO entry_topics (topic, updated_ts, key) VALUES (?1, ?2, ?3)",
                )?;
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
                let mut set = tx.prepare("UPDATE entries SET topics = ?2 WHERE key = ?1")?;
                for (key, topics) in moved {
                    set.execute(params![key, topics])?;
                }
            }
            tx.execute(
                "INSERT OR REPLACE INTO meta (name, value) VALUES ('topic_rules', ?1)",
                [rules],
            )?;
            tx.commit()
        };
        run(&mut self.conn).map_err(|e| self.err(e))
    }

    /// The newest `limit` entries of a topic (of all entries, for `None`), ordered as
    /// [`Store::entries`], and how many the topic has in all.
    pub fn feed(&self, topic: Option<&str>, limit: usize) -> Result<FeedRows, StoreError> {
        // The newest keys are picked first and only then their rows read: sorting carries the
        // key and the order columns, not every member's summary and topics.
        const COLUMNS: &str =
            "e.id, e.key, e.title, e.link, e.summary, e.published, e.updated, e.topics";
        const ORDER: &str = "ORDER BY e.updated_ts DESC, e.published DESC, e.id";
        // The same order, led by the topic's own copy of `updated_ts`, which its key has.
        const TOPIC_ORDER: &str = "ORDER BY t.updated_ts DESC, e.published DESC, e.id";
        fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(StoredEntry, Vec<String>)> {
            let topics: String = r.get(7)?;
            let topics = topic_ids(&topics).map(str::to_owned).collect();
            Ok((stored_entry(r)?, topics))
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let run = || -> rusqlite::Result<_> {
            let (entries, total) = match topic {
                Some(t) => (
                    self.conn
                        .prepare_cached(&format!(
                            "SELECT {COLUMNS} FROM entries e WHERE e.key IN (
                                 SELECT e.key FROM entry_topics t JOIN entries e ON e.key = t.key
                                 WHERE t.topic = ?1 {TOPIC_ORDER} LIMIT ?2)
                             {ORDER}"
                        ))?
                        .query_map(params![t, limit], row)?
                        .collect::<rusqlite::Result<Vec<_>>>()?,
                    self.conn.query_row(
                        "SELECT count(*) FROM entry_topics WHERE topic = ?1",
                        [t],
                        |r| r.get::<_, i64>(0),
                    )?,
                ),
                None => (
                    self.conn
                        .prepare_cached(&format!(
                            "SELECT {COLUMNS} FROM entries e WHERE e.key IN (
                                 SELECT e.key FROM entries e {ORDER} LIMIT ?1)
                             {ORDER}"
                        ))?
                        .query_map([limit], row)?
                        .collect::<rusqlite::Result<Vec<_>>>()?,
                    self.conn
                        .query_row("SELECT count(*) FROM entries", [], |r| r.get::<_, i64>(0))?,
                ),
            };
            Ok(FeedRows {
                entries,
                total: usize::try_from(total).unwrap_or(0),
            })
        };
        run().map_err(|e| self.err(e))
    }

    /// How many entries the store holds.
    pub fn count(&self) -> Result<usize, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM entries", [], |r| r.get::<_, i64>(0))
            .map(|n| usize::try_from(n).unwrap_or(0))
            .map_err(|e| self.err(e))
    }

    /// Stored entries whose link, key or title is `query`; failing that, those whose title
    /// contains it (compared folded). Each with the rows it was last read from.
    pub fn find(&self, query: &str) -> Result<Vec<(StoredEntry, Vec<Origin>)>, StoreError> {
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
        let with_origins = |e: StoredEntry| -> rusqlite::Result<(StoredEntry, Vec<Origin>)> {
            let mut stmt = self.conn.prepare_cached(
                "SELECT source, position FROM entry_sources WHERE key = ?1
                 ORDER BY source, position",
            )?;
            let origins = stmt
                .query_map([&e.key.0], |r| {
                    Ok(Origin {
                        source: r.get(0)?,
                        position: r.get::<_, i64>(1)? as usize,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok((e, origins))
        };
        found
            .into_iter()
            .map(with_origins)
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Every stored entry, newest first (by `updated`, then `published`, then id).
    pub fn entries(&self) -> Result<Vec<StoredEntry>, StoreError> {
        let run = || -> rusqlite::Result<Vec<StoredEntry>> {
            let mut stmt = self.conn.prepare(
                "SELECT id, key, title, link, summary, published, updated FROM entries
                 ORDER BY updated_ts DESC, published DESC, id",
            )?;
            stmt.query_map([], stored_entry)?.collect()
        };
        run().map_err(|e| self.err(e))
    }
}

/// `entries.topics`: the ids of an entry's topics, space-separated (ids are slugs).
fn topics_column(ids: &[String]) -> String {
    ids.join(" ")
}

/// The ids in an `entries.topics` value.
fn topic_ids(column: &str) -> impl Iterator<Item = &str> {
    column.split_whitespace()
}

/// A [`StoredEntry`] from the columns id, key, title, link, summary, published, updated.
fn stored_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEntry> {
    Ok(StoredEntry {
        id: r.get(0)?,
        key: EntryKey(r.get(1)?),
        title: r.get(2)?,
        link: r.get(3)?,
        summary: r.get(4)?,
        published: parse_time(&r.get::<_, String>(5)?),
        updated: parse_time(&r.get::<_, String>(6)?),
    })
}

/// The permanent Atom id of a key: a UUID (version 8, RFC 9562) made from its SHA-256. It is
/// computed once, when the key is first stored, and read from the store ever after.
fn entry_id(key: &EntryKey) -> String {
    let h = Sha256::digest(key.0.as_bytes());
    let mut b: [u8; 16] = h[..16].try_into().expect("SHA-256 is 32 bytes");
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn format_time(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Times in the store were written by [`format_time`]; one that is not (a hand-edited file) is
/// read as the epoch rather than failing the whole refresh.
fn parse_time(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state written before topics were stored opens, and its entries get their topics at
    /// the first classification.
    #[test]
    fn a_state_from_before_stored_topics_is_brought_up_to_date() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kairan.db");
        {
            let conn = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..3] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 3).unwrap();
            conn.execute_batch(
                "INSERT INTO meta VALUES ('created', '2024-01-01T00:00:00Z');
                 INSERT INTO entries (key, id, title, link, summary, source_date, published,
                     updated, updated_ts, first_seen, last_seen)
                 VALUES ('https://example.org/a', 'urn:uuid:a', '偽のセキュリティ警告に注意',
                     'https://example.org/a', NULL, NULL, '2024-01-01T00:00:00+09:00',
                     '2024-01-01T00:00:00+09:00', 1704034800, '2024-01-01T00:00:00+09:00',
                     '2024-01-01T00:00:00+09:00');",
            )
            .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.topic_rules().unwrap(), None);
        assert_eq!(store.feed(Some("scam"), 10).unwrap().total, 0);
        store
            .retopic("rules-1", |title, _| {
                if title.contains("警告") {
                    vec!["scam".to_owned()]
                } else {
                    Vec::new()
                }
            })
            .unwrap();
        assert_eq!(store.topic_rules().unwrap().as_deref(), Some("rules-1"));
        let feed = store.feed(Some("scam"), 10).unwrap();
        assert_eq!(feed.total, 1);
        assert_eq!(feed.entries[0].0.id, "urn:uuid:a");
        assert_eq!(feed.entries[0].1, vec!["scam".to_owned()]);
        assert_eq!(store.feed(None, 10).unwrap().entries[0].1, vec!["scam"]);
    }

    #[test]
    fn ids_are_uuid_urns_that_differ_per_key() {
        let a = entry_id(&EntryKey("https://www.ipa.go.jp/a.html".into()));
        let b = entry_id(&EntryKey("https://www.ipa.go.jp/b.html".into()));
        assert_ne!(a, b);
        assert_eq!(a.len(), "urn:uuid:".len() + 36);
        assert_eq!(&a[23..24], "8", "version nibble in {a}");
    }
}
