//! Entries → unique entries. Two rows are one entry exactly when their keys are equal (the
//! canonical URL, or folded title and date): no similarity measure, so look-alikes such as
//! 個人編 and 組織編 never merge, and the cost per entry stays flat however many there are.
//!
//! Two ways in: [`dedup`] merges rows held in a vector, in the order they came (what `check`
//! shows); [`Rows`] takes a refresh's rows source by source as they are read, holds them
//! (spilling them to a temporary file when they are many, [`spill`]) and gives them back
//! merged in key order, as the store takes them, so that a run's memory does not grow with
//! the number of rows it reads.

pub mod spill;

use crate::model::{Entry, EntryKey, Origin};
use chrono::{DateTime, FixedOffset};
use std::cmp::Reverse;
use std::collections::HashMap;

pub use spill::SpillError;

/// Rows held in memory before they go to a temporary file: some 5 MB of entries, fifty
/// listings' worth; a run of a few listings never writes one.
const HELD: usize = 5_000;

type Date = DateTime<FixedOffset>;

/// A key under which several rows were merged into one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merge {
    pub key: EntryKey,
    pub origins: Vec<Origin>,
}

/// Merges entries with equal keys, keeping the first appearance's place in the order. The
/// merged entry takes the title and link of its most recently updated row, the fullest summary,
/// the earliest `published` and the latest `updated`. The result does not depend on the order
/// of the input beyond the order of the output.
pub fn dedup(entries: Vec<Entry>) -> (Vec<Entry>, Vec<Merge>) {
    let mut index: HashMap<EntryKey, usize> = HashMap::with_capacity(entries.len());
    let mut out: Vec<Entry> = Vec::with_capacity(entries.len());
    for entry in entries {
        match index.get(&entry.key) {
            Some(&i) => merge(&mut out[i], entry),
            None => {
                index.insert(entry.key.clone(), out.len());
                out.push(entry);
            }
        }
    }
    let merges = out.iter_mut().filter_map(merged_rows).collect();
    (out, merges)
}

/// Where `entry` was merged from several rows: its rows put in order, and named as a merge.
fn merged_rows(entry: &mut Entry) -> Option<Merge> {
    (entry.origins.len() > 1).then(|| {
        entry.origins.sort();
        Merge {
            key: entry.key.clone(),
            origins: entry.origins.clone(),
        }
    })
}

/// A refresh's rows, added as each source is read, read back merged ([`Rows::merged`]).
pub struct Rows {
    held: Vec<Entry>,
    spill: Option<spill::Spill>,
    /// How many rows may be held before they go to the spill, as one run.
    limit: usize,
    /// The first failure to spill: reported whenever the rows are read back.
    failed: Option<SpillError>,
    sorted: bool,
}

impl Default for Rows {
    fn default() -> Rows {
        Rows::holding(HELD)
    }
}

impl Rows {
    /// Rows that go to a temporary file beyond `limit` held in memory.
    pub fn holding(limit: usize) -> Rows {
        Rows {
            held: Vec::new(),
            spill: None,
            limit,
            failed: None,
            sorted: true,
        }
    }

    /// Adds one source's rows.
    pub fn add(&mut self, entries: Vec<Entry>) {
        if self.failed.is_some() || entries.is_empty() {
            return;
        }
        if self.held.len() + entries.len() > self.limit
            && !self.held.is_empty()
            && let Err(e) = self.spill_held()
        {
            self.failed = Some(e);
            return;
        }
        self.held.extend(entries);
        self.sorted = false;
    }

    /// The rows held go to the temporary file, as one sorted run.
    fn spill_held(&mut self) -> Result<(), SpillError> {
        let spill = match &mut self.spill {
            Some(spill) => spill,
            None => self.spill.insert(spill::Spill::new()?),
        };
        spill.add(std::mem::take(&mut self.held))
    }

    /// Every entry, its rows merged, in key order; as often as asked.
    pub fn merged(&mut self) -> Result<Merged<'_>, SpillError> {
        if self.failed.is_none()
            && !self.held.is_empty()
            && (self.spill.is_some() || self.held.len() > self.limit)
            && let Err(e) = self.spill_held()
        {
            self.failed = Some(e);
        }
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let rows = match &mut self.spill {
            Some(spill) => Source::Spilled(spill.read()),
            None => {
                if !self.sorted {
                    // Stable: equal keys keep the order they came in.
                    self.held.sort_by(|a, b| a.key.cmp(&b.key));
                    self.sorted = true;
                }
                Source::Held(self.held.iter())
            }
        };
        Ok(Merged {
            rows,
            pending: None,
            merges: Vec::new(),
        })
    }
}

enum Source<'a> {
    Held(std::slice::Iter<'a, Entry>),
    Spilled(spill::Reader),
}

impl Iterator for Source<'_> {
    type Item = Result<Entry, SpillError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Source::Held(rows) => rows.next().cloned().map(Ok),
            Source::Spilled(rows) => rows.next(),
        }
    }
}

/// The entries of [`Rows`] in key order, each with its rows merged; the keys under which rows
/// were merged are kept as they go by ([`Merged::merges`]).
pub struct Merged<'a> {
    rows: Source<'a>,
    /// The entry being merged: the next row may share its key.
    pending: Option<Entry>,
    merges: Vec<Merge>,
}

impl Merged<'_> {
    /// The keys under which rows were merged, of the entries read so far.
    pub fn merges(self) -> Vec<Merge> {
        self.merges
    }

    fn finish(&mut self, mut entry: Entry) -> Entry {
        self.merges.extend(merged_rows(&mut entry));
        entry
    }
}

impl Iterator for Merged<'_> {
    type Item = Result<Entry, SpillError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let row = match self.rows.next() {
                Some(Ok(row)) => row,
                Some(Err(e)) => {
                    // Nothing after a failure: what would follow is not the whole of it.
                    self.pending = None;
                    self.rows = Source::Held([].iter());
                    return Some(Err(e));
                }
                None => return self.pending.take().map(|e| Ok(self.finish(e))),
            };
            match &mut self.pending {
                Some(entry) if entry.key == row.key => merge(entry, row),
                _ => {
                    if let Some(done) = self.pending.replace(row) {
                        return Some(Ok(self.finish(done)));
                    }
                }
            }
        }
    }
}

fn merge(into: &mut Entry, other: Entry) {
    // Title and link follow the newest row; ties go to the larger (title, link) so the result
    // is the same whichever row came first.
    let newer =
        (other.updated, &other.title, &other.link) > (into.updated, &into.title, &into.link);
    if newer {
        into.title = other.title;
        into.link = other.link;
    }
    into.summary = fuller(into.summary.take(), other.summary);
    into.published = earliest(into.published, other.published);
    into.updated = latest(into.updated, other.updated);
    into.origins.extend(other.origins);
}

/// The longer summary (in characters); ties go to the larger text, for order independence.
fn fuller(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => {
            let (la, lb) = (a.chars().count(), b.chars().count());
            Some(if (lb, &b) > (la, &a) { b } else { a })
        }
        (a, b) => a.or(b),
    }
}

// Dates compare by instant alone, but one instant can be written with different offsets (a
// listing's midnight at +09:00, a feed's 15:00 UTC the day before): of those the larger offset
// is kept, so that what is published does not depend on the order of the rows.

fn earliest(a: Option<Date>, b: Option<Date>) -> Option<Date> {
    a.into_iter()
        .chain(b)
        .min_by_key(|d| (*d, Reverse(d.offset().local_minus_utc())))
}

fn latest(a: Option<Date>, b: Option<Date>) -> Option<Date> {
    a.into_iter()
        .chain(b)
        .max_by_key(|d| (*d, d.offset().local_minus_utc()))
}
