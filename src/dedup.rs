//! Entries → unique entries. Two rows are one entry exactly when their keys are equal (the
//! canonical URL, or folded title and date): no similarity measure, so look-alikes such as
//! 個人編 and 組織編 never merge, and the cost per entry stays flat however many there are.

use crate::model::{Entry, EntryKey, Origin};
use chrono::{DateTime, FixedOffset};
use std::cmp::Reverse;
use std::collections::HashMap;

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
    let merges = out
        .iter_mut()
        .filter(|e| e.origins.len() > 1)
        .map(|e| {
            e.origins.sort();
            Merge {
                key: e.key.clone(),
                origins: e.origins.clone(),
            }
        })
        .collect();
    (out, merges)
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
