//! Entries → topics, by the rule words of the configuration. A word matches when it is a
//! substring of the folded (NFKC, lower-case) title or summary.
//!
//! All the words of all the topics go into one Aho-Corasick automaton, so an entry's text is
//! scanned once (title, then summary) whatever the number of topics and words.
//!
//! Two automata of the same words: a contiguous NFA, cheap to build, that a cron run's few new
//! entries are scanned with; and a DFA, slower to build but faster to scan, built once a run
//! has scanned [`DFA_AFTER`] entries (a first import, new rules applied to a whole state).

use crate::text::fold;
use aho_corasick::{AhoCorasick, AhoCorasickKind};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Entries scanned with the NFA before the DFA is built. On the shipped rules' 126 words the DFA
/// takes 1.3 ms to build against the NFA's 0.2 ms, and saves some 1.1 µs per entry scanned
/// (BENCHMARKS.md section 16): it pays for itself after about 1,200 entries, and a cron run
/// that finds a few new ones never builds it.
const DFA_AFTER: usize = 2_000;

/// A topic with its rule words already folded (NFKC, lower case) for matching; the
/// configuration compiles it from `[[topic]]`.
#[derive(Debug, Clone)]
pub struct Topic {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub any: Vec<String>,
    pub all: Vec<String>,
    pub none: Vec<String>,
}

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

/// A name for the rules of `topics` (their ids and words, and how text is compared).
fn fingerprint(topics: &[Topic]) -> String {
    let mut h = Sha256::new();
    // The version of `fold` and of the matching: bump it when either changes what matches.
    h.update(b"kairan topic rules 1");
    let mut field = |s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    for t in topics {
        field(&t.id);
        for list in [&t.any, &t.all, &t.none] {
            field(&list.len().to_string());
            list.iter().for_each(|w| field(w));
        }
    }
    crate::text::hex(&h.finalize())
}

/// A topic's rules as indices into the classifier's distinct words.
#[derive(Debug, Clone)]
struct Rules {
    any: Vec<usize>,
    all: Vec<usize>,
    none: Vec<usize>,
}

/// The rules of the configured topics, compiled once with the configuration.
#[derive(Debug)]
pub struct Classifier {
    words: Vec<String>,
    nfa: AhoCorasick,
    /// Built once [`DFA_AFTER`] entries were scanned.
    dfa: OnceLock<AhoCorasick>,
    scanned: AtomicUsize,
    rules: Vec<Rules>,
    fingerprint: String,
}

impl Clone for Classifier {
    fn clone(&self) -> Classifier {
        Classifier {
            words: self.words.clone(),
            nfa: self.nfa.clone(),
            dfa: self.dfa.clone(),
            scanned: AtomicUsize::new(self.scanned.load(Ordering::Relaxed)),
            rules: self.rules.clone(),
            fingerprint: self.fingerprint.clone(),
        }
    }
}

/// One automaton of `words`, of the kind asked for.
fn automaton(kind: AhoCorasickKind, words: &[String]) -> AhoCorasick {
    AhoCorasick::builder()
        .kind(Some(kind))
        .build(words)
        .expect("an automaton of the rule words")
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
}

impl Classifier {
    pub fn new(topics: &[Topic]) -> Self {
        let mut words = Vec::new();
        let mut index = HashMap::new();
        let mut ids = |list: &[String]| -> Vec<usize> {
            list.iter()
                .map(|w| {
                    *index.entry(w.clone()).or_insert_with(|| {
                        words.push(w.clone());
                        words.len() - 1
                    })
                })
                .collect()
        };
        let rules = topics
            .iter()
            .map(|t| Rules {
                any: ids(&t.any),
                all: ids(&t.all),
                none: ids(&t.none),
            })
            .collect();
        Classifier {
            nfa: automaton(AhoCorasickKind::ContiguousNFA, &words),
            dfa: OnceLock::new(),
            scanned: AtomicUsize::new(0),
            words,
            rules,
            fingerprint: fingerprint(topics),
        }
    }

    /// A name for these rules: topics stored by one set of rules stay valid exactly while
    /// this stays the same.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The automaton to scan the next text with: the DFA once it pays.
    fn automaton(&self) -> &AhoCorasick {
        if let Some(dfa) = self.dfa.get() {
            return dfa;
        }
        if self.scanned.fetch_add(1, Ordering::Relaxed) < DFA_AFTER {
            return &self.nfa;
        }
        (self.dfa).get_or_init(|| automaton(AhoCorasickKind::DFA, &self.words))
    }

    /// Where each distinct word was found, the title winning over the summary.
    fn scan(&self, text: &Folded) -> Vec<Option<Field>> {
        let mut found = vec![None; self.words.len()];
        let automaton = self.automaton();
        for (field, haystack) in [(Field::Summary, &text.summary), (Field::Title, &text.title)] {
            // Overlapping: one word may be inside another (偽セキュリティ警告, セキュリティ警告).
            for m in automaton.find_overlapping_iter(haystack.as_str()) {
                found[m.pattern().as_usize()] = Some(field);
            }
        }
        found
    }

    /// Indices (into the configured topics) of the topics the text belongs to.
    pub fn topics(&self, text: &Folded) -> Vec<usize> {
        let found = self.scan(text);
        (0..self.rules.len())
            .filter(|&i| self.matches(i, &found))
            .collect()
    }

    /// The matching topics with the words that put the text there.
    pub fn explain(&self, text: &Folded) -> Vec<Explanation> {
        let found = self.scan(text);
        let words = |list: &[usize]| -> Vec<(String, Field)> {
            list.iter()
                .filter_map(|&w| found[w].map(|f| (self.words[w].clone(), f)))
                .collect()
        };
        (0..self.rules.len())
            .filter(|&i| self.matches(i, &found))
            .map(|i| Explanation {
                topic: i,
                matched: [words(&self.rules[i].all), words(&self.rules[i].any)].concat(),
            })
            .collect()
    }

    /// No `none` word, every `all` word, and an `any` word if there are any.
    fn matches(&self, i: usize, found: &[Option<Field>]) -> bool {
        let rules = &self.rules[i];
        let seen = |w: &usize| found[*w].is_some();
        !rules.none.iter().any(seen)
            && rules.all.iter().all(seen)
            && (rules.any.is_empty() || rules.any.iter().any(seen))
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

    #[test]
    fn words_inside_other_words_and_in_both_fields_are_found() {
        let topics = [
            topic(&["偽セキュリティ警告"], &[], &[]),
            topic(&["セキュリティ警告"], &[], &[]),
            topic(&[], &["警告", "詐欺"], &[]),
        ];
        let c = Classifier::new(&topics);
        let text = Folded::new("偽セキュリティ警告に注意", Some("サポート詐欺の手口と警告"));
        let found = |c: &Classifier| {
            assert_eq!(c.topics(&text), vec![0, 1, 2]);
            let why = c.explain(&text);
            assert_eq!(
                why[2].matched,
                vec![
                    ("警告".to_owned(), Field::Title),
                    ("詐欺".to_owned(), Field::Summary)
                ]
            );
        };
        found(&c);
        assert!(c.dfa.get().is_none(), "a few texts are scanned by the NFA");
        // Past the texts the NFA scans, the DFA finds the same words, in a clone too.
        let other = Folded::new("国税庁", None);
        for _ in 0..DFA_AFTER {
            assert!(c.topics(&other).is_empty());
        }
        assert!(c.dfa.get().is_some());
        found(&c);
        found(&c.clone());
    }
}
