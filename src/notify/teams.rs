//! A Microsoft Teams post through a Power Automate Workflows webhook (Office 365 connectors are
//! retired): a message with one Adaptive Card, whose body shows the title, date and topics and
//! whose action opens the entry.

use super::Message;
use serde_json::{Value, json};

/// The card's schema version: 1.4 is what Teams renders everywhere, mobile included.
pub const CARD_VERSION: &str = "1.4";

pub fn body(m: &Message<'_>) -> Value {
    let labels = m.site.labels;
    let mut facts = vec![json!({ "title": labels.published, "value": m.day() })];
    if !m.topics.is_empty() {
        facts.push(json!({ "title": labels.topics, "value": m.topic_titles() }));
    }
    let mut body = vec![
        json!({
            "type": "TextBlock",
            "text": m.entry.title,
            "weight": "Bolder",
            "size": "Medium",
            "wrap": true,
        }),
        json!({ "type": "FactSet", "facts": facts }),
    ];
    if let Some(summary) = m.summary() {
        body.push(json!({
            "type": "TextBlock",
            "text": summary,
            "wrap": true,
            "isSubtle": true,
            "maxLines": 4,
        }));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": CARD_VERSION,
                "body": body,
                "actions": [{
                    "type": "Action.OpenUrl",
                    "title": labels.read,
                    "url": m.entry.link,
                }],
            },
        }],
    })
}
