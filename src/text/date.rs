//! Dates as IPA and feeds print them, read in the configured time zone.
//!
//! Accepted: RFC 3339 with or without seconds (`2022-06-21T11:52+09:00`), RFC 2822, and calendar
//! dates `2023/09/12`, `2023-09-12`, `2023.9.12`, `2023年9月12日` (full-width digits too), with an
//! optional `HH:MM[:SS]`, anywhere in the text (`公開日:2025年4月1日`). A date without a zone is
//! in the configured zone; a date without a time is midnight there.

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

/// Finds `Y sep M sep D [H:M[:S]]` in the text. The outer `Option` says whether the shape was
/// found, the inner whether it is a real calendar date.
#[allow(clippy::type_complexity)]
fn scan_calendar(s: &str) -> Option<(Option<NaiveDate>, Option<NaiveTime>)> {
    s.char_indices().find_map(|(i, _)| {
        let (y, m, d, end) = date_at(s, i)?;
        Some((NaiveDate::from_ymd_opt(y, m, d), time_after(&s[end..])))
    })
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
