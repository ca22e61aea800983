//! Finding the listing in a page nobody described: every repeated sibling structure that
//! carries links is a candidate; its fields (date, link, title, summary) are found by where
//! they sit in each row; each is written as the shortest selectors that pick exactly those
//! elements, verified by extracting with them; the candidates are ranked by rows, dated rows
//! and title length, with navigation, sidebars, footers and pagers marked down.

mod fields;
mod selectors;

use super::html::{Selectors, parse, rows as extract, text};
use crate::model::{RawDate, RawRow};
use crate::text::date;
use chrono_tz::Tz;
use fields::{fields, holds_link, is_link, slots};
use scraper::{ElementRef, Html, Selector};
use selectors::{field_selector, item_selector};
use std::collections::HashMap;
use std::fmt::Write;

/// The selectors of a `[source.select]` table, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Select {
    pub item: String,
    pub title: String,
    pub link: String,
    pub date: Option<String>,
    pub summary: Option<String>,
}

impl Select {
    /// Compiled as the configuration compiles them.
    pub fn compile(&self) -> Option<Selectors> {
        Selectors::parse(
            &self.item,
            &self.title,
            Some(&self.link),
            self.date.as_deref(),
            self.summary.as_deref(),
        )
        .ok()
    }
}

/// A listing found in the page: its selectors, the rows extraction gives with them, and why
/// it ranks where it does.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub select: Select,
    pub rows: Vec<RawRow>,
    /// Rows whose date the date parser reads.
    pub dated: usize,
    pub score: f64,
    /// What marked it down, if anything: `in a <nav>`, `short link texts`.
    pub flaws: Vec<&'static str>,
}

impl Candidate {
    /// One line on what it is: `62 rows, 62 dated, titles of 31 characters`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} rows, {} dated, titles of {:.0} characters on average",
            self.rows.len(),
            self.dated,
            title_length(&self.rows)
        );
        for flaw in &self.flaws {
            s.push_str("; ");
            s.push_str(flaw);
        }
        s
    }
}

/// The one-line form of a candidate's selectors, for a message: `select = { item = "…", … }`,
/// which replaces a `[source.select]` table as it is.
pub fn inline_select(c: &Candidate) -> String {
    let s = &c.select;
    let mut out = format!(
        "select = {{ item = {}, title = {}, link = {}",
        quoted(&s.item),
        quoted(&s.title),
        quoted(&s.link)
    );
    for (key, value) in [("date", &s.date), ("summary", &s.summary)] {
        if let Some(v) = value {
            let _ = write!(out, ", {key} = {}", quoted(v));
        }
    }
    out.push_str(" }");
    out
}

/// The best candidate for `page` in one line, as [`inline_select`] writes it.
pub fn proposal(page: &str, tz: Tz) -> Option<String> {
    candidates(page, tz).first().map(inline_select)
}

/// A TOML basic string.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Fewest rows a listing has.
const MIN_ROWS: usize = 3;
/// Most rows a listing has: a larger group is a page's markup, not a listing a feed follows.
const MAX_ROWS: usize = 2000;
/// Most distinct paths within a group's rows: beyond, the rows are documents, not rows.
const MAX_SLOTS: usize = 2000;
/// Groups of siblings examined in one page, the largest.
const MAX_GROUPS: usize = 40;
/// How deep inside a row its fields are looked for.
const MAX_FIELD_DEPTH: usize = 6;

/// Every listing found in `page`, best first; none when the page cannot be parsed or has no
/// repeated structure with links. Dates are read in `tz`.
pub fn candidates(page: &str, tz: Tz) -> Vec<Candidate> {
    parse(page, false).map_or_else(|_| Vec::new(), |doc| candidates_in(&doc, tz))
}

/// [`candidates`] in a page already parsed (by [`super::html::document`]).
pub fn candidates_in(doc: &Html, tz: Tz) -> Vec<Candidate> {
    let mut groups = groups(doc);
    groups.retain(|g| g.iter().filter(|row| carries_link(**row)).count() >= MIN_ROWS);
    // The largest groups only: a sitemap of hundreds of small link lists would otherwise cost
    // a verified selector search each, and a listing is rarely among a page's smallest lists.
    groups.sort_by_key(|g| std::cmp::Reverse(g.len()));
    groups.truncate(MAX_GROUPS);
    let mut found: Vec<Candidate> = groups
        .into_iter()
        .filter_map(|rows| candidate(doc, &rows, tz))
        .collect();
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    // One candidate per row set: the same rows reached from two groups are one listing.
    let mut seen = Vec::new();
    found.retain(|c| {
        let key = (c.select.item.clone(), c.rows.len());
        let fresh = !seen.contains(&key);
        seen.push(key);
        fresh
    });
    found
}

/// Whether a row has a link: itself, inside it, or in the sibling after it (a `dt`'s `dd`).
fn carries_link(row: ElementRef<'_>) -> bool {
    holds_link(row)
        || row
            .next_siblings()
            .find_map(ElementRef::wrap)
            .is_some_and(holds_link)
}

/// Whether a page with no candidate looks like one that builds its content with scripts.
pub fn needs_javascript(doc: &Html) -> bool {
    let scripts = Selector::parse("script").expect("a valid selector");
    let body = Selector::parse("body").expect("a valid selector");
    let words = doc
        .select(&body)
        .next()
        .map_or(0, |b| text(b).split_whitespace().count());
    doc.select(&scripts).next().is_some() && words < 40
}

/// Siblings of one signature (tag and classes) under one parent, at least [`MIN_ROWS`] and at
/// most [`MAX_ROWS`] of them.
fn groups(doc: &Html) -> Vec<Vec<ElementRef<'_>>> {
    let mut out = Vec::new();
    for parent in doc
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
    {
        let mut by_sig: HashMap<String, Vec<ElementRef<'_>>> = HashMap::new();
        let mut order = Vec::new();
        for child in parent.children().filter_map(ElementRef::wrap) {
            let sig = signature(child);
            let rows = by_sig.entry(sig.clone()).or_default();
            if rows.is_empty() {
                order.push(sig);
            }
            rows.push(child);
        }
        out.extend(
            order
                .into_iter()
                .filter_map(|sig| by_sig.remove(&sig))
                .filter(|v| (MIN_ROWS..=MAX_ROWS).contains(&v.len())),
        );
    }
    out
}

/// Tag and sorted classes: `li.news-list__item`.
fn signature(e: ElementRef<'_>) -> String {
    let mut classes: Vec<&str> = e.value().classes().filter(|c| css_ident(c)).collect();
    classes.sort_unstable();
    let mut s = e.value().name().to_owned();
    for c in classes {
        s.push('.');
        s.push_str(c);
    }
    s
}

/// A class or id that can be written in a selector as it is.
fn css_ident(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit() || c == '-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// One path's elements, by row: the first element at that path in each row.
type Slots<'a> = Vec<(String, Vec<Option<ElementRef<'a>>>)>;

fn candidate(doc: &Html, group: &[ElementRef<'_>], tz: Tz) -> Option<Candidate> {
    let slots = slots(group)?;
    let rows_with_link: Vec<usize> = (0..group.len())
        .filter(|&r| slots.iter().any(|(_, at)| at[r].is_some_and(is_link)))
        .collect();
    if rows_with_link.len() < MIN_ROWS {
        return None;
    }
    let rows: Vec<ElementRef<'_>> = rows_with_link.iter().map(|&r| group[r]).collect();
    let slots: Slots<'_> = slots
        .into_iter()
        .map(|(path, at)| (path, rows_with_link.iter().map(|&r| at[r]).collect()))
        .collect();
    let fields = fields(&slots, tz)?;
    let item = item_selector(doc, &rows)?;
    let select = Select {
        item,
        title: field_selector(&rows, &slots[fields.title])?,
        link: field_selector(&rows, &slots[fields.link])?,
        date: fields.date.and_then(|d| field_selector(&rows, &slots[d])),
        summary: fields
            .summary
            .and_then(|s| field_selector(&rows, &slots[s])),
    };
    // Verified as `kairan run` reads it: compiled, and extracted from the page.
    let extracted = extract(doc, &select.compile()?).ok()?;
    if extracted.len() != rows.len() {
        return None;
    }
    let dated = extracted
        .iter()
        .filter(|r| matches!(&r.updated, Some(RawDate::Text(t)) if date::parse(t, tz).is_ok()))
        .count();
    let (score, flaws) = score(&rows, &extracted, dated);
    Some(Candidate {
        select,
        rows: extracted,
        dated,
        score,
        flaws,
    })
}
/// The rows' average title length in characters, white space aside.
fn title_length(rows: &[RawRow]) -> f64 {
    let chars: usize = rows
        .iter()
        .filter_map(|r| r.title.as_deref())
        .map(|t| t.chars().filter(|c| !c.is_whitespace()).count())
        .sum();
    chars as f64 / rows.len().max(1) as f64
}

/// Words in classes and ids of the places a listing is not.
const NOT_CONTENT: [&str; 12] = [
    "nav",
    "menu",
    "bread",
    "footer",
    "sidebar",
    "pager",
    "pagination",
    "global",
    "header",
    "widget",
    "recent",
    "ranking",
];

fn score(rows: &[ElementRef<'_>], extracted: &[RawRow], dated: usize) -> (f64, Vec<&'static str>) {
    let n = rows.len() as f64;
    let mut flaws = Vec::new();
    let mut factor = 1.0;
    let first = rows[0];
    let around: Vec<ElementRef<'_>> = std::iter::once(first)
        .chain(first.ancestors().filter_map(ElementRef::wrap))
        .collect();
    if around
        .iter()
        .any(|e| matches!(e.value().name(), "nav" | "header" | "footer" | "aside"))
    {
        factor *= 0.15;
        flaws.push("inside a <nav>, <header>, <footer> or <aside>");
    } else if around.iter().any(|e| {
        e.value().classes().chain(e.value().id()).any(|c| {
            NOT_CONTENT
                .iter()
                .any(|w| c.to_ascii_lowercase().contains(w))
        })
    }) {
        factor *= 0.3;
        flaws.push("in a part named like navigation, a sidebar or a footer");
    }
    let title_len = title_length(extracted);
    if title_len < 8.0 {
        factor *= 0.2;
        flaws.push("short link texts");
    }
    let dated_share = dated as f64 / n;
    if dated_share < 0.5 {
        flaws.push("most rows without a date");
    }
    (
        n * (0.3 + dated_share) * title_len.min(40.0) / 40.0 * factor,
        flaws,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Tokyo;

    fn page(body: &str) -> String {
        format!("<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>")
    }

    #[test]
    fn a_list_with_dates_beats_the_navigation() {
        let nav = "<nav><ul><li><a href=\"/a\">ホーム</a></li><li><a href=\"/b\">製品</a></li>\
                   <li><a href=\"/c\">会社</a></li></ul></nav>";
        let rows: String = (1..=5)
            .map(|i| {
                format!(
                    "<li><span class=\"date\">2024年3月{i}日</span><a href=\"/n/{i}.html\">\
                     第{i}回 テスト用の注意喚起について</a></li>"
                )
            })
            .collect();
        let found = candidates(
            &page(&format!("{nav}<ul class=\"news\">{rows}</ul>")),
            Tokyo,
        );
        let best = &found[0];
        assert_eq!(best.select.item, ".news > li");
        assert_eq!(best.select.date.as_deref(), Some(".date"));
        assert_eq!(best.select.link, "a");
        assert_eq!(best.select.title, "a");
        assert_eq!(best.rows.len(), 5);
        assert_eq!(best.dated, 5);
    }

    #[test]
    fn a_dt_date_with_its_dd_title() {
        let rows: String = (1..=4)
            .map(|i| {
                format!("<dt>令和5年9月{i}日</dt><dd><a href=\"/t/{i}.html\">第{i}号 行政からのお知らせ</a></dd>")
            })
            .collect();
        let found = candidates(&page(&format!("<dl class=\"topics\">{rows}</dl>")), Tokyo);
        let best = &found[0];
        assert_eq!(best.select.item, "dt");
        assert_eq!(best.select.date.as_deref(), Some("dt"));
        assert_eq!(best.select.link, "+ dd a");
        assert_eq!(best.dated, 4);
    }

    #[test]
    fn a_placeholder_row_does_not_hide_the_listing() {
        let rows: String = (1..=5)
            .map(|i| format!("<li><span class=\"d\">2024/02/0{i}</span><a href=\"/n/{i}\">第{i}号 注意喚起のお知らせ</a></li>"))
            .collect();
        let list = format!("<ul class=\"news\"><li><a href=\"#\">準備中</a></li>{rows}</ul>");
        let best = &candidates(&page(&list), Tokyo)[0];
        assert_eq!(best.rows.len(), 5, "{:?}", best.select);
    }

    #[test]
    fn a_table_header_row_is_not_a_row() {
        let rows: String = (1..=4)
            .map(|i| format!("<tr><th>2022年3月{i}日</th><td><a href=\"/o/{i}.html\">古いサイトの第{i}号のお知らせ</a></td></tr>"))
            .collect();
        let table =
            format!("<table class=\"t\"><tr><th>日付</th><th>タイトル</th></tr>{rows}</table>");
        let best = &candidates(&page(&table), Tokyo)[0];
        assert_eq!(best.rows.len(), 4, "{:?}", best.select);
        assert!(
            best.select.item.contains(":has(a[href]"),
            "{:?}",
            best.select
        );
    }
}
