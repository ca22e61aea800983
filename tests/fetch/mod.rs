//! Fetching from upstreams that misbehave, each a real server on 127.0.0.1: what is published,
//! what is reported, the exit status, and that the good source is published in the same run.
//! Then the lock against concurrent runs, and runs killed mid-way.
//!
//! `http` holds what one upstream answers and how: validators, statuses, timeouts, sizes,
//! encodings, redirects, charsets. `runs` holds runs as a whole: requests spread over hosts,
//! sources failing side by side, `status`, the lock and killed runs. Their helpers are here.

mod http;
mod runs;
mod tls;

use crate::common::*;
use std::io::Write;
use std::net::TcpStream;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

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
