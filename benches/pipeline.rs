//! The stages on the seed listing, and dedup + classify as the store grows.
//!
//! `cargo bench --bench pipeline`; the method and the figures are in BENCHMARKS.md.

use chrono::{FixedOffset, TimeZone};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kairan::Config;
use kairan::classify::{Classifier, Folded};
use kairan::config::SourceKind;
use kairan::model::{Entry, EntryKey, Origin, StoredEntry};
use std::hint::black_box;
use url::Url;

const SEED: &[u8] = include_bytes!("../fixtures/ipa/anshin-seed.html");

fn setup() -> (Config, Url) {
    let config = Config::builtin();
    let page = config.sources[0].url.clone();
    (config, page)
}

fn rows(config: &Config) -> Vec<kairan::model::RawRow> {
    let SourceKind::Html(select) = &config.sources[0].kind else {
        unreachable!("the built-in anshin source is a listing")
    };
    let (page, _) = kairan::fetch::decode::decode_html(SEED, Some("text/html; charset=utf-8"));
    kairan::extract::html::extract(&page, select).unwrap()
}

fn stored(entries: &[Entry]) -> Vec<StoredEntry> {
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| StoredEntry {
            id: format!("urn:uuid:00000000-0000-8000-8000-{i:012}"),
            key: e.key.clone(),
            title: e.title.clone(),
            link: e.link.clone(),
            summary: e.summary.clone(),
            published: e.published.unwrap(),
            updated: e.updated.unwrap(),
        })
        .collect()
}

fn seed_stages(c: &mut Criterion) {
    let (config, page) = setup();
    let tz = config.site.timezone;
    let SourceKind::Html(select) = &config.sources[0].kind else {
        unreachable!()
    };
    let mut g = c.benchmark_group("seed");
    g.bench_function("decode+extract", |b| {
        b.iter(|| {
            let (text, _) =
                kairan::fetch::decode::decode_html(black_box(SEED), Some("text/html; charset=utf-8"));
            kairan::extract::html::extract(&text, select).unwrap()
        })
    });
    let raw = rows(&config);
    g.bench_function("normalize", |b| {
        b.iter(|| kairan::normalize::normalize("anshin", &page, black_box(raw.clone()), tz))
    });
    let entries = kairan::normalize::normalize("anshin", &page, raw.clone(), tz).entries;
    g.bench_function("dedup", |b| {
        b.iter(|| kairan::dedup::dedup(black_box(entries.clone())))
    });
    let (unique, _) = kairan::dedup::dedup(entries.clone());
    let classifier = Classifier::new(&config.topics);
    g.bench_function("classify", |b| {
        b.iter(|| {
            unique
                .iter()
                .map(|e| classifier.topics(&Folded::new(&e.title, e.summary.as_deref())))
                .collect::<Vec<_>>()
        })
    });
    let store = stored(&unique);
    let topics_of: Vec<Vec<usize>> = store
        .iter()
        .map(|e| classifier.topics(&Folded::new(&e.title, e.summary.as_deref())))
        .collect();
    let epoch = FixedOffset::east_opt(9 * 3600)
        .unwrap()
        .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .unwrap();
    g.bench_function("render (all files)", |b| {
        b.iter(|| kairan::publish::render(&config, black_box(&store), &topics_of, epoch))
    });
    g.bench_function("all stages, in memory", |b| {
        b.iter(|| {
            let (text, _) =
                kairan::fetch::decode::decode_html(black_box(SEED), Some("text/html; charset=utf-8"));
            let raw = kairan::extract::html::extract(&text, select).unwrap();
            let n = kairan::normalize::normalize("anshin", &page, raw, tz);
            let (unique, _) = kairan::dedup::dedup(n.entries);
            let store = stored(&unique);
            let topics_of: Vec<Vec<usize>> = store
                .iter()
                .map(|e| classifier.topics(&Folded::new(&e.title, e.summary.as_deref())))
                .collect();
            kairan::publish::render(&config, &store, &topics_of, epoch)
        })
    });
    g.finish();
}

/// Realistic advisory titles and summaries: the seed's own, varied by a serial number, with a
/// few percent of repeats (the same link twice) and look-alikes (the same title, another link).
fn synthetic(n: usize) -> Vec<Entry> {
    let (config, page) = setup();
    let seed = kairan::normalize::normalize("anshin", &page, rows(&config), config.site.timezone)
        .entries;
    let base = FixedOffset::east_opt(9 * 3600)
        .unwrap()
        .with_ymd_and_hms(2015, 1, 1, 0, 0, 0)
        .unwrap();
    (0..n)
        .map(|i| {
            let model = &seed[i % seed.len()];
            // Every 33rd entry repeats the one before it; every 29th copies a title.
            let serial = if i % 33 == 32 { i - 1 } else { i };
            let title = if i % 29 == 28 {
                seed[(i + 1) % seed.len()].title.clone()
            } else {
                format!("{}(第{serial}報)", model.title)
            };
            let link = format!("https://www.ipa.go.jp/security/anshin/attention/x/{serial}.html");
            Entry {
                key: EntryKey(link.clone()),
                title,
                link,
                summary: model.summary.clone(),
                published: Some(base + chrono::TimeDelta::hours(serial as i64)),
                updated: Some(base + chrono::TimeDelta::hours(serial as i64 + 24)),
                origins: vec![Origin {
                    source: format!("s{}", i % 100),
                    position: i % 100 + 1,
                }],
            }
        })
        .collect()
}

fn growth(c: &mut Criterion) {
    let (config, _) = setup();
    let classifier = Classifier::new(&config.topics);
    let mut g = c.benchmark_group("dedup+classify");
    g.sample_size(10);
    for n in [1_000, 10_000, 100_000] {
        let entries = synthetic(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &entries, |b, entries| {
            b.iter(|| {
                let (unique, _) = kairan::dedup::dedup(entries.clone());
                unique
                    .iter()
                    .map(|e| classifier.topics(&Folded::new(&e.title, e.summary.as_deref())))
                    .filter(|t| !t.is_empty())
                    .count()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, seed_stages, growth);
criterion_main!(benches);
