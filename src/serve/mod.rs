//! `kairan serve`: refreshes on a schedule with the same pipeline as `run`, and serves what was
//! published from memory. The whole published set is swapped at once after each refresh, so a
//! request never sees half of one; a refresh that fails leaves the last good set served.

mod cache;
mod follow;
mod health;
mod listen;
mod metrics;
mod refresh;

use crate::config::Config;
use crate::pipeline;
use crate::publish::catalogue::Kind;
use crate::publish::filter::Filter;
use crate::publish::target::Freshness;
use crate::publish::{self, Feeds};
use crate::store::{SourceHealth, Store};
use arc_swap::ArcSwap;
use axum::Router;
use axum::extract::State;
use axum::http::header::{ACCESS_CONTROL_REQUEST_METHOD, ALLOW, ORIGIN};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use cache::{Cached, Files};
use chrono::FixedOffset;
use chrono::{DateTime, Utc};
use hyper::body::Incoming;
use listen::Answer;
use lru::LruCache;
use metrics::Metrics;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Instant;
use tower::{Layer, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start serving: {0}")]
    Start(std::io::Error),
    #[error(transparent)]
    State(#[from] pipeline::Error),
}

/// What is served between two refreshes.
struct Snapshot {
    files: Files,
    /// What each feed shows, for the variants a reader's query asks for.
    feeds: Arc<Feeds>,
    empty_updated: DateTime<FixedOffset>,
    /// Variants rendered so far, by path and canonical query; a new snapshot starts empty.
    variants: Mutex<LruCache<String, Arc<Cached>>>,
    /// When a refresh last published, and when one last ended at all.
    last_success: Option<DateTime<Utc>>,
    last_refresh: Option<DateTime<Utc>>,
    sources: Vec<SourceHealth>,
    /// The stamp of the publish it shows, and who made it: a node that shares the state with
    /// others takes their publish when the state's stamp is not this one.
    stamp: Option<String>,
    published_by: Option<String>,
    /// When it was taken from another node's publish: a node that follows a fresh one does
    /// not refresh as well.
    followed: Option<Instant>,
}

struct App {
    config: Config,
    snapshot: ArcSwap<Snapshot>,
    metrics: Metrics,
    /// Cache-Control with max-age the refresh interval: clients need not ask again before the
    /// next refresh. Made once, sent with every file.
    cache_control: HeaderValue,
    /// For archive documents, whose content stays: a day.
    archive_cache_control: HeaderValue,
    /// Held while a snapshot is replaced: by the refresh, or by the follower taking another
    /// node's publish.
    replacing: Mutex<()>,
}

/// Serves until SIGINT or SIGTERM, on `[serve] listen`, refreshing every `[serve] interval`.
pub async fn serve(config: Config) -> Result<(), ServeError> {
    let snapshot = initial_snapshot(&config)?;
    let addr = config.serve.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Listen { addr, source })?;
    let addr = listener.local_addr().unwrap_or(addr);
    let interval = config.serve.interval.as_secs();
    let app = Arc::new(App {
        cache_control: HeaderValue::try_from(Freshness::Live.cache_control(config.serve.interval))
            .expect("digits are a valid header value"),
        archive_cache_control: HeaderValue::try_from(
            Freshness::Settled.cache_control(config.serve.interval),
        )
        .expect("digits are a valid header value"),
        snapshot: ArcSwap::from_pointee(snapshot),
        replacing: Mutex::new(()),
        metrics: Metrics::default(),
        config,
    });
    tracing::info!("serving http://{addr}/ , refreshing every {interval} s");
    let refresher = tokio::spawn(refresh::refresh_loop(app.clone()));
    let follower = tokio::spawn(follow::follow_loop(app.clone()));
    let limits = app.config.serve.limits;
    listen::serve(listener, service(app), limits, shutdown_signal())
        .await
        .map_err(ServeError::Start)?;
    // A refresh is stopped at its next wait; its store commit and file writes do not wait,
    // so each is whole or not done.
    refresher.abort();
    follower.abort();
    Ok(())
}

/// Feed variants kept per snapshot: each is rendered once, on its first request.
const VARIANTS: usize = 256;

impl Snapshot {
    fn new(files: Files, feeds: Arc<Feeds>, empty_updated: DateTime<FixedOffset>) -> Snapshot {
        Snapshot {
            files,
            feeds,
            empty_updated,
            variants: Mutex::new(LruCache::new(
                NonZeroUsize::new(VARIANTS).expect("not zero"),
            )),
            last_success: None,
            last_refresh: None,
            sources: Vec::new(),
            stamp: None,
            published_by: None,
            followed: None,
        }
    }

    /// The same files, feeds and health, to be stored in its place with times of its own.
    fn carried(&self) -> Snapshot {
        let mut s = Snapshot::new(self.files.clone(), self.feeds.clone(), self.empty_updated);
        s.last_success = self.last_success;
        s.last_refresh = self.last_refresh;
        s.sources = self.sources.clone();
        s.stamp = self.stamp.clone();
        s.published_by = self.published_by.clone();
        s.followed = self.followed;
        s
    }

    /// A variant rendered before, by its key (`path?canonical query`).
    fn cached(&self, key: &str) -> Option<Arc<Cached>> {
        let mut cache = self.variants.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(key).cloned()
    }

    fn keep(&self, key: String, file: Arc<Cached>) {
        let mut cache = self.variants.lock().unwrap_or_else(|e| e.into_inner());
        cache.put(key, file);
    }

    /// The feed at `path` narrowed by `filter`, rendered and compressed now: off the async
    /// threads, and without the cache's lock, which other requests wait on.
    fn render(&self, config: &Config, path: &str, filter: &Filter) -> Option<Arc<Cached>> {
        let (kind, slug) = Kind::of_feed(path)?;
        let bytes = publish::render_variant(
            &config.publishing(),
            &self.feeds,
            self.empty_updated,
            kind,
            slug,
            filter,
        )?;
        // The variant changed when its feed did.
        let since = self
            .files
            .get(path)
            .map_or_else(Utc::now, Cached::last_modified);
        Some(Arc::new(Cached::new(kind, &bytes, since)))
    }
}

/// A feed narrowed by a reader's query: from the snapshot's cache, or rendered on a blocking
/// thread and kept.
async fn variant(
    app: &Arc<App>,
    snapshot: Arc<Snapshot>,
    path: &str,
    filter: Filter,
) -> Option<Arc<Cached>> {
    let key = format!("{path}?{}", filter.canonical);
    if let Some(hit) = snapshot.cached(&key) {
        return Some(hit);
    }
    let (app, path, held) = (app.clone(), path.to_owned(), snapshot.clone());
    let made = tokio::task::spawn_blocking(move || held.render(&app.config, &path, &filter))
        .await
        .ok()
        .flatten()?;
    snapshot.keep(key, made.clone());
    Some(made)
}

/// What the store already holds, so that a restart serves at once what was published. A state
/// that is there but cannot be read stops `serve` before it listens: serving would refresh into
/// it, or serve nothing while saying it is up.
fn initial_snapshot(config: &Config) -> Result<Snapshot, pipeline::Error> {
    let nothing = || {
        let feeds = Arc::new(Feeds::default());
        Snapshot::new(Files::default(), feeds, Utc::now().fixed_offset())
    };
    if !config.state.may_exist() {
        return Ok(nothing());
    }
    let store = Store::open(&config.state)?;
    if store.health()?.is_empty() {
        // A database made but never refreshed holds nothing published either.
        return Ok(nothing());
    }
    follow::from_store(config, &store, &Files::default())
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler can be installed");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("stopping");
}

/// How every request is answered: refusals first ([`refusal`]), then CORS around the rest,
/// of which a published file asked for without a query, most requests, is answered at once
/// ([`file_at_once`]) and anything else by the router.
fn service(app: Arc<App>) -> impl Answer {
    let origins = &app.config.serve.cors_origins;
    // A response varies with the request's Origin only where some origins, not all, are
    // listed: with "*" (or none) every origin gets the same answer, and a `Vary: Origin` would
    // have a CDN keep a copy per portal. The CORS layer reads no other request header for a
    // response that can be cached (the methods allowed are fixed; preflights are OPTIONS).
    let any = origins.iter().any(|o| o == "*");
    let allow = if any {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let vary = if any || origins.is_empty() {
        Vec::new()
    } else {
        vec![ORIGIN]
    };
    let cors = CorsLayer::new()
        .allow_methods([Method::GET, Method::HEAD])
        .allow_origin(allow)
        .vary(vary);
    let router = Router::new()
        .route("/healthz", axum::routing::get(health::healthz))
        .route("/metrics", axum::routing::get(health::metrics))
        .fallback(published)
        .with_state(app.clone());
    let files = app.clone();
    let allowed = cors.layer(answer_first(move |r| file_at_once(&files, r), router));
    answer_first(move |r| refusal(&app, r), allowed)
}

/// `answer`'s response where it has one, else whatever `next` answers.
fn answer_first<S: Answer>(
    answer: impl Fn(&Request<Incoming>) -> Option<Response> + Clone + Send + 'static,
    next: S,
) -> impl Answer {
    tower::service_fn(move |request: Request<Incoming>| {
        let answered = answer(&request);
        let next = next.clone();
        async move {
            match answered {
                Some(response) => Ok(response),
                None => next.oneshot(request).await,
            }
        }
    })
}

/// What is refused before CORS or any route sees it: a method that could change something, a
/// request target past `[serve] max_uri_bytes`; and a plain OPTIONS, answered with what is
/// allowed (a CORS preflight goes on to the CORS layer, which takes any OPTIONS for one).
fn refusal<B>(app: &App, request: &Request<B>) -> Option<Response> {
    let method = request.method();
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    let refused = if !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        allowing(StatusCode::METHOD_NOT_ALLOWED)
    } else if target > app.config.serve.limits.max_uri_bytes {
        StatusCode::URI_TOO_LONG.into_response()
    } else if method == Method::OPTIONS
        && !request
            .headers()
            .contains_key(ACCESS_CONTROL_REQUEST_METHOD)
    {
        allowing(StatusCode::NO_CONTENT)
    } else {
        return None;
    };
    app.metrics.served(refused.status().as_u16());
    Some(refused)
}

/// A published file asked for by GET or HEAD without a query, answered without the router:
/// most requests are these, and the router's matching and extractors (the request's headers
/// copied) cost about a tenth of serve's CPU per request (BENCHMARKS.md section 13). Anything
/// else, or a file that is not there, goes on to the router.
fn file_at_once<B>(app: &App, request: &Request<B>) -> Option<Response> {
    let (method, uri) = (request.method(), request.uri());
    if !matches!(*method, Method::GET | Method::HEAD) || uri.query().is_some() {
        return None;
    }
    let key = file_key(uri.path())?;
    let response = file(app, &app.snapshot.load(), key, method, request.headers())?;
    app.metrics.served(response.status().as_u16());
    Some(response)
}

fn allowing(status: StatusCode) -> Response {
    let mut r = status.into_response();
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET, HEAD, OPTIONS"));
    r
}

/// Every published file, by its path under the output directory; nothing else, and never the
/// file system.
async fn published(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let response = if let Some(key) = file_key(uri.path()) {
        let snapshot = app.snapshot.load_full();
        let filter = uri
            .query()
            .filter(|_| Kind::of_feed(key).is_some() && snapshot.files.get(key).is_some())
            .map(|q| Filter::parse(q, app.config.site.max_entries));
        match filter {
            _ if snapshot.files.is_empty() => not_ready(),
            Some(Err(reason)) => (StatusCode::BAD_REQUEST, format!("{reason}\n")).into_response(),
            Some(Ok(filter)) if !filter.canonical.is_empty() => {
                match variant(&app, snapshot, key, filter).await {
                    Some(file) => file.respond(&method, &headers, &app.cache_control),
                    None => StatusCode::NOT_FOUND.into_response(),
                }
            }
            _ => file(&app, &snapshot, key, &method, &headers)
                .unwrap_or_else(|| StatusCode::NOT_FOUND.into_response()),
        }
    } else {
        StatusCode::BAD_REQUEST.into_response()
    };
    app.metrics.served(response.status().as_u16());
    response
}

/// The published file a request's path names (the index for `/`); none for a path that
/// tries to leave the published set: traversal and its disguises are refused outright rather
/// than looked up.
fn file_key(path: &str) -> Option<&str> {
    if ["..", "%", "\\", "//"].iter().any(|p| path.contains(p)) {
        return None;
    }
    Some(match path.trim_start_matches('/') {
        "" => "index.html",
        p => p,
    })
}

/// The response for the published file `key`, if there is one: older archive months, which
/// no longer change, with the long cache life; the newest gains entries as they leave the
/// live feed.
fn file(
    app: &App,
    snapshot: &Snapshot,
    key: &str,
    method: &Method,
    headers: &HeaderMap,
) -> Option<Response> {
    let file = snapshot.files.get(key)?;
    let cache_control = if file.kind().is_archive() && !newest_archive(app, snapshot, key) {
        &app.archive_cache_control
    } else {
        &app.cache_control
    };
    Some(file.respond(method, headers, cache_control))
}

/// Whether `path` is its feed's newest archive document (`feeds/archive/<feed>/<month>.…`).
fn newest_archive(app: &App, snapshot: &Snapshot, path: &str) -> bool {
    let Some((slug, month)) = Kind::of_archive(path) else {
        return false;
    };
    let feeds = &snapshot.feeds;
    let selection = if slug == publish::ALL {
        Some(&feeds.all)
    } else {
        let topic = app.config.topics.iter().position(|t| t.id == slug);
        topic.and_then(|i| feeds.topics.get(i))
    };
    selection.and_then(|s| s.newest_archive.as_deref()) == Some(month)
}

fn not_ready() -> Response {
    let mut r = (
        StatusCode::SERVICE_UNAVAILABLE,
        "nothing published yet: the first refresh is running\n",
    )
        .into_response();
    r.headers_mut()
        .insert("retry-after", HeaderValue::from_static("10"));
    r
}
