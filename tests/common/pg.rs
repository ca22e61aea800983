//! Real PostgreSQL servers for the tests: each one private to a test, made by `initdb` into a
//! temporary directory and listening on a loopback port, so that a test may stop it under a
//! running kairan. When the tests run as root (CI), the server runs as `nobody`: PostgreSQL
//! refuses root. Stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

/// Where Debian's server binaries are: on PATH, else under /usr/lib/postgresql/<version>/bin.
fn binaries() -> Option<PathBuf> {
    if let Ok(o) = Command::new("pg_config").arg("--bindir").output()
        && o.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
        if dir.join("initdb").exists() {
            return Some(dir);
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|b| b.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `program` with `args`, as `nobody` when the tests run as root.
fn as_server_user(program: &Path) -> Command {
    if root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Postgres {
    /// A new server with a superuser `kairan` (trusted on loopback), or `None` with a note where
    /// PostgreSQL is not installed; under CI its absence fails the test.
    pub fn start() -> Option<Postgres> {
        let Some(bin) = binaries() else {
            super::unavailable("PostgreSQL (initdb)", "test");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("kairan-pg-")
            .tempdir()
            .unwrap();
        if root() {
            let chown = Command::new("chown")
                .arg("nobody")
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(chown.success());
        }
        let data = dir.path().join("data");
        let init = as_server_user(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "kairan", "--no-sync", "-E", "UTF8"])
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let server = Postgres {
            dir,
            bin,
            port: free_port(),
        };
        server.pg_ctl("start");
        Some(server)
    }

    fn pg_ctl(&self, action: &str) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let mut c = as_server_user(&self.bin.join("pg_ctl"));
        c.arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-o", &options, "-w", "-m", "immediate", action]);
        let o = c.output().unwrap();
        assert!(
            o.status.success() || action == "stop",
            "pg_ctl {action}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// A URL for database `db` on this server (no password: trusted on loopback).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://kairan@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates database `db` and gives its URL.
    pub fn database(&self, db: &str) -> String {
        self.sql(&format!("CREATE DATABASE {db}"));
        self.url(db)
    }

    /// Runs `sql` in database `postgres` through psql.
    pub fn sql(&self, sql: &str) -> String {
        self.query("postgres", sql)
    }

    /// Runs `sql` in database `db`, giving what it printed (unaligned, tuples only).
    pub fn query(&self, db: &str, sql: &str) -> String {
        let o = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .arg(self.url(db))
            .args(["-c", sql])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_owned()
    }

    /// Stops the server at once, as a crash or a lost network would (`-m immediate`).
    pub fn stop(&self) {
        self.pg_ctl("stop");
    }

    /// Starts it again after [`Postgres::stop`].
    pub fn restart(&self) {
        self.pg_ctl("start");
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.pg_ctl("stop");
    }
}
