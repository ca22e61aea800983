//! Runs as a whole: one request at a time per host and hosts in parallel, a slow, a failing and
//! a good source in one run, what `status` shows, the lock against a second run, runs killed
//! mid-way.

use super::{ALERTS, PAGE, SEED_ENTRIES, setup, slow, snapshot, state};
use crate::common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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
    let ok = s.ws.status();
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
    let failing = s.ws.status();
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
