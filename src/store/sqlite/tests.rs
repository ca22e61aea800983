//! The SQLite backend's own tests: what only a SQLite file shows.

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
    let mut store = Store::open(&super::super::Location::File(path.clone())).unwrap();
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

/// Makes a new state at `path` by committing a refresh with nothing in it.
fn placed(path: &std::path::Path) {
    let mut store = Store::open(&super::super::Location::File(path.to_owned())).unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-02-01T00:00:00+09:00").unwrap();
    (store.commit(now, &Default::default(), std::iter::empty(), |_| Vec::new())).unwrap();
}

/// The files in `dir`, by name.
fn files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = (std::fs::read_dir(dir).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A new state is made aside and put in place by its first commit: until then there is no
/// file where it goes, and one dropped uncommitted, or whose first commit failed, leaves
/// nothing behind.
#[test]
fn a_new_state_is_in_place_only_once_committed_to() {
    use crate::model::{Entry, Origin};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kairan.db");
    let at = super::super::Location::File(path.clone());
    let now = chrono::DateTime::parse_from_rfc3339("2026-02-01T00:00:00+09:00").unwrap();
    let entry = |n: u32| Entry {
        key: EntryKey(format!("https://example.org/{n}")),
        title: format!("警告 {n}"),
        link: format!("https://example.org/{n}"),
        summary: None,
        published: None,
        updated: None,
        origins: vec![Origin {
            source: "anshin".to_owned(),
            position: n as usize,
        }],
    };
    let scam = |_: &Entry| vec!["scam".to_owned()];
    // Fails after an entry is written: the import's dropped index and staged topics roll back.
    let unreadable = || [Ok(entry(1)), Err(StoreError::new("rows", "unreadable"))].into_iter();
    drop(Store::open(&at).unwrap());
    assert_eq!(files(dir.path()), Vec::<String>::new());
    let mut store = Store::open(&at).unwrap();
    assert!(!at.may_exist());
    assert!(
        store
            .commit(now, &Default::default(), unreadable(), scam)
            .is_err()
    );
    drop(store);
    assert_eq!(files(dir.path()), Vec::<String>::new());
    let mut store = Store::open(&at).unwrap();
    let made = files(dir.path());
    assert!(
        made.iter().any(|n| n.starts_with("kairan.db.new-")),
        "{made:?}"
    );
    assert!(
        store
            .commit(now, &Default::default(), unreadable(), scam)
            .is_err()
    );
    let two: Vec<Entry> = [1, 2].into_iter().map(entry).collect();
    let changes = store.commit(now, &Default::default(), super::super::listed(&two), scam);
    assert_eq!(changes.unwrap().new, 2);
    assert_eq!(
        files(dir.path()),
        ["kairan.db", "kairan.db-shm", "kairan.db-wal"]
    );
    assert_eq!(store.feed(Some("scam"), 10).unwrap().total, 2);
    // The store goes on in the placed file: what it writes next is there for others.
    store.set_published_stamp("stamp").unwrap();
    let note: String = Connection::open(&path)
        .unwrap()
        .query_row("SELECT value FROM meta WHERE name = 'published'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(note, "stamp");
}

/// Foreign keys, off while a new state is made aside, are enforced once it is in place; and a
/// file left by an earlier process with this one's pid is never taken for the new state.
#[test]
fn a_placed_state_checks_foreign_keys_and_a_stale_new_file_is_not_taken() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kairan.db");
    let stale = dir
        .path()
        .join(format!("kairan.db.new-{}.0", std::process::id()));
    std::fs::write(
        &stale,
        b"half of an import killed by the out-of-memory killer",
    )
    .unwrap();
    let mut sqlite = Sqlite::open(&path).unwrap();
    let on = |conn: &Connection| -> bool {
        conn.pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap()
    };
    assert!(!on(&sqlite.conn));
    sqlite.begin().unwrap().commit().unwrap();
    sqlite.place().unwrap();
    assert!(on(&sqlite.conn));
    let dangling = sqlite.conn.execute(
        "INSERT INTO entry_sources (key, source, position) VALUES ('nowhere', 'anshin', 1)",
        [],
    );
    assert!(dangling.is_err(), "{dangling:?}");
    assert_eq!(
        files(dir.path()),
        ["kairan.db", "kairan.db-shm", "kairan.db-wal"]
    );
}

/// A new state is built aside, its first import's topics and date index built sorted at its
/// commit: after it, the state has every table and index a new one has, is WAL and whole, each
/// topic reads newest first, and the next refresh keeps it so.
#[test]
fn a_first_import_leaves_the_schema_and_order_of_a_migrated_state() {
    use crate::model::{Entry, Origin};
    let dir = tempfile::tempdir().unwrap();
    let open = |name: &str| Store::open(&super::super::Location::File(dir.path().join(name)));
    let schema = |name: &str| -> Vec<(String, Option<String>)> {
        let conn = Connection::open(dir.path().join(name)).unwrap();
        let mut read = conn
            .prepare("SELECT name, sql FROM sqlite_schema ORDER BY name")
            .unwrap();
        read.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let day = |n: u32| {
        chrono::DateTime::parse_from_rfc3339(&format!("2026-01-{n:02}T00:00:00+09:00")).ok()
    };
    let entry = |n: u32| Entry {
        key: EntryKey(format!("https://example.org/{n}")),
        title: format!("警告 {n}"),
        link: format!("https://example.org/{n}"),
        summary: None,
        published: day(n),
        updated: day(n),
        origins: vec![Origin {
            source: "anshin".to_owned(),
            position: n as usize,
        }],
    };
    let now = chrono::DateTime::parse_from_rfc3339("2026-02-01T00:00:00+09:00").unwrap();
    let scam = |_: &Entry| vec!["scam".to_owned()];
    placed(&dir.path().join("new.db"));
    let mut store = open("loaded.db").unwrap();
    let first: Vec<Entry> = [3, 1, 2].into_iter().map(entry).collect();
    let changes =
        (store.commit(now, &Default::default(), super::super::listed(&first), scam)).unwrap();
    assert_eq!(changes.new, 3);
    assert_eq!(schema("loaded.db"), schema("new.db"));
    let newest = |store: &Store| -> Vec<String> {
        let feed = store.feed(Some("scam"), 10).unwrap();
        feed.entries.into_iter().map(|(e, _)| e.title).collect()
    };
    assert_eq!(newest(&store), ["警告 3", "警告 2", "警告 1"]);
    let next: Vec<Entry> = [4].into_iter().map(entry).collect();
    store
        .commit(now, &Default::default(), super::super::listed(&next), scam)
        .unwrap();
    assert_eq!(newest(&store), ["警告 4", "警告 3", "警告 2", "警告 1"]);
    // The import's rows, its topics copied over at its end and the date index built then, are
    // whole and refer to stored entries, as the refresh after it, which checks as it writes.
    let loaded = Connection::open(dir.path().join("loaded.db")).unwrap();
    let check = |sql: &str| -> Vec<String> {
        let mut read = loaded.prepare(sql).unwrap();
        let rows = read.query_map([], |r| r.get::<_, rusqlite::types::Value>(0));
        let rows = rows.unwrap().map(|v| format!("{:?}", v.unwrap()));
        rows.collect()
    };
    assert_eq!(check("PRAGMA integrity_check"), ["Text(\"ok\")"]);
    assert_eq!(check("PRAGMA foreign_key_check"), Vec::<String>::new());
    assert_eq!(
        check("SELECT key FROM entry_topics WHERE topic = 'scam'"),
        [4, 3, 2, 1].map(|n| format!("Text(\"https://example.org/{n}\")"))
    );
    // Built aside, the new state is WAL once in place.
    let mode: String = Connection::open(dir.path().join("new.db"))
        .unwrap()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

/// A new state is made from `SCHEMA` at once: it has the tables, columns, keys and indexes
/// that every migration applied in turn leaves.
#[test]
fn the_whole_schema_is_what_the_migrations_build() {
    /// Every table's and index's shape as SQLite reports it, comments and layout aside.
    fn shape(conn: &Connection) -> Vec<String> {
        // Each row of a query, its values written out.
        let rows = |sql: &str| -> Vec<String> {
            let mut stmt = conn.prepare(sql).unwrap();
            let n = stmt.column_count();
            let row = |r: &rusqlite::Row<'_>| {
                let values = (0..n).map(|i| r.get::<_, rusqlite::types::Value>(i));
                Ok(format!(
                    "{:?}",
                    values.collect::<rusqlite::Result<Vec<_>>>()?
                ))
            };
            let rows = stmt.query_map([], row).unwrap();
            rows.collect::<rusqlite::Result<_>>().unwrap()
        };
        let names = |sql: &str| -> Vec<String> {
            let mut stmt = conn.prepare(sql).unwrap();
            let rows = stmt.query_map([], |r| r.get(0)).unwrap();
            rows.collect::<rusqlite::Result<_>>().unwrap()
        };
        let mut shape = rows("SELECT type, name, tbl_name FROM sqlite_schema ORDER BY type, name");
        for t in names("SELECT name FROM pragma_table_list WHERE schema = 'main' ORDER BY name") {
            shape.push(format!("table {t}"));
            shape.extend(rows(&format!(
                "SELECT type, ncol, wr, strict FROM pragma_table_list WHERE name = '{t}'"
            )));
            shape.extend(rows(&format!(
                "SELECT cid, name, type, \"notnull\", dflt_value, pk, hidden
                 FROM pragma_table_xinfo('{t}')"
            )));
            shape.extend(rows(&format!(
                "SELECT seq, \"table\", \"from\", \"to\", on_update, on_delete, \"match\"
                 FROM pragma_foreign_key_list('{t}')"
            )));
            shape.extend(rows(&format!(
                "SELECT name, \"unique\", origin, partial FROM pragma_index_list('{t}')
                 ORDER BY name"
            )));
        }
        for i in names("SELECT name FROM sqlite_schema WHERE type = 'index' ORDER BY name") {
            shape.push(format!("index {i}"));
            shape.extend(rows(&format!(
                "SELECT seqno, cid, name, \"desc\", coll, key FROM pragma_index_xinfo('{i}')"
            )));
        }
        shape
    }
    let dir = tempfile::tempdir().unwrap();
    let migrated = Connection::open(dir.path().join("migrated.db")).unwrap();
    for sql in schema::MIGRATIONS {
        migrated.execute_batch(sql).unwrap();
    }
    let path = dir.path().join("new.db");
    placed(&path);
    let new = Connection::open(&path).unwrap();
    let version: i64 = (new.pragma_query_value(None, "user_version", |r| r.get(0))).unwrap();
    assert_eq!(version, schema::MIGRATIONS.len() as i64);
    let new = shape(&new);
    assert!(
        new.iter().any(|l| l == "index entries_by_updated"),
        "{new:#?}"
    );
    assert_eq!(new, shape(&migrated));
}

/// A state whose entries other tables refer to (rows, topics, an article, a message) is
/// brought past the migration that builds the entries table again, with every row kept.
#[test]
fn rebuilding_the_entries_table_keeps_every_row_that_refers_to_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kairan.db");
    let before = schema::MIGRATIONS.len() - 1;
    let tables = [
        "entries",
        "entry_sources",
        "entry_topics",
        "articles",
        "outbox",
    ];
    let count = |conn: &Connection, table: &str| -> i64 {
        (conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))).unwrap()
    };
    {
        let conn = Connection::open(&path).unwrap();
        for sql in &schema::MIGRATIONS[..before] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", before as i64)
            .unwrap();
        conn.execute_batch(
            "INSERT INTO meta VALUES ('created', '2024-01-01T00:00:00Z');
             INSERT INTO entries (key, id, title, link, published, updated, updated_ts,
                 last_seen, topics, rev)
             VALUES ('https://example.org/a', 'urn:uuid:a', '偽のセキュリティ警告に注意',
                 'https://example.org/a', '2024-01-01T00:00:00+09:00',
                 '2024-01-01T00:00:00+09:00', 1704034800, '2024-01-01T00:00:00+09:00',
                 'scam', 3);
             INSERT INTO entry_sources VALUES ('https://example.org/a', 'anshin', 0);
             INSERT INTO entry_topics VALUES ('scam', 1704034800, 'https://example.org/a');
             INSERT INTO articles (key, source, link)
             VALUES ('https://example.org/a', 'anshin', 'https://example.org/a');
             INSERT INTO outbox (notify, key, event, queued)
             VALUES ('teams', 'https://example.org/a', 'new', '2024-01-01T00:00:00Z');",
        )
        .unwrap();
        for table in tables {
            assert_eq!(count(&conn, table), 1, "{table}");
        }
    }
    let store = Store::open(&super::super::Location::File(path.clone())).unwrap();
    let feed = store.feed(Some("scam"), 10).unwrap();
    assert_eq!(feed.entries[0].0.id, "urn:uuid:a");
    drop(store);
    let conn = Connection::open(&path).unwrap();
    let version: i64 = (conn.pragma_query_value(None, "user_version", |r| r.get(0))).unwrap();
    assert_eq!(version, schema::MIGRATIONS.len() as i64);
    for table in tables {
        assert_eq!(count(&conn, table), 1, "{table}");
    }
    let rev: i64 = (conn.query_row("SELECT rev FROM entries", [], |r| r.get(0))).unwrap();
    assert_eq!(rev, 3);
    let unique: i64 = conn
        .query_row(
            "SELECT count(*) FROM pragma_index_list('entries') WHERE \"unique\" AND origin = 'u'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unique, 0, "the id's unique index is gone");
    assert!(
        (conn.prepare("PRAGMA foreign_key_check").unwrap())
            .query([])
            .unwrap()
            .next()
            .unwrap()
            .is_none()
    );
}
