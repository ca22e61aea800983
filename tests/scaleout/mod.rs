//! Scale-out: the state in a real PostgreSQL server and the output in a real S3-compatible
//! server (s3s-fs), each started by the test on a loopback port (`common::pg`, `common::s3`),
//! with a loopback proxy in front of S3 for the faults it will not make. `serve` nodes sharing
//! one state are in `serve::nodes`.
//!
//! `postgres` holds the state's side (runs, the lock, the database lost, `state copy`);
//! `bucket` the output's (objects, their headers, uploads skipped, deleted, retried).

mod bucket;
mod postgres;

use crate::common::*;
use std::io::Write;
use std::time::Duration;

pub const PAGE: &str = "/security/anshin/attention/index.html";

/// Rows that all carry dates, in both topics, over two months: what is published is a function
/// of the rows alone (no state's creation date, no time of the run), so two states given them
/// publish the same bytes.
pub fn dated_rows() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("2024年5月20日", "SMSで届く偽の不在通知に注意", "/a/1.html"),
        (
            "2024年5月14日",
            "偽警告でサポート詐欺に誘導する手口",
            "/a/2.html",
        ),
        ("2024年5月2日", "ショートメッセージの偽サイト", "/a/3.html"),
        ("2024年4月25日", "警告画面が出たときの対処", "/a/4.html"),
        ("2024年4月18日", "SMS認証の代行を頼まれたら", "/a/5.html"),
        ("2024年4月9日", "偽の警告音に驚かないで", "/a/6.html"),
        ("2024年4月1日", "年度初めの注意喚起", "/a/7.html"),
    ]
}

/// [`dated_rows`] and a newer one, in the `sms` topic.
pub fn with_a_new_row() -> Vec<(&'static str, &'static str, &'static str)> {
    let mut rows = vec![("2024年5月28日", "SMSの新しい手口", "/a/8.html")];
    rows.extend(dated_rows());
    rows
}

/// A configuration over `url` with the two topics of `common::config` and two entries per
/// feed, so that the older ones go to monthly archives.
pub fn dated_config(url: &str) -> String {
    // Right after `[site]`'s own keys: still in that table.
    config(&format!(
        "max_entries = 2\n\n{}",
        html_source("anshin", url, NEWS_LIST)
    ))
}

/// An upstream serving [`dated_rows`] at [`PAGE`].
pub fn dated_upstream() -> Server {
    let server = Server::start();
    server.route(PAGE, Reply::html(listing(&dated_rows())));
    server
}

/// A reply that waits `delay` before answering `body` as HTML.
pub fn slow(delay: Duration, body: String) -> Reply {
    Reply::Raw(std::sync::Arc::new(move |_, stream| {
        std::thread::sleep(delay);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(body.as_bytes());
    }))
}

/// `kairan`'s own words never include a Rust panic, whatever failed.
pub fn assert_no_panic(o: &std::process::Output) {
    let err = stderr(o);
    assert!(!err.contains("panicked"), "a panic: {err}");
}

#[test]
fn the_state_and_output_urls_are_checked_where_they_are_written() {
    let ws = Workspace::new("scaleout-config");
    let cases = [
        (
            "[output]\ndir = \"public\"\nurl = \"s3://feeds/kairan/\"\n",
            "output.url",
            "either output.dir or output.url",
        ),
        (
            "[output]\nurl = \"s3:///kairan/\"\n",
            "output.url",
            "names no bucket",
        ),
        (
            "[output]\nurl = \"/srv/feeds\"\n",
            "output.url",
            "s3://bucket/prefix/",
        ),
        (
            "[state]\nurl = \"mysql://db/kairan\"\n",
            "state.url",
            "postgres://",
        ),
        (
            "[state]\npath = \"k.db\"\nurl = \"postgres://db/kairan\"\n",
            "state.url",
            "either state.path or state.url",
        ),
    ];
    for (table, key, expected) in cases {
        let text = format!(
            "{table}\n{}",
            config(&feed_source("alerts", "http://127.0.0.1:9/"))
        );
        ws.config(&text);
        let o = kairan(&ws.dir, &["check", "--config", "kairan.toml"]);
        assert_status(&o, 2);
        let err = stderr(&o);
        assert!(
            err.contains("kairan.toml:") && err.contains(key) && err.contains(expected),
            "{table}: {err}"
        );
    }
    // The variable, when set, must be a database's URL.
    ws.config(&config(&feed_source("alerts", "http://127.0.0.1:9/")));
    let o = ws
        .kairan()
        .args(["check", "--config", "kairan.toml"])
        .env("KAIRAN_STATE_URL", "/var/lib/kairan.db")
        .output()
        .unwrap();
    assert_status(&o, 2);
    assert!(stderr(&o).contains("KAIRAN_STATE_URL"), "{}", stderr(&o));
}
