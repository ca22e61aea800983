//! Markup meant to hurt the reader: nesting beyond reason, entity bombs and external entities,
//! active content and links in feeds, unclosed and misnested elements.

use super::{entry, good_alerts, item, listing, published, rss, rss_reply, serve, title};
use crate::common::*;

fn good_listing() -> Reply {
    Reply::html(fixture("ipa/anshin-seed.html"))
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
