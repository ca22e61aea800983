//! The PostgreSQL schema, built up by numbered migrations whose count is kept in
//! `kairan_schema`, in the connection's current schema (`public`, unless the URL's
//! `options=-c search_path=...` says otherwise).
//!
//! The tables and columns are SQLite's (see [`crate::store::sqlite`]'s migrations), so that a
//! state moves between the backends row for row: TEXT as TEXT, every INTEGER as BIGINT (read
//! as `i64`), BLOB as BYTEA. Two differences, both for the same results as SQLite's:
//! - every text column compares byte by byte (`COLLATE "C"`), as SQLite's do: an order by id
//!   or source is the same in both, whatever the database's locale;
//! - no foreign keys: a state copied from SQLite must load whole, as it is, table by table
//!   (there, rusqlite's bundled SQLite enforces the `REFERENCES`).

use super::{Db, Fallible};

/// Applied in order; the index + 1 is the schema version. Never edit one that has shipped.
pub(super) const MIGRATIONS: &[&str] = &[
    "
    -- SQLite's schema at its migration 10, whole.
    CREATE TABLE meta (name TEXT COLLATE \"C\" PRIMARY KEY, value TEXT COLLATE \"C\" NOT NULL);
    CREATE TABLE entries (
        key TEXT COLLATE \"C\" PRIMARY KEY,
        id TEXT COLLATE \"C\" NOT NULL UNIQUE,
        title TEXT COLLATE \"C\" NOT NULL,
        link TEXT COLLATE \"C\" NOT NULL,
        summary TEXT COLLATE \"C\",
        source_date TEXT COLLATE \"C\",      -- the listing or feed date as last seen
        published TEXT COLLATE \"C\" NOT NULL, -- RFC 3339 with the source's offset
        updated TEXT COLLATE \"C\" NOT NULL,
        updated_ts BIGINT NOT NULL,
        last_seen TEXT COLLATE \"C\" NOT NULL,
        topics TEXT COLLATE \"C\" NOT NULL DEFAULT '', -- topic ids, space-separated
        rev BIGINT NOT NULL DEFAULT 0        -- counted up by every write a feed shows
    );
    CREATE INDEX entries_by_updated ON entries (updated_ts DESC, key, rev);
    CREATE TABLE entry_sources (
        key TEXT COLLATE \"C\" NOT NULL,
        source TEXT COLLATE \"C\" NOT NULL,
        position BIGINT NOT NULL,
        PRIMARY KEY (key, source, position)
    );
    -- A topic's entries newest first: an index read backwards, as a primary key has no DESC.
    CREATE TABLE entry_topics (
        topic TEXT COLLATE \"C\" NOT NULL,
        updated_ts BIGINT NOT NULL,          -- the entry's
        key TEXT COLLATE \"C\" NOT NULL,
        PRIMARY KEY (topic, updated_ts, key)
    );
    CREATE TABLE sources (
        id TEXT COLLATE \"C\" PRIMARY KEY,
        url TEXT COLLATE \"C\" NOT NULL,
        etag TEXT COLLATE \"C\",
        last_modified TEXT COLLATE \"C\",
        last_attempt TEXT COLLATE \"C\",
        last_success TEXT COLLATE \"C\",
        last_error TEXT COLLATE \"C\",
        consecutive_failures BIGINT NOT NULL DEFAULT 0,
        last_full TEXT COLLATE \"C\"          -- when a whole body last arrived
    );
    CREATE TABLE articles (
        key TEXT COLLATE \"C\" PRIMARY KEY,
        source TEXT COLLATE \"C\" NOT NULL,
        link TEXT COLLATE \"C\" NOT NULL,     -- the URL asked for
        listing_date TEXT COLLATE \"C\",      -- the entry's listing date when asked for
        etag TEXT COLLATE \"C\",
        last_modified TEXT COLLATE \"C\",
        checked TEXT COLLATE \"C\",           -- when a page or a 304 last came
        rule TEXT COLLATE \"C\",              -- the rule the page was last read with
        published TEXT COLLATE \"C\",
        updated TEXT COLLATE \"C\",
        failures BIGINT NOT NULL DEFAULT 0,
        last_error TEXT COLLATE \"C\",
        last_attempt TEXT COLLATE \"C\",
        excerpt TEXT COLLATE \"C\",
        content TEXT COLLATE \"C\"            -- sanitized HTML
    );
    CREATE INDEX articles_by_source ON articles (source);
    CREATE TABLE article_pages (
        key TEXT COLLATE \"C\" PRIMARY KEY,
        page BYTEA NOT NULL,                 -- as it came, zlib
        content_type TEXT COLLATE \"C\",
        page_url TEXT COLLATE \"C\" NOT NULL  -- after redirects
    );
    CREATE TABLE outbox (
        notify TEXT COLLATE \"C\" NOT NULL,   -- [[notify]] id
        key TEXT COLLATE \"C\" NOT NULL,
        event TEXT COLLATE \"C\" NOT NULL,    -- 'new' | 'updated'
        queued TEXT COLLATE \"C\" NOT NULL,
        failures BIGINT NOT NULL DEFAULT 0,
        refusals BIGINT NOT NULL DEFAULT 0,
        not_before TEXT COLLATE \"C\",
        last_error TEXT COLLATE \"C\",
        sending TEXT COLLATE \"C\",           -- when handed to the receiver
        PRIMARY KEY (notify, key)
    );
    CREATE TABLE archives (
        feed TEXT COLLATE \"C\" NOT NULL,     -- 'all' or a topic id
        month TEXT COLLATE \"C\" NOT NULL,    -- YYYY-MM, in the site's zone
        fingerprint TEXT COLLATE \"C\" NOT NULL,
        PRIMARY KEY (feed, month)
    );
    -- The objects published to a bucket, by place (its URL) and key, with their hashes.
    CREATE TABLE objects (
        place TEXT COLLATE \"C\" NOT NULL,
        key TEXT COLLATE \"C\" NOT NULL,
        sha256 TEXT COLLATE \"C\" NOT NULL,
        PRIMARY KEY (place, key)
    );
",
    "
    -- SQLite's migration 11: an entry's id is a hash of its key, unique as the key is, and
    -- its own unique index only cost an index entry at a random place for every new entry.
    ALTER TABLE entries DROP CONSTRAINT IF EXISTS entries_id_key;
",
];

/// The key of the transaction-scoped advisory lock that migrations run under, so that two
/// processes opening an old (or empty) database at once do not both migrate it. Not the
/// writer's lock ([`super::lock`]): opening a state to read it must not wait for a refresh.
const MIGRATING: i64 = i64::from_be_bytes(*b"kairan:m");

/// Brings the schema up to date in one transaction; an empty database gets the whole schema
/// and records when it was created. Returns why the database cannot be used as this kairan's
/// state, if it cannot: a schema newer than this kairan knows, or another program's tables.
/// Either would be damaged by migrating it.
pub(super) fn migrate(db: &mut Db) -> Fallible<Option<String>> {
    db.transaction(|db| {
        db.query("SELECT pg_advisory_xact_lock($1)", &[&MIGRATING])?;
        let tables = db.query(
            "SELECT c.relname::text FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
            &[],
        )?;
        let mut kairan = false;
        for r in &tables {
            kairan |= r.try_get::<_, &str>(0)? == "kairan_schema";
        }
        let version: i64 = if kairan {
            match db.query_opt("SELECT version FROM kairan_schema", &[])? {
                Some(r) => r.try_get(0)?,
                None => return Ok(Some(not_kairan())),
            }
        } else if tables.is_empty() {
            0
        } else {
            return Ok(Some(not_kairan()));
        };
        let known = MIGRATIONS.len();
        let Some(from) = usize::try_from(version).ok().filter(|v| *v <= known) else {
            return Ok(Some(format!(
                "was written by a newer kairan (schema {version}; this one knows up to \
                 {known}): run that kairan, or restore a backup from before it"
            )));
        };
        for sql in &MIGRATIONS[from..] {
            db.batch(sql)?;
        }
        let known = known as i64;
        if version == 0 {
            db.batch("CREATE TABLE kairan_schema (version BIGINT NOT NULL)")?;
            db.execute("INSERT INTO kairan_schema (version) VALUES ($1)", &[&known])?;
            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            super::archives::set_note(db, "created", &now)?;
        } else if version < known {
            db.execute("UPDATE kairan_schema SET version = $1", &[&known])?;
        }
        Ok(None)
    })
}

fn not_kairan() -> String {
    "is a PostgreSQL database but not a kairan state (it holds other tables); point [state] \
     url or --state at an empty database, or at kairan's own"
        .to_owned()
}
