//! Fetching from upstreams that misbehave, each a real server on 127.0.0.1: what is published,
//! what is reported, the exit status, and that the good source is published in the same run.
//! Then the lock against concurrent runs, and runs killed mid-way.

mod common;

use common::*;
use std::io::Write;
use std::net::TcpStream;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const PAGE: &str = "/listing.html";
const SEED_ENTRIES: usize = 61;
const ALERTS: usize = 8;

fn raw(f: impl Fn(&Request, &mut TcpStream) + Send + Sync + 'static) -> Reply {
    Reply::Raw(Arc::new(f))
}

/// A reply that sleeps before it says anything.
fn slow(delay: Duration, reply: Vec<u8>) -> Reply {
    raw(move |_, stream| {
        std::thread::sleep(delay);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            reply.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&reply);
    })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn alert_feed() -> Reply {
    Reply::ok("application/rdf+xml", fixture("ipa/alert-rss.rdf"))
}

/// A listing source `bad` on a server of its own that answers `reply`, and a good feed source
/// on another server, with the `[fetch]` settings given.
struct Setup {
    bad: Server,
    good: Server,
    ws: Workspace,
}

fn setup(name: &str, fetch: &str, reply: Reply) -> Setup {
    let bad = Server::start();
    bad.route(PAGE, reply);
    let good = Server::start();
    good.route(ALERT_PATH, alert_feed());
    let ws = Workspace::new(name);
    ws.config(&config(&format!(
        "[fetch]\n{fetch}\n\n{}\n{}",
        html_source("bad", &bad.url(PAGE), NEWS_LIST),
        feed_source("good", &good.url(ALERT_PATH))
    )));
    Setup { bad, good, ws }
}

impl Setup {
    /// The run failed for `bad` alone, for `reason`, and the good source was published.
    fn assert_failed_alone(&self, out: &Output, reason: &str) {
        assert_status(out, 1);
        let err = stderr(out);
        let head = format!("kairan: source bad ({}): ", self.bad.url(PAGE));
        assert!(err.contains(&head), "names the source and URL: {err}");
        assert!(err.contains(reason), "want {reason:?} in: {err}");
        assert!(!err.contains("source good"), "{err}");
        assert_eq!(self.good.requests(ALERT_PATH).len(), 1);
        assert_eq!(
            self.ws.feed("all").entries.len(),
            ALERTS,
            "the good source is published in the same run"
        );
    }

    fn attempts(&self) -> usize {
        self.bad.requests(PAGE).len()
    }
}

/// Every output file, with its bytes and modification time.
fn snapshot(out: &std::path::Path) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    let mut files = Vec::new();
    for dir in [out.to_owned(), out.join("feeds")] {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_file() {
                files.push((
                    path.display().to_string(),
                    std::fs::read(&path).unwrap(),
                    std::fs::metadata(&path).unwrap().modified().unwrap(),
                ));
            }
        }
    }
    files.sort();
    files
}

fn state(ws: &Workspace) -> rusqlite::Connection {
    rusqlite::Connection::open(ws.state()).unwrap()
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
fn one_request_at_a_time_per_host_hosts_in_parallel_and_a_user_agent_to_reach_us() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let most_on_a = Arc::new(AtomicUsize::new(0));
    let on_a = Arc::new(AtomicUsize::new(0));
    let counted = |server_count: Option<(Arc<AtomicUsize>, Arc<AtomicUsize>)>| {
        let (in_flight, most) = (in_flight.clone(), most.clone());
        move |_: &Request| {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            if let Some((on, most_on)) = &server_count {
                let n = on.fetch_add(1, Ordering::SeqCst) + 1;
                most_on.fetch_max(n, Ordering::SeqCst);
            }
            std::thread::sleep(Duration::from_millis(400));
            if let Some((on, _)) = &server_count {
                on.fetch_sub(1, Ordering::SeqCst);
            }
            in_flight.fetch_sub(1, Ordering::SeqCst);
            Reply::ok("application/rdf+xml", fixture("ipa/alert-rss.rdf"))
        }
    };
    let a = Server::start();
    a.route_fn("/a.rdf", counted(Some((on_a.clone(), most_on_a.clone()))));
    a.route_fn("/b.rdf", counted(Some((on_a.clone(), most_on_a.clone()))));
    let b = Server::start();
    b.route_fn("/c.rdf", counted(None));
    let ws = Workspace::new("polite");
    ws.config(&config(&format!(
        "[fetch]\ncontact = \"https://intranet.example.jp/feeds\"\n\n{}\n{}\n{}",
        feed_source("a", &a.url("/a.rdf")),
        feed_source("b", &a.url("/b.rdf")),
        feed_source("c", &b.url("/c.rdf")),
    )));
    assert_status(&ws.run(), 0);
    assert_eq!(
        most_on_a.load(Ordering::SeqCst),
        1,
        "one at a time per host"
    );
    assert_eq!(most.load(Ordering::SeqCst), 2, "hosts in parallel");
    let ua = &b.requests("/c.rdf")[0].headers["user-agent"];
    assert_eq!(
        ua,
        &format!(
            "kairan/{} (+https://intranet.example.jp/feeds)",
            env!("CARGO_PKG_VERSION")
        )
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
fn one_slow_one_failing_and_one_good_source_finish_within_the_timeouts() {
    let slow_server = Server::start();
    slow_server.route(
        PAGE,
        slow(Duration::from_secs(60), fixture("ipa/anshin-seed.html")),
    );
    let s = setup(
        "slow-failing-good",
        "timeout_secs = 1\nretries = 1",
        Reply::status(502),
    );
    let mut text = std::fs::read_to_string(s.ws.dir.join("kairan.toml")).unwrap();
    text = text.replacen(
        "[[topic]]",
        &format!(
            "{}\n[[topic]]",
            html_source("slow", &slow_server.url(PAGE), NEWS_LIST)
        ),
        1,
    );
    s.ws.config(&text);
    let started = Instant::now();
    let out = s.ws.run();
    let took = started.elapsed();
    s.assert_failed_alone(&out, "HTTP status 502");
    assert!(stderr(&out).contains("source slow"), "{}", stderr(&out));
    assert!(stderr(&out).contains("timed out after 1 s"));
    // Two attempts of one second each and a backoff, not the upstream's minute: a bound on
    // behaviour (the timeout works), generous for a loaded machine.
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[test]
fn status_shows_the_health_of_every_source() {
    let s = setup(
        "status",
        "retries = 0",
        Reply::html(fixture("ipa/anshin-seed.html")),
    );
    assert_status(&s.ws.run(), 0);
    let status = |ws: &Workspace| {
        kairan(
            &ws.dir,
            &[
                "status",
                "--config",
                "kairan.toml",
                "--state",
                ws.state().to_str().unwrap(),
            ],
        )
    };
    let ok = status(&s.ws);
    assert_status(&ok, 0);
    let table = String::from_utf8(ok.stdout).unwrap();
    let line = |table: &str, id: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no {id} in {table}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert!(table.starts_with("SOURCE"), "{table}");
    let bad = line(&table, "bad");
    assert_eq!(
        (bad[3].as_str(), bad[4].as_str(), bad[5].as_str()),
        ("0", "61", "-"),
        "{table}"
    );

    // A healthy listing that suddenly yields nothing is a failure, twice; the entries stay.
    s.bad
        .route(PAGE, Reply::html(fixture("ipa/anshin-relayout.html")));
    let out = s.ws.run();
    assert_status(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("matched nothing: the page layout may have changed"),
        "{err}"
    );
    s.bad.route(PAGE, Reply::status(500));
    assert_status(&s.ws.run(), 1);
    let failing = status(&s.ws);
    assert_status(&failing, 1);
    let table = String::from_utf8(failing.stdout).unwrap();
    let bad = line(&table, "bad");
    assert_eq!((bad[3].as_str(), bad[4].as_str()), ("2", "61"), "{table}");
    assert!(table.contains("HTTP status 500"), "{table}");
    assert_eq!(line(&table, "good")[3], "0");
    assert_eq!(s.ws.feed("all").entries.len(), SEED_ENTRIES + ALERTS);
}

#[test]
fn a_second_run_does_not_run_alongside_the_first() {
    let server = Server::start();
    server.route(
        PAGE,
        slow(Duration::from_secs(2), fixture("ipa/anshin-seed.html")),
    );
    let ws = Workspace::new("lock");
    ws.config(&config(&html_source(
        "anshin",
        &server.url(PAGE),
        NEWS_LIST,
    )));
    let mut first = ws.command(&[]).spawn().unwrap();
    wait_for_requests(&server, PAGE, 1);

    let second = ws.run();
    assert_status(&second, 1);
    let err = stderr(&second);
    assert!(err.contains("in use by another kairan"), "{err}");
    assert!(
        err.contains(&format!("pid {}", first.id())),
        "names the holder: {err}"
    );

    let waiting = ws.command(&["--wait"]).output().unwrap();
    assert!(first.wait().unwrap().success());
    assert_status(&waiting, 0);
    let at: Vec<Instant> = server.requests(PAGE).iter().map(|r| r.at).collect();
    assert_eq!(at.len(), 2, "the refused run fetched nothing");
    assert!(
        at[1] - at[0] >= Duration::from_secs(2),
        "--wait waited for the first run"
    );
}

#[test]
fn a_killed_run_leaves_the_previous_feeds_whole_and_the_state_consistent() {
    let server = Server::start();
    let listings = [
        fixture("ipa/anshin-seed.html"),
        fixture("ipa/anshin-update.html"),
    ];
    server.route(PAGE, Reply::html(listings[0].clone()));
    let ws = Workspace::new("killed");
    ws.config(&config(&html_source(
        "anshin",
        &server.url(PAGE),
        NEWS_LIST,
    )));
    assert_status(&ws.run(), 0);
    let before = snapshot(&ws.out());
    let integrity = |ws: &Workspace| {
        let db = state(ws);
        let check: String = db
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        db.query_row("SELECT count(*) FROM entries", [], |r| r.get::<_, i64>(0))
            .unwrap()
    };

    // Killed while it waits on the upstream: nothing changes, and the lock it held is gone.
    server.route(PAGE, slow(Duration::from_secs(30), listings[1].clone()));
    let mut child = ws.command(&[]).spawn().unwrap();
    wait_for_requests(&server, PAGE, 2);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(snapshot(&ws.out()), before);
    assert_eq!(integrity(&ws), 61);

    // Killed at other moments of runs that have something to write: each feed on disk is
    // always a whole one, old or new, and the state stays sound.
    for (i, delay) in [0u64, 5, 10, 20, 40, 80, 160].into_iter().enumerate() {
        server.route(PAGE, Reply::html(listings[i % 2].clone()));
        let mut child = ws.command(&[]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
        for feed in std::fs::read_dir(ws.out().join("feeds")).unwrap() {
            let path = feed.unwrap().path();
            if path.extension().is_some_and(|e| e == "atom") {
                let bytes = std::fs::read(&path).unwrap();
                feed_rs::parser::parse(&bytes[..])
                    .unwrap_or_else(|e| panic!("{} is not whole: {e}", path.display()));
            }
        }
        assert!(integrity(&ws) >= 61);
    }

    server.route(PAGE, Reply::html(listings[1].clone()));
    assert_status(&ws.run(), 0);
    assert_eq!(integrity(&ws), 62, "the new row, and none lost");
    for dir in [ws.out(), ws.out().join("feeds")] {
        for e in std::fs::read_dir(dir).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            assert!(!name.ends_with(".tmp"), "{name} left behind");
        }
    }
    validate_independently(&ws.out());
}
