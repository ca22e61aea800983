//! HTTP with reqwest: a whole-request timeout, a streamed body cap, bounded redirects, retries
//! with backoff for what may pass (connect errors, timeouts, 5xx, 429), and conditional GET.

use super::{FetchError, FetchSettings, Fetched, Outcome, Validators};
use reqwest::StatusCode;
use reqwest::header::{
    CONTENT_TYPE, ETAG, HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER,
};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use url::Url;

/// The longest wait a `Retry-After` may ask for before we give up on the source for this run.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// Redirects followed before a fetch fails.
const MAX_REDIRECTS: usize = 5;

/// Where the http client stopped at a redirect to https, for the https one to go on from.
fn to_https(response: &reqwest::Response) -> Option<Url> {
    let status = response.status();
    if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
        return None;
    }
    (response.headers().get(reqwest::header::LOCATION))
        .and_then(|l| l.to_str().ok())
        .and_then(|l| response.url().join(l).ok())
        .filter(|to| to.scheme() == "https")
}

/// Whether plain http goes through a proxy reached over TLS, which needs the trust store.
fn tls_proxy() -> bool {
    ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|p| p.trim().starts_with("https:")))
}

#[derive(Clone)]
pub struct Client {
    /// For http URLs, made at the first: without a trust store, which an http exchange does
    /// not use and whose reading was the larger part of a run over http (BENCHMARKS.md
    /// section 8). A redirect to https stops it; the request goes again through `https`.
    http: Arc<OnceLock<Result<reqwest::Client, String>>>,
    /// For https URLs, made at the first, reading the platform's roots.
    https: Arc<OnceLock<Result<reqwest::Client, String>>>,
    /// http goes through a proxy over TLS: every request takes the https client.
    tls_proxy: bool,
    settings: FetchSettings,
}

/// Installs rustls's crypto provider (ring) for the process, once: every HTTP client (the
/// fetcher's, the notifications') is built after it.
pub fn tls() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // Fails only when a provider is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// One attempt's failure, and whether another attempt may fare better.
struct Attempt {
    error: FetchError,
    retry: bool,
    wait: Option<Duration>,
}

impl Client {
    pub fn new(settings: &FetchSettings) -> Client {
        Client {
            http: Arc::default(),
            https: Arc::default(),
            tls_proxy: tls_proxy(),
            settings: settings.clone(),
        }
    }

    /// The client for https URLs (`secure`), or for http ones.
    fn client(&self, secure: bool) -> Result<&reqwest::Client, FetchError> {
        let cell = if secure { &self.https } else { &self.http };
        cell.get_or_init(|| {
            tls();
            let builder = reqwest::Client::builder()
                .user_agent(&self.settings.user_agent)
                .timeout(self.settings.timeout)
                .connect_timeout(self.settings.timeout);
            let builder = if secure {
                builder.redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            } else {
                let policy = reqwest::redirect::Policy::custom(|attempt| {
                    if attempt.url().scheme() != "http" {
                        attempt.stop()
                    } else if attempt.previous().len() > MAX_REDIRECTS {
                        attempt.error("too many redirects")
                    } else {
                        attempt.follow()
                    }
                });
                builder.tls_certs_only([]).redirect(policy)
            };
            builder
                .build()
                .map_err(|e| format!("cannot set up HTTP: {e}"))
        })
        .as_ref()
        .map_err(|e| FetchError::Network(e.clone()))
    }

    /// A GET of `url` with `validators`, through the client for https or for http.
    async fn send(
        &self,
        secure: bool,
        url: &Url,
        validators: &Validators,
    ) -> Result<reqwest::Response, Attempt> {
        let client = self.client(secure).map_err(fatal)?;
        let mut request = client.get(url.clone());
        if let Some(etag) = &validators.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &validators.last_modified {
            request = request.header(IF_MODIFIED_SINCE, lm);
        }
        request.send().await.map_err(|e| self.transport(e))
    }

    pub(super) fn settings(&self) -> &FetchSettings {
        &self.settings
    }

    pub(super) async fn get(
        &self,
        url: &Url,
        validators: &Validators,
    ) -> Result<Outcome, FetchError> {
        let mut attempt = 0;
        loop {
            match self.attempt(url, validators).await {
                Ok(outcome) => return Ok(outcome),
                Err(a) if a.retry && attempt < self.settings.retries => {
                    let wait = a.wait.unwrap_or_else(|| backoff(attempt));
                    if wait > MAX_RETRY_AFTER {
                        return Err(a.error);
                    }
                    tracing::debug!(%url, error = %a.error, ?wait, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(a) => return Err(a.error),
            }
        }
    }

    async fn attempt(&self, url: &Url, validators: &Validators) -> Result<Outcome, Attempt> {
        let secure = url.scheme() != "http" || self.tls_proxy;
        let mut response = self.send(secure, url, validators).await?;
        if let Some(next) = (!secure).then(|| to_https(&response)).flatten() {
            response = self.send(true, &next, validators).await?;
        }
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Outcome::NotModified);
        }
        if !status.is_success() {
            let retry = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
            return Err(Attempt {
                error: FetchError::Status(status.as_u16()),
                retry,
                wait: retry.then(|| retry_after(response.headers())).flatten(),
            });
        }
        let headers = response.headers().clone();
        let final_url = response.url().clone();
        let cap = self.settings.max_body_bytes;
        if response.content_length().is_some_and(|n| n > cap) {
            return Err(fatal(FetchError::TooLarge(cap)));
        }
        // Read as a stream and stop at the cap: a server that never ends its body costs us
        // `cap` bytes, not memory without bound.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(e))? {
            if (body.len() + chunk.len()) as u64 > cap {
                return Err(fatal(FetchError::TooLarge(cap)));
            }
            body.extend_from_slice(&chunk);
        }
        let header = |name| {
            headers
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok(Outcome::Fetched(Fetched {
            body,
            content_type: header(CONTENT_TYPE),
            url: final_url,
            validators: Validators {
                etag: header(ETAG),
                last_modified: header(LAST_MODIFIED),
            },
        }))
    }

    fn transport(&self, e: reqwest::Error) -> Attempt {
        if e.is_timeout() {
            return Attempt {
                error: FetchError::Timeout(self.settings.timeout_secs()),
                retry: true,
                wait: None,
            };
        }
        let retry = e.is_connect() || e.is_request() || e.is_body();
        let message = std::iter::once(e.to_string())
            .chain(super::causes(&e))
            .collect::<Vec<_>>()
            .join(": ");
        Attempt {
            error: FetchError::Network(message),
            retry: retry && !e.is_redirect(),
            wait: None,
        }
    }
}

fn fatal(error: FetchError) -> Attempt {
    Attempt {
        error,
        retry: false,
        wait: None,
    }
}

/// Exponential backoff with jitter: 0.5 s, 1 s, 2 s … plus up to a quarter more, so that many
/// kairan instances started by the same cron minute do not retry in step.
fn backoff(attempt: u32) -> Duration {
    let base = BACKOFF_BASE * 2u32.saturating_pow(attempt.min(10));
    base + base.mul_f64(fastrand::f64() / 4.0)
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}
