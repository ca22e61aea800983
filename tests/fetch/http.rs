//! What one upstream answers, and how: validators and 304s, server and client errors, Retry-After,
//! timeouts on headers and body, bodies past the cap, compression, redirects, charsets.

use super::{ALERTS, PAGE, SEED_ENTRIES, raw, setup, slow, snapshot, state};
use crate::common::*;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn validators_are_sent_back_a_304_rewrites_nothing_and_once_a_day_none_are_sent() {
    let server = Server::start();
    server.route_fn(ALERT_PATH, |r| {
        if r.headers.get("if-none-match").map(String::as_str) == Some("\"v1\"") {
            return Reply::Full(304, vec![("ETag".into(), "\"v1\"".into())], Vec::new());
        }
        Reply::Full(
            200,
            vec![
                ("Content-Type".into(), "application/rdf+xml".into()),
                ("ETag".into(), "\"v1\"".into()),
                (
                    "Last-Modified".into(),
                    "Tue, 12 Sep 2023 08:00:00 GMT".into(),
                ),
            ],
            fixture("ipa/alert-rss.rdf"),
        )
    });
    let ws = Workspace::new("conditional");
    ws.config(&config(&feed_source("alert", &server.url(ALERT_PATH))));
    assert_status(&ws.run(), 0);
    let before = snapshot(&ws.out());
    std::thread::sleep(Duration::from_millis(20));

    let out = ws.run();
    assert_status(&out, 0);
    let second = &server.requests(ALERT_PATH)[1];
    assert_eq!(second.headers["if-none-match"], "\"v1\"");
    assert_eq!(
        second.headers["if-modified-since"],
        "Tue, 12 Sep 2023 08:00:00 GMT"
    );
    assert_eq!(snapshot(&ws.out()), before, "a 304 rewrites nothing");
    assert_eq!(ws.feed("all").entries.len(), ALERTS, "and loses nothing");

    // The last whole body is more than a day old: the next request is unconditional.
    state(&ws)
        .execute(
            "UPDATE sources SET last_full = '2000-01-01T00:00:00+09:00'",
            [],
        )
        .unwrap();
    assert_status(&ws.run(), 0);
    let third = &server.requests(ALERT_PATH)[2];
    assert!(!third.headers.contains_key("if-none-match"), "{third:?}");
    assert!(
        !third.headers.contains_key("if-modified-since"),
        "{third:?}"
    );
    assert_eq!(
        snapshot(&ws.out()),
        before,
        "the same body rewrites nothing"
    );
    // And the validators are trusted again after it.
    assert_status(&ws.run(), 0);
    assert!(
        server.requests(ALERT_PATH)[3]
            .headers
            .contains_key("if-none-match")
    );
}

#[test]
fn server_errors_are_retried_with_backoff_and_client_errors_are_not() {
    let s = setup("status-500", "retries = 2", Reply::status(500));
    let out = s.ws.run();
    s.assert_failed_alone(&out, "HTTP status 500");
    assert_eq!(s.attempts(), 3, "one attempt and two retries");
    let at: Vec<Instant> = s.bad.requests(PAGE).iter().map(|r| r.at).collect();
    assert!(at[1] - at[0] >= Duration::from_millis(500), "backoff");
    assert!(at[2] - at[1] >= Duration::from_millis(1000), "exponential");

    let s = setup("status-404", "retries = 2", Reply::status(404));
    s.assert_failed_alone(&s.ws.run(), "HTTP status 404");
    assert_eq!(s.attempts(), 1, "a 404 is not retried");
}

#[test]
fn too_many_requests_is_retried_after_the_time_asked_for() {
    let first = Arc::new(AtomicUsize::new(0));
    let s = setup("status-429", "retries = 1", Reply::status(500));
    let listing = fixture("ipa/anshin-seed.html");
    s.bad.route_fn(PAGE, move |_| {
        if first.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::Full(429, vec![("Retry-After".into(), "2".into())], Vec::new())
        } else {
            Reply::html(listing.clone())
        }
    });
    assert_status(&s.ws.run(), 0);
    let at: Vec<Instant> = s.bad.requests(PAGE).iter().map(|r| r.at).collect();
    assert_eq!(at.len(), 2);
    assert!(
        at[1] - at[0] >= Duration::from_secs(2),
        "Retry-After honoured"
    );
    assert_eq!(s.ws.feed("all").entries.len(), SEED_ENTRIES + ALERTS);

    // A wait beyond the bound fails the source for this run instead of stalling it.
    let s = setup(
        "status-503",
        "retries = 2",
        Reply::Full(
            503,
            vec![("Retry-After".into(), "86400".into())],
            Vec::new(),
        ),
    );
    s.assert_failed_alone(&s.ws.run(), "HTTP status 503");
    assert_eq!(s.attempts(), 1);
}

#[test]
fn a_response_slower_than_the_timeout_fails_headers_or_body() {
    let s = setup(
        "slow-head",
        "timeout_secs = 1\nretries = 1",
        slow(Duration::from_secs(30), fixture("ipa/anshin-seed.html")),
    );
    s.assert_failed_alone(&s.ws.run(), "timed out after 1 s");
    assert_eq!(s.attempts(), 2, "a timeout is retried");

    // Headers at once, then a byte now and then: the timeout bounds the whole request.
    let trickle = raw(|_, stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n<html><body><ul class=\"news-list\">");
        for _ in 0..300 {
            if stream
                .write_all(b" ")
                .and_then(|()| stream.flush())
                .is_err()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let s = setup("slow-body", "timeout_secs = 1\nretries = 0", trickle);
    s.assert_failed_alone(&s.ws.run(), "timed out after 1 s");
}

#[test]
fn bodies_past_the_cap_are_abandoned_and_not_retried() {
    let endless = raw(|_, stream| {
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n");
        let chunk = "<p>終わらない</p>".repeat(4096);
        // Bounded at about 200 MiB; the client hangs up after its 1 MiB.
        for _ in 0..3000 {
            if stream.write_all(chunk.as_bytes()).is_err() {
                return;
            }
        }
    });
    let s = setup("endless", "max_body_bytes = 1048576\nretries = 2", endless);
    s.assert_failed_alone(&s.ws.run(), "body larger than the limit of 1048576 bytes");
    assert_eq!(s.attempts(), 1);

    // Declared too large: refused before the body is read.
    let s = setup(
        "declared-large",
        "max_body_bytes = 1048576",
        Reply::html(vec![b' '; 2 << 20]),
    );
    s.assert_failed_alone(&s.ws.run(), "body larger than the limit");

    // The cap applies after decompression: 64 MiB of zeros in 64 KiB of gzip.
    let bomb = Reply::Full(
        200,
        vec![
            ("Content-Type".into(), "text/html".into()),
            ("Content-Encoding".into(), "gzip".into()),
        ],
        gzip(&vec![0; 64 << 20]),
    );
    let s = setup("gzip-bomb", "max_body_bytes = 1048576", bomb);
    s.assert_failed_alone(&s.ws.run(), "body larger than the limit of 1048576 bytes");
}

#[test]
fn compressed_bodies_are_accepted() {
    for encoding in ["gzip", "deflate"] {
        let page = fixture("ipa/anshin-seed.html");
        let body = match encoding {
            "gzip" => gzip(&page),
            _ => {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(&page).unwrap();
                e.finish().unwrap()
            }
        };
        let reply = Reply::Full(
            200,
            vec![
                ("Content-Type".into(), "text/html; charset=utf-8".into()),
                ("Content-Encoding".into(), encoding.into()),
            ],
            body,
        );
        let s = setup(&format!("compressed-{encoding}"), "", reply);
        assert_status(&s.ws.run(), 0);
        assert_eq!(s.ws.feed("all").entries.len(), SEED_ENTRIES + ALERTS);
        let accept = &s.bad.requests(PAGE)[0].headers["accept-encoding"];
        for e in ["gzip", "deflate", "br"] {
            assert!(accept.contains(e), "{accept}");
        }
    }
}

#[test]
fn redirects_are_followed_a_few_times_and_loops_fail() {
    let location = |to: &str| Reply::Full(301, vec![("Location".into(), to.into())], Vec::new());
    let s = setup("redirect", "retries = 2", location("/moved.html"));
    s.bad.route("/moved.html", location("/final.html"));
    s.bad
        .route("/final.html", Reply::html(fixture("ipa/anshin-seed.html")));
    assert_status(&s.ws.run(), 0);
    let all = s.ws.feed("all");
    assert_eq!(all.entries.len(), SEED_ENTRIES + ALERTS);
    // Relative links resolve against the page the body came from.
    assert!(all.entries.iter().any(|e| {
        e.links[0].href
            == s.bad
                .url("/security/anshin/attention/2018/mgdayori20181010.html")
    }),);

    let s = setup("redirect-loop", "retries = 2", location("/b.html"));
    s.bad.route("/b.html", location(PAGE));
    s.assert_failed_alone(&s.ws.run(), "redirect");
    let hops = s.attempts() + s.bad.requests("/b.html").len();
    assert!(
        hops <= 6,
        "{hops} requests: at most 5 redirects, and no retry"
    );
}

#[test]
fn charsets_from_the_header_and_iso_2022_jp_from_meta() {
    let seed = String::from_utf8(fixture("ipa/anshin-seed.html")).unwrap();
    assert!(seed.contains("<meta charset=\"utf-8\">"));
    // The header's charset wins over a <meta> that contradicts it.
    let sjis = encoding_rs::SHIFT_JIS.encode(&seed).0.into_owned();
    let s = setup(
        "header-charset",
        "",
        Reply::ok("text/html; charset=Shift_JIS", sjis),
    );
    assert_status(&s.ws.run(), 0);
    let jis_page = seed.replace(
        "<meta charset=\"utf-8\">",
        "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=ISO-2022-JP\">",
    );
    let jis = encoding_rs::ISO_2022_JP.encode(&jis_page).0.into_owned();
    assert!(jis.is_ascii(), "ISO-2022-JP is 7-bit");
    let t = setup("iso-2022-jp", "", Reply::ok("text/html", jis));
    assert_status(&t.ws.run(), 0);
    for ws in [&s.ws, &t.ws] {
        let atom = ws.read("feeds/all.atom");
        assert!(!atom.contains('\u{FFFD}'), "no replacement characters");
        assert!(atom.contains(
            "<title>「情報セキュリティ10大脅威 2023」簡易説明資料(スライド形式)組織編</title>"
        ));
        assert_eq!(ws.feed("all").entries.len(), SEED_ENTRIES + ALERTS);
    }
}

#[test]
fn http_proxy_and_no_proxy_from_the_environment_are_honoured() {
    let proxy = Server::start();
    let page = "http://advisories.invalid/security/list.html";
    proxy.route(page, Reply::html(fixture("ipa/anshin-seed.html")));
    let direct = Server::start();
    direct.route(PAGE, Reply::html(fixture("ipa/anshin-seed.html")));
    let ws = Workspace::new("proxy");
    ws.config(&config(
        &[
            html_source("through-proxy", page, NEWS_LIST),
            html_source("direct", &direct.url(PAGE), NEWS_LIST),
        ]
        .join("\n"),
    ));
    let proxy_url = proxy.url("");
    let out = ws
        .command(&[])
        .env("HTTP_PROXY", &proxy_url)
        .env("http_proxy", &proxy_url)
        .env("NO_PROXY", "127.0.0.1")
        .env("no_proxy", "127.0.0.1")
        .output()
        .unwrap();
    assert_status(&out, 0);
    assert_eq!(proxy.requests(page).len(), 1, "the proxy saw the request");
    assert_eq!(
        direct.requests(PAGE).len(),
        1,
        "NO_PROXY hosts are fetched directly"
    );
    assert!(proxy.requests(&direct.url(PAGE)).is_empty());
}
