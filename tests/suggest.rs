//! `kairan suggest` as a person uses it: on the listing layouts of `fixtures/suggest/` (each
//! with its true rows), on IPA's seed listing, on feeds and pages that link one, on pages with
//! nothing to read; and the proposal a redesigned page's failure carries, pasted into the
//! configuration.

use crate::common::*;
use std::path::Path;

/// A page's true rows, as `fixtures/suggest/make.py` wrote them.
struct Truth {
    url: String,
    rows: Vec<(String, String, Option<String>)>,
}

fn truth(name: &str) -> Truth {
    let v: serde_json::Value =
        serde_json::from_slice(&fixture(&format!("suggest/{name}.json"))).unwrap();
    Truth {
        url: v["url"].as_str().unwrap().to_owned(),
        rows: v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["title"].as_str().unwrap().to_owned(),
                    r["link"].as_str().unwrap().to_owned(),
                    r["date"].as_str().map(str::to_owned),
                )
            })
            .collect(),
    }
}

/// `kairan suggest --file PAGE --url URL`: its output, checked to have succeeded.
fn suggest_file(dir: &Path, page: &Path, url: &str, extra: &[&str]) -> String {
    let mut args = vec!["suggest", "--file", page.to_str().unwrap(), "--url", url];
    args.extend(extra);
    let out = kairan(dir, &args);
    assert_status(&out, 0);
    String::from_utf8(out.stdout).unwrap()
}

/// The rows `kairan check` reads from `page` with the printed `block` as the configuration's
/// only source: title, link, and the date (`YYYY-MM-DD`) in Japan.
fn rows_with(ws: &Workspace, block: &str, page: &Path) -> Vec<(String, String, Option<String>)> {
    let id = block
        .lines()
        .find_map(|l| l.strip_prefix("id = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("the block has an id");
    let config = format!(
        "[site]\ntitle = \"t\"\nauthor = \"t\"\nbase_url = \"http://127.0.0.1/\"\n\n{block}\n\
         [[topic]]\nid = \"any\"\ntitle = \"any\"\nany = [\"注意\"]\n"
    );
    let path = ws.config(&config);
    let out = kairan(
        &ws.dir,
        &[
            "check",
            "--json",
            "--config",
            path.to_str().unwrap(),
            "--source",
            id,
            "--file",
            page.to_str().unwrap(),
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("check --json: {e}: {}", stderr(&out)));
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["title"].as_str().unwrap().to_owned(),
                r["link"].as_str().unwrap().to_owned(),
                r["updated"].as_str().map(|d| d[..10].to_owned()),
            )
        })
        .collect()
}

const LAYOUTS: [&str; 11] = [
    "blog-archive",
    "card-grid",
    "dl-dt-dd",
    "era-abbrev",
    "fullwidth-news",
    "important-and-new",
    "no-classes",
    "sjis-table",
    "table-th-date",
    "ul-span-date",
    "vendor-table",
];

#[test]
fn every_fixture_layout_is_extracted_exactly_with_the_suggested_block() {
    let ws = Workspace::new("suggest-layouts");
    let mut exact = Vec::new();
    let mut wrong = Vec::new();
    for name in LAYOUTS {
        let t = truth(name);
        let page = root().join(format!("fixtures/suggest/{name}.html"));
        let block = suggest_file(&ws.dir, &page, &t.url, &[]);
        let got = rows_with(&ws, &block, &page);
        if got == t.rows {
            exact.push(name);
        } else {
            wrong.push(format!(
                "{name}:\n{block}\ngot {got:#?}\nwant {:#?}",
                t.rows
            ));
        }
    }
    eprintln!(
        "suggest: {} of {} layouts extracted exactly",
        exact.len(),
        LAYOUTS.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn the_ipa_seed_gets_a_block_that_reads_what_the_shipped_one_reads() {
    let ws = Workspace::new("suggest-seed");
    let page = root().join("fixtures/ipa/anshin-seed.html");
    let url = "https://www.ipa.go.jp/security/anshin/attention/index.html";
    let out = suggest_file(&ws.dir, &page, url, &[]);
    assert!(out.contains("item = \".news-list__item\"\ntitle = \".news-list__ttl\"\nlink = \"a\"\ndate = \".news-list__date\"\nsummary = \".news-list__txt\"\n"), "{out}");
    assert!(
        out.contains("title = \"安心相談窓口だより\""),
        "the page's own name: {out}"
    );
    assert!(out.contains("# Chosen: 62 rows, 62 dated"), "{out}");
    assert!(out.contains("# Runners-up:"), "{out}");
    let shipped = std::fs::read_to_string(root().join("config/ipa.toml")).unwrap();
    let start = shipped.find("[[source]]\nid = \"anshin\"").unwrap();
    let end = start + shipped[start..].find("\n# 重要なセキュリティ情報").unwrap();
    assert_eq!(
        rows_with(&ws, &out, &page),
        rows_with(&ws, &shipped[start..end], &page),
        "the suggested block reads the seed as the shipped one does"
    );
    assert_eq!(rows_with(&ws, &out, &page).len(), 62);
}

#[test]
fn the_runner_up_and_every_candidate_are_in_the_json() {
    let ws = Workspace::new("suggest-json");
    let t = truth("important-and-new");
    let page = root().join("fixtures/suggest/important-and-new.html");
    let out = suggest_file(&ws.dir, &page, &t.url, &["--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kind"], "html");
    let candidates = v["candidates"].as_array().unwrap();
    assert_eq!(candidates[0]["rows"], 30, "the long list wins");
    let important = candidates
        .iter()
        .find(|c| c["rows"] == 3)
        .expect("the short important list is a runner-up");
    assert_eq!(important["dated"], 3);
    assert_eq!(important["preview"].as_array().unwrap().len(), 3);
    assert_eq!(v["entries"].as_array().unwrap().len(), 30);
    assert!(v["block"].as_str().unwrap().starts_with("[[source]]\n"));
    let text = suggest_file(&ws.dir, &page, &t.url, &[]);
    assert!(text.contains("fewer rows (3 against 30)"), "{text}");
}

#[test]
fn a_feed_or_a_page_that_links_one_gets_a_feed_block() {
    let server = Server::start();
    server.route(
        "/rss.rdf",
        Reply::ok("application/rdf+xml", fixture("ipa/alert-rss.rdf")),
    );
    server.route(
        "/with-feed.html",
        Reply::html(
            "<!DOCTYPE html><html><head><title>お知らせ | 例</title>\
             <link rel=\"alternate\" type=\"application/rss+xml\" href=\"/rss.rdf\"></head>\
             <body><p>本文</p></body></html>",
        ),
    );
    let ws = Workspace::new("suggest-feed");
    for path in ["/rss.rdf", "/with-feed.html"] {
        let out = kairan(&ws.dir, &["suggest", &server.url(path)]);
        assert_status(&out, 0);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("kind = \"feed\""), "{path}: {text}");
        assert!(
            text.contains(&format!("url = \"{}\"", server.url("/rss.rdf"))),
            "{path}: {text}"
        );
        assert!(text.contains("feed"), "says why: {text}");
        // The block pastes into a configuration and reads the feed.
        let block = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        ws.config(&config(&block));
        let run = ws.run();
        assert_status(&run, 0);
    }
    assert!(
        server.requests("/with-feed.html")[0]
            .headers
            .get("user-agent")
            .is_some_and(|v| v.starts_with("kairan/")),
        "fetched by run's own client"
    );
}

#[test]
fn a_page_with_nothing_to_read_exits_1_saying_what_it_looked_like() {
    let server = Server::start();
    server.route(
        "/app.html",
        Reply::html(
            "<!DOCTYPE html><html><head><title>アプリ</title><script src=\"/app.js\"></script>\
             </head><body><div id=\"root\"></div><noscript>JavaScriptを有効にしてください</noscript>\
             </body></html>",
        ),
    );
    server.route(
        "/prose.html",
        Reply::html(format!(
            "<!DOCTYPE html><html><head><title>説明</title></head><body>{}</body></html>",
            "<p>このページには一覧がありません。情報セキュリティの基本を説明します。</p>"
                .repeat(20)
        )),
    );
    let ws = Workspace::new("suggest-nothing");
    for (path, says) in [
        ("/app.html", "JavaScript"),
        ("/prose.html", "no repeated structure with links"),
    ] {
        let out = kairan(&ws.dir, &["suggest", &server.url(path)]);
        assert_status(&out, 1);
        assert!(stderr(&out).contains(says), "{path}: {}", stderr(&out));
        assert!(out.stdout.is_empty());
    }
    for args in [
        &["suggest"][..],
        &["suggest", "--file", "x.html"],
        &["suggest", "not a url"],
    ] {
        assert_status(&kairan(&ws.dir, args), 2);
    }
}

#[test]
fn a_redesigned_listing_fails_with_a_proposal_that_pastes_in() {
    let server = Server::start();
    server.route(
        LISTING_PATH,
        Reply::html(fixture("ipa/anshin-relayout.html")),
    );
    server.route(
        ALERT_PATH,
        Reply::ok("application/rdf+xml", fixture("ipa/alert-rss.rdf")),
    );
    let ws = Workspace::new("suggest-redesign");
    let path = ws.shipped_config(&server);
    let out = ws.run();
    assert_status(&out, 1);
    let err = stderr(&out);
    let proposal = err
        .lines()
        .find_map(|l| l.split_once("kairan suggest proposes: ").map(|(_, p)| p))
        .unwrap_or_else(|| panic!("no proposal in: {err}"));
    assert!(
        proposal.starts_with("select = { item = \".card\""),
        "{proposal}"
    );
    // The fix: the proposal in place of the old [source.select] table.
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find("[source.select]\nitem = \"ul.news-list").unwrap();
    let end = start + text[start..].find("\n\n").unwrap();
    ws.config(&format!("{}{proposal}{}", &text[..start], &text[end..]));
    assert_status(&ws.run(), 0);
    assert!(
        ws.read("feeds/all.atom")
            .contains("ブラウザの通知機能から不審サイトに誘導する手口に注意")
    );
    validate_independently(&ws.out());
}

mod properties {
    use chrono_tz::Asia::Tokyo;
    use kairan::Config;
    use kairan::source::SourceKind;
    use kairan::suggest::{Suggestion, suggest};
    use proptest::prelude::*;
    use proptest::sample::select;

    /// One row in one of the layouts suggest must read, with the given class names (or none).
    fn row(layout: usize, class: &str, i: usize, date: &str, title: &str) -> String {
        let c = |name: &str| {
            if class.is_empty() {
                String::new()
            } else {
                format!(" class=\"{class}-{name}\"")
            }
        };
        let href = format!("/n/{i}.html");
        match layout {
            0 => format!(
                "<li{}><span{}>{date}</span><a href=\"{href}\">{title}</a></li>",
                c("row"),
                c("date")
            ),
            1 => format!(
                "<li{}><a href=\"{href}\"><span{}>{date}</span><p{}>{title}</p></a></li>",
                c("row"),
                c("date"),
                c("title")
            ),
            2 => format!("<tr><th>{date}</th><td><a href=\"{href}\">{title}</a></td></tr>"),
            3 => format!(
                "<div{}><time>{date}</time><h3><a href=\"{href}\">{title}</a></h3><p>{title}の詳細な説明文がここに入ります。</p></div>",
                c("card")
            ),
            _ => format!("<dt>{date}</dt><dd><a href=\"{href}\">{title}</a></dd>"),
        }
    }

    fn page(layout: usize, class: &str, rows: &[(String, String)], nav: usize) -> String {
        let rows: String = rows
            .iter()
            .enumerate()
            .map(|(i, (d, t))| row(layout, class, i, d, t))
            .collect();
        let list = match layout {
            0 | 1 => format!("<ul>{rows}</ul>"),
            2 => format!("<table><tr><th>日付</th><th>件名</th></tr>{rows}</table>"),
            3 => format!("<div>{rows}</div>"),
            _ => format!("<dl>{rows}</dl>"),
        };
        let nav: String = (0..nav)
            .map(|i| format!("<li><a href=\"/m/{i}\">メニュー{i}</a></li>"))
            .collect();
        format!(
            "<!DOCTYPE html><html><head><title>一覧</title></head><body>\
             <nav><ul>{nav}</ul></nav><main><h1>お知らせ</h1>{list}</main>\
             <footer><p>フッター</p></footer></body></html>"
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever the page, a block that suggest prints compiles with the configuration
        /// compiler and extracts at least two rows from the page; and a listing of three rows
        /// or more is found, every row of it.
        #[test]
        fn a_printed_block_compiles_and_reads_at_least_two_rows(
            layout in 0usize..5,
            class in select(vec!["", "news", "list-item", "x1"]),
            rows in proptest::collection::vec(
                (
                    select(vec!["2023年9月12日", "2024/01/05", "令和5年9月1日", "R6.2.3", "近日", ""]),
                    select(vec!["偽のセキュリティ警告に注意", "SMS", "脆弱性対策について(2024年6月)", "お知らせ"]),
                ),
                0..12,
            ),
            nav in 0usize..8,
        ) {
            let rows: Vec<(String, String)> = rows.into_iter().map(|(d, t)| (d.to_owned(), t.to_owned())).collect();
            let html = page(layout, class, &rows, nav);
            let url = url::Url::parse("https://www.example.go.jp/news/index.html").unwrap();
            let found = suggest(html.as_bytes(), None, &url, Tokyo);
            // Three rows or more are a listing, found whole, beside the menu.
            if rows.len() >= 3 {
                let whole = matches!(&found, Suggestion::Listing { entries, .. } if entries.len() == rows.len());
                prop_assert!(whole, "{html}\n{found:?}");
            }
            if let Suggestion::Listing { block, entries, .. } = found {
                let text = format!(
                    "[site]\ntitle = \"t\"\nauthor = \"t\"\nbase_url = \"http://127.0.0.1/\"\n\n{block}\n\
                     [[topic]]\nid = \"any\"\ntitle = \"any\"\nany = [\"a\"]\n"
                );
                let config = Config::parse(&text, "block");
                prop_assert!(config.is_ok(), "{block}\n{:?}", config.err());
                let config = config.unwrap();
                let SourceKind::Html(select) = &config.sources[0].kind else {
                    panic!("an html block");
                };
                let read = kairan::extract::html::extract(&html, select);
                prop_assert!(read.as_ref().is_ok_and(|r| r.len() >= 2), "{block}\n{html}");
                prop_assert!(entries.len() >= 2);
            }
        }
    }
}
