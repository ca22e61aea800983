//! Atom (RFC 4287) feeds. Every required element is set explicitly (atom_syndication would
//! otherwise write an empty id and a 1970 `updated`), all text goes out as `type="text"` and
//! an article's sanitized HTML as `type="html"`, both of which the writer escapes.

use super::{FeedView, Head};
use atom_syndication::{Category, Content, Entry, Feed, Generator, Link, Person, Text};

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
        links: vec![
            link(&view.url, "self", Some("application/atom+xml")),
            link(&view.html_url, "alternate", Some("text/html")),
        ],
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
    feed.write_with_config(Vec::new(), config)
        .expect("writing to memory cannot fail")
}

fn link(href: &str, rel: &str, mime: Option<&str>) -> Link {
    Link {
        href: href.to_owned(),
        rel: rel.to_owned(),
        mime_type: mime.map(str::to_owned),
        ..Default::default()
    }
}
