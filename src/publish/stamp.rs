//! What the published files depend on beyond the store, as one fingerprint; with the store's
//! generation, the stamp a publish leaves in the state, so that a run that finds the store and
//! the settings as they were, and every file in place, renders and reads back nothing.

use super::catalogue::Kind;
use super::target::Target;
use super::{ALL, Settings};
use sha2::{Digest, Sha256};

/// Counted up whenever what is rendered from the same entries and settings changes, so that
/// the stamps of files rendered by an earlier kairan no longer match, whatever its version.
const RENDERING: &str = "2";

/// What published files depend on beyond the store: the site's words, zone and feed lengths,
/// the topics' and sources' titles, kairan's version.
pub(crate) fn settings_fingerprint(settings: &Settings<'_>) -> Vec<u8> {
    let mut h = Sha256::new();
    // Each field with its length, and each list with its count: no two settings hash alike.
    let mut put = |part: &str| {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    };
    let site = settings.site;
    for part in [
        site.title.as_str(),
        site.author.as_str(),
        site.base_url.as_str(),
        site.labels.code,
        site.timezone.name(),
        &site.max_entries.to_string(),
        &settings.embed_entries.to_string(),
        if settings.archives {
            "archives"
        } else {
            "no archives"
        },
        env!("CARGO_PKG_VERSION"),
        RENDERING,
    ] {
        put(part);
    }
    put(&settings.topics.len().to_string());
    for t in settings.topics {
        put(&t.id);
        put(&t.title);
        put(if t.description.is_some() { "+" } else { "-" });
        put(t.description.as_deref().unwrap_or(""));
    }
    put(&settings.sources.len().to_string());
    for s in settings.sources {
        put(&s.id);
        put(&s.title);
    }
    h.finalize().to_vec()
}

/// The stamp of the live files published from the store at `generation` to `place` (a
/// target's [`Target::place`]).
pub fn of(settings: &Settings<'_>, generation: u64, place: &str) -> String {
    let site = crate::text::hex(&settings_fingerprint(settings));
    format!("{generation}:{site}:{place}")
}

/// Every live file's path: each feed's Atom, JSON Feed and embed; the OPML list and the index.
pub fn live_paths<'a>(settings: &'a Settings<'_>) -> impl Iterator<Item = String> + 'a {
    let slugs = std::iter::once(ALL).chain(settings.topics.iter().map(|t| t.id.as_str()));
    slugs
        .flat_map(|slug| Kind::PER_FEED.map(|k| k.path(slug)))
        .chain(Kind::SITE.map(|k| k.path("")))
}

/// Whether every live file is at `target`.
pub fn all_present(settings: &Settings<'_>, target: &dyn Target) -> bool {
    live_paths(settings).all(|path| target.has(&path))
}
