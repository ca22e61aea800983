//! The output, the state and a run's temporary rows on a full file system (a small tmpfs
//! mounted by the test), on a read-only one, and an output path whose parent is a file.

use super::{listing, listing_workspace, sound_entries, temporaries};
use crate::common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of `size` mounted at `at` for the life of the value. Mounting needs root (CI runs
/// as root); elsewhere the caller skips, saying so, except under CI, where it fails.
struct Tmpfs {
    at: PathBuf,
}

impl Tmpfs {
    fn mount(at: &Path, options: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(at)
            .output()
            .is_ok_and(|o| o.status.success());
        if !mounted {
            unavailable("mounting a tmpfs (as root)", "full-disk test");
            return None;
        }
        Some(Tmpfs { at: at.to_owned() })
    }

    /// Fills what space is left with one file, and returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.at.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 4096];
        // Bounded: the file system is a few MiB at most.
        for _ in 0..100_000 {
            if file.write_all(&chunk).is_err() {
                return path;
            }
        }
        panic!("{} never filled", self.at.display());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

#[test]
fn a_full_disk_under_the_output_keeps_the_last_output_and_the_next_run_publishes() {
    let server = Server::start();
    server.route("/list.html", Reply::html(listing(30)));
    let ws = listing_workspace("full-output", &server, "/list.html");
    let Some(disk) = Tmpfs::mount(&ws.out(), "size=1m") else {
        return;
    };
    assert_status(&ws.run(), 0);
    let before = files_under(&ws.out());
    let filler = disk.fill();

    server.route("/list.html", Reply::html(listing(31)));
    let out = ws.run();
    assert_status(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("No space left on device") && err.contains(ws.out().to_str().unwrap()),
        "says the disk is full and where: {err}"
    );
    let mut after = files_under(&ws.out());
    after.remove("filler");
    assert_eq!(
        after, before,
        "every published file as it was, and no temporary file"
    );

    std::fs::remove_file(filler).unwrap();
    assert_status(&ws.run(), 0);
    assert!(
        ws.read("feeds/all.atom").contains("第30号"),
        "the entry stored while the disk was full is published now"
    );
    assert!(temporaries(&ws.out()).is_empty());
    validate_independently(&ws.out());
}

#[test]
fn a_full_disk_under_the_state_keeps_the_previous_state() {
    let server = Server::start();
    server.route("/list.html", Reply::html(listing(30)));
    let ws = listing_workspace("full-state", &server, "/list.html");
    let dir = ws.state().parent().unwrap().to_owned();
    let Some(disk) = Tmpfs::mount(&dir, "size=1m") else {
        return;
    };
    assert_status(&ws.run(), 0);
    let published = files_under(&ws.out());
    let filler = disk.fill();

    server.route("/list.html", Reply::html(listing(400)));
    let out = ws.run();
    assert_status(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains(ws.state().to_str().unwrap())
            && err.to_lowercase().contains("no space left on device"),
        "names the state and the cause: {err}"
    );
    assert_eq!(files_under(&ws.out()), published, "the output untouched");

    // Opening a WAL state needs room for its `-shm`, so it is checked once there is room again.
    std::fs::remove_file(filler).unwrap();
    assert_eq!(sound_entries(&ws.state()), 30, "the previous state, whole");
    assert_status(&ws.run(), 0);
    assert_eq!(sound_entries(&ws.state()), 400);
    assert!(temporaries(&dir).is_empty(), "{:?}", temporaries(&dir));
}

/// A run of many rows holds them in a temporary file (under `TMPDIR`): when that file system
/// is full, the run stores and publishes nothing and says where; with room, the next run
/// stores them all.
#[test]
fn a_full_disk_under_the_temporary_rows_keeps_the_state_and_the_output() {
    let server = Server::start();
    server.route("/list.html", Reply::html(listing(30)));
    let mut ws = listing_workspace("full-temporary", &server, "/list.html");
    let tmp = ws.dir.join("tmp");
    let Some(disk) = Tmpfs::mount(&tmp, "size=16m") else {
        return;
    };
    ws.env.push(("TMPDIR".into(), tmp.display().to_string()));
    assert_status(&ws.run(), 0);
    let published = files_under(&ws.out());
    let filler = disk.fill();

    // Some 3 MB of rows: beyond what the spill holds in memory before it writes its file.
    server.route("/list.html", Reply::html(listing(12_000)));
    let out = ws.run();
    assert_status(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("this run's rows, held in a temporary file")
            && err.contains("No space left on device"),
        "says which file and why: {err}"
    );
    assert_eq!(files_under(&ws.out()), published, "the output untouched");
    assert_eq!(sound_entries(&ws.state()), 30, "nothing stored");

    std::fs::remove_file(filler).unwrap();
    assert_status(&ws.run(), 0);
    assert_eq!(sound_entries(&ws.state()), 12_000);
}

#[test]
fn places_that_cannot_be_written_are_named() {
    let server = Server::start();
    server.route("/list.html", Reply::html(listing(3)));
    let ws = listing_workspace("unwritable", &server, "/list.html");
    let config = ws.dir.join("kairan.toml");
    std::fs::write(ws.dir.join("a-file"), "not a directory").unwrap();
    let under_a_file = ws.dir.join("a-file/public");
    let o = kairan(
        &ws.dir,
        &[
            "run",
            "--config",
            config.to_str().unwrap(),
            "--out",
            under_a_file.to_str().unwrap(),
        ],
    );
    assert_status(&o, 1);
    assert!(
        stderr(&o).contains(under_a_file.to_str().unwrap()),
        "{}",
        stderr(&o)
    );

    let readonly = ws.dir.join("readonly");
    let Some(_mount) = Tmpfs::mount(&readonly, "size=64k,ro") else {
        return;
    };
    for (flag, path) in [
        ("--out", readonly.join("public")),
        ("--state", readonly.join("kairan.db")),
    ] {
        let o = kairan(
            &ws.dir,
            &[
                "run",
                "--config",
                config.to_str().unwrap(),
                flag,
                path.to_str().unwrap(),
            ],
        );
        assert_status(&o, 1);
        let err = stderr(&o);
        assert!(
            err.contains("Read-only file system") && err.contains(readonly.to_str().unwrap()),
            "{flag}: {err}"
        );
    }
}
