//! The lock against two refreshes on one state, whatever its backend holds: one process at a
//! time writes a state, and a second one fails at once naming the holder, or waits.

use super::{Location, StoreError};
use std::path::{Path, PathBuf};

/// The lock against two refreshes on one state, held until dropped. Released by the system
/// when its holder exits, however it exits, so a killed run never blocks the next: for a state
/// file the kernel's `flock`, for a PostgreSQL state a session advisory lock.
pub struct Lock {
    _held: Box<dyn Send>,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{state} is in use by another kairan ({holder}); try again later, or use --wait")]
    Busy { state: String, holder: String },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Lock {
    /// Takes the lock of `state`; when another process holds it, waits for it if `wait`, else
    /// fails at once naming the holder.
    pub fn acquire(state: &Location, wait: bool) -> Result<Lock, LockError> {
        let held: Box<dyn Send> = match state {
            Location::File(path) => Box::new(lock_file(path, wait)?),
            Location::Postgres(url) => Box::new(super::postgres::lock(url, wait)?),
        };
        Ok(Lock { _held: held })
    }
}

/// An advisory lock (`flock`) on `<state>.lock`; the file names the holder, for the message.
fn lock_file(state: &Path, wait: bool) -> Result<std::fs::File, LockError> {
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
                state: state.display().to_string(),
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
        "{}, since {}",
        this_process(),
        chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    file.write_all(holder.as_bytes()).map_err(io)?;
    Ok(file)
}

/// This process as a lock's holder or a publish's author is named: `pid 1234 on host web-2`.
pub fn this_process() -> String {
    format!("pid {} on host {}", std::process::id(), hostname())
}

/// This process as the author of a publish made at `at`: `pid 1234 on host web-2 at …`.
pub fn publisher(at: chrono::DateTime<chrono::Utc>) -> String {
    let at = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    format!("{} at {at}", this_process())
}

/// This machine's name, as the kernel has it.
pub fn hostname() -> String {
    if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        return name.trim().to_owned();
    }
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for writes of its whole length, which is what is passed.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return "unknown".to_owned();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
