//! Many requests, politely: hosts in parallel, one request at a time per host, each body read
//! (parsed, extracted) on a blocking thread as soon as it arrives, so that parsing overlaps the
//! fetching. Listings use it; so will any per-entry fetch, whose requests must queue behind
//! each other per host in the same way.

use super::{Client, FetchError, Outcome, Validators};
use std::collections::BTreeMap;
use std::sync::Arc;
use url::Url;

/// One request of a schedule, and what it is for (`item`, handed back with the result).
pub struct Request<T> {
    pub url: Url,
    pub validators: Validators,
    pub item: T,
}

/// Turns one request's result into what the caller keeps; runs on a blocking thread.
pub type Read<T, R> = Arc<dyn Fn(T, Result<Outcome, FetchError>) -> R + Send + Sync>;

/// Called with a request's item when its fetch has ended, for a progress display.
pub type OnFetched<T> = Arc<dyn Fn(&T) + Send + Sync>;

/// Fetches every request and reads each result with `read`, as many reads at once as there are
/// cores. A host's next fetch waits for a free reader, so bodies never pile up in memory.
/// Results come back in the order of `requests`.
pub async fn fetch_all<T, R>(
    client: &Client,
    requests: Vec<Request<T>>,
    read: Read<T, R>,
    on_fetched: Option<OnFetched<T>>,
) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
{
    let count = requests.len();
    let readers = Arc::new(tokio::sync::Semaphore::new(
        std::thread::available_parallelism().map_or(2, usize::from),
    ));
    let mut by_host: BTreeMap<String, Vec<(usize, Request<T>)>> = BTreeMap::new();
    for (i, request) in requests.into_iter().enumerate() {
        by_host
            .entry(host(&request.url))
            .or_default()
            .push((i, request));
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (_, group) in by_host {
        let client = client.clone();
        let on_fetched = on_fetched.clone();
        let readers = readers.clone();
        let read = read.clone();
        tasks.spawn(async move {
            let mut reading = Vec::with_capacity(group.len());
            for (i, request) in group {
                let result = client.fetch(&request.url, &request.validators).await;
                let item = request.item;
                if let Some(f) = &on_fetched {
                    f(&item);
                }
                // Waiting for a reader holds this host's next fetch back: bodies do not pile up.
                let permit = readers.clone().acquire_owned().await.expect("never closed");
                let read = read.clone();
                reading.push((
                    i,
                    tokio::task::spawn_blocking(move || {
                        let _permit = permit;
                        read(item, result)
                    }),
                ));
            }
            reading
        });
    }
    let mut results: Vec<Option<R>> = (0..count).map(|_| None).collect();
    while let Some(done) = tasks.join_next().await {
        let reading = done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        for (i, result) in reading {
            let result = result
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            results[i] = Some(result);
        }
    }
    results.into_iter().flatten().collect()
}

/// Requests to one host and port share a queue.
fn host(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}
