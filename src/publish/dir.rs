//! The directory target: each changed file staged beside its place ([`super::write`]), all of
//! them synced together, then renamed into place, so that a failure while staging (a full
//! disk) leaves every published file as it was.

use super::PublishError;
use super::catalogue::Kind;
use super::target::{Freshness, Target};
use super::write::{self, Staged, SyncPoint};
use crate::store::{Store, StoreError};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub struct Dir {
    out: PathBuf,
    /// The machine and the directory made absolute, for the stamp: the same `--out dir` run
    /// from another directory, or on another machine, is another place.
    place: String,
    sync: SyncPoint,
    staged: Vec<Staged>,
    /// Directories made ready (created, a killed run's temporary files removed) this run.
    ready: Vec<PathBuf>,
    /// Directories whose entries changed since the last commit: synced by it.
    changed: Vec<PathBuf>,
}

fn fail(path: &Path) -> impl FnOnce(std::io::Error) -> PublishError {
    let path = path.to_owned();
    move |source| PublishError::File { path, source }
}

impl Dir {
    /// Creates `out` if need be. The sync point is opened before anything is staged, so that a
    /// write-back error met while staging is one that the commit reports.
    pub fn open(out: &Path) -> Result<Dir, PublishError> {
        std::fs::create_dir_all(out).map_err(fail(out))?;
        let place = std::path::absolute(out).unwrap_or_else(|_| out.to_owned());
        Ok(Dir {
            out: out.to_owned(),
            // On its machine: two machines that share a database each have a directory of their
            // own, and one's publish says nothing of the other's files.
            place: format!("{}:{}", crate::store::lock::hostname(), place.display()),
            sync: SyncPoint::open(out).map_err(fail(out))?,
            staged: Vec::new(),
            ready: Vec::new(),
            changed: Vec::new(),
        })
    }

    fn ready(&mut self, file: &Path) -> Result<(), PublishError> {
        let dir = file.parent().unwrap_or(&self.out).to_owned();
        if !self.ready.contains(&dir) {
            std::fs::create_dir_all(&dir).map_err(fail(&dir))?;
            write::remove_stale_temporaries(&dir).map_err(fail(&dir))?;
            self.ready.push(dir);
        }
        Ok(())
    }

    fn changed(&mut self, file: &Path) {
        let dir = file.parent().unwrap_or(&self.out).to_owned();
        if !self.changed.contains(&dir) {
            self.changed.push(dir);
        }
    }
}

impl Target for Dir {
    fn place(&self) -> &str {
        &self.place
    }

    fn has(&self, path: &str) -> bool {
        self.out.join(path).exists()
    }

    fn others(&self, _live: &HashSet<&str>) -> Vec<String> {
        Vec::new()
    }

    fn stage(
        &mut self,
        _kind: Kind,
        _freshness: Freshness,
        path: &str,
        bytes: &[u8],
    ) -> Result<bool, PublishError> {
        let file = self.out.join(path);
        self.ready(&file)?;
        match write::stage(&file, bytes).map_err(fail(&file))? {
            Some(s) => {
                self.staged.push(s);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn commit(&mut self) -> Result<(), PublishError> {
        let staged = std::mem::take(&mut self.staged);
        self.sync.sync(&staged).map_err(fail(&self.out))?;
        for s in staged {
            let path = s.path().to_owned();
            s.commit().map_err(fail(&path))?;
            self.changed(&path);
        }
        for dir in std::mem::take(&mut self.changed) {
            write::sync_dir(&dir).map_err(fail(&dir))?;
        }
        Ok(())
    }

    fn remove(&mut self, path: &str) -> Result<(), PublishError> {
        let file = self.out.join(path);
        match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(fail(&file)(e)),
            _ => {
                self.changed(&file);
                Ok(())
            }
        }
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, PublishError> {
        let file = self.out.join(path);
        match std::fs::read(&file) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(fail(&file)(e)),
        }
    }

    fn record(&mut self, _store: &mut Store) -> Result<(), StoreError> {
        // What a directory holds is read from it.
        Ok(())
    }
}
