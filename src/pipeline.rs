//! One refresh, orchestrated: each source fetched, extracted and normalized
//! ([`crate::fetch::schedule`], [`crate::source::read`]), repeats merged, entries classified and
//! stored, feeds published. Orchestration only: each step is its stage's.
//!
//! A source's failure is a value in the [`Report`], not an early return: the other sources go
//! on, what the failed source published before stays in the store, and so in the feeds.

use crate::article;
use crate::classify::Folded;
use crate::config::Config;
use crate::dedup::{Merge, Rows, dedup};
use crate::fetch::schedule::{self, Request};
use crate::fetch::{self, Client, Validators};
use crate::model::Entry;
use crate::notify::{self, Delivery};
use crate::publish::target::{Output, Target};
use crate::publish::{self, Feeds, PublishError, Published, Rendered};
use crate::source::{self, Source, SourceReport};
use crate::store::{self, Changes, Location, Lock, LockError, SourceHealth, Store, StoreError};
use chrono::{DateTime, FixedOffset, SubsecRound};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;
use url::Url;

/// A failure that stops the whole refresh: nothing can be recorded or published.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Archive(#[from] publish::archive::ArchiveError),
    #[error("cannot create {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0}: not a path that can be read")]
    Page(String),
    #[error(
        "a saved page is read as the body of one source, and the configuration has {0}: name it with --source"
    )]
    PageForSources(usize),
}

#[derive(Debug)]
pub struct Report {
    pub sources: Vec<SourceReport>,
    /// Keys under which rows were merged as repeats.
    pub merges: Vec<Merge>,
    pub changes: Changes,
    /// Entries in the store, all published up to each feed's `max_entries`.
    pub stored: usize,
    pub published: Published,
    /// What each feed shows, as published, for `serve` to narrow by a reader's query.
    pub feeds: Feeds,
    /// The date of a feed with no entry.
    pub empty_updated: DateTime<FixedOffset>,
    /// Every source's health as the state holds it after this refresh, when
    /// [`Options::health`] asked for it.
    pub health: Option<Vec<SourceHealth>>,
    /// What the notifications' receivers were sent, and what failed.
    pub notified: Delivery,
    /// The stamp of what is published ([`publish::stamp`]): `serve` nodes that share the
    /// state compare it with the state's to notice another node's publish.
    pub stamp: String,
}

impl Report {
    pub fn failures(&self) -> impl Iterator<Item = (&SourceReport, &source::SourceError)> {
        self.sources
            .iter()
            .filter_map(|s| s.failure().map(|e| (s, e)))
    }
}

/// Called with a source's id when its fetch has ended, for a progress display.
pub type OnFetched = Arc<dyn Fn(&str) + Send + Sync>;

/// How a refresh goes about its work.
#[derive(Clone, Default)]
pub struct Options {
    /// Wait for a refresh that holds the state's lock to end, instead of failing at once.
    pub wait_for_lock: bool,
    pub on_fetched: Option<OnFetched>,
    /// Read every source's health into the report, as `serve` shows it; a cron run has no
    /// use for it.
    pub health: bool,
    /// Put every published file in the report, rendered, the unchanged archives read back:
    /// `serve` answers from memory. A cron run that finds the store and the settings as the
    /// last publish left them (its stamp), and every file in place, renders and reads nothing.
    pub all_files: bool,
}

/// Runs one refresh with the paths in `config`.
pub async fn refresh(config: &Config, options: Options) -> Result<Report, Error> {
    // A state file's directory is made; a database is there or not.
    if let Location::File(path) = &config.state
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| Error::Dir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let state = config.state.clone();
    // Held to the end of the refresh; waiting for it blocks, so off the async threads.
    let wait = options.wait_for_lock;
    let _lock = tokio::task::spawn_blocking(move || Lock::acquire(&state, wait))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
    let state = config.state.clone();
    let opening = tokio::task::spawn_blocking(move || Store::open(&state));
    let opened = |opening: Result<_, tokio::task::JoinError>| -> Result<Store, Error> {
        Ok(opening.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?)
    };
    let client = Client::new(&config.fetch);
    let now = now(config);
    // Where the time of a refresh goes, in the debug log (`KAIRAN_LOG=kairan=debug`).
    let mut lap = Instant::now();
    let mut timed = |stage: &str| {
        tracing::debug!("{stage}: {} ms", lap.elapsed().as_millis());
        lap = Instant::now();
    };
    let (mut store, (mut sources, mut rows)) = if config.state.may_exist() {
        let store = opened(opening.await)?;
        let validators = (config.sources.iter())
            .map(|s| store.validators(&s.id, now))
            .collect::<Result<_, _>>()?;
        let gathered = gather_rows(config, &client, validators, options.on_fetched).await;
        (store, gathered)
    } else {
        // A new state knows no validators: the sources are read while it is made (and no
        // longer once it cannot be).
        let none = vec![Validators::default(); config.sources.len()];
        let gathering = gather_rows(config, &client, none, options.on_fetched);
        tokio::try_join!(async { opened(opening.await) }, async {
            Ok(gathering.await)
        })?
    };
    timed("fetched, extracted and normalized");
    let plan = crate::runtime::blocking(|| article::Plan::new(config, &store, &mut rows, now))?;
    let articles = article::gather(config, &client, plan).await;
    for w in articles.warnings {
        if let Some(s) = sources.iter_mut().find(|s| s.id == w.source) {
            s.warnings.push(w);
        }
    }
    timed("articles read");
    let refresh = store::Refresh {
        sources: &sources,
        articles: &articles.notes,
        subscriptions: &config.subscriptions(),
    };
    // Each a run of blocking database work: taken off the async threads once, not per
    // statement (a database's client otherwise hands its worker over at every round trip).
    let (changes, merges) =
        crate::runtime::blocking(|| remember(config, &mut store, now, &refresh, &mut rows))?;
    timed("classified and stored");
    let publishing =
        crate::runtime::blocking(|| publish_all(config, &mut store, options.all_files));
    timed("published");
    // The entries are stored: their news goes out even when the files could not be written.
    let notified = notify::deliver(&config.notifying(), &mut store, now).await?;
    let (feeds, empty_updated, published, stamp) = publishing?;
    timed("notified");
    Ok(Report {
        sources,
        merges,
        changes,
        stored: store.count()?,
        published,
        feeds,
        empty_updated,
        health: options.health.then(|| store.health()).transpose()?,
        notified,
        stamp,
    })
}

/// What a publish leaves: every feed's selection, the date of an empty feed, the files and the
/// stamp.
type Publishing = (Feeds, DateTime<FixedOffset>, Published, String);

/// Publishes every file from the store, archives first, and stamps the state; renders nothing
/// when the stamp shows nothing changed since the last publish and every file is in place
/// (unless `all_files`: `serve` answers from memory).
fn publish_all(config: &Config, store: &mut Store, all_files: bool) -> Result<Publishing, Error> {
    let mut target = config.output.open(store, config.serve.interval)?;
    let published = publish_to(config, store, target.as_mut(), all_files);
    if published.is_err() {
        // What did go up is kept, so that the next run sends only the rest; the publish's
        // own failure is the one to tell.
        if let Err(e) = target.record(store) {
            tracing::warn!("cannot keep what was uploaded: {e}");
        }
    }
    published
}

/// [`publish_all`] to an opened target.
fn publish_to(
    config: &Config,
    store: &mut Store,
    target: &mut dyn Target,
    all_files: bool,
) -> Result<Publishing, Error> {
    let settings = config.publishing();
    let stamp = publish::stamp::of(&settings, store.generation()?, target.place());
    let done = if !all_files
        && store.published_stamp()?.as_deref() == Some(stamp.as_str())
        && publish::stamp::all_present(&settings, target)
        && publish::archive::in_place(store, target)?
    {
        // Nothing the files are made of moved since they were written, and they are there.
        let unchanged = Published {
            unchanged: publish::stamp::live_paths(&settings).count(),
            ..Published::default()
        };
        (Feeds::default(), store.created()?, unchanged)
    } else {
        // Cleared first: a publish that fails halfway must not leave the last one's stamp on a
        // half-written set.
        store.set_published_stamp("")?;
        let (mut feeds, empty_updated) = select_store(config, store)?;
        // The archives first: the live feeds link to them.
        let archived = publish::archive::publish(
            &settings,
            store,
            target,
            &mut feeds,
            empty_updated,
            all_files,
        )?;
        let mut published = publish::publish(&settings, target, &feeds, empty_updated)?;
        published.written.extend(archived.written);
        published.unchanged += archived.unchanged;
        published.files.extend(archived.files);
        // Whatever the target must remember (a bucket's hashes) before the stamp says done.
        target.record(store)?;
        store.set_published_stamp(&stamp)?;
        store.set_published_by(&store::lock::publisher(chrono::Utc::now()))?;
        (feeds, empty_updated, published)
    };
    Ok((done.0, done.1, done.2, stamp))
}

/// Fetches every source, sending `validators[i]` for `config.sources[i]`, and reads each body
/// as it arrives, politely per host ([`schedule::fetch_all`]); `read` makes what is kept of
/// each, in the order of the sources.
async fn gather<R: Send + 'static>(
    config: &Config,
    client: &Client,
    validators: Vec<Validators>,
    on_fetched: Option<OnFetched>,
    read: impl Fn(&Source, Result<fetch::Outcome, fetch::FetchError>) -> R + Send + Sync + 'static,
) -> Vec<R> {
    let requests = (config.sources.iter().zip(validators))
        .map(|(source, validators)| Request {
            url: source.url.clone(),
            validators,
            item: source.clone(),
        })
        .collect();
    let read: schedule::Read<Source, _> =
        Arc::new(move |source: Source, result| read(&source, result));
    let on_fetched = on_fetched.map(|f| Arc::new(move |s: &Source| f(&s.id)) as _);
    schedule::fetch_all(client, requests, read, on_fetched).await
}

/// [`gather`] for a refresh: each source's rows go to [`Rows`] as soon as they are read, so
/// that they are never all in memory at once.
async fn gather_rows(
    config: &Config,
    client: &Client,
    validators: Vec<Validators>,
    on_fetched: Option<OnFetched>,
) -> (Vec<SourceReport>, Rows) {
    let tz = config.site.timezone;
    let rows = Arc::new(Mutex::new(Rows::default()));
    let sink = rows.clone();
    let reports = gather(
        config,
        client,
        validators,
        on_fetched,
        move |source, result| {
            let (report, entries) = source::read(source, result, tz);
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .add(entries);
            report
        },
    )
    .await;
    let rows = std::mem::take(&mut *rows.lock().unwrap_or_else(PoisonError::into_inner));
    (reports, rows)
}

/// What `check` shows: one pass over the sources, classified, with nothing stored or written.
#[derive(Debug)]
pub struct Inspection {
    pub sources: Vec<SourceReport>,
    /// Every row that became an entry, in source and row order, with the indices (into
    /// `config.topics`) of its topics.
    pub rows: Vec<(Entry, Vec<usize>)>,
    pub merges: Vec<Merge>,
    /// Entries after merging repeats.
    pub entries: usize,
    /// Indices of the topics no entry went to.
    pub empty_topics: Vec<usize>,
}

/// Fetches every source of `config` unconditionally (or, with `page`, reads that saved page as
/// the body of its one source), and shows what a refresh would make of it. Writes nothing.
pub async fn inspect(config: &Config, page: Option<&Path>) -> Result<Inspection, Error> {
    let passes = match page {
        Some(path) => {
            let [source] = config.sources.as_slice() else {
                return Err(Error::PageForSources(config.sources.len()));
            };
            let url = Url::from_file_path(std::path::absolute(path).unwrap_or(path.into()))
                .map_err(|()| Error::Page(path.display().to_string()))?;
            // Links resolve against the source's own URL, as they would on the site.
            let fetched = fetch::read_file(&url, config.fetch.max_body_bytes).map(|mut f| {
                f.url = source.url.clone();
                fetch::Outcome::Fetched(f)
            });
            vec![source::read(source, fetched, config.site.timezone)]
        }
        None => {
            let client = Client::new(&config.fetch);
            let none = vec![Validators::default(); config.sources.len()];
            let tz = config.site.timezone;
            gather(config, &client, none, None, move |source, result| {
                source::read(source, result, tz)
            })
            .await
        }
    };
    let (sources, rows): (Vec<_>, Vec<_>) = passes.into_iter().unzip();
    let rows: Vec<Entry> = rows.into_iter().flatten().collect();
    let (entries, merges) = dedup(rows.clone());
    let classifier = &config.classifier;
    let classify = |e: &Entry| classifier.topics(&Folded::new(&e.title, e.summary.as_deref()));
    let mut used = vec![false; config.topics.len()];
    for t in entries.iter().flat_map(classify) {
        used[t] = true;
    }
    let empty_topics = (0..used.len()).filter(|&t| !used[t]).collect();
    Ok(Inspection {
        sources,
        rows: rows
            .into_iter()
            .map(|e| {
                let topics = classify(&e);
                (e, topics)
            })
            .collect(),
        merges,
        entries: entries.len(),
        empty_topics,
    })
}

/// Records a refresh in the store (the sources' outcomes, the entries seen, what was learned of
/// their articles, the news for each notification), classifying entries that are new or
/// changed. When the topic rules have changed since the store last classified, every stored
/// entry is classified again first, so that a rule change applies to entries that have left
/// the listings too.
pub fn remember(
    config: &Config,
    store: &mut Store,
    now: DateTime<FixedOffset>,
    refresh: &store::Refresh<'_>,
    rows: &mut Rows,
) -> Result<(Changes, Vec<Merge>), Error> {
    let classifier = &config.classifier;
    let topic_ids = |title: &str, summary: Option<&str>| -> Vec<String> {
        classifier
            .topics(&Folded::new(title, summary))
            .into_iter()
            .map(|t| config.topics[t].id.clone())
            .collect()
    };
    // Before anything is written: rows that could not be held fail the refresh here.
    let mut entries = rows.merged().map_err(StoreError::from)?;
    let rules = classifier.fingerprint();
    if store.topic_rules()?.as_deref() != Some(rules) {
        tracing::info!("the topic rules changed: classifying every stored entry again");
        store.retopic(rules, topic_ids)?;
    }
    let changes = store.commit(
        now,
        refresh,
        (&mut entries).map(|e| e.map_err(StoreError::from)),
        |e| topic_ids(&e.title, e.summary.as_deref()),
    )?;
    Ok((changes, entries.merges()))
}

/// Renders every live feed from what the store holds and writes them to the directory `out`.
pub fn publish_store(config: &Config, store: &Store, out: &Path) -> Result<Published, Error> {
    let (feeds, empty_updated) = select_store(config, store)?;
    let mut dir = Output::Dir(out.to_owned()).open(store, config.serve.interval)?;
    Ok(publish::publish(
        &config.publishing(),
        dir.as_mut(),
        &feeds,
        empty_updated,
    )?)
}

/// What [`publish_store`] would write, rendered in memory only.
pub fn render_store(config: &Config, store: &Store) -> Result<Rendered, Error> {
    let (feeds, empty_updated) = select_store(config, store)?;
    Ok(publish::render(&config.publishing(), &feeds, empty_updated))
}

/// What every feed shows of the store, and the date of a feed with no entry (the state's
/// creation).
pub fn select_store(
    config: &Config,
    store: &Store,
) -> Result<(Feeds, DateTime<FixedOffset>), Error> {
    let feeds = publish::select::select(&config.publishing(), store)?;
    Ok((feeds, store.created()?))
}

fn now(config: &Config) -> DateTime<FixedOffset> {
    chrono::Utc::now()
        .trunc_subsecs(0)
        .with_timezone(&config.site.timezone)
        .fixed_offset()
}
