//! The SQLite schema, built up by numbered migrations (`PRAGMA user_version`), and the
//! connection settings every open applies.

use rusqlite::Connection;

/// Applied in order; the index + 1 is the schema version. Never edit one that has shipped.
/// A new state is made from [`SCHEMA`] instead.
pub(super) const MIGRATIONS: &[&str] = &[
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
    "
    -- first_seen was written and never read: a first sighting's date is its published.
    ALTER TABLE entries DROP COLUMN first_seen;
",
    "
    -- Each entry's own page, where its source reads articles: what the rule made of it and how
    -- fetching it went; large text last, so that reading the small columns walks no overflow.
    CREATE TABLE articles (
        key TEXT PRIMARY KEY REFERENCES entries (key),
        source TEXT NOT NULL,
        link TEXT NOT NULL,          -- the URL asked for
        listing_date TEXT,           -- the entry's listing date when it was asked for
        etag TEXT,
        last_modified TEXT,
        checked TEXT,                -- when a page or a 304 last came
        rule TEXT,                   -- the rule the page was last read with
        published TEXT,
        updated TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        last_attempt TEXT,
        excerpt TEXT,
        content TEXT                 -- sanitized HTML
    );
    CREATE INDEX articles_by_source ON articles (source);
    -- The page as it came (zlib), apart: a changed rule reads it again without a request, and
    -- a run that reads only the articles' state never touches it.
    CREATE TABLE article_pages (
        key TEXT PRIMARY KEY REFERENCES articles (key),
        page BLOB NOT NULL,
        content_type TEXT,
        page_url TEXT NOT NULL       -- after redirects
    );
",
    "
    -- Notifications to send, queued with the entries they announce and kept until the
    -- receiver accepts them; one per entry and notification.
    CREATE TABLE outbox (
        notify TEXT NOT NULL,        -- [[notify]] id
        key TEXT NOT NULL REFERENCES entries (key),
        event TEXT NOT NULL,         -- 'new' | 'updated'
        queued TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        refusals INTEGER NOT NULL DEFAULT 0,
        not_before TEXT,
        last_error TEXT,
        sending TEXT,                -- when handed to the receiver; cleared by its answer
        PRIMARY KEY (notify, key)
    ) WITHOUT ROWID;
",
    "
    -- The archive documents (RFC 5005) as last written: one per feed and month, with the
    -- fingerprint of what it holds, so that a run renders only the months that changed.
    CREATE TABLE archives (
        feed TEXT NOT NULL,          -- 'all' or a topic id
        month TEXT NOT NULL,         -- YYYY-MM of its entries' updated, in the site's zone
        fingerprint TEXT NOT NULL,
        PRIMARY KEY (feed, month)
    ) WITHOUT ROWID;
    -- Every entry's updated and key from the index alone: the combined feed's archive plan.
    DROP INDEX entries_by_updated;
    CREATE INDEX entries_by_updated ON entries (updated_ts DESC, key);
",
    "
    -- Each entry's revision, counted up by every write of what a feed shows of it (its text,
    -- dates, topics, article, sources): an archive month's fingerprint reads it from the index.
    ALTER TABLE entries ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
    DROP INDEX entries_by_updated;
    CREATE INDEX entries_by_updated ON entries (updated_ts DESC, key, rev);
",
    "
    -- What an object store holds of the output: each object's SHA-256 as last uploaded, by
    -- the bucket's URL and key, so that a run uploads only what changed and never lists it.
    CREATE TABLE objects (
        place TEXT NOT NULL,
        key TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        PRIMARY KEY (place, key)
    ) WITHOUT ROWID;
",
    "
    -- An entry's id is a hash of its key (`rules::entry_id`), unique as the key is, and no
    -- entry is looked up by it: its own unique index only cost a tree written at a random
    -- place for every new entry, a tenth of a first import's storing (BENCHMARKS.md section
    -- 13). SQLite drops a UNIQUE constraint only by building the table again.
    CREATE TABLE entries_rebuilt (
        key TEXT PRIMARY KEY,
        id TEXT NOT NULL,
        title TEXT NOT NULL,
        link TEXT NOT NULL,
        summary TEXT,
        source_date TEXT,
        published TEXT NOT NULL,
        updated TEXT NOT NULL,
        updated_ts INTEGER NOT NULL,
        last_seen TEXT NOT NULL,
        topics TEXT NOT NULL DEFAULT '',
        rev INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO entries_rebuilt (key, id, title, link, summary, source_date, published,
        updated, updated_ts, last_seen, topics, rev)
        SELECT key, id, title, link, summary, source_date, published, updated, updated_ts,
            last_seen, topics, rev
        FROM entries;
    DROP TABLE entries;
    ALTER TABLE entries_rebuilt RENAME TO entries;
    CREATE INDEX entries_by_updated ON entries (updated_ts DESC, key, rev);
",
];

/// The schema [`MIGRATIONS`] build, written out whole: a new state is made with it at once
/// rather than by replaying every step (a dozen scripts, each parsed and checked against the
/// schema before it: most of a first run's SQL). A test holds the two to the same tables,
/// columns, keys, foreign keys and indexes, as SQLite's pragmas report them (not CHECK
/// constraints, triggers or views, which kairan's schema has none of); a new migration is
/// written here too.
pub(super) const SCHEMA: &str = "
    CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE entries (
        key TEXT PRIMARY KEY,
        id TEXT NOT NULL,          -- a hash of the key, so unique as it is
        title TEXT NOT NULL,
        link TEXT NOT NULL,
        summary TEXT,
        source_date TEXT,          -- the listing or feed date as last seen, part of the content
        published TEXT NOT NULL,   -- RFC 3339 with the source's offset
        updated TEXT NOT NULL,
        updated_ts INTEGER NOT NULL,
        last_seen TEXT NOT NULL,
        topics TEXT NOT NULL DEFAULT '', -- topic ids, space-separated, as meta 'topic_rules' made them
        rev INTEGER NOT NULL DEFAULT 0   -- counted up by every write of what a feed shows of it
    );
    CREATE INDEX entries_by_updated ON entries (updated_ts DESC, key, rev);
    CREATE TABLE sources (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        last_attempt TEXT,
        last_success TEXT,
        last_error TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        last_full TEXT             -- when a whole body last arrived
    );
    CREATE TABLE entry_sources (
        key TEXT NOT NULL REFERENCES entries (key),
        source TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (key, source, position)
    );
    CREATE TABLE entry_topics (
        topic TEXT NOT NULL,
        updated_ts INTEGER NOT NULL,  -- the entry's
        key TEXT NOT NULL REFERENCES entries (key),
        PRIMARY KEY (topic, updated_ts DESC, key)
    ) WITHOUT ROWID;
    CREATE TABLE articles (
        key TEXT PRIMARY KEY REFERENCES entries (key),
        source TEXT NOT NULL,
        link TEXT NOT NULL,          -- the URL asked for
        listing_date TEXT,           -- the entry's listing date when it was asked for
        etag TEXT,
        last_modified TEXT,
        checked TEXT,                -- when a page or a 304 last came
        rule TEXT,                   -- the rule the page was last read with
        published TEXT,
        updated TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        last_attempt TEXT,
        excerpt TEXT,
        content TEXT                 -- sanitized HTML
    );
    CREATE INDEX articles_by_source ON articles (source);
    CREATE TABLE article_pages (
        key TEXT PRIMARY KEY REFERENCES articles (key),
        page BLOB NOT NULL,
        content_type TEXT,
        page_url TEXT NOT NULL       -- after redirects
    );
    CREATE TABLE outbox (
        notify TEXT NOT NULL,        -- [[notify]] id
        key TEXT NOT NULL REFERENCES entries (key),
        event TEXT NOT NULL,         -- 'new' | 'updated'
        queued TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        refusals INTEGER NOT NULL DEFAULT 0,
        not_before TEXT,
        last_error TEXT,
        sending TEXT,                -- when handed to the receiver; cleared by its answer
        PRIMARY KEY (notify, key)
    ) WITHOUT ROWID;
    CREATE TABLE archives (
        feed TEXT NOT NULL,          -- 'all' or a topic id
        month TEXT NOT NULL,         -- YYYY-MM of its entries' updated, in the site's zone
        fingerprint TEXT NOT NULL,
        PRIMARY KEY (feed, month)
    ) WITHOUT ROWID;
    CREATE TABLE objects (
        place TEXT NOT NULL,
        key TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        PRIMARY KEY (place, key)
    ) WITHOUT ROWID;
";

/// How long a statement waits for another process's write before failing.
pub(super) fn wait_when_busy(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))
}

/// Why the file cannot be used as this kairan's state, if it cannot: a schema newer than this
/// kairan knows, or another program's database. Either would be damaged by migrating it.
pub(super) fn unusable(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = MIGRATIONS.len();
    if usize::try_from(version).map_or(true, |v| v > known) {
        return Ok(Some(format!(
            "was written by a newer kairan (schema {version}; this one knows up to {known}): \
             run that kairan, or restore a backup from before it"
        )));
    }
    if version == 0 {
        let objects: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
        if objects > 0 {
            return Ok(Some(
                "is a SQLite database but not a kairan state; point [state] path or --state at \
                 kairan's own file"
                    .to_owned(),
            ));
        }
    }
    Ok(None)
}

/// Applies the connection settings and every migration the file has not had, in one
/// transaction; a new file gets [`SCHEMA`] whole and records when it was created.
/// `aside`: the file is a new state being built where no one else sees it, synced once, whole,
/// before it is linked into place, and opened again there ([`super::aside`]).
pub(super) fn migrate(conn: &mut Connection, aside: bool) -> rusqlite::Result<()> {
    let synchronous = if aside { "OFF" } else { "NORMAL" };
    conn.pragma_update(None, "synchronous", synchronous)?;
    // WAL: a reader (serve, status) never blocks the refresh, and a killed run leaves the
    // last committed state. A state built aside has no reader and, killed, is thrown away: its
    // journal is kept in memory (no file made, synced and removed beside it; a new file's pages
    // need none, and a failed statement or transaction still rolls back), and it is WAL once
    // opened in place.
    let journal = if aside { "MEMORY" } else { "WAL" };
    conn.pragma_update(None, "journal_mode", journal)?;
    wait_when_busy(conn)?;
    // 32 MiB of page cache rather than SQLite's 2: a refresh of a large store touches
    // index pages all over, and a small cache rereads and spills them (measured in
    // BENCHMARKS.md).
    conn.pragma_update(None, "cache_size", -32768)?;
    // A migration that builds a table again (SQLite's only way to drop a constraint) drops
    // the old one while other tables still refer to it, which enforced foreign keys (on in
    // rusqlite's bundled SQLite) refuse: they are off while migrating and back as they were
    // after, as SQLite's procedure for such changes asks (lang_altertable.html#otheralter).
    // The rows are copied as they are, so no reference is left without its entry.
    let foreign_keys: bool = conn.pragma_query_value(None, "foreign_keys", |r| r.get(0))?;
    conn.pragma_update(None, "foreign_keys", false)?;
    // Read inside a write transaction, so that two processes opening an old state at once do
    // not both apply the same migration.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let applied = if version == 0 {
        // An empty file (`unusable` refuses any other at version 0): the whole schema at once.
        tx.execute_batch(SCHEMA)?;
        tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
        MIGRATIONS.len()
    } else {
        usize::try_from(version).unwrap_or(0)
    };
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    if version == 0 {
        tx.execute(
            "INSERT INTO meta (name, value) VALUES ('created', ?1)",
            [chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)],
        )?;
    }
    tx.commit()?;
    // Left off in a state made aside: its one refresh, a first import, writes each entry before
    // what refers to it, in one transaction, and copies each topic's entries over at its end
    // in their own order, where every check would read the entries' key index at a random
    // place (`entries::Import`). Opened in place, the state checks every later write.
    conn.pragma_update(None, "foreign_keys", foreign_keys && !aside)?;
    Ok(())
}
