//! Feeds (RSS 0.9x/1.0/2.0, Atom, JSON Feed) through feed-rs. feed-rs types stop here.

use super::ExtractError;
use super::html::fragment_text;
use crate::fetch::decode::decode_xml;
use crate::model::{RawDate, RawRow};
use crate::text::date;
use chrono_tz::Tz;
use feed_rs::model::{Entry, Text};

/// Extracts the entries of a feed. `bytes` are handed over undecoded, feed-rs reading the
/// encoding from the XML declaration, but for UTF-16 and UTF-32, which are decoded first
/// ([`decode_xml`]). Dates are read in `tz` where they carry no zone.
pub fn extract(bytes: &[u8], tz: Tz) -> Result<Vec<RawRow>, ExtractError> {
    let parser = feed_rs::parser::Builder::new()
        // feed-rs's own reader refuses RFC 3339 without seconds (JVN) and reads a bare date
        // as UTC midnight; ours reads both as the listings are read.
        .timestamp_parser(move |s| date::parse(s, tz).ok().map(|d| d.to_utc()))
        .build();
    let feed = parser
        .parse(&*decode_xml(bytes))
        .map_err(|e| ExtractError::Feed(e.to_string()))?;
    if feed.entries.is_empty() {
        return Err(ExtractError::EmptyFeed);
    }
    feed.entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| row(i + 1, e))
        .collect()
}

fn row(position: usize, e: Entry) -> Result<RawRow, ExtractError> {
    // feed-rs makes up ids (link + title for RSS 1.0), so the entry's own id is not used:
    // normalize keys entries by their canonical link.
    let link = e
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or(e.links.first())
        .map(|l| l.href.clone());
    let summary = match (
        &e.summary,
        e.content.as_ref().and_then(|c| c.body.as_deref()),
    ) {
        (Some(s), _) => Some(text(s)?),
        (None, Some(body)) => Some(fragment_text(body)?),
        (None, None) => None,
    };
    Ok(RawRow {
        position,
        title: e.title.as_ref().map(text).transpose()?,
        link,
        summary,
        published: e.published.map(RawDate::Instant),
        updated: e.updated.map(RawDate::Instant),
    })
}

/// Feed text is either plain or HTML; either way a reader sees text.
fn text(t: &Text) -> Result<String, ExtractError> {
    if t.content_type.as_str().starts_with("text/plain") {
        Ok(t.content.clone())
    } else {
        fragment_text(&t.content)
    }
}
