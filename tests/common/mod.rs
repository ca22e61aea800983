//! Shared by the integration tests: a real HTTP/1.1 server on 127.0.0.1 that serves fixtures and
//! misbehaves on request, configs pointed at it, the `kairan` binary run as a process, and the
//! independent validation of everything published.
#![allow(dead_code)] // a helper no test uses for the moment is kept, without a warning

pub mod pg;
pub mod proxy;
pub mod s3;
mod server;

pub use server::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;
use std::time::Duration;

pub const LISTING_PATH: &str = "/security/anshin/attention/index.html";
pub const ALERT_PATH: &str = "/security/alert-rss.rdf";

/// The selectors of IPA's listing markup, as in the shipped configuration.
pub const NEWS_LIST: &str = r#"
item = "ul.news-list > li.news-list__item"
title = ".news-list__ttl"
link = "a"
date = ".news-list__date"
summary = ".news-list__txt"
"#;

/// A configuration with two topics; `body` holds the `[[source]]` tables, and may start with
/// a `[fetch]` table.
pub fn config(body: &str) -> String {
    format!(
        r#"
[site]
title = "テスト"
base_url = "http://127.0.0.1:8080/kairan"
author = "IPA"

{body}
{TOPICS}"#
    )
}

/// The two topics of [`config`].
pub const TOPICS: &str = r#"
[[topic]]
id = "sms"
title = "SMS"
any = ["ショートメッセージ", "SMS"]

[[topic]]
id = "warning"
title = "偽警告"
any = ["警告"]
"#;

/// A listing of `rows` (date, title, link) in IPA's markup.
pub fn listing(rows: &[(&str, &str, &str)]) -> String {
    let items: String = rows
        .iter()
        .map(|(date, title, link)| {
            format!(
                "<li class=\"news-list__item\"><a href=\"{link}\"><ul><li class=\"news-list__date\">{date}</li></ul>\
                 <p class=\"news-list__ttl\">{title}</p><p class=\"news-list__txt\">{title}の概要</p></a></li>\n"
            )
        })
        .collect();
    format!("<html><body><ul class=\"news-list\">\n{items}</ul></body></html>")
}

/// A loopback server with the shipped configuration's two sources: the seed listing and the
/// alert feed.
pub fn seed_upstream() -> Server {
    let server = Server::start();
    server.route(LISTING_PATH, Reply::html(fixture("ipa/anshin-seed.html")));
    server.route(
        ALERT_PATH,
        Reply::ok("application/rdf+xml", fixture("ipa/alert-rss.rdf")),
    );
    server
}

pub fn html_source(id: &str, url: &str, select: &str) -> String {
    format!(
        "[[source]]\nid = \"{id}\"\ntitle = \"{id}\"\nurl = \"{url}\"\nkind = \"html\"\n[source.select]\n{select}\n"
    )
}

pub fn feed_source(id: &str, url: &str) -> String {
    format!("[[source]]\nid = \"{id}\"\ntitle = \"{id}\"\nurl = \"{url}\"\nkind = \"feed\"\n")
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(root().join("fixtures").join(path))
        .unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// A working directory for one test: config, state and output inside it. Kept under the target
/// directory (not /tmp) so that CI can validate every feed the tests published.
///
/// With `KAIRAN_TEST_BACKEND=postgres`, its state is a database on a PostgreSQL server of its
/// own instead of a file: `.ci/run` runs the modules that do not open the state file directly
/// a second time so, with the same assertions.
pub struct Workspace {
    pub dir: PathBuf,
    /// `--state` as a URL rather than [`Workspace::state`]'s file.
    pub state_url: Option<String>,
    /// `--out` as a URL rather than [`Workspace::out`]'s directory.
    pub out_url: Option<String>,
    /// Variables every command of this workspace is run with (the AWS environment).
    pub env: Vec<(String, String)>,
    /// The server of `KAIRAN_TEST_BACKEND=postgres`, stopped with the workspace.
    _postgres: Option<pg::Postgres>,
}

impl Workspace {
    pub fn new(name: &str) -> Workspace {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("published")
            .join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let postgres = (std::env::var("KAIRAN_TEST_BACKEND").as_deref() == Ok("postgres"))
            .then(|| pg::Postgres::start().expect("KAIRAN_TEST_BACKEND=postgres needs PostgreSQL"));
        Workspace {
            dir,
            state_url: postgres.as_ref().map(|p| p.database("kairan")),
            out_url: None,
            env: Vec::new(),
            _postgres: postgres,
        }
    }

    /// `--state` as given to every command: the state URL, or the file.
    pub fn state_arg(&self) -> String {
        self.state_url
            .clone()
            .unwrap_or_else(|| self.state().display().to_string())
    }

    /// `--out` as given to every command: the output URL, or the directory.
    pub fn out_arg(&self) -> String {
        self.out_url
            .clone()
            .unwrap_or_else(|| self.out().display().to_string())
    }

    pub fn out(&self) -> PathBuf {
        self.dir.join("public")
    }

    pub fn state(&self) -> PathBuf {
        self.dir.join("state").join("kairan.db")
    }

    /// Writes the shipped configuration with its two sources pointed at `server`, without
    /// their article rules: the fixtures' items link to IPA's own host, which tests never ask.
    pub fn shipped_config(&self, server: &Server) -> PathBuf {
        let text = std::fs::read_to_string(root().join("config/ipa.toml")).unwrap();
        let mut kept = String::new();
        let mut in_article = false;
        for line in text.lines() {
            if line.starts_with('[') {
                in_article = line == "[source.article]";
            }
            if !in_article {
                kept.push_str(line);
                kept.push('\n');
            }
        }
        self.shipped_config_with_articles(server, &kept)
    }

    /// Writes configuration `text` (the shipped one, or a variant) with its two sources pointed
    /// at `server`, article rules and all.
    pub fn shipped_config_with_articles(&self, server: &Server, text: &str) -> PathBuf {
        let text = text
            .replace(
                "https://www.ipa.go.jp/security/anshin/attention/index.html",
                &server.url(LISTING_PATH),
            )
            .replace(
                "https://www.ipa.go.jp/security/alert-rss.rdf",
                &server.url(ALERT_PATH),
            )
            .replace("timeout_secs = 30", "timeout_secs = 5")
            .replace("retries = 2", "retries = 0");
        self.config(&text)
    }

    pub fn config(&self, text: &str) -> PathBuf {
        let path = self.dir.join("kairan.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Runs `kairan run` with this workspace's config, state and output.
    pub fn run(&self) -> Output {
        self.command(&[]).output().expect("run kairan")
    }

    /// `kairan run` with this workspace's config, state and output, and `extra` arguments,
    /// ready to be started.
    pub fn command(&self, extra: &[&str]) -> Command {
        let mut c = self.with_places("run");
        c.args(extra);
        c
    }

    /// `kairan serve` on a port of its choosing, with this workspace's config, state and
    /// output, ready to be started.
    pub fn serve_command(&self) -> Command {
        let mut c = self.with_places("serve");
        c.args(["--listen", "127.0.0.1:0"]);
        c
    }

    fn with_places(&self, subcommand: &str) -> Command {
        let mut c = self.kairan();
        c.arg(subcommand)
            .arg("--config")
            .arg(self.dir.join("kairan.toml"))
            .arg("--out")
            .arg(self.out_arg())
            .arg("--state")
            .arg(self.state_arg());
        c
    }

    /// The `kairan` binary in this workspace, with its environment.
    pub fn kairan(&self) -> Command {
        let mut c = kairan_command(&self.dir);
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    /// `kairan status` with this workspace's config and state.
    pub fn status(&self) -> Output {
        self.kairan()
            .arg("status")
            .arg("--config")
            .arg(self.dir.join("kairan.toml"))
            .arg("--state")
            .arg(self.state_arg())
            .output()
            .expect("run kairan status")
    }

    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.out().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
    }

    pub fn feed(&self, slug: &str) -> feed_rs::model::Feed {
        let bytes = std::fs::read(self.out().join(format!("feeds/{slug}.atom"))).unwrap();
        feed_rs::parser::parse(&bytes[..])
            .unwrap_or_else(|e| panic!("{slug}.atom does not parse: {e}"))
    }
}

pub fn kairan(dir: &Path, args: &[&str]) -> Output {
    kairan_command(dir).args(args).output().expect("run kairan")
}

fn kairan_command(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kairan"));
    c.current_dir(dir).env_remove("KAIRAN_LOG");
    c
}

/// Waits until `server` has received `count` requests for `path`, for at most ten seconds.
pub fn wait_for_requests(server: &Server, path: &str, count: usize) {
    for _ in 0..200 {
        if server.requests(path).len() >= count {
            return;
        }
        thread::sleep(Duration::from_millis(50));
    }
    panic!("fewer than {count} requests for {path} within ten seconds");
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit status, showing stderr when it is not the expected one.
pub fn assert_status(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit status; stderr:\n{}",
        stderr(o)
    );
}

/// Where something a test needs is missing here (a tool, a server, root): a note, and the
/// caller skips what needs it; under CI, which installs everything, a failure.
pub fn unavailable(what: &str, skipped: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{what} is required under CI"
    );
    eprintln!("note: {what} is not available here: {skipped} skipped");
}

/// Checks every Atom feed in `out` against RFC 4287's RELAX NG schema with jing, and reads the
/// feeds and the OPML back with Python's feedparser (tests/tools/feedcheck.py). Where the tools
/// are missing the check is skipped with a note, except under CI, where it fails.
pub fn validate_independently(out: &Path) {
    let schema = root().join("../shared/schemas/atom.rnc");
    // The live feeds and their archives (feeds/archive/<feed>/<month>.atom).
    let feeds: Vec<PathBuf> = files_under(&out.join("feeds"))
        .into_keys()
        .filter(|p| p.ends_with(".atom"))
        .map(|p| out.join("feeds").join(p))
        .collect();
    assert!(!feeds.is_empty(), "no feeds in {}", out.display());
    let missing = |what: &str| unavailable(what, "independent check");
    match Command::new("jing")
        .arg("-c")
        .arg(&schema)
        .args(&feeds)
        .output()
    {
        Ok(o) if schema.exists() => assert!(
            o.status.success(),
            "jing rejects feeds in {}:\n{}{}",
            out.display(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        _ => missing("jing with ../shared/schemas/atom.rnc"),
    }
    match Command::new("python3")
        .arg(root().join("tests/tools/feedcheck.py"))
        .arg(out)
        .output()
    {
        Ok(o) if o.status.code() == Some(3) => missing("python3 feedparser"),
        Ok(o) => assert!(
            o.status.success(),
            "feedcheck rejects {}:\n{}{}",
            out.display(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(_) => missing("python3"),
    }
}

/// Every file under `dir` with its bytes, by its path relative to `dir`.
pub fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let name = path.strip_prefix(root).unwrap().display().to_string();
                files.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}
