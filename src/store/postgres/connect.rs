//! Reaching the server: the state's URL completed from the `PG*` variables, the URL as messages
//! show it (never with its password), and a driver failure told as what to do about it.

use super::Fallible;
use postgres::config::Host;
use postgres::{Client, Config, NoTls};
use std::time::Duration;

/// How long connecting may take before it counts as a failure: a server that does not answer
/// fails the run rather than hangs it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A URL split as the driver reads it: `scheme://[credentials@]hosts[/dbname][?params]`. Like
/// the driver (and libpq), the credentials run to the first `@`.
pub(super) struct Parts<'a> {
    /// `postgres://` or `postgresql://`.
    pub(super) scheme: &'a str,
    /// `user[:password]`, without the `@`.
    pub(super) credentials: Option<&'a str>,
    /// `host[:port][,host[:port]...]`, possibly empty.
    pub(super) hosts: &'a str,
    /// The rest: `/dbname?params`, either part possibly absent.
    pub(super) rest: &'a str,
}

impl<'a> Parts<'a> {
    /// The parts of a `postgres://` or `postgresql://` URL; `None` for anything else.
    pub(super) fn of(url: &'a str) -> Option<Parts<'a>> {
        let scheme = ["postgres://", "postgresql://"]
            .into_iter()
            .find(|s| url.starts_with(s))?;
        let after = &url[scheme.len()..];
        let (credentials, after) = match after.split_once('@') {
            Some((credentials, after)) => (Some(credentials), after),
            None => (None, after),
        };
        let end = after.find(['/', '?']).unwrap_or(after.len());
        Some(Parts {
            scheme: &url[..scheme.len()],
            credentials,
            hosts: &after[..end],
            rest: &after[end..],
        })
    }

    /// Whether the URL names a port: in its hosts, or as a `port` parameter.
    fn names_port(&self) -> bool {
        let in_hosts = self.hosts.split(',').any(|h| match h.rfind(']') {
            // An IPv6 address in brackets: a port comes after them.
            Some(close) => h[close..].contains(':'),
            None => h.contains(':'),
        });
        in_hosts || params(self.rest).any(|(key, _)| key == "port")
    }
}

/// The `?key=value&...` parameters of a URL's rest, decoded.
fn params(rest: &str) -> impl Iterator<Item = (String, String)> + '_ {
    let query = rest.split_once('?').map_or("", |(_, q)| q);
    url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned()))
}

/// Whether `text` is a PostgreSQL URL (`postgres://` or `postgresql://`).
pub fn is_url(text: &str) -> bool {
    Parts::of(text).is_some()
}

/// The URL as messages show it: without its password, in its credentials or in a `password`
/// parameter.
pub fn shown(url: &str) -> String {
    let Some(parts) = Parts::of(url) else {
        return url.to_owned();
    };
    let (credentials, hosts) = match (parts.credentials, parts.hosts.rfind('@')) {
        // An `@` left unencoded in the password: the driver stops at the first, but all up to
        // the last one may be the password's.
        (Some(credentials), Some(at)) => (credentials, &parts.hosts[at + 1..]),
        (credentials, _) => (credentials.unwrap_or_default(), parts.hosts),
    };
    let mut shown = parts.scheme.to_owned();
    let user = credentials.split(':').next().unwrap_or_default();
    if !user.is_empty() {
        shown.push_str(user);
        shown.push('@');
    }
    shown.push_str(hosts);
    let (path, query) = parts.rest.split_once('?').unwrap_or((parts.rest, ""));
    shown.push_str(path);
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| params(&format!("?{p}")).all(|(key, _)| key != "password"))
        .collect();
    if !kept.is_empty() {
        shown.push('?');
        shown.push_str(&kept.join("&"));
    }
    shown
}

/// The connection settings of `url`, completed where it is silent from `PGHOST`, `PGPORT`,
/// `PGUSER`, `PGPASSWORD` and `PGDATABASE` as libpq would (the driver reads none of them), and
/// naming the session `application_name` on the server.
pub(super) fn config(url: &str, application_name: &str) -> Fallible<Config> {
    completed(url, application_name, &|name| {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    })
}

/// [`config`], with the variables read by `env`.
pub(super) fn completed(
    url: &str,
    application_name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Fallible<Config> {
    let parts = Parts::of(url).ok_or("not a postgres:// or postgresql:// URL")?;
    let port = env("PGPORT");
    let mut config: Config = match &port {
        // The driver gives every host of the URL without a port 5432: PGPORT goes in first.
        Some(port) if !parts.hosts.is_empty() && !parts.names_port() => {
            let hosts: Vec<String> = parts
                .hosts
                .split(',')
                .map(|h| format!("{h}:{port}"))
                .collect();
            let credentials = parts
                .credentials
                .map(|c| format!("{c}@"))
                .unwrap_or_default();
            format!(
                "{}{credentials}{}{}",
                parts.scheme,
                hosts.join(","),
                parts.rest
            )
            .parse()?
        }
        _ => url.parse()?,
    };
    if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
        let hosts = env("PGHOST").unwrap_or_else(|| "localhost".to_owned());
        for host in hosts.split(',') {
            // A directory holds the server's Unix socket.
            if host.starts_with('/') {
                config.host_path(host);
            } else {
                config.host(host);
            }
        }
    }
    if config.get_ports().is_empty()
        && let Some(port) = port
    {
        for p in port.split(',') {
            let p = p
                .trim()
                .parse()
                .map_err(|_| format!("PGPORT is not a port number: {port:?}"))?;
            config.port(p);
        }
    }
    if config.get_user().is_none()
        && let Some(user) = env("PGUSER")
    {
        config.user(&user);
    }
    if config.get_password().is_none()
        && let Some(password) = env("PGPASSWORD")
    {
        config.password(password);
    }
    if config.get_dbname().is_none()
        && let Some(dbname) = env("PGDATABASE")
    {
        config.dbname(&dbname);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    config.application_name(application_name);
    // A peer that vanished (a machine off, a network cut) is noticed within a minute, not the
    // two hours of the system's default: the lock's session ends with it, and a query waiting
    // on it fails rather than hangs.
    config
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30))
        .keepalives_interval(Duration::from_secs(10))
        .keepalives_retries(3)
        .tcp_user_timeout(Duration::from_secs(60));
    Ok(config)
}

/// Where `config` connects, as a URL without the password: what a failure to connect names
/// when the state's URL left some of it to the `PG*` variables.
fn target(config: &Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match host {
                Host::Tcp(name) if name.contains(':') => format!("[{name}]:{port}"),
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(dir) => format!("{}:{port}", dir.display()),
            }
        })
        .collect();
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let dbname = config
        .get_dbname()
        .map(|d| format!("/{d}"))
        .unwrap_or_default();
    format!("postgres://{user}{}{dbname}", hosts.join(","))
}

/// Connects to the database of `url` (completed by [`config`]) without TLS, naming the session
/// `application_name`. A failure says where it tried, when that is not the URL as written.
/// Call inside [`crate::runtime::blocking`].
pub(super) fn connect(url: &str, application_name: &str) -> Fallible<Client> {
    let config = config(url, application_name)
        .map_err(|e| format!("cannot read the URL: {}", cause(&*e)))?;
    config.connect(NoTls).map_err(|e| {
        let target = target(&config);
        let to = if target == shown(url) {
            String::new()
        } else {
            format!(" to {target}")
        };
        let mut why = format!("cannot connect{to}: {}", cause(&e));
        if e.code() == Some(&postgres::error::SqlState::INVALID_CATALOG_NAME) {
            let dbname = config.get_dbname().unwrap_or("...");
            why.push_str(&format!(" (create it first: CREATE DATABASE {dbname})"));
        }
        why.into()
    })
}

/// A failure as a message: the server's own words for an error it reported, else the error
/// with its causes, `: `-separated (the driver's own message names none of them).
pub(super) fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    if let Some(pg) = e.downcast_ref::<postgres::Error>() {
        if let Some(db) = pg.as_db_error() {
            return db.to_string().replace('\n', "; ");
        }
        if pg.is_closed() {
            return "lost the connection to the server".to_owned();
        }
    }
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
