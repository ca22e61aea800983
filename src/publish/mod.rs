//! Stored, classified entries → files: per feed (the combined one and each topic's) Atom,
//! JSON Feed and an embed; for the site an OPML list and an HTML index. [`catalogue`] names
//! every kind of file; [`select`] reads what each feed shows from the store. Everything is
//! rendered in memory first and written only where it differs from what is on disk.

pub mod archive;
mod atom;
pub mod bucket;
pub mod catalogue;
mod dir;
mod embed;
pub mod filter;
mod html;
mod json;
pub mod labels;
mod opml;
pub mod select;
pub mod stamp;
pub mod target;
pub mod write;

use crate::classify::{Classifier, Topic};
use crate::model::StoredEntry;
use crate::source::Source;
use crate::text::xml_safe;
use archive::History;
use catalogue::Kind;
use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use filter::Filter;
use labels::Labels;
use std::borrow::Cow;
use std::path::PathBuf;
use url::Url;

/// The combined feed's slug; `config` refuses it as a topic id.
pub const ALL: &str = "all";

/// A publish that could not put every file in place; what was there stays.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("cannot write {}: {source}", path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An object store that could not be reached or refused.
    #[error("{place}: {reason}")]
    Bucket { place: String, reason: String },
    /// Uploads that failed after their retries; the next run uploads them.
    #[error(
        "{place}: {} could not be uploaded, and will be at the next run: {}; the first failure: {}",
        if failed.len() == 1 { "1 file".to_owned() } else { format!("{} files", failed.len()) },
        failed.iter().map(|(key, _)| key.as_str()).collect::<Vec<_>>().join(", "),
        failed.first().map_or("", |(_, why)| why.as_str())
    )]
    Upload {
        place: String,
        failed: Vec<(String, String)>,
    },
}

#[derive(Debug, Clone)]
pub struct Site {
    pub title: String,
    /// Where the output directory is served; always ends with `/`.
    pub base_url: Url,
    pub author: String,
    /// The zone of the site's dates: listing dates without one are read in it.
    pub timezone: Tz,
    /// Entries shown in each feed.
    pub max_entries: usize,
    /// The built-in words of the output, in `[site] language`.
    pub labels: &'static Labels,
}

/// What publishing needs of the configuration.
#[derive(Clone, Copy)]
pub struct Settings<'a> {
    pub site: &'a Site,
    /// The sources, for the titles an entry without a summary is described by.
    pub sources: &'a [Source],
    pub topics: &'a [Topic],
    /// The topics' rules, to classify a store whose stored topics follow other rules.
    pub classifier: &'a Classifier,
    /// Entries listed in each embed.
    pub embed_entries: usize,
    /// Whether the entries beyond `max_entries` are published in archives ([`archive`]).
    pub archives: bool,
}

/// A rendered output file: what it is, where it goes under the output directory, its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub kind: Kind,
    /// Relative to the output directory, `/`-separated: `feeds/all.atom`.
    pub path: String,
    pub bytes: Vec<u8>,
}

/// What a publish did on disk, and what it published.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Published {
    /// Files whose content changed, relative to the output directory.
    pub written: Vec<String>,
    pub unchanged: usize,
    /// Every file of the output, as now on disk.
    pub files: Vec<OutputFile>,
    /// Entries per feed, `all` first, then the topics in the order of the configuration; the
    /// feeds show at most `max_entries` of them.
    pub totals: Vec<(String, usize)>,
}

/// Every output file rendered in memory, and the entry counts of the feeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub files: Vec<OutputFile>,
    /// As [`Published::totals`].
    pub totals: Vec<(String, usize)>,
}

/// What one feed shows: its newest entries (at most `max_entries`), newest first, each with
/// the indices (into `config.topics`) of its topics; and how many entries it has in all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    pub entries: Vec<(StoredEntry, Vec<usize>)>,
    pub total: usize,
    /// The month (`YYYY-MM`) of the feed's newest archive document, where it has one.
    pub newest_archive: Option<String>,
}

/// What every feed shows: the combined feed's, and each topic's in the order of
/// `config.topics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Feeds {
    pub all: Selection,
    pub topics: Vec<Selection>,
}

impl Feeds {
    /// What every feed shows of `entries` (newest first), entry `i` being in the topics
    /// `topics_of[i]` (indices into `config.topics`).
    pub fn select(
        settings: &Settings<'_>,
        entries: Vec<StoredEntry>,
        topics_of: Vec<Vec<usize>>,
    ) -> Feeds {
        let selection = |topic: Option<usize>| {
            let members: Vec<usize> = (0..entries.len())
                .filter(|&i| topic.is_none_or(|t| topics_of[i].contains(&t)))
                .collect();
            Selection {
                total: members.len(),
                entries: (members.iter().take(settings.site.max_entries))
                    .map(|&i| (entries[i].clone(), topics_of[i].clone()))
                    .collect(),
                newest_archive: None,
            }
        };
        Feeds {
            all: selection(None),
            topics: (0..settings.topics.len())
                .map(|t| selection(Some(t)))
                .collect(),
        }
    }
}

/// Site-wide values, made safe for XML once.
pub(crate) struct Head<'a> {
    pub title: String,
    pub author: String,
    pub base_url: &'a url::Url,
    pub labels: &'static Labels,
}

/// An entry with the topics it is in, as a feed writes it.
pub(crate) struct Item<'a> {
    pub entry: &'a StoredEntry,
    pub topics: Vec<&'a Topic>,
    /// Its summary, or for an entry that has none (the alert feed's items), the start of its
    /// article, or its title and its source's: every entry carries text, as feed validators
    /// ask.
    pub summary: Cow<'a, str>,
}

/// One feed to render: the combined feed or a topic's.
pub(crate) struct FeedView<'a> {
    pub slug: &'a str,
    pub labels: &'static Labels,
    pub title: String,
    pub subtitle: Option<String>,
    /// Absolute URL of the Atom feed file; also its Atom id.
    pub url: String,
    /// Absolute URL of the JSON Feed file.
    pub json_url: String,
    /// Where a person reads it: the index page, at the topic's section.
    pub html_url: String,
    pub updated: DateTime<FixedOffset>,
    /// How many entries the topic has in all, beyond the `max_entries` shown.
    pub total: usize,
    pub entries: Vec<Item<'a>>,
    /// Its links to the archives (RFC 5005).
    pub history: History,
}

/// Renders and writes every output file. `empty_updated` dates a feed that has no entry at
/// all, so that it too is stable from run to run.
pub fn publish(
    settings: &Settings<'_>,
    target: &mut dyn target::Target,
    feeds: &Feeds,
    empty_updated: DateTime<FixedOffset>,
) -> Result<Published, PublishError> {
    let Rendered { files, totals } = render(settings, feeds, empty_updated);
    let mut published = Published::default();
    // Every change staged before any is put in place: a failure (a full disk) while staging
    // leaves every published file as it was.
    for file in &files {
        if target.stage(file.kind, target::Freshness::Live, &file.path, &file.bytes)? {
            published.written.push(file.path.clone());
        } else {
            published.unchanged += 1;
        }
    }
    target.commit()?;
    // A feed no longer configured: its files go once the index no longer lists it.
    let live: std::collections::HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let others = target.others(&live);
    if !others.is_empty() {
        for path in &others {
            target.remove(path)?;
        }
        target.commit()?;
    }
    published.files = files;
    published.totals = totals;
    Ok(published)
}

/// Renders every output file in memory, as [`publish`] would write them: each feed's files,
/// then the site's.
pub fn render(
    settings: &Settings<'_>,
    feeds: &Feeds,
    empty_updated: DateTime<FixedOffset>,
) -> Rendered {
    let head = head(settings);
    let views = views(settings, &head, feeds, empty_updated);
    let mut files = Vec::with_capacity(views.len() * 3 + 2);
    let mut push = |kind: Kind, slug: &str, bytes: Vec<u8>| {
        files.push(OutputFile {
            kind,
            path: kind.path(slug),
            bytes,
        });
    };
    for v in &views {
        push(Kind::Atom, v.slug, atom::render(&head, v));
        push(Kind::JsonFeed, v.slug, json::render(&head, v));
        push(
            Kind::Embed,
            v.slug,
            embed::render(v, settings.embed_entries),
        );
    }
    // After the feeds they list.
    push(Kind::Opml, "", opml::render(&head, &views));
    push(Kind::Index, "", html::render(&head, &views));
    Rendered {
        files,
        totals: views.iter().map(|v| (v.slug.to_owned(), v.total)).collect(),
    }
}

pub(crate) fn head<'a>(settings: &Settings<'a>) -> Head<'a> {
    Head {
        title: xml_safe(&settings.site.title),
        author: xml_safe(&settings.site.author),
        base_url: &settings.site.base_url,
        labels: settings.site.labels,
    }
}

/// One feed's file (Atom, JSON Feed or embed) with only the entries `filter` keeps, linked to
/// itself under the filter's query: what `serve` answers to `?q=…`. `None` for a slug that is
/// no feed's, or a kind that is not per feed.
pub fn render_variant(
    settings: &Settings<'_>,
    feeds: &Feeds,
    empty_updated: DateTime<FixedOffset>,
    kind: Kind,
    slug: &str,
    filter: &Filter,
) -> Option<Vec<u8>> {
    let head = head(settings);
    let mut views = views(settings, &head, feeds, empty_updated);
    let at = views.iter().position(|v| v.slug == slug)?;
    let mut view = views.swap_remove(at);
    view.entries
        .retain(|item| filter.keeps(&item.entry.title, &item.summary));
    view.total = view.entries.len();
    if let Some(n) = filter.limit {
        view.entries.truncate(n);
    }
    let query = format!("?{}", filter.canonical);
    view.url.push_str(&query);
    view.json_url.push_str(&query);
    Some(match kind {
        Kind::Atom => atom::render(&head, &view),
        Kind::JsonFeed => json::render(&head, &view),
        Kind::Embed => embed::render(&view, filter.limit.unwrap_or(settings.embed_entries)),
        Kind::Opml | Kind::Index | Kind::AtomArchive | Kind::JsonArchive => return None,
    })
}

/// An entry's summary: the listing's text; where the listing has none, the start of its
/// article; else its title and the title of the source it came from, in the site's language.
fn summary<'a>(settings: &Settings<'_>, entry: &'a StoredEntry) -> Cow<'a, str> {
    if let Some(s) = entry.summary.as_ref().or(entry.excerpt.as_ref()) {
        return Cow::Borrowed(s);
    }
    let source = entry
        .source
        .as_deref()
        .and_then(|id| settings.sources.iter().find(|s| s.id == id));
    match source {
        Some(source) => {
            let (open, close) = settings.site.labels.from_source;
            Cow::Owned(format!("{}{open}{}{close}", entry.title, source.title))
        }
        None => Cow::Borrowed(&entry.title),
    }
}

fn views<'a>(
    settings: &Settings<'a>,
    site: &Head<'_>,
    feeds: &'a Feeds,
    empty_updated: DateTime<FixedOffset>,
) -> Vec<FeedView<'a>> {
    let mut views = vec![feed_view(
        settings,
        site,
        (ALL, settings.site.title.clone()),
        Some(settings.site.labels.all_subtitle),
        &feeds.all,
        empty_updated,
    )];
    for (topic, selection) in settings.topics.iter().zip(&feeds.topics) {
        let title = format!("{}: {}", settings.site.title, topic.title);
        views.push(feed_view(
            settings,
            site,
            (&topic.id, title),
            topic.description.as_deref(),
            selection,
            empty_updated,
        ));
    }
    views
}

/// The live feed `slug` (titled as given) showing `selection`.
fn feed_view<'a>(
    settings: &Settings<'a>,
    site: &Head<'_>,
    (slug, title): (&'a str, String),
    subtitle: Option<&str>,
    selection: &'a Selection,
    empty_updated: DateTime<FixedOffset>,
) -> FeedView<'a> {
    let anchor = if slug == ALL {
        String::new()
    } else {
        format!("#topic-{slug}")
    };
    let entries: Vec<Item<'a>> = (selection.entries.iter())
        .map(|(entry, topics)| Item {
            entry,
            topics: topics.iter().map(|&t| &settings.topics[t]).collect(),
            summary: summary(settings, entry),
        })
        .collect();
    FeedView {
        slug,
        labels: settings.site.labels,
        title: xml_safe(&title),
        subtitle: subtitle.map(xml_safe),
        url: Kind::Atom.url(site.base_url, slug),
        json_url: Kind::JsonFeed.url(site.base_url, slug),
        html_url: format!("{}{anchor}", site.base_url),
        // Entries are newest first, but `updated` is what orders them only up to ties on the
        // second, so take the maximum rather than the first.
        updated: (entries.iter().map(|i| i.entry.updated).max()).unwrap_or(empty_updated),
        total: selection.total,
        entries,
        history: History {
            prev: (selection.newest_archive.as_deref()).map(|m| archive::urls(site, slug, m)),
            ..History::default()
        },
    }
}

/// The `<li>` items of a feed's first `count` entries, or one saying there are none yet, as
/// the index page and the embeds list them; `link_attributes` go on every link.
pub(crate) fn entry_items(
    out: &mut String,
    view: &FeedView<'_>,
    count: usize,
    link_attributes: &str,
) {
    use std::fmt::Write;
    for item in view.entries.iter().take(count) {
        let e = item.entry;
        let _ = writeln!(
            out,
            "<li><time datetime=\"{}\">{}</time> <a href=\"{}\"{link_attributes}>{}</a></li>",
            e.updated.to_rfc3339(),
            e.updated.format("%Y-%m-%d"),
            escape(&e.link),
            escape(&e.title)
        );
    }
    if view.entries.is_empty() {
        let _ = writeln!(out, "<li>{}</li>", view.labels.no_entries);
    }
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
