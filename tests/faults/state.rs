//! A state that is not one (garbage, zero bytes, a directory, another program's database, a
//! newer schema), and an output directory that is or holds the state.

use super::{listing, listing_workspace};
use crate::common::*;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Every command that reads the state, run against the workspace's: each is given the state
/// and the output as `run` is.
fn every_command(ws: &Workspace) -> Vec<(&'static str, Output)> {
    let config = ws.dir.join("kairan.toml");
    let state = ws.state();
    let plain = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kairan"));
        c.current_dir(&ws.dir)
            .env_remove("KAIRAN_LOG")
            .args(args)
            .arg("--config")
            .arg(&config)
            .arg("--state")
            .arg(&state);
        c
    };
    vec![
        ("run", ws.run()),
        ("status", plain(&["status"]).output().unwrap()),
        ("topics", plain(&["topics"]).output().unwrap()),
        ("explain", plain(&["explain", "n00001"]).output().unwrap()),
        ("serve", bounded(ws.serve_command())),
    ]
}

/// A command that should end by itself, killed if it has not within ten seconds.
fn bounded(mut command: Command) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("still running after ten seconds");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn broken_state(ws: &Workspace, how: &str) {
    let state = ws.state();
    let _ = std::fs::remove_file(&state);
    let _ = std::fs::remove_dir(&state);
    match how {
        "garbage" => std::fs::write(&state, "これはデータベースではない\n".repeat(300)).unwrap(),
        "zero bytes" => std::fs::write(&state, b"").unwrap(),
        "a directory" => std::fs::create_dir(&state).unwrap(),
        "another program's database" => {
            let db = rusqlite::Connection::open(&state).unwrap();
            db.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL);")
                .unwrap();
        }
        "a newer schema" => {
            let db = rusqlite::Connection::open(&state).unwrap();
            db.execute_batch("CREATE TABLE meta (name TEXT); PRAGMA user_version = 99;")
                .unwrap();
        }
        _ => unreachable!(),
    }
}

fn snapshot(state: &Path) -> Option<Vec<u8>> {
    std::fs::read(state).ok()
}

#[test]
fn a_state_that_is_not_one_is_refused_by_every_command_and_nothing_is_touched() {
    let server = Server::start();
    server.route("/list.html", Reply::html(listing(40)));
    let ws = listing_workspace("broken-state", &server, "/list.html");
    assert_status(&ws.run(), 0);
    let published = files_under(&ws.out());
    let cases = [
        ("garbage", "restore it from a backup"),
        ("zero bytes", "a truncated state, not a new one"),
        ("a directory", "is a directory, not a state file"),
        ("another program's database", "not a kairan state"),
        ("a newer schema", "written by a newer kairan"),
    ];
    for (how, says) in cases {
        broken_state(&ws, how);
        let before = snapshot(&ws.state());
        for (command, out) in every_command(&ws) {
            let err = stderr(&out);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{command} on {how}: exit status; stderr:\n{err}"
            );
            assert_eq!(
                err.trim_end().lines().count(),
                1,
                "{command} on {how}: one line: {err}"
            );
            assert!(
                err.contains(ws.state().to_str().unwrap()) && err.contains(says),
                "{command} on {how}: names the file and what to do: {err}"
            );
            assert!(!err.contains("panicked"), "{command} on {how}: {err}");
        }
        assert_eq!(
            snapshot(&ws.state()),
            before,
            "{how}: the state is left as it was"
        );
        assert_eq!(
            files_under(&ws.out()),
            published,
            "{how}: the output is untouched"
        );
    }
    // Only where no file exists is a new state made.
    std::fs::remove_file(ws.state()).unwrap();
    assert_status(&ws.run(), 0);
    assert_eq!(super::sound_entries(&ws.state()), 40);
}

#[test]
fn an_output_directory_that_is_or_holds_the_state_is_refused_before_anything_is_made() {
    let server = Server::start();
    server.route("/list.html", Reply::html(listing(5)));
    let ws = listing_workspace("places", &server, "/list.html");
    let data = ws.dir.join("data");
    std::fs::create_dir(&data).unwrap();
    std::os::unix::fs::symlink(&data, ws.dir.join("link")).unwrap();
    let config = ws.dir.join("kairan.toml");
    // `lnk/..` is where the link points, one up: `other`, not the workspace.
    std::fs::create_dir_all(ws.dir.join("other/deep")).unwrap();
    std::os::unix::fs::symlink(ws.dir.join("other/deep"), ws.dir.join("lnk")).unwrap();
    let cases: [(&str, &str, &str); 6] = [
        ("data/kairan.db", "data/kairan.db", "is the state file"),
        ("data", "data/kairan.db", "holds the state file"),
        ("data/./", "data/sub/../kairan.db", "holds the state file"),
        ("link", "data/kairan.db", "holds the state file"),
        ("new/out", "new/out/state/kairan.db", "holds the state file"),
        ("lnk/../pub", "other/pub/kairan.db", "holds the state file"),
    ];
    for (out, state, says) in cases {
        let o = kairan(
            &ws.dir,
            &[
                "run",
                "--config",
                config.to_str().unwrap(),
                "--out",
                out,
                "--state",
                state,
            ],
        );
        assert_status(&o, 2);
        let err = stderr(&o);
        assert!(
            err.contains(says) && err.contains("set them apart"),
            "{out} {state}: {err}"
        );
        assert_eq!(
            std::fs::read_dir(&data).unwrap().count(),
            0,
            "{out} {state}"
        );
        assert!(!ws.dir.join("new").exists(), "{out} {state}: nothing made");
        assert!(
            !ws.dir.join("other/pub").exists(),
            "{out} {state}: nothing made"
        );
        assert!(server.requests("/list.html").is_empty(), "nothing fetched");
    }
    // The same from the configuration file's own keys.
    let text = std::fs::read_to_string(&config).unwrap();
    ws.config(&text.replace(
        "[site]",
        "[output]\ndir = \"pub\"\n\n[state]\npath = \"pub/feeds/kairan.db\"\n\n[site]",
    ));
    let o = kairan(&ws.dir, &["run", "--config", config.to_str().unwrap()]);
    assert_status(&o, 2);
    assert!(
        stderr(&o).contains("holds the state file"),
        "{}",
        stderr(&o)
    );
    assert!(!ws.dir.join("pub").exists());
}

#[test]
fn a_state_abandoned_while_being_made_is_cleared_and_made_whole() {
    let server = Server::start();
    server.route("/list.html", Reply::html(listing(12)));
    let ws = listing_workspace("abandoned-state", &server, "/list.html");
    let dir = ws.state().parent().unwrap().to_owned();
    std::fs::create_dir_all(&dir).unwrap();
    // What a run killed while making its first state leaves: a half-made file under the name
    // of a process that is gone (pid_max on Linux is at most 2^22).
    let gone = dir.join("kairan.db.new-4194999");
    for suffix in ["", "-wal", "-shm"] {
        std::fs::write(format!("{}{suffix}", gone.display()), b"half").unwrap();
    }
    assert_status(&ws.run(), 0);
    assert_eq!(super::sound_entries(&ws.state()), 12);
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".new-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
