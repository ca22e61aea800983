//! One source read: its fetch result extracted and normalized into entries, and the one
//! [`Outcome`] that every later reader of it (the store, `run`, `check`, `serve`) works from.

use crate::extract::article::ArticleRule;
use crate::extract::{self, ExtractError, html::Selectors};
use crate::fetch::{self, FetchError, Validators, decode};
use crate::model::{Entry, RawRow};
use crate::normalize::{self, RowWarning};
use chrono_tz::Tz;
use std::fmt;
use url::Url;

/// A configured source: compiled from a `[[source]]` table.
#[derive(Debug, Clone)]
pub struct Source {
    pub id: String,
    pub title: String,
    /// http(s) or file URL.
    pub url: Url,
    pub kind: SourceKind,
    /// How to read each entry's own page, when the source reads them.
    pub article: Option<ArticleRule>,
}

#[derive(Debug, Clone)]
pub enum SourceKind {
    Html(Selectors),
    Feed,
}

/// Why a source gave nothing this run.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Extract(#[from] ExtractError),
    /// A panic while reading, most likely a dependency's bug on hostile bytes.
    #[error("internal error while reading: {0}")]
    Internal(String),
}

/// How reading a source went.
#[derive(Debug)]
pub enum Outcome {
    /// Read: how many rows the source had, how many entries they gave, and the validators to
    /// send next time.
    Fetched {
        rows: usize,
        entries: usize,
        validators: Validators,
    },
    /// 304: nothing changed since the validators we sent.
    NotModified,
    Failed(SourceError),
}

/// As every report prints it: `62 rows, 61 entries`, `not modified`, `FAILED: reason`.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Fetched { rows, entries, .. } => write!(f, "{rows} rows, {entries} entries"),
            Outcome::NotModified => f.write_str("not modified"),
            Outcome::Failed(e) => write!(f, "FAILED: {e}"),
        }
    }
}

/// One source's share of a refresh: how it went and the warnings about its rows.
#[derive(Debug)]
pub struct SourceReport {
    pub id: String,
    pub url: String,
    pub outcome: Outcome,
    pub warnings: Vec<RowWarning>,
}

impl SourceReport {
    pub fn failure(&self) -> Option<&SourceError> {
        match &self.outcome {
            Outcome::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// Extracts and normalizes what was fetched for `source`: its report, and the entries it gave.
/// A panic on the way fails this source only: the others are read and published.
pub fn read(
    source: &Source,
    result: Result<fetch::Outcome, FetchError>,
    tz: Tz,
) -> (SourceReport, Vec<Entry>) {
    contained(source, || read_unguarded(source, result, tz))
}

/// Runs one source's `read`, turning a panic in it into that source's failure.
fn contained(
    source: &Source,
    read: impl FnOnce() -> (SourceReport, Vec<Entry>),
) -> (SourceReport, Vec<Entry>) {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|panic| {
        let message = panic_message(&*panic);
        let report = SourceReport {
            id: source.id.clone(),
            url: source.url.to_string(),
            outcome: Outcome::Failed(SourceError::Internal(message)),
            warnings: Vec::new(),
        };
        (report, Vec::new())
    })
}

/// What a caught panic said.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    (panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

fn read_unguarded(
    source: &Source,
    result: Result<fetch::Outcome, FetchError>,
    tz: Tz,
) -> (SourceReport, Vec<Entry>) {
    let mut warnings = Vec::new();
    let mut entries = Vec::new();
    let outcome = match result.map_err(SourceError::from).and_then(|o| match o {
        fetch::Outcome::NotModified => Ok(None),
        fetch::Outcome::Fetched(f) => extract(source, &f.body, f.content_type.as_deref(), tz)
            .map(|rows| Some((f.url, f.validators, rows))),
    }) {
        Ok(None) => Outcome::NotModified,
        Ok(Some((url, validators, raw))) => {
            let rows = raw.len();
            let n = normalize::normalize(&source.id, &url, raw, tz);
            warnings = n.warnings;
            entries = n.entries;
            Outcome::Fetched {
                rows,
                entries: entries.len(),
                validators,
            }
        }
        Err(e) => Outcome::Failed(e),
    };
    let report = SourceReport {
        id: source.id.clone(),
        url: source.url.to_string(),
        outcome,
        warnings,
    };
    (report, entries)
}

/// A body's rows, by the source's kind.
fn extract(
    source: &Source,
    body: &[u8],
    content_type: Option<&str>,
    tz: Tz,
) -> Result<Vec<RawRow>, SourceError> {
    Ok(match &source.kind {
        SourceKind::Html(select) => {
            let (page, _) = decode::decode_html(body, content_type);
            // A redesign is fixed with one paste: what suggest finds in the page now.
            extract::html::extract(&page, select).map_err(|e| match e {
                ExtractError::NoItems { selector, .. } => ExtractError::NoItems {
                    selector,
                    proposal: extract::suggest::proposal(&page, tz),
                },
                e => e,
            })?
        }
        SourceKind::Feed => extract::feed::extract(body, tz)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_reading_is_the_source_failure() {
        let source = Source {
            id: "alert".into(),
            title: "alert".into(),
            url: Url::parse("https://www.ipa.go.jp/security/alert-rss.rdf").unwrap(),
            kind: SourceKind::Feed,
            article: None,
        };
        let (report, entries) = contained(&source, || panic!("prefix buffer was drained"));
        assert!(entries.is_empty());
        assert_eq!(report.id, "alert");
        assert_eq!(
            report.outcome.to_string(),
            "FAILED: internal error while reading: prefix buffer was drained"
        );
    }
}
