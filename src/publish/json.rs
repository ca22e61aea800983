//! JSON Feed 1.1 (<https://jsonfeed.org/version/1.1>): the same feeds as the Atom ones, for
//! portal pages that read them with `fetch()`.

use super::{FeedView, Head};
use serde::Serialize;

// Fields in alphabetical order, as readers of earlier files saw them.
#[derive(Serialize)]
struct Feed<'a> {
    authors: [Author<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    feed_url: &'a str,
    home_page_url: &'a str,
    items: Vec<Item<'a>>,
    language: &'a str,
    /// The older entries (RFC 5005's prev-archive): the newest archive from a live feed, the
    /// one before from an archive.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<&'a str>,
    title: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
struct Author<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Item<'a> {
    /// The article's sanitized HTML, where it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<&'a str>,
    /// One of content_text and content_html is required: plain text, as in Atom.
    content_text: &'a str,
    date_modified: String,
    date_published: String,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a str>,
    tags: Vec<&'a str>,
    title: &'a str,
    url: &'a str,
}

pub fn render(site: &Head<'_>, view: &FeedView<'_>) -> Vec<u8> {
    let feed = Feed {
        authors: [Author { name: &site.author }],
        description: view.subtitle.as_deref(),
        feed_url: &view.json_url,
        home_page_url: &view.html_url,
        items: view
            .entries
            .iter()
            .map(|item| {
                let e = item.entry;
                Item {
                    content_html: e.content.as_deref(),
                    content_text: &item.summary,
                    date_modified: e.updated.to_rfc3339(),
                    date_published: e.published.to_rfc3339(),
                    id: &e.id,
                    summary: Some(&item.summary),
                    tags: item.topics.iter().map(|t| t.id.as_str()).collect(),
                    title: &e.title,
                    url: &e.link,
                }
            })
            .collect(),
        language: site.labels.code,
        next_url: view.history.prev.as_ref().map(|(_, json)| json.as_str()),
        title: &view.title,
        version: "https://jsonfeed.org/version/1.1",
    };
    let mut bytes = serde_json::to_vec_pretty(&feed).expect("borrowed strings always serialize");
    bytes.push(b'\n');
    bytes
}
