//! A Slack incoming webhook's message: `{"text": …}` in Slack's mrkdwn, the title a link.

use super::Message;
use serde_json::{Value, json};

/// `*<link|title>*`, then the date and the topics' titles.
pub fn body(m: &Message<'_>) -> Value {
    let labels = m.site.labels;
    let mut text = format!(
        "*<{}|{}>*\n{} {}",
        link(&m.entry.link),
        escape(&m.entry.title),
        labels.published,
        m.day()
    );
    if !m.topics.is_empty() {
        text.push_str(&format!(
            " · {}: {}",
            labels.topics,
            escape(&m.topic_titles())
        ));
    }
    json!({ "text": text })
}

/// Text as Slack's mrkdwn reads it literally: `&`, `<` and `>` are its only controls.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A URL inside `<…|…>`, where `|` and `>` would end it early.
fn link(url: &str) -> String {
    escape(url).replace('|', "%7C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_a_title_or_link_stays_text() {
        assert_eq!(escape("<b>A&B</b>"), "&lt;b&gt;A&amp;B&lt;/b&gt;");
        assert_eq!(
            link("https://example.org/a?x=1|2&y=<3>"),
            "https://example.org/a?x=1%7C2&amp;y=&lt;3&gt;"
        );
    }
}
