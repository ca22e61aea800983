//! Receivers that fail, refuse, ask to wait, or hold a message while the run is killed.

use super::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

/// A route answering with the status `status` holds; 200 when it holds 200.
fn switchable(server: &Server, path: &str) -> Arc<AtomicU16> {
    let status = Arc::new(AtomicU16::new(200));
    let s = status.clone();
    server.route_fn(path, move |_| match s.load(Ordering::SeqCst) {
        429 => Reply::Full(
            429,
            vec![("Retry-After".into(), "600".into())],
            b"slow down".to_vec(),
        ),
        200 => Reply::ok("text/plain", "ok"),
        code => Reply::Full(code, vec![], b"no_service".to_vec()),
    });
    status
}

/// A workspace that has imported the listing, with one notification `hook` of `kind` posting
/// to `/hook`, whose answer the returned status switches.
fn imported(name: &str, kind: &str) -> (Server, Arc<AtomicU16>, Workspace) {
    let server = Server::start();
    let status = switchable(&server, "/hook");
    let ws = workspace(name, &server, &notify("hook", kind, &server, "/hook", ""));
    run_ok(&ws);
    (server, status, ws)
}

fn run_failing(ws: &Workspace) -> String {
    let o = ws.run();
    assert_status(&o, 1);
    stderr(&o)
}

#[test]
fn a_failed_delivery_is_kept_reported_and_sent_at_the_next_run() {
    let (server, status, ws) = imported("notify-failed", "webhook");
    status.store(500, Ordering::SeqCst);
    list(&server, &[NEW_SMS, NEW_NO_TOPIC]);
    let err = run_failing(&ws);
    assert!(
        err.contains("notify hook (webhook):") && err.contains("HTTP 500"),
        "{err}"
    );
    assert!(err.contains("kept, tried again from"), "{err}");
    assert!(
        !err.contains("/hook"),
        "the webhook's path is a secret: {err}"
    );
    assert_eq!(
        server.requests("/hook").len(),
        1,
        "a failing receiver is asked once a run"
    );
    let status_out = ws.status();
    assert_status(&status_out, 1);
    let table = String::from_utf8_lossy(&status_out.stdout).into_owned();
    let row = table.lines().find(|l| l.starts_with("hook")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[..5], ["hook", "webhook", "*", "2", "1"], "{table}");
    assert!(row.contains("HTTP 500"), "{table}");

    status.store(200, Ordering::SeqCst);
    let err = run_ok(&ws);
    assert!(err.is_empty(), "{err}");
    let bodies = posts(&server, "/hook");
    assert_eq!(bodies.len(), 3, "the failed one again, then the other");
    assert_eq!(bodies[0], bodies[1], "the same message");
    let titles: Vec<&str> = bodies[1..]
        .iter()
        .map(|b| b["entry"]["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&NEW_SMS.1) && titles.contains(&NEW_NO_TOPIC.1),
        "{titles:?}"
    );
    assert_status(&ws.status(), 0);
    run_ok(&ws);
    assert_eq!(server.requests("/hook").len(), 3, "nothing twice");
}

#[test]
fn failures_in_a_row_wait_longer_and_a_busy_receiver_is_left_until_its_retry_after() {
    let (server, status, ws) = imported("notify-backoff", "webhook");
    list(&server, &[NEW_SMS]);
    status.store(503, Ordering::SeqCst);
    run_failing(&ws);
    run_failing(&ws);
    assert_eq!(
        server.requests("/hook").len(),
        2,
        "the next run tries again at once"
    );
    // The second failure in a row waits five minutes: this run does not ask.
    let o = ws.run();
    assert_eq!(server.requests("/hook").len(), 2, "{}", stderr(&o));

    let (server, status, ws) = imported("notify-429", "webhook");
    status.store(429, Ordering::SeqCst);
    list(&server, &[NEW_SMS, NEW_NO_TOPIC]);
    let err = run_failing(&ws);
    assert!(
        err.contains("HTTP 429") && err.contains("slow down"),
        "{err}"
    );
    assert_eq!(server.requests("/hook").len(), 1);
    status.store(200, Ordering::SeqCst);
    let o = ws.run();
    assert_eq!(
        server.requests("/hook").len(),
        1,
        "Retry-After: 600 is honoured: {}",
        stderr(&o)
    );
}

#[test]
fn a_refused_message_is_dropped_after_three_attempts() {
    let (server, status, ws) = imported("notify-refused", "slack");
    status.store(404, Ordering::SeqCst);
    list(&server, &[NEW_SMS, NEW_NO_TOPIC]);
    for attempt in 1..=3 {
        let err = run_failing(&ws);
        assert!(
            err.contains("HTTP 404") && err.contains("no_service"),
            "{err}"
        );
        // A refusal concerns its message: the next one is tried too.
        assert_eq!(server.requests("/hook").len(), 2 * attempt);
        if attempt == 3 {
            assert!(err.contains("refused repeatedly: dropped"), "{err}");
        }
    }
    status.store(200, Ordering::SeqCst);
    run_ok(&ws);
    assert_eq!(server.requests("/hook").len(), 6, "dropped: never sent");
    assert_status(&ws.status(), 0);
}

#[test]
fn a_run_killed_while_the_receiver_holds_the_message_never_sends_it_twice() {
    let (server, _, ws) = imported("notify-killed", "webhook");
    // The receiver takes the message and holds its answer.
    server.route(
        "/hook",
        Reply::Raw(Arc::new(|_, _| std::thread::sleep(Duration::from_secs(20)))),
    );
    list(&server, &[NEW_SMS]);
    let mut child = ws.command(&[]).spawn().unwrap();
    wait_for_requests(&server, "/hook", 1);
    child.kill().unwrap();
    child.wait().unwrap();

    server.route("/hook", Reply::ok("text/plain", "ok"));
    let err = run_failing(&ws);
    assert!(
        err.contains(NEW_SMS.1) && err.contains("whether it arrived is unknown"),
        "{err}"
    );
    assert_eq!(server.requests("/hook").len(), 1, "not sent again");
    run_ok(&ws);
    assert_eq!(server.requests("/hook").len(), 1);
    // The entry itself was stored by the killed run, and is published.
    assert!(ws.read("feeds/sms.atom").contains(NEW_SMS.1));
}

#[test]
fn a_receiver_that_is_not_there_or_too_slow_is_a_failure_kept_for_later() {
    let server = Server::start();
    server.route(
        "/slow",
        Reply::Raw(Arc::new(|_, _| std::thread::sleep(Duration::from_secs(3)))),
    );
    let notifies = [
        notify("slow", "webhook", &server, "/slow", ""),
        "[[notify]]\nid = \"gone\"\nkind = \"slack\"\nurl = \"http://127.0.0.1:1/services/T0/B0/SECRET\"\n".to_owned(),
    ]
    .concat();
    let ws = workspace("notify-unreachable", &server, &notifies);
    let text = std::fs::read_to_string(ws.dir.join("kairan.toml")).unwrap();
    ws.config(&text.replace("timeout_secs = 5", "timeout_secs = 1"));
    run_ok(&ws);
    list(&server, &[NEW_SMS]);
    let err = run_failing(&ws);
    let line = |id: &str| {
        err.lines()
            .find(|l| l.contains(&format!("notify {id} ")))
            .unwrap_or_else(|| panic!("{err}"))
    };
    assert!(
        line("slow").contains("127.0.0.1") && line("slow").contains("no answer in time"),
        "{err}"
    );
    assert!(
        line("gone").contains("cannot connect") && line("gone").contains("kept"),
        "{err}"
    );
    assert!(!err.contains("SECRET"), "{err}");
    let status = String::from_utf8_lossy(&ws.status().stdout).into_owned();
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("gone") && l.contains("cannot connect")),
        "{status}"
    );
}

#[test]
fn news_goes_out_even_when_the_feeds_cannot_be_written() {
    let (server, _, ws) = imported("notify-unpublished", "webhook");
    // The feeds' folder is a file now: publishing fails after the entries are stored.
    std::fs::remove_dir_all(ws.out().join("feeds")).unwrap();
    std::fs::write(ws.out().join("feeds"), "not a folder").unwrap();
    list(&server, &[NEW_SMS]);
    let err = run_failing(&ws);
    assert!(
        err.contains("feeds"),
        "names what could not be written: {err}"
    );
    assert_eq!(posts(&server, "/hook").len(), 1, "sent all the same");

    std::fs::remove_file(ws.out().join("feeds")).unwrap();
    run_ok(&ws);
    assert_eq!(server.requests("/hook").len(), 1, "not twice");
    assert!(ws.read("feeds/sms.atom").contains(NEW_SMS.1));
}

#[test]
fn an_update_after_a_killed_send_is_sent_in_its_place() {
    let server = Server::start();
    server.route("/hook", Reply::ok("text/plain", "ok"));
    let hook = notify("hook", "webhook", &server, "/hook", "updates = true");
    let ws = workspace("notify-killed-update", &server, &hook);
    run_ok(&ws);
    server.route(
        "/hook",
        Reply::Raw(Arc::new(|_, _| std::thread::sleep(Duration::from_secs(20)))),
    );
    list(&server, &[NEW_SMS]);
    let mut child = ws.command(&[]).spawn().unwrap();
    wait_for_requests(&server, "/hook", 1);
    child.kill().unwrap();
    child.wait().unwrap();

    // The entry comes back revised before the next run: that news replaces the message whose
    // fate is unknown, rather than being swallowed by it.
    server.route("/hook", Reply::ok("text/plain", "ok"));
    list(&server, &[("2026年11月28日", NEW_SMS.1, NEW_SMS.2)]);
    run_ok(&ws);
    let bodies = posts(&server, "/hook");
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[1]["event"], "updated");
    assert_eq!(bodies[1]["entry"]["updated"], "2026-11-28T00:00:00+09:00");
}
