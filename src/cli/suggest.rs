//! `kairan suggest`: prints a `[[source]]` block for a page, with the rows it reads and why it
//! was chosen over the others, as TOML comments; or every candidate as JSON.

use super::{Out, print_stdout};
use kairan::Config;
use kairan::extract::suggest::{Candidate, inline_select};
use kairan::model::{Entry, RawDate, RawRow};
use kairan::suggest::{Suggestion, feed_block, suggest as find};
use serde_json::{Value, json};
use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use url::Url;

/// Where the page comes from.
pub enum Page {
    Fetch(Url),
    /// A saved page and the address it was saved from.
    Saved(PathBuf, Url),
}

/// Rows shown under the block.
const PREVIEW: usize = 5;
/// Runners-up named under the block.
const RUNNERS_UP: usize = 4;

pub fn suggest(config: &Config, page: Page, as_json: bool, out: &Out) -> ExitCode {
    let (body, content_type, url) = match page {
        Page::Fetch(url) => match kairan::fetch_page(&url, &config.fetch) {
            Ok(f) => (f.body, f.content_type, f.url),
            Err(e) => {
                out.error(&format!("{url}: {e}"), &[("url", url.as_str())]);
                return ExitCode::from(1);
            }
        },
        Page::Saved(file, url) => match std::fs::read(&file) {
            Ok(body) => (body, None, url),
            Err(e) => {
                out.error(&format!("{}: {e}", file.display()), &[]);
                return ExitCode::from(1);
            }
        },
    };
    let tz = config.site.timezone;
    let found = find(&body, content_type.as_deref(), &url, tz);
    if as_json {
        print_stdout(&format!("{:#}\n", to_json(&url, &found, tz)));
    } else if let Some(text) = to_text(&url, &found, tz) {
        print_stdout(&text);
    }
    match found {
        Suggestion::Nothing { why } => {
            out.error(
                &format!("{url}: no listing found: {why}"),
                &[("url", url.as_str())],
            );
            ExitCode::from(1)
        }
        _ => ExitCode::SUCCESS,
    }
}

fn to_text(url: &Url, found: &Suggestion, tz: chrono_tz::Tz) -> Option<String> {
    let mut out = String::new();
    match found {
        Suggestion::Nothing { .. } => return None,
        Suggestion::Feed {
            url: feed,
            title,
            why,
        } => {
            let _ = writeln!(out, "# kairan suggest {url}: {why}; read it as a feed.");
            out.push_str(&feed_block(feed, title));
        }
        Suggestion::Listing {
            block,
            best,
            entries,
            others,
        } => {
            let _ = writeln!(out, "# kairan suggest {url}");
            out.push_str(block);
            let _ = writeln!(
                out,
                "# What `kairan run` reads with it, the first {} of {} entries:",
                PREVIEW.min(entries.len()),
                entries.len()
            );
            for e in entries.iter().take(PREVIEW) {
                let _ = writeln!(out, "#   {}  {}", entry_date(e, tz), e.title);
                let _ = writeln!(out, "#               {}", e.link);
            }
            let _ = writeln!(out, "# Chosen: {}.", best.summary());
            if !others.is_empty() {
                out.push_str("# Runners-up:\n");
            }
            for other in others.iter().take(RUNNERS_UP) {
                let _ = writeln!(
                    out,
                    "#   item = \"{}\": {}{}.",
                    other.select.item,
                    other.summary(),
                    why_lost(other, best)
                );
            }
        }
    }
    Some(out)
}

/// What the best has that a runner-up lacks.
fn why_lost(other: &Candidate, best: &Candidate) -> String {
    let mut why = Vec::new();
    if other.rows.len() < best.rows.len() {
        why.push(format!(
            "fewer rows ({} against {})",
            other.rows.len(),
            best.rows.len()
        ));
    }
    if other.dated * best.rows.len() < best.dated * other.rows.len() {
        why.push("fewer dated rows".to_owned());
    }
    if why.is_empty() {
        String::new()
    } else {
        format!("; {}", why.join(", "))
    }
}

fn entry_date(e: &Entry, tz: chrono_tz::Tz) -> String {
    e.updated.or(e.published).map_or_else(
        || "(no date)".to_owned(),
        |d| d.with_timezone(&tz).format("%Y-%m-%d").to_string(),
    )
}

fn to_json(url: &Url, found: &Suggestion, tz: chrono_tz::Tz) -> Value {
    match found {
        Suggestion::Nothing { why } => json!({"url": url.as_str(), "kind": "none", "why": why}),
        Suggestion::Feed {
            url: feed,
            title,
            why,
        } => json!({
            "url": url.as_str(),
            "kind": "feed",
            "why": why,
            "feed": feed.as_str(),
            "block": feed_block(feed, title),
        }),
        Suggestion::Listing {
            block,
            best,
            entries,
            others,
        } => json!({
            "url": url.as_str(),
            "kind": "html",
            "block": block,
            "entries": entries.iter().map(|e| json!({
                "title": e.title,
                "link": e.link,
                "date": entry_date(e, tz),
            })).collect::<Vec<_>>(),
            "candidates": std::iter::once(best).chain(others).map(candidate_json).collect::<Vec<_>>(),
        }),
    }
}

fn candidate_json(c: &Candidate) -> Value {
    let s = &c.select;
    json!({
        "select": {"item": s.item, "title": s.title, "link": s.link, "date": s.date, "summary": s.summary},
        "inline": inline_select(c),
        "rows": c.rows.len(),
        "dated": c.dated,
        "score": c.score,
        "flaws": c.flaws,
        "preview": c.rows.iter().take(PREVIEW).map(row_json).collect::<Vec<_>>(),
    })
}

fn row_json(r: &RawRow) -> Value {
    let clean = |s: &Option<String>| {
        s.as_deref()
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    json!({
        "title": clean(&r.title),
        "link": r.link,
        "date": match &r.updated {
            Some(RawDate::Text(t)) => Some(t.split_whitespace().collect::<Vec<_>>().join(" ")),
            _ => None,
        },
    })
}
