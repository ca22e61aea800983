//! Entries → topics, by the rule words of the configuration. A word matches when it is a
//! substring of the folded (NFKC, lower-case) title or summary.

use crate::config::Topic;
use crate::normalize::text::fold;

/// Where a rule word was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Title,
    Summary,
}

/// Why an entry is in a topic: the `any` and `all` words that matched, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub topic: usize,
    pub matched: Vec<(String, Field)>,
}

pub struct Classifier<'a> {
    topics: &'a [Topic],
}

/// An entry's text folded once, for all topics.
pub struct Folded {
    title: String,
    summary: String,
}

impl Folded {
    pub fn new(title: &str, summary: Option<&str>) -> Folded {
        Folded {
            title: fold(title),
            summary: summary.map(fold).unwrap_or_default(),
        }
    }

    fn find(&self, word: &str) -> Option<Field> {
        if self.title.contains(word) {
            Some(Field::Title)
        } else if self.summary.contains(word) {
            Some(Field::Summary)
        } else {
            None
        }
    }
}

impl<'a> Classifier<'a> {
    pub fn new(topics: &'a [Topic]) -> Self {
        Classifier { topics }
    }

    /// Indices (into the configured topics) of the topics the text belongs to.
    pub fn topics(&self, text: &Folded) -> Vec<usize> {
        (0..self.topics.len())
            .filter(|&i| self.explain_one(i, text).is_some())
            .collect()
    }

    /// The matching topics with the words that put the text there.
    pub fn explain(&self, text: &Folded) -> Vec<Explanation> {
        (0..self.topics.len())
            .filter_map(|i| self.explain_one(i, text))
            .collect()
    }

    fn explain_one(&self, i: usize, text: &Folded) -> Option<Explanation> {
        let topic = &self.topics[i];
        if topic.none.iter().any(|w| text.find(w).is_some()) {
            return None;
        }
        let mut matched = Vec::new();
        for w in &topic.all {
            matched.push((w.clone(), text.find(w)?));
        }
        let any: Vec<_> = topic
            .any
            .iter()
            .filter_map(|w| text.find(w).map(|f| (w.clone(), f)))
            .collect();
        if !topic.any.is_empty() && any.is_empty() {
            return None;
        }
        matched.extend(any);
        Some(Explanation { topic: i, matched })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(any: &[&str], all: &[&str], none: &[&str]) -> Topic {
        let words = |w: &[&str]| w.iter().map(|s| fold(s)).collect();
        Topic {
            id: "t".into(),
            title: "T".into(),
            description: None,
            any: words(any),
            all: words(all),
            none: words(none),
        }
    }

    #[test]
    fn any_all_none_combine_as_documented() {
        let topics = [
            topic(&["ＳＭＳ", "偽メール"], &[], &[]),
            topic(&[], &["宅配便", "sms"], &[]),
            topic(&["sms"], &[], &["国税庁"]),
        ];
        let c = Classifier::new(&topics);
        let sms = Folded::new("宅配便業者をかたる偽SMS", None);
        assert_eq!(c.topics(&sms), vec![0, 1, 2]);
        let tax = Folded::new("国税庁をかたる偽sms", Some("宅配便"));
        assert_eq!(c.topics(&tax), vec![0, 1]);
        let other = Folded::new("暗号鍵管理", Some("ＳＭＳなし"));
        assert_eq!(c.topics(&other), vec![0, 2]);
        let why = c.explain(&other);
        assert_eq!(why[0].matched, vec![("sms".to_owned(), Field::Summary)]);
    }
}
