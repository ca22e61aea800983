//! `embed/<topic>.html`: a small, self-contained list of a topic's latest entries for a portal
//! page's iframe. No scripts and nothing loaded from elsewhere; styles inline; links open
//! outside the frame.

use super::{FeedView, entry_items, escape};
use std::fmt::Write;

pub fn render(view: &FeedView<'_>, count: usize) -> Vec<u8> {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<base target=\"_blank\">\n<style>{STYLE}</style>\n</head>\n<body>\n<ul>\n",
        view.labels.code,
        escape(&view.title)
    );
    entry_items(&mut out, view, count, " rel=\"noopener noreferrer\"");
    let _ = writeln!(
        out,
        "</ul>\n<p><a href=\"{}\" rel=\"noopener noreferrer\">{}</a></p>\n</body>\n</html>",
        escape(&view.url),
        view.labels.atom_feed
    );
    out.into_bytes()
}

const STYLE: &str = "body{margin:0;font:14px/1.5 system-ui,sans-serif;color:#222}\
ul{list-style:none;margin:0;padding:0}li{padding:.25rem .5rem;border-bottom:1px solid #eee}\
time{color:#666;font-size:.85em;margin-right:.5em}a{color:#0645ad;text-decoration:none}\
p{margin:.25rem .5rem;font-size:.85em}";
