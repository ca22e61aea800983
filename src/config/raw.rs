//! The configuration file as written: serde structs that mirror the TOML, with the defaults
//! of every optional key. Nothing is checked here beyond types; [`super::compile`] gives the
//! values their meaning.

use serde::Deserialize;
use std::path::PathBuf;
use toml::Spanned;

/// The zone of `[site] timezone` when it is not given.
pub const DEFAULT_TIMEZONE: &str = "Asia/Tokyo";
/// `[site] max_entries` when it is not given.
pub const DEFAULT_MAX_ENTRIES: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub site: RawSite,
    #[serde(default)]
    pub output: RawOutput,
    #[serde(default)]
    pub state: RawState,
    #[serde(default)]
    pub fetch: RawFetch,
    #[serde(default)]
    pub serve: RawServe,
    #[serde(default)]
    pub source: Vec<RawSource>,
    #[serde(default)]
    pub topic: Vec<RawTopic>,
    #[serde(default)]
    pub notify: Vec<RawNotify>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSite {
    pub title: String,
    pub base_url: Spanned<String>,
    /// The site title when absent.
    pub author: Option<String>,
    /// [`DEFAULT_TIMEZONE`] when absent.
    pub timezone: Option<Spanned<String>>,
    /// [`DEFAULT_MAX_ENTRIES`] when absent.
    pub max_entries: Option<Spanned<usize>>,
    /// `ja` when absent.
    pub language: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawOutput {
    /// A directory; `public` when neither it nor `url` is set.
    pub dir: Option<Spanned<PathBuf>>,
    /// An object store's `s3://bucket/prefix/`, instead of `dir`.
    pub url: Option<Spanned<String>>,
    pub embed_entries: Spanned<usize>,
    /// Whether entries beyond a feed's `max_entries` are published in monthly archives.
    pub archives: bool,
}

impl Default for RawOutput {
    fn default() -> Self {
        RawOutput {
            dir: None,
            url: None,
            embed_entries: unplaced(10),
            archives: true,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawState {
    /// A SQLite file; `kairan.db` when neither it nor `url` is set.
    pub path: Option<Spanned<PathBuf>>,
    /// A PostgreSQL database's `postgres://` URL, instead of `path`.
    pub url: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawFetch {
    pub user_agent: String,
    pub contact: Option<String>,
    pub timeout_secs: Spanned<u64>,
    pub max_body_bytes: Spanned<u64>,
    pub retries: u32,
    pub max_articles_per_run: Spanned<u64>,
}

impl Default for RawFetch {
    fn default() -> Self {
        RawFetch {
            user_agent: concat!("kairan/", env!("CARGO_PKG_VERSION")).to_owned(),
            contact: None,
            timeout_secs: unplaced(30),
            max_body_bytes: unplaced(10 * 1024 * 1024),
            retries: 2,
            // A first import of a long listing spreads over several runs instead of hitting
            // the site with hundreds of requests at once.
            max_articles_per_run: unplaced(50),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServe {
    pub listen: Spanned<String>,
    pub interval: Spanned<String>,
    pub cors_origins: Vec<String>,
    pub header_timeout: Spanned<String>,
    pub max_connections: Spanned<u64>,
    pub max_header_bytes: Spanned<u64>,
    pub max_uri_bytes: Spanned<u64>,
}

impl Default for RawServe {
    fn default() -> Self {
        RawServe {
            listen: unplaced("127.0.0.1:8080".to_owned()),
            interval: unplaced("1h".to_owned()),
            cors_origins: vec!["*".to_owned()],
            // nginx's client_header_timeout is 60 s; a feed request is one line and a few
            // headers, so a client that needs more than 10 s for them is not a reader.
            header_timeout: unplaced("10s".to_owned()),
            max_connections: unplaced(4096),
            max_header_bytes: unplaced(16 * 1024),
            max_uri_bytes: unplaced(8 * 1024),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub id: Spanned<String>,
    /// The id when absent.
    pub title: Option<String>,
    pub url: Spanned<String>,
    pub kind: Spanned<String>,
    pub select: Option<Spanned<RawSelect>>,
    pub article: Option<RawArticle>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawArticle {
    pub content: Spanned<String>,
    pub published: Option<Spanned<String>>,
    pub updated: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSelect {
    pub item: Spanned<String>,
    pub title: Spanned<String>,
    /// `"a"` when absent: the item's first link, or the item itself when it is one.
    pub link: Option<Spanned<String>>,
    pub date: Option<Spanned<String>>,
    pub summary: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTopic {
    pub id: Spanned<String>,
    pub title: String,
    pub description: Option<String>,
    #[serde(default)]
    pub any: Vec<String>,
    #[serde(default)]
    pub all: Vec<String>,
    #[serde(default)]
    pub none: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    pub id: Spanned<String>,
    pub kind: Spanned<String>,
    /// Exactly one of `url` and `url_env` (the name of a variable holding it).
    pub url: Option<Spanned<String>>,
    pub url_env: Option<Spanned<String>>,
    /// Every entry when absent.
    pub topics: Option<Vec<Spanned<String>>>,
    /// Whether updated entries are sent too.
    #[serde(default)]
    pub updates: bool,
    /// E-mail only.
    pub from: Option<Spanned<String>>,
    pub to: Option<Spanned<Vec<Spanned<String>>>>,
    pub password_env: Option<Spanned<String>>,
}

/// A default value: it stands nowhere in the file, so messages about it carry no position.
pub fn unplaced<T>(value: T) -> Spanned<T> {
    Spanned::new(0..0, value)
}
