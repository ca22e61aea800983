//! History (RFC 5005): with a live feed of 10 entries, following `prev-archive` (and in JSON
//! Feed `next_url`) from each feed reaches every stored entry of it once; a run that changed
//! nothing rewrites no archive (nor renders any file, yet puts back one that went missing),
//! one new entry rewrites only the month it pushed an entry into.

use crate::common::*;
use std::collections::{BTreeMap, BTreeSet};

/// The shipped configuration pointed at `server`, showing `max` entries per feed.
fn workspace(name: &str, server: &Server, max: usize) -> Workspace {
    let ws = Workspace::new(name);
    let path = ws.shipped_config(server);
    let text = std::fs::read_to_string(path).unwrap();
    ws.config(&text.replace("max_entries = 100", &format!("max_entries = {max}")));
    ws
}

/// The file under the output directory an absolute URL of the site names.
fn local(ws: &Workspace, url: &str) -> std::path::PathBuf {
    let at = url.find("/feeds/").unwrap_or_else(|| panic!("{url}"));
    ws.out().join(&url[at + 1..])
}

/// Every entry id reached from the Atom feed `slug` by `prev-archive`, with the documents
/// visited; each archive is checked to be one (fh:archive, rel="current" to the live feed).
fn follow_atom(ws: &Workspace, slug: &str) -> (Vec<String>, usize) {
    let live = ws.out().join(format!("feeds/{slug}.atom"));
    let mut next = Some(live);
    let (mut ids, mut documents) = (Vec::new(), 0);
    while let Some(path) = next.take() {
        documents += 1;
        assert!(documents < 1000, "a loop of prev-archive links");
        let text = std::fs::read_to_string(&path).unwrap();
        let feed = feed_rs::parser::parse(text.as_bytes()).unwrap();
        ids.extend(feed.entries.iter().map(|e| e.id.clone()));
        if documents > 1 {
            assert!(text.contains("<fh:archive/>"), "{}", path.display());
            let current = feed
                .links
                .iter()
                .find(|l| l.rel.as_deref() == Some("current"));
            assert!(
                current
                    .unwrap()
                    .href
                    .ends_with(&format!("/feeds/{slug}.atom"))
            );
        }
        let prev = feed
            .links
            .iter()
            .find(|l| l.rel.as_deref() == Some("prev-archive"));
        next = prev.map(|l| local(ws, &l.href));
    }
    (ids, documents)
}

/// Every item id reached from the JSON Feed `slug` by `next_url`.
fn follow_json(ws: &Workspace, slug: &str) -> Vec<String> {
    let mut next = Some(ws.out().join(format!("feeds/{slug}.json")));
    let mut ids = Vec::new();
    for _ in 0..1000 {
        let Some(path) = next.take() else { break };
        let feed: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for item in feed["items"].as_array().unwrap() {
            ids.push(item["id"].as_str().unwrap().to_owned());
        }
        next = feed["next_url"].as_str().map(|u| local(ws, u));
    }
    ids
}

/// The feeds' slugs, from the live Atom files.
fn slugs(ws: &Workspace) -> Vec<String> {
    files_under(&ws.out().join("feeds"))
        .into_keys()
        .filter_map(|p| {
            p.strip_suffix(".atom")
                .filter(|s| !s.contains('/'))
                .map(str::to_owned)
        })
        .collect()
}

#[test]
fn following_the_archives_reaches_every_stored_entry_once() {
    let server = seed_upstream();
    let whole = workspace("history-whole", &server, 1000);
    assert_status(&whole.run(), 0);
    let ws = workspace("history", &server, 10);
    assert_status(&ws.run(), 0);
    let mut archived_feeds = 0;
    for slug in slugs(&whole) {
        let every: BTreeSet<String> = whole
            .feed(&slug)
            .entries
            .into_iter()
            .map(|e| e.id)
            .collect();
        let (ids, documents) = follow_atom(&ws, &slug);
        let reached: BTreeSet<String> = ids.iter().cloned().collect();
        assert_eq!(ids.len(), reached.len(), "{slug}: an entry reached twice");
        assert_eq!(
            reached, every,
            "{slug}: every entry, from {documents} documents"
        );
        let json = follow_json(&ws, &slug);
        assert_eq!(json.len(), every.len(), "{slug}: JSON Feed");
        assert_eq!(json.into_iter().collect::<BTreeSet<_>>(), every);
        archived_feeds += usize::from(documents > 1);
    }
    assert!(
        archived_feeds >= 2,
        "the seed has feeds of more than 10 entries"
    );
    assert!(
        ws.read("feeds/all.atom").contains("rel=\"prev-archive\""),
        "the live feed links its newest archive"
    );
    validate_independently(&ws.out());
}

#[test]
fn a_run_rewrites_only_the_archives_whose_entries_changed() {
    let server = seed_upstream();
    let ws = workspace("history-stable", &server, 10);
    assert_status(&ws.run(), 0);
    let archives = || files_under(&ws.out().join("feeds/archive"));
    let before = archives();
    assert!(before.len() > 10, "{:?}", before.keys());

    // Nothing changed: nothing written.
    let o = ws.command(&["-v"]).output().unwrap();
    assert_status(&o, 0);
    assert!(stderr(&o).contains(" 0 files written"), "{}", stderr(&o));
    assert_eq!(archives(), before);
    // Nothing changed in the store, but a live feed went missing: it is written again.
    let live = ws.read("feeds/support-scam.atom");
    std::fs::remove_file(ws.out().join("feeds/support-scam.atom")).unwrap();
    assert_status(&ws.run(), 0);
    assert_eq!(ws.read("feeds/support-scam.atom"), live);
    // Nothing changed in the store, but a document went missing: it is written again.
    let (gone, bytes) = before.iter().next().unwrap();
    std::fs::remove_file(ws.out().join("feeds/archive").join(gone)).unwrap();
    assert_status(&ws.run(), 0);
    assert_eq!(
        &std::fs::read(ws.out().join("feeds/archive").join(gone)).unwrap(),
        bytes
    );

    // A new advisory on top of the listing pushes the live feed's oldest entry into the
    // archive of its month: that month is rewritten (and its neighbours', when it is new).
    let oldest_live = ws.feed("all").entries.last().unwrap().updated.unwrap();
    let month = oldest_live
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .format("%Y-%m")
        .to_string();
    let seed = String::from_utf8(fixture("ipa/anshin-seed.html")).unwrap();
    let at = seed.find("<li class=\"news-list__item\"").unwrap();
    let item = "<li class=\"news-list__item\"><a href=\"/security/anshin/attention/2026/mgdayori20261127.html\">\
        <ul><li class=\"news-list__date\">2026/11/27</li></ul>\
        <p class=\"news-list__ttl\">偽のセキュリティ警告に再び注意</p></a></li>\n";
    server.route(
        LISTING_PATH,
        Reply::html(format!("{}{item}{}", &seed[..at], &seed[at..])),
    );
    assert_status(&ws.run(), 0);
    let after = archives();
    let changed: BTreeMap<&String, bool> = after
        .iter()
        .filter(|(path, bytes)| before.get(*path) != Some(bytes))
        .map(|(path, _)| (path, before.contains_key(path)))
        .collect();
    assert!(
        changed
            .keys()
            .any(|p| p.starts_with("all/") && p.contains(&month)),
        "all/{month} gains the entry: {changed:?}"
    );
    for path in changed.keys().filter(|p| p.starts_with("all/")) {
        let was_new_month = !before
            .keys()
            .any(|p| p.starts_with("all/") && p.contains(&month));
        assert!(
            path.contains(&month) || was_new_month,
            "only the month the entry moved into: {path} ({changed:?})"
        );
    }
    validate_independently(&ws.out());

    // Archives turned off: every document removed, the live feeds link none.
    let text = std::fs::read_to_string(ws.dir.join("kairan.toml")).unwrap();
    ws.config(&text.replace("archives = true", "archives = false"));
    assert_status(&ws.run(), 0);
    assert!(archives().is_empty(), "{:?}", archives().keys());
    assert!(!ws.read("feeds/all.atom").contains("prev-archive"));
    ws.config(&text);
    assert_status(&ws.run(), 0);
    assert!(!archives().is_empty(), "back on");

    // A live feed long enough for every entry: no archive left.
    let text = std::fs::read_to_string(ws.dir.join("kairan.toml")).unwrap();
    ws.config(&text.replace("max_entries = 10", "max_entries = 1000"));
    assert_status(&ws.run(), 0);
    assert!(archives().is_empty(), "{:?}", archives().keys());
    assert!(!ws.read("feeds/all.atom").contains("prev-archive"));
}
