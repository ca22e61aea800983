//! The store's share of the archive documents (RFC 5005, written by
//! [`crate::publish::archive`]): each feed's members by `updated`, one month's entries, and the
//! fingerprints of the documents as last written.

use super::{FeedRows, Result, Store};
use crate::model::EntryKey;

/// An archive document as last written: its feed's slug, its month, its fingerprint.
pub type Written = (String, String, String);

impl Store {
    /// Every entry of a feed (a topic's, or all for `None`) as (`updated` as a Unix time, key,
    /// revision: counted up by every write of what a feed shows of it), in no order.
    pub fn members(&self, topic: Option<&str>) -> Result<Vec<(i64, EntryKey, i64)>> {
        self.backend.members(topic)
    }

    /// The entries of a feed whose `updated` is in `from..to` (Unix times), in the order of
    /// [`Store::feed`], each with its topic ids.
    pub fn between(&self, topic: Option<&str>, from: i64, to: i64) -> Result<FeedRows> {
        let entries = self.backend.between(topic, from, to)?;
        Ok(FeedRows {
            total: entries.len(),
            entries,
        })
    }

    /// See [`super::Backend::generation`].
    pub fn generation(&self) -> Result<u64> {
        self.backend.generation()
    }

    /// The stamp of the last publish of the live files ([`crate::publish::stamp`]).
    pub fn published_stamp(&self) -> Result<Option<String>> {
        self.backend.note("published")
    }

    pub fn set_published_stamp(&mut self, stamp: &str) -> Result<()> {
        self.backend.set_note("published", stamp)
    }

    /// Which process published last ([`super::lock::this_process`] and when), as `serve`'s
    /// `/healthz` tells: with several nodes on one state, whichever held the lock.
    pub fn published_by(&self) -> Result<Option<String>> {
        self.backend.note("published_by")
    }

    pub fn set_published_by(&mut self, who: &str) -> Result<()> {
        self.backend.set_note("published_by", who)
    }

    /// The archive documents as last written, by feed and month, with the stamp they were
    /// recorded under (see [`Store::record_archives`]).
    pub fn archives(&self) -> Result<(Option<String>, Vec<Written>)> {
        self.backend.archives()
    }

    /// Records archive documents written (or rewritten) and removed, and `stamp`: what the
    /// whole set was made from (the store's generation, the site's settings); committed at
    /// once.
    pub fn record_archives(
        &mut self,
        stamp: &str,
        written: &[Written],
        removed: &[(String, String)],
    ) -> Result<()> {
        self.backend.record_archives(stamp, written, removed)
    }
}
