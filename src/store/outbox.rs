//! The outbox: notifications to send, written in the same transaction as the entries they
//! announce, so that a crash cannot store an entry and forget its news, and kept until the
//! receiver accepts them.
//!
//! Each message is marked as being sent (committed) before it is handed to its receiver, and
//! settled after the answer. A run killed between the two leaves the mark: the next run cannot
//! know whether the receiver got the message, and drops it with a report rather than send it
//! again (at most once; see [`Store::abandoned`]).

use super::rules::outbox::Next;
use super::{Result, Store};
use crate::model::{EntryKey, StoredEntry};
use chrono::{DateTime, FixedOffset};

/// A notification's interest: the topics it follows (for `None`, every entry, as the combined
/// feed lists them) and whether an updated entry is news too.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub notify: String,
    pub topics: Option<Vec<String>>,
    pub updates: bool,
}

impl Subscription {
    /// Whether an entry in `topics` is news for it when `event` happened to it.
    pub fn wants(&self, topics: &[String], event: Event) -> bool {
        if event == Event::Updated && !self.updates {
            return false;
        }
        match &self.topics {
            None => true,
            Some(followed) => topics.iter().any(|t| followed.contains(t)),
        }
    }
}

/// What happened to an entry that makes it news.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Stored for the first time, by a source that had been read before.
    New,
    /// Its content or dates changed.
    Updated,
}

impl Event {
    /// As the state writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::New => "new",
            Event::Updated => "updated",
        }
    }

    pub fn parse(text: &str) -> Event {
        if text == "updated" {
            Event::Updated
        } else {
            Event::New
        }
    }
}

/// A message in the outbox, with its entry as stored now.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub notify: String,
    pub entry: StoredEntry,
    /// The entry's topic ids.
    pub topics: Vec<String>,
    pub event: Event,
    pub queued: DateTime<FixedOffset>,
    /// Deliveries that failed so far, refusals included.
    pub failures: u32,
    /// Of those, the receiver's refusals of the message itself.
    pub refusals: u32,
    /// Not to be tried before this.
    pub not_before: Option<DateTime<FixedOffset>>,
    pub last_error: Option<String>,
    /// Handed to its receiver by a run that ended before the answer came.
    pub sending: bool,
}

impl Queued {
    /// A message about `entry` not tried yet.
    pub fn of(notify: &str, entry: StoredEntry, topics: Vec<String>) -> Queued {
        Queued {
            notify: notify.to_owned(),
            queued: entry.updated,
            entry,
            topics,
            event: Event::New,
            failures: 0,
            refusals: 0,
            not_before: None,
            last_error: None,
            sending: false,
        }
    }
}

/// A receiver's answer to one delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// 2xx; SMTP 250.
    Accepted,
    /// The receiver could not take it now: 5xx, 429, a timeout, a refused connection, SMTP
    /// 4xx. `not_before`: when the receiver asked to be tried again (Retry-After).
    Failed {
        reason: String,
        not_before: Option<DateTime<FixedOffset>>,
    },
    /// The receiver refused the message itself and would refuse it again: a 4xx other than
    /// 429, SMTP 5xx.
    Refused(String),
}

impl Answer {
    /// Why the message did not get through; nothing when it did.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Answer::Accepted => None,
            Answer::Failed { reason, .. } | Answer::Refused(reason) => Some(reason),
        }
    }
}

/// A notification's outbox as `kairan status` and `/metrics` show it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutboxHealth {
    /// Messages waiting.
    pub queued: usize,
    /// Of those, messages whose last delivery failed.
    pub failing: usize,
    /// The reason of a failing message's last failure (the last such message's, oldest first).
    pub last_error: Option<String>,
}

impl OutboxHealth {
    /// Each notification's share of `queued`, by id.
    pub fn of(queued: &[Queued]) -> std::collections::BTreeMap<String, OutboxHealth> {
        let mut health = std::collections::BTreeMap::<String, OutboxHealth>::new();
        for q in queued {
            let h = health.entry(q.notify.clone()).or_default();
            h.queued += 1;
            if q.failures > 0 {
                h.failing += 1;
                h.last_error.clone_from(&q.last_error);
            }
        }
        health
    }
}

impl Store {
    /// Every message in the outbox, per notification oldest first.
    pub fn outbox(&self) -> Result<Vec<Queued>> {
        self.backend.outbox()
    }

    /// Marks `keys`' messages to `notify` as handed to the receiver, before they are; committed
    /// at once.
    pub fn sending(
        &mut self,
        notify: &str,
        keys: &[&EntryKey],
        now: DateTime<FixedOffset>,
    ) -> Result<()> {
        self.backend.sending(notify, keys, now)
    }

    /// Records what became of a message after its receiver's answer; committed at once.
    pub fn settle(&mut self, notify: &str, key: &EntryKey, next: &Next) -> Result<()> {
        self.backend.settle(notify, key, next)
    }

    /// Takes the messages a killed run handed to their receivers out of the outbox, and
    /// returns them: whether they arrived is unknown, and a receiver that got one would show
    /// it twice (a chat post, an e-mail), so they are reported, never sent again.
    pub fn abandoned(&mut self, queued: &mut Vec<Queued>) -> Result<Vec<Queued>> {
        let (abandoned, waiting): (Vec<Queued>, Vec<Queued>) =
            std::mem::take(queued).into_iter().partition(|q| q.sending);
        *queued = waiting;
        for q in &abandoned {
            self.backend
                .settle(&q.notify, &q.entry.key, &Next::Dropped)?;
        }
        Ok(abandoned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscription_wants_its_topics_and_updates_only_when_asked() {
        let ids = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let every = Subscription {
            notify: "all".into(),
            topics: None,
            updates: false,
        };
        assert!(every.wants(&[], Event::New), "every entry, in no topic too");
        assert!(!every.wants(&ids(&["sms"]), Event::Updated));
        let some = Subscription {
            notify: "soc".into(),
            topics: Some(ids(&["sms", "ransomware"])),
            updates: true,
        };
        assert!(some.wants(&ids(&["phishing", "sms"]), Event::New));
        assert!(some.wants(&ids(&["ransomware"]), Event::Updated));
        assert!(!some.wants(&ids(&["phishing"]), Event::New));
        assert!(!some.wants(&[], Event::New));
    }
}
