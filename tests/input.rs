//! Input as it really arrives: other encodings, other markup, other feed formats, hostile
//! pages, and broken configurations.

use crate::common::*;

fn titles(ws: &Workspace) -> Vec<String> {
    ws.feed("all")
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect()
}

#[test]
fn shift_jis_declared_only_in_meta_keeps_windows_31j_characters() {
    let server = Server::start();
    // The header names no charset: only the page's <meta http-equiv> does.
    server.route(
        "/old.html",
        Reply::ok("text/html", fixture("encodings/old-site-sjis.html")),
    );
    let ws = Workspace::new("sjis");
    let select =
        "item = \"table.ipar_newstable tr\"\ntitle = \"td a\"\nlink = \"td a\"\ndate = \"th\"\n";
    ws.config(&config(&html_source(
        "old",
        &server.url("/old.html"),
        select,
    )));
    assert_status(&ws.run(), 0);
    let titles = titles(&ws);
    assert_eq!(titles.len(), 6, "{titles:?}");
    assert!(
        titles.contains(&"①㈱髙橋商事をかたる偽メールに注意～テスト用の架空の行～".to_owned()),
        "{titles:?}"
    );
    assert!(
        titles.contains(
            &"国税庁をかたる偽ショートメッセージサービス(SMS)や偽メールに注意".to_owned()
        )
    );
    let atom = ws.read("feeds/all.atom");
    assert!(
        atom.contains("<updated>2022-03-01T00:00:00+09:00</updated>"),
        "dates from 2022年3月1日"
    );
    assert!(!atom.contains('\u{FFFD}'), "no replacement characters");
    validate_independently(&ws.out());
}

#[test]
fn euc_jp_declared_late_in_the_head_is_decoded() {
    let server = Server::start();
    server.route(
        "/euc.html",
        Reply::ok("text/html", fixture("encodings/anshin-eucjp.html")),
    );
    let ws = Workspace::new("eucjp");
    ws.config(&config(&html_source(
        "euc",
        &server.url("/euc.html"),
        NEWS_LIST,
    )));
    assert_status(&ws.run(), 0);
    let titles = titles(&ws);
    assert_eq!(titles.len(), 5);
    assert!(
        titles.contains(&"暗号鍵管理 ガイダンスVer. 1".to_owned()),
        "{titles:?}"
    );
    assert!(!ws.read("feeds/all.atom").contains('\u{FFFD}'));
}

#[test]
fn rss2_atom_and_json_feeds_are_read_and_one_article_is_one_entry() {
    let server = Server::start();
    server.route(
        "/rss2.xml",
        Reply::ok("application/rss+xml", fixture("feeds/rss2.xml")),
    );
    server.route(
        "/atom.xml",
        Reply::ok("application/atom+xml", fixture("feeds/atom.xml")),
    );
    server.route(
        "/feed.json",
        Reply::ok("application/feed+json", fixture("feeds/feed.json")),
    );
    server.route(
        "/jvndb.rdf",
        Reply::ok("application/rdf+xml", fixture("jvn/jvndb.rdf")),
    );
    let ws = Workspace::new("feeds");
    let sources = [
        feed_source("rss2", &server.url("/rss2.xml")),
        feed_source("atom", &server.url("/atom.xml")),
        feed_source("json", &server.url("/feed.json")),
        feed_source("jvn", &server.url("/jvndb.rdf")),
    ]
    .join("\n");
    ws.config(&config(&sources));
    let out = ws.run();
    assert_status(&out, 0);
    let titles = titles(&ws);
    // The same article linked with three different tracking parameters or fragments.
    let sextortion = "性的な映像をばらまくと恐喝し、仮想通貨で金銭を要求する迷惑メールに注意";
    assert_eq!(
        titles.iter().filter(|t| *t == sextortion).count(),
        1,
        "{titles:?}"
    );
    let atom = ws.read("feeds/all.atom");
    // JVN dates without seconds, with their +09:00 kept.
    assert!(atom.contains("2022-06-21T11:52:00+09:00"), "JVN dates");
    // The earliest date any feed gave for the article: the JSON Feed's 2018-10-10.
    let at = atom.find(sextortion).unwrap();
    let entry = &atom[at..at + atom[at..].find("</entry>").unwrap()];
    assert!(entry.contains("<published>2018-10-10T"), "{entry}");
    assert!(
        entry.contains(
            "https://www.ipa.go.jp/security/anshin/attention/2018/mgdayori20181010.html\""
        ),
        "{entry}"
    );
    validate_independently(&ws.out());
}

#[test]
fn hostile_markup_never_reaches_the_output() {
    let server = Server::start();
    server.route(
        "/hostile.html",
        Reply::html(fixture("hostile/listing.html")),
    );
    let ws = Workspace::new("hostile");
    ws.config(&config(&html_source(
        "hostile",
        &server.url("/hostile.html"),
        NEWS_LIST,
    )));
    let out = ws.run();
    assert_status(&out, 0);
    for file in ["feeds/all.atom", "feeds.opml", "index.html"] {
        let text = ws.read(file);
        for bad in [
            "<script",
            "<img",
            "onerror",
            "=\"javascript:",
            "<b>",
            "\u{0}",
            "\u{1}",
            "\u{8}",
            "\u{B}",
            "\u{1F}",
        ] {
            assert!(!text.contains(bad), "{file} contains {bad:?}");
        }
    }
    let titles = titles(&ws);
    assert!(
        titles.contains(&"偽の警告に注意".to_owned()),
        "script text dropped: {titles:?}"
    );
    assert!(
        titles.contains(&"太字と斜体が閉じていない見出し".to_owned()),
        "{titles:?}"
    );
    assert!(
        titles.iter().all(|t| !t.trim().is_empty()),
        "no empty titles"
    );
    let atom = ws.read("feeds/all.atom");
    assert!(
        atom.contains("制御文字を含む概要です。"),
        "control characters removed, not spaced"
    );
    assert!(
        atom.contains("&lt;b&gt;これはタグではありません&lt;/b&gt;"),
        "text that looks like a tag stays text"
    );
    assert!(
        !atom.contains("2024-02-14"),
        "2023年13月45日 does not roll over"
    );
    validate_independently(&ws.out());

    // The rows that could not be read are explained with -v.
    let verbose = kairan(
        &ws.dir,
        &[
            "run",
            "-v",
            "--config",
            "kairan.toml",
            "--out",
            "public",
            "--state",
            "state/kairan.db",
        ],
    );
    let err = stderr(&verbose);
    assert!(err.contains("no title: row skipped"), "{err}");
    assert!(err.contains("is not a valid date"), "{err}");
    assert!(err.contains("is not http or https"), "{err}");
}

#[test]
fn local_paths_and_file_urls_are_sources() {
    let ws = Workspace::new("local");
    let page = root().join("fixtures/ipa/anshin-seed.html");
    let feed = url::Url::from_file_path(root().join("fixtures/ipa/alert-rss.rdf")).unwrap();
    let sources = [
        html_source("anshin", page.to_str().unwrap(), NEWS_LIST),
        feed_source("alert", feed.as_str()),
    ]
    .join("\n");
    ws.config(&config(&sources));
    assert_status(&ws.run(), 0);
    // Root-relative links of a local page have no web origin: the entries link to the page.
    assert_eq!(titles(&ws).len(), 62 - 1 + 8);
}

#[test]
fn configuration_errors_name_file_line_and_key() {
    let ws = Workspace::new("bad-config");
    let cases = [
        ("[site]\ntitle = \"t\"\nbase_url = \n", "line 3", ""),
        (
            &config(&html_source("a", "http://127.0.0.1:1/", NEWS_LIST))
                .replace("author = \"IPA\"", "author = \"IPA\"\nauthr = \"x\""),
            "unknown field `authr`",
            "line 6",
        ),
        (
            &config(&html_source(
                "a",
                "http://127.0.0.1:1/",
                &NEWS_LIST.replace(".news-list__ttl", "p..ttl"),
            )),
            "source.select.title",
            "invalid CSS selector \"p..ttl\": a class name must follow \".\"",
        ),
        (
            &config(&html_source("Bad Id", "http://127.0.0.1:1/", NEWS_LIST)),
            "source.id",
            "\"Bad Id\"",
        ),
        (
            &config(&feed_source("a", "ftp://127.0.0.1/x")),
            "source.url",
            "ftp://",
        ),
        (
            &config(&feed_source("a", "http://127.0.0.1:1/"))
                .replace("id = \"sms\"", "id = \"all\""),
            "topic.id",
            "reserved",
        ),
        (
            &config(&feed_source("a", "http://127.0.0.1:1/a").repeat(2)),
            "source.id",
            "kairan.toml:13:6: `source.id`: \"a\" is used by two sources",
        ),
        (
            &(config(&feed_source("a", "http://127.0.0.1:1/a")) + "[serve]\nmax_connections = 0\n"),
            "`serve.max_connections`",
            "expected 1 to 1048576, found 0",
        ),
        (
            &(config(&feed_source("a", "http://127.0.0.1:1/a"))
                + "[serve]\nheader_timeout = \"10 minutes\"\n"),
            "`serve.header_timeout`",
            "\"10 minutes\"",
        ),
    ];
    for (text, want, want_too) in cases {
        let path = ws.config(text);
        let out = ws.run();
        assert_status(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains(path.to_str().unwrap()),
            "names the file: {err}"
        );
        assert!(
            err.contains(want) && err.contains(want_too),
            "want {want:?} and {want_too:?} in: {err}"
        );
    }
    // The selector error points at the line of the selector.
    let text = config(&html_source(
        "a",
        "http://127.0.0.1:1/",
        &NEWS_LIST.replace(".news-list__ttl", "p..ttl"),
    ));
    let line = text.lines().position(|l| l.contains("p..ttl")).unwrap() + 1;
    ws.config(&text);
    let err = stderr(&ws.run());
    assert!(
        err.contains(&format!("kairan.toml:{line}:")),
        "line {line} in: {err}"
    );
    assert!(
        !ws.out().exists(),
        "nothing is written for a bad configuration"
    );
}

#[test]
fn the_built_in_configuration_is_valid() {
    let config = kairan::Config::builtin();
    assert_eq!(config.sources.len(), 2);
    assert!(config.topics.len() >= 12);
    assert_eq!(
        config.sources[0].url.as_str(),
        "https://www.ipa.go.jp/security/anshin/attention/index.html"
    );
}

#[test]
fn a_minimal_configuration_runs_and_what_is_still_required_is_named() {
    let server = Server::start();
    server.route(LISTING_PATH, Reply::html(fixture("ipa/anshin-seed.html")));
    let ws = Workspace::new("minimal-config");
    let minimal = format!(
        "[site]\ntitle = \"最小の設定\"\nbase_url = \"http://127.0.0.1:8080/\"\n\n\
         [[source]]\nid = \"anshin\"\nurl = \"{}\"\nkind = \"html\"\n\
         [source.select]\nitem = \".news-list__item\"\ntitle = \".news-list__ttl\"\n\n\
         [[topic]]\nid = \"sms\"\ntitle = \"SMS\"\nany = [\"SMS\"]\n",
        server.url(LISTING_PATH)
    );
    ws.config(&minimal);
    assert_status(&ws.run(), 0);
    let feed = ws.feed("all");
    assert_eq!(feed.entries.len(), 61, "62 rows, one repeat merged");
    assert_eq!(
        feed.authors[0].name.as_deref(),
        Some("最小の設定"),
        "the author is the site title"
    );
    assert!(
        feed.entries
            .iter()
            .all(|e| e.links[0].href.starts_with("http://127.0.0.1")),
        "links from the default link selector, the item's first <a>"
    );
    validate_independently(&ws.out());

    for (drop, says) in [
        (
            "base_url = \"http://127.0.0.1:8080/\"\n",
            "missing field `base_url`",
        ),
        ("title = \".news-list__ttl\"\n", "missing field `title`"),
        ("item = \".news-list__item\"\n", "missing field `item`"),
    ] {
        ws.config(&minimal.replacen(drop, "", 1));
        let out = ws.run();
        assert_status(&out, 2);
        assert!(stderr(&out).contains(says), "{drop}: {}", stderr(&out));
    }
}

#[test]
fn in_english_no_built_in_japanese_word_remains() {
    let server = Server::start();
    let rows: String = (1..=4)
        .map(|i| {
            format!(
                "<li class=\"news-list__item\"><a href=\"/advisories/{i}.html\"><ul>\
                 <li class=\"news-list__date\">2024/01/0{i}</li></ul>\
                 <p class=\"news-list__ttl\">Advisory {i}: beware of fake SMS warnings</p></a></li>"
            )
        })
        .collect();
    server.route(
        "/list.html",
        Reply::html(format!(
            "<!DOCTYPE html><html lang=\"en\"><head><title>Advisories</title></head>\
             <body><ul class=\"news-list\">{rows}</ul></body></html>"
        )),
    );
    let ws = Workspace::new("english");
    let text = format!(
        "[site]\ntitle = \"Security advisories\"\nbase_url = \"http://127.0.0.1:8080/\"\n\
         language = \"en\"\n\n{}\n[[topic]]\nid = \"sms\"\ntitle = \"SMS\"\nany = [\"SMS\"]\n\n\
         [[topic]]\nid = \"empty\"\ntitle = \"Nothing yet\"\nany = [\"ransomware\"]\n",
        html_source("advisories", &server.url("/list.html"), NEWS_LIST)
    );
    ws.config(&text);
    assert_status(&ws.run(), 0);
    let japanese = |s: &str| {
        s.chars().any(|c| {
            matches!(c, '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}' | '\u{ff00}'..='\u{ffef}')
        })
    };
    for (path, bytes) in files_under(&ws.out()) {
        let text = String::from_utf8(bytes).unwrap();
        assert!(!japanese(&text), "{path} has a Japanese word:\n{text}");
    }
    assert!(ws.read("index.html").contains("<html lang=\"en\">"));
    assert!(ws.read("index.html").contains("<th>Topic</th>"));
    assert!(
        ws.read("embed/empty.html")
            .contains("<li>No entries yet.</li>")
    );
    assert!(ws.read("feeds/all.atom").contains("xml:lang=\"en\""));
    let json: serde_json::Value = serde_json::from_str(&ws.read("feeds/all.json")).unwrap();
    assert_eq!(json["language"], "en");
    let topics = ws.dir.join("kairan.toml");
    let listed = kairan(
        &ws.dir,
        &[
            "topics",
            "--config",
            topics.to_str().unwrap(),
            "--state",
            ws.state().to_str().unwrap(),
        ],
    );
    assert_status(&listed, 0);
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(listed.contains("All") && !japanese(&listed), "{listed}");
    validate_independently(&ws.out());

    ws.config(&text.replace("language = \"en\"", "language = \"fr\""));
    let out = ws.run();
    assert_status(&out, 2);
    assert!(
        stderr(&out).contains("`site.language`: expected one of \"ja\", \"en\", found \"fr\""),
        "{}",
        stderr(&out)
    );
}
