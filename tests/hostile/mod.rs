//! Hostile and broken input served over loopback to the shipped configuration: oversized and
//! invalid text, markup nested beyond reason, feeds that try entity tricks or carry active
//! content, impossible dates. Whatever arrives, the run ends, says why a source failed, and
//! publishes only text that validates. (`tests/input.rs` has the basic hostile listing.)
//!
//! `text` holds what arrives as text (sizes, control characters, invalid UTF-8, dates),
//! `markup` how it is wrapped (nesting, entities, active content, broken elements). The pages,
//! feeds and checks both use are here.

mod encodings;
mod markup;
mod text;

use crate::common::*;
use kairan::text::xml_safe;

/// A listing in IPA's markup around the given `<li>` items.
fn listing(items: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\"><title>一覧</title></head>\n\
         <body><ul class=\"news-list\">\n{items}\n</ul></body></html>\n"
    )
}

/// One listing row; title and summary are markup.
fn item(path: &str, date: &str, title: &str, summary: &str) -> String {
    format!(
        "<li class=\"news-list__item\"><a href=\"{path}\"><ul><li class=\"news-list__date\">{date}</li></ul>\
         <p class=\"news-list__ttl\">{title}</p><div class=\"news-list__txt\">{summary}</div></a></li>\n"
    )
}

/// An RSS 2.0 feed with the given prologue (a DOCTYPE, say) and `<item>`s.
fn rss(prologue: &str, items: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{prologue}\n<rss version=\"2.0\"><channel>\
         <title>t</title><link>https://www.ipa.go.jp/</link><description>d</description>\n{items}\n\
         </channel></rss>\n"
    )
}

/// The shipped configuration against a server whose listing and alert feed are given.
fn serve(name: &str, listing: Reply, alert: Reply) -> (Server, Workspace) {
    let server = Server::start();
    server.route(LISTING_PATH, listing);
    server.route(ALERT_PATH, alert);
    let ws = Workspace::new(name);
    ws.shipped_config(&server);
    (server, ws)
}

fn good_alerts() -> Reply {
    Reply::ok("application/rdf+xml", fixture("ipa/alert-rss.rdf"))
}

fn rss_reply(body: String) -> Reply {
    Reply::ok("application/rss+xml", body)
}

/// Every published file, as text: it must be UTF-8 and free of characters XML cannot carry.
fn published(ws: &Workspace) -> String {
    let mut all = String::new();
    let feeds = std::fs::read_dir(ws.out().join("feeds")).unwrap();
    let mut files: Vec<String> = feeds
        .map(|e| format!("feeds/{}", e.unwrap().file_name().to_str().unwrap()))
        .collect();
    files.extend(["feeds.opml".to_owned(), "index.html".to_owned()]);
    for f in files {
        let text = ws.read(&f);
        assert_eq!(xml_safe(&text), text, "{f} has characters XML cannot carry");
        all.push_str(&text);
    }
    all
}

fn entry<'a>(feed: &'a feed_rs::model::Feed, prefix: &str) -> &'a feed_rs::model::Entry {
    feed.entries
        .iter()
        .find(|e| e.title.as_ref().unwrap().content.starts_with(prefix))
        .unwrap_or_else(|| panic!("no entry titled {prefix}…"))
}

fn title(e: &feed_rs::model::Entry) -> &str {
    &e.title.as_ref().unwrap().content
}
