//! The published files for the seed fixtures, pinned byte for byte: the shipped configuration
//! reads IPA's listing and alert feed as saved in `fixtures/ipa/`, at a fixed time, and every
//! file it publishes must equal the one under `tests/golden/`, on a first run and on a second
//! one into the same directory (which must write nothing). Restructuring that changes no
//! behaviour leaves these files alone; a deliberate change of output regenerates them with
//! `KAIRAN_BLESS=1 cargo test --test tests golden::` and shows in the diff.

use chrono::DateTime;
use kairan::Config;
use kairan::config::SourceKind;
use kairan::pipeline::{publish_store, remember};
use kairan::store::{Location, Store};
use std::path::PathBuf;

use crate::common::{files_under, fixture, root};

/// The entries of the shipped configuration's sources, read from the saved fixtures.
fn seed_entries(config: &Config) -> Vec<kairan::model::Entry> {
    let tz = config.site.timezone;
    let mut entries = Vec::new();
    for source in &config.sources {
        let rows = match &source.kind {
            SourceKind::Html(select) => {
                let body = fixture("ipa/anshin-seed.html");
                let (page, _) = kairan::fetch::decode::decode_html(&body, None);
                kairan::extract::html::extract(&page, select).unwrap()
            }
            SourceKind::Feed => {
                kairan::extract::feed::extract(&fixture("ipa/alert-rss.rdf"), tz).unwrap()
            }
        };
        entries.extend(kairan::normalize::normalize(&source.id, &source.url, rows, tz).entries);
    }
    kairan::dedup::dedup(entries).0
}

fn rows_of(entries: &[kairan::model::Entry]) -> kairan::dedup::Rows {
    let mut rows = kairan::dedup::Rows::default();
    rows.add(entries.to_vec());
    rows
}

fn golden_dir() -> PathBuf {
    root().join("tests/golden")
}

#[test]
fn published_files_for_the_seed_fixtures_are_pinned() {
    let config = Config::builtin();
    let entries = seed_entries(&config);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("public");
    let mut store = Store::open(&Location::File(dir.path().join("kairan.db"))).unwrap();
    let now = DateTime::parse_from_rfc3339("2026-11-25T10:00:00+09:00").unwrap();
    let mut runs = Vec::new();
    for _ in 0..2 {
        remember(
            &config,
            &mut store,
            now,
            &kairan::store::Refresh::default(),
            &mut rows_of(&entries),
        )
        .unwrap();
        let published = publish_store(&config, &store, &out).unwrap();
        runs.push((published.written.len(), files_under(&out)));
    }
    let golden = golden_dir();
    if std::env::var_os("KAIRAN_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(&golden);
        for (name, bytes) in &runs[0].1 {
            let path = golden.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
    }
    let expected = files_under(&golden);
    assert!(
        expected.len() > 10,
        "golden files missing under {}",
        golden.display()
    );
    for (i, (written, files)) in runs.iter().enumerate() {
        let names: Vec<&String> = files.keys().collect();
        assert_eq!(
            names,
            expected.keys().collect::<Vec<_>>(),
            "run {}: file names",
            i + 1
        );
        for (name, bytes) in files {
            assert!(
                bytes == &expected[name],
                "run {}: {name} differs from tests/golden/{name}",
                i + 1
            );
        }
        if i == 1 {
            assert_eq!(*written, 0, "the second run rewrote files");
        }
    }
}
