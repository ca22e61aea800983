//! What one refresh brings to the store, what it changed there, and how it is committed: the
//! rules applied to each entry, through whichever backend holds the state.

use super::rules::{self, Write};
use super::{ArticleNote, Event, Store, StoreError, Subscription, Transaction};
use crate::model::{ArticleDates, Entry, EntryKey};
use crate::source::SourceReport;
use chrono::{DateTime, FixedOffset};
use std::collections::HashMap;

/// What one refresh brings to the store, beside the entries it saw.
#[derive(Debug, Clone, Copy, Default)]
pub struct Refresh<'a> {
    /// Every source's outcome.
    pub sources: &'a [SourceReport],
    /// What was learned of the entries' articles.
    pub articles: &'a [ArticleNote],
    /// The notifications configured: who is told of what.
    pub subscriptions: &'a [Subscription],
}

/// Entries held in a slice, as [`Store::commit`] takes them: for the backends' tests.
#[cfg(test)]
pub fn listed(entries: &[Entry]) -> impl Iterator<Item = super::Result<Entry>> + '_ {
    entries.iter().cloned().map(Ok)
}

/// What a refresh changed in the store.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Changes {
    pub new: usize,
    pub updated: usize,
    /// Notifications queued in the outbox.
    pub queued: usize,
}

/// Entries whose stored state is read at once: a slice of a refresh, not all of it.
const READ_AHEAD: usize = 1000;

impl Store {
    /// Records one refresh in a single transaction: the sources' outcomes, the entries seen
    /// (`entries`, each key once, best in key order: each then touches the index pages of
    /// the one before; read as they are stored, so never all in memory) and what was learned
    /// of their articles. If reading `entries` fails, nothing is recorded. `now` stamps first
    /// sightings and content changes that carry no newer date of their own. New entries, and
    /// those whose title or summary changed, are classified with `topics_of` (the rules
    /// [`Store::topic_rules`] names): the others keep their topics. An article read this run
    /// dates its entry (by [`rules::revise`]) even when the entry is no longer listed.
    ///
    /// Each entry that is news for a subscription is queued in the outbox, in the same
    /// transaction: a new entry from a source read before (a source's first read is an
    /// import, not news), and one whose listing row changed where the subscription asks for
    /// updates. Messages of notifications no longer subscribed are removed.
    pub fn commit(
        &mut self,
        now: DateTime<FixedOffset>,
        refresh: &Refresh<'_>,
        entries: impl IntoIterator<Item = super::Result<Entry>>,
        topics_of: impl Fn(&Entry) -> Vec<String> + Sync,
    ) -> super::Result<Changes> {
        let Refresh {
            sources,
            articles,
            subscriptions,
        } = *refresh;
        let read: HashMap<&EntryKey, ArticleDates> = articles
            .iter()
            .filter_map(|n| Some((&n.key, n.article()?.dates)))
            .collect();
        let mut tx = self.backend.begin()?;
        let mut read_before = std::collections::HashSet::new();
        for report in sources {
            if !subscriptions.is_empty() && tx.read_before(&report.id)? {
                read_before.insert(report.id.as_str());
            }
            tx.record_source(report, now)?;
        }
        let mut changes = Changes::default();
        // Whether what a feed shows of an entry was written (its row, topics, rows, article).
        let mut touched = false;
        let queue =
            |tx: &mut Box<dyn Transaction + '_>, key: &EntryKey, topics: &[String], event| {
                let mut queued = 0;
                for s in subscriptions.iter().filter(|s| s.wants(topics, event)) {
                    tx.enqueue(&s.notify, key, event, now)?;
                    queued += 1;
                }
                Ok::<usize, StoreError>(queued)
            };
        // What the state knows is read ahead a slice at a time: keys are unique in a refresh,
        // so no write below changes another entry's answer, and a slice bounds the memory.
        // A state with no entries yet (a first import) knows none of them.
        let importing = !tx.holds_entries()?;
        let mut entries = entries.into_iter();
        let mut ahead = |tx: &mut Box<dyn Transaction + '_>| -> super::Result<Option<Ahead>> {
            let slice = (entries.by_ref().take(READ_AHEAD)).collect::<super::Result<Vec<_>>>()?;
            if slice.is_empty() {
                return Ok(None);
            }
            let keys: Vec<&EntryKey> = slice.iter().map(|e| &e.key).collect();
            let known = if importing {
                HashMap::new()
            } else {
                tx.known_all(&keys)?
            };
            let stored: Vec<&EntryKey> = (keys.into_iter())
                .filter(|k| known.contains_key(*k))
                .collect();
            let rows = if stored.is_empty() {
                HashMap::new()
            } else {
                tx.rows_all(&stored)?
            };
            Ok(Some(Ahead { slice, known, rows }))
        };
        // The entries listed of those whose article was read.
        let mut listed = std::collections::HashSet::new();
        // What needs nothing of the store (each new entry's first dates, id and topics) is
        // worked out on a thread of its own, a slice ahead of the writing: the store's own
        // thread is what an import waits on.
        let (topics_of, read) = (&topics_of, &read);
        let first_of = |e: &Entry| {
            let fresh = read.get(&e.key).copied().unwrap_or_default();
            (rules::first(e, &fresh, now), topics_of(e))
        };
        std::thread::scope(|scope| -> super::Result<()> {
            // Each entry's first, where the state does not hold it, by its place in the slice.
            let start = |a: Ahead| {
                scope.spawn(move || {
                    let firsts: Vec<_> = (a.slice.iter())
                        .map(|e| (!a.known.contains_key(&e.key)).then(|| first_of(e)))
                        .collect();
                    (a, firsts)
                })
            };
            let mut next = ahead(&mut tx)?.map(start);
            while let Some(handle) = next.take() {
                let (a, firsts) = handle
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p));
                next = ahead(&mut tx)?.map(start);
                let Ahead {
                    slice,
                    known: mut known_all,
                    rows: mut rows_all,
                } = a;
                for (e, first) in slice.iter().zip(firsts) {
                    if read.contains_key(&e.key) {
                        listed.insert(e.key.clone());
                    }
                    let fresh = read.get(&e.key);
                    let Some(known) = known_all.remove(&e.key) else {
                        let (first, topics) = first.unwrap_or_else(|| first_of(e));
                        tx.insert(e, &first, &topics, now)?;
                        changes.new += 1;
                        touched = true;
                        if e.origins
                            .iter()
                            .any(|o| read_before.contains(o.source.as_str()))
                        {
                            changes.queued += queue(&mut tx, &e.key, &topics, Event::New)?;
                        }
                        continue;
                    };
                    let article = fresh.copied().unwrap_or(known.article);
                    let revision = rules::revise(&known, e, &article, now, topics_of);
                    touched |= revision.write == Write::Row || revision.topics_moved;
                    match revision.write {
                        Write::Row => tx.update(e, &revision, now)?,
                        Write::LastSeen => tx.seen(&e.key, now)?,
                        Write::Nothing => {}
                    }
                    changes.updated += usize::from(revision.changed);
                    // An update is news when the listing says so; an article read (a rule turned
                    // on or changed) would otherwise announce every stored entry again.
                    let listing_changed = known.title != e.title
                        || known.link != e.link
                        || known.summary != e.summary
                        || known.source_date != revision.source_date;
                    if listing_changed {
                        changes.queued += queue(&mut tx, &e.key, &revision.topics, Event::Updated)?;
                    }
                    if revision.topics_moved {
                        tx.move_topics(&e.key, &known, &revision)?;
                    }
                    let was = rows_all.remove(&e.key).unwrap_or_default();
                    for (source, positions) in rules::moved_rows(&was, &e.origins) {
                        tx.set_rows(&e.key, source, &positions)?;
                        touched = true;
                    }
                }
            }
            Ok(())
        })?;
        for note in articles {
            // An entry no longer listed whose kept page was read again: its dates may move.
            if let (false, Some(dates)) = (listed.contains(&note.key), read.get(&note.key))
                && let Some(known) = tx.known(&note.key)?
            {
                let seen = rules::as_listed(&note.key, &known);
                let revision = rules::revise(&known, &seen, dates, now, |_| known.topics.clone());
                if revision.write == Write::Row {
                    touched = true;
                    tx.redate(&note.key, &revision)?;
                    changes.updated += usize::from(revision.changed);
                    if revision.topics_moved {
                        tx.move_topics(&note.key, &known, &revision)?;
                    }
                }
            }
            touched |= note.read().is_some();
            tx.article(note, now)?;
        }
        let keep: Vec<&str> = subscriptions.iter().map(|s| s.notify.as_str()).collect();
        tx.unsubscribe(&keep)?;
        if touched {
            tx.touch()?;
        }
        tx.commit()?;
        self.backend.place()?;
        Ok(changes)
    }
}

/// A slice of a refresh's entries, with what the state holds of them.
struct Ahead {
    slice: Vec<Entry>,
    known: HashMap<EntryKey, super::rules::Known>,
    rows: HashMap<EntryKey, Vec<(String, usize)>>,
}
