//! Atom (RFC 4287) feeds. Every required element is set explicitly (atom_syndication would
//! otherwise write an empty id and a 1970 `updated`), all text goes out as `type="text"` and
//! an article's sanitized HTML as `type="html"`, both of which the writer escapes.

use super::{FeedView, Head};
use atom_syndication::{Category, Content, Entry, Feed, Generator, Link, Person, Text};
use std::collections::BTreeMap;

/// RFC 5005's namespace: `fh:archive` marks an archive document.
const HISTORY: &str = "http://purl.org/syndication/history/1.0";

pub fn render(site: &Head<'_>, view: &FeedView<'_>) -> Vec<u8> {
    let feed = Feed {
        title: Text::plain(view.title.clone()),
        id: view.url.clone(),
        updated: view.updated,
        authors: vec![Person {
            name: site.author.clone(),
            ..Default::default()
        }],
        generator: Some(Generator {
            value: "kairan".into(),
            uri: None,
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
        links: links(view),
        namespaces: history_namespace(view),
        subtitle: view.subtitle.clone().map(Text::plain),
        lang: Some(site.labels.code.into()),
        entries: view
            .entries
            .iter()
            .map(|item| Entry {
                title: Text::plain(item.entry.title.clone()),
                id: item.entry.id.clone(),
                updated: item.entry.updated,
                published: Some(item.entry.published),
                // The article may be a page or a PDF: no type is claimed.
                links: vec![link(&item.entry.link, "alternate", None)],
                summary: Some(Text::plain(item.summary.to_string())),
                content: item.entry.content.as_ref().map(|html| Content {
                    value: Some(html.clone()),
                    content_type: Some("html".into()),
                    ..Default::default()
                }),
                categories: item
                    .topics
                    .iter()
                    .map(|t| Category {
                        term: t.id.clone(),
                        scheme: None,
                        label: Some(t.title.clone()),
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let config = atom_syndication::WriteConfig {
        write_document_declaration: true,
        indent_size: Some(1),
    };
    let bytes = feed
        .write_with_config(Vec::new(), config)
        .expect("writing to memory cannot fail");
    if view.history.current.is_some() {
        archive_mark(bytes)
    } else {
        bytes
    }
}

/// Marks an archive document with `<fh:archive/>`, among the feed's metadata: the schema of
/// RFC 4287 wants extension elements before the entries, and atom_syndication writes them
/// after. The marker goes before the first `<entry>` (text cannot hold one unescaped), or
/// before `</feed>`.
fn archive_mark(bytes: Vec<u8>) -> Vec<u8> {
    const MARK: &[u8] = b" <fh:archive/>\n";
    let at = find(&bytes, b"\n <entry>")
        .map(|i| i + 1)
        .or_else(|| find(&bytes, b"</feed>"))
        .unwrap_or(bytes.len());
    [&bytes[..at], MARK, &bytes[at..]].concat()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Its own link, the page it is read on, and its history's (RFC 5005): the live feed that an
/// archive belongs to, and the archives before and after.
fn links(view: &FeedView<'_>) -> Vec<Link> {
    let atom = Some("application/atom+xml");
    let mut links = vec![
        link(&view.url, "self", atom),
        link(&view.html_url, "alternate", Some("text/html")),
    ];
    let h = &view.history;
    for (rel, to) in [
        ("current", &h.current),
        ("prev-archive", &h.prev),
        ("next-archive", &h.next),
    ] {
        if let Some((href, _)) = to {
            links.push(link(href, rel, atom));
        }
    }
    links
}

fn history_namespace(view: &FeedView<'_>) -> BTreeMap<String, String> {
    let mut namespaces = BTreeMap::new();
    if view.history.current.is_some() {
        namespaces.insert("fh".to_owned(), HISTORY.to_owned());
    }
    namespaces
}

fn link(href: &str, rel: &str, mime: Option<&str>) -> Link {
    Link {
        href: href.to_owned(),
        rel: rel.to_owned(),
        mime_type: mime.map(str::to_owned),
        ..Default::default()
    }
}
