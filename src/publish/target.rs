//! Where published files go, behind one seam: a directory ([`super::dir`], the embedded
//! default, which a web server or `serve` reads) or an S3-compatible bucket ([`super::bucket`],
//! behind a CDN). Publishing renders in memory and hands each file to a [`Target`]; the target
//! alone knows how a file is put in place, compared, read back or removed.

use super::PublishError;
use super::catalogue::Kind;
use crate::store::{Store, StoreError};
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

/// Where the output goes: `[output] dir` or `url`, or `--out`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Dir(PathBuf),
    /// `s3://bucket/prefix/`.
    Bucket(super::bucket::Address),
}

impl Output {
    /// An `s3://` URL, or else a directory's path.
    pub fn parse(text: &str) -> Result<Output, String> {
        if text.starts_with("s3://") {
            super::bucket::Address::parse(text).map(Output::Bucket)
        } else {
            Ok(Output::Dir(PathBuf::from(text)))
        }
    }

    /// As messages name it.
    pub fn shown(&self) -> String {
        match self {
            Output::Dir(dir) => dir.display().to_string(),
            Output::Bucket(address) => address.to_string(),
        }
    }

    /// The place to publish to, as a publish finds it. A bucket's hashes of what it holds are
    /// read from `store`; `interval` (how often the feeds are refreshed) is the max-age of the
    /// objects whose content moves.
    pub fn open(&self, store: &Store, interval: Duration) -> Result<Box<dyn Target>, PublishError> {
        Ok(match self {
            Output::Dir(dir) => Box::new(super::dir::Dir::open(dir)?),
            Output::Bucket(address) => Box::new(super::bucket::Bucket::open(
                address.clone(),
                store,
                interval,
            )?),
        })
    }
}

/// How long a published file may be kept by a cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// A file a refresh may change: a live feed, the index, the newest archive month.
    Live,
    /// A document whose content stays: an archive month before the newest.
    Settled,
}

impl Freshness {
    /// The Cache-Control a file is served with, by `serve` or by the bucket behind a CDN.
    pub fn cache_control(self, interval: Duration) -> String {
        match self {
            Freshness::Live => format!("public, max-age={}", interval.as_secs()),
            Freshness::Settled => "public, max-age=86400".to_owned(),
        }
    }
}

/// A place published files are put.
pub trait Target {
    /// The place, as messages and the publish stamp name it: an absolute directory or a URL.
    fn place(&self) -> &str;
    /// Whether `path` is published there. A bucket answers from the hashes in the state, never
    /// by listing or asking the store.
    fn has(&self, path: &str) -> bool;
    /// What it holds besides the live files `live` and the archives: what a feed no longer
    /// configured left, to be removed. A directory answers nothing: it may hold files of
    /// others.
    fn others(&self, live: &HashSet<&str>) -> Vec<String>;
    /// Makes `bytes` the next content of `path`, unless it is already; `false` when unchanged.
    /// A directory shows nothing before [`Target::commit`]; a bucket may upload early, each
    /// object whole.
    fn stage(
        &mut self,
        kind: Kind,
        freshness: Freshness,
        path: &str,
        bytes: &[u8],
    ) -> Result<bool, PublishError>;
    /// Puts every staged file in place, the site's pages (index, OPML) after the feeds they
    /// list; a failure names every file that could not be put.
    fn commit(&mut self) -> Result<(), PublishError>;
    /// Removes a published file, if it is there; made lasting by the next [`Target::commit`].
    fn remove(&mut self, path: &str) -> Result<(), PublishError>;
    /// A published file's content; `None` when it is not there.
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, PublishError>;
    /// Keeps in the state what the target must know next time (a bucket's content hashes);
    /// called after a publish whether it succeeded or not, so that what did go up is not sent
    /// again and what did not is.
    fn record(&mut self, store: &mut Store) -> Result<(), StoreError>;
}
