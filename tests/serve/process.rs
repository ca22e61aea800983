//! `kairan serve` over time: a failing refresh that keeps the last feeds served, nothing served
//! before the first refresh, signals that stop it, and the pages rendered by headless Chromium.

use super::{SEXTORTION, Served, seed_upstream};
use crate::common::*;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn a_failing_refresh_keeps_the_last_feeds_served() {
    let upstream = seed_upstream();
    let ws = Workspace::new("serve-failing");
    ws.shipped_config(&upstream);
    let served = Served::start(&ws);
    served.wait_for_refreshes(1);
    let before = served.get("/feeds/all.atom", &[]);
    assert_eq!(before.status, 200);

    // The listing breaks; SIGHUP asks for a refresh now.
    upstream.route(
        LISTING_PATH,
        Reply::html(fixture("ipa/anshin-relayout.html")),
    );
    upstream.route(ALERT_PATH, Reply::status(500));
    served.signal("HUP");
    served.wait_for_refreshes(2);
    let after = served.get("/feeds/all.atom", &[]);
    assert_eq!(after.status, 200);
    assert_eq!(after.body, before.body, "the last good feed, whole");
    assert_eq!(after.header("etag"), before.header("etag"));
    assert_eq!(
        after.header("last-modified"),
        before.header("last-modified")
    );
    let h: serde_json::Value = serde_json::from_slice(&served.get("/healthz", &[]).body).unwrap();
    assert_eq!(h["status"], "degraded");
    assert_eq!(h["sources"][0]["consecutive_failures"], 1);
    assert!(
        h["sources"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("matched nothing")
    );
    let metrics = served.get("/metrics", &[]).text();
    assert!(
        metrics.contains("kairan_fetch_errors_total{source=\"anshin\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kairan_fetch_errors_total{source=\"alert\"} 1"),
        "{metrics}"
    );
    let log = served.log.lock().unwrap().clone();
    assert!(
        log.contains("source anshin") && log.contains("matched nothing"),
        "{log}"
    );
}

#[test]
fn nothing_is_served_before_the_first_refresh_and_signals_stop_it() {
    let upstream = Server::start();
    let slow = fixture("ipa/anshin-seed.html");
    upstream.route_fn(LISTING_PATH, move |_| {
        std::thread::sleep(Duration::from_secs(2));
        Reply::html(slow.clone())
    });
    upstream.route(
        ALERT_PATH,
        Reply::ok("application/rdf+xml", fixture("ipa/alert-rss.rdf")),
    );
    let ws = Workspace::new("serve-start");
    ws.shipped_config(&upstream);
    let mut served = Served::start(&ws);
    wait_for_requests(&upstream, LISTING_PATH, 1);
    let health = served.get("/healthz", &[]);
    assert_eq!(health.status, 503, "no refresh has succeeded yet");
    let h: serde_json::Value = serde_json::from_slice(&health.body).unwrap();
    assert_eq!(h["status"], "unavailable");
    let early = served.get("/feeds/all.atom", &[]);
    assert_eq!(early.status, 503);
    assert_eq!(early.header("retry-after"), "10");
    served.wait_for_refreshes(1);
    assert_eq!(served.get("/healthz", &[]).status, 200);
    assert_eq!(served.get("/feeds/all.atom", &[]).status, 200);

    for signal in ["TERM", "INT"] {
        let started = Instant::now();
        served.signal(signal);
        let status = loop {
            if let Some(status) = served.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "SIGTERM did not stop serve"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "{status:?}");
        eprintln!("SIG{signal} stopped serve in {:?}", started.elapsed());
        // The next serve starts from what the store holds, at once.
        served = Served::start(&ws);
        assert_eq!(served.get("/feeds/all.atom", &[]).status, 200);
    }
}

#[test]
fn the_index_and_an_embed_render_in_a_browser() {
    let chromium = ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(chromium) = chromium else {
        unavailable("chromium", "browser test");
        return;
    };
    let upstream = seed_upstream();
    let ws = Workspace::new("serve-browser");
    ws.shipped_config(&upstream);
    let served = Served::start(&ws);
    served.wait_for_refreshes(1);
    let profile = tempfile::tempdir().unwrap();
    let render = |path: &str| -> String {
        let out = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--virtual-time-budget=2000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("http://{}{path}", served.addr))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let index = render("/");
    assert!(
        index.contains("<h1>IPA 情報セキュリティ (トピック別)</h1>"),
        "{index}"
    );
    assert!(
        index.contains("サポート詐欺・偽のセキュリティ警告"),
        "{index}"
    );
    assert!(index.contains(SEXTORTION), "the latest entries are listed");
    let embed = render("/embed/sextortion.html");
    assert!(embed.contains(SEXTORTION), "{embed}");
    assert_eq!(embed.matches("<li>").count(), 3, "{embed}");
}

#[test]
fn serve_sends_the_news_of_its_refreshes() {
    let upstream = seed_upstream();
    upstream.route("/hook", Reply::ok("text/plain", "ok"));
    let ws = Workspace::new("serve-notify");
    let path = ws.shipped_config(&upstream);
    let mut text = std::fs::read_to_string(path).unwrap();
    text.push_str(&format!(
        "\n[[notify]]\nid = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        upstream.url("/hook")
    ));
    ws.config(&text);
    let served = Served::start(&ws);
    served.wait_for_refreshes(1);
    assert!(
        upstream.requests("/hook").is_empty(),
        "the first refresh imports"
    );

    // IPA posts an advisory at the top of the listing.
    let seed = String::from_utf8(fixture("ipa/anshin-seed.html")).unwrap();
    let item = "<li class=\"news-list__item\" data-search=\"anshin\">\n  \
        <a href=\"/security/anshin/attention/2026/mgdayori20261127.html\">\n    \
        <ul><li class=\"news-list__date\">2026/11/27</li><li>注意喚起</li></ul>\n    \
        <p class=\"news-list__ttl\">偽のセキュリティ警告に再び注意</p>\n  </a>\n</li>\n";
    let at = seed.find("<li class=\"news-list__item\"").unwrap();
    let posted = format!("{}{item}{}", &seed[..at], &seed[at..]);
    upstream.route(LISTING_PATH, Reply::html(posted));
    served.signal("HUP");
    served.wait_for_refreshes(2);
    let hooks = upstream.requests("/hook");
    assert_eq!(hooks.len(), 1, "{}", served.log.lock().unwrap());
    let body: serde_json::Value = serde_json::from_slice(&hooks[0].body).unwrap();
    assert_eq!(body["entry"]["title"], "偽のセキュリティ警告に再び注意");
    let metrics = served.get("/metrics", &[]).text();
    assert!(
        metrics.contains("kairan_notifications_sent_total{notify=\"hook\"} 1")
            && metrics.contains("kairan_notifications_queued{notify=\"hook\"} 0")
            && metrics.contains("kairan_notification_failures_total{notify=\"hook\"} 0"),
        "{metrics}"
    );
}
