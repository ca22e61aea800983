//! Raw rows → [`Entry`]: clean text, absolute links, dates in the configured zone, a dedup key.
//! A row that cannot become an entry becomes a [`RowWarning`] instead; so does anything cut or
//! replaced on the way.

pub mod article;
pub mod url;

use crate::model::{Entry, EntryKey, Origin, RawDate, RawRow};
use crate::text::{self, MAX_SUMMARY_CHARS, MAX_TITLE_CHARS, date};
use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use std::fmt;

/// Something about one row worth telling the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowWarning {
    pub source: String,
    pub position: usize,
    pub message: String,
}

impl fmt::Display for RowWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} row {}: {}", self.source, self.position, self.message)
    }
}

/// What normalizing one source's rows gave.
#[derive(Debug, Default)]
pub struct Normalized {
    pub entries: Vec<Entry>,
    pub warnings: Vec<RowWarning>,
}

/// Normalizes the rows of one source. `page` is the URL the rows were read from (after
/// redirects): relative links resolve against it, and rows without a usable link point to it.
pub fn normalize(source: &str, page: &::url::Url, rows: Vec<RawRow>, tz: Tz) -> Normalized {
    let mut out = Normalized::default();
    for row in rows {
        let position = row.position;
        let mut warn = |message: String| {
            out.warnings.push(RowWarning {
                source: source.to_owned(),
                position,
                message,
            })
        };
        if let Some(entry) = entry(source, page, row, tz, &mut warn) {
            out.entries.push(entry);
        }
    }
    out
}

fn entry(
    source: &str,
    page: &::url::Url,
    row: RawRow,
    tz: Tz,
    warn: &mut impl FnMut(String),
) -> Option<Entry> {
    let mut title = text::clean_line(row.title.as_deref().unwrap_or(""));
    if title.is_empty() {
        warn("no title: row skipped".to_owned());
        return None;
    }
    if text::truncate(&mut title, MAX_TITLE_CHARS) {
        warn(format!("title cut to {MAX_TITLE_CHARS} characters"));
    }

    let mut summary = row.summary.as_deref().map(text::clean_paragraphs);
    if let Some(s) = summary.as_mut()
        && text::truncate(s, MAX_SUMMARY_CHARS)
    {
        warn(format!("summary cut to {MAX_SUMMARY_CHARS} characters"));
    }
    summary = summary.filter(|s| !s.is_empty());

    let mut date = |raw: Option<RawDate>, what: &str| -> Option<DateTime<FixedOffset>> {
        match raw? {
            RawDate::Instant(i) => date::in_zone(i, tz)
                .map_err(|e| warn(format!("{what} date: {e}")))
                .ok(),
            RawDate::Text(t) if t.trim().is_empty() => None,
            RawDate::Text(t) => date::parse(&t, tz)
                .map_err(|e| warn(format!("{what} date: {e}")))
                .ok(),
        }
    };
    let raw_published = date(row.published, "published");
    let updated = date(row.updated, "updated").or(raw_published);
    if updated.is_none() {
        warn("no date: the date of first sight is used".to_owned());
    }

    let link = match row.link.as_deref().map(|href| url::resolve(page, href)) {
        Some(Ok(link)) => Some(link),
        Some(Err(e)) => {
            warn(format!("{e}: the listing's URL is used"));
            None
        }
        None => {
            warn("no link: the listing's URL is used".to_owned());
            None
        }
    };

    // The date in an article's file name is the first publication (IPA's listings show the
    // date of the last update); it is a witness only when it is not later than what we have.
    let witness = link.as_ref().and_then(|l| date::date_in_url(l, tz));
    let published = [raw_published, updated, witness]
        .into_iter()
        .flatten()
        .min();

    let key = match &link {
        Some(l) => EntryKey(url::canonical(l)),
        None => {
            let day = updated
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            EntryKey(format!("title:{}|{day}", text::fold(&title)))
        }
    };
    Some(Entry {
        key,
        title,
        link: link.map_or_else(|| page.to_string(), String::from),
        summary,
        published,
        updated,
        origins: vec![Origin {
            source: source.to_owned(),
            position: row.position,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Tokyo;

    fn page() -> ::url::Url {
        ::url::Url::parse("https://www.ipa.go.jp/security/anshin/attention/index.html").unwrap()
    }

    fn row(title: &str, link: Option<&str>, date: &str) -> RawRow {
        RawRow {
            position: 1,
            title: Some(title.to_owned()),
            link: link.map(str::to_owned),
            summary: Some(" 一行目<\n\n 二行目 ".to_owned()),
            published: None,
            updated: Some(RawDate::Text(date.to_owned())),
        }
    }

    #[test]
    fn a_listing_row_becomes_an_entry_with_url_witness_for_published() {
        let rows = vec![row(
            "\u{3000}ブラウザの通知機能から\n 不審サイトに誘導する手口に注意 ",
            Some("/security/anshin/attention/2021/mgdayori20210309.html#x"),
            "2023年9月12日",
        )];
        let n = normalize("anshin", &page(), rows, Tokyo);
        assert!(n.warnings.is_empty(), "{:?}", n.warnings);
        let e = &n.entries[0];
        assert_eq!(
            e.title,
            "ブラウザの通知機能から 不審サイトに誘導する手口に注意"
        );
        assert_eq!(e.summary.as_deref(), Some("一行目<\n二行目"));
        assert_eq!(
            e.link,
            "https://www.ipa.go.jp/security/anshin/attention/2021/mgdayori20210309.html"
        );
        assert_eq!(e.key.0, e.link);
        assert_eq!(e.updated.unwrap().to_rfc3339(), "2023-09-12T00:00:00+09:00");
        assert_eq!(
            e.published.unwrap().to_rfc3339(),
            "2021-03-09T00:00:00+09:00"
        );
    }

    #[test]
    fn a_row_without_link_is_keyed_by_folded_title_and_date() {
        let n = normalize(
            "anshin",
            &page(),
            vec![row("ＴＬＳ暗号設定  ガイドライン", None, "2021/12/07")],
            Tokyo,
        );
        let e = &n.entries[0];
        assert_eq!(e.key.0, "title:tls暗号設定 ガイドライン|2021-12-07");
        assert_eq!(e.link, page().as_str());
        assert_eq!(n.warnings.len(), 1);
    }

    #[test]
    fn bad_rows_are_warnings_not_failures() {
        let rows = vec![
            row("  \u{3000} ", Some("/a.html"), "2023/01/01"),
            row("題", Some("javascript:alert(1)"), "2023年13月45日"),
        ];
        let n = normalize("x", &page(), rows, Tokyo);
        assert_eq!(n.entries.len(), 1);
        let messages: Vec<_> = n.warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(messages[0], "no title: row skipped");
        assert!(messages[1].contains("not a valid date"), "{messages:?}");
        assert!(
            messages.iter().any(|m| m.contains("not http or https")),
            "{messages:?}"
        );
        assert_eq!(n.entries[0].updated, None);
    }
}
