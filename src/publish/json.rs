//! JSON Feed 1.1 (<https://jsonfeed.org/version/1.1>): the same feeds as the Atom ones, for
//! portal pages that read them with `fetch()`.

use super::{FeedView, Site};
use serde_json::{Value, json};

pub fn render(site: &Site<'_>, view: &FeedView<'_>) -> Vec<u8> {
    let items: Vec<Value> = view
        .entries
        .iter()
        .map(|item| {
            let e = item.entry;
            let mut object = json!({
                "id": e.id,
                "url": e.link,
                "title": e.title,
                // One of content_text and content_html is required: plain text, as in Atom.
                "content_text": e.summary.as_deref().unwrap_or(&e.title),
                "date_published": e.published.to_rfc3339(),
                "date_modified": e.updated.to_rfc3339(),
                "tags": item.topics.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            });
            if let Some(summary) = &e.summary {
                object["summary"] = json!(summary);
            }
            object
        })
        .collect();
    let mut feed = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": view.title,
        "home_page_url": view.html_url,
        "feed_url": view.json_url,
        "language": "ja",
        "authors": [{ "name": site.author }],
        "items": items,
    });
    if let Some(description) = &view.subtitle {
        feed["description"] = json!(description);
    }
    let mut bytes = serde_json::to_vec_pretty(&feed).expect("a JSON value always serializes");
    bytes.push(b'\n');
    bytes
}
