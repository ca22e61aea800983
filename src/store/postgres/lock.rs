//! The single writer of a PostgreSQL state: a session advisory lock on a connection of its
//! own, which the server releases when the session ends, however the process ends (as the
//! kernel releases a state file's `flock`). The session's `application_name` names the holder,
//! for the message of a second kairan that finds the lock taken.

use super::connect::{connect, shown};
use super::{Fallible, failure};
use crate::store::lock::LockError;
use postgres::Client;

/// The writer's advisory lock key: the same in every kairan, so that two refreshes of one
/// database meet on it. (Advisory locks are per database: states in two databases of one
/// server do not.)
pub(super) const WRITER: i64 = i64::from_be_bytes(*b"kairan:w");

/// The longest `application_name` the server keeps (`NAMEDATALEN` - 1); it cuts the rest.
const NAME_LIMIT: usize = 63;

/// The lock, held for as long as its connection is open.
struct Held {
    /// Always there but while being dropped.
    client: Option<Client>,
}

impl Drop for Held {
    fn drop(&mut self) {
        // Released by a round trip before the session ends: the driver sends its end and
        // closes without waiting for the server, which releases a session's locks only once
        // it has read that end, after this process may have exited and the next run found the
        // lock still taken. (A process killed, or a connection lost, leaves it to the session's
        // end.) The driver's drop must not run on a runtime.
        let client = self.client.take();
        crate::runtime::blocking(move || {
            if let Some(mut client) = client {
                let _ = client.query_one("SELECT pg_advisory_unlock($1)", &[&WRITER]);
            }
        });
    }
}

/// Takes the writer's lock of the state at `url`; when another process holds it, waits for it
/// if `wait`, else fails at once naming the holder. Held until the returned guard is dropped;
/// the guard borrows nothing (`use<>`), so that it outlives the URL it was taken with.
pub fn lock(url: &str, wait: bool) -> Result<impl Send + use<>, LockError> {
    let state = shown(url);
    let name = holder_name(&crate::store::lock::hostname());
    let taken = crate::runtime::blocking(|| -> Fallible<Result<Client, String>> {
        let mut client = connect(url, &name)?;
        let row = client.query_one("SELECT pg_try_advisory_lock($1)", &[&WRITER])?;
        if row.try_get(0)? {
            return Ok(Ok(client));
        }
        if wait {
            client.query_one("SELECT pg_advisory_lock($1)", &[&WRITER])?;
            return Ok(Ok(client));
        }
        Ok(Err(holder(&mut client)?))
    })
    .map_err(|e| LockError::Store(failure(&state, e)))?;
    match taken {
        Ok(client) => Ok(Held {
            client: Some(client),
        }),
        Err(holder) => Err(LockError::Busy { state, holder }),
    }
}

/// Who holds the lock, as its session names itself, and since when the session is open
/// (`pid 1234 on host h, since ...`): the server keeps the time, so the name has the room.
fn holder(client: &mut Client) -> Fallible<String> {
    // A bigint key is kept as two halves: classid the high 32 bits, objid the low ones.
    let (high, low) = (WRITER >> 32, WRITER & 0xffff_ffff);
    let row = client.query_opt(
        "SELECT a.application_name,
             to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND l.classid::bigint = $1 AND l.objid::bigint = $2
         LIMIT 1",
        &[&high, &low],
    )?;
    let Some(row) = row else {
        return Ok("holder unknown".to_owned());
    };
    let name: Option<String> = row.try_get(0)?;
    let since: Option<String> = row.try_get(1)?;
    let name = name.unwrap_or_default();
    let name = name.strip_prefix("kairan ").unwrap_or(&name).trim();
    let name = if name.is_empty() {
        "holder unknown"
    } else {
        name
    };
    Ok(match since {
        Some(since) => format!("{name}, since {since}"),
        None => name.to_owned(),
    })
}

/// The session's name: `kairan pid 1234 on host myhost`, the host's name cut where the
/// server's limit needs.
pub(super) fn holder_name(host: &str) -> String {
    let mut name = format!("kairan pid {} on host {host}", std::process::id());
    if name.len() > NAME_LIMIT {
        let mut end = NAME_LIMIT;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    name
}
