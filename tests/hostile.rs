//! Hostile and broken input served over loopback to the shipped configuration: oversized and
//! invalid text, markup nested beyond reason, feeds that try entity tricks or carry active
//! content, impossible dates. Whatever arrives, the run ends, says why a source failed, and
//! publishes only text that validates. (`tests/input.rs` has the basic hostile listing.)

mod common;

use common::*;
use kairan::normalize::text::xml_safe;

/// A listing in IPA's markup around the given `<li>` items.
fn listing(items: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\"><title>一覧</title></head>\n\
         <body><ul class=\"news-list\">\n{items}\n</ul></body></html>\n"
    )
}

/// One listing row; title and summary are markup.
fn item(path: &str, date: &str, title: &str, summary: &str) -> String {
    format!(
        "<li class=\"news-list__item\"><a href=\"{path}\"><ul><li class=\"news-list__date\">{date}</li></ul>\
         <p class=\"news-list__ttl\">{title}</p><div class=\"news-list__txt\">{summary}</div></a></li>\n"
    )
}

/// An RSS 2.0 feed with the given prologue (a DOCTYPE, say) and `<item>`s.
fn rss(prologue: &str, items: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{prologue}\n<rss version=\"2.0\"><channel>\
         <title>t</title><link>https://www.ipa.go.jp/</link><description>d</description>\n{items}\n\
         </channel></rss>\n"
    )
}

/// The shipped configuration against a server whose listing and alert feed are given.
fn serve(name: &str, listing: Reply, alert: Reply) -> (Server, Workspace) {
    let server = Server::start();
    server.route(LISTING_PATH, listing);
    server.route(ALERT_PATH, alert);
    let ws = Workspace::new(name);
    ws.shipped_config(&server);
    (server, ws)
}

fn good_alerts() -> Reply {
    Reply::ok("application/rdf+xml", fixture("ipa/alert-rss.rdf"))
}

fn good_listing() -> Reply {
    Reply::html(fixture("ipa/anshin-seed.html"))
}

fn rss_reply(body: String) -> Reply {
    Reply::ok("application/rss+xml", body)
}

/// `kairan run -v` in the workspace: warnings per row on stderr.
fn run_verbose(ws: &Workspace) -> std::process::Output {
    let config = ws.dir.join("kairan.toml");
    let (out, state) = (ws.out(), ws.state());
    kairan(
        &ws.dir,
        &[
            "run",
            "-v",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ],
    )
}

/// Every published file, as text: it must be UTF-8 and free of characters XML cannot carry.
fn published(ws: &Workspace) -> String {
    let mut all = String::new();
    let feeds = std::fs::read_dir(ws.out().join("feeds")).unwrap();
    let mut files: Vec<String> = feeds
        .map(|e| format!("feeds/{}", e.unwrap().file_name().to_str().unwrap()))
        .collect();
    files.extend(["feeds.opml".to_owned(), "index.html".to_owned()]);
    for f in files {
        let text = ws.read(&f);
        assert_eq!(xml_safe(&text), text, "{f} has characters XML cannot carry");
        all.push_str(&text);
    }
    all
}

fn entry<'a>(feed: &'a feed_rs::model::Feed, prefix: &str) -> &'a feed_rs::model::Entry {
    feed.entries
        .iter()
        .find(|e| e.title.as_ref().unwrap().content.starts_with(prefix))
        .unwrap_or_else(|| panic!("no entry titled {prefix}…"))
}

fn title(e: &feed_rs::model::Entry) -> &str {
    &e.title.as_ref().unwrap().content
}

#[test]
fn a_five_megabyte_title_and_a_long_summary_are_cut_with_an_ellipsis() {
    // Generated here rather than committed: 5.25 MB of title in one row.
    let huge = "長い題名。".repeat(350_000);
    let long_summary = "概要の文。".repeat(2_000);
    let page = listing(
        &[
            item(
                "/security/test/huge.html",
                "2024年1月15日",
                &huge,
                &long_summary,
            ),
            item(
                "/security/test/next.html",
                "2024年1月14日",
                "次の行",
                "普通の概要",
            ),
        ]
        .concat(),
    );
    let (_server, ws) = serve("huge-title", Reply::html(page), good_alerts());
    assert_status(&ws.run(), 0);
    let all = ws.feed("all");
    let e = entry(&all, "長い題名。");
    // 299 characters of the title and an ellipsis; 1,999 of the summary and an ellipsis.
    let cut = |s: &str, n: usize| format!("{}…", s.chars().take(n - 1).collect::<String>());
    assert_eq!(title(e), cut(&huge, 300));
    assert_eq!(
        e.summary.as_ref().unwrap().content,
        cut(&long_summary, 2000)
    );
    assert_eq!(
        title(entry(&all, "次の行")),
        "次の行",
        "the next row is intact"
    );
    // Nothing of the 5 MB goes beyond the cut, in any file.
    let text = published(&ws);
    assert!(text.len() < 1_000_000, "{} bytes published", text.len());
    validate_independently(&ws.out());
}

#[test]
fn markup_nested_beyond_reason_fails_its_source_and_keeps_what_was_published() {
    let nest = |tag: &str, depth: usize, inner: &str| {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
    };
    // Nesting a real page might have is read, through an explicit stack.
    let page = listing(&item(
        "/security/test/spans.html",
        "2024年1月15日",
        &nest("span", 400, "入れ子の題名"),
        &nest("div", 400, "奥の文"),
    ));
    let (server, ws) = serve("deep", Reply::html(page), good_alerts());
    assert_status(&ws.run(), 0);
    let before = ws.feed("all");
    let e = entry(&before, "入れ子");
    assert_eq!(title(e), "入れ子の題名");
    assert_eq!(e.summary.as_ref().unwrap().content, "奥の文");

    // 100,000 levels, closed and unclosed, in the listing and in a feed's HTML summary: each
    // source fails with the reason instead of parsing for minutes; what it published stays.
    let deep = listing(&item(
        "/security/test/divs.html",
        "2024年1月14日",
        "深い概要",
        &nest("div", 100_000, "奥の文"),
    )) + &"<div><b>".repeat(50_000);
    server.route(LISTING_PATH, Reply::html(deep));
    let escaped = nest("div", 100_000, "x")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    server.route(
        ALERT_PATH,
        rss_reply(rss(
            "",
            &format!("<item><title>深い</title><link>https://www.ipa.go.jp/x.html</link><description>{escaped}</description></item>"),
        )),
    );
    let out = ws.run();
    assert_status(&out, 1);
    let err = stderr(&out);
    for source in ["anshin", "alert"] {
        let line = err
            .lines()
            .find(|l| l.starts_with(&format!("kairan: source {source} (")))
            .unwrap_or_else(|| panic!("{source} not reported: {err}"));
        assert!(
            line.ends_with("the markup nests elements more than 512 deep: not read"),
            "{line}"
        );
    }
    let after = ws.feed("all");
    assert_eq!(after.entries.len(), before.entries.len());
    assert!(
        after
            .entries
            .iter()
            .all(|e| title(e) != "深い概要" && title(e) != "深い")
    );
    published(&ws);
    validate_independently(&ws.out());
}

#[test]
fn nul_and_control_characters_are_removed_raw_or_as_references() {
    // Raw in the page and the feed, and as character references, which decode to them.
    let page = listing(&item(
        "/security/test/controls.html",
        "2024年1月15日",
        "制御\u{0}文字\u{1}\u{8}\u{B}\u{C}\u{1B}\u{7F}\u{85}\u{9F}\u{FFFE}\u{FFFF}の題&#1;名&#x1F;&#xFFFF;",
        "概要\u{0}に&#8;制御\u{7}文字",
    ));
    let feed = rss(
        "",
        "<item><title>フィードの\u{1}題名&#x8;です</title><link>https://www.ipa.go.jp/c.html</link>\
         <description>&lt;p&gt;概要&amp;#1;の\u{1F}中&lt;/p&gt;</description></item>",
    );
    let (_server, ws) = serve("controls", Reply::html(page), rss_reply(feed));
    assert_status(&ws.run(), 0);
    let all = ws.feed("all");
    let listed = entry(&all, "制御");
    assert_eq!(title(listed), "制御文字の題名");
    assert_eq!(listed.summary.as_ref().unwrap().content, "概要に制御文字");
    let fed = entry(&all, "フィードの");
    assert_eq!(title(fed), "フィードの題名です");
    assert_eq!(fed.summary.as_ref().unwrap().content, "概要の中");
    // published() checks every file for characters XML cannot carry.
    published(&ws);
    validate_independently(&ws.out());
}

#[test]
fn invalid_utf8_in_a_page_declared_utf8_becomes_replacement_characters() {
    // Four rows whose titles hold a byte sequence UTF-8 does not allow, spliced in for
    // markers; a fifth row is valid throughout.
    let bad: [&[u8]; 4] = [b"\xFF", b"\xE3\x81", b"\xC0\xAF", b"\xED\xA0\x80"];
    let mut items: String = (0..bad.len())
        .map(|i| {
            let path = format!("/security/test/bad{i}.html");
            item(&path, "2024年1月15日", &format!("壊れた@{i}@文字"), "")
        })
        .collect();
    items.push_str(&item(
        "/security/test/ok.html",
        "2024年1月14日",
        "正しい行",
        "概要",
    ));
    let mut page = listing(&items).into_bytes();
    for (i, bytes) in bad.iter().enumerate() {
        let marker = format!("@{i}@");
        let at = page
            .windows(marker.len())
            .position(|w| w == marker.as_bytes())
            .unwrap();
        page.splice(at..at + marker.len(), bytes.iter().copied());
    }
    assert!(std::str::from_utf8(&page).is_err());
    let (_server, ws) = serve("bad-utf8", Reply::html(page), good_alerts());
    assert_status(&ws.run(), 0);
    let all = ws.feed("all");
    let broken: Vec<&str> = all
        .entries
        .iter()
        .map(title)
        .filter(|t| t.starts_with("壊れた"))
        .collect();
    assert_eq!(broken.len(), 4, "{broken:?}");
    for t in broken {
        let middle = t
            .strip_prefix("壊れた")
            .unwrap()
            .strip_suffix("文字")
            .unwrap();
        assert!(
            !middle.is_empty() && middle.chars().all(|c| c == '\u{FFFD}'),
            "{t}"
        );
    }
    assert_eq!(title(entry(&all, "正しい")), "正しい行");
    published(&ws);
    validate_independently(&ws.out());
}

#[test]
fn entity_bombs_and_external_entities_in_feeds_are_never_expanded() {
    let server = Server::start();
    server.route(LISTING_PATH, good_listing());
    // An external entity on the loopback server: fetching it would show in the request log.
    let leak = server.url("/xxe");
    server.route("/xxe", Reply::ok("text/plain", "外部実体の中身"));
    let lols: String = (1..=9)
        .map(|i| {
            let prev = if i == 1 {
                "lol".to_owned()
            } else {
                format!("&lol{};", i - 1)
            };
            format!("<!ENTITY lol{i} \"{}\">", prev.repeat(10))
        })
        .collect();
    let prologue = format!(
        "<!DOCTYPE rss [<!ENTITY lol \"lol\">{lols}\
         <!ENTITY xxe SYSTEM \"file:///etc/passwd\"><!ENTITY web SYSTEM \"{leak}\">]>"
    );
    let bomb = rss(
        &prologue,
        "<item><title>笑い&lol9;爆弾</title><link>https://www.ipa.go.jp/bomb.html</link></item>\
         <item><title>外部&xxe;実体</title><link>https://www.ipa.go.jp/xxe.html</link>\
         <description>&web;</description></item>",
    );
    server.route(ALERT_PATH, rss_reply(bomb));
    let ws = Workspace::new("entities");
    ws.shipped_config(&server);
    assert_status(&ws.run(), 0);
    // feed-rs ignores the DTD: the references stay as the text they are.
    let all = ws.feed("all");
    assert_eq!(title(entry(&all, "笑い")), "笑い&lol9;爆弾");
    assert_eq!(title(entry(&all, "外部")), "外部&xxe;実体");
    let text = published(&ws);
    assert!(!text.contains("lollollol"), "the bomb went off");
    assert!(!text.contains("root:"), "/etc/passwd was read");
    assert!(!text.contains("外部実体の中身"));
    assert!(
        server.requests("/xxe").is_empty(),
        "the external entity was fetched"
    );
    assert!(text.len() < 1_000_000, "{} bytes published", text.len());
    validate_independently(&ws.out());
}

#[test]
fn active_content_and_links_in_feeds_never_reach_the_output() {
    let atom = r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:x</id><updated>2024-01-15T00:00:00Z</updated>
<entry><id>urn:1</id><updated>2024-01-15T09:00:00+09:00</updated>
 <title type="html">&lt;script&gt;alert(1)&lt;/script&gt;偽の&lt;b onclick="x"&gt;警告&lt;/b&gt;</title>
 <link href="javascript:alert(document.cookie)"/>
 <summary type="html">&lt;img src=x onerror=alert(1)&gt;概要&lt;iframe src="javascript:alert(1)"&gt;中身&lt;/iframe&gt;&lt;style&gt;p{}&lt;/style&gt;です</summary></entry>
<entry><id>urn:2</id><updated>2024-01-14T09:00:00+09:00</updated>
 <title>データURLの行</title><link href=" DATA:text/html;base64,PHNjcmlwdD4="/>
 <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script><p onmouseover="x">本文</p></div></content></entry>
<entry><id>urn:3</id><updated>2024-01-13T09:00:00+09:00</updated>
 <title>VBScriptの行</title><link href="vbscript:msgbox(1)"/></entry>
</feed>"#;
    let (server, ws) = serve(
        "active-feed",
        good_listing(),
        Reply::ok("application/atom+xml", atom),
    );
    assert_status(&ws.run(), 0);
    let text = published(&ws);
    for bad in [
        "<script",
        "alert(",
        "onerror",
        "onclick",
        "onmouseover",
        "<iframe",
        "javascript:",
        "vbscript:",
        "data:text",
        "DATA:",
    ] {
        assert!(!text.contains(bad), "{bad} published");
    }
    let all = ws.feed("all");
    let warning = entry(&all, "偽の");
    assert_eq!(title(warning), "偽の警告");
    assert_eq!(warning.summary.as_ref().unwrap().content, "概要です");
    assert_eq!(
        entry(&all, "データURL").summary.as_ref().unwrap().content,
        "本文"
    );
    // Refused links are replaced by the feed's own URL.
    for prefix in ["偽の", "データURL", "VBScript"] {
        assert_eq!(
            entry(&all, prefix).links[0].href,
            server.url(ALERT_PATH),
            "{prefix}"
        );
    }
    validate_independently(&ws.out());
}

#[test]
fn impossible_and_unwritable_dates_are_warnings_not_rollovers() {
    let page = listing(
        &[
            item("/security/test/feb30.html", "2023/02/30", "二月三十日", ""),
            item("/security/test/year0.html", "0000/01/01", "〇年", ""),
            item("/security/test/lmt.html", "1800年1月1日", "明治より前", ""),
            item(
                "/security/test/sep31.html",
                "２０２３年９月３１日",
                "九月三十一日",
                "",
            ),
            item(
                "/security/test/hour25.html",
                "2023/09/12 25:61",
                "二十五時",
                "",
            ),
        ]
        .concat(),
    );
    let feed = rss(
        "",
        "<item><title>零年のフィード</title><link>https://www.ipa.go.jp/f0.html</link>\
         <pubDate>Sat, 1 Jan 0000 00:00:00 +0000</pubDate></item>\
         <item><title>古いフィード</title><link>https://www.ipa.go.jp/f1.html</link>\
         <pubDate>Sat, 1 Jan 1887 00:00:00 +0000</pubDate></item>",
    );
    let (_server, ws) = serve("dates", Reply::html(page), rss_reply(feed));
    let out = run_verbose(&ws);
    assert_status(&out, 0);
    let err = stderr(&out);
    assert!(err.contains("\"2023/02/30\" is not a valid date"), "{err}");
    assert!(
        err.contains("\"２０２３年９月３１日\" is not a valid date"),
        "{err}"
    );
    assert!(err.contains("cannot be published"), "{err}");
    let text = published(&ws);
    // No rollover (2023-03-02, 2023-10-01), no year 0000, no local mean time offset.
    for bad in [
        "2023-03-0",
        "2023-10-01",
        "0000-",
        "1800-",
        "1887-",
        "+09:19",
    ] {
        assert!(!text.contains(bad), "{bad} published");
    }
    // A time that cannot be is dropped; the date stays.
    let all = ws.feed("all");
    let hour25 = entry(&all, "二十五時");
    assert_eq!(
        hour25.updated.unwrap().to_rfc3339(),
        "2023-09-11T15:00:00+00:00"
    );
    assert_eq!(all.entries.len(), 7);
    validate_independently(&ws.out());
}

#[test]
fn unclosed_and_misnested_markup_keeps_rows_apart_and_scripts_out() {
    // Rows in IPA's markup, broken the ways real pages break; the last row opens a script
    // that never closes, which makes the rest of the page script text, as in a browser.
    let rows = [
        r#"<li class="news-list__item"><a href="/security/test/u1.html"><p class="news-list__ttl">閉じない<b>項目</p>"#,
        r#"<li class="news-list__item"><a href="/security/test/u2.html"><p class="news-list__ttl">誤った</i>入れ子</b>の<em>題</p></em></a></li>"#,
        r#"<li class="news-list__item"><p class="news-list__ttl"><a href="/security/test/u3.html">リンク<p>の中の段落</a></p></li>"#,
        r#"<li class="news-list__item"><a href="/security/test/u4.html"><p class="news-list__ttl">注釈<!-- 隠れた --!>の後</p><div class="news-list__txt">概要<style>p{color:red}</style></div>"#,
        r#"<li class="news-list__item"><a href="/security/test/u5.html"><p class="news-list__ttl">最後の行<script>document.write('<li class="news-list__item">注入された行');"#,
    ];
    let page = format!(
        "<!DOCTYPE html><html><body><ul class=\"news-list\">{}",
        rows.concat()
    );
    let (_server, ws) = serve("unclosed", Reply::html(page), good_alerts());
    assert_status(&ws.run(), 0);
    let all = ws.feed("all");
    // Each row keeps its own title and link, whatever its neighbours leave open; a paragraph
    // inside the title's paragraph ends the title, as it does in a browser.
    let mut rows: Vec<(&str, &str)> = all
        .entries
        .iter()
        .filter_map(|e| Some((title(e), e.links[0].href.split("/security/test/").nth(1)?)))
        .collect();
    rows.sort_by_key(|r| r.1);
    assert_eq!(
        rows,
        [
            ("閉じない項目", "u1.html"),
            ("誤った入れ子の題", "u2.html"),
            ("リンク", "u3.html"),
            ("注釈の後", "u4.html"),
            ("最後の行", "u5.html"),
        ]
    );
    assert_eq!(
        entry(&all, "注釈").summary.as_ref().unwrap().content,
        "概要"
    );
    let text = published(&ws);
    for bad in [
        "<script",
        "document.write",
        "注入された行",
        "<b>",
        "color:red",
        "隠れた",
    ] {
        assert!(!text.contains(bad), "{bad} published");
    }
    validate_independently(&ws.out());
}
