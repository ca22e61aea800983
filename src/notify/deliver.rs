//! Emptying the outbox after a refresh: each due message handed to its receiver, marked before
//! and settled after (by [`crate::store::rules::outbox::after`]), so that nothing is sent twice.
//!
//! A receiver that fails (down, busy, slow) is not asked again in the same run, nor until its
//! wait is over: its other messages wait with the one that failed. A refusal concerns one
//! message, and the next ones are tried.

use super::{Kind, Message, Notify, Settings, email, post, slack, teams, webhook};
use crate::classify::Topic;
use crate::model::StoredEntry;
use crate::store::rules::format_time;
use crate::store::rules::outbox::{Next, after};
use crate::store::{Answer, OutboxHealth, Queued, Store, StoreError};
use chrono::{DateTime, FixedOffset};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;

/// What a run's deliveries came to.
#[derive(Debug, Default, Clone)]
pub struct Delivery {
    /// Messages their receivers accepted, per notification id.
    pub sent: BTreeMap<String, usize>,
    pub failures: Vec<Failure>,
    /// What stays in the outbox afterwards, per notification id.
    pub waiting: BTreeMap<String, OutboxHealth>,
}

/// A message that did not get through.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The notification's id.
    pub notify: String,
    /// Its kind, as `kind =` names it; empty for one no longer configured.
    pub kind: &'static str,
    /// The entry (its title and link), or for an e-mail how many entries it listed.
    pub what: String,
    pub reason: String,
    pub fate: Fate,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Fate {
    /// It stays queued, to be tried again from then.
    Retry(DateTime<FixedOffset>),
    /// Refused too often: dropped, unsent.
    Dropped,
    /// Handed to the receiver by a run stopped before the answer: not sent again.
    Unknown,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "notify {}", self.notify)?;
        if !self.kind.is_empty() {
            write!(f, " ({})", self.kind)?;
        }
        write!(f, ": {}: {}; ", self.what, self.reason)?;
        match &self.fate {
            Fate::Retry(at) => write!(f, "kept, tried again from {}", format_time(*at)),
            Fate::Dropped => f.write_str("refused repeatedly: dropped"),
            Fate::Unknown => f.write_str(
                "whether it arrived is unknown; not sent again, so that nobody gets it twice",
            ),
        }
    }
}

/// Sends every due message of the outbox, as `settings` configure the notifications.
pub async fn deliver(
    settings: &Settings<'_>,
    store: &mut Store,
    now: DateTime<FixedOffset>,
) -> Result<Delivery, StoreError> {
    let mut delivery = Delivery::default();
    if settings.notify.is_empty() {
        // The refresh removed the messages of notifications no longer configured.
        return Ok(delivery);
    }
    let mut queued = store.outbox()?;
    if queued.is_empty() {
        return Ok(delivery);
    }
    let kind = |id: &str| {
        let n = settings.notify.iter().find(|n| n.id == id);
        n.map_or("", |n| n.kind.name())
    };
    for q in store.abandoned(&mut queued)? {
        delivery.failures.push(Failure {
            kind: kind(&q.notify),
            notify: q.notify,
            what: entry_what(&q.entry),
            reason: "the run that sent it was stopped before the receiver answered".to_owned(),
            fate: Fate::Unknown,
        });
    }
    let client = post::client(settings.user_agent, settings.timeout);
    for n in settings.notify {
        let due: Vec<&Queued> = queued.iter().filter(|q| q.notify == n.id).collect();
        // A receiver that failed is left alone until its wait is over, for every message.
        let held = due.iter().filter_map(|q| q.not_before).max();
        if due.is_empty() || held.is_some_and(|t| t > now) {
            continue;
        }
        let topics: Vec<Topics<'_>> = due.iter().map(|q| topics(settings, n, q)).collect();
        let messages: Vec<Message<'_>> = (due.iter().zip(&topics))
            .map(|(q, t)| message(settings, n, q, t))
            .collect();
        // Settles a message; a failure is reported where `what` names it.
        let mut settle = |store: &mut Store, q: &Queued, answer: &Answer, what: Option<String>| {
            let next = after(q, answer, now);
            store.settle(&n.id, &q.entry.key, &next)?;
            let fate = match next {
                Next::Delivered => {
                    *delivery.sent.entry(n.id.clone()).or_default() += 1;
                    return Ok(());
                }
                Next::Dropped => Fate::Dropped,
                Next::Retry { not_before, .. } => Fate::Retry(not_before),
            };
            if let (Some(what), Some(reason)) = (what, answer.reason()) {
                delivery.failures.push(Failure {
                    notify: n.id.clone(),
                    kind: n.kind.name(),
                    what,
                    reason: reason.to_owned(),
                    fate,
                });
            }
            Ok::<(), StoreError>(())
        };
        if let Kind::Email(mail) = &n.kind {
            let keys: Vec<_> = due.iter().map(|q| &q.entry.key).collect();
            let answer =
                match email::message(mail, &n.id, &messages, settings.site, settings.topics) {
                    Ok(message) => {
                        store.sending(&n.id, &keys, now)?;
                        email::send(mail, message, settings.timeout).await
                    }
                    Err(reason) => Answer::Refused(reason),
                };
            for (i, q) in due.iter().enumerate() {
                // One report for the e-mail, not one per entry in it.
                let what = (i == 0).then(|| format!("an e-mail of {} entries", due.len()));
                settle(store, q, &answer, what)?;
            }
            continue;
        }
        for (q, m) in due.iter().zip(&messages) {
            let Some((url, body)) = http_body(&n.kind, m) else {
                continue;
            };
            store.sending(&n.id, &[&q.entry.key], now)?;
            let answer = post::post(&client, url, &body, now).await;
            settle(store, q, &answer, Some(entry_what(&q.entry)))?;
            if matches!(answer, Answer::Failed { .. }) {
                break;
            }
        }
    }
    delivery.waiting = OutboxHealth::of(&store.outbox()?);
    Ok(delivery)
}

/// An entry as a report names it.
fn entry_what(e: &StoredEntry) -> String {
    format!("\"{}\" ({})", e.title, e.link)
}

/// An entry's topics, and those of them a notification follows.
type Topics<'a> = (Vec<&'a Topic>, Vec<&'a Topic>);

fn topics<'a>(settings: &Settings<'a>, n: &Notify, q: &Queued) -> Topics<'a> {
    let own: Vec<&Topic> = (settings.topics.iter())
        .filter(|t| q.topics.contains(&t.id))
        .collect();
    let followed = match &n.topics {
        None => own.clone(),
        Some(ids) => own
            .iter()
            .copied()
            .filter(|t| ids.contains(&t.id))
            .collect(),
    };
    (own, followed)
}

fn message<'a>(
    settings: &Settings<'a>,
    n: &'a Notify,
    q: &'a Queued,
    topics: &'a Topics<'a>,
) -> Message<'a> {
    Message {
        notify: &n.id,
        entry: &q.entry,
        topics: &topics.0,
        followed: &topics.1,
        event: q.event,
        site: settings.site,
    }
}

/// Where an HTTP notification posts, and what.
fn http_body<'a>(kind: &'a Kind, m: &Message<'_>) -> Option<(&'a super::Secret, Value)> {
    match kind {
        Kind::Webhook(url) => Some((url, webhook::body(m))),
        Kind::Slack(url) => Some((url, slack::body(m))),
        Kind::Teams(url) => Some((url, teams::body(m))),
        Kind::Email(_) => None,
    }
}

/// What each notification would be sent for `news` (new entries with their topic ids; updates
/// are not foreseen), as `kairan check` shows it: an HTTP notification's bodies, an e-mail's subject and entries.
/// Nothing is sent.
pub fn would_send(
    settings: &Settings<'_>,
    news: &[(StoredEntry, Vec<String>)],
) -> Vec<(String, Vec<Value>)> {
    let mut previews = Vec::new();
    for n in settings.notify {
        let subscription = n.subscription();
        let mine: Vec<Queued> = (news.iter())
            .filter(|(_, t)| subscription.wants(t, crate::store::Event::New))
            .map(|(e, t)| Queued::of(&n.id, e.clone(), t.clone()))
            .collect();
        let topics: Vec<Topics<'_>> = mine.iter().map(|q| topics(settings, n, q)).collect();
        let messages: Vec<Message<'_>> = (mine.iter().zip(&topics))
            .map(|(q, t)| message(settings, n, q, t))
            .collect();
        let payloads = match &n.kind {
            Kind::Email(mail) if !messages.is_empty() => vec![json!({
                "subject": email::subject(&messages, settings.site, settings.topics),
                "to": mail.to.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "entries": messages.iter().map(|m| webhook::body(m)["entry"].clone()).collect::<Vec<_>>(),
            })],
            kind => (messages.iter())
                .filter_map(|m| http_body(kind, m).map(|(_, body)| body))
                .collect(),
        };
        previews.push((n.name(), payloads));
    }
    previews
}
