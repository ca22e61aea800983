//! Notifications: each entry that is news for a `[[notify]]` table sent to where people work, a
//! webhook's JSON, a Slack or Teams post, or one e-mail per run.
//!
//! What is news is decided when the entries are stored ([`crate::store::Store::commit`] queues
//! it in the state's outbox, in the same transaction); [`deliver`] empties the outbox after the
//! refresh, each kind written by its own module: [`webhook`], [`slack`], [`teams`], [`email`],
//! HTTP receivers posted to by [`post`].

mod deliver;
pub mod email;
mod post;
pub mod slack;
pub mod teams;
pub mod webhook;

pub use deliver::{Delivery, Failure, Fate, deliver, would_send};

use crate::classify::Topic;
use crate::model::StoredEntry;
use crate::publish::Site;
use crate::store::Subscription;
use std::fmt;
use std::time::Duration;
use url::Url;

/// One `[[notify]]` table, compiled.
#[derive(Debug, Clone)]
pub struct Notify {
    pub id: String,
    pub kind: Kind,
    /// The topic ids it follows; `None`: every entry.
    pub topics: Option<Vec<String>>,
    /// Whether an updated entry is sent too.
    pub updates: bool,
}

impl Notify {
    pub fn subscription(&self) -> Subscription {
        Subscription {
            notify: self.id.clone(),
            topics: self.topics.clone(),
            updates: self.updates,
        }
    }

    /// How messages name it: `soc (teams)`.
    pub fn name(&self) -> String {
        format!("{} ({})", self.id, self.kind.name())
    }
}

/// Where and how a notification is sent.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A JSON POST of the entry, for any program.
    Webhook(Secret),
    /// A Slack incoming webhook.
    Slack(Secret),
    /// A Microsoft Teams (Power Automate Workflows) webhook.
    Teams(Secret),
    Email(email::Email),
}

impl Kind {
    /// As `kind =` names it.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Webhook(_) => "webhook",
            Kind::Slack(_) => "slack",
            Kind::Teams(_) => "teams",
            Kind::Email(_) => "email",
        }
    }
}

/// A URL that carries a secret (a webhook's token is in its path): shown as its host only.
#[derive(Clone, PartialEq)]
pub struct Secret(pub Url);

impl Secret {
    /// How messages name it: the host and port, nothing of the path or query.
    pub fn host(&self) -> String {
        let host = self.0.host_str().unwrap_or_default();
        match self.0.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}/…", self.0.scheme(), self.host())
    }
}

/// What sending needs of the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    pub notify: &'a [Notify],
    pub site: &'a Site,
    pub topics: &'a [Topic],
    pub user_agent: &'a str,
    /// For one delivery: an HTTP request, or an SMTP conversation.
    pub timeout: Duration,
}

/// One entry as a notification tells of it.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// The notification's id.
    pub notify: &'a str,
    pub entry: &'a StoredEntry,
    /// The entry's topics, in the configuration's order.
    pub topics: &'a [&'a Topic],
    /// Of those, the ones the notification follows (all of them, for one that follows every
    /// entry).
    pub followed: &'a [&'a Topic],
    /// New, or updated (where the notification asks for updates).
    pub event: crate::store::Event,
    pub site: &'a Site,
}

impl Message<'_> {
    /// The entry's date as people read it: its day in the site's zone.
    pub fn day(&self) -> String {
        (self.entry.published)
            .with_timezone(&self.site.timezone)
            .format("%Y-%m-%d")
            .to_string()
    }

    /// The entry's topics' titles, joined for a line of text.
    pub fn topic_titles(&self) -> String {
        let titles: Vec<&str> = self.topics.iter().map(|t| t.title.as_str()).collect();
        titles.join(", ")
    }

    /// What the entry says of itself: its summary, or its article's first words.
    pub fn summary(&self) -> Option<&str> {
        (self.entry.summary.as_deref()).or(self.entry.excerpt.as_deref())
    }
}
