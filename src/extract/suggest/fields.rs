//! Where each field sits in a group's rows: every element of every row by its path from the
//! row, and which paths hold the date, the link, the title and the summary.

use super::{MAX_FIELD_DEPTH, MAX_SLOTS, Slots, signature};
use crate::extract::html::{date_text, text};
use crate::text::date;
use chrono_tz::Tz;
use scraper::ElementRef;
use std::collections::HashMap;

/// Every element within each row, by its path from the row (`a > p.news-list__ttl`, `""` for
/// the row itself); where a row has no link of its own, also its next sibling's (`+ dd > a`),
/// as in a `dt` date followed by a `dd` title. `None` past [`MAX_SLOTS`] paths.
pub(super) fn slots<'a>(rows: &[ElementRef<'a>]) -> Option<Slots<'a>> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut slots: Slots<'a> = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let mut starts = vec![(*row, String::new())];
        if let Some(next) = row.next_siblings().find_map(ElementRef::wrap)
            && !holds_link(*row)
            && signature(next) != signature(*row)
        {
            starts.push((next, format!("+ {}", signature(next))));
        }
        for (start, path) in starts {
            let mut stack = vec![(start, path, 0usize)];
            while let Some((e, path, depth)) = stack.pop() {
                let at = *index.entry(path.clone()).or_insert_with(|| {
                    slots.push((path.clone(), vec![None; rows.len()]));
                    slots.len() - 1
                });
                slots[at].1[r].get_or_insert(e);
                if slots.len() > MAX_SLOTS {
                    return None;
                }
                if depth < MAX_FIELD_DEPTH {
                    for (child, step) in steps(e).into_iter().rev() {
                        let sub = if path.is_empty() {
                            step
                        } else {
                            format!("{path} > {step}")
                        };
                        stack.push((child, sub, depth + 1));
                    }
                }
            }
        }
    }
    Some(slots)
}

/// An element's children as steps of a path: each one's signature, and its position where
/// siblings share it (the cells of a table row). One pass over the siblings.
fn steps(e: ElementRef<'_>) -> Vec<(ElementRef<'_>, String)> {
    let children: Vec<(usize, ElementRef<'_>, String)> = e
        .children()
        .filter_map(ElementRef::wrap)
        .enumerate()
        .map(|(i, c)| (i + 1, c, signature(c)))
        .collect();
    let mut count: HashMap<&str, usize> = HashMap::new();
    for (_, _, sig) in &children {
        *count.entry(sig.as_str()).or_default() += 1;
    }
    children
        .iter()
        .map(|(n, c, sig)| {
            let step = if count[sig.as_str()] > 1 {
                format!("{sig}:nth-child({n})")
            } else {
                sig.clone()
            };
            (*c, step)
        })
        .collect()
}

/// Whether an element is a link or holds one.
pub(super) fn holds_link(e: ElementRef<'_>) -> bool {
    is_link(e) || e.descendants().filter_map(ElementRef::wrap).any(is_link)
}

pub(super) fn is_link(e: ElementRef<'_>) -> bool {
    e.value().name() == "a"
        && e.value()
            .attr("href")
            .is_some_and(|h| !h.trim().is_empty() && !h.trim().starts_with('#'))
}

/// Which slots hold each field.
pub(super) struct Fields {
    pub(super) title: usize,
    pub(super) link: usize,
    pub(super) date: Option<usize>,
    pub(super) summary: Option<usize>,
}

/// Per slot: how many rows have it, its average text length, and how many of its texts are
/// dates.
struct Stats {
    present: usize,
    chars: f64,
    dates: usize,
}

fn stats(at: &[Option<ElementRef<'_>>], tz: Tz) -> Stats {
    let present: Vec<ElementRef<'_>> = at.iter().flatten().copied().collect();
    let chars: usize = present
        .iter()
        .map(|e| {
            text(*e)
                .split_whitespace()
                .collect::<String>()
                .chars()
                .count()
        })
        .sum();
    Stats {
        present: present.len(),
        chars: chars as f64 / present.len().max(1) as f64,
        dates: present
            .iter()
            .filter(|e| date::parse(&date_text(**e), tz).is_ok())
            .count(),
    }
}

pub(super) fn fields(slots: &Slots<'_>, tz: Tz) -> Option<Fields> {
    let n = slots.first()?.1.len();
    let stats: Vec<Stats> = slots.iter().map(|(_, at)| stats(at, tz)).collect();
    let most = |s: &Stats| s.present * 5 >= n * 4;
    // The date: the shortest text that is a date in most rows; the row's own text where the
    // date is a bare text node in it (`<li>2023/10/02 <a>…</a></li>`).
    let date = (0..slots.len())
        .filter(|&i| stats[i].dates * 2 >= n && (stats[i].chars <= 40.0 || slots[i].0.is_empty()))
        .max_by(|&a, &b| {
            (stats[a].dates, -stats[a].chars)
                .partial_cmp(&(stats[b].dates, -stats[b].chars))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    let holds_date = |i: usize| {
        date.is_some_and(|d| {
            (0..n).any(|r| match (slots[i].1[r], slots[d].1[r]) {
                (Some(e), Some(de)) => {
                    e.id() == de.id() || de.ancestors().any(|a| a.id() == e.id())
                }
                _ => false,
            })
        })
    };
    // The link: in most rows, the one with the most text (a title link rather than an icon).
    let link = (0..slots.len())
        .filter(|&i| most(&stats[i]) && slots[i].1.iter().flatten().all(|e| is_link(*e)))
        .max_by(|&a, &b| stats[a].chars.total_cmp(&stats[b].chars))?;
    // The title: the link's own text when it is not the whole row; else the element that reads
    // most like a title.
    let title = if !holds_date(link) && stats[link].chars >= 2.0 {
        link
    } else {
        (0..slots.len())
            .filter(|&i| most(&stats[i]) && !holds_date(i) && stats[i].chars >= 2.0)
            .filter(|&i| !contains_others(slots, i))
            .max_by(|&a, &b| {
                title_score(&slots[a].0, &stats[a]).total_cmp(&title_score(&slots[b].0, &stats[b]))
            })
            // Where the date is part of the link's own text (`<a>2024/01/05 お知らせ</a>`),
            // the link's text is the title, date and all.
            .unwrap_or(link)
    };
    let title_element = |r: usize| slots[title].1[r];
    // The summary: longer text than the title, apart from it and from the date.
    let summary = (0..slots.len())
        .filter(|&i| i != title && Some(i) != date && stats[i].present * 2 >= n)
        .filter(|&i| stats[i].chars >= 20.0 && stats[i].chars > stats[title].chars)
        .filter(|&i| !holds_date(i))
        .filter(|&i| {
            (0..n).all(|r| match (slots[i].1[r], title_element(r)) {
                (Some(e), Some(t)) => !related(e, t),
                _ => true,
            })
        })
        .max_by(|&a, &b| stats[a].chars.total_cmp(&stats[b].chars));
    Some(Fields {
        title,
        link,
        date,
        summary,
    })
}

/// Whether one is inside the other (or they are one).
fn related(a: ElementRef<'_>, b: ElementRef<'_>) -> bool {
    a.id() == b.id()
        || a.ancestors().any(|x| x.id() == b.id())
        || b.ancestors().any(|x| x.id() == a.id())
}

/// Whether the slot's element wraps other elements with text of their own: a wrapper rather
/// than a title.
fn contains_others(slots: &Slots<'_>, i: usize) -> bool {
    let path = &slots[i].0;
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path} > ")
    };
    let with_text = slots
        .iter()
        .filter(|(p, _)| {
            p.strip_prefix(&prefix)
                .is_some_and(|rest| !rest.is_empty() && !rest.contains(" > "))
                && !p.is_empty()
        })
        .filter(|(_, at)| at.iter().flatten().any(|e| !text(*e).trim().is_empty()))
        .count();
    with_text >= 2
}

/// How much a slot reads like a title: a heading or a title class, and a title's length.
fn title_score(path: &str, s: &Stats) -> f64 {
    let last = path
        .rsplit(" > ")
        .next()
        .unwrap_or(path)
        .to_ascii_lowercase();
    let heading = last.starts_with('h') && last[1..].starts_with(|c: char| c.is_ascii_digit());
    let named = ["title", "ttl", "tit", "head", "subject", "name"]
        .iter()
        .any(|w| last.contains(w));
    let length = if (8.0..=120.0).contains(&s.chars) {
        1.0
    } else {
        0.3
    };
    (1.0 + 2.0 * f64::from(u8::from(heading || named))) * length * s.present as f64
}
