//! Each entry's own page, for sources with an article rule: which to read this run (by
//! [`crate::store::rules::article::due`]), fetched through the listings' per-host scheduler
//! (one request at a time per host, the same timeout, size cap, retries and charset rules),
//! at most `[fetch] max_articles_per_run` per source; read with the rule, sanitized and dated.
//! Kept pages whose rule changed are read again without a request.
//!
//! A failure costs the entry nothing: it keeps its listing data (and any content read
//! before), the failure is a warning on its row, and the state retries it later.

use crate::config::Config;
use crate::dedup::Rows;
use crate::extract::article::ArticleRule;
use crate::fetch::schedule::{self, Request};
use crate::fetch::{self, Client, FetchError, Validators, decode};
use crate::model::{Article, Entry, EntryKey, Origin};
use crate::normalize::{self, RowWarning};
use crate::source::{Source, panic_message};
use crate::store::rules::article::{Due, due};
use crate::store::rules::format_time;
use crate::store::{ArticleEvent, ArticleNote, Page, Reading, Store, StoreError};
use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use url::Url;

/// What a refresh learned of its entries' articles.
#[derive(Debug, Default)]
pub struct Articles {
    pub notes: Vec<ArticleNote>,
    /// Per-entry warnings, each on the row of the source whose rule applies.
    pub warnings: Vec<RowWarning>,
    /// Requests made.
    pub fetched: usize,
}

/// One entry's article to read.
#[derive(Debug, Clone)]
struct Job {
    key: EntryKey,
    title: String,
    link: String,
    listing_date: Option<String>,
    /// Index into the configuration's sources: whose rule reads it.
    source: usize,
    position: usize,
}

/// Links that name a document rather than a page: not asked for.
const DOCUMENTS: &[&str] = &[
    ".pdf", ".zip", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".csv", ".txt",
];

/// What a refresh is to do about articles: the pages to fetch, and the kept pages to read
/// again. Planned from the state before any request, so that no borrow of it is held across
/// the fetching.
#[derive(Debug, Default)]
pub struct Plan {
    fetches: Vec<(Job, Validators)>,
    rereads: Vec<(Job, Page)>,
}

impl Plan {
    /// The articles due this run for the entries of `rows` (repeats merged), and the kept
    /// pages of articles whose rule changed.
    pub fn new(
        config: &Config,
        store: &Store,
        rows: &mut Rows,
        now: DateTime<FixedOffset>,
    ) -> Result<Plan, StoreError> {
        if config.sources.iter().all(|s| s.article.is_none()) {
            return Ok(Plan::default());
        }
        let mut kept = Vec::new();
        for (i, source) in config.sources.iter().enumerate() {
            if let Some(rule) = &source.article {
                let pages = store.pages_to_reread(&source.id, &rule.fingerprint)?;
                kept.extend(pages.into_iter().map(|page| (i, page)));
            }
        }
        // The rows of the kept pages' entries still listed, found as the entries go by.
        let mut listed: HashMap<EntryKey, Vec<Origin>> = (kept.iter())
            .map(|(_, p)| (p.key.clone(), Vec::new()))
            .collect();
        let index = with_rules(config);
        let mut jobs = Vec::new();
        for entry in rows.merged()? {
            let entry = entry?;
            jobs.extend(candidate(config, &index, &entry));
            if let Some(origins) = listed.get_mut(&entry.key) {
                *origins = entry.origins;
            }
        }
        jobs.sort_by_key(|j| (j.source, j.position));
        let states = store.articles()?;
        let mut fetches = Vec::new();
        let mut per_source = vec![0; config.sources.len()];
        for job in jobs {
            let rule = (config.sources[job.source].article.as_ref()).expect("a source with a rule");
            let state = states.get(&job.key);
            if let Due::Fetch(validators) = due(
                state,
                &job.link,
                job.listing_date.as_deref(),
                &rule.fingerprint,
                now,
            ) && per_source[job.source] < config.fetch.max_articles_per_run
            {
                per_source[job.source] += 1;
                fetches.push((job, validators));
            }
        }
        let fetching: HashSet<EntryKey> = fetches.iter().map(|(j, _)| j.key.clone()).collect();
        let mut rereads = Vec::new();
        for (i, kept) in kept {
            if fetching.contains(&kept.key) {
                continue;
            }
            let source = &config.sources[i].id;
            let job = Job {
                title: String::new(),
                link: kept.link,
                listing_date: kept.listing_date,
                source: i,
                position: position_in(listed.get(&kept.key).map(Vec::as_slice), source),
                key: kept.key,
            };
            rereads.push((job, kept.page));
        }
        Ok(Plan { fetches, rereads })
    }
}

/// Carries out `plan`: fetches its pages politely and reads them, reads its kept pages again.
pub async fn gather(config: &Config, client: &Client, plan: Plan) -> Articles {
    let Plan { fetches, rereads } = plan;
    let mut articles = Articles {
        fetched: fetches.len(),
        ..Articles::default()
    };
    if fetches.is_empty() && rereads.is_empty() {
        return articles;
    }
    let rules = rules(config);
    let done = fetch(config, client, &rules, fetches).await;
    let tz = config.site.timezone;
    let reread = tokio::task::spawn_blocking(move || {
        rereads
            .into_iter()
            .map(|(job, page)| {
                let rule = rules[job.source].as_ref().expect("a source with a rule");
                let (read, warnings) = read_page(rule, &page, tz);
                (job, ArticleEvent::Reread(read), warnings)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    for (job, event, warnings) in done.into_iter().chain(reread) {
        let source = &config.sources[job.source].id;
        let warn = |message: String| RowWarning {
            source: source.clone(),
            position: job.position,
            message,
        };
        articles.warnings.extend(warnings.into_iter().map(warn));
        if let Some(reason) = failure(&event) {
            let entry = if job.title.is_empty() {
                String::new()
            } else {
                format!(" of \"{}\"", job.title)
            };
            articles.warnings.push(warn(format!(
                "article{entry} {}: {reason}; the entry keeps what it had",
                job.link
            )));
        }
        articles.notes.push(ArticleNote {
            key: job.key,
            source: source.clone(),
            link: job.link,
            listing_date: job.listing_date,
            event,
        });
    }
    articles
}

/// One entry as `kairan check --article` shows it: what its page gave, or why nothing, and the
/// warnings about its dates.
pub type Inspected = (Entry, Result<Article, String>, Vec<String>);

/// What the rule of `source` reads from the pages of its first `count` entries that have one,
/// fetched now: for `kairan check --article`. Stores nothing.
pub async fn inspect(
    config: &Config,
    client: &Client,
    source: &str,
    entries: &[Entry],
    count: usize,
) -> Vec<Inspected> {
    let jobs: Vec<(Job, Validators)> = candidates(config, entries)
        .into_iter()
        .filter(|j| config.sources[j.source].id == source)
        .take(count)
        .map(|j| (j, Validators::default()))
        .collect();
    let by_key: HashMap<&EntryKey, &Entry> = entries.iter().map(|e| (&e.key, e)).collect();
    fetch(config, client, &rules(config), jobs)
        .await
        .into_iter()
        .filter_map(|(job, event, warnings)| {
            let entry = (*by_key.get(&job.key)?).clone();
            let article = match event {
                ArticleEvent::Fetched { read, .. } => read.article,
                other => Err(failure(&other).unwrap_or_default()),
            };
            Some((entry, article, warnings))
        })
        .collect()
}

/// The entries whose source reads articles and which link a page of their own, in source and
/// row order (a listing's newest first), each with the first of its sources that has a rule.
fn candidates(config: &Config, entries: &[Entry]) -> Vec<Job> {
    let index = with_rules(config);
    let mut jobs: Vec<Job> = (entries.iter())
        .filter_map(|e| candidate(config, &index, e))
        .collect();
    jobs.sort_by_key(|j| (j.source, j.position));
    jobs
}

/// The sources that read articles: index into the configuration's sources, by id.
fn with_rules(config: &Config) -> HashMap<&str, usize> {
    (config.sources.iter().enumerate())
        .filter(|(_, s)| s.article.is_some())
        .map(|(i, s)| (s.id.as_str(), i))
        .collect()
}

/// `entry`'s article to read, by the first of its sources in `with_rules`, if it links a page
/// of its own.
fn candidate(config: &Config, with_rules: &HashMap<&str, usize>, e: &Entry) -> Option<Job> {
    let (source, position) = (e.origins.iter())
        .filter_map(|o| Some((*with_rules.get(o.source.as_str())?, o.position)))
        .min()?;
    own_page(&config.sources[source], &e.link).then(|| Job {
        key: e.key.clone(),
        title: e.title.clone(),
        link: e.link.clone(),
        listing_date: e.updated.map(format_time),
        source,
        position,
    })
}

/// Whether `link` is an article page of its own: not the listing itself (where a row had no
/// link), nor a document such as a PDF.
fn own_page(source: &Source, link: &str) -> bool {
    let Ok(url) = Url::parse(link) else {
        return false;
    };
    let path = url.path().to_ascii_lowercase();
    link != source.url.as_str() && !DOCUMENTS.iter().any(|d| path.ends_with(d))
}

/// The row of `source` an entry was listed in this run; 0 for one no longer listed.
fn position_in(origins: Option<&[Origin]>, source: &str) -> usize {
    origins
        .and_then(|o| o.iter().find(|o| o.source == source))
        .map_or(0, |o| o.position)
}

/// Each source's article rule, by the index [`Job::source`] holds, for the blocking threads that
/// read pages.
type Rules = Arc<Vec<Option<ArticleRule>>>;

fn rules(config: &Config) -> Rules {
    Arc::new(config.sources.iter().map(|s| s.article.clone()).collect())
}

/// Fetches each job's page politely per host and reads it as it arrives.
async fn fetch(
    config: &Config,
    client: &Client,
    rules: &Rules,
    jobs: Vec<(Job, Validators)>,
) -> Vec<(Job, ArticleEvent, Vec<String>)> {
    let mut requests = Vec::with_capacity(jobs.len());
    for (job, validators) in jobs {
        // Links are absolute http(s) URLs by normalization.
        if let Ok(url) = Url::parse(&job.link) {
            requests.push(Request {
                url,
                validators,
                item: job,
            });
        }
    }
    let tz = config.site.timezone;
    let rules = rules.clone();
    let read: schedule::Read<Job, _> = Arc::new(move |job: Job, result| {
        let rule = rules[job.source].as_ref().expect("a source with a rule");
        let (event, warnings) = event(rule, result, tz);
        (job, event, warnings)
    });
    schedule::fetch_all(client, requests, read, None).await
}

/// A fetch's result as an event, read with `rule`.
fn event(
    rule: &ArticleRule,
    result: Result<fetch::Outcome, FetchError>,
    tz: Tz,
) -> (ArticleEvent, Vec<String>) {
    match result {
        Ok(fetch::Outcome::Fetched(f)) => {
            let page = Page {
                body: f.body,
                content_type: f.content_type,
                url: f.url.to_string(),
            };
            let (read, warnings) = read_page(rule, &page, tz);
            let event = ArticleEvent::Fetched {
                page,
                validators: f.validators,
                read,
            };
            (event, warnings)
        }
        Ok(fetch::Outcome::NotModified) => (ArticleEvent::NotModified, Vec::new()),
        Err(e) => (ArticleEvent::Failed(e.to_string()), Vec::new()),
    }
}

/// Why an event left its entry without a (new) article, if it did.
fn failure(event: &ArticleEvent) -> Option<String> {
    match event {
        ArticleEvent::Failed(reason) => Some(reason.clone()),
        ArticleEvent::Fetched { read, .. } | ArticleEvent::Reread(read) => {
            read.article.as_ref().err().cloned()
        }
        ArticleEvent::NotModified => None,
    }
}

/// Reads a page with a rule: decoded by the listings' charset rules, extracted, sanitized,
/// dated. A panic on hostile bytes is this page's failure only.
fn read_page(rule: &ArticleRule, page: &Page, tz: Tz) -> (Reading, Vec<String>) {
    let read = || -> Result<(Article, Vec<String>), String> {
        if let Some(t) = page.content_type.as_deref()
            && !is_html(t)
        {
            return Err(format!("not an HTML page ({t})"));
        }
        let base = Url::parse(&page.url).map_err(|e| format!("{}: {e}", page.url))?;
        let (text, _) = decode::decode_html(&page.body, page.content_type.as_deref());
        let raw = crate::extract::article::extract(&text, rule).map_err(|e| e.to_string())?;
        let n = normalize::article::article(raw, &base, tz).map_err(|e| e.to_string())?;
        Ok((n.article, n.warnings))
    };
    let (article, warnings) = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)) {
        Ok(Ok((article, warnings))) => (Ok(article), warnings),
        Ok(Err(reason)) => (Err(reason), Vec::new()),
        Err(panic) => (
            Err(format!(
                "internal error while reading: {}",
                panic_message(&*panic)
            )),
            Vec::new(),
        ),
    };
    let reading = Reading {
        rule: rule.fingerprint.clone(),
        article,
    };
    (reading, warnings)
}

fn is_html(content_type: &str) -> bool {
    let mime = content_type.split(';').next().unwrap_or("").trim();
    mime.eq_ignore_ascii_case("text/html") || mime.eq_ignore_ascii_case("application/xhtml+xml")
}
