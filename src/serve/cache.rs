//! The published files held in memory for serving: each with its gzip and brotli forms, made
//! once per refresh (and only for files that changed), its ETag and its Last-Modified.

use crate::publish::OutputFile;
use crate::publish::catalogue::Kind;
use axum::body::{Body, Bytes};
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_SECURITY_POLICY,
    CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, VARY,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

/// One file, ready to be served in any of its encodings.
pub struct Cached {
    kind: Kind,
    content_type: &'static str,
    identity: Bytes,
    gzip: Option<Bytes>,
    br: Option<Bytes>,
    /// The identity form's strong ETag, without quotes; the other forms add `-gz` or `-br`.
    tag: String,
    /// The ETag header of each form, identity, gzip and brotli: made once, sent many times.
    etags: [HeaderValue; 3],
    last_modified: DateTime<Utc>,
    last_modified_header: HeaderValue,
}

/// Every file of one publish, by path (`feeds/all.atom`, `index.html`).
#[derive(Default, Clone)]
pub struct Files(HashMap<String, Arc<Cached>>);

impl Files {
    /// Prepares `files` for serving. A file whose bytes are those of `previous` keeps its
    /// compressed forms and its Last-Modified, so an unchanged refresh changes nothing a
    /// client can see.
    pub fn build(files: &[OutputFile], previous: &Files, now: DateTime<Utc>) -> Files {
        let map = files
            .iter()
            .map(|f| {
                let cached = match previous.0.get(&f.path) {
                    Some(old) if old.identity == f.bytes => old.clone(),
                    _ => Arc::new(Cached::new(f.kind, &f.bytes, now)),
                };
                (f.path.clone(), cached)
            })
            .collect();
        Files(map)
    }

    pub fn get(&self, path: &str) -> Option<&Cached> {
        self.0.get(path).map(Arc::as_ref)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Cached {
    pub fn new(kind: Kind, bytes: &[u8], now: DateTime<Utc>) -> Cached {
        let hash = Sha256::digest(bytes);
        let tag = crate::text::hex(&hash[..12]);
        Cached {
            kind,
            content_type: kind.content_type(),
            identity: Bytes::copy_from_slice(bytes),
            gzip: smaller(bytes, gzip(bytes)),
            br: smaller(bytes, brotli(bytes)),
            etags: ["", "-gz", "-br"].map(|suffix| value(&format!("\"{tag}{suffix}\""))),
            tag,
            last_modified: now,
            last_modified_header: value(&http_date(now)),
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// When the file last changed, as served.
    pub fn last_modified(&self) -> DateTime<Utc> {
        self.last_modified
    }

    /// The response to a GET or HEAD for this file: 304 when the client's copy is current,
    /// else the best encoding it accepts; `cache_control` is the server's, the same for every
    /// file.
    pub fn respond(
        &self,
        method: &Method,
        headers: &HeaderMap,
        cache_control: &HeaderValue,
    ) -> Response {
        let (form, encoding, body) = [(2, "br", &self.br), (1, "gzip", &self.gzip)]
            .into_iter()
            .find_map(|(form, name, bytes)| {
                bytes
                    .as_ref()
                    .filter(|_| accepts(headers, name))
                    .map(|b| (form, Some(name), b))
            })
            .unwrap_or((0, None, &self.identity));
        let mut response = Response::new(Body::empty());
        let h = response.headers_mut();
        h.insert(ETAG, self.etags[form].clone());
        h.insert(LAST_MODIFIED, self.last_modified_header.clone());
        h.insert(CACHE_CONTROL, cache_control.clone());
        h.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        if self.not_modified(headers) {
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            return response;
        }
        h.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        if self.content_type.starts_with("text/html") {
            // Our pages need no script and nothing from elsewhere; a portal may frame them.
            h.insert(
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'",
                ),
            );
        }
        if let Some(e) = encoding {
            h.insert(CONTENT_ENCODING, HeaderValue::from_static(e));
        }
        h.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        if method != Method::HEAD {
            *response.body_mut() = Body::from(body.clone());
        }
        response
    }

    /// If-None-Match decides when present (any of our encodings' tags, or `*`); otherwise
    /// If-Modified-Since, to the second.
    fn not_modified(&self, headers: &HeaderMap) -> bool {
        if let Some(inm) = headers.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
            return inm.split(',').map(str::trim).any(|t| {
                let t = t.strip_prefix("W/").unwrap_or(t);
                t == "*"
                    || t.strip_prefix('"')
                        .and_then(|t| t.strip_suffix('"'))
                        .and_then(|t| t.strip_prefix(self.tag.as_str()))
                        .is_some_and(|rest| matches!(rest, "" | "-gz" | "-br"))
            });
        }
        headers
            .get(IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
            .is_some_and(|since| self.last_modified.timestamp() <= since.timestamp())
    }
}

fn value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).expect("header values made here are visible ASCII")
}

fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Whether Accept-Encoding names `coding` (or `*`) with a non-zero q.
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let q = parts
                .find_map(|p| p.strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            (name.eq_ignore_ascii_case(coding) || name == "*") && q > 0.0
        })
}

/// A compressed form is kept only where it saves bytes.
fn smaller(original: &[u8], compressed: Vec<u8>) -> Option<Bytes> {
    (compressed.len() < original.len()).then(|| Bytes::from(compressed))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).expect("writing to memory cannot fail");
    e.finish().expect("writing to memory cannot fail")
}

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        // Quality 9 of 11: nearly the best ratio at a fraction of the time, once per change.
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 9, 22);
        w.write_all(bytes).expect("writing to memory cannot fail");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                value(v),
            );
        }
        h
    }

    #[test]
    fn accept_encoding_is_read_with_q_values() {
        let h = headers(&[("accept-encoding", "gzip, br")]);
        assert!(accepts(&h, "br") && accepts(&h, "gzip"));
        let h = headers(&[("accept-encoding", "br;q=0, GZIP;q=0.5")]);
        assert!(!accepts(&h, "br") && accepts(&h, "gzip"));
        assert!(accepts(&headers(&[("accept-encoding", "*")]), "br"));
        assert!(!accepts(
            &headers(&[("accept-encoding", "identity")]),
            "gzip"
        ));
        assert!(!accepts(&headers(&[]), "gzip"));
    }

    #[test]
    fn conditional_requests_match_any_of_our_tags() {
        let now = Utc::now();
        let c = Cached::new(Kind::Atom, &b"<feed/>".repeat(100), now);
        let tag = c.tag.clone();
        for inm in [
            format!("\"{tag}\""),
            format!("\"x\", \"{tag}-gz\""),
            format!("W/\"{tag}-br\""),
            "*".to_owned(),
        ] {
            assert!(
                c.not_modified(&headers(&[("if-none-match", &inm)])),
                "{inm}"
            );
        }
        assert!(!c.not_modified(&headers(&[("if-none-match", "\"other\"")])));
        assert!(!c.not_modified(&headers(&[("if-none-match", &format!("\"{tag}-xx\""))])));
        let later = http_date(now + chrono::TimeDelta::seconds(5));
        let earlier = http_date(now - chrono::TimeDelta::seconds(5));
        assert!(c.not_modified(&headers(&[("if-modified-since", &later)])));
        assert!(!c.not_modified(&headers(&[("if-modified-since", &earlier)])));
    }

    #[test]
    fn unchanged_files_keep_their_date_and_compressed_forms() {
        let first = Utc::now() - chrono::TimeDelta::hours(1);
        let files = |body: &str| {
            vec![OutputFile {
                kind: Kind::Index,
                path: "index.html".into(),
                bytes: body.repeat(50).into_bytes(),
            }]
        };
        let a = Files::build(&files("<p>a</p>"), &Files::default(), first);
        let b = Files::build(&files("<p>a</p>"), &a, Utc::now());
        assert!(Arc::ptr_eq(&a.0["index.html"], &b.0["index.html"]));
        let c = Files::build(&files("<p>b</p>"), &b, Utc::now());
        assert!(c.get("index.html").unwrap().last_modified > first);
        assert_ne!(
            c.get("index.html").unwrap().tag,
            a.get("index.html").unwrap().tag
        );
    }
}
