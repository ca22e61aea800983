//! A state's tables as plain rows, for `kairan state copy`: every backend reads and writes the
//! same tables with the same columns, so a state moves between them row for row, its entries'
//! ids and everything else kept.

/// A value in a column, as both backends hold it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

/// A table's rows, in the order of its [`TABLES`] columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    pub rows: Vec<Vec<Value>>,
}

/// Every table of a state with its columns, in an order that satisfies the references
/// (an entry before its rows, an article before its page).
pub const TABLES: &[(&str, &[&str])] = &[
    ("meta", &["name", "value"]),
    (
        "entries",
        &[
            "key",
            "id",
            "title",
            "link",
            "summary",
            "source_date",
            "published",
            "updated",
            "updated_ts",
            "last_seen",
            "topics",
            "rev",
        ],
    ),
    ("entry_sources", &["key", "source", "position"]),
    ("entry_topics", &["topic", "updated_ts", "key"]),
    (
        "sources",
        &[
            "id",
            "url",
            "etag",
            "last_modified",
            "last_attempt",
            "last_success",
            "last_error",
            "consecutive_failures",
            "last_full",
        ],
    ),
    (
        "articles",
        &[
            "key",
            "source",
            "link",
            "listing_date",
            "etag",
            "last_modified",
            "checked",
            "rule",
            "published",
            "updated",
            "failures",
            "last_error",
            "last_attempt",
            "excerpt",
            "content",
        ],
    ),
    (
        "article_pages",
        &["key", "page", "content_type", "page_url"],
    ),
    (
        "outbox",
        &[
            "notify",
            "key",
            "event",
            "queued",
            "failures",
            "refusals",
            "not_before",
            "last_error",
            "sending",
        ],
    ),
    ("archives", &["feed", "month", "fingerprint"]),
    ("objects", &["place", "key", "sha256"]),
];

/// Copies the whole state at `from` into `to`, which must hold no entry (a new state is made
/// there): every table row for row, so each entry keeps its permanent id, and what was
/// published, queued or archived stays known. Both states are locked while it runs, so no
/// refresh writes either. Returns how many entries moved.
pub fn copy(from: &super::Location, to: &super::Location) -> Result<usize, CopyError> {
    use super::{Lock, Store};
    if from == to {
        return Err(CopyError::Same(from.shown()));
    }
    let _from_lock = Lock::acquire(from, false)?;
    let _to_lock = Lock::acquire(to, false)?;
    if !from.may_exist() {
        return Err(CopyError::Missing(from.shown()));
    }
    let source = Store::open(from)?;
    let tables = TABLES
        .iter()
        .map(|(table, columns)| source.export(table, columns))
        .collect::<super::Result<Vec<Rows>>>()?;
    let mut target = Store::open(to)?;
    target.import(&tables)?;
    Ok(target.count()?)
}

/// Why a state could not be copied.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("{0}: there is no state to copy")]
    Missing(String),
    #[error("{0} is both the state to copy and where to copy it")]
    Same(String),
    #[error(transparent)]
    Lock(#[from] super::LockError),
    #[error(transparent)]
    Store(#[from] super::StoreError),
}
