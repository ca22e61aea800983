//! The stages on the seed listing, and dedup + classify as the store grows.
//!
//! `cargo bench --bench pipeline`; the method and the figures are in BENCHMARKS.md.

use chrono::{FixedOffset, TimeZone};
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kairan::Config;
use kairan::classify::Folded;
use kairan::config::SourceKind;
use kairan::model::{Entry, EntryKey, Origin, StoredEntry};
use kairan::publish::Feeds;
use std::hint::black_box;
use url::Url;

const SEED: &[u8] = include_bytes!("../fixtures/ipa/anshin-seed.html");

fn setup() -> (Config, Url) {
    let config = Config::builtin();
    let page = config.sources[0].url.clone();
    (config, page)
}

/// The seed's bytes decoded and its rows extracted, with the built-in listing's selectors.
fn rows(config: &Config, seed: &[u8]) -> Vec<kairan::model::RawRow> {
    let SourceKind::Html(select) = &config.sources[0].kind else {
        unreachable!("the built-in anshin source is a listing")
    };
    let (page, _) = kairan::fetch::decode::decode_html(seed, Some("text/html; charset=utf-8"));
    kairan::extract::html::extract(&page, select).unwrap()
}

/// What every feed shows of `unique` entries: newest first, classified, selected.
fn feeds(config: &Config, mut unique: Vec<Entry>) -> Feeds {
    unique.sort_by_key(|e| std::cmp::Reverse(e.updated));
    let topics_of = unique
        .iter()
        .map(|e| (config.classifier).topics(&Folded::new(&e.title, e.summary.as_deref())))
        .collect();
    Feeds::select(&config.publishing(), stored(unique), topics_of)
}

/// Entries as the store would give them back: with ids, and dated.
fn stored(entries: Vec<Entry>) -> Vec<StoredEntry> {
    entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| StoredEntry {
            id: format!("urn:uuid:00000000-0000-8000-8000-{i:012}"),
            key: e.key,
            title: e.title,
            link: e.link,
            summary: e.summary,
            published: e.published.unwrap(),
            updated: e.updated.unwrap(),
            source: e.origins.first().map(|o| o.source.clone()),
            content: None,
            excerpt: None,
        })
        .collect()
}

/// The shipped configuration with its sources read from the fixtures, and a directory for the
/// state and output.
fn on_fixtures() -> (Config, tempfile::TempDir) {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/ipa");
    let text = include_str!("../config/ipa.toml")
        .replace(
            "https://www.ipa.go.jp/security/anshin/attention/index.html",
            &format!("{fixtures}/anshin-seed.html"),
        )
        .replace(
            "https://www.ipa.go.jp/security/alert-rss.rdf",
            &format!("{fixtures}/alert-rss.rdf"),
        );
    let mut config = Config::parse(&text, "bench").unwrap();
    // The stages of a listing, measured without its articles (their links lead off the machine).
    for source in &mut config.sources {
        source.article = None;
    }
    let root = tempfile::tempdir().unwrap();
    config.state = kairan::store::Location::File(root.path().join("kairan.db"));
    config.output = kairan::publish::target::Output::Dir(root.path().join("public"));
    (config, root)
}

fn seed_stages(c: &mut Criterion) {
    let (config, page) = setup();
    let tz = config.site.timezone;
    let mut g = c.benchmark_group("seed");
    g.bench_function("decode+extract", |b| {
        b.iter(|| rows(&config, black_box(SEED)))
    });
    let raw = rows(&config, SEED);
    g.bench_function("normalize", |b| {
        b.iter(|| kairan::normalize::normalize("anshin", &page, black_box(raw.clone()), tz))
    });
    let entries = kairan::normalize::normalize("anshin", &page, raw.clone(), tz).entries;
    g.bench_function("dedup", |b| {
        b.iter(|| kairan::dedup::dedup(black_box(entries.clone())))
    });
    let (unique, _) = kairan::dedup::dedup(entries.clone());
    let classifier = &config.classifier;
    g.bench_function("classify", |b| {
        b.iter(|| {
            unique
                .iter()
                .map(|e| classifier.topics(&Folded::new(&e.title, e.summary.as_deref())))
                .collect::<Vec<_>>()
        })
    });
    let feeds = feeds(&config, unique.clone());
    g.bench_function("render (every output file)", |b| {
        b.iter(|| kairan::publish::render(&config.publishing(), black_box(&feeds), epoch()))
    });
    g.bench_function("seed to rendered files, in memory", |b| {
        b.iter(|| seed_to_rendered(black_box(&config), &page))
    });
    // The whole run on the seed: both shipped sources read from the fixtures (no network),
    // into a real state file and output directory.
    let (config, root) = on_fixtures();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let refresh = |config: &Config| {
        runtime
            .block_on(kairan::pipeline::refresh(config, Default::default()))
            .unwrap()
    };
    g.bench_function("seed to feeds, fresh state", |b| {
        b.iter_batched(
            || {
                let mut config = config.clone();
                let dir = root.path().join(format!("run-{}", fastrand::u64(..)));
                config.state = kairan::store::Location::File(dir.join("kairan.db"));
                config.output = kairan::publish::target::Output::Dir(dir.join("public"));
                config
            },
            |config| refresh(&config),
            BatchSize::PerIteration,
        )
    });
    refresh(&config);
    g.bench_function("seed to feeds, nothing changed", |b| {
        b.iter(|| refresh(&config))
    });
    g.finish();
}

/// Realistic advisory titles and summaries: the seed's own, varied by a serial number, with a
/// few percent of repeats (the same link twice) and look-alikes (the same title, another link).
fn synthetic(n: usize) -> Vec<Entry> {
    let (config, page) = setup();
    let seed =
        kairan::normalize::normalize("anshin", &page, rows(&config, SEED), config.site.timezone)
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
    let classifier = &config.classifier;
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

/// The seed's bytes to the bytes of every output file: everything but the store and the disk.
fn seed_to_rendered(config: &Config, page: &Url) -> kairan::publish::Rendered {
    let raw = rows(config, SEED);
    let n = kairan::normalize::normalize("anshin", page, raw, config.site.timezone);
    let (unique, _) = kairan::dedup::dedup(n.entries);
    kairan::publish::render(&config.publishing(), &feeds(config, unique), epoch())
}

/// The date of a feed with no entry: any fixed one.
fn epoch() -> chrono::DateTime<FixedOffset> {
    FixedOffset::east_opt(9 * 3600)
        .unwrap()
        .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .unwrap()
}

/// The same, measured in CPU time (of this thread) rather than wall time: the target is
/// stated in CPU, and a shared machine's wall clock also counts other tenants' work.
fn seed_cpu(c: &mut Criterion<ThreadCpu>) {
    let (config, page) = setup();
    c.benchmark_group("seed, CPU time")
        .bench_function("seed to rendered files, in memory", |b| {
            b.iter(|| seed_to_rendered(black_box(&config), &page))
        });
}

/// CPU time of the calling thread, from `clock_gettime(CLOCK_THREAD_CPUTIME_ID)`, in
/// nanoseconds; formatted as criterion formats wall time.
struct ThreadCpu(WallTime);

fn thread_cpu_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec for the call to write.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns() - start
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.0.formatter()
    }
}

criterion_group!(benches, seed_stages, growth);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ThreadCpu(WallTime));
    targets = seed_cpu
}
criterion_main!(benches, cpu);
