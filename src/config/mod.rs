//! TOML → validated, compiled [`Config`]. Every check happens here, once, with the file, line and
//! key in the message, so that later stages can trust what they are given.
//!
//! Two layers, as ripgrep keeps its arguments: [`raw`] is the file as written (serde structs
//! and the defaults of every optional key), [`compile`] gives each value its meaning and
//! builds each stage's settings (fetch settings, selectors, topic rules, the site), which
//! the stages themselves own.

pub mod compile;
mod notify;
mod places;
pub mod raw;
mod values;

use crate::classify::Classifier;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::classify::Topic;
pub use crate::extract::html::Selectors;
pub use crate::fetch::FetchSettings;
pub use crate::publish::Site;
pub use crate::source::{Source, SourceKind};

/// The shipped configuration, compiled into the binary.
pub const DEFAULT_CONFIG: &str = include_str!("../../config/ipa.toml");
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
    #[error("{path}{}: `{key}`: {message}", at.map_or_else(String::new, |(l, c)| format!(":{l}:{c}")))]
    Invalid {
        path: String,
        /// Line and column (1-based) where the value is; `None` when the key is missing.
        at: Option<(usize, usize)>,
        key: String,
        message: String,
    },
    #[error(
        "the output directory {} {} the state file {}: what is in the output directory is \
         published; set them apart ([output] dir or --out, [state] path or --state)",
        output.display(),
        if output == state { "is" } else { "holds" },
        state.display()
    )]
    Places { output: PathBuf, state: PathBuf },
}

/// A compiled configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the configuration came from, for messages.
    pub origin: String,
    pub site: Site,
    /// `[output] dir` or `url`, or `--out`.
    pub output: crate::publish::target::Output,
    /// `[state] path` or `url`, `KAIRAN_STATE_URL`, or `--state`.
    pub state: crate::store::Location,
    pub fetch: FetchSettings,
    /// Entries listed in each `embed/<topic>.html`.
    pub embed_entries: usize,
    /// `[output] archives`: the history of each feed, a month per document (RFC 5005).
    pub archives: bool,
    pub serve: ServeSettings,
    pub sources: Vec<Source>,
    pub topics: Vec<Topic>,
    /// The topics' rules, compiled.
    pub classifier: Classifier,
    /// `[[notify]]`: who is told of new entries, and how.
    pub notify: Vec<crate::notify::Notify>,
}

/// `kairan serve`: where it listens, how often it refreshes, which origins may read the feeds
/// from a browser.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub listen: std::net::SocketAddr,
    pub interval: Duration,
    /// Origins allowed by CORS; `*` allows any.
    pub cors_origins: Vec<String>,
    /// What a client may ask of the server before it is shed.
    pub limits: ServeLimits,
}

/// The bounds `serve` puts on each client, so that slow or hostile ones cannot hold it.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// The time a connection has to send a whole request head, counted from when it opened or
    /// its previous response ended: it bounds both a half-sent request and an idle keep-alive.
    pub header_timeout: Duration,
    /// Connections served at once; beyond it new ones wait in the listen backlog.
    pub max_connections: usize,
    /// A request head (request line and headers) larger than this gets 431.
    pub max_header_bytes: usize,
    /// A request target (path and query) longer than this gets 414.
    pub max_uri_bytes: usize,
}

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
        let raw: raw::RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: origin.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        compile::Compiler { text, origin }.compile(raw)
    }

    /// Checks what only the final paths can tell, once the command line has overridden the
    /// file's: that the output directory neither is nor holds the state.
    pub fn check_places(&self) -> Result<(), ConfigError> {
        use crate::publish::target::Output;
        use crate::store::Location;
        let (Output::Dir(output), Location::File(state)) = (&self.output, &self.state) else {
            return Ok(());
        };
        let output = absolute(output);
        let state = absolute(state);
        if state.starts_with(&output) {
            return Err(ConfigError::Places { output, state });
        }
        Ok(())
    }

    /// What publishing needs of it.
    pub fn publishing(&self) -> crate::publish::Settings<'_> {
        crate::publish::Settings {
            site: &self.site,
            sources: &self.sources,
            topics: &self.topics,
            classifier: &self.classifier,
            embed_entries: self.embed_entries,
            archives: self.archives,
        }
    }

    /// What sending notifications needs of it.
    pub fn notifying(&self) -> crate::notify::Settings<'_> {
        crate::notify::Settings {
            notify: &self.notify,
            site: &self.site,
            topics: &self.topics,
            user_agent: &self.fetch.user_agent,
            timeout: self.fetch.timeout,
        }
    }

    /// Each notification's interest, as the store queues news for it.
    pub fn subscriptions(&self) -> Vec<crate::store::Subscription> {
        self.notify
            .iter()
            .map(crate::notify::Notify::subscription)
            .collect()
    }
}

/// `path` as the system resolves it: its longest existing part through the file system
/// (symlinks and `..` as the kernel follows them), the rest, which does not exist yet, by its
/// text. So a symlink or `a/../b` cannot hide that two paths meet.
fn absolute(path: &Path) -> PathBuf {
    let full = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let parts: Vec<std::path::Component<'_>> = full.components().collect();
    // The longest prefix that exists, canonicalized as it is written.
    let (mut real, rest) = (0..=parts.len())
        .rev()
        .find_map(|n| {
            let prefix: PathBuf = parts[..n].iter().collect();
            prefix.canonicalize().ok().map(|r| (r, &parts[n..]))
        })
        .unwrap_or_else(|| (PathBuf::new(), &parts[..]));
    for part in rest {
        match part {
            std::path::Component::ParentDir => {
                real.pop();
            }
            std::path::Component::CurDir => {}
            other => real.push(other),
        }
    }
    real
}
