//! Dates as IPA and feeds print them, read in the configured time zone.
//!
//! Accepted: RFC 3339 with or without seconds (`2022-06-21T11:52+09:00`), RFC 2822, and calendar
//! dates `2023/09/12`, `2023-09-12`, `2023.9.12`, `2023年9月12日` (full-width digits too, and a
//! weekday after it: `2023年9月12日(火)`), Japanese era years (`令和5年9月12日`, `令和元年5月1日`,
//! abbreviated `R5.9.12`, `H31.4.30`; a date outside its era is invalid), with an optional
//! `HH:MM[:SS]`, anywhere in the text (`公開日:2025年4月1日`). A date without a zone is in the
//! configured zone; a date without a time is midnight there.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use unicode_normalization::UnicodeNormalization;
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("no date found in \"{0}\"")]
    Unrecognized(String),
    #[error("\"{0}\" is not a valid date")]
    Invalid(String),
    #[error(
        "\"{0}\" cannot be published: RFC 3339 needs a year from 1 to 9999 and a whole-minute offset"
    )]
    Unwritable(String),
}

/// Parses a date as printed by a listing or a feed.
pub fn parse(text: &str, tz: Tz) -> Result<DateTime<FixedOffset>, DateError> {
    let folded: String = text.nfkc().collect();
    let s = folded.trim();
    // Messages quote the text as found, without the line breaks around it in the page.
    let quoted = || text.trim().to_owned();
    if let Some(dt) = parse_rfc3339_lenient(s) {
        return writable(dt, quoted);
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return writable(dt, quoted);
    }
    let (date, time) = scan_calendar(s).ok_or_else(|| DateError::Unrecognized(quoted()))?;
    let date = date.ok_or_else(|| DateError::Invalid(quoted()))?;
    let dt = local(date.and_time(time.unwrap_or(NaiveTime::MIN)), tz)
        .ok_or_else(|| DateError::Invalid(quoted()))?;
    writable(dt, quoted)
}

/// An instant (as a feed parser gives it, in UTC) shown in the configured zone.
pub fn in_zone(instant: DateTime<Utc>, tz: Tz) -> Result<DateTime<FixedOffset>, DateError> {
    writable(instant.with_timezone(&tz).fixed_offset(), || {
        instant.to_rfc3339()
    })
}

/// Every date leaves this module through here, because Atom (`xsd:dateTime`) and the store write
/// RFC 3339: four-digit years (and no year 0), offsets in whole minutes. A zone's local mean
/// time before standard time (Tokyo before 1888: +09:18:59) has seconds in its offset, which
/// chrono rounds when printing, so the printed date would be another instant.
fn writable(
    d: DateTime<FixedOffset>,
    quoted: impl FnOnce() -> String,
) -> Result<DateTime<FixedOffset>, DateError> {
    let years = [d.year(), d.naive_utc().year()];
    if d.offset().local_minus_utc() % 60 == 0 && years.iter().all(|y| (1..=9999).contains(y)) {
        Ok(d)
    } else {
        Err(DateError::Unwritable(quoted()))
    }
}

/// A local time in `tz`; in a gap or overlap, the earliest valid reading.
fn local(naive: NaiveDateTime, tz: Tz) -> Option<DateTime<FixedOffset>> {
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|d| d.fixed_offset())
}

/// RFC 3339, also without seconds and with a space for `T`, as JVN and others write it.
fn parse_rfc3339_lenient(s: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt);
    }
    let s = s.replacen(' ', "T", 1);
    let s = s
        .strip_suffix('Z')
        .map_or(s.clone(), |b| format!("{b}+00:00"));
    [
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M%z",
    ]
    .iter()
    .find_map(|f| DateTime::parse_from_str(&s, f).ok())
}

/// Finds a calendar date (Gregorian or of a Japanese era) and an optional time after it in the
/// text. The outer `Option` says whether the shape was found, the inner whether it is a real
/// calendar date.
#[allow(clippy::type_complexity)]
fn scan_calendar(s: &str) -> Option<(Option<NaiveDate>, Option<NaiveTime>)> {
    s.char_indices().find_map(|(i, _)| {
        let (date, end) = gregorian_at(s, i).or_else(|| era_at(s, i))?;
        Some((date, time_after(&s[end..])))
    })
}

fn gregorian_at(s: &str, i: usize) -> Option<(Option<NaiveDate>, usize)> {
    let (y, m, d, end) = date_at(s, i)?;
    Some((NaiveDate::from_ymd_opt(y, m, d), end))
}

/// An era of the modern calendar: its name, the letter that abbreviates it, and its first day
/// (its first year is that day's year).
struct Era {
    name: &'static str,
    letter: char,
    first_day: (i32, u32, u32),
}

const ERAS: [Era; 5] = [
    Era {
        name: "明治",
        letter: 'M',
        first_day: (1868, 1, 25),
    },
    Era {
        name: "大正",
        letter: 'T',
        first_day: (1912, 7, 30),
    },
    Era {
        name: "昭和",
        letter: 'S',
        first_day: (1926, 12, 25),
    },
    Era {
        name: "平成",
        letter: 'H',
        first_day: (1989, 1, 8),
    },
    Era {
        name: "令和",
        letter: 'R',
        first_day: (2019, 5, 1),
    },
];

/// A date of a Japanese era starting exactly at byte `i`: `令和5年9月12日`, `令和元年5月1日`, or
/// abbreviated `R5.9.12` (also with `/` or `-`); returns the date if it is one of that era,
/// and the byte offset after it.
fn era_at(s: &str, i: usize) -> Option<(Option<NaiveDate>, usize)> {
    let rest = &s[i..];
    let (era, after, kanji) = ERAS.iter().enumerate().find_map(|(k, e)| {
        if let Some(r) = rest.strip_prefix(e.name) {
            return Some((k, r, true));
        }
        // A letter is an era only where it does not end a word or a number (`FY2023`, `AH5`).
        let starts_word = s[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        rest.strip_prefix(e.letter)
            .filter(|r| starts_word && r.starts_with(|c: char| c.is_ascii_digit()))
            .map(|r| (k, r, false))
    })?;
    let (year, month, day, end) = if kanji {
        let r = after.trim_start();
        let (year, r) = match r.strip_prefix('元') {
            Some(r) => (1, r),
            None => digits(r, 1, 2)?,
        };
        let (month, r) = digits(r.trim_start().strip_prefix('年')?.trim_start(), 1, 2)?;
        let (day, r) = digits(r.trim_start().strip_prefix('月')?.trim_start(), 1, 2)?;
        (year, month, day, r.strip_prefix('日').unwrap_or(r))
    } else {
        let (year, r) = digits(after, 1, 2)?;
        let (sep, r) = separator(r).filter(|(sep, _)| [".", "/", "-"].contains(sep))?;
        let (month, r) = digits(r, 1, 2)?;
        let (day, r) = digits(r.strip_prefix(sep)?, 1, 2)?;
        (year, month, day, r)
    };
    let first = |e: &Era| {
        let (y, m, d) = e.first_day;
        NaiveDate::from_ymd_opt(y, m, d)
    };
    let this = &ERAS[era];
    let date =
        NaiveDate::from_ymd_opt(this.first_day.0 + year as i32 - 1, month, day).filter(|d| {
            first(this).is_some_and(|f| *d >= f)
                && ERAS
                    .get(era + 1)
                    .is_none_or(|next| first(next).is_some_and(|n| *d < n))
        });
    // An abbreviation that is no date of its era is likely no date at all (a version such as
    // `R1.2.3`): the scan goes on to what follows.
    if !kanji && date.is_none() {
        return None;
    }
    Some((date, s.len() - end.len()))
}

/// A date starting exactly at byte `i`: 4 digits, a separator, 1–2 digits, a separator, 1–2
/// digits; returns the fields and the byte offset after the date.
fn date_at(s: &str, i: usize) -> Option<(i32, u32, u32, usize)> {
    let b = s.as_bytes();
    if i > 0 && b[i - 1].is_ascii_digit() {
        return None;
    }
    let (year, rest) = digits(&s[i..], 4, 4)?;
    let (sep, rest) = separator(rest)?;
    let (month, rest) = digits(rest, 1, 2)?;
    let (sep2, rest) = separator(rest)?;
    let kanji = sep == "年";
    if kanji != (sep2 == "月") || (!kanji && sep != sep2) {
        return None;
    }
    let (day, mut rest) = digits(rest, 1, 2)?;
    if kanji {
        rest = rest.strip_prefix('日').unwrap_or(rest);
    }
    Some((year as i32, month, day, s.len() - rest.len()))
}

fn separator(s: &str) -> Option<(&str, &str)> {
    ["/", "-", ".", "年", "月"]
        .iter()
        .find_map(|sep| s.strip_prefix(sep).map(|rest| (*sep, rest)))
}

/// Between `min` and `max` ASCII digits, not followed by another digit.
fn digits(s: &str, min: usize, max: usize) -> Option<(u32, &str)> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    if n < min || n > max {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

/// An optional `HH:MM[:SS]` after the date, separated by spaces or `T`.
fn time_after(s: &str) -> Option<NaiveTime> {
    // A weekday may stand between them: `2023年9月12日(火) 10:30`.
    let s = s.trim_start_matches(' ');
    let s = ["月", "火", "水", "木", "金", "土", "日"]
        .iter()
        .find_map(|d| s.strip_prefix('(')?.strip_prefix(d)?.strip_prefix(')'))
        .unwrap_or(s);
    let s = s.trim_start_matches([' ', 'T', '(', ')']);
    let (h, rest) = digits(s, 1, 2)?;
    let rest = rest.strip_prefix(':')?;
    let (m, rest) = digits(rest, 2, 2)?;
    let sec = rest
        .strip_prefix(':')
        .and_then(|r| digits(r, 2, 2))
        .map_or(0, |(s, _)| s);
    NaiveTime::from_hms_opt(h, m, sec)
}

/// A publication date carried in an article's file name, as in IPA's
/// `mgdayori20210309.html` or `alert20230912.html`: 8 digits forming a plausible date.
pub fn date_in_url(url: &Url, tz: Tz) -> Option<DateTime<FixedOffset>> {
    let name = url.path_segments()?.next_back()?;
    let b = name.as_bytes();
    let mut i = 0;
    while i + 8 <= b.len() {
        let run = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if run == 8 {
            let v = &name[i..i + 8];
            let (y, m, d) = (
                v[..4].parse().ok()?,
                v[4..6].parse().ok()?,
                v[6..].parse().ok()?,
            );
            if (1990..=2100).contains(&y) {
                let date = NaiveDate::from_ymd_opt(y, m, d)?;
                return local(date.and_time(NaiveTime::MIN), tz);
            }
        }
        i += run.max(1);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Tokyo;

    fn p(s: &str) -> String {
        parse(s, Tokyo).unwrap().to_rfc3339()
    }

    #[test]
    fn listing_dates_are_midnight_japan_time() {
        assert_eq!(p("2023/09/12"), "2023-09-12T00:00:00+09:00");
        assert_eq!(p("2023年9月12日"), "2023-09-12T00:00:00+09:00");
        assert_eq!(p(" ２０２３年９月１２日 "), "2023-09-12T00:00:00+09:00");
        assert_eq!(p("2023-09-12"), "2023-09-12T00:00:00+09:00");
        assert_eq!(p("公開日:2025年4月1日"), "2025-04-01T00:00:00+09:00");
        assert_eq!(p("2023/9/1 17:05"), "2023-09-01T17:05:00+09:00");
    }

    #[test]
    fn rfc_dates_keep_their_offset() {
        assert_eq!(p("2023-09-12T17:00:00+09:00"), "2023-09-12T17:00:00+09:00");
        assert_eq!(p("2022-06-21T11:52+09:00"), "2022-06-21T11:52:00+09:00");
        assert_eq!(p("2022-06-21T02:52Z"), "2022-06-21T02:52:00+00:00");
        assert_eq!(
            p("Tue, 12 Sep 2023 17:00:00 +0900"),
            "2023-09-12T17:00:00+09:00"
        );
    }

    #[test]
    fn impossible_and_missing_dates_are_errors() {
        assert!(matches!(
            parse("2023年13月45日", Tokyo),
            Err(DateError::Invalid(_))
        ));
        assert!(matches!(
            parse("2023/02/30", Tokyo),
            Err(DateError::Invalid(_))
        ));
        assert!(matches!(
            parse("近日公開", Tokyo),
            Err(DateError::Unrecognized(_))
        ));
        assert!(matches!(
            parse("12023/01/01", Tokyo),
            Err(DateError::Unrecognized(_))
        ));
    }

    #[test]
    fn dates_rfc_3339_cannot_write_are_refused() {
        // Tokyo's local mean time (+09:18:59) and years RFC 3339 and xsd:dateTime cannot carry.
        for s in ["1800/01/01", "0000/01/01", "0000-01-01T00:00:00Z"] {
            assert!(
                matches!(parse(s, Tokyo), Err(DateError::Unwritable(_))),
                "{s}"
            );
        }
        assert_eq!(p("1888/01/02"), "1888-01-02T00:00:00+09:00");
        let lmt = DateTime::parse_from_rfc3339("1887-01-01T00:00:00Z").unwrap();
        assert!(in_zone(lmt.to_utc(), Tokyo).is_err());
        let late = DateTime::parse_from_rfc3339("9999-12-31T20:00:00Z").unwrap();
        assert!(
            in_zone(late.to_utc(), Tokyo).is_err(),
            "year 10000 in Japan"
        );
    }

    #[test]
    fn japanese_era_dates() {
        assert_eq!(p("令和5年9月12日"), "2023-09-12T00:00:00+09:00");
        assert_eq!(p("令和元年5月1日"), "2019-05-01T00:00:00+09:00");
        assert_eq!(p("平成31年4月30日"), "2019-04-30T00:00:00+09:00");
        assert_eq!(
            p("掲載日：令和６年１月１５日（月）"),
            "2024-01-15T00:00:00+09:00"
        );
        assert_eq!(p("R5.9.12"), "2023-09-12T00:00:00+09:00");
        assert_eq!(p("H31.4.30"), "2019-04-30T00:00:00+09:00");
        assert_eq!(p("R1/5/7 10:30"), "2019-05-07T10:30:00+09:00");
        assert_eq!(p("昭和64年1月7日"), "1989-01-07T00:00:00+09:00");
        assert_eq!(p("平成元年1月8日"), "1989-01-08T00:00:00+09:00");
        assert_eq!(p("2023年9月12日(火)"), "2023-09-12T00:00:00+09:00");
        assert_eq!(p("2023年9月12日（火） 10:30"), "2023-09-12T10:30:00+09:00");
        // A version number is not an era date, and does not hide the date after it.
        assert_eq!(p("v R1.2.3 (2023/09/12)"), "2023-09-12T00:00:00+09:00");
        // Outside their era: the day after 平成 ended, the day before 令和 began.
        for s in ["平成31年5月1日", "令和元年4月30日", "昭和64年1月8日"] {
            assert!(matches!(parse(s, Tokyo), Err(DateError::Invalid(_))), "{s}");
        }
        // A letter inside a word or number is not an era.
        for s in ["FY5.9.12", "AR5.9.12", "版R5", "H32.1.1"] {
            assert!(parse(s, Tokyo).is_err(), "{s}");
        }
    }

    #[test]
    fn mixed_separators_are_not_a_date() {
        assert!(parse("2023/09-12", Tokyo).is_err());
    }

    #[test]
    fn dates_in_article_urls() {
        let u = Url::parse(
            "https://www.ipa.go.jp/security/anshin/attention/2021/mgdayori20210309.html",
        )
        .unwrap();
        assert_eq!(
            date_in_url(&u, Tokyo).unwrap().to_rfc3339(),
            "2021-03-09T00:00:00+09:00"
        );
        let ms =
            Url::parse("https://www.ipa.go.jp/security/security-alert/2023/0912-ms.html").unwrap();
        assert_eq!(date_in_url(&ms, Tokyo), None);
        let id =
            Url::parse("https://jvndb.jvn.jp/ja/contents/2022/JVNDB-2022-001234.html").unwrap();
        assert_eq!(date_in_url(&id, Tokyo), None);
        let bad = Url::parse("https://example.org/a/mgdayori20231399.html").unwrap();
        assert_eq!(date_in_url(&bad, Tokyo), None);
    }
}
