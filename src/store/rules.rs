//! The rules of the state, apart from any database: how a first sighting is dated, what counts
//! as a change when an entry is seen again and which date wins, when topics are classified
//! again, when rows move, and when validators are still trusted. Every backend applies these
//! same rules (through [`super::Store::commit`]); they are pure, so they are tested here without
//! a database.

use crate::fetch::Validators;
use crate::model::{Entry, EntryKey, Origin};
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

/// A first sighting: its dates are the entry's own, or the time it was first seen.
pub fn first(e: &Entry, now: DateTime<FixedOffset>) -> First {
    let published = e.published.unwrap_or(now);
    First {
        id: entry_id(&e.key),
        published,
        updated: e.updated.unwrap_or(published),
        source_date: e.updated.map(format_time),
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

/// Settles an entry seen again. `published` is the earliest date known (a witness in the URL
/// counts); `updated` moves only with a content change, to the entry's newer date or, for a
/// change dated no later than what was known, to `now`, so that it still reaches readers.
/// Topics follow from the title and summary alone: `topics_of` is asked only when one of them
/// changed.
pub fn revise(
    known: &Known,
    e: &Entry,
    now: DateTime<FixedOffset>,
    topics_of: impl FnOnce(&Entry) -> Vec<String>,
) -> Revision {
    let source_date = e.updated.map(format_time);
    let published = e
        .published
        .map_or(known.published, |p| p.min(known.published));
    let changed = known.title != e.title
        || known.link != e.link
        || known.summary != e.summary
        || known.source_date != source_date;
    let updated = match e.updated {
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
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap()
    }

    const NOW: &str = "2026-11-25T10:00:00+09:00";

    fn entry() -> Entry {
        Entry {
            key: EntryKey("https://www.ipa.go.jp/a.html".into()),
            title: "偽のセキュリティ警告に注意".into(),
            link: "https://www.ipa.go.jp/a.html".into(),
            summary: Some("サポート詐欺の手口".into()),
            published: Some(at("2023-09-12T00:00:00+09:00")),
            updated: Some(at("2023-09-12T00:00:00+09:00")),
            origins: vec![Origin {
                source: "anshin".into(),
                position: 3,
            }],
        }
    }

    /// What the state knows after storing `e` at `seen`.
    fn known(e: &Entry, seen: &str) -> Known {
        let f = first(e, at(seen));
        Known {
            title: e.title.clone(),
            link: e.link.clone(),
            summary: e.summary.clone(),
            source_date: f.source_date,
            published: f.published,
            updated: f.updated,
            last_seen: at(seen),
            topics: vec!["scam".into()],
        }
    }

    fn never(_: &Entry) -> Vec<String> {
        panic!("topics were not to be asked for")
    }

    #[test]
    fn a_first_sighting_without_dates_is_dated_by_the_refresh() {
        let mut e = entry();
        let f = first(&e, at(NOW));
        assert_eq!(f.published, at("2023-09-12T00:00:00+09:00"));
        assert_eq!(f.source_date.as_deref(), Some("2023-09-12T00:00:00+09:00"));
        e.published = None;
        e.updated = None;
        let f = first(&e, at(NOW));
        assert_eq!(
            (f.published, f.updated, f.source_date),
            (at(NOW), at(NOW), None)
        );
        assert_eq!(f.id, entry_id(&e.key));
    }

    #[test]
    fn the_same_entry_again_changes_nothing() {
        let e = entry();
        let r = revise(&known(&e, NOW), &e, at(NOW), never);
        assert!(!r.changed && !r.topics_moved);
        assert_eq!(r.write, Write::Nothing);
        assert_eq!(r.topics, ["scam"]);
    }

    #[test]
    fn a_changed_title_is_an_update_dated_by_the_refresh_and_reclassified() {
        let e = entry();
        let k = known(&e, "2026-11-24T10:00:00+09:00");
        let mut edited = e.clone();
        edited.title = "偽のセキュリティ警告に注意（更新）".into();
        let r = revise(&k, &edited, at(NOW), |_| {
            vec!["scam".into(), "support".into()]
        });
        assert!(r.changed);
        assert_eq!(r.write, Write::Row);
        // The listing date did not move, so the change is dated by this refresh.
        assert_eq!(r.updated, at(NOW));
        assert_eq!(r.published, k.published);
        assert_eq!(r.topics, ["scam", "support"]);
        assert!(r.topics_moved);
    }

    #[test]
    fn a_later_listing_date_is_the_new_updated() {
        let e = entry();
        let k = known(&e, NOW);
        let mut relisted = e.clone();
        relisted.updated = Some(at("2024-01-05T00:00:00+09:00"));
        let r = revise(&k, &relisted, at(NOW), never);
        assert!(r.changed);
        assert_eq!(r.updated, at("2024-01-05T00:00:00+09:00"));
        assert_eq!(r.source_date.as_deref(), Some("2024-01-05T00:00:00+09:00"));
        // Same title and summary: topics kept, but their order key moved.
        assert_eq!(r.topics, ["scam"]);
        assert!(r.topics_moved);
    }

    #[test]
    fn an_earlier_witness_date_moves_published_back_without_an_update() {
        let e = entry();
        let k = known(&e, NOW);
        let mut witnessed = e.clone();
        witnessed.published = Some(at("2021-03-09T00:00:00+09:00"));
        let r = revise(&k, &witnessed, at(NOW), never);
        assert!(!r.changed);
        assert_eq!(r.published, at("2021-03-09T00:00:00+09:00"));
        assert_eq!(r.updated, k.updated);
        assert_eq!(r.write, Write::Row);
        assert!(!r.topics_moved);
        // A later date never moves published forward.
        witnessed.published = Some(at("2025-01-01T00:00:00+09:00"));
        assert_eq!(
            revise(&k, &witnessed, at(NOW), never).published,
            k.published
        );
    }

    #[test]
    fn a_repeat_with_a_longer_summary_is_an_update_and_reclassified() {
        let e = entry();
        let k = known(&e, NOW);
        let mut longer = e.clone();
        longer.summary = Some("サポート詐欺の手口と、偽の警告画面が出たときの対処".into());
        let mut asked = false;
        let r = revise(&k, &longer, at("2026-11-25T11:00:00+09:00"), |_| {
            asked = true;
            vec!["scam".into()]
        });
        assert!(asked && r.changed);
        assert_eq!(r.updated, at("2026-11-25T11:00:00+09:00"));
        assert!(
            r.topics_moved,
            "updated moved, so the topic order key moves"
        );
    }

    #[test]
    fn a_changed_link_or_date_alone_does_not_reclassify() {
        let e = entry();
        let k = known(&e, NOW);
        let mut moved = e.clone();
        moved.link = "https://www.ipa.go.jp/b.html".into();
        let r = revise(&k, &moved, at(NOW), never);
        assert!(r.changed);
        assert_eq!(r.topics, k.topics);
    }

    #[test]
    fn last_seen_is_refreshed_only_once_a_day() {
        let e = entry();
        let k = known(&e, "2026-11-24T10:00:01+09:00");
        assert_eq!(revise(&k, &e, at(NOW), never).write, Write::Nothing);
        let k = known(&e, "2026-11-24T10:00:00+09:00");
        assert_eq!(revise(&k, &e, at(NOW), never).write, Write::LastSeen);
    }

    #[test]
    fn rows_move_per_source_only_where_they_differ() {
        let o = |source: &str, position| Origin {
            source: source.into(),
            position,
        };
        let was = vec![("alert".to_owned(), 2), ("anshin".to_owned(), 3)];
        assert!(moved_rows(&was, &[o("anshin", 3), o("alert", 2)]).is_empty());
        assert_eq!(
            moved_rows(&was, &[o("anshin", 5), o("anshin", 3), o("anshin", 5)]),
            vec![("anshin", vec![3, 5])]
        );
        assert_eq!(moved_rows(&[], &[o("x", 1)]), vec![("x", vec![1])]);
    }

    #[test]
    fn validators_are_trusted_for_a_day() {
        let v = Validators {
            etag: Some("\"a\"".into()),
            last_modified: None,
        };
        let now = at(NOW);
        let fresh = Some((v.clone(), Some(now - TimeDelta::hours(23))));
        assert_eq!(validators_to_send(fresh, now), v);
        let stale = Some((v.clone(), Some(now - TimeDelta::hours(24))));
        assert_eq!(validators_to_send(stale, now), Validators::default());
        assert_eq!(
            validators_to_send(Some((v, None)), now),
            Validators::default()
        );
        assert_eq!(validators_to_send(None, now), Validators::default());
    }

    #[test]
    fn ids_are_uuid_urns_that_differ_per_key() {
        let a = entry_id(&EntryKey("https://www.ipa.go.jp/a.html".into()));
        let b = entry_id(&EntryKey("https://www.ipa.go.jp/b.html".into()));
        assert_ne!(a, b);
        assert_eq!(a.len(), "urn:uuid:".len() + 36);
        assert_eq!(&a[23..24], "8", "version nibble in {a}");
    }

    #[test]
    fn times_are_kept_to_the_second_with_their_offset() {
        let t = at("2023-09-12T00:00:00.5+09:00");
        assert_eq!(format_time(t), "2023-09-12T00:00:00+09:00");
        assert_eq!(parse_time("not a time"), DateTime::<FixedOffset>::default());
        assert_eq!(
            topic_ids(&topics_column(&["a".into(), "b".into()])),
            ["a", "b"]
        );
    }
}
