//! Properties of everything after extraction, on generated rows: Japanese and full-width text
//! with markup and control characters, links good, decorated and refused, dates in every
//! accepted form and some impossible ones. Rows go through the real normalize, dedup, store
//! (SQLite in a temporary directory) and publish; the feeds are read back with feed-rs.

use crate::common::files_under;
use chrono::{DateTime, FixedOffset, TimeZone};
use chrono_tz::Asia::Tokyo;
use kairan::Config;
use kairan::classify::Folded;
use kairan::dedup::{Merge, Rows, dedup};
use kairan::model::{Entry, EntryKey, RawDate, RawRow};
use kairan::pipeline::{publish_store, remember};
use kairan::store::{Location, Store};
use proptest::prelude::*;
use proptest::sample::select;
use std::collections::BTreeMap;

const CONFIG: &str = r#"
[site]
title = "性質テスト & <確認>"
base_url = "http://127.0.0.1:8080/kairan/"
author = "IPA"
max_entries = 100

[[source]]
id = "listing"
title = "一覧"
url = "https://www.ipa.go.jp/security/anshin/attention/index.html"
kind = "feed"

[[topic]]
id = "warning"
title = "偽警告"
any = ["警告"]

[[topic]]
id = "sms"
title = "SMS"
any = ["ｓｍｓ", "ショートメッセージ"]
none = ["<"]
"#;

/// Pieces of generated text: what IPA's titles are made of, markup characters, full-width
/// forms, white space of every kind, and characters XML cannot carry.
const PIECES: &[&str] = &[
    "偽の",
    "セキュリティ",
    "警告",
    "に注意",
    "ショートメッセージ",
    "ＳＭＳ",
    "sms",
    "「情報セキュリティ10大脅威 2023」",
    "個人編",
    "組織編",
    "①㈱髙",
    "Ａｂｃ１２３",
    "&",
    "&amp;",
    "<",
    ">",
    "<b>太字</b>",
    "<script>alert(1)</script>",
    "\"",
    "'",
    "]]>",
    "\u{3000}",
    " ",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "\u{0}",
    "\u{1}",
    "\u{8}",
    "\u{B}",
    "\u{C}",
    "\u{1B}",
    "\u{7F}",
    "\u{85}",
    "\u{9F}",
    "\u{A0}",
    "\u{FFFE}",
    "\u{FFFF}",
    "\u{FEFF}",
    "\u{2028}",
    "😀",
    "…",
];

fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => select(PIECES).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|p| p.concat())
}

/// Link paths shared between rows so that repeats occur, written in forms that are one
/// canonical link (scheme, host case, default port, fragment, tracking, `index.html`).
fn usable_link() -> impl Strategy<Value = String> {
    (0..10u32, 0..6u8).prop_map(|(n, form)| match form {
        0 => format!("/security/test/{n}.html"),
        1 => format!("/security/test/{n}.html?utm_source=x&utm_medium=y#top"),
        2 => format!("HTTP://WWW.IPA.GO.JP:80/security/test/{n}.html"),
        3 => format!("/security/test/{n}/index.html"),
        4 => format!("https://www.ipa.go.jp/security/test/{n}/"),
        _ => format!(
            "/security/anshin/attention/2021/mgdayori202103{:02}.html",
            n + 1
        ),
    })
}

fn link() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        6 => usable_link().prop_map(Some),
        1 => select(&["javascript:alert(1)", "data:text/html,<b>x</b>", " \u{1}", "http://[::1"][..])
            .prop_map(|s| Some(s.to_owned())),
        1 => Just(None),
    ]
}

/// Dates in every form the sources print, including the same instant with different offsets
/// (a listing's midnight in Japan, a feed's 15:00 UTC the day before), and impossible dates.
/// Few days, so that repeated rows often carry equal dates.
fn raw_date() -> impl Strategy<Value = Option<RawDate>> {
    (Just(2023), 9..11u32, 10..14u32, 0..8u8).prop_map(|(y, m, d, form)| {
        let midnight = Tokyo.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap();
        let full_width = |s: String| -> String {
            s.chars()
                .map(|c| match c.to_digit(10) {
                    Some(v) => char::from_u32('０' as u32 + v).unwrap(),
                    None => c,
                })
                .collect()
        };
        let text = match form {
            0 => return None,
            1 => return Some(RawDate::Instant(midnight.to_utc())),
            2 => format!("{y}/{m:02}/{d:02}"),
            3 => full_width(format!("{y}年{m}月{d}日")),
            4 => midnight.to_utc().to_rfc3339(),
            5 => format!("{y}-{m:02}-{d:02}T10:30+09:00"),
            6 => format!("{y}年13月45日"),
            _ => format!("公開日:{y}年{m}月{d}日 9:05"),
        };
        Some(RawDate::Text(text))
    })
}

fn row(link: impl Strategy<Value = Option<String>>) -> impl Strategy<Value = RawRow> {
    (
        text(),
        link,
        prop::option::of(text()),
        raw_date(),
        raw_date(),
    )
        .prop_map(|(title, link, summary, published, updated)| RawRow {
            position: 0,
            title: Some(title),
            link,
            summary,
            published,
            updated,
        })
}

/// A row and which of two sources it is from (`true`: the second).
type Sourced = (bool, RawRow);

fn rows(link: impl Strategy<Value = Option<String>>) -> impl Strategy<Value = Vec<Sourced>> {
    prop::collection::vec((any::<bool>(), row(link)), 1..24)
}

/// Each source's rows, numbered as extraction numbers them, through the real normalize.
fn normalized(rows: &[Sourced]) -> Vec<Entry> {
    let page =
        url::Url::parse("https://www.ipa.go.jp/security/anshin/attention/index.html").unwrap();
    let mut entries = Vec::new();
    for (second, source) in [(false, "listing"), (true, "alert")] {
        let rows: Vec<RawRow> = rows
            .iter()
            .filter(|(s, _)| *s == second)
            .enumerate()
            .map(|(i, (_, r))| RawRow {
                position: i + 1,
                ..r.clone()
            })
            .collect();
        entries.extend(kairan::normalize::normalize(source, &page, rows, Tokyo).entries);
    }
    entries
}

/// A permutation of `0..n`.
fn order(n: usize) -> impl Strategy<Value = Vec<usize>> {
    Just((0..n).collect::<Vec<_>>()).prop_shuffle()
}

fn at(rfc3339: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap()
}

/// The store and output of one property case, in a temporary directory.
struct Case {
    dir: tempfile::TempDir,
    config: Config,
    store: Store,
    /// How many rows a refresh holds in memory before they go to a temporary file.
    held: usize,
}

impl Case {
    fn new() -> Case {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&Location::File(dir.path().join("kairan.db"))).unwrap();
        Case {
            config: Config::parse(CONFIG, "properties.toml").unwrap(),
            dir,
            store,
            held: usize::MAX,
        }
    }

    fn commit(&mut self, now: &str, rows: &[Sourced]) {
        let mut held = Rows::holding(self.held);
        held.add(normalized(rows));
        remember(
            &self.config,
            &mut self.store,
            at(now),
            &kairan::store::Refresh::default(),
            &mut held,
        )
        .unwrap();
    }

    /// Publishes into `out` (under the case's directory) and returns every file written.
    fn publish(&self, out: &str) -> BTreeMap<String, Vec<u8>> {
        let out = self.dir.path().join(out);
        publish_store(&self.config, &self.store, &out).unwrap();
        files_under(&out)
    }

    fn ids_by_key(&self) -> BTreeMap<EntryKey, String> {
        self.store
            .entries()
            .unwrap()
            .into_iter()
            .map(|e| (e.key, e.id))
            .collect()
    }
}

fn atom_ids(files: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let feed = feed_rs::parser::parse(&files["feeds/all.atom"][..]).unwrap();
    feed.entries.into_iter().map(|e| e.id).collect()
}

/// Entries as a set, every field compared as it would be written (dates with their offsets).
type Written = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Vec<kairan::model::Origin>,
);

fn written(entries: &[Entry]) -> Vec<Written> {
    let mut out: Vec<Written> = entries
        .iter()
        .map(|e| {
            let mut origins = e.origins.clone();
            origins.sort();
            (
                e.key.0.clone(),
                e.title.clone(),
                e.link.clone(),
                e.summary.clone(),
                e.published.map(|d| d.to_rfc3339()),
                e.updated.map(|d| d.to_rfc3339()),
                origins,
            )
        })
        .collect();
    out.sort();
    out
}

fn sorted(mut merges: Vec<Merge>) -> Vec<Merge> {
    merges.sort_by(|a, b| a.key.cmp(&b.key));
    merges
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// (a) Publishing is a function of the store: twice gives the same bytes, and publishing
    /// over unchanged output writes nothing. (b) Every Atom feed reads back with feed-rs to
    /// the stored ids, titles, links and dates, the combined feed in the stored order.
    #[test]
    fn published_feeds_are_stable_and_read_back(rows in rows(link())) {
        // Every row spilled, as in a run of thousands of listings.
        let mut case = Case { held: 0, ..Case::new() };
        case.commit("2025-01-01T00:00:00+09:00", &rows);
        let first = case.publish("a");
        let second = case.publish("b");
        prop_assert_eq!(first.keys().collect::<Vec<_>>(), second.keys().collect::<Vec<_>>());
        for (name, bytes) in &first {
            prop_assert!(bytes == &second[name], "{} differs between two publishes", name);
        }
        let again = publish_store(&case.config, &case.store, &case.dir.path().join("a")).unwrap();
        prop_assert!(again.written.is_empty(), "rewrote {:?}", again.written);

        let stored = case.store.entries().unwrap();
        let by_id: BTreeMap<&str, _> = stored.iter().map(|e| (e.id.as_str(), e)).collect();
        for (name, bytes) in first.iter().filter(|(n, _)| n.ends_with(".atom")) {
            let feed = feed_rs::parser::parse(&bytes[..])
                .map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
            for e in &feed.entries {
                let s = by_id.get(e.id.as_str()).copied();
                prop_assert!(s.is_some(), "{}: unknown id {}", name, e.id);
                let s = s.unwrap();
                prop_assert_eq!(&e.title.as_ref().unwrap().content, &s.title);
                prop_assert_eq!(&e.links[0].href, &s.link);
                prop_assert_eq!(e.updated, Some(s.updated.to_utc()));
                prop_assert_eq!(e.published, Some(s.published.to_utc()));
            }
        }
        let ids: Vec<String> = stored.iter().map(|e| e.id.clone()).collect();
        prop_assert_eq!(atom_ids(&first), ids);
    }

    /// (c) An entry's id is permanent: new summaries, new dates and another row order give
    /// the same ids in the store and in the feed. Rows without a usable link are keyed by
    /// title and date (see the README), so only linked rows are generated here.
    #[test]
    fn ids_survive_new_summaries_dates_and_order(
        (rows, edits, order) in rows(usable_link().prop_map(Some)).prop_flat_map(|rows| {
            let n = rows.len();
            let edit = (prop::option::of(text()), raw_date(), raw_date());
            (Just(rows), prop::collection::vec(edit, n), order(n))
        })
    ) {
        let mut case = Case::new();
        case.commit("2025-01-01T00:00:00+09:00", &rows);
        let ids = case.ids_by_key();
        let published = atom_ids(&case.publish("out"));

        let edited: Vec<Sourced> = order
            .iter()
            .map(|&i| {
                let (source, row) = &rows[i];
                let (summary, published, updated) = edits[i].clone();
                (*source, RawRow { summary, published, updated, ..row.clone() })
            })
            .collect();
        case.commit("2025-02-01T00:00:00+09:00", &edited);
        prop_assert_eq!(case.ids_by_key(), ids);
        let mut before = published;
        let mut after = atom_ids(&case.publish("out"));
        before.sort();
        after.sort();
        prop_assert_eq!(after, before);
    }

    /// (e) The topics the store keeps entry by entry (new, retitled, redated) are those a
    /// classification of everything from scratch gives: the same feeds, byte for byte.
    #[test]
    fn stored_topics_match_a_classification_from_scratch(
        (rows, edits) in rows(usable_link().prop_map(Some)).prop_flat_map(|rows| {
            let n = rows.len();
            let edit = (prop::option::of(text()), prop::option::of(text()), raw_date());
            (Just(rows), prop::collection::vec(edit, n))
        })
    ) {
        let mut case = Case::new();
        // Few shown, so that which entries a topic's feed shows depends on the stored order.
        case.config.site.max_entries = 2;
        case.commit("2025-01-01T00:00:00+09:00", &rows);
        let edited: Vec<Sourced> = rows
            .iter()
            .zip(&edits)
            .map(|((source, row), (title, summary, updated))| {
                let title = title.clone().or_else(|| row.title.clone());
                let (summary, updated) = (summary.clone(), updated.clone());
                (*source, RawRow { title, summary, updated, ..row.clone() })
            })
            .collect();
        case.commit("2025-02-01T00:00:00+09:00", &edited);
        let kept = case.publish("kept");
        let (classifier, topics) = (&case.config.classifier, &case.config.topics);
        case.store
            .retopic(classifier.fingerprint(), |title, summary| {
                (classifier.topics(&Folded::new(title, summary)).into_iter())
                    .map(|t| topics[t].id.clone())
                    .collect()
            })
            .unwrap();
        prop_assert_eq!(kept, case.publish("fresh"));
    }

    /// (d) Deduplication depends on the set of rows only: any order gives the same entries,
    /// field for field (dates with their offsets), and the same merges; once is enough (a
    /// second pass changes nothing and reports the same entries as merged from several rows).
    /// A refresh's rows, held in memory or spilled to a temporary file a few at a time, merge
    /// to the same entries, in key order, and can be read twice.
    #[test]
    fn dedup_is_order_independent_and_idempotent(
        (rows, order) in rows(link()).prop_flat_map(|rows| {
            let n = rows.len();
            (Just(rows), order(n))
        })
    ) {
        let entries = normalized(&rows);
        let order: Vec<usize> = order.into_iter().filter(|&i| i < entries.len()).collect();
        let shuffled: Vec<Entry> = order.iter().map(|&i| entries[i].clone()).collect();
        for held in [usize::MAX, 0, 3] {
            let mut rows = Rows::holding(held);
            for chunk in shuffled.chunks(2) {
                rows.add(chunk.to_vec());
            }
            let expected = dedup(entries.clone());
            for _ in 0..2 {
                let mut merged = rows.merged().unwrap();
                let got: Vec<Entry> = (&mut merged).map(Result::unwrap).collect();
                prop_assert!(got.is_sorted_by(|a, b| a.key < b.key), "not in key order");
                prop_assert_eq!(written(&got), written(&expected.0));
                prop_assert_eq!(sorted(merged.merges()), sorted(expected.1.clone()));
            }
        }
        let (once, merges) = dedup(entries);
        let (other, other_merges) = dedup(shuffled);
        prop_assert_eq!(written(&once), written(&other));
        let merges = sorted(merges);
        prop_assert_eq!(&merges, &sorted(other_merges));
        let (twice, again) = dedup(once.clone());
        prop_assert_eq!(written(&twice), written(&once));
        prop_assert_eq!(sorted(again), merges);
    }
}
