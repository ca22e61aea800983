//! The routes that tell how the server is doing: `/healthz` (the last refreshes and each
//! source's health, as JSON) and `/metrics` (the counters, in Prometheus's text format).

use super::App;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::sync::Arc;

pub(super) async fn healthz(State(app): State<Arc<App>>) -> Response {
    let s = app.snapshot.load();
    let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339());
    let failing = s.sources.iter().any(|h| h.consecutive_failures > 0);
    let status = match (s.last_success, failing) {
        (None, _) => "unavailable",
        (Some(_), true) => "degraded",
        (Some(_), false) => "ok",
    };
    let sources: Vec<_> = app
        .config
        .sources
        .iter()
        .map(|c| {
            let h = s.sources.iter().find(|h| h.id == c.id);
            json!({
                "id": c.id,
                "url": c.url.as_str(),
                "last_success": h.and_then(|h| h.last_success).map(|t| t.to_rfc3339()),
                "last_error": h.and_then(|h| h.last_error.clone()),
                "consecutive_failures": h.map_or(0, |h| h.consecutive_failures),
                "entries": h.map_or(0, |h| h.entries),
            })
        })
        .collect();
    let body = json!({
        "status": status,
        "last_refresh": time(s.last_refresh),
        "last_success": time(s.last_success),
        // With several nodes on one state, which one published what is served, and this one.
        "published_by": s.published_by,
        "node": crate::store::lock::this_process(),
        "sources": sources,
    });
    let code = if s.last_success.is_some() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    app.metrics.served(code.as_u16());
    let mut r = (code, format!("{body:#}\n")).into_response();
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub(super) async fn metrics(State(app): State<Arc<App>>) -> Response {
    app.metrics.served(200);
    let ids: Vec<String> = app.config.sources.iter().map(|s| s.id.clone()).collect();
    let notify: Vec<String> = app.config.notify.iter().map(|n| n.id.clone()).collect();
    let mut r = app.metrics.render(&ids, &notify).into_response();
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
