//! kairan turns security-advisory listings (IPA's, and any HTML listing or feed) into
//! per-topic Atom feeds.
//!
//! Data flows one way, one stage per module:
//!
//! ```text
//! config → fetch → extract → normalize → dedup → article → classify → store → publish → notify
//!                                                                        (pipeline; serve)
//! ```
//!
//! The modules, in the order they may import each other (each imports only modules above it;
//! a test holds the code to this):
//!
//! | module | what it owns |
//! |---|---|
//! | [`model`] | the rows and entries every stage speaks |
//! | [`text`] | text as people write it: cleanup, folding, the one date parser |
//! | [`runtime`] | blocking clients called from async code, async ones from blocking code |
//! | [`fetch`] | bytes from a URL or file: client, per-host schedule, charsets; its settings |
//! | [`extract`] | bytes → raw rows: HTML by CSS selectors, feeds; the selectors |
//! | [`normalize`] | raw rows → entries: links, dates, keys |
//! | [`source`] | one source read (fetch → extract → normalize) and its outcome |
//! | [`dedup`] | equal keys merge, nothing else does |
//! | [`classify`] | topics and their rules |
//! | [`store`] | the state: update rules, backends, the run lock |
//! | [`publish`] | the output catalogue and each format; selection from the store |
//! | [`notify`] | new entries told to webhooks, Slack, Teams and e-mail; the outbox emptied |
//! | [`config`] | read first, imported last: compiles the file into each stage's settings |
//! | [`suggest`] | a source for a page nobody described: its feed, or its listing found and verified |
//! | [`article`] | each entry's own page: which to read, fetched politely, read by the source's rule |
//! | [`pipeline`] | one refresh, orchestrated |
//! | [`serve`] | the daemon: the pipeline on a schedule, the output from memory |

pub mod article;
pub mod classify;
pub mod config;
pub mod dedup;
pub mod extract;
pub mod fetch;
pub mod model;
pub mod normalize;
pub mod notify;
pub mod pipeline;
pub mod publish;
pub mod runtime;
pub mod serve;
pub mod source;
pub mod store;
pub mod suggest;
pub mod text;

pub use config::Config;
pub use pipeline::{Options, Report, refresh};

/// Runs one refresh to completion on a runtime of its own, for callers that are not async.
pub fn run(config: &Config, options: Options) -> Result<Report, pipeline::Error> {
    runtime()
        .map_err(pipeline::Error::Runtime)?
        .block_on(refresh(config, options))
}

/// [`pipeline::inspect`] on a runtime of its own: what a refresh would make of the sources,
/// with nothing stored or written.
pub fn inspect(
    config: &Config,
    page: Option<&std::path::Path>,
) -> Result<pipeline::Inspection, pipeline::Error> {
    runtime()
        .map_err(pipeline::Error::Runtime)?
        .block_on(pipeline::inspect(config, page))
}

/// [`article::inspect`] on a runtime of its own: what `source`'s article rule reads from the
/// pages of its first `count` entries, fetched now. Stores nothing.
pub fn inspect_articles(
    config: &Config,
    source: &str,
    entries: &[model::Entry],
    count: usize,
) -> std::io::Result<Vec<article::Inspected>> {
    let client = fetch::Client::new(&config.fetch);
    Ok(runtime()?.block_on(article::inspect(config, &client, source, entries, count)))
}

/// [`suggest::fetch`] on a runtime of its own: a page read as `run` reads it.
pub fn fetch_page(
    url: &url::Url,
    settings: &fetch::FetchSettings,
) -> Result<fetch::Fetched, fetch::FetchError> {
    runtime()
        .map_err(|e| fetch::FetchError::Network(format!("cannot start the async runtime: {e}")))?
        .block_on(suggest::fetch(url, settings))
}

/// [`serve::serve`] on a runtime of its own, until SIGINT or SIGTERM.
pub fn serve(config: Config) -> Result<(), serve::ServeError> {
    let runtime = runtime().map_err(serve::ServeError::Start)?;
    let served = runtime.block_on(serve::serve(config));
    // Not the default drop, which waits for a refresh's blocking work however long it takes:
    // a stop is prompt, and what that work writes is whole or not done (one transaction, files
    // renamed into place).
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    served
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}
