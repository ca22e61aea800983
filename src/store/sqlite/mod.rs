//! The SQLite backend, the embedded default: one file (WAL mode) beside the configuration.
//! Split by concern: [`schema`] (migrations), [`entries`] (a refresh's writes and topics),
//! [`feeds`] (reading entries back), [`sources`] (fetch state and health).

mod entries;
mod feeds;
mod schema;
mod sources;

use super::{Backend, FeedRows, Result, SourceHealth, StoreError, TopicsOf, Transaction};
use crate::fetch::Validators;
use crate::model::{EntryKey, Origin, StoredEntry};
use chrono::{DateTime, FixedOffset};
use rusqlite::{Connection, OptionalExtension};
use std::path::Path;

pub struct Sqlite {
    conn: Connection,
    /// The file, as messages name it.
    state: String,
}

impl Sqlite {
    /// Opens (or creates) the state file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Sqlite> {
        let state = path.display().to_string();
        let fail = |e| StoreError::new(state.clone(), e);
        let mut conn = Connection::open(path).map_err(fail)?;
        schema::migrate(&mut conn).map_err(fail)?;
        Ok(Sqlite { conn, state })
    }

    fn fail(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |e| StoreError::new(self.state.clone(), e)
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
        entries::retopic(&mut self.conn, rules, topics_of)
            .map_err(|e| StoreError::new(self.state.clone(), e))
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

    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>> {
        let Sqlite { conn, state } = self;
        let tx = conn
            .transaction()
            .map_err(|e| StoreError::new(state.clone(), e))?;
        Ok(Box::new(entries::Refresh { tx, state }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    /// A state written before topics were stored opens, and its entries get their topics at
    /// the first classification.
    #[test]
    fn a_state_from_before_stored_topics_is_brought_up_to_date() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kairan.db");
        {
            let conn = Connection::open(&path).unwrap();
            for sql in &schema::MIGRATIONS[..3] {
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
}
