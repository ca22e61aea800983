//! `kairan serve` as a process on a loopback port, over fixtures served by a loopback upstream:
//! every route, header and status, JSON Feed validity, a failing refresh that keeps the last
//! feeds, signals, and the pages rendered by headless Chromium.

mod common;

use common::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SEXTORTION: &str = "性的な映像をばらまくと恐喝し、仮想通貨で金銭を要求する迷惑メールに注意";

struct Response {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

/// One request on its own connection, written by hand so that paths go out exactly as given.
fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut headers: HashMap<String, String> = HashMap::new();
    for line in lines {
        let (k, v) = line.split_once(':').unwrap();
        headers
            .entry(k.trim().to_ascii_lowercase())
            .and_modify(|old| *old = format!("{old}, {}", v.trim()))
            .or_insert_with(|| v.trim().to_owned());
    }
    Response {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// `kairan serve` on a port of its choosing; killed when dropped.
struct Served {
    child: Child,
    addr: String,
    log: Arc<Mutex<String>>,
}

impl Served {
    fn start(ws: &Workspace) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kairan"))
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(ws.dir.join("kairan.toml"))
            .arg("--state")
            .arg(ws.state())
            .arg("--out")
            .arg(ws.out())
            .current_dir(&ws.dir)
            .env_remove("KAIRAN_LOG")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("serving http://") {
                    let addr = line[at + "serving http://".len()..]
                        .split('/')
                        .next()
                        .unwrap()
                        .to_owned();
                    let _ = tx.send(addr);
                }
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("serve says where it listens");
        Served { child, addr, log }
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        request(&self.addr, "GET", path, headers)
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -s {name}");
    }

    /// Waits, for at most ten seconds, until `/metrics` says `refreshes` refreshes ran.
    fn wait_for_refreshes(&self, refreshes: u32) {
        for _ in 0..200 {
            let m = self.get("/metrics", &[]).text();
            let count = |result: &str| -> u32 {
                m.lines()
                    .find_map(|l| {
                        l.strip_prefix(&format!("kairan_refreshes_total{{result=\"{result}\"}} "))
                    })
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            if count("ok") + count("failed") >= refreshes {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "fewer than {refreshes} refreshes within ten seconds:\n{}",
            self.log.lock().unwrap()
        );
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn seed_upstream() -> Server {
    let server = Server::start();
    server.route(LISTING_PATH, Reply::html(fixture("ipa/anshin-seed.html")));
    server.route(
        ALERT_PATH,
        Reply::ok("application/rdf+xml", fixture("ipa/alert-rss.rdf")),
    );
    server
}

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
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is required under CI"
        );
        eprintln!("note: chromium not available: browser test skipped");
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
