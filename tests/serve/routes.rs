//! What `kairan serve` answers: every route with its type, validators and conditional requests,
//! encodings, HEAD, CORS, paths outside the published set, JSON Feed validity, embeds, health
//! and metrics.

use super::{SEXTORTION, Served, request, seed_upstream, serving_with};
use crate::common::*;
use std::io::Read;

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn feeds_are_served_with_validators_encodings_cors_and_the_right_types() {
    let upstream = seed_upstream();
    let ws = Workspace::new("serve");
    ws.shipped_config(&upstream);
    let served = Served::start(&ws);
    served.wait_for_refreshes(1);

    let plain = served.get("/feeds/all.atom", &[]);
    assert_eq!(plain.status, 200);
    assert_eq!(
        plain.header("content-type"),
        "application/atom+xml; charset=utf-8"
    );
    assert_eq!(plain.header("cache-control"), "public, max-age=3600");
    assert!(plain.header("vary").contains("Accept-Encoding"));
    let etag = plain.header("etag").to_owned();
    assert!(
        etag.starts_with('"') && etag.len() > 10,
        "a strong ETag: {etag}"
    );
    let last_modified = plain.header("last-modified").to_owned();
    assert!(last_modified.ends_with(" GMT"), "{last_modified}");
    assert_eq!(plain.header("content-encoding"), "");
    // What is served is what was written to the output directory, as `run` writes it.
    assert_eq!(
        plain.body,
        std::fs::read(ws.out().join("feeds/all.atom")).unwrap()
    );
    assert_eq!(plain.header("content-length"), plain.body.len().to_string());

    // Conditional requests.
    let by_tag = served.get("/feeds/all.atom", &[("If-None-Match", &etag)]);
    assert_eq!(by_tag.status, 304);
    assert!(by_tag.body.is_empty());
    assert_eq!(by_tag.header("etag"), etag);
    let by_date = served.get("/feeds/all.atom", &[("If-Modified-Since", &last_modified)]);
    assert_eq!(by_date.status, 304);
    let stale = served.get(
        "/feeds/all.atom",
        &[("If-None-Match", "\"something-else\"")],
    );
    assert_eq!(stale.status, 200);

    // Encodings, made once and negotiated.
    let gz = served.get("/feeds/all.atom", &[("Accept-Encoding", "gzip")]);
    assert_eq!(gz.header("content-encoding"), "gzip");
    assert_eq!(gunzip(&gz.body), plain.body);
    assert_ne!(
        gz.header("etag"),
        etag,
        "each encoding has its own strong ETag"
    );
    assert_eq!(
        served
            .get(
                "/feeds/all.atom",
                &[
                    ("Accept-Encoding", "gzip"),
                    ("If-None-Match", gz.header("etag"))
                ]
            )
            .status,
        304
    );
    let br = served.get(
        "/feeds/all.atom",
        &[("Accept-Encoding", "gzip, deflate, br")],
    );
    assert_eq!(br.header("content-encoding"), "br");
    assert_eq!(unbrotli(&br.body), plain.body);
    let no_br = served.get("/feeds/all.atom", &[("Accept-Encoding", "br;q=0, gzip")]);
    assert_eq!(no_br.header("content-encoding"), "gzip");

    // HEAD: the same headers, no body.
    let head = request(&served.addr, "HEAD", "/feeds/all.atom", &[]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), plain.body.len().to_string());
    assert_eq!(head.header("etag"), etag);

    // Every kind of file, with its type.
    for (path, content_type) in [
        ("/", "text/html; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/feeds.opml", "text/x-opml; charset=utf-8"),
        (
            "/feeds/sextortion.atom",
            "application/atom+xml; charset=utf-8",
        ),
        (
            "/feeds/sextortion.json",
            "application/feed+json; charset=utf-8",
        ),
        ("/feeds/all.json", "application/feed+json; charset=utf-8"),
        ("/embed/sextortion.html", "text/html; charset=utf-8"),
    ] {
        let r = served.get(path, &[]);
        assert_eq!(
            (r.status, r.header("content-type")),
            (200, content_type),
            "{path}"
        );
        assert!(
            !r.header("etag").is_empty() && !r.header("last-modified").is_empty(),
            "{path}"
        );
    }

    // CORS for portal pages, simple and preflighted.
    let cors = served.get(
        "/feeds/all.json",
        &[("Origin", "https://portal.example.jp")],
    );
    assert_eq!(cors.header("access-control-allow-origin"), "*");
    // Every origin gets the same answer: nothing for a CDN to keep apart by Origin.
    assert_eq!(cors.header("vary"), "Accept-Encoding");
    let preflight = request(
        &served.addr,
        "OPTIONS",
        "/feeds/all.json",
        &[
            ("Origin", "https://portal.example.jp"),
            ("Access-Control-Request-Method", "GET"),
        ],
    );
    assert!(preflight.status < 300, "{}", preflight.status);
    assert_eq!(preflight.header("vary"), "");
    let methods = preflight.header("access-control-allow-methods");
    assert!(
        methods.contains("GET") && methods.contains("HEAD"),
        "{methods}"
    );

    // Nothing but the published set, and never the file system.
    for (path, status) in [
        ("/feeds/nope.atom", 404),
        ("/etc/passwd", 404),
        ("/kairan.toml", 404),
        ("/feeds/../kairan.toml", 400),
        ("/../../etc/passwd", 400),
        ("/%2e%2e/%2e%2e/etc/passwd", 400),
        ("/feeds/%2e%2e%2fkairan.toml", 400),
        ("/feeds//all.atom", 400),
        ("/feeds\\..\\kairan.toml", 400),
    ] {
        assert_eq!(served.get(path, &[]).status, status, "{path}");
    }
    assert_eq!(
        request(&served.addr, "POST", "/feeds/all.atom", &[]).status,
        405
    );
}

#[test]
fn json_feeds_embeds_health_and_metrics() {
    let upstream = seed_upstream();
    let ws = Workspace::new("serve-json");
    ws.shipped_config(&upstream);
    let served = Served::start(&ws);
    served.wait_for_refreshes(1);

    let all: serde_json::Value =
        serde_json::from_slice(&served.get("/feeds/all.json", &[]).body).unwrap();
    assert_eq!(all["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(all["feed_url"], "http://127.0.0.1:8080/feeds/all.json");
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 69);
    let ids: std::collections::BTreeSet<&str> =
        items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 69, "ids are unique");
    for item in items {
        assert!(item["url"].as_str().unwrap().starts_with("http"));
        assert!(!item["content_text"].as_str().unwrap().is_empty());
        assert!(item["date_modified"].as_str().unwrap().ends_with("+09:00"));
    }
    // The same ids as the Atom feed.
    let atom_ids: std::collections::BTreeSet<String> = ws
        .feed("all")
        .entries
        .iter()
        .map(|e| e.id.clone())
        .collect();
    assert_eq!(
        ids.into_iter()
            .map(String::from)
            .collect::<std::collections::BTreeSet<_>>(),
        atom_ids
    );
    let topic: serde_json::Value =
        serde_json::from_slice(&served.get("/feeds/sextortion.json", &[]).body).unwrap();
    assert!(
        topic["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["title"] == SEXTORTION)
    );
    assert!(
        topic["items"][0]["tags"]
            .as_array()
            .unwrap()
            .contains(&"sextortion".into())
    );

    // An embed: self-contained, no script, the latest ten entries, links out of the frame.
    let embed = served.get("/embed/support-scam.html", &[]);
    let html = embed.text();
    assert!(
        !html.contains("<script") && !html.contains("src="),
        "{html}"
    );
    assert_eq!(html.matches("<li>").count(), 10);
    assert!(html.contains("<base target=\"_blank\">"));
    assert!(
        embed
            .header("content-security-policy")
            .contains("default-src 'none'")
    );

    let health = served.get("/healthz", &[]);
    assert_eq!(health.status, 200);
    let h: serde_json::Value = serde_json::from_slice(&health.body).unwrap();
    assert_eq!(h["status"], "ok");
    assert!(h["last_refresh"].is_string());
    assert_eq!(h["sources"][0]["id"], "anshin");
    assert_eq!(h["sources"][0]["entries"], 61);

    let metrics = served.get("/metrics", &[]).text();
    for line in [
        "kairan_refreshes_total{result=\"ok\"} 1",
        "kairan_topic_entries{topic=\"all\"} 69",
        "kairan_fetch_errors_total{source=\"anshin\"} 0",
        "# TYPE kairan_http_requests_total counter",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    let served_200: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("kairan_http_requests_total{status=\"200\"} "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(served_200 >= 4, "{metrics}");
}

#[test]
fn archives_are_served_from_memory_the_older_months_with_a_long_cache_life() {
    let upstream = seed_upstream();
    let ws = Workspace::new("serve-archives");
    let path = ws.shipped_config(&upstream);
    let text = std::fs::read_to_string(path).unwrap();
    ws.config(&text.replace("max_entries = 100", "max_entries = 10"));
    // A run first: the archives are on disk, unchanged for serve's first refresh, which
    // reads them back rather than rendering them.
    assert_status(&ws.run(), 0);
    let served = Served::start(&ws);
    served.wait_for_refreshes(1);
    // The newest month gains entries as they leave the live feed: cached as the live feed is.
    // The one before it stays: cached for a day.
    let month_after = |text: &str, rel: &str| -> String {
        let link = text
            .lines()
            .find(|l| l.contains(&format!("rel=\"{rel}\"")))
            .unwrap();
        let at = link.find("/feeds/archive/all/").expect("an archive link");
        link[at + "/feeds/archive/all/".len()..][..7].to_owned()
    };
    let newest = month_after(&served.get("/feeds/all.atom", &[]).text(), "prev-archive");
    let newest_doc = served.get(&format!("/feeds/archive/all/{newest}.atom"), &[]);
    assert_eq!(newest_doc.header("cache-control"), "public, max-age=3600");
    let older = month_after(&newest_doc.text(), "prev-archive");
    for (ext, kind) in [
        ("atom", "application/atom+xml"),
        ("json", "application/feed+json"),
    ] {
        let archive = served.get(&format!("/feeds/archive/all/{older}.{ext}"), &[]);
        assert_eq!(archive.status, 200, "{older}.{ext}");
        assert!(archive.header("content-type").starts_with(kind));
        assert_eq!(archive.header("cache-control"), "public, max-age=86400");
        let on_disk = std::fs::read(ws.out().join(format!("feeds/archive/all/{older}.{ext}")));
        assert_eq!(archive.body, on_disk.unwrap());
    }
    assert_eq!(
        served.get("/feeds/archive/all/1999-01.atom", &[]).status,
        404
    );
}

#[test]
fn only_the_origins_listed_are_allowed_on_files_and_routes() {
    let upstream = seed_upstream();
    let ws = Workspace::new("serve-origins");
    let listed = "https://portal.example.jp";
    let served = serving_with(&ws, &upstream, &format!("cors_origins = [\"{listed}\"]"));
    for path in [
        "/feeds/all.atom",
        "/",
        "/feeds/all.json?limit=1",
        "/healthz",
    ] {
        let allowed = served.get(path, &[("Origin", listed)]);
        assert_eq!(allowed.status, 200, "{path}");
        assert_eq!(
            allowed.header("access-control-allow-origin"),
            listed,
            "{path}"
        );
        assert!(allowed.header("vary").contains("origin"), "{path}");
        assert!(
            !allowed.header("vary").contains("access-control-request"),
            "{path}: the methods allowed are the same for every request"
        );
        let other = served.get(path, &[("Origin", "https://elsewhere.example")]);
        assert_eq!(other.status, 200, "{path}");
        assert_eq!(other.header("access-control-allow-origin"), "", "{path}");
        // A cache must not hand one origin's answer to another, nor to a request with none.
        assert!(other.header("vary").contains("origin"), "{path}");
        let none = served.get(path, &[]);
        assert!(none.header("vary").contains("origin"), "{path}");
    }
    drop(served);
    // No origin listed: nothing differs from one origin to the next.
    let closed = serving_with(&ws, &upstream, "cors_origins = []");
    let asked = closed.get("/feeds/all.atom", &[("Origin", listed)]);
    assert_eq!(asked.header("access-control-allow-origin"), "");
    assert_eq!(asked.header("vary"), "Accept-Encoding");
}
