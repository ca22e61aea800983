//! Faults around the process rather than in its input: a state that is not one, places that
//! cannot be written, a full disk, and kills at any moment. Whatever happens, the command
//! says so in one line naming the file, the last good output stays whole, and the next run
//! with the fault gone loses nothing.
//!
//! `state` holds broken states and misplaced paths, `disk` full and unwritable file systems,
//! `kill` the kill torture (in the `--ignored` group that `.ci/run` runs). The listing they
//! share is here.

mod disk;
mod kill;
mod state;

use crate::common::*;
use std::path::Path;

/// A listing in IPA's markup (`NEWS_LIST` reads it) of `rows` distinct articles, newest first;
/// one row in three is about SMS and one in five about a fake warning, so that topics fill.
fn listing(rows: usize) -> String {
    let mut page = String::from(
        "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\"><title>一覧</title></head>\n\
         <body><ul class=\"news-list\">\n",
    );
    for i in (0..rows).rev() {
        let topic = match (i % 3, i % 5) {
            (0, _) => "SMS",
            (_, 0) => "偽の警告",
            _ => "メール",
        };
        let (year, day) = (2015 + i / 365, i % 365);
        let (month, date) = (day / 28 % 12 + 1, day % 28 + 1);
        page.push_str(&format!(
            "<li class=\"news-list__item\"><a href=\"/security/anshin/attention/{year}/n{i:05}.html\">\
             <ul><li class=\"news-list__date\">{year}年{month}月{date}日</li></ul>\
             <p class=\"news-list__ttl\">{topic}に関する注意喚起 第{i}号</p>\
             <div class=\"news-list__txt\">{topic}を悪用した手口 {i} 件目の解説です。</div></a></li>\n"
        ));
    }
    page.push_str("</ul></body></html>\n");
    page
}

/// A workspace whose one source is the listing at `path` on `server`.
fn listing_workspace(name: &str, server: &Server, path: &str) -> Workspace {
    let ws = Workspace::new(name);
    ws.config(&config(&html_source(
        "anshin",
        &server.url(path),
        NEWS_LIST,
    )));
    ws
}

/// Entries in the state, after checking that SQLite finds it sound.
fn sound_entries(state: &Path) -> i64 {
    let db = rusqlite::Connection::open(state).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "{}", state.display());
    db.query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .unwrap()
}

/// Temporary files anywhere under `dir` (the writers' `.<name>.<pid>.tmp`, a new state's
/// `.new-<pid>`).
fn temporaries(dir: &Path) -> Vec<String> {
    files_under(dir)
        .into_keys()
        .filter(|p| p.ends_with(".tmp") || p.contains(".new-"))
        .collect()
}
