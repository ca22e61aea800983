//! A new state, built aside under a temporary name until its first write is committed, then
//! put in place whole: a run killed while making it, or while importing into it, leaves no
//! file that a later run would have to tell from a truncated state.
//!
//! Nobody else reads a state that is not in place yet, and a killed run throws it away, so it
//! is written with its rollback journal in memory and nothing synced until it is placed: a
//! first import (the largest write a state ever has) is written once, to the file, instead of
//! to the write-ahead log and then copied into the file (BENCHMARKS.md section 15).

use super::{error, schema};
use crate::store::{Result, StoreError};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The new states this process is making: any other file named with its pid is an earlier
/// process's, killed while making one, whose pid this one has now (a container's first
/// process), and is never taken for a new state, however far it got.
static MAKING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn making() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    MAKING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A new state's temporary file and where it goes.
pub(super) struct Aside {
    tmp: PathBuf,
    path: PathBuf,
}

/// Makes a new state's schema aside, beside `path`.
pub(super) fn create(path: &Path, state: &str) -> Result<(Connection, Aside)> {
    // Distinct in a process too: two stores may be opened on one missing path.
    static MADE: AtomicUsize = AtomicUsize::new(0);
    let mut name = path.as_os_str().to_owned();
    let n = MADE.fetch_add(1, Ordering::Relaxed);
    name.push(format!(".new-{}.{n}", std::process::id()));
    let aside = Aside {
        tmp: PathBuf::from(name),
        path: path.to_owned(),
    };
    // Before the file exists, so that no `remove_abandoned` meanwhile takes it for a stale one.
    making().push(aside.tmp.clone());
    let made = Connection::open(&aside.tmp)
        .map_err(|e| StoreError::new(state, e))
        .and_then(|mut conn| match schema::migrate(&mut conn, true) {
            Ok(()) => Ok(conn),
            Err(e) => Err(error(&conn, state, e)),
        });
    match made {
        Ok(conn) => Ok((conn, aside)),
        Err(e) => {
            aside.discard();
            Err(e)
        }
    }
}

impl Aside {
    /// Closes `conn`, the state made aside, syncs it and links it into place; the temporary
    /// name is removed either way.
    pub(super) fn place(self, conn: Connection, state: &str) -> Result<PathBuf> {
        let placed = (|| -> Result<()> {
            // WAL set here, where nothing is synced, rather than once in place, where turning
            // a file with a rollback journal to WAL syncs a journal, the directory and the file.
            (conn.pragma_update(None, "journal_mode", "WAL"))
                .map_err(|e| error(&conn, state, e))?;
            conn.close().map_err(|(conn, e)| error(&conn, state, e))?;
            std::fs::File::open(&self.tmp)
                .and_then(|f| f.sync_all())
                .map_err(|e| StoreError::new(state, e))?;
            // A link, not a rename: it never replaces a state another process made meanwhile.
            std::fs::hard_link(&self.tmp, &self.path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    StoreError::new(
                        state,
                        "was made by another process while this run built a new state aside; \
                         nothing of this run is stored: run it again",
                    )
                } else {
                    StoreError::new(state, e)
                }
            })
        })();
        self.discard();
        placed?;
        // The new name made durable, and the temporary one gone for good.
        (std::fs::File::open(dir_of(&self.path)).and_then(|d| d.sync_all()))
            .map_err(|e| StoreError::new(state, e))?;
        Ok(self.path)
    }

    /// Removes the state made aside: it was never committed to, or is in place under its name.
    pub(super) fn discard(&self) {
        remove_new(&self.tmp);
        making().retain(|t| *t != self.tmp);
    }
}

/// The directory a state file is in (`.` for a bare file name).
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Removes a state being made under `tmp`, with any journal files.
fn remove_new(tmp: &Path) {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut file = tmp.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

/// Removes the new states that processes killed while making them left beside `path`
/// (`kairan.db.new-<pid>.<n>`, the pid no longer running, or this process's and not among
/// [`MAKING`]), and their journal files: also a second name of a state placed by a process
/// killed before it removed the first.
pub(super) fn remove_abandoned(path: &Path) {
    let Some(name) = path.file_name() else {
        return;
    };
    let prefix = format!("{}.new-", name.to_string_lossy());
    let dir = dir_of(path);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = file
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split(['.', '-']).next())
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        let base = ["-journal", "-wal", "-shm"]
            .iter()
            .find_map(|s| file.strip_suffix(s))
            .unwrap_or(&file);
        let base = dir.join(base);
        let gone = if u32::try_from(pid) == Ok(std::process::id()) {
            !making().contains(&base)
        } else {
            // SAFETY: signal 0 only asks whether the process exists.
            let refused = unsafe { libc::kill(pid, 0) } != 0;
            refused && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
        };
        if gone {
            remove_new(&base);
        }
    }
}
