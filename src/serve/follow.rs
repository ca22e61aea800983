//! Several `serve` nodes on one state (a PostgreSQL database behind a load balancer): the
//! refresh runs on whichever node holds the state's lock, and every other node follows it,
//! polling the state's publish stamp and, when it moves, taking the same feeds from the store.
//! Rendering is a function of the store and the settings, so every node serves the same bytes
//! under the same ETags.

use super::cache::Files;
use super::{App, Snapshot};
use crate::config::Config;
use crate::pipeline;
use crate::publish;
use crate::store::Store;
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;

/// How often a node looks for another node's publish: feeds converge within it.
const POLL: Duration = Duration::from_secs(2);

/// What the store holds as published, rendered, with the archives read from the output: what
/// a node serves at start, and what a follower takes. Files whose bytes are `previous`'s keep
/// their Last-Modified.
pub(super) fn from_store(
    config: &Config,
    store: &Store,
    previous: &Files,
) -> Result<Snapshot, pipeline::Error> {
    let (feeds, empty_updated) = pipeline::select_store(config, store)?;
    let mut rendered = publish::render(&config.publishing(), &feeds, empty_updated);
    // The live feeds link their archives: serve those as last written.
    let target = config.output.open(store, config.serve.interval)?;
    let archives = publish::archive::published(store, target.as_ref())?;
    rendered.files.extend(archives);
    let files = Files::build(&rendered.files, previous, Utc::now());
    let mut snapshot = Snapshot::new(files, Arc::new(feeds), empty_updated);
    snapshot.sources = store.health()?;
    snapshot.stamp = store.published_stamp()?;
    snapshot.published_by = store.published_by()?;
    Ok(snapshot)
}

/// Every [`POLL`], takes the store's publish when its stamp is not the served one. The store
/// stays open between polls; one that fails is opened again at the next.
pub(super) async fn follow_loop(app: Arc<App>) {
    let mut store: Option<Store> = None;
    loop {
        tokio::time::sleep(POLL).await;
        let served = app.snapshot.load_full();
        let follower = app.clone();
        let from = served.clone();
        let polled = tokio::task::spawn_blocking(move || {
            let result = poll(&follower.config, &mut store, &from);
            (store, result)
        })
        .await;
        let Ok((kept, result)) = polled else {
            store = None;
            continue;
        };
        store = kept;
        match result {
            Ok(Some(mut snapshot)) => {
                let _replacing = app.replacing.lock().unwrap_or_else(|e| e.into_inner());
                // Unless this node's own refresh put a publish in place meanwhile.
                if app.snapshot.load().stamp == served.stamp {
                    tracing::info!(
                        "took the feeds published by {}",
                        snapshot.published_by.as_deref().unwrap_or("another kairan")
                    );
                    let now = Utc::now();
                    snapshot.last_success = Some(now);
                    snapshot.last_refresh = Some(now);
                    snapshot.followed = Some(std::time::Instant::now());
                    app.snapshot.store(Arc::new(snapshot));
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!("cannot read the state for another node's publish: {e}");
                store = None;
            }
        }
    }
}

/// The store's publish, rendered, when its stamp is set and is not `served`'s. A publish that
/// moved while it was being read is left for the next poll: what is taken is whole.
fn poll(
    config: &Config,
    store: &mut Option<Store>,
    served: &Snapshot,
) -> Result<Option<Snapshot>, pipeline::Error> {
    if !config.state.may_exist() {
        return Ok(None);
    }
    let open = match store.take() {
        Some(open) => open,
        None => Store::open(&config.state)?,
    };
    let result = (|| {
        let stamp = open.published_stamp()?;
        // Empty while a publish is under way.
        let Some(stamp) = stamp.filter(|s| !s.is_empty() && Some(s) != served.stamp.as_ref())
        else {
            return Ok(None);
        };
        let mut snapshot = from_store(config, &open, &served.files)?;
        if open.published_stamp()?.as_ref() != Some(&stamp) {
            return Ok(None);
        }
        snapshot.stamp = Some(stamp);
        Ok(Some(snapshot))
    })();
    *store = Some(open);
    result
}
