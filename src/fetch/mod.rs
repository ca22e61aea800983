//! Getting a source's bytes: over HTTP with limits, retries and conditional requests, or from
//! a local file; [`schedule`] spreads many requests over hosts politely.

mod client;
pub mod decode;
mod file;
pub mod schedule;

use std::time::Duration;
use url::Url;

pub use client::{Client, tls};
pub use file::read as read_file;

/// The causes under an error, outermost first: reqwest's own message stops at its outermost
/// layer ("error sending request for url …"), while what happened is below it.
pub fn causes(e: &dyn std::error::Error) -> impl Iterator<Item = String> + '_ {
    std::iter::successors(e.source(), |s| s.source()).map(ToString::to_string)
}

/// How requests are made: compiled from `[fetch]` by the configuration.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub user_agent: String,
    pub timeout: Duration,
    pub max_body_bytes: u64,
    pub retries: u32,
    /// Article pages fetched per source and run, at most.
    pub max_articles_per_run: usize,
}

/// Validators of a source's last good response, for a conditional request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("timed out after {0} s")]
    Timeout(u64),
    #[error("body larger than the limit of {0} bytes")]
    TooLarge(u64),
    #[error("{0}")]
    Network(String),
    #[error("cannot read the file: {0}")]
    File(std::io::Error),
    #[error("{0} is not a local path")]
    NotAPath(Url),
}

/// A body, with what is needed to read it and to ask for it conditionally next time.
#[derive(Debug)]
pub struct Fetched {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
    /// The URL the body came from, after redirects: relative links resolve against it.
    pub url: Url,
    pub validators: Validators,
}

#[derive(Debug)]
pub enum Outcome {
    Fetched(Fetched),
    /// The source answered 304 to our validators.
    NotModified,
}

impl Client {
    /// Fetches a source's URL, conditionally when `validators` has something to send.
    pub async fn fetch(&self, url: &Url, validators: &Validators) -> Result<Outcome, FetchError> {
        if url.scheme() == "file" {
            return file::read(url, self.settings().max_body_bytes).map(Outcome::Fetched);
        }
        self.get(url, validators).await
    }
}

impl FetchSettings {
    pub(crate) fn timeout_secs(&self) -> u64 {
        self.timeout.as_secs()
    }
}
