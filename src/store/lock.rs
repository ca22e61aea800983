//! The lock against two refreshes on one state, whatever its backend holds: one process at a
//! time writes a state, and a second one fails at once naming the holder, or waits.

use std::path::{Path, PathBuf};

/// The lock against two refreshes on one state file: an advisory lock (`flock`) on
/// `<state>.lock`, which the kernel releases when its holder exits, however it exits, so a
/// killed run never blocks the next. The file names the holder, for the message.
#[derive(Debug)]
pub struct Lock {
    _file: std::fs::File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{path} is in use by another kairan ({holder}); try again later, or use --wait")]
    Busy { path: PathBuf, holder: String },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Lock {
    /// Takes the lock of the state at `state`; when another process holds it, waits for it if
    /// `wait`, else fails at once naming the holder.
    pub fn acquire(state: &Path, wait: bool) -> Result<Lock, LockError> {
        let mut name = state.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) if wait => file.lock().map_err(io)?,
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                let holder = holder.trim();
                return Err(LockError::Busy {
                    path: state.to_owned(),
                    holder: if holder.is_empty() {
                        "holder unknown".to_owned()
                    } else {
                        holder.to_owned()
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        use std::io::{Seek, Write};
        let holder = format!(
            "pid {}, since {}",
            std::process::id(),
            chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(holder.as_bytes()).map_err(io)?;
        Ok(Lock { _file: file })
    }
}
