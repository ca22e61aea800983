//! The refreshes the tests commit to both backends, and everything read back from a store.

use super::super::*;
use crate::model::{Article, ArticleDates, Entry};
use crate::source::{Outcome, SourceError, SourceReport};
use crate::store::rules::outbox::Next;
use crate::store::{
    ArticleEvent, ArticleNote, Page, Reading, Refresh, Store, Subscription, listed,
};
use chrono::DateTime;

pub(super) fn at(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

pub(super) fn entry(
    key: &str,
    title: &str,
    summary: Option<&str>,
    date: Option<&str>,
    rows: &[(&str, usize)],
) -> Entry {
    Entry {
        key: EntryKey(format!("https://example.org/{key}")),
        title: title.to_owned(),
        link: format!("https://example.org/{key}"),
        summary: summary.map(str::to_owned),
        published: date.map(at),
        updated: date.map(at),
        origins: rows
            .iter()
            .map(|&(source, position)| Origin {
                source: source.to_owned(),
                position,
            })
            .collect(),
    }
}

pub(super) fn classify(title: &str) -> Vec<String> {
    let mut topics = Vec::new();
    if title.contains("警告") {
        topics.push("scam".to_owned());
    }
    if title.contains("脆弱性") {
        topics.push("vuln".to_owned());
    }
    topics
}

fn reports(second: bool) -> Vec<SourceReport> {
    let fetched = Outcome::Fetched {
        rows: 3,
        entries: 3,
        validators: Validators {
            etag: Some("\"v1\"".to_owned()),
            last_modified: Some("Mon, 05 Jan 2026 00:00:00 GMT".to_owned()),
        },
    };
    let alert = if second {
        Outcome::Failed(SourceError::Internal("boom".to_owned()))
    } else {
        Outcome::NotModified
    };
    [("anshin", fetched), ("alert", alert)]
        .into_iter()
        .map(|(id, outcome)| SourceReport {
            id: id.to_owned(),
            url: format!("https://example.org/{id}"),
            outcome,
            warnings: Vec::new(),
        })
        .collect()
}

fn reading(rule: &str, updated: &str) -> Reading {
    Reading {
        rule: rule.to_owned(),
        article: Ok(Article {
            content: format!("<p>read with {rule}</p>"),
            excerpt: format!("read with {rule}"),
            dates: ArticleDates {
                published: Some(at("2026-01-04T00:00:00+09:00")),
                updated: Some(at(updated)),
            },
        }),
    }
}

fn note(key: &str, event: ArticleEvent) -> ArticleNote {
    ArticleNote {
        key: EntryKey(format!("https://example.org/{key}")),
        source: "anshin".to_owned(),
        link: format!("https://example.org/{key}"),
        listing_date: Some("2026-01-05T00:00:00+09:00".to_owned()),
        event,
    }
}

fn fetched(key: &str) -> ArticleEvent {
    ArticleEvent::Fetched {
        page: Page {
            body: format!("<html><body>page {key}</body></html>").into_bytes(),
            content_type: Some("text/html; charset=utf-8".to_owned()),
            url: format!("https://example.org/{key}?redirected"),
        },
        validators: Validators {
            etag: Some(format!("\"{key}\"")),
            last_modified: None,
        },
        read: reading("r1", "2026-01-07T00:00:00+09:00"),
    }
}

/// Two refreshes that take every path of a commit (new, updated, redated, rows moved, topics
/// moved, articles fetched, failed, read again, news queued), then deliveries, notes,
/// archives and a new classification. Returns each commit's changes.
pub(super) fn scenario(store: &mut Store) -> Vec<crate::store::Changes> {
    let subscriptions = [
        Subscription {
            notify: "mail".to_owned(),
            topics: None,
            updates: true,
        },
        Subscription {
            notify: "hook".to_owned(),
            topics: Some(vec!["scam".to_owned()]),
            updates: false,
        },
    ];
    let day = "2026-01-06T00:00:00+09:00";
    let first = [
        entry(
            "a",
            "偽のセキュリティ警告に注意",
            Some("詳細"),
            Some("2026-01-05T00:00:00+09:00"),
            &[("anshin", 1)],
        ),
        entry(
            "b",
            "製品Xの脆弱性",
            None,
            Some(day),
            &[("alert", 1), ("anshin", 2)],
        ),
        entry("c", "お知らせ", None, None, &[("alert", 2)]),
        entry(
            "d",
            "警告: 脆弱性の悪用",
            Some("悪用"),
            Some(day),
            &[("anshin", 3)],
        ),
    ];
    let articles = [
        note("a", fetched("a")),
        note("b", ArticleEvent::Failed("timeout".to_owned())),
        note("d", fetched("d")),
    ];
    let sources = reports(false);
    let refresh = Refresh {
        sources: &sources,
        articles: &articles,
        subscriptions: &subscriptions,
    };
    let topics_of = |e: &Entry| classify(&e.title);
    let mut changes = vec![
        store
            .commit(
                at("2026-01-10T09:00:00+09:00"),
                &refresh,
                listed(&first),
                topics_of,
            )
            .unwrap(),
    ];
    let second = [
        entry(
            "a",
            "偽のセキュリティ警告に注意（更新）",
            Some("詳細"),
            Some("2026-01-05T00:00:00+09:00"),
            &[("anshin", 1)],
        ),
        entry(
            "b",
            "製品Xの脆弱性",
            None,
            Some(day),
            &[("alert", 3), ("anshin", 2)],
        ),
        entry(
            "e",
            "新しい警告",
            None,
            Some("2026-01-11T00:00:00+09:00"),
            &[("anshin", 4)],
        ),
    ];
    let articles = [
        note(
            "a",
            ArticleEvent::Reread(reading("r2", "2026-01-08T00:00:00+09:00")),
        ),
        note("b", ArticleEvent::NotModified),
        note(
            "d",
            ArticleEvent::Reread(reading("r2", "2026-01-09T00:00:00+09:00")),
        ),
    ];
    let sources = reports(true);
    let refresh = Refresh {
        sources: &sources,
        articles: &articles,
        subscriptions: &subscriptions,
    };
    let now = at("2026-01-11T09:00:00+09:00");
    changes.push(
        store
            .commit(now, &refresh, listed(&second), topics_of)
            .unwrap(),
    );
    let queued = store.outbox().unwrap();
    let keys: Vec<&EntryKey> = queued.iter().map(|q| &q.entry.key).collect();
    store.sending("mail", &keys, now).unwrap();
    store.settle("mail", keys[0], &Next::Delivered).unwrap();
    let retry = Next::Retry {
        failures: 1,
        refusals: 0,
        not_before: at("2026-01-11T10:00:00+09:00"),
        error: "503".to_owned(),
    };
    store.settle("hook", keys[0], &retry).unwrap();
    store.set_published_stamp("stamp-1").unwrap();
    let written = [
        ("all".to_owned(), "2026-01".to_owned(), "f1".to_owned()),
        ("scam".to_owned(), "2026-01".to_owned(), "f2".to_owned()),
    ];
    store
        .record_archives(
            "archives-1",
            &written,
            &[("vuln".to_owned(), "2025-12".to_owned())],
        )
        .unwrap();
    store
        .retopic("rules-2", |title, _| {
            let mut topics = classify(title);
            topics.push("all-of-them".to_owned());
            topics
        })
        .unwrap();
    changes
}

/// Everything the store reads back, each labelled, as text (some of the types compare only so).
fn reads(store: &Store) -> Vec<(&'static str, String)> {
    let b = &store.backend;
    let mut articles: Vec<_> = b.articles().unwrap().into_iter().collect();
    articles.sort_by(|x, y| x.0.cmp(&y.0));
    // Moved from alert's first row to its third.
    let b_key = EntryKey("https://example.org/b".to_owned());
    let (from, to) = (
        at("2026-01-01T00:00:00+09:00").timestamp(),
        at("2026-02-01T00:00:00+09:00").timestamp(),
    );
    vec![
        ("feed", format!("{:?}", store.feed(None, 10).unwrap())),
        ("feed of 2", format!("{:?}", store.feed(None, 2).unwrap())),
        (
            "feed scam",
            format!("{:?}", store.feed(Some("scam"), 10).unwrap()),
        ),
        (
            "feed vuln of 1",
            format!("{:?}", store.feed(Some("vuln"), 1).unwrap()),
        ),
        ("entries", format!("{:?}", store.entries().unwrap())),
        ("count", format!("{:?}", store.count().unwrap())),
        ("generation", format!("{:?}", store.generation().unwrap())),
        ("health", format!("{:?}", store.health().unwrap())),
        ("articles", format!("{articles:?}")),
        ("outbox", format!("{:?}", store.outbox().unwrap())),
        ("members", format!("{:?}", store.members(None).unwrap())),
        (
            "members scam",
            format!("{:?}", store.members(Some("scam")).unwrap()),
        ),
        (
            "between",
            format!("{:?}", store.between(None, from, to).unwrap()),
        ),
        (
            "between scam",
            format!("{:?}", store.between(Some("scam"), from, to).unwrap()),
        ),
        ("origins", format!("{:?}", b.origins(&b_key).unwrap())),
        (
            "pages",
            format!("{:?}", b.pages_to_reread("anshin", "r3").unwrap()),
        ),
        (
            "fetch state",
            format!("{:?}", b.fetch_state("anshin").unwrap()),
        ),
        ("topic rules", format!("{:?}", store.topic_rules().unwrap())),
        ("archives", format!("{:?}", store.archives().unwrap())),
        (
            "published",
            format!("{:?}", store.published_stamp().unwrap()),
        ),
        ("find", format!("{:?}", store.find("警告").unwrap())),
    ]
}

pub(super) fn assert_same(sqlite: &Store, pg: &Store) {
    for ((label, lite), (_, pg)) in reads(sqlite).into_iter().zip(reads(pg)) {
        assert_eq!(lite, pg, "{label}: SQLite and PostgreSQL differ");
    }
}
