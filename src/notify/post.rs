//! Posting JSON to a webhook, and what its answer means for the message: 2xx accepted; 429
//! and 5xx, a timeout or no connection a failure to try again; any other status a refusal of
//! the message itself.

use super::Secret;
use crate::store::Answer;
use chrono::{DateTime, FixedOffset, TimeDelta};
use serde_json::Value;

/// The most of a receiver's error body a report quotes.
const QUOTED_CHARS: usize = 200;
/// The longest Retry-After honoured: a receiver cannot park its messages for days.
const LONGEST_RETRY_AFTER: TimeDelta = TimeDelta::hours(24);

/// A client for receivers: no redirects (a POST redirected becomes a GET, and a webhook that
/// moved should be configured where it is).
pub(super) fn client(user_agent: &str, timeout: std::time::Duration) -> reqwest::Client {
    crate::fetch::tls();
    reqwest::Client::builder()
        .user_agent(user_agent)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

pub(super) async fn post(
    client: &reqwest::Client,
    url: &Secret,
    body: &Value,
    now: DateTime<FixedOffset>,
) -> Answer {
    let sent = client
        .post(url.0.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => {
            return Answer::Failed {
                reason: format!("{}: {}", url.host(), network_reason(&e)),
                not_before: None,
            };
        }
    };
    let status = response.status();
    if status.is_success() {
        return Answer::Accepted;
    }
    let retry_after = (response.headers().get(reqwest::header::RETRY_AFTER))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry_after(v, now));
    let said = response.text().await.unwrap_or_default();
    let said: String = said.split_whitespace().collect::<Vec<_>>().join(" ");
    let said: String = said.chars().take(QUOTED_CHARS).collect();
    let reason = match said.as_str() {
        "" => format!("HTTP {status} from {}", url.host()),
        said => format!("HTTP {status} from {}: {said}", url.host()),
    };
    if status.as_u16() == 429 || status.is_server_error() {
        Answer::Failed {
            reason,
            not_before: retry_after,
        }
    } else {
        Answer::Refused(reason)
    }
}

/// Why no answer came, in words: reqwest's own message names only the URL, and that is a
/// secret here.
fn network_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "no answer in time".to_owned();
    }
    let deepest = crate::fetch::causes(e).last();
    if e.is_connect() {
        format!(
            "cannot connect: {}",
            deepest.unwrap_or_else(|| "refused".to_owned())
        )
    } else {
        deepest.unwrap_or_else(|| "the request failed".to_owned())
    }
}

/// `Retry-After` as seconds or an HTTP date, as a time.
fn retry_after(value: &str, now: DateTime<FixedOffset>) -> Option<DateTime<FixedOffset>> {
    let value = value.trim();
    let wait = match value.parse::<i64>() {
        Ok(seconds) => TimeDelta::try_seconds(seconds)?,
        Err(_) => DateTime::parse_from_rfc2822(value).ok()? - now,
    };
    Some(now + wait.clamp(TimeDelta::zero(), LONGEST_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date_and_bounded() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T10:00:00+09:00").unwrap();
        assert_eq!(retry_after("120", now), Some(now + TimeDelta::minutes(2)));
        assert_eq!(
            retry_after("Sat, 28 Nov 2026 01:30:00 GMT", now),
            Some(now + TimeDelta::minutes(30))
        );
        assert_eq!(
            retry_after("99999999", now),
            Some(now + TimeDelta::hours(24))
        );
        assert_eq!(retry_after("-5", now), Some(now));
        assert_eq!(retry_after("soon", now), None);
    }
}
