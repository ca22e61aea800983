//! kairan turns security-advisory listings (IPA's, and any HTML listing or feed) into
//! per-topic Atom feeds.
//!
//! Data flows one way, one stage per module:
//! [`config`] → [`fetch`] → [`extract`] → [`normalize`] → [`dedup`] → [`store`] →
//! [`classify`] → [`publish`], driven by [`pipeline`]; [`serve`] runs the same pipeline on a
//! schedule and serves what it published.

pub mod classify;
pub mod config;
pub mod dedup;
pub mod extract;
pub mod fetch;
pub mod model;
pub mod normalize;
pub mod pipeline;
pub mod publish;
pub mod serve;
pub mod store;

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

/// [`serve::serve`] on a runtime of its own, until SIGINT or SIGTERM.
pub fn serve(config: Config) -> Result<(), serve::ServeError> {
    runtime()
        .map_err(serve::ServeError::Serve)?
        .block_on(serve::serve(config))
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}
