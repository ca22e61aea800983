//! The one model every stage speaks: raw rows out of extraction, entries after normalization.

use chrono::{DateTime, FixedOffset, Utc};
use std::fmt;

/// A date as a source gave it: listing text, or an instant a feed parser already read.
#[derive(Debug, Clone, PartialEq)]
pub enum RawDate {
    Text(String),
    Instant(DateTime<Utc>),
}

/// One row as extracted, before any cleaning: strings as found on the page or in the feed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawRow {
    /// 1-based position of the row in its source, for warnings and provenance.
    pub position: usize,
    pub title: Option<String>,
    pub link: Option<String>,
    pub summary: Option<String>,
    pub published: Option<RawDate>,
    pub updated: Option<RawDate>,
}

/// The deduplication key: the canonical URL, or normalized title and date where there is no link.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryKey(pub String);

impl fmt::Display for EntryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an entry was seen: which source, which row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Origin {
    pub source: String,
    pub position: usize,
}

/// As messages name a row: `anshin row 45`.
impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} row {}", self.source, self.position)
    }
}

/// A normalized entry: clean text, absolute link, dates with the source's offset.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: EntryKey,
    pub title: String,
    /// Absolute http(s) URL, without fragment or tracking parameters.
    pub link: String,
    /// Plain text; paragraphs separated by `\n`.
    pub summary: Option<String>,
    /// Earliest date known for the entry (a date in the article's URL counts).
    pub published: Option<DateTime<FixedOffset>>,
    /// Latest listing or feed date.
    pub updated: Option<DateTime<FixedOffset>>,
    pub origins: Vec<Origin>,
}

/// An entry as the store keeps it: with its permanent id and settled dates.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntry {
    /// The Atom id, assigned once when the key was first seen.
    pub id: String,
    pub key: EntryKey,
    pub title: String,
    pub link: String,
    pub summary: Option<String>,
    pub published: DateTime<FixedOffset>,
    pub updated: DateTime<FixedOffset>,
    /// One of its sources (the first by id): what an entry without a summary is described by.
    pub source: Option<String>,
    /// Its article's sanitized HTML, where its source reads articles and one was read.
    pub content: Option<String>,
    /// The start of the article as plain text: what stands for a summary the listing lacks.
    pub excerpt: Option<String>,
}

/// What an entry's own page gave, by its source's article rule: sanitized, dated.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// Sanitized HTML, links absolute.
    pub content: String,
    /// The first [`crate::text::MAX_EXCERPT_CHARS`] characters of the content as text.
    pub excerpt: String,
    pub dates: ArticleDates,
}

/// The dates an article page prints (公開日, 最終更新日): the true ones, where the listing shows
/// only one of them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ArticleDates {
    pub published: Option<DateTime<FixedOffset>>,
    pub updated: Option<DateTime<FixedOffset>>,
}
