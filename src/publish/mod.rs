//! Stored, classified entries → files: an Atom feed per topic and one for everything, an OPML
//! list of them, an HTML index. Everything is rendered in memory first and written only where
//! it differs from what is on disk.

mod atom;
mod html;
mod opml;
pub mod write;

use crate::config::{Config, Topic};
use crate::model::StoredEntry;
use crate::normalize::text::xml_safe;
use chrono::{DateTime, FixedOffset};
use std::path::{Path, PathBuf};

/// The combined feed's slug; `config` refuses it as a topic id.
pub const ALL: &str = "all";

#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct PublishError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// What a publish did on disk.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Published {
    /// Files whose content changed, relative to the output directory.
    pub written: Vec<String>,
    pub unchanged: usize,
}

/// Site-wide values, made safe for XML once.
pub(crate) struct Site<'a> {
    pub title: String,
    pub author: String,
    pub base_url: &'a url::Url,
}

/// An entry with the topics it is in.
pub(crate) struct Item<'a> {
    pub entry: &'a StoredEntry,
    pub topics: Vec<&'a Topic>,
}

/// One feed to render: the combined feed or a topic's.
pub(crate) struct FeedView<'a> {
    pub slug: &'a str,
    pub title: String,
    pub subtitle: Option<String>,
    /// Absolute URL of the feed file; also its Atom id.
    pub url: String,
    /// Where a person reads it: the index page, at the topic's section.
    pub html_url: String,
    pub updated: DateTime<FixedOffset>,
    /// How many entries the topic has in all, beyond the `max_entries` shown.
    pub total: usize,
    pub entries: Vec<Item<'a>>,
}

/// Renders and writes every output file. `entries` are newest first; `topics_of[i]` are the
/// indices (into `config.topics`) of entry `i`'s topics. `empty_updated` dates a feed that has
/// no entry at all, so that it too is stable from run to run.
pub fn publish(
    config: &Config,
    out: &Path,
    entries: &[StoredEntry],
    topics_of: &[Vec<usize>],
    empty_updated: DateTime<FixedOffset>,
) -> Result<Published, PublishError> {
    let site = Site {
        title: xml_safe(&config.site.title),
        author: xml_safe(&config.site.author),
        base_url: &config.site.base_url,
    };
    let views = views(config, &site, entries, topics_of, empty_updated);
    let mut files: Vec<(String, Vec<u8>)> = views
        .iter()
        .map(|v| (format!("feeds/{}.atom", v.slug), atom::render(&site, v)))
        .collect();
    files.push(("feeds.opml".into(), opml::render(&site, &views)));
    files.push(("index.html".into(), html::render(&site, &views)));

    let fail = |path: &Path| {
        let path = path.to_owned();
        move |source| PublishError { path, source }
    };
    let feeds_dir = out.join("feeds");
    std::fs::create_dir_all(&feeds_dir).map_err(fail(&feeds_dir))?;
    for dir in [out, feeds_dir.as_path()] {
        write::remove_stale_temporaries(dir).map_err(fail(dir))?;
    }
    let mut published = Published::default();
    for (name, bytes) in files {
        let path = out.join(&name);
        if write::write_if_changed(&path, &bytes).map_err(fail(&path))? {
            published.written.push(name);
        } else {
            published.unchanged += 1;
        }
    }
    Ok(published)
}

fn views<'a>(
    config: &'a Config,
    site: &Site<'_>,
    entries: &'a [StoredEntry],
    topics_of: &[Vec<usize>],
    empty_updated: DateTime<FixedOffset>,
) -> Vec<FeedView<'a>> {
    let max = config.site.max_entries;
    let item = |i: usize| Item {
        entry: &entries[i],
        topics: topics_of[i].iter().map(|&t| &config.topics[t]).collect(),
    };
    let view = |slug: &'a str, title: String, subtitle: Option<String>, members: Vec<usize>| {
        let anchor = if slug == ALL {
            String::new()
        } else {
            format!("#topic-{slug}")
        };
        FeedView {
            slug,
            title: xml_safe(&title),
            subtitle: subtitle.as_deref().map(xml_safe),
            url: format!("{}feeds/{slug}.atom", site.base_url),
            html_url: format!("{}{anchor}", site.base_url),
            // Entries are newest first, but `updated` is what orders them only up to ties on
            // the second, so take the maximum rather than the first.
            updated: members
                .iter()
                .take(max)
                .map(|&i| entries[i].updated)
                .max()
                .unwrap_or(empty_updated),
            total: members.len(),
            entries: members.into_iter().take(max).map(item).collect(),
        }
    };
    let mut views = vec![view(
        ALL,
        config.site.title.clone(),
        Some("すべてのトピック".into()),
        (0..entries.len()).collect(),
    )];
    for (t, topic) in config.topics.iter().enumerate() {
        let members = (0..entries.len())
            .filter(|&i| topics_of[i].contains(&t))
            .collect();
        views.push(view(
            &topic.id,
            format!("{}: {}", config.site.title, topic.title),
            topic.description.clone(),
            members,
        ));
    }
    views
}

/// Escapes text for HTML and XML attribute values and content.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
