//! The index page: the topics, how many entries each has, their latest entries, and the links
//! to subscribe. Static, no scripts, everything escaped.

use super::{ALL, FeedView, Head, entry_items, escape};
use std::fmt::Write;

/// Latest entries shown under each topic.
const LATEST: usize = 5;

pub fn render(site: &Head<'_>, views: &[FeedView<'_>]) -> Vec<u8> {
    let mut out = String::new();
    let title = escape(&site.title);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n",
        site.labels.code
    );
    for v in views {
        let _ = writeln!(
            out,
            "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"{}\" href=\"{}\">",
            escape(&v.title),
            escape(&v.url)
        );
    }
    out.push_str(STYLE);
    let labels = site.labels;
    let (before, after) = labels.intro;
    let _ = write!(
        out,
        "</head>\n<body>\n<header>\n<h1>{title}</h1>\n<p>{before}<a href=\"feeds.opml\">OPML</a>{after}</p>\n\
         </header>\n<main>\n"
    );
    let [topic, count, latest, subscribe] = labels.columns;
    let _ = writeln!(
        out,
        "<table class=\"topics\">\n<thead><tr><th>{topic}</th><th>{count}</th><th>{latest}</th><th>{subscribe}</th></tr></thead>\n<tbody>"
    );
    for v in views {
        let latest = v
            .entries
            .first()
            .map(|i| i.entry.updated.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "—".into());
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#{}\">{}</a></td><td class=\"n\">{}</td><td>{latest}</td><td><a href=\"{}\">Atom</a> · <a href=\"{}\">JSON</a></td></tr>",
            anchor(v),
            escape(short_title(site, v)),
            v.total,
            escape(&v.url),
            escape(&v.json_url)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    for v in views {
        let _ = writeln!(
            out,
            "<section id=\"{}\">\n<h2>{} <span class=\"n\">({})</span></h2>",
            anchor(v),
            escape(short_title(site, v)),
            v.total
        );
        if let Some(d) = &v.subtitle {
            let _ = writeln!(out, "<p>{}</p>", escape(d));
        }
        out.push_str("<ul>\n");
        entry_items(&mut out, v, LATEST, "");
        let _ = writeln!(
            out,
            "</ul>\n<p class=\"sub\"><a href=\"{}\">{}</a></p>\n</section>",
            escape(&v.url),
            labels.subscribe
        );
    }
    let (before, after) = labels.generated;
    let _ = writeln!(
        out,
        "</main>\n<footer>{before}{}{after}</footer>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION")
    );
    out.into_bytes()
}

fn anchor(v: &FeedView<'_>) -> String {
    if v.slug == ALL {
        "all".into()
    } else {
        format!("topic-{}", v.slug)
    }
}

/// A topic's title without the site title in front of it.
fn short_title<'v>(site: &Head<'_>, v: &'v FeedView<'_>) -> &'v str {
    if v.slug == ALL {
        return site.labels.all;
    }
    v.title
        .strip_prefix(site.title.as_str())
        .and_then(|t| t.strip_prefix(": "))
        .unwrap_or(&v.title)
}

const STYLE: &str = "<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;line-height:1.6;color:#222}
table{border-collapse:collapse;width:100%}th,td{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left}
.n{text-align:right;color:#666}section{margin-top:2rem}ul{padding-left:1.2rem}time{color:#666;font-size:.9em}
footer{margin-top:3rem;color:#888;font-size:.85em}
</style>
";
