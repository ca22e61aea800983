//! Scale harness: N generated listings of M rows each, served from loopback HTTP servers, and
//! `kairan run` against them three times: cold (empty state), warm with nothing changed (every
//! source answers 304), and warm with 1% of the rows changed (every 100th row, so that nearly
//! every listing changes: the worst case for conditional requests). Each run is measured by
//! `/usr/bin/time -v`: wall time, CPU time, peak resident memory.
//!
//!   cargo build --release && cargo run --release --example scale -- [--rows M] [--stages]
//!       [--articles] [--no-archives] [--postgres URL] [--bucket s3://BUCKET/PREFIX/] [N ...]
//!
//! `--stages` also prints kairan's debug account of each run's stages. `--articles` gives every
//! source an article rule (every row links a page of its own, served by the same hosts) and
//! lets a run read them all; the table then also counts article requests and the most
//! requests one host had in flight at once. `--no-archives` sets `[output] archives = false`.
//! `--postgres` keeps each size's state in a new database on that server (made, dropped first
//! if there; the URL names the server, its database is ignored), and `--bucket` publishes to a
//! new prefix under that one, credentials and endpoint from the AWS environment.
//! Defaults: M = 100, N = 10 100 1000. Prints a Markdown table (BENCHMARKS.md has the figures).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

/// Sources are spread over this many loopback servers, as over that many hosts.
const HOSTS: usize = 16;

struct Page {
    body: Vec<u8>,
    etag: String,
}

#[derive(Default)]
struct Counts {
    full: AtomicUsize,
    not_modified: AtomicUsize,
    articles: AtomicUsize,
}

/// One host's requests being answered now, and the most it had at once.
#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

fn main() {
    let mut rows = 100;
    let mut sizes = Vec::new();
    let mut stages = false;
    let mut articles = false;
    let mut archives = true;
    let mut postgres: Option<String> = None;
    let mut bucket: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rows" => rows = args.next().and_then(|v| v.parse().ok()).expect("--rows M"),
            "--stages" => stages = true,
            "--articles" => articles = true,
            "--no-archives" => archives = false,
            "--postgres" => postgres = Some(args.next().expect("--postgres URL")),
            "--bucket" => bucket = Some(args.next().expect("--bucket s3://BUCKET/PREFIX/")),
            n => sizes.push(n.parse::<usize>().expect("N: a number of listings")),
        }
    }
    if sizes.is_empty() {
        sizes = vec![10, 100, 1000];
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let kairan = root.join("target/release/kairan");
    assert!(
        kairan.exists(),
        "build the binary first: cargo build --release"
    );
    let seed = seed_rows(&root);
    println!(
        "| listings × rows | run | wall s | CPU s (user+sys) | peak RSS MB | full / 304 responses | files written |{}",
        if articles {
            " article requests | most in flight per host |"
        } else {
            ""
        }
    );
    println!(
        "|---|---|---|---|---|---|---|{}",
        if articles { "---|---|" } else { "" }
    );
    for n in sizes {
        let pages: Arc<RwLock<Vec<Page>>> = Arc::new(RwLock::new(
            (0..n).map(|i| page(&seed, i, rows, false)).collect(),
        ));
        let counts = Arc::new(Counts::default());
        let flights: Vec<Arc<InFlight>> = (0..HOSTS).map(|_| Arc::default()).collect();
        let ports: Vec<u16> = (flights.iter())
            .map(|f| serve(pages.clone(), counts.clone(), f.clone()))
            .collect();
        let dir = std::env::temp_dir().join(format!("kairan-scale-{n}x{rows}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("kairan.toml");
        std::fs::write(
            &config,
            config_text(&root, &ports, n, articles.then_some(rows), archives),
        )
        .unwrap();
        let mut places = Vec::new();
        if let Some(server) = &postgres {
            places.push("--state".to_owned());
            places.push(new_database(server, &format!("kairan_scale_{n}x{rows}")));
        }
        if let Some(bucket) = &bucket {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            let stamp = now.map_or(0, |d| d.as_secs());
            places.push("--out".to_owned());
            places.push(format!("{bucket}scale-{n}x{rows}-{stamp}/"));
        }
        for run in ["cold", "warm, unchanged", "warm, 1% of rows changed"] {
            if run.starts_with("warm, 1%") {
                let mut p = pages.write().unwrap();
                for (i, page_) in p.iter_mut().enumerate() {
                    *page_ = page(&seed, i, rows, true);
                }
            }
            counts.full.store(0, Ordering::SeqCst);
            counts.not_modified.store(0, Ordering::SeqCst);
            counts.articles.store(0, Ordering::SeqCst);
            flights
                .iter()
                .for_each(|f| f.max.store(0, Ordering::SeqCst));
            let m = measure(&kairan, &dir, &config, &places);
            if stages {
                eprintln!("{n} × {rows}, {run}:\n{}", m.stages);
            }
            let extra = if articles {
                let most = flights.iter().map(|f| f.max.load(Ordering::SeqCst)).max();
                format!(
                    " {} | {} |",
                    counts.articles.load(Ordering::SeqCst),
                    most.unwrap_or(0)
                )
            } else {
                String::new()
            };
            println!(
                "| {n} × {rows} | {run} | {:.2} | {:.2} | {:.0} | {} / {} | {} |{extra}",
                m.wall,
                m.cpu,
                m.rss_kb as f64 / 1024.0,
                counts.full.load(Ordering::SeqCst),
                counts.not_modified.load(Ordering::SeqCst),
                m.written
            );
        }
    }
}

/// Titles and summaries of the seed listing, to make realistic rows from.
fn seed_rows(root: &Path) -> Vec<(String, String)> {
    let text = std::fs::read(root.join("fixtures/ipa/anshin-expected.json")).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&text).unwrap();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let summary: Vec<&str> = r["summary"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|l| l.as_str())
                .collect();
            (
                r["title"].as_str().unwrap().to_owned(),
                summary.join("<br>"),
            )
        })
        .collect()
}

/// Listing `i` in IPA's markup; with `changed`, every 100th row of the whole set says so.
fn page(seed: &[(String, String)], i: usize, rows: usize, changed: bool) -> Page {
    let mut body = String::from(
        "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>一覧</title></head><body><ul class=\"news-list\">\n",
    );
    for r in 0..rows {
        let global = i * rows + r;
        let (title, summary) = &seed[global % seed.len()];
        let day = 1 + (global % 28);
        let month = 1 + (global / 28 % 12);
        let note = if changed && global.is_multiple_of(100) {
            "(更新)"
        } else {
            ""
        };
        body.push_str(&format!(
            "<li class=\"news-list__item\"><a href=\"/security/scale/{i}/{r}.html\"><ul><li class=\"news-list__date\">2023年{month}月{day}日</li></ul>\
             <p class=\"news-list__ttl\">{title}(第{global}報)</p><p class=\"news-list__txt\">{summary}{note}</p></a></li>\n"
        ));
    }
    body.push_str("</ul></body></html>\n");
    let etag = format!("\"{:x}\"", fxhash(body.as_bytes()));
    Page {
        body: body.into_bytes(),
        etag,
    }
}

fn fxhash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h: u64, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The shipped configuration's topics, with `n` listing sources spread over the servers; with
/// `articles` (the rows per listing), each source reads its rows' pages, all of them in a run;
/// `archives`, as `[output] archives`.
fn config_text(
    root: &Path,
    ports: &[u16],
    n: usize,
    articles: Option<usize>,
    archives: bool,
) -> String {
    let shipped = std::fs::read_to_string(root.join("config/ipa.toml")).unwrap();
    let topics = &shipped[shipped.find("\n[[topic]]").unwrap()..];
    let mut text = format!(
        "[site]\ntitle = \"scale\"\nbase_url = \"http://127.0.0.1:8080/\"\nauthor = \"kairan\"\n\n\
         [output]\ndir = \"public\"\narchives = {archives}\n\n[state]\npath = \"kairan.db\"\n\n\
         [fetch]\nretries = 0\n",
    );
    let rule = match articles {
        Some(rows) => {
            text.push_str(&format!("max_articles_per_run = {rows}\n"));
            "[source.article]\ncontent = \"main p.article-txt\"\npublished = \".publish-date\"\n"
        }
        None => "",
    };
    text.push('\n');
    for i in 0..n {
        let port = ports[i % ports.len()];
        text.push_str(&format!(
            "[[source]]\nid = \"s{i}\"\ntitle = \"listing {i}\"\nurl = \"http://127.0.0.1:{port}/l/{i}.html\"\nkind = \"html\"\n\
             [source.select]\nitem = \"ul.news-list > li.news-list__item\"\ntitle = \".news-list__ttl\"\nlink = \"a\"\n\
             date = \".news-list__date\"\nsummary = \".news-list__txt\"\n{rule}\n"
        ));
    }
    text + topics
}

/// A loopback server for the pages, with ETags and keep-alive; returns its port.
fn serve(pages: Arc<RwLock<Vec<Page>>>, counts: Arc<Counts>, flight: Arc<InFlight>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let (pages, counts, flight) = (pages.clone(), counts.clone(), flight.clone());
            std::thread::spawn(move || connection(stream, &pages, &counts, &flight));
        }
    });
    port
}

/// The article page at `path` (`/security/scale/{listing}/{row}.html`), in IPA's markup.
fn article(path: &str) -> Page {
    let body = format!(
        "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>記事</title></head><body>\
         <div class=\"news-detail\"><main><h1 class=\"ttl\">記事 {path}</h1><p class=\"publish-date\">公開日：2023年1月1日</p>\
         <h2 class=\"ttl\">概要</h2>{}</main></div></body></html>\n",
        "<p class=\"article-txt\">偽のセキュリティ警告の画面に表示された番号に電話をかけないでください。</p>".repeat(20)
    );
    let etag = format!("\"{:x}\"", fxhash(body.as_bytes()));
    Page {
        body: body.into_bytes(),
        etag,
    }
}

fn connection(
    mut stream: TcpStream,
    pages: &RwLock<Vec<Page>>,
    counts: &Counts,
    flight: &InFlight,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let now = flight.now.fetch_add(1, Ordering::SeqCst) + 1;
        flight.max.fetch_max(now, Ordering::SeqCst);
        let page_of_row = path.starts_with("/security/scale/").then(|| {
            counts.articles.fetch_add(1, Ordering::Relaxed);
            article(&path)
        });
        let index: Option<usize> = path
            .strip_prefix("/l/")
            .and_then(|p| p.strip_suffix(".html"))
            .and_then(|p| p.parse().ok());
        let pages = pages.read().unwrap();
        let reply = match page_of_row
            .as_ref()
            .or_else(|| index.and_then(|i| pages.get(i)))
        {
            Some(p) if headers.get("if-none-match") == Some(&p.etag) => {
                counts.not_modified.fetch_add(1, Ordering::Relaxed);
                format!(
                    "HTTP/1.1 304 Not Modified\r\nETag: {}\r\nContent-Length: 0\r\n\r\n",
                    p.etag
                )
                .into_bytes()
            }
            Some(p) => {
                counts.full.fetch_add(1, Ordering::Relaxed);
                let mut r = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nETag: {}\r\nContent-Length: {}\r\n\r\n",
                    p.etag,
                    p.body.len()
                )
                .into_bytes();
                r.extend_from_slice(&p.body);
                r
            }
            None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
        };
        drop(pages);
        let written = stream.write_all(&reply);
        flight.now.fetch_sub(1, Ordering::SeqCst);
        if written.is_err() {
            return;
        }
    }
}

/// A new, empty database `name` on the server of `server` (dropped first if it is there), and
/// its URL.
fn new_database(server: &str, name: &str) -> String {
    let url = url::Url::parse(server).expect("--postgres: a postgres:// URL");
    let mut admin = url.clone();
    admin.set_path("/postgres");
    let mut client = postgres::Client::connect(admin.as_str(), postgres::NoTls)
        .unwrap_or_else(|e| panic!("--postgres {server}: {e}"));
    // One statement at a time: neither may run inside a transaction block.
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        client.batch_execute(&sql).unwrap();
    }
    let mut made = url;
    made.set_path(&format!("/{name}"));
    made.to_string()
}

struct Measured {
    wall: f64,
    cpu: f64,
    rss_kb: u64,
    written: String,
    /// kairan's own account of where the time went (its debug log's stage lines).
    stages: String,
}

fn measure(kairan: &Path, dir: &Path, config: &Path, places: &[String]) -> Measured {
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(kairan)
        .args(["run", "-v", "--config"])
        .arg(config)
        .args(places)
        .env("KAIRAN_LOG", "kairan=debug")
        .current_dir(dir)
        .output()
        .expect("/usr/bin/time (apt-get install time)");
    let err = String::from_utf8_lossy(&out.stderr);
    let field = |name: &str| -> &str {
        err.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in:\n{err}"))
            .trim()
    };
    let seconds = |s: &str| -> f64 { s.parse().unwrap() };
    let wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss):")
        .rsplit(':')
        .enumerate()
        .map(|(i, part)| seconds(part) * 60f64.powi(i as i32))
        .sum();
    let written = err
        .lines()
        .find_map(|l| {
            l.split("; ")
                .find(|p| p.contains("files written"))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no summary in:\n{err}"));
    Measured {
        wall,
        cpu: seconds(field("User time (seconds):")) + seconds(field("System time (seconds):")),
        rss_kb: field("Maximum resident set size (kbytes):")
            .parse()
            .unwrap(),
        written,
        stages: err
            .lines()
            .filter(|l| l.ends_with(" ms"))
            .map(|l| format!("  {}\n", l.trim()))
            .collect(),
    }
}
