//! `kairan suggest`: a `[[source]]` block for a page nobody described. The page is read as
//! `run` reads it (same client, limits and charset rules); a feed, or a page that links its
//! feed, gets a `kind = "feed"` block; otherwise the listings [`extract::suggest`] finds are
//! ranked, and the best is written as TOML, compiled by the configuration compiler and
//! extracted with, so that the rows shown are the rows `kairan run` will read.

use crate::config::Config;
use crate::extract;
use crate::extract::suggest::{Candidate, quoted};
use crate::fetch::{self, Client, FetchError, FetchSettings, Validators, decode};
use crate::model::Entry;
use crate::normalize;
use crate::source::SourceKind;
use chrono_tz::Tz;
use scraper::{Html, Selector};
use std::fmt::Write;
use url::Url;

/// What a page is, as a source.
#[derive(Debug)]
pub enum Suggestion {
    /// The page is a feed, or names its feed in `<link rel="alternate">`.
    Feed {
        url: Url,
        title: String,
        /// `the page is a feed` or `the page links its feed`.
        why: &'static str,
    },
    /// A listing: the best candidate, written and verified, and the others.
    Listing {
        block: String,
        best: Candidate,
        /// The best's rows as `run` reads them.
        entries: Vec<Entry>,
        others: Vec<Candidate>,
    },
    /// Nothing to read, and what the page looked like.
    Nothing { why: String },
}

/// Fetches `url` as `run` would: the body, its content type and the URL it came from.
pub async fn fetch(url: &Url, settings: &FetchSettings) -> Result<fetch::Fetched, FetchError> {
    match Client::new(settings)
        .fetch(url, &Validators::default())
        .await?
    {
        fetch::Outcome::Fetched(f) => Ok(f),
        // Nothing was sent to make a 304 the right answer; a server that sends one anyway has
        // given no page.
        fetch::Outcome::NotModified => {
            Err(FetchError::Network("answered 304 to a plain GET".into()))
        }
    }
}

/// What `body`, fetched from `url`, is as a source.
pub fn suggest(body: &[u8], content_type: Option<&str>, url: &Url, tz: Tz) -> Suggestion {
    if looks_like_feed(body, content_type)
        && extract::feed::extract(body, tz).is_ok_and(|rows| !rows.is_empty())
    {
        return Suggestion::Feed {
            url: url.clone(),
            title: feed_title(body).unwrap_or_else(|| url.to_string()),
            why: "the page is a feed",
        };
    }
    let (page, _) = decode::decode_html(body, content_type);
    let doc = match extract::html::document(&page) {
        Ok(doc) => doc,
        Err(e) => return Suggestion::Nothing { why: e.to_string() },
    };
    let title = page_title(&doc).unwrap_or_else(|| url.to_string());
    if let Some(feed) = linked_feed(&doc, url) {
        return Suggestion::Feed {
            url: feed,
            title,
            why: "the page links its feed",
        };
    }
    let mut found = extract::suggest::candidates_in(&doc, tz);
    // The first candidate the configuration compiler accepts and that gives entries wins.
    while !found.is_empty() {
        let best = found.remove(0);
        let block = block(&best, &source_id(url), &title, url);
        if let Some(entries) = verify(&block, &page, url, tz).filter(|e| e.len() >= 2) {
            return Suggestion::Listing {
                block,
                best,
                entries,
                others: found,
            };
        }
    }
    Suggestion::Nothing {
        why: if extract::suggest::needs_javascript(&doc) {
            "the page has almost no text but scripts: it is likely built by JavaScript, which \
             kairan does not run; look for a feed or an API the page reads"
                .to_owned()
        } else {
            "no repeated structure with links and text was found in the page".to_owned()
        },
    }
}

/// A `[[source]]` block for the feed at `url`.
pub fn feed_block(url: &Url, title: &str) -> String {
    format!(
        "[[source]]\nid = {}\ntitle = {}\nurl = {}\nkind = \"feed\"\n",
        quoted(&source_id(url)),
        quoted(title),
        quoted(url.as_str())
    )
}

fn block(c: &Candidate, id: &str, title: &str, url: &Url) -> String {
    let s = &c.select;
    let mut out = format!(
        "[[source]]\nid = {}\ntitle = {}\nurl = {}\nkind = \"html\"\n[source.select]\n\
         item = {}\ntitle = {}\nlink = {}\n",
        quoted(id),
        quoted(title),
        quoted(url.as_str()),
        quoted(&s.item),
        quoted(&s.title),
        quoted(&s.link)
    );
    if let Some(d) = &s.date {
        let _ = writeln!(out, "date = {}", quoted(d));
    }
    if let Some(d) = &s.summary {
        let _ = writeln!(out, "summary = {}", quoted(d));
    }
    out
}

/// The block compiled by the configuration compiler, inside the least configuration that
/// compiles, and its rows read as `run` reads them.
fn verify(block: &str, page: &str, url: &Url, tz: Tz) -> Option<Vec<Entry>> {
    let text = format!(
        "[site]\ntitle = \"suggest\"\nauthor = \"suggest\"\nbase_url = \"http://127.0.0.1/\"\n\n{block}\n\
         [[topic]]\nid = \"any\"\ntitle = \"any\"\nany = [\"a\"]\n"
    );
    let config = Config::parse(&text, "suggest").ok()?;
    let source = config.sources.first()?;
    let SourceKind::Html(select) = &source.kind else {
        return None;
    };
    let rows = extract::html::extract(page, select).ok()?;
    Some(normalize::normalize(&source.id, url, rows, tz).entries)
}

/// A source id from the host and the path: `example-security-news` for
/// `https://www.example.go.jp/security/news/index.html`.
pub fn source_id(url: &Url) -> String {
    const GENERIC: [&str; 12] = [
        "www", "go", "co", "or", "ne", "ac", "lg", "jp", "com", "org", "net", "gov",
    ];
    let host = url.host_str().unwrap_or("");
    let mut words: Vec<String> = host
        .split('.')
        .filter(|l| !GENERIC.contains(l))
        .take(1)
        .map(str::to_owned)
        .collect();
    let stems: Vec<&str> = url
        .path_segments()
        .into_iter()
        .flatten()
        .map(|p| p.split('.').next().unwrap_or(""))
        .filter(|p| !p.is_empty() && *p != "index" && *p != "default")
        .collect();
    words.extend(
        stems[stems.len().saturating_sub(2)..]
            .iter()
            .map(|s| (*s).to_owned()),
    );
    let id: String = words
        .join("-")
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let id = id.trim_matches('-');
    let id: String = id.chars().take(40).collect();
    if id.is_empty() {
        "listing".to_owned()
    } else {
        id
    }
}

fn looks_like_feed(body: &[u8], content_type: Option<&str>) -> bool {
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    if ["rss", "atom", "rdf", "feed+json"]
        .iter()
        .any(|t| ct.contains(t))
    {
        return true;
    }
    let head = String::from_utf8_lossy(&body[..body.len().min(2048)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    (head.starts_with("<?xml") || head.starts_with("<rss") || head.starts_with("<feed"))
        && ["<rss", "<rdf:rdf", "<feed"]
            .iter()
            .any(|t| head.contains(t))
        || head.starts_with('{') && head.contains("jsonfeed.org")
}

fn feed_title(body: &[u8]) -> Option<String> {
    let feed = feed_rs::parser::parse(&decode::decode_xml(body)[..]).ok()?;
    feed.title.map(|t| t.content.trim().to_owned())
}

fn page_title(doc: &Html) -> Option<String> {
    let title = Selector::parse("head > title").expect("a valid selector");
    let text: String = doc.select(&title).next()?.text().collect();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // "Page | Site": the page's own name comes first.
    let name = [" | ", " - ", " – ", "｜"]
        .iter()
        .fold(text.as_str(), |t, sep| t.split(sep).next().unwrap_or(t))
        .trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// The feed a page names in `<link rel="alternate" type="…">`, resolved against its URL.
fn linked_feed(doc: &Html, url: &Url) -> Option<Url> {
    let links = Selector::parse("link[rel~=alternate][href][type]").expect("a valid selector");
    doc.select(&links).find_map(|l| {
        let kind = l.value().attr("type")?.to_ascii_lowercase();
        let feed = [
            "application/rss+xml",
            "application/atom+xml",
            "application/rdf+xml",
            "application/feed+json",
        ]
        .contains(&kind.trim());
        feed.then(|| url.join(l.value().attr("href")?).ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_the_host_and_the_path() {
        let id = |u: &str| source_id(&Url::parse(u).unwrap());
        assert_eq!(
            id("https://www.example.go.jp/security/news/index.html"),
            "example-security-news"
        );
        assert_eq!(
            id("https://www.ipa.go.jp/security/anshin/attention/index.html"),
            "ipa-anshin-attention"
        );
        assert_eq!(id("https://jvn.jp/"), "jvn");
        assert_eq!(id("http://127.0.0.1:8080/list.html"), "127-list");
    }

    #[test]
    fn strings_are_quoted_as_toml_reads_them() {
        let s = "a \"quoted\" \\ and\ttab";
        let parsed: toml::Value = toml::from_str(&format!("k = {}", quoted(s))).unwrap();
        assert_eq!(parsed["k"].as_str(), Some(s));
    }
}
