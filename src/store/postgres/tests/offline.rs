//! What needs no server: the URL as shown and as completed from the `PG*` variables, and the
//! name the lock's holder goes by.

use super::super::connect::{completed, shown};
use super::super::{is_url, lock};
use postgres::config::Host;

#[test]
fn the_url_is_shown_without_its_password() {
    assert!(is_url("postgres://") && is_url("postgresql://h/db"));
    assert!(!is_url("kairan.db") && !is_url("/var/lib/postgres://x"));
    assert_eq!(
        shown("postgres://kairan:s3cret@127.0.0.1:5432/kairan"),
        "postgres://kairan@127.0.0.1:5432/kairan"
    );
    assert_eq!(shown("postgresql://:s3cret@h/db"), "postgresql://h/db");
    assert_eq!(
        shown("postgres://h/db?sslmode=disable&password=s3cret&application_name=x"),
        "postgres://h/db?sslmode=disable&application_name=x"
    );
    assert_eq!(shown("postgres://u:p%40ss@h"), "postgres://u@h");
    assert_eq!(shown("postgres://u:p@ss@h:1/db"), "postgres://u@h:1/db");
    assert_eq!(shown("postgres://u:p/w@h/db"), "postgres://u@h/db");
    assert_eq!(shown("postgres://"), "postgres://");
}

#[test]
fn the_pg_variables_fill_what_the_url_leaves_out() {
    let env = |name: &str| {
        Some(match name {
            "PGHOST" => "db.example,/run/postgresql".to_owned(),
            "PGPORT" => "6432".to_owned(),
            "PGUSER" => "envuser".to_owned(),
            "PGPASSWORD" => "envpass".to_owned(),
            "PGDATABASE" => "envdb".to_owned(),
            _ => return None,
        })
    };
    let config = completed("postgres://", "kairan", &env).unwrap();
    assert_eq!(
        config.get_hosts(),
        [
            Host::Tcp("db.example".to_owned()),
            Host::Unix("/run/postgresql".into())
        ]
    );
    assert_eq!(config.get_ports(), [6432]);
    assert_eq!(config.get_user(), Some("envuser"));
    assert_eq!(config.get_password(), Some(&b"envpass"[..]));
    assert_eq!(config.get_dbname(), Some("envdb"));
    assert_eq!(config.get_application_name(), Some("kairan"));
    assert_eq!(
        config.get_connect_timeout(),
        Some(&std::time::Duration::from_secs(10))
    );
    // What the URL says wins; a host without a port takes PGPORT, as with libpq.
    let config = completed("postgres://me:pw@a,b/mine", "x", &env).unwrap();
    assert_eq!(config.get_hosts().len(), 2);
    assert_eq!(config.get_ports(), [6432, 6432]);
    assert_eq!(config.get_user(), Some("me"));
    assert_eq!(config.get_password(), Some(&b"pw"[..]));
    assert_eq!(config.get_dbname(), Some("mine"));
    let config = completed("postgres://h:5433/mine", "x", &env).unwrap();
    assert_eq!(config.get_ports(), [5433]);
    // Nothing anywhere: the local server, as the driver's user.
    let config = completed("postgres://", "x", &|_| None).unwrap();
    assert_eq!(config.get_hosts(), [Host::Tcp("localhost".to_owned())]);
    assert!(config.get_ports().is_empty() && config.get_user().is_none());
}

#[test]
fn the_holder_is_named_within_the_servers_limit() {
    for host in [
        "web-2",
        "ip-10-0-0-12.ap-northeast-1.compute.internal",
        &"h".repeat(80),
    ] {
        let name = lock::holder_name(host);
        assert!(name.len() <= 63, "{name}");
        let pid = format!("kairan pid {} on host ", std::process::id());
        let named = name.strip_prefix(&pid).unwrap();
        // The host whole where it fits, else as far as there is room.
        assert!(!named.is_empty() && host.starts_with(named), "{name}");
        if host.len() <= 30 {
            assert_eq!(named, host);
        }
    }
}
