//! One refresh: fetch → extract → normalize → dedup → classify → store → publish.
//!
//! A source's failure is a value in the [`Report`], not an early return: the other sources go
//! on, what the failed source published before stays in the store, and so in the feeds.

use crate::classify::Folded;
use crate::config::{Config, Source, SourceKind};
use crate::dedup::{Merge, dedup};
use crate::extract::{self, ExtractError};
use crate::fetch::{Client, FetchError, Fetched, Outcome, decode};
use crate::model::{Entry, RawRow};
use crate::normalize::{self, RowWarning};
use crate::publish::{self, Feeds, PublishError, Published, Rendered, Selection};
use crate::store::Validators;
use crate::store::{Changes, FeedRows, Lock, LockError, SourceRecord, Store, StoreError};
use chrono::{DateTime, FixedOffset, SubsecRound};
use chrono_tz::Tz;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use url::Url;

/// Why a source gave nothing this run.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Extract(#[from] ExtractError),
}

/// A failure that stops the whole refresh: nothing can be recorded or published.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error("cannot create {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0}: not a path that can be read")]
    Page(String),
}

#[derive(Debug)]
pub enum SourceOutcome {
    /// Read: how many rows the source had and how many entries they gave.
    Fetched {
        rows: usize,
        entries: usize,
    },
    NotModified,
    Failed(SourceError),
}

#[derive(Debug)]
pub struct SourceReport {
    pub id: String,
    pub url: String,
    pub outcome: SourceOutcome,
    pub warnings: Vec<RowWarning>,
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
}

impl Report {
    pub fn failures(&self) -> impl Iterator<Item = (&SourceReport, &SourceError)> {
        self.sources.iter().filter_map(|s| match &s.outcome {
            SourceOutcome::Failed(e) => Some((s, e)),
            _ => None,
        })
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
}

/// Runs one refresh with the paths in `config`.
pub async fn refresh(config: &Config, options: Options) -> Result<Report, Error> {
    for path in [&config.state_path, &config.output_dir] {
        let dir = if path == &config.output_dir {
            Some(path.as_path())
        } else {
            path.parent()
        };
        if let Some(dir) = dir.filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Dir {
                path: dir.display().to_string(),
                source,
            })?;
        }
    }
    let state = config.state_path.clone();
    // Held to the end of the refresh; waiting for it blocks, so off the async threads.
    let wait = options.wait_for_lock;
    let _lock = tokio::task::spawn_blocking(move || Lock::acquire(&state, wait))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
    let mut store = Store::open(&config.state_path)?;
    let client = Client::new(&config.fetch);
    let now = now(config);
    let validators = config
        .sources
        .iter()
        .map(|s| store.validators(&s.id, now))
        .collect::<Result<_, _>>()?;
    // Where the time of a refresh goes, in the debug log (`KAIRAN_LOG=kairan=debug`).
    let mut lap = Instant::now();
    let mut timed = |stage: &str| {
        tracing::debug!("{stage}: {} ms", lap.elapsed().as_millis());
        lap = Instant::now();
    };
    let passes = fetch_and_read(config, &client, validators, options.on_fetched).await;
    let gathered = Gathered::new(passes);
    timed("fetched, extracted and normalized");
    let records: Vec<_> = config
        .sources
        .iter()
        .zip(gathered.records)
        .map(|(s, r)| (s.id.as_str(), s.url.as_str(), r))
        .collect();
    let (entries, merges) = dedup(gathered.rows);
    timed("repeats merged");
    let changes = remember(config, &mut store, now, &records, &entries)?;
    timed("classified and stored");
    let published = publish_store(config, &store, &config.output_dir)?;
    timed("published");
    Ok(Report {
        sources: gathered.sources,
        merges,
        changes,
        stored: store.count()?,
        published,
    })
}

/// What the sources gave in one pass, before anything is stored.
struct Gathered {
    sources: Vec<SourceReport>,
    /// Every source's entries, in source and row order, before repeats are merged.
    rows: Vec<Entry>,
    /// What to remember of each source's fetch, in the order of the sources.
    records: Vec<SourceRecord>,
}

impl Gathered {
    fn new(passes: Vec<SourcePass>) -> Gathered {
        // Sized once: growing a vector of 100,000 entries would hold two copies at a time.
        let rows = passes.iter().map(|p| p.entries.len()).sum();
        let mut gathered = Gathered {
            sources: Vec::with_capacity(passes.len()),
            rows: Vec::with_capacity(rows),
            records: Vec::with_capacity(passes.len()),
        };
        for p in passes {
            gathered.sources.push(p.report);
            gathered.records.push(p.record);
            gathered.rows.extend(p.entries);
        }
        gathered
    }
}

/// One source's share of a pass: how it went, what to remember of it, the entries it gave.
struct SourcePass {
    report: SourceReport,
    record: SourceRecord,
    entries: Vec<Entry>,
}

/// Extracts and normalizes what was fetched for `source`.
fn read_source(source: &Source, result: FetchResult, tz: Tz) -> SourcePass {
    let mut warnings = Vec::new();
    let mut entries = Vec::new();
    let (outcome, record) = match result
        .map_err(SourceError::from)
        .and_then(|o| read(source, o, tz))
    {
        Ok(None) => (SourceOutcome::NotModified, SourceRecord::NotModified),
        Ok(Some((fetched, raw))) => {
            let rows = raw.len();
            let n = normalize::normalize(&source.id, &fetched.url, raw, tz);
            warnings = n.warnings;
            entries = n.entries;
            let outcome = SourceOutcome::Fetched {
                rows,
                entries: entries.len(),
            };
            (outcome, SourceRecord::Fetched(fetched.validators))
        }
        Err(e) => {
            let record = SourceRecord::Failed(e.to_string());
            (SourceOutcome::Failed(e), record)
        }
    };
    SourcePass {
        report: SourceReport {
            id: source.id.clone(),
            url: source.url.to_string(),
            outcome,
            warnings,
        },
        record,
        entries,
    }
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
            let url = Url::from_file_path(std::path::absolute(path).unwrap_or(path.into()))
                .map_err(|()| Error::Page(path.display().to_string()))?;
            config
                .sources
                .iter()
                .map(|s| {
                    // Links resolve against the source's own URL, as they would on the site.
                    let fetched =
                        crate::fetch::read_file(&url, config.fetch.max_body_bytes).map(|mut f| {
                            f.url = s.url.clone();
                            Outcome::Fetched(f)
                        });
                    read_source(s, fetched, config.site.timezone)
                })
                .collect()
        }
        None => {
            let client = Client::new(&config.fetch);
            let none = vec![Validators::default(); config.sources.len()];
            fetch_and_read(config, &client, none, None).await
        }
    };
    let gathered = Gathered::new(passes);
    let (entries, merges) = dedup(gathered.rows.clone());
    let classifier = &config.classifier;
    let classify = |e: &Entry| classifier.topics(&Folded::new(&e.title, e.summary.as_deref()));
    let mut used = vec![false; config.topics.len()];
    for t in entries.iter().flat_map(classify) {
        used[t] = true;
    }
    let empty_topics = (0..used.len()).filter(|&t| !used[t]).collect();
    Ok(Inspection {
        sources: gathered.sources,
        rows: gathered
            .rows
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

/// Records `entries` in the store with the sources' outcomes, classifying those that are new or
/// changed. When the topic rules have changed since the store last classified, every stored
/// entry is classified again first, so that a rule change applies to entries that have left
/// the listings too.
pub fn remember(
    config: &Config,
    store: &mut Store,
    now: DateTime<FixedOffset>,
    records: &[(&str, &str, SourceRecord)],
    entries: &[Entry],
) -> Result<Changes, Error> {
    let classifier = &config.classifier;
    let topic_ids = |title: &str, summary: Option<&str>| -> Vec<String> {
        classifier
            .topics(&Folded::new(title, summary))
            .into_iter()
            .map(|t| config.topics[t].id.clone())
            .collect()
    };
    let rules = classifier.fingerprint();
    if store.topic_rules()?.as_deref() != Some(rules) {
        tracing::info!("the topic rules changed: classifying every stored entry again");
        store.retopic(rules, topic_ids)?;
    }
    Ok(store.commit(now, records, entries, |e| {
        topic_ids(&e.title, e.summary.as_deref())
    })?)
}

/// Renders every feed from what the store holds and writes them to `out`.
pub fn publish_store(config: &Config, store: &Store, out: &Path) -> Result<Published, Error> {
    let feeds = select(config, store)?;
    Ok(publish::publish(config, out, &feeds, store.created()?)?)
}

/// What [`publish_store`] would write, rendered in memory only.
pub fn render_store(config: &Config, store: &Store) -> Result<Rendered, Error> {
    let feeds = select(config, store)?;
    Ok(publish::render(config, &feeds, store.created()?))
}

/// What each feed shows, read from the store: only the entries shown are loaded, whatever
/// the size of the store.
fn select(config: &Config, store: &Store) -> Result<Feeds, Error> {
    let max = config.site.max_entries;
    if store.topic_rules()?.as_deref() != Some(config.classifier.fingerprint()) {
        return Ok(select_in_memory(config, store)?);
    }
    let index: HashMap<&str, usize> = (config.topics.iter().enumerate())
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();
    let selection = |FeedRows { entries, total }| Selection {
        entries: entries
            .into_iter()
            .map(|(e, ids)| {
                // In the order of the configuration, whatever the store's.
                let mut topics: Vec<usize> = ids
                    .iter()
                    .filter_map(|id| index.get(id.as_str()).copied())
                    .collect();
                topics.sort_unstable();
                (e, topics)
            })
            .collect(),
        total,
    };
    Ok(Feeds {
        all: selection(store.feed(None, max)?),
        topics: (config.topics.iter())
            .map(|t| store.feed(Some(&t.id), max).map(selection))
            .collect::<Result<_, _>>()?,
    })
}

/// [`select`] for a store classified by other rules than the configuration's: a command that
/// does not refresh (`kairan topics`, `serve` before its first refresh) run after the rules
/// were edited. Classifies every stored entry in memory, and changes nothing.
fn select_in_memory(config: &Config, store: &Store) -> Result<Feeds, StoreError> {
    let stored = store.entries()?;
    let topics_of = stored
        .iter()
        .map(|e| (config.classifier).topics(&Folded::new(&e.title, e.summary.as_deref())))
        .collect();
    Ok(Feeds::select(config, stored, topics_of))
}

fn now(config: &Config) -> DateTime<FixedOffset> {
    chrono::Utc::now()
        .trunc_subsecs(0)
        .with_timezone(&config.site.timezone)
        .fixed_offset()
}

/// Turns a fetched body into rows; `None` when the source was not modified.
fn read(
    source: &Source,
    outcome: Outcome,
    tz: Tz,
) -> Result<Option<(Fetched, Vec<RawRow>)>, SourceError> {
    let fetched = match outcome {
        Outcome::NotModified => return Ok(None),
        Outcome::Fetched(f) => f,
    };
    let rows = match &source.kind {
        SourceKind::Html(select) => {
            let (page, _) = decode::decode_html(&fetched.body, fetched.content_type.as_deref());
            extract::html::extract(&page, select)?
        }
        SourceKind::Feed => extract::feed::extract(&fetched.body, tz)?,
    };
    Ok(Some((fetched, rows)))
}

type FetchResult = Result<Outcome, FetchError>;

/// Fetches every source, sending `validators[i]` for `sources[i]`, and reads each body as it
/// arrives: hosts in parallel, one request at a time per host; bodies extracted and normalized
/// on blocking threads, as many at once as there are cores, so that parsing overlaps the
/// fetching and only the rows of a body are kept. Results come back in the order of `sources`.
async fn fetch_and_read(
    config: &Config,
    client: &Client,
    validators: Vec<Validators>,
    on_fetched: Option<OnFetched>,
) -> Vec<SourcePass> {
    let tz = config.site.timezone;
    let readers = Arc::new(tokio::sync::Semaphore::new(
        std::thread::available_parallelism().map_or(2, usize::from),
    ));
    let mut by_host: BTreeMap<String, Vec<(usize, Source, Validators)>> = BTreeMap::new();
    for (i, (source, validators)) in config.sources.iter().zip(validators).enumerate() {
        let host = format!(
            "{}:{}",
            source.url.host_str().unwrap_or(""),
            source.url.port_or_known_default().unwrap_or(0)
        );
        by_host
            .entry(host)
            .or_default()
            .push((i, source.clone(), validators));
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (_, group) in by_host {
        let client = client.clone();
        let on_fetched = on_fetched.clone();
        let readers = readers.clone();
        tasks.spawn(async move {
            let mut reading = Vec::with_capacity(group.len());
            for (i, source, validators) in group {
                let result = client.fetch(&source.url, &validators).await;
                if let Some(f) = &on_fetched {
                    f(&source.id);
                }
                // Waiting for a reader holds this host's next fetch back: bodies do not pile up.
                let permit = readers.clone().acquire_owned().await.expect("never closed");
                reading.push((
                    i,
                    tokio::task::spawn_blocking(move || {
                        let _permit = permit;
                        read_source(&source, result, tz)
                    }),
                ));
            }
            reading
        });
    }
    let mut passes: Vec<Option<SourcePass>> = config.sources.iter().map(|_| None).collect();
    while let Some(done) = tasks.join_next().await {
        let reading = done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        for (i, pass) in reading {
            let pass = pass
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            passes[i] = Some(pass);
        }
    }
    passes.into_iter().flatten().collect()
}
