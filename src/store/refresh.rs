//! What one refresh brings to the store, and what it changed there.

use super::{ArticleNote, Subscription};
use crate::model::Entry;
use crate::source::SourceReport;

/// What one refresh brings to the store.
#[derive(Debug, Clone, Copy)]
pub struct Refresh<'a> {
    /// Every source's outcome.
    pub sources: &'a [SourceReport],
    /// The entries seen, repeats merged.
    pub entries: &'a [Entry],
    /// What was learned of their articles.
    pub articles: &'a [ArticleNote],
    /// The notifications configured: who is told of what.
    pub subscriptions: &'a [Subscription],
}

impl<'a> Refresh<'a> {
    /// Entries alone: no source read, no article, nobody to notify (an import of rows read
    /// elsewhere).
    pub fn of_entries(entries: &'a [Entry]) -> Refresh<'a> {
        Refresh {
            sources: &[],
            entries,
            articles: &[],
            subscriptions: &[],
        }
    }
}

/// What a refresh changed in the store.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Changes {
    pub new: usize,
    pub updated: usize,
    /// Notifications queued in the outbox.
    pub queued: usize,
}
