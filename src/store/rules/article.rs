//! When an entry's own page is read: fetched when the entry is new, its link changed or its
//! listing row changed (a later listing date is how IPA signals an update); read again from
//! the kept page when the article rule changed; checked with a conditional request once a
//! week; after a failure, retried with a growing wait, and once a day after five.

use crate::fetch::Validators;
use chrono::{DateTime, FixedOffset, TimeDelta};

/// How long a read article is trusted before a conditional request asks whether it changed
/// silently.
pub const RECHECK_EVERY: TimeDelta = TimeDelta::days(7);
/// Failures after which an article is tried once a day only.
pub const DAILY_AFTER: u32 = 5;
/// The wait after a first failure; it doubles with each further one.
const FIRST_RETRY: TimeDelta = TimeDelta::minutes(30);

/// What the state holds of an entry's article, as far as deciding to read it goes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArticleState {
    /// The URL last asked for.
    pub link: String,
    /// The entry's listing date (in the state's form) when its article was last asked for.
    pub listing_date: Option<String>,
    pub validators: Validators,
    /// When a page or a 304 last came.
    pub checked: Option<DateTime<FixedOffset>>,
    /// A page is kept, to be read again under a changed rule.
    pub has_page: bool,
    /// The rule (its fingerprint) the kept page was last read with.
    pub rule: Option<String>,
    /// Whether that reading gave content.
    pub has_content: bool,
    /// Failures since the last success.
    pub failures: u32,
    pub last_attempt: Option<DateTime<FixedOffset>>,
}

/// What to do about an entry's article this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// Ask for the page, with these validators (none: unconditionally).
    Fetch(Validators),
    /// Read the kept page again with the current rule; no request.
    Reread,
    Nothing,
}

/// What to do about the article at `link` of an entry listed with `listing_date`, read with
/// the rule `rule`, given what the state holds of it.
pub fn due(
    state: Option<&ArticleState>,
    link: &str,
    listing_date: Option<&str>,
    rule: &str,
    now: DateTime<FixedOffset>,
) -> Due {
    let Some(s) = state else {
        return Due::Fetch(Validators::default());
    };
    let current = s.rule.as_deref() == Some(rule);
    // Validators only where what they stand for was read into content by this rule: a 304
    // must not leave an entry without the content a full page would give.
    let validators = if current && s.has_content {
        s.validators.clone()
    } else {
        Validators::default()
    };
    if s.link != link {
        return Due::Fetch(Validators::default());
    }
    if s.listing_date.as_deref() != listing_date {
        return Due::Fetch(validators);
    }
    if !current && s.has_page {
        return Due::Reread;
    }
    if s.failures > 0 {
        let waited = s
            .last_attempt
            .is_none_or(|t| now - t >= retry_wait(s.failures));
        return if waited {
            Due::Fetch(validators)
        } else {
            Due::Nothing
        };
    }
    if !current || s.checked.is_none_or(|t| now - t >= RECHECK_EVERY) {
        return Due::Fetch(validators);
    }
    Due::Nothing
}

/// The wait before trying again after `failures` failures in a row.
pub fn retry_wait(failures: u32) -> TimeDelta {
    if failures >= DAILY_AFTER {
        return TimeDelta::days(1);
    }
    FIRST_RETRY * 2i32.pow(failures.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-11-25T10:00:00+09:00";
    const LINK: &str = "https://www.ipa.go.jp/security/anshin/attention/2023/a.html";
    const DATE: Option<&str> = Some("2023-09-12T00:00:00+09:00");

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap()
    }

    fn read(checked: &str) -> ArticleState {
        ArticleState {
            link: LINK.into(),
            listing_date: DATE.map(str::to_owned),
            validators: Validators {
                etag: Some("\"v1\"".into()),
                last_modified: None,
            },
            checked: Some(at(checked)),
            has_page: true,
            rule: Some("r1".into()),
            has_content: true,
            failures: 0,
            last_attempt: Some(at(checked)),
        }
    }

    fn due_now(s: &ArticleState) -> Due {
        due(Some(s), LINK, DATE, "r1", at(NOW))
    }

    #[test]
    fn a_new_entry_is_fetched_and_a_read_one_is_left_for_a_week() {
        assert_eq!(
            due(None, LINK, DATE, "r1", at(NOW)),
            Due::Fetch(Validators::default())
        );
        assert_eq!(due_now(&read("2026-11-19T10:00:01+09:00")), Due::Nothing);
        let s = read("2026-11-18T10:00:00+09:00");
        assert_eq!(due_now(&s), Due::Fetch(s.validators.clone()));
    }

    #[test]
    fn a_changed_link_or_listing_row_fetches_at_once() {
        let s = read(NOW);
        assert_eq!(
            due(
                Some(&s),
                "https://www.ipa.go.jp/b.html",
                DATE,
                "r1",
                at(NOW)
            ),
            Due::Fetch(Validators::default())
        );
        assert_eq!(
            due(
                Some(&s),
                LINK,
                Some("2024-01-05T00:00:00+09:00"),
                "r1",
                at(NOW)
            ),
            Due::Fetch(s.validators.clone())
        );
    }

    #[test]
    fn a_changed_rule_rereads_the_kept_page_without_a_request() {
        let s = read(NOW);
        assert_eq!(due(Some(&s), LINK, DATE, "r2", at(NOW)), Due::Reread);
        let no_page = ArticleState {
            has_page: false,
            ..s
        };
        assert_eq!(
            due(Some(&no_page), LINK, DATE, "r2", at(NOW)),
            Due::Fetch(Validators::default())
        );
    }

    #[test]
    fn failures_are_retried_with_a_growing_wait_then_daily() {
        let failing = |failures, last: &str| ArticleState {
            failures,
            last_attempt: Some(at(last)),
            has_content: false,
            ..read("2026-11-01T00:00:00+09:00")
        };
        assert_eq!(
            due_now(&failing(1, "2026-11-25T09:31:00+09:00")),
            Due::Nothing
        );
        assert!(
            matches!(due_now(&failing(1, "2026-11-25T09:30:00+09:00")), Due::Fetch(v) if v == Validators::default())
        );
        assert_eq!(
            due_now(&failing(4, "2026-11-25T06:01:00+09:00")),
            Due::Nothing
        );
        assert!(matches!(
            due_now(&failing(4, "2026-11-25T06:00:00+09:00")),
            Due::Fetch(_)
        ));
        assert_eq!(
            due_now(&failing(9, "2026-11-24T10:00:01+09:00")),
            Due::Nothing
        );
        assert!(matches!(
            due_now(&failing(9, "2026-11-24T10:00:00+09:00")),
            Due::Fetch(_)
        ));
        assert_eq!(retry_wait(5), TimeDelta::days(1));
    }
}
