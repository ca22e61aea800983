//! The generic webhook's JSON: the entry's metadata, for any program to act on (Miniflux's
//! most asked-for integration: "just a POST containing the metadata").

use super::Message;
use serde_json::{Value, json};

/// `{"notify", "event", "topics", "entry": {"id", "title", "link", "published", "updated",
/// "summary", "topics"}}`: `event` "new" or "updated", `topics` the followed ones that brought
/// it, `entry.topics` all of its own.
pub fn body(m: &Message<'_>) -> Value {
    let ids = |topics: &[&crate::classify::Topic]| -> Vec<String> {
        topics.iter().map(|t| t.id.clone()).collect()
    };
    let e = m.entry;
    json!({
        "notify": m.notify,
        "event": m.event.as_str(),
        "topics": ids(m.followed),
        "entry": {
            "id": e.id,
            "title": e.title,
            "link": e.link,
            "published": e.published.to_rfc3339(),
            "updated": e.updated.to_rfc3339(),
            "summary": m.summary(),
            "topics": ids(m.topics),
        },
    })
}
