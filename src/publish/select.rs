//! What each feed shows, read from the store: only the entries shown are loaded, whatever the
//! size of the store.

use super::{Feeds, Selection, Settings};
use crate::classify::Folded;
use crate::model::StoredEntry;
use crate::store::{FeedRows, Store, StoreError};
use std::collections::HashMap;

/// What every feed shows, by the topics stored with each entry.
pub fn select(settings: &Settings<'_>, store: &Store) -> Result<Feeds, StoreError> {
    let max = settings.site.max_entries;
    if store.topic_rules()?.as_deref() != Some(settings.classifier.fingerprint()) {
        return select_in_memory(settings, store);
    }
    let index: HashMap<&str, usize> = (settings.topics.iter().enumerate())
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();
    // The archives as last written: a run rewrites them before its live feeds.
    let mut newest: HashMap<String, String> = HashMap::new();
    for (feed, month, _) in store.archives()?.1 {
        newest.insert(feed, month); // in month order, so the newest stays
    }
    let selection = |slug: &str, rows: FeedRows| Selection {
        total: rows.total,
        entries: topic_indices(&index, rows),
        newest_archive: newest.get(slug).cloned(),
    };
    Ok(Feeds {
        all: selection(super::ALL, store.feed(None, max)?),
        topics: (settings.topics.iter())
            .map(|t| Ok(selection(&t.id, store.feed(Some(&t.id), max)?)))
            .collect::<Result<_, StoreError>>()?,
    })
}

/// Each entry of `rows` with the indices of its topics (by `index`, id → index into
/// `config.topics`), in the order of the configuration, whatever the store's.
pub(super) fn topic_indices(
    index: &HashMap<&str, usize>,
    rows: FeedRows,
) -> Vec<(StoredEntry, Vec<usize>)> {
    (rows.entries.into_iter())
        .map(|(e, ids)| {
            let mut topics: Vec<usize> = (ids.iter())
                .filter_map(|id| index.get(id.as_str()).copied())
                .collect();
            topics.sort_unstable();
            (e, topics)
        })
        .collect()
}

/// [`select`] for a store classified by other rules than the configuration's: a command that
/// does not refresh (`kairan topics`, `serve` before its first refresh) run after the rules
/// were edited. Classifies every stored entry in memory, and changes nothing.
fn select_in_memory(settings: &Settings<'_>, store: &Store) -> Result<Feeds, StoreError> {
    let stored = store.entries()?;
    let topics_of = stored
        .iter()
        .map(|e| (settings.classifier).topics(&Folded::new(&e.title, e.summary.as_deref())))
        .collect();
    Ok(Feeds::select(settings, stored, topics_of))
}
