//! TOML → validated, compiled [`Config`]. Every check happens here, once, with the file, line and
//! key in the message, so that later stages can trust what they are given.

use crate::classify::Classifier;
use crate::normalize::text::fold;
use chrono_tz::Tz;
use scraper::Selector;
use serde::Deserialize;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;
use url::Url;

/// The shipped configuration, compiled into the binary.
pub const DEFAULT_CONFIG: &str = include_str!("../config/ipa.toml");
/// How the built-in configuration is named in messages.
pub const DEFAULT_CONFIG_NAME: &str = "<built-in config/ipa.toml>";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read the configuration: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: String, message: String },
    #[error("{path}{at}: `{key}`: {message}")]
    Invalid {
        path: String,
        /// `:line:column` where the value is, or empty when the key is missing.
        at: String,
        key: String,
        message: String,
    },
}

/// A compiled configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the configuration came from, for messages.
    pub origin: String,
    pub site: Site,
    pub output_dir: PathBuf,
    pub state_path: PathBuf,
    pub fetch: FetchSettings,
    /// Entries listed in each `embed/<topic>.html`.
    pub embed_entries: usize,
    pub serve: ServeSettings,
    pub sources: Vec<Source>,
    pub topics: Vec<Topic>,
    /// The topics' rules, compiled.
    pub classifier: Classifier,
}

#[derive(Debug, Clone)]
pub struct Site {
    pub title: String,
    /// Where the output directory is served; always ends with `/`.
    pub base_url: Url,
    pub author: String,
    pub timezone: Tz,
    pub max_entries: usize,
}

#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub user_agent: String,
    pub timeout: Duration,
    pub max_body_bytes: u64,
    pub retries: u32,
}

/// `kairan serve`: where it listens, how often it refreshes, which origins may read the feeds
/// from a browser.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub listen: std::net::SocketAddr,
    pub interval: Duration,
    /// Origins allowed by CORS; `*` allows any.
    pub cors_origins: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Source {
    pub id: String,
    pub title: String,
    /// http(s) or file URL.
    pub url: Url,
    pub kind: SourceKind,
}

#[derive(Debug, Clone)]
pub enum SourceKind {
    Html(Selectors),
    Feed,
}

/// Compiled CSS selectors of an HTML listing; all but `item` apply inside an item.
#[derive(Debug, Clone)]
pub struct Selectors {
    pub item: Selector,
    /// The item selector as written, for messages.
    pub item_css: String,
    pub title: Selector,
    pub link: Selector,
    pub date: Option<Selector>,
    pub summary: Option<Selector>,
}

/// A topic with its rule words already folded (NFKC, lower case) for matching.
#[derive(Debug, Clone)]
pub struct Topic {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub any: Vec<String>,
    pub all: Vec<String>,
    pub none: Vec<String>,
}

// ---- the file as written ----------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    site: RawSite,
    #[serde(default)]
    output: RawOutput,
    #[serde(default)]
    state: RawState,
    #[serde(default)]
    fetch: RawFetch,
    #[serde(default)]
    serve: RawServe,
    #[serde(default)]
    source: Vec<RawSource>,
    #[serde(default)]
    topic: Vec<RawTopic>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    title: String,
    base_url: Spanned<String>,
    author: String,
    #[serde(default = "default_timezone")]
    timezone: Spanned<String>,
    #[serde(default = "default_max_entries")]
    max_entries: Spanned<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    #[serde(default = "default_output_dir")]
    dir: PathBuf,
    #[serde(default = "default_embed_entries")]
    embed_entries: Spanned<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServe {
    #[serde(default = "default_listen")]
    listen: Spanned<String>,
    #[serde(default = "default_interval")]
    interval: Spanned<String>,
    #[serde(default = "default_cors_origins")]
    cors_origins: Vec<String>,
}

impl Default for RawServe {
    fn default() -> Self {
        RawServe {
            listen: default_listen(),
            interval: default_interval(),
            cors_origins: default_cors_origins(),
        }
    }
}

fn default_embed_entries() -> Spanned<usize> {
    Spanned::new(0..0, 10)
}
fn default_listen() -> Spanned<String> {
    Spanned::new(0..0, "127.0.0.1:8080".to_owned())
}
fn default_interval() -> Spanned<String> {
    Spanned::new(0..0, "1h".to_owned())
}
fn default_cors_origins() -> Vec<String> {
    vec!["*".to_owned()]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    #[serde(default = "default_state_path")]
    path: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFetch {
    #[serde(default = "default_user_agent")]
    user_agent: String,
    contact: Option<String>,
    #[serde(default = "default_timeout_secs")]
    timeout_secs: Spanned<u64>,
    #[serde(default = "default_max_body_bytes")]
    max_body_bytes: Spanned<u64>,
    #[serde(default = "default_retries")]
    retries: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    id: Spanned<String>,
    title: String,
    url: Spanned<String>,
    kind: Spanned<String>,
    select: Option<Spanned<RawSelect>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSelect {
    item: Spanned<String>,
    title: Spanned<String>,
    link: Spanned<String>,
    date: Option<Spanned<String>>,
    summary: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopic {
    id: Spanned<String>,
    title: String,
    description: Option<String>,
    #[serde(default)]
    any: Vec<String>,
    #[serde(default)]
    all: Vec<String>,
    #[serde(default)]
    none: Vec<String>,
}

fn default_timezone() -> Spanned<String> {
    Spanned::new(0..0, "Asia/Tokyo".to_owned())
}
fn default_max_entries() -> Spanned<usize> {
    Spanned::new(0..0, 100)
}
fn default_output_dir() -> PathBuf {
    PathBuf::from("public")
}
fn default_state_path() -> PathBuf {
    PathBuf::from("kairan.db")
}
fn default_user_agent() -> String {
    concat!("kairan/", env!("CARGO_PKG_VERSION")).to_owned()
}
fn default_timeout_secs() -> Spanned<u64> {
    Spanned::new(0..0, 30)
}
fn default_max_body_bytes() -> Spanned<u64> {
    Spanned::new(0..0, 10 * 1024 * 1024)
}
fn default_retries() -> u32 {
    2
}

impl Default for RawOutput {
    fn default() -> Self {
        RawOutput {
            dir: default_output_dir(),
            embed_entries: default_embed_entries(),
        }
    }
}
impl Default for RawState {
    fn default() -> Self {
        RawState {
            path: default_state_path(),
        }
    }
}
impl Default for RawFetch {
    fn default() -> Self {
        RawFetch {
            user_agent: default_user_agent(),
            contact: None,
            timeout_secs: default_timeout_secs(),
            max_body_bytes: default_max_body_bytes(),
            retries: default_retries(),
        }
    }
}

// ---- compiling --------------------------------------------------------------------------------

impl Config {
    /// Reads and compiles a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: name.clone(),
            source,
        })?;
        Config::parse(&text, &name)
    }

    /// The built-in configuration (`config/ipa.toml`).
    pub fn builtin() -> Config {
        Config::parse(DEFAULT_CONFIG, DEFAULT_CONFIG_NAME)
            .expect("the built-in configuration is valid (checked by tests)")
    }

    /// Compiles configuration text; `origin` names it in messages.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: origin.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        Compiler { text, origin }.compile(raw)
    }
}

struct Compiler<'a> {
    text: &'a str,
    origin: &'a str,
}

impl Compiler<'_> {
    fn invalid(&self, span: Range<usize>, key: &str, message: impl Into<String>) -> ConfigError {
        let at = if span.is_empty() && span.start == 0 {
            String::new()
        } else {
            let (line, column) = line_col(self.text, span.start);
            format!(":{line}:{column}")
        };
        ConfigError::Invalid {
            path: self.origin.to_owned(),
            at,
            key: key.to_owned(),
            message: message.into(),
        }
    }

    fn compile(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let site = self.site(raw.site)?;
        let fetch = self.fetch(raw.fetch)?;
        if raw.source.is_empty() {
            return Err(self.invalid(0..0, "source", "at least one [[source]] is required"));
        }
        let mut sources = Vec::with_capacity(raw.source.len());
        for s in raw.source {
            let span = s.id.span();
            let source = self.source(s)?;
            if sources.iter().any(|o: &Source| o.id == source.id) {
                return Err(self.invalid(
                    span,
                    "source.id",
                    format!("\"{}\" is used by two sources", source.id),
                ));
            }
            sources.push(source);
        }
        let mut topics: Vec<Topic> = Vec::with_capacity(raw.topic.len());
        for t in raw.topic {
            let span = t.id.span();
            let topic = self.topic(t)?;
            // `all` is the combined feed's file name.
            if topic.id == "all" || topics.iter().any(|o| o.id == topic.id) {
                return Err(self.invalid(
                    span,
                    "topic.id",
                    format!("\"{}\" is reserved or used twice", topic.id),
                ));
            }
            topics.push(topic);
        }
        let embed_span = raw.output.embed_entries.span();
        let embed_entries = raw.output.embed_entries.into_inner();
        if embed_entries == 0 {
            return Err(self.invalid(embed_span, "output.embed_entries", "expected at least 1"));
        }
        let serve = self.serve(raw.serve)?;
        Ok(Config {
            origin: self.origin.to_owned(),
            site,
            output_dir: raw.output.dir,
            state_path: raw.state.path,
            fetch,
            embed_entries,
            serve,
            sources,
            classifier: Classifier::new(&topics),
            topics,
        })
    }

    fn site(&self, s: RawSite) -> Result<Site, ConfigError> {
        let span = s.base_url.span();
        let mut base = s.base_url.into_inner();
        if !base.ends_with('/') {
            // Joining relative paths onto a base without the slash would drop its last segment.
            base.push('/');
        }
        let base_url = Url::parse(&base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                self.invalid(
                    span,
                    "site.base_url",
                    format!("expected an absolute http(s) URL, found \"{base}\""),
                )
            })?;
        let tz_span = s.timezone.span();
        let tz_name = s.timezone.into_inner();
        let timezone = tz_name.parse::<Tz>().map_err(|_| {
            self.invalid(
                tz_span,
                "site.timezone",
                format!("expected an IANA time zone such as \"Asia/Tokyo\", found \"{tz_name}\""),
            )
        })?;
        let max_span = s.max_entries.span();
        let max_entries = s.max_entries.into_inner();
        if max_entries == 0 {
            return Err(self.invalid(max_span, "site.max_entries", "expected at least 1"));
        }
        Ok(Site {
            title: s.title,
            base_url,
            author: s.author,
            timezone,
            max_entries,
        })
    }

    fn fetch(&self, f: RawFetch) -> Result<FetchSettings, ConfigError> {
        let timeout_span = f.timeout_secs.span();
        let timeout_secs = f.timeout_secs.into_inner();
        if timeout_secs == 0 {
            return Err(self.invalid(timeout_span, "fetch.timeout_secs", "expected at least 1"));
        }
        let cap_span = f.max_body_bytes.span();
        let max_body_bytes = f.max_body_bytes.into_inner();
        if max_body_bytes < 1024 {
            return Err(self.invalid(cap_span, "fetch.max_body_bytes", "expected at least 1024"));
        }
        // Site operators look for a way to reach whoever polls them in the User-Agent.
        let user_agent = match f.contact.as_deref().map(str::trim) {
            Some(contact) if !contact.is_empty() => format!("{} (+{contact})", f.user_agent),
            _ => f.user_agent,
        };
        Ok(FetchSettings {
            user_agent,
            timeout: Duration::from_secs(timeout_secs),
            max_body_bytes,
            retries: f.retries,
        })
    }

    fn serve(&self, s: RawServe) -> Result<ServeSettings, ConfigError> {
        let listen = s.listen.get_ref().parse().map_err(|_| {
            self.invalid(
                s.listen.span(),
                "serve.listen",
                format!(
                    "expected an address and port such as \"127.0.0.1:8080\", found \"{}\"",
                    s.listen.get_ref()
                ),
            )
        })?;
        let interval = parse_interval(s.interval.get_ref())
            .filter(|d| *d >= Duration::from_secs(60))
            .ok_or_else(|| {
                self.invalid(
                    s.interval.span(),
                    "serve.interval",
                    format!(
                        "expected a duration of at least a minute such as \"30m\" or \"1h\", found \"{}\"",
                        s.interval.get_ref()
                    ),
                )
            })?;
        Ok(ServeSettings {
            listen,
            interval,
            cors_origins: s.cors_origins,
        })
    }

    fn source(&self, s: RawSource) -> Result<Source, ConfigError> {
        let id = self.slug(s.id, "source.id")?;
        let url_span = s.url.span();
        let url = parse_source_url(s.url.get_ref()).ok_or_else(|| {
            self.invalid(
                url_span,
                "source.url",
                format!(
                    "source \"{id}\": expected an http(s) or file URL or a path, found \"{}\"",
                    s.url.get_ref()
                ),
            )
        })?;
        let kind_span = s.kind.span();
        let kind = match (s.kind.get_ref().as_str(), s.select) {
            ("html", Some(select)) => SourceKind::Html(self.selectors(&id, select.into_inner())?),
            ("html", None) => {
                return Err(self.invalid(
                    kind_span,
                    "source.select",
                    format!("source \"{id}\" is kind = \"html\" and needs a [source.select] table"),
                ));
            }
            ("feed", None) => SourceKind::Feed,
            ("feed", Some(select)) => {
                return Err(self.invalid(
                    select.span(),
                    "source.select",
                    format!("source \"{id}\" is kind = \"feed\": selectors do not apply"),
                ));
            }
            (other, _) => {
                return Err(self.invalid(
                    kind_span,
                    "source.kind",
                    format!("source \"{id}\": expected \"html\" or \"feed\", found \"{other}\""),
                ));
            }
        };
        Ok(Source {
            id,
            title: s.title,
            url,
            kind,
        })
    }

    fn selectors(&self, source: &str, s: RawSelect) -> Result<Selectors, ConfigError> {
        let compile = |value: &Spanned<String>, key: &str| {
            Selector::parse(value.get_ref()).map_err(|e| {
                self.invalid(
                    value.span(),
                    &format!("source.select.{key}"),
                    format!(
                        "source \"{source}\": invalid CSS selector \"{}\": {}",
                        value.get_ref(),
                        selector_problem(&e)
                    ),
                )
            })
        };
        Ok(Selectors {
            item: compile(&s.item, "item")?,
            item_css: s.item.get_ref().clone(),
            title: compile(&s.title, "title")?,
            link: compile(&s.link, "link")?,
            date: s.date.as_ref().map(|d| compile(d, "date")).transpose()?,
            summary: s
                .summary
                .as_ref()
                .map(|d| compile(d, "summary"))
                .transpose()?,
        })
    }

    fn topic(&self, t: RawTopic) -> Result<Topic, ConfigError> {
        let span = t.id.span();
        let id = self.slug(t.id, "topic.id")?;
        let fold_all = |words: Vec<String>, key: &str| -> Result<Vec<String>, ConfigError> {
            words
                .into_iter()
                .map(|w| {
                    let folded = fold(w.trim());
                    if folded.is_empty() {
                        Err(self.invalid(
                            span.clone(),
                            &format!("topic.{key}"),
                            format!("topic \"{id}\": empty rule word"),
                        ))
                    } else {
                        Ok(folded)
                    }
                })
                .collect()
        };
        let any = fold_all(t.any, "any")?;
        let all = fold_all(t.all, "all")?;
        let none = fold_all(t.none, "none")?;
        if any.is_empty() && all.is_empty() {
            return Err(self.invalid(
                span,
                "topic.any",
                format!("topic \"{id}\" needs words in `any` or `all`, or it would match nothing"),
            ));
        }
        Ok(Topic {
            id,
            title: t.title,
            description: t.description,
            any,
            all,
            none,
        })
    }

    /// Ids become file names and URL segments: keep them to a safe ASCII alphabet.
    fn slug(&self, id: Spanned<String>, key: &str) -> Result<String, ConfigError> {
        let span = id.span();
        let id = id.into_inner();
        let ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && !id.starts_with('-');
        if ok {
            Ok(id)
        } else {
            Err(self.invalid(
                span,
                key,
                format!("expected a slug of a-z, 0-9, - and _ (at most 64), found \"{id}\""),
            ))
        }
    }
}

/// Accepts http(s) and file URLs, and plain paths (made absolute against the working directory).
fn parse_source_url(value: &str) -> Option<Url> {
    match Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https" | "file") => Some(url),
        Ok(_) => None,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            let path = Path::new(value);
            let absolute = if path.is_absolute() {
                path.to_path_buf()
            } else {
                std::env::current_dir().ok()?.join(path)
            };
            Url::from_file_path(absolute).ok()
        }
        Err(_) => None,
    }
}

/// What is wrong with a selector, in words: scraper's own message for the commonest mistakes
/// is "Unexpected error occurred. Please report this to the developer" and a debug dump.
fn selector_problem(e: &scraper::error::SelectorErrorKind) -> String {
    use scraper::error::SelectorErrorKind::UnexpectedSelectorParseError;
    let UnexpectedSelectorParseError(kind) = e else {
        return e.to_string();
    };
    let debug = format!("{kind:?}");
    let name = debug.split(['(', ' ', '{']).next().unwrap_or_default();
    match name {
        "ClassNeedsIdent" => "a class name must follow \".\"".to_owned(),
        "EmptySelector" => "the selector is empty".to_owned(),
        "DanglingCombinator" => "a combinator (>, +, ~) has nothing after it".to_owned(),
        "InvalidState" => "a pseudo-class or attribute is not closed".to_owned(),
        // The variant's name, split into words: `NoQualifiedNameInAttributeSelector` →
        // "no qualified name in attribute selector".
        _ => name
            .chars()
            .enumerate()
            .flat_map(|(i, c)| {
                let space = (i > 0 && c.is_ascii_uppercase()).then_some(' ');
                space.into_iter().chain(c.to_lowercase())
            })
            .collect(),
    }
}

/// A duration written as a number and a unit: `90s`, `30m`, `1h`, `1d`.
fn parse_interval(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let n: u64 = text[..split].parse().ok()?;
    let unit = match text[split..].trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    Some(Duration::from_secs(n.checked_mul(unit)?))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}
