//! Articles that fail, change, or are read under a changed rule; and how they are asked for.

use super::article_requests;
use crate::common::*;
use serde_json::Value;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// An article page in IPA's markup.
fn article(title: &str, published: &str, updated: &str, paragraphs: &[&str]) -> String {
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<p class=\"article-txt\">{p}</p>\n"))
        .collect();
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\n\
         <div class=\"news-detail\"><main><h1 class=\"ttl\">{title}</h1>\n\
         <p class=\"publish-date\">公開日：{published}</p><p class=\"update-date\">最終更新日：{updated}</p>\n\
         <h2 class=\"ttl\">概要</h2>\n{body}</main></div></body></html>"
    )
}

/// The test configuration with one listing source at `url` reading articles by `content`.
fn config_with(url: &str, content: &str, fetch: &str) -> String {
    let source = html_source("news", url, NEWS_LIST);
    config(&format!(
        "{fetch}\n{source}[source.article]\ncontent = \"{content}\"\npublished = \".publish-date\"\nupdated = \".update-date\"\n"
    ))
}

fn json_items(ws: &Workspace) -> Vec<Value> {
    let feed: Value = serde_json::from_str(&ws.read("feeds/all.json")).unwrap();
    feed["items"].as_array().unwrap().clone()
}

fn item<'a>(items: &'a [Value], path: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["url"].as_str().unwrap().ends_with(path))
        .unwrap_or_else(|| panic!("no item for {path}"))
}

#[test]
fn failures_keep_the_entry_are_warned_counted_and_not_retried_at_once() {
    let server = Server::start();
    let rows = [
        ("2023/09/12", "良い記事", "/a/ok.html"),
        ("2023/09/11", "消えた記事", "/a/missing.html"),
        ("2023/09/10", "遅い記事", "/a/slow.html"),
        ("2023/09/09", "大きな記事", "/a/huge.html"),
        ("2023/09/08", "作り替えた記事", "/a/moved.html"),
    ];
    server.route(LISTING_PATH, Reply::html(listing(&rows)));
    let ok = article("良い記事", "2023年9月1日", "2023年9月12日", &["本文です。"]);
    server.route("/a/ok.html", Reply::html(ok));
    let slow: RawWriter = Arc::new(|_, stream| {
        std::thread::sleep(Duration::from_secs(3));
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    });
    server.route("/a/slow.html", Reply::Raw(slow));
    let huge = article(
        "大きな記事",
        "2023年9月9日",
        "2023年9月9日",
        &[&"あ".repeat(20_000)],
    );
    server.route("/a/huge.html", Reply::html(huge));
    server.route(
        "/a/moved.html",
        Reply::html("<article><p>新しいデザイン</p></article>"),
    );
    let ws = Workspace::new("articles-failures");
    let fetch = "[fetch]\ntimeout_secs = 1\nretries = 0\nmax_body_bytes = 16384\n";
    ws.config(&config_with(
        &server.url(LISTING_PATH),
        "main p.article-txt",
        fetch,
    ));

    let first = ws.command(&["-v"]).output().unwrap();
    // The listing was read: the run is a success whatever its articles did.
    assert_status(&first, 0);
    let log = stderr(&first);
    for (path, reason) in [
        ("/a/missing.html", "HTTP status 404"),
        ("/a/slow.html", "timed out"),
        ("/a/huge.html", "larger than the limit"),
        ("/a/moved.html", "matched nothing"),
    ] {
        let line = log
            .lines()
            .find(|l| l.contains(&server.url(path)))
            .unwrap_or_else(|| panic!("no warning for {path} in {log}"));
        assert!(line.contains(reason) && line.contains("news row"), "{line}");
    }
    let items = json_items(&ws);
    assert_eq!(items.len(), 5);
    assert!(
        item(&items, "/a/ok.html")["content_html"]
            .as_str()
            .unwrap()
            .contains("本文です。")
    );
    assert_eq!(
        item(&items, "/a/ok.html")["date_published"],
        "2023-09-01T00:00:00+09:00"
    );
    for path in [
        "/a/missing.html",
        "/a/slow.html",
        "/a/huge.html",
        "/a/moved.html",
    ] {
        let kept = item(&items, path);
        assert!(kept.get("content_html").is_none(), "{kept}");
        assert!(
            kept["summary"].as_str().unwrap().ends_with("の概要"),
            "{kept}"
        );
    }

    // The warnings reach a log collector too.
    let json = ws
        .command(&["-v", "--log-format", "json"])
        .output()
        .unwrap();
    assert_status(&json, 0);
    // A failed article waits before it is tried again; the read one is not asked for again.
    assert_eq!(article_requests(&server), 5, "{}", stderr(&json));

    let status = ws.status();
    let table = String::from_utf8_lossy(&status.stdout);
    assert!(table.contains("ARTICLES FAILING"), "{table}");
    let news = table.lines().find(|l| l.starts_with("news")).unwrap();
    assert!(news.split_whitespace().any(|w| w == "4"), "{table}");
    validate_independently(&ws.out());
}

#[test]
fn an_edited_article_comes_back_as_a_304_then_as_a_200() {
    let server = Server::start();
    let edited = Arc::new(AtomicBool::new(false));
    let flag = edited.clone();
    server.route_fn("/a/alert.html", move |r| {
        let (etag, page) = if flag.load(Ordering::SeqCst) {
            let page = article(
                "警告",
                "2023年9月12日",
                "2023年9月20日",
                &["初版。", "追記しました。"],
            );
            ("\"v2\"", page)
        } else {
            (
                "\"v1\"",
                article("警告", "2023年9月12日", "2023年9月12日", &["初版。"]),
            )
        };
        if r.headers.get("if-none-match").map(String::as_str) == Some(etag) {
            return Reply::Full(304, vec![("ETag".into(), etag.into())], Vec::new());
        }
        let headers = vec![
            ("Content-Type".into(), "text/html; charset=utf-8".into()),
            ("ETag".into(), etag.into()),
        ];
        Reply::Full(200, headers, page.into_bytes())
    });
    let relist = |date: &str| {
        let page = listing(&[(date, "偽の警告", "/a/alert.html")]);
        server.route(LISTING_PATH, Reply::html(page));
    };
    relist("2023/09/12");
    let ws = Workspace::new("articles-edited");
    ws.config(&config_with(
        &server.url(LISTING_PATH),
        "main p.article-txt",
        "",
    ));
    assert_status(&ws.run(), 0);
    let content = |ws: &Workspace| {
        let items = json_items(ws);
        let i = item(&items, "/a/alert.html");
        (
            i["content_html"].as_str().unwrap().to_owned(),
            i["date_modified"].clone(),
        )
    };
    assert_eq!(content(&ws).0, "初版。");

    // The listing row changed: the article is asked for conditionally; unchanged, it stays.
    relist("2023/09/13");
    assert_status(&ws.run(), 0);
    let asked = server.requests("/a/alert.html");
    assert_eq!(asked.len(), 2);
    assert_eq!(
        asked[1].headers.get("if-none-match").map(String::as_str),
        Some("\"v1\"")
    );
    assert_eq!(
        content(&ws),
        ("初版。".to_owned(), "2023-09-13T00:00:00+09:00".into())
    );

    // Edited upstream: the new page, and its later 最終更新日 as the entry's updated.
    edited.store(true, Ordering::SeqCst);
    relist("2023/09/14");
    assert_status(&ws.run(), 0);
    assert_eq!(server.requests("/a/alert.html").len(), 3);
    let (html, updated) = content(&ws);
    assert!(html.contains("追記しました。"), "{html}");
    assert_eq!(updated, "2023-09-20T00:00:00+09:00");
}

#[test]
fn a_changed_rule_reaches_stored_entries_without_a_request() {
    let server = Server::start();
    let rows = [
        ("2023/09/12", "一の記事", "/a/1.html"),
        ("2023/09/11", "二の記事", "/a/2.html"),
        ("2023/09/10", "作り替えた記事", "/a/3.html"),
    ];
    server.route(LISTING_PATH, Reply::html(listing(&rows)));
    for (_, title, path) in &rows[..2] {
        server.route(
            path,
            Reply::html(article(title, "2023年9月1日", "2023年9月1日", &["段落。"])),
        );
    }
    let redesigned =
        "<html><body><div class=\"post__body\"><p>新しい本文。</p></div></body></html>";
    server.route("/a/3.html", Reply::html(redesigned));
    let ws = Workspace::new("articles-rule-change");
    ws.config(&config_with(
        &server.url(LISTING_PATH),
        "main p.article-txt",
        "",
    ));
    assert_status(&ws.run(), 0);
    assert_eq!(article_requests(&server), 3);
    assert!(
        item(&json_items(&ws), "/a/3.html")
            .get("content_html")
            .is_none()
    );

    // The site redesigned: the rule is edited, and the listing has moved on meanwhile.
    server.route(LISTING_PATH, Reply::html(listing(&rows[..1])));
    let rule = "main h2.ttl, main p.article-txt, .post__body";
    ws.config(&config_with(&server.url(LISTING_PATH), rule, ""));
    let second = ws.command(&["-v"]).output().unwrap();
    assert_status(&second, 0);
    assert_eq!(article_requests(&server), 3, "{}", stderr(&second));
    let items = json_items(&ws);
    for path in ["/a/1.html", "/a/2.html"] {
        let html = item(&items, path)["content_html"].as_str().unwrap();
        assert_eq!(html, "<h2>概要</h2>\n<p>段落。</p>", "{path}");
    }
    let html = item(&items, "/a/3.html")["content_html"].as_str().unwrap();
    assert!(html.contains("新しい本文。"), "{html}");
}

#[test]
fn article_requests_to_a_host_are_one_at_a_time() {
    let hosts = [Server::start(), Server::start()];
    let listing_server = Server::start();
    let mut rows = Vec::new();
    for (h, host) in hosts.iter().enumerate() {
        for n in 0..4 {
            let path = format!("/a/{n}.html");
            let title = format!("記事{h}-{n}");
            let page = article(&title, "2023年9月1日", "2023年9月1日", &["本文。"]);
            host.route_fn(&path, move |_| {
                // Slow enough that a second request to the host would arrive meanwhile.
                std::thread::sleep(Duration::from_millis(150));
                Reply::html(page.clone())
            });
            rows.push(("2023/09/01".to_owned(), title, host.url(&path)));
        }
    }
    let rows: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|(d, t, l)| (d.as_str(), t.as_str(), l.as_str()))
        .collect();
    listing_server.route(LISTING_PATH, Reply::html(listing(&rows)));
    let ws = Workspace::new("articles-polite");
    ws.config(&config_with(
        &listing_server.url(LISTING_PATH),
        "main p.article-txt",
        "",
    ));
    assert_status(&ws.run(), 0);
    for host in &hosts {
        assert_eq!(host.all_requests().len(), 4);
        assert_eq!(host.max_in_flight(), 1, "two requests at once to one host");
    }
    assert_eq!(
        json_items(&ws)
            .iter()
            .filter(|i| i.get("content_html").is_some())
            .count(),
        8
    );
}

#[test]
fn check_article_shows_what_the_rule_reads_without_storing() {
    let server = Server::start();
    let rows = [
        ("2023/09/12", "良い記事", "/a/ok.html"),
        ("2023/09/11", "消えた記事", "/a/gone.html"),
    ];
    server.route(LISTING_PATH, Reply::html(listing(&rows)));
    let ok = article(
        "良い記事",
        "２０２３年９月１日",
        "2023年9月12日",
        &["確かめる本文。"],
    );
    server.route("/a/ok.html", Reply::html(ok));
    let ws = Workspace::new("articles-check");
    let config = ws.config(&config_with(
        &server.url(LISTING_PATH),
        "main p.article-txt",
        "",
    ));
    let out = kairan(
        &ws.dir,
        &[
            "check",
            "--config",
            config.to_str().unwrap(),
            "--source",
            "news",
            "--article",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("確かめる本文。"), "{text}");
    assert!(
        text.contains("published 2023-09-01T00:00:00+09:00"),
        "{text}"
    );
    assert!(text.contains("updated 2023-09-12T00:00:00+09:00"), "{text}");
    assert!(text.contains("HTTP status 404"), "{text}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed article fails the check"
    );
    assert!(!ws.state().exists(), "check stores nothing");
}
