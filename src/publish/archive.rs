//! History (RFC 5005): a live feed shows its newest `max_entries`; every older entry of the
//! feed is in one archive document, one per month of its `updated` (in the site's zone), so
//! that a reader that follows the links from the live feed (`prev-archive`, and in JSON Feed
//! `next_url`) reaches every stored entry once.
//!
//! Each document's fingerprint (what it holds, its neighbours, the site's words) is kept in
//! the state; a run reads the feeds' members from an index, and renders and writes only the
//! months whose fingerprint moved or whose file is missing. A run that changed no entry (the
//! store's generation and the settings are those the archives were written from) reads no
//! member at all and renders nothing.

use super::catalogue::Kind;
use super::select::topic_indices;
use super::target::{Freshness, Target};
use super::{
    ALL, Feeds, Head, OutputFile, PublishError, Selection, Settings, atom, feed_view, head, json,
    stamp,
};
use crate::model::EntryKey;
use crate::store::{Store, StoreError, Written};
use chrono::{DateTime, Datelike, FixedOffset, TimeZone};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};

/// A feed document's place in its feed's history, as (Atom, JSON Feed) URLs.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct History {
    /// For an archive document, the live feed it belongs to (`rel="current"`).
    pub current: Option<(String, String)>,
    /// The next older archive (`rel="prev-archive"`).
    pub prev: Option<(String, String)>,
    /// For an archive document, the next newer one (`rel="next-archive"`).
    pub next: Option<(String, String)>,
}

/// The Atom and JSON Feed URLs of feed `slug`'s archive of `month`.
pub(crate) fn urls(site: &Head<'_>, slug: &str, month: &str) -> (String, String) {
    let name = format!("{slug}/{month}");
    (
        Kind::AtomArchive.url(site.base_url, &name),
        Kind::JsonArchive.url(site.base_url, &name),
    )
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Write(#[from] PublishError),
}

/// What a run did to the archives.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Archived {
    /// Files written, relative to the output directory.
    pub written: Vec<String>,
    /// Files removed: months that no longer hold an archived entry, feeds no longer configured.
    pub removed: Vec<String>,
    pub unchanged: usize,
    /// Every archive file as now on disk, where [`publish`] was asked for them (`serve`, which
    /// answers from memory).
    pub files: Vec<OutputFile>,
}

/// One feed's archive plan: its months, oldest first, each with its members.
type Months = BTreeMap<String, Vec<(i64, EntryKey, i64)>>;

/// Writes the archive documents of every feed that changed, removes those that no longer
/// exist, and sets each selection's `newest_archive`. With `all_files`, also reads the
/// unchanged ones into [`Archived::files`].
pub fn publish(
    settings: &Settings<'_>,
    store: &mut Store,
    target: &mut dyn Target,
    feeds: &mut Feeds,
    empty_updated: DateTime<FixedOffset>,
    all_files: bool,
) -> Result<Archived, ArchiveError> {
    let head = head(settings);
    let site = stamp::settings_fingerprint(settings);
    let (stamp, kept) = store.archives()?;
    // Nothing the archives are made of moved since they were written, and they are all there:
    // the run reads no member and renders nothing.
    let now_stamp = stamp::of(settings, store.generation()?, target.place());
    if stamp.as_deref() == Some(now_stamp.as_str()) && all_there(target, &kept) {
        return unchanged(target, &kept, all_files);
    }
    // The fingerprints describe the documents of the place they were written to: another
    // output directory gets every month written anew.
    let place = |stamp: &str| stamp.splitn(3, ':').nth(2).map(str::to_owned);
    let same_place = stamp.as_deref().and_then(place) == place(&now_stamp);
    let kept: HashMap<(String, String), String> = (kept.into_iter())
        .map(|(feed, month, fingerprint)| {
            let fingerprint = if same_place {
                fingerprint
            } else {
                String::new()
            };
            ((feed, month), fingerprint)
        })
        .collect();
    let index: HashMap<&str, usize> = (settings.topics.iter().enumerate())
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();
    let mut archived = Archived::default();
    let mut record: Vec<Written> = Vec::new();
    let mut current: HashSet<(String, String)> = HashSet::new();
    let all = std::iter::once((
        ALL,
        None,
        settings.site.title.clone(),
        Some(settings.site.labels.all_subtitle),
        &mut feeds.all,
    ));
    let topics = (settings.topics.iter().zip(feeds.topics.iter_mut())).map(|(t, s)| {
        let title = format!("{}: {}", settings.site.title, t.title);
        (
            t.id.as_str(),
            Some(t.id.as_str()),
            title,
            t.description.as_deref(),
            s,
        )
    });
    for (slug, topic, title, subtitle, selection) in all.chain(topics) {
        let months = months(store, topic, selection, settings)?;
        let names: Vec<&String> = months.keys().collect();
        for (i, (month, members)) in months.iter().enumerate() {
            let prev = i.checked_sub(1).map(|j| names[j].as_str());
            let next = names.get(i + 1).map(|m| m.as_str());
            let fingerprint = fingerprint(&site, slug, (month, prev, next), members);
            let (atom_path, json_path) = paths(slug, month);
            current.insert((slug.to_owned(), month.clone()));
            let missing = !target.has(&atom_path) || !target.has(&json_path);
            if !missing && kept.get(&(slug.to_owned(), month.clone())) == Some(&fingerprint) {
                archived.unchanged += 2;
                if all_files {
                    let this = [(slug.to_owned(), month.clone(), fingerprint)];
                    archived.files.extend(read_back(target, &this)?);
                }
                continue;
            }
            let (from, to) = month_range(settings, month);
            // Exactly the month's members, whatever the zone's transitions make of its range.
            let in_month: HashSet<&EntryKey> = members.iter().map(|(_, key, _)| key).collect();
            let mut rows = store.between(topic, from, to)?;
            rows.entries.retain(|(e, _)| in_month.contains(&e.key));
            let held = Selection {
                total: rows.entries.len(),
                entries: topic_indices(&index, rows),
                newest_archive: None,
            };
            let mut view = feed_view(
                settings,
                &head,
                (slug, format!("{title} ({month})")),
                subtitle,
                &held,
                empty_updated,
            );
            view.history = History {
                current: Some((view.url.clone(), view.json_url.clone())),
                prev: prev.map(|m| urls(&head, slug, m)),
                next: next.map(|m| urls(&head, slug, m)),
            };
            (view.url, view.json_url) = urls(&head, slug, month);
            // The newest month still takes entries as they leave the live feed.
            let freshness = if next.is_none() {
                Freshness::Live
            } else {
                Freshness::Settled
            };
            for (kind, path, bytes) in [
                (Kind::AtomArchive, atom_path, atom::render(&head, &view)),
                (Kind::JsonArchive, json_path, json::render(&head, &view)),
            ] {
                if target.stage(kind, freshness, &path, &bytes)? {
                    archived.written.push(path.clone());
                } else {
                    archived.unchanged += 1;
                }
                if all_files {
                    archived.files.push(OutputFile { kind, path, bytes });
                }
            }
            record.push((slug.to_owned(), month.clone(), fingerprint));
        }
        selection.newest_archive = names.last().map(|m| (*m).clone());
    }
    target.commit()?;
    let mut removed = Vec::new();
    for (feed, month) in kept.into_keys().filter(|k| !current.contains(k)) {
        let (atom_path, json_path) = paths(&feed, &month);
        for path in [atom_path, json_path] {
            target.remove(&path)?;
            archived.removed.push(path);
        }
        removed.push((feed, month));
    }
    // The removals made lasting.
    target.commit()?;
    store.record_archives(&now_stamp, &record, &removed)?;
    Ok(archived)
}

/// Whether every archive document the state records is at `target`.
pub fn in_place(store: &Store, target: &dyn Target) -> Result<bool, StoreError> {
    Ok(all_there(target, &store.archives()?.1))
}

fn all_there(target: &dyn Target, kept: &[Written]) -> bool {
    kept.iter().all(|(feed, month, _)| {
        let (atom, json) = paths(feed, month);
        target.has(&atom) && target.has(&json)
    })
}

/// The archives as they are, none rendered: read back for `serve` with `all_files`.
fn unchanged(
    target: &dyn Target,
    kept: &[Written],
    all_files: bool,
) -> Result<Archived, ArchiveError> {
    Ok(Archived {
        unchanged: kept.len() * 2,
        files: if all_files {
            read_back(target, kept)?
        } else {
            Vec::new()
        },
        ..Archived::default()
    })
}

/// Every archive document the state records as written, read from `target`: what `serve`
/// answers with before its first refresh.
pub fn published(store: &Store, target: &dyn Target) -> Result<Vec<OutputFile>, ArchiveError> {
    Ok(read_back(target, &store.archives()?.1)?)
}

/// The files of `kept` as published; one that is missing is left out.
fn read_back(target: &dyn Target, kept: &[Written]) -> Result<Vec<OutputFile>, PublishError> {
    let mut files = Vec::with_capacity(kept.len() * 2);
    for (feed, month, _) in kept {
        let (atom, json) = paths(feed, month);
        for (kind, path) in [(Kind::AtomArchive, atom), (Kind::JsonArchive, json)] {
            if let Some(bytes) = target.read(&path)? {
                files.push(OutputFile { kind, path, bytes });
            }
        }
    }
    Ok(files)
}

/// A feed's archived entries (its members beyond what the live feed shows), by month of
/// their `updated` in the site's zone.
fn months(
    store: &Store,
    topic: Option<&str>,
    selection: &Selection,
    settings: &Settings<'_>,
) -> Result<Months, StoreError> {
    let mut months = Months::new();
    if !settings.archives || selection.total <= selection.entries.len() {
        return Ok(months);
    }
    let live: HashSet<&EntryKey> = selection.entries.iter().map(|(e, _)| &e.key).collect();
    for (ts, key, rev) in store.members(topic)? {
        if live.contains(&key) {
            continue;
        }
        let month = DateTime::from_timestamp(ts, 0)
            .unwrap_or_default()
            .with_timezone(&settings.site.timezone)
            .format("%Y-%m")
            .to_string();
        months.entry(month).or_default().push((ts, key, rev));
    }
    for members in months.values_mut() {
        members.sort_unstable();
    }
    Ok(months)
}

/// The Atom and JSON Feed paths of an archive document.
fn paths(slug: &str, month: &str) -> (String, String) {
    let name = format!("{slug}/{month}");
    (Kind::AtomArchive.path(&name), Kind::JsonArchive.path(&name))
}

/// The Unix times at which `month` (`YYYY-MM`) starts and ends in the site's zone.
fn month_range(settings: &Settings<'_>, month: &str) -> (i64, i64) {
    let tz = settings.site.timezone;
    let (y, m) = month.split_once('-').unwrap_or_default();
    let (y, m): (i32, u32) = (y.parse().unwrap_or(1970), m.parse().unwrap_or(1));
    // The month's first instant: its first day's midnight, or where a transition skips
    // midnight, the first hour that exists.
    let start = |y: i32, m: u32| {
        (0..3)
            .find_map(|h| tz.with_ymd_and_hms(y, m, 1, h, 0, 0).earliest())
            .map_or(0, |t| t.timestamp())
    };
    let first = start(y, m);
    let next = chrono::NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
        .map_or(i64::MAX, |d| start(d.year(), d.month()));
    (first, next)
}

fn fingerprint(
    site: &[u8],
    slug: &str,
    (month, prev, next): (&str, Option<&str>, Option<&str>),
    members: &[(i64, EntryKey, i64)],
) -> String {
    let mut h = Sha256::new();
    h.update(site);
    for part in [slug, month, prev.unwrap_or("-"), next.unwrap_or("-")] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for (ts, key, rev) in members {
        h.update(ts.to_le_bytes());
        h.update(rev.to_le_bytes());
        h.update(key.0.as_bytes());
        h.update([0]);
    }
    crate::text::hex(&h.finalize()[..16])
}
