//! Each entry's own page, read by `[source.article]`: the shipped configuration against the IPA
//! fixtures (`fixtures/articles/`, written by its `make.py`) served on loopback, and the
//! failures, edits, rule changes and politeness of `failures.rs`.

mod failures;

use crate::common::*;
use serde_json::Value;
use std::path::Path;

/// The IPA article fixtures under their site paths, the listing and the alert feed (its links
/// moved to `server`), served by `server`.
pub fn serve_ipa_site(server: &Server) {
    server.route(LISTING_PATH, Reply::html(fixture("ipa/anshin-seed.html")));
    let feed = String::from_utf8(fixture("ipa/alert-rss.rdf"))
        .unwrap()
        .replace("https://www.ipa.go.jp", &server.url(""));
    server.route(ALERT_PATH, Reply::ok("application/rdf+xml", feed));
    let root = root().join("fixtures/articles");
    for (name, bytes) in files_under(&root) {
        if !name.ends_with(".html") {
            continue;
        }
        // The Shift_JIS page says so only in its <meta>, as old pages do.
        let content_type = if bytes.is_ascii() || std::str::from_utf8(&bytes).is_ok() {
            "text/html; charset=utf-8"
        } else {
            "text/html"
        };
        server.route(&format!("/{name}"), Reply::ok(content_type, bytes));
    }
}

/// The items of a JSON Feed file, by their `url` path.
pub fn items_by_path(out: &Path, slug: &str) -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(out.join(format!("feeds/{slug}.json"))).unwrap();
    let feed: Value = serde_json::from_str(&text).unwrap();
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let url = url::Url::parse(item["url"].as_str().unwrap()).unwrap();
            (url.path().to_owned(), item.clone())
        })
        .collect()
}

/// Requests for article pages, as opposed to the listing and the feed.
pub fn article_requests(server: &Server) -> usize {
    (server.all_requests().iter())
        .filter(|r| r.path != LISTING_PATH && r.path != ALERT_PATH)
        .count()
}

fn shipped() -> String {
    std::fs::read_to_string(root().join("config/ipa.toml")).unwrap()
}

#[test]
fn the_shipped_config_publishes_every_advisory_with_its_article_and_its_dates() {
    let server = Server::start();
    serve_ipa_site(&server);
    let ws = Workspace::new("articles-shipped");
    ws.shipped_config_with_articles(&server, &shipped());

    // A first import reads at most 50 articles of the listing; the alerts are fewer.
    let first = ws.command(&["-v"]).output().unwrap();
    assert_status(&first, 0);
    let after_first = article_requests(&server);
    assert_eq!(after_first, 50 + 8, "{}", stderr(&first));
    // The rest on the next run, among them the redesigned page, which fails.
    let second = ws.command(&["-v"]).output().unwrap();
    assert_status(&second, 0);
    let pages = files_under(&root().join("fixtures/articles"))
        .keys()
        .filter(|n| n.ends_with(".html"))
        .count();
    assert_eq!(article_requests(&server), pages, "{}", stderr(&second));
    for r in server.all_requests() {
        assert!(!r.path.ends_with(".pdf"), "a PDF was asked for: {}", r.path);
    }

    let all = items_by_path(&ws.out(), "all");
    let redesigned = "/security/anshin/attention/2016/mgdayori20160803.html";
    let mut with_content = 0;
    for (path, item) in &all {
        if path.ends_with(".pdf") || path == redesigned {
            continue;
        }
        let html = item["content_html"]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: no content_html in {item}"));
        assert!(html.contains("<h2>"), "{path}: {html}");
        with_content += 1;
    }
    assert!(
        with_content >= 50,
        "only {with_content} entries with content"
    );
    let log = stderr(&second);
    assert!(
        log.contains(redesigned) && log.contains("matched nothing"),
        "{log}"
    );
    // The redesigned page's entry is published from its listing row.
    let (_, kept) = all.iter().find(|(p, _)| p == redesigned).unwrap();
    assert!(kept.get("content_html").is_none());
    assert_eq!(
        kept["title"],
        "不正ログイン被害の原因となるパスワードの使い回しはNG"
    );

    let item = |path: &str| &all.iter().find(|(p, _)| p == path).unwrap().1;
    // Active content gone, relative links and images absolute, tables kept.
    let active = item("/security/anshin/attention/2021/mgdayori20210309.html");
    let html = active["content_html"].as_str().unwrap();
    for gone in [
        "<script",
        "injected",
        "onclick",
        "onerror",
        "style",
        "<iframe",
        "<object",
        "<embed",
        "<form",
        "<input",
        "javascript:",
        "data:",
        "vbscript:",
        "class=",
    ] {
        assert!(!html.contains(gone), "{gone} in {html}");
    }
    let base = server.url("/security/anshin");
    assert!(
        html.contains(&format!(r#" src="{base}/attention/2021/img/fig1.png""#)),
        "{html}"
    );
    assert!(
        html.contains(&format!(r#"href="{base}/measures/notification.html""#)),
        "{html}"
    );
    assert!(html.contains(&format!(
        r#"href="{}""#,
        server.url("/security/anshin/about.html")
    )));
    assert!(
        html.contains("<table>") && html.contains("枠の代替文"),
        "{html}"
    );
    // Dates from the article: 公開日 two weeks before the listing's date, in full-width digits
    // on one page; 最終更新日 the listing's.
    let ckms = item("/security/crypto/guideline/ckms.html");
    assert_eq!(ckms["date_published"], "2023-08-16T00:00:00+09:00");
    assert_eq!(ckms["date_modified"], "2023-08-30T00:00:00+09:00");
    let todokede = item("/security/todokede/crack-virus/about.html");
    assert_eq!(todokede["date_published"], "2023-08-17T00:00:00+09:00");
    // The Shift_JIS page, declared only in its <meta>, read as such.
    let sjis = item("/security/anshin/attention/2022/mgdayori20221031.html");
    assert!(
        sjis["content_html"]
            .as_str()
            .unwrap()
            .contains("表示された電話番号には電話しない")
    );
    // An alert (no description in the feed) has its article's text for a summary.
    let alert = item("/security/security-alert/2024/alert20240702.html");
    let summary = alert["summary"].as_str().unwrap();
    assert!(summary.starts_with("概要"), "{summary}");
    assert!(
        alert["content_html"]
            .as_str()
            .unwrap()
            .contains("最新版へアップデート")
    );

    // Nothing new: no article is asked for and no file is written.
    let requests = article_requests(&server);
    let third = ws.command(&["-v"]).output().unwrap();
    assert_status(&third, 0);
    assert_eq!(article_requests(&server), requests, "{}", stderr(&third));
    assert!(
        stderr(&third).contains(" 0 files written"),
        "{}",
        stderr(&third)
    );
    validate_independently(&ws.out());

    // Per source, `kairan status` counts the articles that could not be read.
    let status = ws.status();
    let table = String::from_utf8_lossy(&status.stdout);
    let anshin = table.lines().find(|l| l.starts_with("anshin")).unwrap();
    assert!(anshin.contains(" 1 "), "{table}");
}
