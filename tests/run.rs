//! `kairan run` end to end: the seed listing and IPA's alert feed served from a loopback server,
//! the shipped configuration pointed at it, the binary run as a process, the published files
//! read back.

use crate::common::*;
use feed_rs::model::Feed;
use std::collections::{BTreeMap, BTreeSet};

const SEXTORTION: &str = "性的な映像をばらまくと恐喝し、仮想通貨で金銭を要求する迷惑メールに注意";

fn seed_server(listing: &str) -> Server {
    let server = Server::start();
    server.route(LISTING_PATH, Reply::html(fixture(listing)));
    server.route(
        ALERT_PATH,
        Reply::ok("application/rdf+xml", fixture("ipa/alert-rss.rdf")),
    );
    server
}

/// The seed's rows as the fixture generator wrote them down.
fn expected_rows() -> Vec<serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_slice(&fixture("ipa/anshin-expected.json")).unwrap();
    v["rows"].as_array().unwrap().clone()
}

fn titles(feed: &Feed) -> Vec<String> {
    feed.entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect()
}

fn count(feed: &Feed, title: &str) -> usize {
    titles(feed).iter().filter(|t| *t == title).count()
}

fn entry<'a>(feed: &'a Feed, title: &str) -> &'a feed_rs::model::Entry {
    feed.entries
        .iter()
        .find(|e| e.title.as_ref().unwrap().content == title)
        .unwrap_or_else(|| panic!("no entry {title}"))
}

/// The raw text of an element of the entry with `title` in a published Atom file, e.g. its
/// `<updated>` with the offset as written (feed-rs would convert it to UTC).
fn raw_field(atom: &str, title: &str, element: &str) -> String {
    let at = atom
        .find(&format!("<title>{title}</title>"))
        .unwrap_or_else(|| panic!("no {title}"));
    let start = atom[..at].rfind("<entry>").unwrap();
    let entry = &atom[start..start + atom[start..].find("</entry>").unwrap()];
    let open = format!("<{element}>");
    let from = entry
        .find(&open)
        .unwrap_or_else(|| panic!("no {element} in {entry}"))
        + open.len();
    entry[from..from + entry[from..].find('<').unwrap()].to_owned()
}

#[test]
fn the_seed_listing_becomes_topic_feeds() {
    let server = seed_server("ipa/anshin-seed.html");
    let ws = Workspace::new("seed");
    ws.shipped_config(&server);
    let out = ws.run();
    assert_status(&out, 0);
    assert!(
        out.stderr.is_empty(),
        "a good run is silent: {}",
        stderr(&out)
    );

    let all = ws.feed("all");
    let rows = expected_rows();
    assert_eq!(rows.len(), 62);
    // 62 rows, one posted twice, and the 8 alerts of the feed.
    assert_eq!(all.entries.len(), 61 + 8);

    // The repeat is one entry, with the longer of its two summaries.
    assert_eq!(count(&all, SEXTORTION), 1);
    let sextortion = entry(&all, SEXTORTION);
    let summary = &sextortion.summary.as_ref().unwrap().content;
    assert!(
        summary.contains("メールは無視して削除して下さい"),
        "{summary}"
    );

    // Look-alikes stay apart.
    for title in [
        "「情報セキュリティ10大脅威 2023」簡易説明資料(スライド形式)個人編",
        "「情報セキュリティ10大脅威 2023」簡易説明資料(スライド形式)組織編",
        "「情報セキュリティ10大脅威 2023」簡易説明資料(スライド形式)個人編 一般利用者向け",
        "スマートフォンで偽のセキュリティ警告からアプリのインストールへ誘導する手口に注意",
        "スマートフォンの偽セキュリティ警告から自動継続課金アプリのインストールへ誘導する手口にあらためて注意!",
        "宅配便業者をかたる偽ショートメッセージに関する相談が急増中",
        "宅配便業者をかたる偽ショートメッセージに関する新たな手口が出現し、iPhoneも標的に",
        "宅配便業者をかたる偽ショートメッセージで、また新たな手口が出現",
        "暗号鍵管理ガイドライン",
        "暗号鍵設定ガイダンス〜暗号鍵の鍵長選択方法と運用方法〜",
        "暗号鍵管理 ガイダンスVer. 1",
    ] {
        assert_eq!(count(&all, title), 1, "{title}");
    }
    // Every seed title is there.
    let published: BTreeSet<String> = titles(&all).into_iter().collect();
    for row in &rows {
        let title = row["title"].as_str().unwrap();
        assert!(published.contains(title), "missing {title}");
    }

    // Dates: listing dates are midnight Japan time; the article's URL dates first publication.
    let atom = ws.read("feeds/all.atom");
    let browser = "ブラウザの通知機能から不審サイトに誘導する手口に注意";
    assert_eq!(
        raw_field(&atom, browser, "updated"),
        "2023-09-12T00:00:00+09:00"
    );
    assert_eq!(
        raw_field(&atom, browser, "published"),
        "2021-03-09T00:00:00+09:00"
    );
    assert_eq!(
        raw_field(&atom, SEXTORTION, "published"),
        "2018-10-10T00:00:00+09:00"
    );
    assert_eq!(
        raw_field(&atom, SEXTORTION, "updated"),
        "2021-09-08T00:00:00+09:00"
    );
    // Feed dates keep the source's +09:00.
    assert!(
        atom.contains("<updated>2023-09-12T17:00:00+09:00</updated>")
            || atom.contains("+09:00</published>")
    );
    assert!(
        !atom.contains("T00:00:00Z") && !atom.contains("T00:00:00+00:00"),
        "no UTC midnights"
    );

    // Links are absolute, canonical, without tracking parameters.
    let link = &sextortion.links[0].href;
    assert_eq!(
        link,
        &server.url("/security/anshin/attention/2018/mgdayori20181010.html")
    );
    for e in &all.entries {
        assert!(e.links[0].href.starts_with("http"), "{}", e.links[0].href);
        assert!(!e.links[0].href.contains("utm_"), "{}", e.links[0].href);
    }

    // Every topic feed has entries, and every listing row is in some topic.
    let topics = topic_ids();
    assert!(topics.len() >= 12, "{} topics", topics.len());
    let mut in_topic: BTreeSet<String> = BTreeSet::new();
    for t in &topics {
        let feed = ws.feed(t);
        assert!(!feed.entries.is_empty(), "topic {t} is empty");
        in_topic.extend(titles(&feed));
    }
    for row in &rows {
        let title = row["title"].as_str().unwrap();
        assert!(in_topic.contains(title), "{title} is in no topic");
    }
    // Categories name the topics an entry is in.
    let terms: Vec<&str> = sextortion
        .categories
        .iter()
        .map(|c| c.term.as_str())
        .collect();
    assert!(terms.contains(&"sextortion"), "{terms:?}");

    // Self links are absolute, from base_url; OPML and the index list every feed.
    assert!(
        atom.contains(r#"<link href="http://127.0.0.1:8080/feeds/all.atom" rel="self""#),
        "self link"
    );
    let opml = ws.read("feeds.opml");
    let index = ws.read("index.html");
    for t in topics.iter().map(String::as_str).chain(["all"]) {
        let url = format!("http://127.0.0.1:8080/feeds/{t}.atom");
        assert!(opml.contains(&format!("xmlUrl=\"{url}\"")), "{t} in OPML");
        assert!(
            index.contains(&format!("href=\"{url}\"")),
            "{t} in the index"
        );
    }
    validate_independently(&ws.out());
}

fn topic_ids() -> Vec<String> {
    kairan::Config::load(&root().join("config/ipa.toml"))
        .unwrap()
        .topics
        .into_iter()
        .map(|t| t.id)
        .collect()
}

#[test]
fn native_japanese_dates_give_the_same_entries() {
    // Each run has its own server port, so links (and the ids made from them) differ by port:
    // compare titles, link paths and dates.
    let snapshot = |listing: &str, name: &str| -> BTreeMap<String, (String, String)> {
        let server = seed_server(listing);
        let ws = Workspace::new(name);
        ws.shipped_config(&server);
        assert_status(&ws.run(), 0);
        validate_independently(&ws.out());
        ws.feed("all")
            .entries
            .iter()
            .map(|e| {
                let title = e.title.as_ref().unwrap().content.clone();
                let path = url::Url::parse(&e.links[0].href).unwrap().path().to_owned();
                (title, (path, e.updated.unwrap().to_rfc3339()))
            })
            .collect()
    };
    let seed = snapshot("ipa/anshin-seed.html", "native-a");
    let native = snapshot("ipa/anshin-native.html", "native-b");
    assert_eq!(seed.len(), 69);
    assert_eq!(seed, native);
}

#[test]
fn a_second_run_changes_nothing_and_ids_are_permanent() {
    let server = seed_server("ipa/anshin-seed.html");
    let ws = Workspace::new("stable");
    ws.shipped_config(&server);
    assert_status(&ws.run(), 0);
    let files = [
        "feeds/all.atom",
        "feeds/sextortion.atom",
        "feeds.opml",
        "index.html",
    ];
    let before: Vec<(Vec<u8>, std::time::SystemTime)> = files
        .iter()
        .map(|f| {
            let p = ws.out().join(f);
            (
                std::fs::read(&p).unwrap(),
                std::fs::metadata(&p).unwrap().modified().unwrap(),
            )
        })
        .collect();
    let ids_before: BTreeMap<String, String> = ws
        .feed("all")
        .entries
        .iter()
        .map(|e| (e.links[0].href.clone(), e.id.clone()))
        .collect();

    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_status(&ws.run(), 0);
    for (f, (bytes, mtime)) in files.iter().zip(&before) {
        let p = ws.out().join(f);
        assert_eq!(&std::fs::read(&p).unwrap(), bytes, "{f} changed");
        assert_eq!(
            &std::fs::metadata(&p).unwrap().modified().unwrap(),
            mtime,
            "{f} rewritten"
        );
    }

    // The listing moves on: a new row on top, the oldest rows scrolled off, one row edited.
    server.route(LISTING_PATH, Reply::html(fixture("ipa/anshin-update.html")));
    assert_status(&ws.run(), 0);
    let all = ws.feed("all");
    let ids_after: BTreeMap<String, String> = all
        .entries
        .iter()
        .map(|e| (e.links[0].href.clone(), e.id.clone()))
        .collect();
    for (link, id) in &ids_before {
        assert_eq!(
            ids_after.get(link),
            Some(id),
            "{link} lost or changed its id"
        );
    }
    assert_eq!(
        ids_after.len(),
        ids_before.len() + 1,
        "one new entry, none lost"
    );
    let atom = ws.read("feeds/all.atom");
    let browser = "ブラウザの通知機能から不審サイトに誘導する手口に注意";
    assert_eq!(
        raw_field(&atom, browser, "updated"),
        "2024-02-01T00:00:00+09:00"
    );
    assert_eq!(
        raw_field(&atom, browser, "published"),
        "2021-03-09T00:00:00+09:00"
    );
    // Entries that scrolled off keep their dates.
    assert_eq!(
        raw_field(
            &atom,
            "不正ログイン被害の原因となるパスワードの使い回しはNG",
            "updated"
        ),
        "2016-08-03T00:00:00+09:00"
    );
    // Newest first.
    let updated: Vec<_> = all.entries.iter().map(|e| e.updated.unwrap()).collect();
    assert!(
        updated.windows(2).all(|w| w[0] >= w[1]),
        "entries are newest first"
    );
    validate_independently(&ws.out());
}

#[test]
fn a_failing_source_keeps_what_was_published() {
    let server = seed_server("ipa/anshin-seed.html");
    let ws = Workspace::new("failing");
    ws.shipped_config(&server);
    assert_status(&ws.run(), 0);
    let before = ws.feed("all").entries.len();

    for (reply, reason) in [
        (Reply::status(500), "HTTP status 500"),
        (
            Reply::html(fixture("ipa/anshin-relayout.html")),
            "matched nothing",
        ),
        (Reply::html(""), "matched nothing"),
    ] {
        server.route(LISTING_PATH, reply);
        let out = ws.run();
        assert_status(&out, 1);
        let err = stderr(&out);
        assert!(err.contains("source anshin"), "{err}");
        assert!(err.contains(&server.url(LISTING_PATH)), "{err}");
        assert!(err.contains(reason), "{err}");
        assert!(
            !err.contains("source alert"),
            "the good source is not reported: {err}"
        );
        assert_eq!(
            ws.feed("all").entries.len(),
            before,
            "entries lost after: {reason}"
        );
        assert_eq!(count(&ws.feed("all"), SEXTORTION), 1);
    }

    // A broken feed fails alone: the listing is read and published in the same run.
    server.route(LISTING_PATH, Reply::html(fixture("ipa/anshin-update.html")));
    let truncated = fixture("ipa/alert-rss.rdf");
    server.route(
        ALERT_PATH,
        Reply::ok(
            "application/rdf+xml",
            truncated[..truncated.len() / 2].to_vec(),
        ),
    );
    let out = ws.run();
    assert_status(&out, 1);
    assert!(stderr(&out).contains("source alert"), "{}", stderr(&out));
    assert_eq!(
        ws.feed("all").entries.len(),
        before + 1,
        "the listing's new row is published"
    );
    validate_independently(&ws.out());
}

/// A rule added after entries scrolled off the listing still finds them: the store classifies
/// what it holds again. `kairan topics` before that run (classifying in memory, the stored
/// topics being by the old rules) and after it (reading the stored topics) agree.
#[test]
fn a_new_topic_rule_reaches_entries_that_left_the_listing() {
    let server = seed_server("ipa/anshin-seed.html");
    let ws = Workspace::new("retopic");
    let config = ws.shipped_config(&server);
    assert_status(&ws.run(), 0);
    server.route(LISTING_PATH, Reply::html(fixture("ipa/anshin-update.html")));
    assert_status(&ws.run(), 0);
    let gone = "不正ログイン被害の原因となるパスワードの使い回しはNG";
    assert!(!String::from_utf8_lossy(&fixture("ipa/anshin-update.html")).contains(gone));

    let text = std::fs::read_to_string(&config).unwrap()
        + "\n[[topic]]\nid = \"reuse\"\ntitle = \"使い回し\"\nany = [\"使い回し\"]\n";
    std::fs::write(&config, text).unwrap();
    let topics = || {
        let state = ws.state_arg();
        let args = ["topics", "--config", "kairan.toml", "--state", &state];
        let out = kairan(&ws.dir, &args);
        assert_status(&out, 0);
        String::from_utf8(out.stdout).unwrap()
    };
    let in_memory = topics();
    assert_status(&ws.run(), 0);
    let reuse = ws.feed("reuse");
    assert!(
        titles(&reuse).iter().any(|t| t == gone),
        "{:?}",
        titles(&reuse)
    );
    let stored = topics();
    assert_eq!(in_memory, stored);
    let count = stored
        .lines()
        .find(|l| l.starts_with("reuse "))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no reuse topic in {stored}"));
    assert_eq!(count, reuse.entries.len().to_string());
    validate_independently(&ws.out());
}
