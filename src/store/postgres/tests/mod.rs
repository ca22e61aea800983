//! The PostgreSQL backend against a real server, where `KAIRAN_TEST_POSTGRES` holds its URL (a
//! role that may create databases): each test makes a database of its own and drops it after.
//! Without the variable these tests pass with a note, except under CI, which must not skip
//! them. The URL's own handling needs no server.

mod offline;
mod scenario;

use super::connect::{Parts, connect};
use super::*;
use crate::model::Entry;
use crate::store::copy::TABLES;
use crate::store::{Location, LockError, Refresh, Store, listed};
use scenario::{assert_same, at, classify, entry, scenario};

/// The server's URL, or `None` (with a note) where the tests are not to run against one.
fn server() -> Option<String> {
    match std::env::var("KAIRAN_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "KAIRAN_TEST_POSTGRES is not set: CI must run the PostgreSQL tests"
            );
            eprintln!("note: KAIRAN_TEST_POSTGRES is not set: PostgreSQL test skipped");
            None
        }
    }
}

/// A database of one test's own on the server, dropped with it.
struct Scratch {
    admin: Option<postgres::Client>,
    name: String,
    /// The database's URL.
    url: String,
}

impl Scratch {
    fn new(server: &str, test: &str) -> Scratch {
        let name = format!("pgtest_{test}_{}", std::process::id());
        let mut admin = connect(server, "kairan tests").unwrap();
        // One statement each: neither may run in a transaction, as a batch does.
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            admin.batch_execute(&sql).unwrap();
        }
        let parts = Parts::of(server).unwrap();
        let credentials = parts
            .credentials
            .map(|c| format!("{c}@"))
            .unwrap_or_default();
        let query = parts.rest.split_once('?').map_or("", |(_, q)| q);
        let query = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        let url = format!("{}{credentials}{}/{name}{query}", parts.scheme, parts.hosts);
        Scratch {
            admin: Some(admin),
            name,
            url,
        }
    }

    fn location(&self) -> Location {
        Location::Postgres(self.url.clone())
    }

    fn store(&self) -> Store {
        Store::open(&self.location()).unwrap()
    }

    /// Runs `sql` in the scratch database, as another client would.
    fn execute(&self, sql: &str) {
        connect(&self.url, "kairan tests")
            .unwrap()
            .batch_execute(sql)
            .unwrap();
    }

    /// Ends every session of kairan's on the database, as a server restart would.
    fn terminate_sessions(&mut self) {
        let admin = self.admin.as_mut().unwrap();
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = $1 AND application_name = 'kairan'",
                &[&self.name],
            )
            .unwrap();
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(mut admin) = self.admin.take() {
            let dropped = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            let _ = admin.batch_execute(&dropped);
        }
    }
}

#[test]
fn a_server_that_is_not_there_is_a_clean_error_without_the_password() {
    // Port 1 on loopback: refused at once.
    let Err(e) = Postgres::open("postgres://kairan:s3cret@127.0.0.1:1/kairan") else {
        panic!("opened a state where no server listens");
    };
    let message = e.to_string();
    assert!(
        message.starts_with("state postgres://kairan@127.0.0.1:1/kairan: cannot connect: "),
        "{message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
    let Err(LockError::Store(e)) = lock("postgres://kairan:s3cret@127.0.0.1:1/kairan", false)
    else {
        panic!("locked a state where no server listens");
    };
    assert!(!e.to_string().contains("s3cret"), "{e}");
}

#[test]
fn opening_migrates_once_and_refuses_what_is_not_kairans() {
    let Some(server) = server() else { return };
    let scratch = Scratch::new(&server, "open");
    let created = scratch.store().created().unwrap();
    // Opened again (the schema up to date): nothing to do, nothing changed.
    let store = scratch.store();
    assert_eq!(store.created().unwrap(), created);
    assert_eq!(store.count().unwrap(), 0);
    assert_eq!(store.generation().unwrap(), 0);
    drop(store);
    scratch.execute("UPDATE kairan_schema SET version = 99");
    let Err(e) = Store::open(&scratch.location()) else {
        panic!("opened a newer kairan's state");
    };
    assert!(
        e.to_string()
            .contains("was written by a newer kairan (schema 99"),
        "{e}"
    );

    let other = Scratch::new(&server, "other");
    other.execute("CREATE TABLE invoices (id BIGINT)");
    let Err(e) = Store::open(&other.location()) else {
        panic!("took another program's database for a state");
    };
    assert!(
        e.to_string()
            .contains("is a PostgreSQL database but not a kairan state"),
        "{e}"
    );
    // Refused, and left as it was.
    other.execute("SELECT id FROM invoices");

    let parts = Parts::of(&scratch.url).unwrap();
    let missing = format!(
        "{}{}@{}/pgtest_missing",
        parts.scheme,
        parts.credentials.unwrap(),
        parts.hosts
    );
    let Err(e) = Store::open(&Location::Postgres(missing)) else {
        panic!("opened a database that is not there");
    };
    assert!(
        e.to_string().ends_with(
            "cannot connect: FATAL: database \"pgtest_missing\" does not exist \
             (create it first: CREATE DATABASE pgtest_missing)"
        ),
        "{e}"
    );
}

#[test]
fn a_refresh_reads_back_as_from_sqlite() {
    let Some(server) = server() else { return };
    let scratch = Scratch::new(&server, "refresh");
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = Store::open(&Location::File(dir.path().join("kairan.db"))).unwrap();
    let mut pg = scratch.store();
    let changes = scenario(&mut sqlite);
    assert_eq!(scenario(&mut pg), changes);
    assert_eq!(pg.count().unwrap(), 5);
    assert!(pg.generation().unwrap() >= 3);
    assert!(!pg.outbox().unwrap().is_empty());
    let b = EntryKey("https://example.org/b".to_owned());
    let rows: Vec<String> = pg
        .backend
        .origins(&b)
        .unwrap()
        .iter()
        .map(|o| o.to_string())
        .collect();
    assert_eq!(rows, ["alert row 3", "anshin row 2"]);
    assert_same(&sqlite, &pg);
    // And so after opening the state again: nothing was only in the connection.
    drop(pg);
    assert_same(&sqlite, &scratch.store());
}

#[test]
fn a_refresh_that_fails_leaves_nothing() {
    let Some(server) = server() else { return };
    let mut scratch = Scratch::new(&server, "rollback");
    let mut store = scratch.store();
    let entries = [entry("a", "警告", None, None, &[("anshin", 1)])];
    let now = at("2026-01-10T09:00:00+09:00");
    // A topic given twice: the entry is written, its second membership fails, and the entry
    // goes with it.
    let twice = |_: &Entry| vec!["scam".to_owned(), "scam".to_owned()];
    let e = store
        .commit(now, &Refresh::default(), listed(&entries), twice)
        .unwrap_err();
    assert!(e.to_string().contains("duplicate key"), "{e}");
    assert_eq!(store.count().unwrap(), 0);
    store
        .commit(now, &Refresh::default(), listed(&entries), |e| {
            classify(&e.title)
        })
        .unwrap();
    assert_eq!(store.count().unwrap(), 1);
    // The server gone from under an open state: a failure to report, not a panic.
    scratch.terminate_sessions();
    let state = format!("state {}: ", shown(&scratch.url));
    let e = store.count().unwrap_err().to_string();
    eprintln!("{e}");
    assert!(e.starts_with(&state), "{e}");
    let e = store
        .commit(now, &Refresh::default(), listed(&entries), |e| {
            classify(&e.title)
        })
        .unwrap_err()
        .to_string();
    eprintln!("{e}");
    assert!(e.starts_with(&state), "{e}");
}

#[test]
fn the_lock_admits_one_writer() {
    let Some(server) = server() else { return };
    let scratch = Scratch::new(&server, "lock");
    let held = lock(&scratch.url, false).unwrap();
    match lock(&scratch.url, false) {
        Err(LockError::Busy { state, holder }) => {
            assert_eq!(state, shown(&scratch.url));
            let pid = format!("pid {} on host ", std::process::id());
            assert!(holder.starts_with(&pid), "{holder}");
            assert!(holder.contains(" since "), "{holder}");
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a second writer took the lock"),
    }
    // One that waits has it once the first lets go.
    let url = scratch.url.clone();
    let waiting = std::thread::spawn(move || lock(&url, true).map(drop).is_ok());
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!waiting.is_finished());
    drop(held);
    assert!(waiting.join().unwrap());
    let again = lock(&scratch.url, false);
    assert!(again.is_ok());
    // A state being written can still be opened and read.
    assert_eq!(scratch.store().count().unwrap(), 0);
}

/// A writer that lets go leaves the lock free at once, not once the server has read the end
/// of its session: a run started just after another (cron, a `serve` refresh) finds it free.
#[test]
fn a_released_lock_is_free_at_once() {
    let Some(server) = server() else { return };
    let scratch = Scratch::new(&server, "relock");
    let mut other = connect(&scratch.url, "kairan test").unwrap();
    for _ in 0..1000 {
        drop(lock(&scratch.url, false).unwrap());
        let free: bool = (other.query_one("SELECT pg_try_advisory_lock($1)", &[&lock::WRITER]))
            .unwrap()
            .get(0);
        assert!(free, "the lock is still held by the writer that let go");
        other
            .query_one("SELECT pg_advisory_unlock($1)", &[&lock::WRITER])
            .unwrap();
    }
}

#[test]
fn a_state_copies_between_the_backends_with_its_ids() {
    let Some(server) = server() else { return };
    let scratch = Scratch::new(&server, "copy");
    let dir = tempfile::tempdir().unwrap();
    let file = Location::File(dir.path().join("kairan.db"));
    let mut sqlite = Store::open(&file).unwrap();
    scenario(&mut sqlite);
    sqlite
        .record_objects(
            "s3://bucket/feeds",
            &[("index.xml".to_owned(), "ab".to_owned())],
            &[],
        )
        .unwrap();
    drop(sqlite);
    let moved = crate::store::copy::copy(&file, &scratch.location()).unwrap();
    assert_eq!(moved, 5);
    let (sqlite, pg) = (Store::open(&file).unwrap(), scratch.store());
    for (table, columns) in TABLES {
        assert_eq!(
            pg.export(table, columns).unwrap(),
            sqlite.export(table, columns).unwrap(),
            "{table}"
        );
    }
    assert_same(&sqlite, &pg);
    // A state with entries is not overwritten.
    let e = crate::store::copy::copy(&file, &scratch.location()).unwrap_err();
    assert!(e.to_string().contains("already holds entries"), "{e}");
    // And back into a new file, row for row.
    drop(pg);
    let back = Location::File(dir.path().join("back.db"));
    crate::store::copy::copy(&scratch.location(), &back).unwrap();
    let back = Store::open(&back).unwrap();
    for (table, columns) in TABLES {
        assert_eq!(
            back.export(table, columns).unwrap(),
            sqlite.export(table, columns).unwrap(),
            "{table}"
        );
    }
}

#[test]
fn published_objects_are_kept_by_place() {
    let Some(server) = server() else { return };
    let scratch = Scratch::new(&server, "objects");
    let mut store = scratch.store();
    let pair = |k: &str, h: &str| (k.to_owned(), h.to_owned());
    let place = "s3://bucket/feeds";
    store
        .record_objects(
            place,
            &[pair("a.xml", "1"), pair("b.xml", "2"), pair("c.xml", "3")],
            &[],
        )
        .unwrap();
    store
        .record_objects("s3://other/", &[pair("a.xml", "9")], &[])
        .unwrap();
    store
        .record_objects(
            place,
            &[pair("a.xml", "4")],
            &["b.xml".to_owned(), "gone".to_owned()],
        )
        .unwrap();
    let objects = store.objects(place).unwrap();
    let expected: HashMap<String, String> = [pair("a.xml", "4"), pair("c.xml", "3")].into();
    assert_eq!(objects, expected);
    assert_eq!(store.objects("s3://other/").unwrap().len(), 1);
    assert!(store.objects("s3://none/").unwrap().is_empty());
    store.record_objects(place, &[], &[]).unwrap();
    assert_eq!(store.objects(place).unwrap(), expected);
}

/// On a worker of a multi-thread runtime, as the pipeline calls it: the driver's own runtime
/// neither panics there nor when the store and the lock are dropped there.
#[test]
fn the_store_works_on_an_async_worker() {
    let Some(server) = server() else { return };
    let scratch = Scratch::new(&server, "runtime");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let location = scratch.location();
    let url = scratch.url.clone();
    let task = runtime.spawn(async move {
        let held = lock(&url, false).unwrap();
        let mut store = Store::open(&location).unwrap();
        let entries = [entry("a", "警告", None, None, &[("anshin", 1)])];
        let now = at("2026-01-10T09:00:00+09:00");
        tokio::task::yield_now().await;
        store
            .commit(now, &Refresh::default(), listed(&entries), |e| {
                classify(&e.title)
            })
            .unwrap();
        let count = store.count().unwrap();
        drop(store);
        drop(held);
        count
    });
    assert_eq!(runtime.block_on(task).unwrap(), 1);
}

/// Two kairans starting at once on a new database: one creates the schema, the other waits for
/// it and finds it made, rather than making it again or taking it for another program's.
#[test]
fn two_opening_a_new_database_at_once_make_one_state() {
    let Some(server) = server() else { return };
    let scratch = Scratch::new(&server, "race");
    let opening: Vec<_> = (0..4)
        .map(|_| {
            let location = scratch.location();
            std::thread::spawn(move || Store::open(&location).map(|s| s.created().unwrap()))
        })
        .collect();
    let created: Vec<_> = opening
        .into_iter()
        .map(|t| t.join().unwrap().unwrap())
        .collect();
    assert!(created.iter().all(|c| *c == created[0]), "{created:?}");
}
