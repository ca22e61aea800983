//! What becomes of a queued notification after its receiver answered: gone when accepted;
//! after a failure (the receiver down, busy or slow), tried again at the next run and then
//! with a growing wait; after a refusal of the message itself, tried again at the next run
//! (the cause is usually a setting someone is fixing) and dropped after the third.

use crate::store::{Answer, Queued};
use chrono::{DateTime, FixedOffset, TimeDelta};

/// Refusals after which a message is dropped: the receiver will not take it.
pub const DROP_AFTER_REFUSALS: u32 = 3;
/// The wait after the second failure in a row; it doubles with each further one.
const SECOND_RETRY: TimeDelta = TimeDelta::minutes(5);
/// The longest wait between two tries.
const LONGEST_WAIT: TimeDelta = TimeDelta::hours(6);

/// A queued message after an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Accepted: it leaves the outbox.
    Delivered,
    /// Refused too often: it leaves the outbox, unsent.
    Dropped,
    /// It stays, to be tried again from `not_before`.
    Retry {
        failures: u32,
        refusals: u32,
        not_before: DateTime<FixedOffset>,
        error: String,
    },
}

/// Settles `q` after the receiver's `answer` at `now`.
pub fn after(q: &Queued, answer: &Answer, now: DateTime<FixedOffset>) -> Next {
    let failures = q.failures + 1;
    match answer {
        Answer::Accepted => Next::Delivered,
        Answer::Refused(_) if q.refusals + 1 >= DROP_AFTER_REFUSALS => Next::Dropped,
        Answer::Refused(reason) => Next::Retry {
            failures,
            refusals: q.refusals + 1,
            not_before: now,
            error: reason.clone(),
        },
        Answer::Failed { reason, not_before } => Next::Retry {
            failures,
            refusals: q.refusals,
            not_before: (now + wait(failures)).max(not_before.unwrap_or(now)),
            error: reason.clone(),
        },
    }
}

/// The wait after `failures` failures in a row: none after the first (a cron run or a serve
/// refresh later is wait enough for a blip), then five minutes, doubling, to six hours.
pub fn wait(failures: u32) -> TimeDelta {
    if failures <= 1 {
        return TimeDelta::zero();
    }
    let doublings = (failures - 2).min(10);
    (SECOND_RETRY * 2i32.pow(doublings)).min(LONGEST_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EntryKey, StoredEntry};

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap()
    }

    fn queued(failures: u32, refusals: u32) -> Queued {
        let t = at("2026-11-20T10:00:00+09:00");
        let entry = StoredEntry {
            id: "urn:uuid:x".into(),
            key: EntryKey("https://example.org/a".into()),
            title: "a".into(),
            link: "https://example.org/a".into(),
            summary: None,
            published: t,
            updated: t,
            source: None,
            content: None,
            excerpt: None,
        };
        Queued {
            failures,
            refusals,
            ..Queued::of("soc", entry, vec![])
        }
    }

    #[test]
    fn accepted_leaves_and_refused_thrice_is_dropped() {
        let now = at("2026-11-28T10:00:00+09:00");
        assert_eq!(
            after(&queued(4, 0), &Answer::Accepted, now),
            Next::Delivered
        );
        let refused = Answer::Refused("HTTP 404".into());
        let Next::Retry {
            refusals,
            not_before,
            ..
        } = after(&queued(0, 0), &refused, now)
        else {
            panic!("a first refusal is tried again");
        };
        assert_eq!((refusals, not_before), (1, now));
        assert!(matches!(
            after(&queued(1, 1), &refused, now),
            Next::Retry { refusals: 2, .. }
        ));
        assert_eq!(after(&queued(2, 2), &refused, now), Next::Dropped);
    }

    #[test]
    fn failures_wait_longer_and_longer_and_respect_retry_after() {
        let now = at("2026-11-28T10:00:00+09:00");
        let failed = |not_before| Answer::Failed {
            reason: "HTTP 503".into(),
            not_before,
        };
        let next = |q: Queued, a: &Answer| match after(&q, a, now) {
            Next::Retry { not_before, .. } => not_before - now,
            other => panic!("{other:?}"),
        };
        assert_eq!(next(queued(0, 0), &failed(None)), TimeDelta::zero());
        assert_eq!(next(queued(1, 0), &failed(None)), TimeDelta::minutes(5));
        assert_eq!(next(queued(2, 0), &failed(None)), TimeDelta::minutes(10));
        assert_eq!(next(queued(40, 0), &failed(None)), TimeDelta::hours(6));
        // A 429's Retry-After later than the backoff wins.
        let later = Some(now + TimeDelta::minutes(30));
        assert_eq!(next(queued(1, 0), &failed(later)), TimeDelta::minutes(30));
        // Failures do not count as refusals.
        assert!(matches!(
            after(&queued(5, 2), &failed(None), now),
            Next::Retry {
                refusals: 2,
                failures: 6,
                ..
            }
        ));
    }
}
