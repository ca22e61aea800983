//! The state in PostgreSQL: a run as on a file, the same bytes published, one refresh at a
//! time across processes, the database lost before and during a run, and `state copy` between
//! the backends with every id kept.

use super::*;
use crate::common::pg::Postgres;
use std::time::Duration;

/// The permanent ids of a SQLite state's entries, sorted.
fn file_ids(path: &std::path::Path) -> Vec<String> {
    let db = rusqlite::Connection::open(path).unwrap();
    let mut s = db
        .prepare("SELECT key || ' ' || id FROM entries ORDER BY key")
        .unwrap();
    s.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn database_ids(pg: &Postgres, db: &str) -> Vec<String> {
    let rows = pg.query(
        db,
        "SELECT key || ' ' || id FROM entries ORDER BY key COLLATE \"C\"",
    );
    rows.lines().map(str::to_owned).collect()
}

#[test]
fn a_postgres_state_publishes_what_a_state_file_does_byte_for_byte() {
    let Some(pg) = Postgres::start() else { return };
    let upstream = dated_upstream();
    let on_file = Workspace::new("pg-same-file");
    let mut on_db = Workspace::new("pg-same-db");
    on_db.state_url = Some(pg.database("kairan"));
    for ws in [&on_file, &on_db] {
        ws.config(&dated_config(&upstream.url(PAGE)));
        let o = ws.run();
        assert_status(&o, 0);
    }
    let (a, b) = (files_under(&on_file.out()), files_under(&on_db.out()));
    assert!(
        a.keys().any(|k| k.starts_with("feeds/archive/")),
        "{:?}",
        a.keys()
    );
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, bytes) in &a {
        assert!(&b[path] == bytes, "{path} differs between the backends");
    }
    validate_independently(&on_db.out());
    assert_eq!(
        pg.query("kairan", "SELECT count(*) FROM entries"),
        dated_rows().len().to_string()
    );
    // A second run finds everything as it left it, as on a file.
    let again = on_db.command(&["-v"]).output().unwrap();
    assert_status(&again, 0);
    assert!(
        stderr(&again).contains("0 new, 0 updated"),
        "{}",
        stderr(&again)
    );
    let status = on_db.status();
    assert_status(&status, 0);
    assert!(String::from_utf8_lossy(&status.stdout).contains("anshin"));
    // The database from the environment, as a unit's EnvironmentFile gives it, over the file.
    let topics = on_db
        .kairan()
        .args(["topics", "--config", "kairan.toml"])
        .env("KAIRAN_STATE_URL", on_db.state_url.as_deref().unwrap())
        .output()
        .unwrap();
    assert_status(&topics, 0);
    let listed = String::from_utf8_lossy(&topics.stdout);
    assert!(listed.contains("sms") && listed.contains(" 3 "), "{listed}");
    assert!(
        !on_db.dir.join("kairan.db").exists(),
        "no state file was made"
    );
}

#[test]
fn one_refresh_at_a_time_on_a_database_and_wait_waits() {
    let Some(pg) = Postgres::start() else { return };
    let upstream = Server::start();
    upstream.route(PAGE, slow(Duration::from_secs(2), listing(&dated_rows())));
    let mut ws = Workspace::new("pg-lock");
    ws.state_url = Some(pg.database("kairan"));
    ws.config(&dated_config(&upstream.url(PAGE)));
    let mut first = ws.command(&[]).spawn().unwrap();
    wait_for_requests(&upstream, PAGE, 1);
    let second = ws.run();
    assert_status(&second, 1);
    let err = stderr(&second);
    assert!(err.contains("in use by another kairan"), "{err}");
    assert!(
        err.contains(&format!("pid {} on host", first.id())),
        "names the holder: {err}"
    );
    assert!(
        err.contains(&format!("127.0.0.1:{}/kairan", pg.port)),
        "names the database: {err}"
    );
    let waiting = ws.command(&["--wait"]).output().unwrap();
    assert!(first.wait().unwrap().success());
    assert_status(&waiting, 0);
    assert_eq!(
        upstream.requests(PAGE).len(),
        2,
        "the refused run fetched nothing"
    );
    // A holder that dies releases the lock with its session.
    let mut killed = ws.command(&[]).spawn().unwrap();
    wait_for_requests(&upstream, PAGE, 3);
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert_status(&ws.run(), 0);
}

#[test]
fn a_database_that_cannot_be_reached_is_named_without_its_password() {
    let upstream = dated_upstream();
    let mut ws = Workspace::new("pg-unreachable");
    let port = crate::common::pg::free_port();
    ws.state_url = Some(format!("postgres://kairan:s3cret@127.0.0.1:{port}/kairan"));
    ws.config(&dated_config(&upstream.url(PAGE)));
    for o in [ws.run(), ws.status()] {
        assert_status(&o, 1);
        assert_no_panic(&o);
        let err = stderr(&o);
        assert!(err.contains(&format!("127.0.0.1:{port}/kairan")), "{err}");
        assert!(!err.contains("s3cret"), "the password is shown: {err}");
    }
    assert!(!ws.out().join("feeds").exists(), "nothing is published");
}

#[test]
fn the_database_lost_mid_run_fails_the_run_and_the_last_feeds_stay() {
    let Some(pg) = Postgres::start() else { return };
    let upstream = dated_upstream();
    let mut ws = Workspace::new("pg-lost");
    ws.state_url = Some(pg.database("kairan"));
    ws.config(&dated_config(&upstream.url(PAGE)));
    assert_status(&ws.run(), 0);
    let before = files_under(&ws.out());

    let rows = with_a_new_row();
    upstream.route(PAGE, slow(Duration::from_secs(2), listing(&rows)));
    let run = ws
        .command(&[])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_requests(&upstream, PAGE, 2);
    pg.stop();
    let o = run.wait_with_output().unwrap();
    assert_status(&o, 1);
    assert_no_panic(&o);
    assert!(
        stderr(&o).contains(&format!("127.0.0.1:{}/kairan", pg.port)),
        "names the database: {}",
        stderr(&o)
    );
    assert_eq!(
        files_under(&ws.out()),
        before,
        "the last feeds stay as they were"
    );

    // Back again: the next run stores and publishes what the lost one could not.
    pg.restart();
    upstream.route(PAGE, Reply::html(listing(&rows)));
    assert_status(&ws.run(), 0);
    assert!(ws.read("feeds/sms.atom").contains("SMSの新しい手口"));
}

#[test]
fn state_copy_moves_a_state_between_backends_with_every_id_kept() {
    let Some(pg) = Postgres::start() else { return };
    let upstream = dated_upstream();
    let ws = Workspace::new("pg-copy");
    ws.config(&dated_config(&upstream.url(PAGE)));
    assert_status(&ws.run(), 0);
    let published = files_under(&ws.out());
    let ids = file_ids(&ws.state());

    let url = pg.database("kairan");
    let state = ws.state().display().to_string();
    let to_db = kairan(&ws.dir, &["state", "copy", &state, &url]);
    assert_status(&to_db, 0);
    let said = String::from_utf8_lossy(&to_db.stdout);
    assert!(said.contains(&format!("{} entries", ids.len())), "{said}");
    assert_eq!(database_ids(&pg, "kairan"), ids);

    // Into a state that holds entries: refused, nothing touched.
    let again = kairan(&ws.dir, &["state", "copy", &state, &url]);
    assert_status(&again, 1);
    assert!(
        stderr(&again).contains("already holds entries"),
        "{}",
        stderr(&again)
    );

    // Runs go on from the database with nothing new and the same feeds.
    let mut on_db = Workspace::new("pg-copy-db");
    on_db.state_url = Some(url.clone());
    on_db.config(&dated_config(&upstream.url(PAGE)));
    assert_status(&on_db.run(), 0);
    assert_eq!(files_under(&on_db.out()), published);
    assert_eq!(database_ids(&pg, "kairan"), ids, "no entry was made anew");

    // And back to a file.
    let back = ws.dir.join("back.db").display().to_string();
    assert_status(&kairan(&ws.dir, &["state", "copy", &url, &back]), 0);
    assert_eq!(file_ids(std::path::Path::new(&back)), ids);
}
