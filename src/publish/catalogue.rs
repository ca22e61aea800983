//! The catalogue of outputs: every kind of file kairan publishes, with where it goes and how it
//! is served. Writers, `serve` and `kairan topics` read paths and content types from here and
//! from nowhere else; a new format is one file beside this one and one entry below.

use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A feed as Atom (RFC 4287): `feeds/<slug>.atom`.
    Atom,
    /// A feed as JSON Feed 1.1: `feeds/<slug>.json`.
    JsonFeed,
    /// A feed's latest entries for a portal's iframe: `embed/<slug>.html`.
    Embed,
    /// The list of feeds for feed readers: `feeds.opml`.
    Opml,
    /// The page a person reads: `index.html`.
    Index,
    /// A month of a feed's history (RFC 5005) as Atom: `feeds/archive/<slug>/<YYYY-MM>.atom`,
    /// the slug being `<feed>/<YYYY-MM>`.
    AtomArchive,
    /// The same as JSON Feed: `feeds/archive/<feed>/<YYYY-MM>.json`.
    JsonArchive,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 7] = [
        Kind::Atom,
        Kind::JsonFeed,
        Kind::Embed,
        Kind::Opml,
        Kind::Index,
        Kind::AtomArchive,
        Kind::JsonArchive,
    ];
    /// The kinds written once for each feed, and once for the site.
    pub const PER_FEED: [Kind; 3] = [Kind::Atom, Kind::JsonFeed, Kind::Embed];
    pub const SITE: [Kind; 2] = [Kind::Opml, Kind::Index];

    /// The file's path under the output directory, `/`-separated; `slug` names the feed for
    /// the per-feed kinds and is ignored by the others.
    pub fn path(self, slug: &str) -> String {
        match self {
            Kind::Atom => format!("feeds/{slug}.atom"),
            Kind::JsonFeed => format!("feeds/{slug}.json"),
            Kind::Embed => format!("embed/{slug}.html"),
            Kind::Opml => "feeds.opml".to_owned(),
            Kind::Index => "index.html".to_owned(),
            Kind::AtomArchive => format!("feeds/archive/{slug}.atom"),
            Kind::JsonArchive => format!("feeds/archive/{slug}.json"),
        }
    }

    /// The per-feed kind and the slug a path names, the reverse of [`Kind::path`]: what a
    /// reader's query can narrow.
    pub fn of_feed(path: &str) -> Option<(Kind, &str)> {
        Kind::PER_FEED.into_iter().find_map(|k| {
            let slug = k.slug_of(path)?;
            (!slug.contains('/')).then_some((k, slug))
        })
    }

    /// The feed and the month (`YYYY-MM`) an archive document's path names.
    pub fn of_archive(path: &str) -> Option<(&str, &str)> {
        [Kind::AtomArchive, Kind::JsonArchive]
            .into_iter()
            .find_map(|k| k.slug_of(path)?.split_once('/'))
    }

    /// The slug `path` is this kind's path for, if it is one.
    fn slug_of(self, path: &str) -> Option<&str> {
        let template = self.path("\0");
        let (before, after) = template.split_once('\0')?;
        let slug = path.strip_prefix(before)?.strip_suffix(after)?;
        (!slug.is_empty()).then_some(slug)
    }

    /// Where the file is read once published under `base` (which ends with `/`).
    pub fn url(self, base: &Url, slug: &str) -> String {
        format!("{base}{}", self.path(slug))
    }

    /// Whether its content stays once written, as an archive's does but for its newest
    /// month: `serve` lets clients cache it long.
    pub fn is_archive(self) -> bool {
        matches!(self, Kind::AtomArchive | Kind::JsonArchive)
    }

    /// The Content-Type it is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Atom | Kind::AtomArchive => "application/atom+xml; charset=utf-8",
            Kind::JsonFeed | Kind::JsonArchive => "application/feed+json; charset=utf-8",
            Kind::Opml => "text/x-opml; charset=utf-8",
            Kind::Embed | Kind::Index => "text/html; charset=utf-8",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_path_and_a_type_matching_its_extension() {
        let all = Kind::ALL;
        let mut paths: Vec<String> = all.iter().map(|k| k.path("x")).collect();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), all.len());
        for k in all {
            let path = k.path("x");
            let ext = path.rsplit('.').next().unwrap();
            let expected = match ext {
                "atom" => "atom+xml",
                "json" => "json",
                "opml" => "opml",
                _ => "html",
            };
            assert!(
                k.content_type().contains(expected),
                "{path}: {}",
                k.content_type()
            );
            let dir = path.split('/').next().unwrap();
            // Two folders under the output, which a web server's configuration may name.
            assert!(
                !path.contains('/') || ["feeds", "embed"].contains(&dir),
                "{path}"
            );
            let per_feed = Kind::PER_FEED.contains(&k);
            assert_eq!(Kind::of_feed(&path), per_feed.then_some((k, "x")), "{path}");
        }
        assert_eq!(Kind::of_feed("feeds/a/b.atom"), None);
        assert_eq!(
            Kind::of_archive("feeds/archive/all/2023-09.json"),
            Some(("all", "2023-09"))
        );
        assert_eq!(Kind::of_archive("feeds/all.atom"), None);
    }
}
