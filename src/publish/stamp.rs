//! What the published files depend on beyond the store, as one fingerprint; with the store's
//! generation, the stamp a publish leaves in the state, so that a run that finds the store and
//! the settings as they were, and every file in place, renders and reads back nothing.

use super::catalogue::Kind;
use super::{ALL, Settings};
use sha2::{Digest, Sha256};
use std::path::Path;

/// What published files depend on beyond the store: the site's words, zone and feed lengths,
/// the topics' and sources' titles, kairan's version.
pub(crate) fn settings_fingerprint(settings: &Settings<'_>) -> Vec<u8> {
    let mut h = Sha256::new();
    let site = settings.site;
    let max = site.max_entries.to_string();
    let embed = settings.embed_entries.to_string();
    for part in [
        site.title.as_str(),
        site.author.as_str(),
        site.base_url.as_str(),
        site.labels.code,
        site.timezone.name(),
        &max,
        &embed,
        env!("CARGO_PKG_VERSION"),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for t in settings.topics {
        for part in [&t.id, &t.title, t.description.as_deref().unwrap_or("")] {
            h.update(part.as_bytes());
            h.update([0]);
        }
    }
    for s in settings.sources {
        h.update(s.id.as_bytes());
        h.update([0]);
        h.update(s.title.as_bytes());
        h.update([0]);
    }
    h.finalize().to_vec()
}

/// The stamp of the live files published from the store at `generation` into `out`.
pub fn of(settings: &Settings<'_>, generation: u64, out: &Path) -> String {
    let site = hex(&settings_fingerprint(settings));
    format!("{generation}:{site}:{}", out.display())
}

/// Whether every live file (each feed's Atom, JSON Feed and embed; the OPML list and the
/// index) is in `out`.
pub fn all_present(settings: &Settings<'_>, out: &Path) -> bool {
    let slugs = std::iter::once(ALL).chain(settings.topics.iter().map(|t| t.id.as_str()));
    let per_feed = [Kind::Atom, Kind::JsonFeed, Kind::Embed];
    slugs
        .flat_map(|slug| per_feed.map(|k| k.path(slug)))
        .chain([Kind::Opml.path(""), Kind::Index.path("")])
        .all(|path| out.join(path).exists())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
