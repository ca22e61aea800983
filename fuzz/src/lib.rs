//! What each fuzz target does with one input. The targets in `fuzz_targets/` call these, and
//! `tests/fuzz_regressions.rs` includes this file to run them on every input saved under
//! `fuzz/regressions/<target>/`, so what fuzzing found stays fixed in a plain `cargo test`.

use chrono::{DateTime, Datelike, FixedOffset};
use kairan::Config;
use kairan::config::{Source, SourceKind};
use kairan::model::{Entry, RawRow};
use kairan::normalize;
use kairan::text::date;
use kairan::text::{MAX_SUMMARY_CHARS, MAX_TITLE_CHARS, xml_safe};
use std::sync::LazyLock;

/// The shipped configuration, compiled once: its listing's selectors and its time zone are what
/// the targets run with.
static BUILTIN: LazyLock<Config> = LazyLock::new(Config::builtin);

fn source(kind: fn(&SourceKind) -> bool) -> &'static Source {
    BUILTIN
        .sources
        .iter()
        .find(|s| kind(&s.kind))
        .expect("the built-in configuration has a listing and a feed")
}

/// Bytes as a listing page: charset decoding, the built-in selectors, normalization.
pub fn html_extract(data: &[u8]) {
    let listing = source(|k| matches!(k, SourceKind::Html(_)));
    let SourceKind::Html(select) = &listing.kind else {
        unreachable!("found as a listing")
    };
    let (page, _) = kairan::fetch::decode::decode_html(data, None);
    if let Ok(rows) = kairan::extract::html::extract(&page, select) {
        check_rows(listing, rows);
    }
}

/// Bytes as an article page: charset decoding, the built-in article rule, sanitizing and
/// dating. Whatever the page, the content keeps no active markup and is XML-safe, and its dates
/// are writable.
pub fn article(data: &[u8]) {
    let listing = source(|k| matches!(k, SourceKind::Html(_)));
    let rule = listing
        .article
        .as_ref()
        .expect("the built-in listing reads articles");
    let base = url::Url::parse("https://www.ipa.go.jp/security/anshin/attention/2023/a.html")
        .expect("a valid URL");
    let (page, _) = kairan::fetch::decode::decode_html(data, None);
    let Ok(raw) = kairan::extract::article::extract(&page, rule) else {
        return;
    };
    let Ok(n) = normalize::article::article(raw, &base, BUILTIN.site.timezone) else {
        return;
    };
    let content = n.article.content.to_ascii_lowercase();
    for active in [
        "<script",
        "<style",
        "<iframe",
        "<object",
        "<embed",
        "<form",
        "javascript:",
    ] {
        assert!(!content.contains(active), "{active} in {content}");
    }
    assert_eq!(n.article.content, xml_safe(&n.article.content));
    n.article
        .dates
        .published
        .into_iter()
        .chain(n.article.dates.updated)
        .for_each(check_date);
}

/// Bytes as a page nobody described: `kairan suggest` never panics, and a block it proposes
/// compiles and reads at least two entries, each as normalization promises.
pub fn suggest(data: &[u8]) {
    let url = url::Url::parse("https://www.example.go.jp/news/index.html").expect("a valid URL");
    let tz = BUILTIN.site.timezone;
    if let kairan::suggest::Suggestion::Listing { block, entries, .. } =
        kairan::suggest::suggest(data, None, &url, tz)
    {
        let text = format!(
            "[site]\ntitle = \"t\"\nauthor = \"t\"\nbase_url = \"http://127.0.0.1/\"\n\n{block}\n\
             [[topic]]\nid = \"any\"\ntitle = \"any\"\nany = [\"a\"]\n"
        );
        if let Err(e) = Config::parse(&text, "suggested.toml") {
            panic!("the proposed block does not compile: {e}\n{block}");
        }
        assert!(
            entries.len() >= 2,
            "a proposal that reads fewer than two entries"
        );
        entries.iter().for_each(check_entry);
    }
}

/// Bytes as a feed (RSS, Atom, JSON Feed), then normalization.
pub fn feed(data: &[u8]) {
    let feed = source(|k| matches!(k, SourceKind::Feed));
    if let Ok(rows) = kairan::extract::feed::extract(data, BUILTIN.site.timezone) {
        check_rows(feed, rows);
    }
}

/// Text as a listing or feed date.
pub fn date(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(d) = date::parse(text, BUILTIN.site.timezone) {
        check_date(d);
    }
}

/// Text as a configuration file; an error must render as a message.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = Config::parse(text, "fuzz.toml") {
        assert!(!e.to_string().is_empty());
    }
}

/// What normalization promises about every entry it lets through, whatever the input.
fn check_rows(source: &Source, rows: Vec<RawRow>) {
    let n = normalize::normalize(&source.id, &source.url, rows, BUILTIN.site.timezone);
    for e in n.entries {
        check_entry(&e);
    }
}

fn check_entry(e: &Entry) {
    for text in [Some(&e.title), e.summary.as_ref(), Some(&e.link)]
        .into_iter()
        .flatten()
    {
        assert_eq!(&xml_safe(text), text, "XML-unsafe characters kept");
    }
    assert!(!e.title.is_empty(), "empty title");
    assert!(e.title.chars().count() <= MAX_TITLE_CHARS, "title not cut");
    assert!(
        e.summary
            .as_ref()
            .is_none_or(|s| !s.is_empty() && s.chars().count() <= MAX_SUMMARY_CHARS),
        "summary empty or not cut"
    );
    assert!(
        e.link.starts_with("http://") || e.link.starts_with("https://"),
        "link {} is not http(s)",
        e.link
    );
    e.published
        .into_iter()
        .chain(e.updated)
        .for_each(check_date);
}

/// A date kairan accepts is written into Atom (`xsd:dateTime`) and the store as RFC 3339: it
/// must print as RFC 3339 that reads back as the same instant, with a year from 1 to 9999.
fn check_date(d: DateTime<FixedOffset>) {
    let printed = d.to_rfc3339();
    let back = DateTime::parse_from_rfc3339(&printed);
    assert_eq!(back, Ok(d), "{printed} does not read back as {d:?}");
    for year in [d.year(), d.naive_utc().year()] {
        assert!((1..=9999).contains(&year), "year {year} in {printed}");
    }
}
