//! Text that cannot be published as it arrives: a title of megabytes, NUL and control
//! characters, invalid UTF-8 in a page declared UTF-8, impossible and unwritable dates.

use super::{entry, good_alerts, item, listing, published, rss, rss_reply, serve, title};
use crate::common::*;

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
