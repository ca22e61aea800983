//! The object-storage target: every published file an object under a prefix of an
//! S3-compatible bucket (AWS, MinIO, Ceph RGW, R2, on-premises stores), with its content type
//! from the catalogue, its Cache-Control and its SHA-256, for a CDN to serve.
//!
//! What the bucket holds is known from the hashes kept in the state, never by listing it: an
//! unchanged file is not uploaded again, and a run that changed nothing sends no request.
//! Uploads go several at a time, each retried on 5xx and timeouts by object_store; the
//! site's pages last, after the feeds they list. A run that could not upload everything fails
//! naming the keys, and the next run uploads them, as their hashes were never kept.

use super::PublishError;
use super::catalogue::Kind;
use super::target::{Freshness, Target};
use crate::store::{Store, StoreError};
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as Key;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutOptions,
    PutPayload, RetryConfig,
};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// Uploads in flight at once.
const AT_ONCE: usize = 8;
/// Files, and bytes, held for upload before they are sent: bound the memory a large publish
/// takes (a month of a large feed's history is megabytes).
const BATCH: usize = 64;
const BATCH_BYTES: usize = 16 << 20;

/// `s3://bucket/prefix/`, as written in `[output] url` or `--out`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub bucket: String,
    /// Empty, or ending with `/`.
    pub prefix: String,
}

impl Address {
    pub fn parse(text: &str) -> Result<Address, String> {
        let rest = text
            .strip_prefix("s3://")
            .ok_or_else(|| format!("expected an s3://bucket/prefix/ URL, found \"{text}\""))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!(
                "\"{text}\" names no bucket: expected s3://bucket/prefix/"
            ));
        }
        let prefix = prefix.trim_matches('/');
        Ok(Address {
            bucket: bucket.to_owned(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        })
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// A file waiting for its upload.
struct Pending {
    kind: Kind,
    cache_control: String,
    path: String,
    bytes: Vec<u8>,
    /// The SHA-256 of its bytes, as the object's metadata says.
    sha256: String,
    /// What the state keeps of it: the hash and the Cache-Control, so that a new max-age is
    /// uploaded too.
    recorded: String,
}

pub struct Bucket {
    address: Address,
    place: String,
    client: Arc<AmazonS3>,
    /// Each published file's SHA-256 and Cache-Control, by path, as the state holds them and
    /// this run changes.
    hashes: HashMap<String, String>,
    interval: Duration,
    pending: Vec<Pending>,
    /// Uploaded or deleted since the state was last told: (path, hash or `None` for deleted).
    news: Vec<(String, Option<String>)>,
    /// Paths that could not be uploaded this run, with why.
    failed: Vec<(String, String)>,
}

impl Bucket {
    /// A client for the bucket from the standard AWS environment (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL`) and,
    /// where it is silent, the shared files' profile (`AWS_PROFILE`, `~/.aws/credentials`,
    /// `~/.aws/config`). Path-style requests, as MinIO, Ceph and other stores of one's own need.
    pub fn open(
        address: Address,
        store: &Store,
        interval: Duration,
    ) -> Result<Bucket, PublishError> {
        let place = address.to_string();
        // object_store's client is a reqwest one, over the same rustls as the fetcher's.
        crate::fetch::tls();
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&address.bucket);
        for (key, value) in profile::settings() {
            if builder.get_config_value(&key).is_none() {
                builder = builder.with_config(key, value);
            }
        }
        let endpoint = builder.get_config_value(&AmazonS3ConfigKey::Endpoint);
        let http = endpoint.as_ref().is_some_and(|e| e.starts_with("http://"));
        // Another store with a bucket of the same name is another place: what the state
        // recorded of one says nothing of the other.
        let place = match endpoint {
            Some(endpoint) => format!("{place} at {endpoint}"),
            None => place,
        };
        let hashes = (store.objects(&place)).map_err(|e| {
            failure(
                &place,
                format!("cannot read what it holds from the state: {e}"),
            )
        })?;
        let client = builder
            .with_virtual_hosted_style_request(false)
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(http)
                    .with_connect_timeout(Duration::from_secs(10))
                    .with_timeout(Duration::from_secs(60)),
            )
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(200),
                    max_backoff: Duration::from_secs(5),
                    base: 2.0,
                },
                max_retries: 4,
                retry_timeout: Duration::from_secs(60),
            })
            .build()
            .map_err(|e| failure(&place, e))?;
        Ok(Bucket {
            address,
            place,
            client: Arc::new(client),
            hashes,
            interval,
            pending: Vec::new(),
            news: Vec::new(),
            failed: Vec::new(),
        })
    }

    fn key(&self, path: &str) -> Key {
        Key::from(format!("{}{path}", self.address.prefix))
    }

    /// Uploads the pending files of `site` kind or not, [`AT_ONCE`] at a time, keeping the
    /// hashes of those that went up and the reasons of those that did not.
    fn flush(&mut self, site: bool) -> Result<(), PublishError> {
        let (now, later): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| Kind::SITE.contains(&p.kind) == site);
        self.pending = later;
        let jobs: Vec<_> = now
            .into_iter()
            .map(|p| {
                let mut attributes = Attributes::new();
                attributes.insert(Attribute::ContentType, p.kind.content_type().into());
                attributes.insert(Attribute::CacheControl, p.cache_control.clone().into());
                attributes.insert(
                    Attribute::Metadata("sha256".into()),
                    p.sha256.clone().into(),
                );
                let options = PutOptions {
                    attributes,
                    ..PutOptions::default()
                };
                (self.key(&p.path), p, options)
            })
            .collect();
        let client = self.client.clone();
        let results = crate::runtime::wait(async move {
            let mut results = Vec::new();
            let mut running = tokio::task::JoinSet::new();
            for (key, p, options) in jobs {
                if running.len() >= AT_ONCE
                    && let Some(done) = running.join_next().await
                {
                    results.push(done);
                }
                let client = client.clone();
                running.spawn(async move {
                    let put = client
                        .put_opts(&key, PutPayload::from(p.bytes), options)
                        .await;
                    (p.path, p.recorded, put.map(drop).map_err(|e| e.to_string()))
                });
            }
            while let Some(done) = running.join_next().await {
                results.push(done);
            }
            results
        })
        .map_err(|e| failure(&self.place, format!("cannot start the async runtime: {e}")))?;
        for result in results {
            match result {
                Ok((path, hash, Ok(()))) => {
                    self.hashes.insert(path.clone(), hash.clone());
                    self.news.push((path, Some(hash)));
                }
                Ok((path, _, Err(reason))) => self.failed.push((path, reason)),
                Err(e) => self.failed.push(("?".to_owned(), e.to_string())),
            }
        }
        Ok(())
    }
}

/// The bucket at `place` could not be reached or refused.
fn failure(place: &str, reason: impl std::fmt::Display) -> PublishError {
    PublishError::Bucket {
        place: place.to_owned(),
        reason: reason.to_string(),
    }
}

impl Target for Bucket {
    fn place(&self) -> &str {
        &self.place
    }

    fn has(&self, path: &str) -> bool {
        self.hashes.contains_key(path)
    }

    fn others(&self, live: &HashSet<&str>) -> Vec<String> {
        // Archives come and go with their months, by the state's record (`publish::archive`).
        (self.hashes.keys())
            .filter(|path| !live.contains(path.as_str()) && Kind::of_archive(path).is_none())
            .cloned()
            .collect()
    }

    fn stage(
        &mut self,
        kind: Kind,
        freshness: Freshness,
        path: &str,
        bytes: &[u8],
    ) -> Result<bool, PublishError> {
        let sha256 = crate::text::hex(&Sha256::digest(bytes));
        let cache_control = freshness.cache_control(self.interval);
        let recorded = format!("{sha256} {cache_control}");
        if self.hashes.get(path) == Some(&recorded) {
            return Ok(false);
        }
        self.pending.push(Pending {
            kind,
            cache_control,
            path: path.to_owned(),
            bytes: bytes.to_vec(),
            sha256,
            recorded,
        });
        let held = self
            .pending
            .iter()
            .filter(|p| !Kind::SITE.contains(&p.kind));
        let (count, bytes) = held.fold((0, 0), |(n, b), p| (n + 1, b + p.bytes.len()));
        if count >= BATCH || bytes >= BATCH_BYTES {
            self.flush(false)?;
        }
        Ok(true)
    }

    fn commit(&mut self) -> Result<(), PublishError> {
        self.flush(false)?;
        // The index and the OPML list only what is up: none goes up after a feed failed.
        if self.failed.is_empty() {
            self.flush(true)?;
        }
        self.pending.clear();
        if self.failed.is_empty() {
            return Ok(());
        }
        Err(PublishError::Upload {
            place: self.place.clone(),
            failed: std::mem::take(&mut self.failed),
        })
    }

    fn remove(&mut self, path: &str) -> Result<(), PublishError> {
        let key = self.key(path);
        let client = self.client.clone();
        let deleted = crate::runtime::wait(async move { client.delete(&key).await })
            .map_err(|e| failure(&self.place, e))?;
        match deleted {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                self.hashes.remove(path);
                self.news.push((path.to_owned(), None));
                Ok(())
            }
            Err(e) => Err(failure(&self.place, format!("cannot delete {path}: {e}"))),
        }
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, PublishError> {
        let key = self.key(path);
        let client = self.client.clone();
        let got = crate::runtime::wait(async move {
            match client.get(&key).await {
                Ok(found) => found.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .map_err(|e| failure(&self.place, e))?;
        got.map(|b| b.map(|b| b.to_vec()))
            .map_err(|e| failure(&self.place, format!("cannot read {path}: {e}")))
    }

    fn record(&mut self, store: &mut Store) -> Result<(), StoreError> {
        if self.news.is_empty() {
            return Ok(());
        }
        let mut put = Vec::new();
        let mut deleted = Vec::new();
        for (path, hash) in std::mem::take(&mut self.news) {
            match hash {
                Some(hash) => put.push((path, hash)),
                None => deleted.push(path),
            }
        }
        store.record_objects(&self.place, &put, &deleted)
    }
}

mod profile;

#[cfg(test)]
mod tests {
    use super::Address;

    #[test]
    fn addresses_keep_bucket_and_prefix_apart() {
        let a = Address::parse("s3://feeds/kairan/").unwrap();
        assert_eq!((a.bucket.as_str(), a.prefix.as_str()), ("feeds", "kairan/"));
        assert_eq!(a.to_string(), "s3://feeds/kairan/");
        let b = Address::parse("s3://feeds").unwrap();
        assert_eq!((b.bucket.as_str(), b.prefix.as_str()), ("feeds", ""));
        assert!(Address::parse("s3:///x").is_err());
        assert!(Address::parse("http://feeds/").is_err());
    }
}
