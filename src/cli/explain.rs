//! `kairan explain`: why a stored entry is in the topics it is in, and where it came from.

use super::status::open_state;
use super::{Out, print_stdout};
use kairan::Config;
use kairan::classify::{Field, Folded};
use kairan::model::Origin;
use std::fmt::Write;
use std::process::ExitCode;

pub fn explain(config: &Config, query: &str, out: &Out) -> ExitCode {
    let Some(store) = open_state(config, out) else {
        return ExitCode::from(1);
    };
    let found = match store.find(query) {
        Ok(f) => f,
        Err(e) => {
            out.error(&e.to_string(), &[]);
            return ExitCode::from(1);
        }
    };
    if found.is_empty() {
        out.error(
            &format!("no stored entry has the link or a title with \"{query}\""),
            &[],
        );
        return ExitCode::from(1);
    }
    let classifier = &config.classifier;
    let mut s = String::new();
    for (e, origins) in found {
        let _ = writeln!(
            s,
            "{}\n  link:      {}\n  id:        {}",
            e.title, e.link, e.id
        );
        let _ = writeln!(
            s,
            "  published: {}\n  updated:   {}",
            e.published.to_rfc3339(),
            e.updated.to_rfc3339()
        );
        let rows: Vec<String> = origins.iter().map(Origin::to_string).collect();
        let merged = if rows.len() > 1 {
            " (merged as one entry)"
        } else {
            ""
        };
        let _ = writeln!(s, "  read from: {}{merged}", rows.join(", "));
        let why = classifier.explain(&Folded::new(&e.title, e.summary.as_deref()));
        if why.is_empty() {
            s.push_str("  topics:    none: no topic's words occur in its title or summary\n");
        }
        for w in why {
            let topic = &config.topics[w.topic];
            let words: Vec<String> = w
                .matched
                .iter()
                .map(|(word, field)| {
                    let field = match field {
                        Field::Title => "title",
                        Field::Summary => "summary",
                    };
                    format!("\"{word}\" in the {field}")
                })
                .collect();
            let _ = writeln!(
                s,
                "  topic {} ({}): {}",
                topic.id,
                topic.title,
                words.join(", ")
            );
        }
        s.push('\n');
    }
    print_stdout(&s);
    ExitCode::SUCCESS
}
