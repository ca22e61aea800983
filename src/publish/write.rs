//! Writing output files atomically, and only when their content changed: each new content is
//! first staged (written beside its file under a temporary name), all staged files are synced,
//! and only then are they renamed into place. A full disk or any other failure while
//! staging leaves every published file as it was, and no temporary file behind.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// New content for a file, written under a temporary name in the same directory; durable once
/// [`SyncPoint::sync`] has run.
/// Dropped without [`Staged::commit`], it is removed.
#[derive(Debug)]
pub struct Staged {
    tmp: PathBuf,
    path: PathBuf,
    committed: bool,
}

/// Stages `bytes` for `path`, unless `path` already holds exactly them.
pub fn stage(path: &Path, bytes: &[u8]) -> io::Result<Option<Staged>> {
    match fs::read(path) {
        Ok(current) if current == bytes => return Ok(None),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let staged = Staged {
        tmp: dir.join(format!(".{name}.{}.tmp", std::process::id())),
        path: path.to_owned(),
        committed: false,
    };
    let mut file = File::create(&staged.tmp)?;
    file.write_all(bytes)?;
    Ok(Some(staged))
}

/// Where staged files are made durable together, before any is renamed into place
/// ([`Staged::commit`]): one `syncfs(2)` of the output's file system rather than a sync of each
/// file, which cost a first run (65 new files) most of its time (BENCHMARKS.md section 8).
/// Opened before the first file is staged, so that a write-back error met while staging is
/// one that [`SyncPoint::sync`] reports (syncfs reports the errors since its descriptor
/// opened).
pub struct SyncPoint(File);

impl SyncPoint {
    /// On the output directory, whose file system every staged file is on.
    pub fn open(dir: &Path) -> io::Result<SyncPoint> {
        File::open(dir).map(SyncPoint)
    }

    pub fn sync(&self, staged: &[Staged]) -> io::Result<()> {
        if staged.is_empty() {
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        {
            // SAFETY: the descriptor is open for the call, owned by `self`.
            if unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&self.0)) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        #[cfg(not(target_os = "linux"))]
        for s in staged {
            File::open(&s.tmp)?.sync_data()?;
        }
        Ok(())
    }
}

impl Staged {
    /// The file it replaces.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the new content over the old, so a reader (or a crash) sees either the old file
    /// or the new, never half. Durable once its directory is synced ([`sync_dir`]).
    pub fn commit(mut self) -> io::Result<()> {
        fs::rename(&self.tmp, &self.path)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Makes the renames in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Removes the temporary files a killed run left in `dir`. Only a lock holder calls this, so
/// no other writer can own them.
pub fn remove_stale_temporaries(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(".tmp") && entry.file_type()?.is_file() {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, bytes: &[u8]) -> bool {
        stage(path, bytes)
            .unwrap()
            .map(|s| s.commit().unwrap())
            .is_some()
    }

    #[test]
    fn writes_once_and_leaves_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.atom");
        assert!(write(&path, b"one"));
        assert!(!write(&path, b"one"));
        assert!(write(&path, b"two"));
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn staged_and_dropped_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.atom");
        assert!(write(&path, b"one"));
        let staged = stage(&path, b"two").unwrap().unwrap();
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "staged beside it"
        );
        drop(staged);
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_temporaries_go_and_nothing_else_does() {
        let dir = tempfile::tempdir().unwrap();
        for name in [".all.atom.123.tmp", "all.atom", ".hidden"] {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        remove_stale_temporaries(dir.path()).unwrap();
        let mut left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, [".hidden", "all.atom"]);
    }
}
