//! `kairan run` and `kairan serve` killed (SIGKILL) at random moments of refreshes that have
//! thousands of rows to store and files to write, each kill followed by a run to completion.
//! Nothing may be lost: the state stays sound, every published file whole, no temporary file
//! outlives the next run, and the entries stored and published never decrease.
//!
//! About a minute each on two cores, so in the `--ignored` group, which `.ci/run` runs.
//! `KAIRAN_KILL_SEED` repeats a run's kill times.

use super::{listing, listing_workspace, sound_entries, temporaries};
use crate::common::*;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const KILLS: usize = 30;

/// Where the kills fell, as what they left shows it: printed, so that a run of the torture
/// shows it reached into the work and not only before or after it.
#[derive(Debug, Default)]
struct Moments {
    /// Nothing stored, no temporary file: before the store commit.
    nothing: usize,
    /// Temporary files left: while something was being written.
    writing: usize,
    /// The state had grown: after the store commit.
    committed: usize,
}

/// Rows in the listing at round `i`: each round adds new ones, so each run has work to do.
fn rows(i: usize) -> usize {
    2000 + 40 * i
}

fn rng() -> fastrand::Rng {
    let seed = std::env::var("KAIRAN_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("kill seed {seed} (set KAIRAN_KILL_SEED={seed} to repeat)");
    fastrand::Rng::with_seed(seed)
}

/// Checks that every published file is whole (each feed parses, each page ends), and returns
/// the number of entries in the JSON feeds.
fn whole_output(out: &Path) -> usize {
    let mut entries = 0;
    for (name, bytes) in files_under(out) {
        if name.ends_with(".atom") {
            feed_rs::parser::parse(&bytes[..])
                .unwrap_or_else(|e| panic!("{name} is not whole: {e}"));
        } else if name.ends_with(".json") {
            let feed: serde_json::Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{name} is not whole: {e}"));
            entries += feed["items"].as_array().map_or(0, Vec::len);
        } else if name.ends_with(".html") {
            assert!(bytes.ends_with(b"</html>\n"), "{name} is not whole");
        } else if name.ends_with(".opml") {
            assert!(bytes.ends_with(b"</opml>\n"), "{name} is not whole");
        }
    }
    entries
}

/// Kills `child` after a random part of `span`.
fn kill_within(mut child: Child, span: Duration, rng: &mut fastrand::Rng) {
    std::thread::sleep(span.mul_f64(rng.f64()));
    let _ = child.kill();
    child.wait().unwrap();
}

/// After a kill, then after a run to completion: nothing lost, nothing left over. Returns the
/// counts the next round must not go below, and how long the completing run took (the next
/// round's is about as long: the same rows, and as many new).
fn checked_round(
    ws: &Workspace,
    i: usize,
    last: (i64, usize),
    after: &mut Moments,
) -> ((i64, usize), Duration) {
    let stored = sound_entries(&ws.state());
    let published = whole_output(&ws.out());
    assert!(
        stored >= last.0 && published >= last.1,
        "round {i}: after the kill {stored} stored and {published} published, before {last:?}"
    );
    let temporaries = temporaries(&ws.dir).len();
    match (stored > last.0, temporaries > 0) {
        (false, false) => after.nothing += 1,
        (false, true) => after.writing += 1,
        (true, _) => after.committed += 1,
    }
    let started = Instant::now();
    assert_status(&ws.run(), 0);
    let took = started.elapsed();
    let stored = sound_entries(&ws.state());
    assert_eq!(stored, rows(i) as i64, "round {i}: every row stored");
    let published = whole_output(&ws.out());
    assert!(published >= last.1, "round {i}");
    let left = super::temporaries(&ws.dir);
    assert!(left.is_empty(), "round {i}: left behind: {left:?}");
    ((stored, published), took)
}

#[test]
#[ignore = "kill torture, about a minute: .ci/run runs the ignored group"]
fn runs_killed_at_random_moments_lose_nothing() {
    let mut rng = rng();
    let server = Server::start();
    server.route("/list.html", Reply::html(listing(rows(0))));
    let ws = listing_workspace("kill-run", &server, "/list.html");
    let started = Instant::now();
    assert_status(&ws.run(), 0);
    // A little past a whole run, so that some kills fall after it.
    let mut span = started.elapsed().mul_f64(1.2);
    let mut last = (sound_entries(&ws.state()), whole_output(&ws.out()));
    let mut moments = Moments::default();
    for i in 1..=KILLS {
        server.route("/list.html", Reply::html(listing(rows(i))));
        let child = ws
            .command(&[])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        kill_within(child, span, &mut rng);
        let took;
        (last, took) = checked_round(&ws, i, last, &mut moments);
        span = took.mul_f64(1.2);
    }
    eprintln!("kills fell: {moments:?}");
    validate_independently(&ws.out());
}

#[test]
#[ignore = "kill torture, about a minute: .ci/run runs the ignored group"]
fn serve_killed_during_refreshes_loses_nothing() {
    let mut rng = rng();
    let server = Server::start();
    server.route("/list.html", Reply::html(listing(rows(0))));
    let ws = listing_workspace("kill-serve", &server, "/list.html");
    let serve = || {
        ws.serve_command()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let started = Instant::now();
    assert_status(&ws.run(), 0);
    // serve first renders what the state holds, then refreshes: about twice a run's work.
    let mut span = started.elapsed().mul_f64(2.0);
    let mut last = (sound_entries(&ws.state()), whole_output(&ws.out()));
    let mut moments = Moments::default();
    for i in 1..=KILLS {
        server.route("/list.html", Reply::html(listing(rows(i))));
        // serve refreshes as it starts: the kill falls before, during or after that refresh.
        kill_within(serve(), span, &mut rng);
        let took;
        (last, took) = checked_round(&ws, i, last, &mut moments);
        span = took.mul_f64(2.0);
    }
    eprintln!("kills fell: {moments:?}");
}
