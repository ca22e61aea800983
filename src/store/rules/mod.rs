//! The rules of the state, apart from any database: how a first sighting is dated, what counts
//! as a change when an entry is seen again and which date wins (an article's dates among the
//! witnesses), when topics are classified again, when rows move, when validators are still
//! trusted, and in [`article`] when an entry's own page is read again. Every backend applies these
//! same rules (through [`super::Store::commit`]); they are pure, so they are tested here without
//! a database.

use crate::fetch::Validators;
pub mod article;
pub mod outbox;

use crate::model::{ArticleDates, Entry, EntryKey, Origin};
use chrono::{DateTime, FixedOffset, TimeDelta};
use sha2::{Digest, Sha256};

/// How long validators are trusted before a source is fetched unconditionally again, against
/// servers that answer 304 wrongly.
pub const FULL_FETCH_EVERY: TimeDelta = TimeDelta::hours(24);

/// How stale an unchanged entry's `last_seen` may get: refreshing it every run would rewrite
/// every stored row whose listing changed at all.
pub const LAST_SEEN_EVERY: TimeDelta = TimeDelta::hours(24);

/// What the state holds of an entry, as far as the rules need it.
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    pub title: String,
    pub link: String,
    pub summary: Option<String>,
    /// The listing or feed date as last seen, in [`format_time`]'s form.
    pub source_date: Option<String>,
    pub published: DateTime<FixedOffset>,
    pub updated: DateTime<FixedOffset>,
    pub last_seen: DateTime<FixedOffset>,
    pub topics: Vec<String>,
    /// The dates its article page printed when last read.
    pub article: ArticleDates,
}

/// A new entry as it is first stored.
#[derive(Debug, Clone, PartialEq)]
pub struct First {
    /// Its permanent Atom id.
    pub id: String,
    pub published: DateTime<FixedOffset>,
    pub updated: DateTime<FixedOffset>,
    pub source_date: Option<String>,
}

/// A first sighting: its dates are the entry's own and its article's (the earliest published,
/// the latest updated), or the time it was first seen.
pub fn first(e: &Entry, article: &ArticleDates, now: DateTime<FixedOffset>) -> First {
    let published = earliest([e.published, article.published]).unwrap_or(now);
    First {
        id: entry_id(&e.key),
        published,
        updated: latest([e.updated, article.updated]).map_or(published, |u| u.max(published)),
        source_date: e.updated.map(format_time),
    }
}

fn earliest<const N: usize>(
    dates: [Option<DateTime<FixedOffset>>; N],
) -> Option<DateTime<FixedOffset>> {
    dates.into_iter().flatten().min()
}

fn latest<const N: usize>(
    dates: [Option<DateTime<FixedOffset>>; N],
) -> Option<DateTime<FixedOffset>> {
    dates.into_iter().flatten().max()
}

/// An entry no longer listed, as if its listing row were seen again unchanged: what
/// [`revise`] compares an article read from the kept page with.
pub fn as_listed(key: &EntryKey, known: &Known) -> Entry {
    Entry {
        key: key.clone(),
        title: known.title.clone(),
        link: known.link.clone(),
        summary: known.summary.clone(),
        published: None,
        updated: known.source_date.as_deref().map(parse_time),
        origins: Vec::new(),
    }
}

/// What writing an entry seen again takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// Its content or dates moved: the whole row is written.
    Row,
    /// Nothing moved, but `last_seen` is stale: only it is written.
    LastSeen,
    Nothing,
}

/// An entry seen again, settled against what the state knew of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    /// Title, link, summary or listing date differ: readers see an update.
    pub changed: bool,
    pub published: DateTime<FixedOffset>,
    pub updated: DateTime<FixedOffset>,
    pub source_date: Option<String>,
    pub topics: Vec<String>,
    /// Its topic memberships or their order key (`updated`) moved.
    pub topics_moved: bool,
    pub write: Write,
}

/// Settles an entry seen again, with the dates its article printed (`article`: as read this
/// run, else as known). `published` is the earliest date known (a witness in the URL and the
/// article's 公開日 count); `updated` moves only with a content change (the listing's title,
/// link, summary or date, or an article dated later than what was known), to the entry's
/// newest date or, for a change dated no later than what was known, to `now`, so that it still
/// reaches readers. Topics follow from the title and summary alone: `topics_of` is asked only
/// when one of them changed.
pub fn revise(
    known: &Known,
    e: &Entry,
    article: &ArticleDates,
    now: DateTime<FixedOffset>,
    topics_of: impl FnOnce(&Entry) -> Vec<String>,
) -> Revision {
    let source_date = e.updated.map(format_time);
    let published = earliest([e.published, article.published, Some(known.published)])
        .unwrap_or(known.published);
    let changed = known.title != e.title
        || known.link != e.link
        || known.summary != e.summary
        || known.source_date != source_date
        || article.updated.is_some_and(|u| u > known.updated);
    let updated = match latest([e.updated, article.updated]) {
        _ if !changed => known.updated,
        Some(u) if u > known.updated => u,
        _ => now.max(known.updated),
    };
    let topics = if known.title != e.title || known.summary != e.summary {
        topics_of(e)
    } else {
        known.topics.clone()
    };
    let write = if changed || published != known.published {
        Write::Row
    } else if now - known.last_seen >= LAST_SEEN_EVERY {
        Write::LastSeen
    } else {
        Write::Nothing
    };
    Revision {
        changed,
        published,
        updated,
        source_date,
        topics_moved: topics != known.topics || updated != known.updated,
        topics,
        write,
    }
}

/// The sources whose rows of an entry moved, each with its rows now (sorted, once each). An
/// entry's rows are those of the latest fetch of each source it was seen in; `was` is what the
/// state holds, as (source, position).
pub fn moved_rows<'a>(
    was: &[(String, usize)],
    origins: &'a [Origin],
) -> Vec<(&'a str, Vec<usize>)> {
    let mut sources: Vec<&str> = origins.iter().map(|o| o.source.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    let mut moved = Vec::new();
    for source in sources {
        let mut now_at: Vec<usize> = (origins.iter())
            .filter(|o| o.source == source)
            .map(|o| o.position)
            .collect();
        now_at.sort_unstable();
        now_at.dedup();
        let mut was_at: Vec<usize> = (was.iter())
            .filter(|(s, _)| s == source)
            .map(|(_, p)| *p)
            .collect();
        was_at.sort_unstable();
        if now_at != was_at {
            moved.push((source, now_at));
        }
    }
    moved
}

/// The validators to send for a source: those of its last full response (`last_full`), unless
/// that is more than [`FULL_FETCH_EVERY`] before `now`; then none, for an unconditional fetch.
pub fn validators_to_send(
    kept: Option<(Validators, Option<DateTime<FixedOffset>>)>,
    now: DateTime<FixedOffset>,
) -> Validators {
    match kept {
        Some((validators, Some(full))) if now - full < FULL_FETCH_EVERY => validators,
        _ => Validators::default(),
    }
}

/// A source's last failure as the state keeps it and `kairan status` shows it:
/// `2026-11-25T10:00:00+09:00 HTTP status 500`.
pub fn failure_note(now: DateTime<FixedOffset>, reason: &str) -> String {
    format!("{} {reason}", format_time(now))
}

/// The permanent Atom id of a key: a UUID (version 8, RFC 9562) made from its SHA-256. It is
/// computed once, when the key is first stored, and read from the store ever after.
pub fn entry_id(key: &EntryKey) -> String {
    let h = Sha256::digest(key.0.as_bytes());
    let mut b: [u8; 16] = h[..16].try_into().expect("SHA-256 is 32 bytes");
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = crate::text::hex(&b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The form times are kept in: RFC 3339 to the second, with the source's offset.
pub fn format_time(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Times in the state were written by [`format_time`]; one that is not (a hand-edited file) is
/// read as the epoch rather than failing the whole refresh.
pub fn parse_time(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap_or_default()
}

/// `entries.topics`: the ids of an entry's topics, space-separated (ids are slugs).
pub fn topics_column(ids: &[String]) -> String {
    ids.join(" ")
}

/// The ids in an `entries.topics` value.
pub fn topic_ids(column: &str) -> Vec<String> {
    column.split_whitespace().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests;
