//! `kairan check` on a configuration with `[[notify]]`: what a run would send now, worked out
//! against the state (which entries it already holds, which sources were read before), and
//! sent nowhere.

use kairan::Config;
use kairan::dedup::dedup;
use kairan::model::{ArticleDates, EntryKey, StoredEntry};
use kairan::pipeline::Inspection;
use kairan::store::Store;
use kairan::store::rules;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::fmt::Write;

/// One notification's would-be messages.
pub struct Preview {
    pub notify: String,
    pub kind: &'static str,
    /// The bodies of an HTTP notification's posts; an e-mail's subject, addresses and entries.
    pub payloads: Vec<Value>,
    /// Messages already in the outbox from earlier runs.
    pub waiting: usize,
}

/// What each notification would be sent for the entries inspected. `None` without a state:
/// the first run is an import and sends nothing.
pub fn preview(config: &Config, inspection: &Inspection) -> Result<Option<Vec<Preview>>, String> {
    if !config.state.may_exist() {
        return Ok(None);
    }
    let store = Store::open(&config.state).map_err(|e| e.to_string())?;
    let read = || -> kairan::store::Result<_> {
        let known: HashSet<EntryKey> = store.entries()?.into_iter().map(|e| e.key).collect();
        let read_before: HashSet<String> = (store.health()?.into_iter())
            .filter(|h| h.last_success.is_some())
            .map(|h| h.id)
            .collect();
        Ok((known, read_before, store.outbox()?))
    };
    let (known, read_before, outbox) = read().map_err(|e| e.to_string())?;
    // A database made but never refreshed: the first run imports as well.
    if read_before.is_empty() && known.is_empty() {
        return Ok(None);
    }
    let now = chrono::Utc::now().fixed_offset();
    let rows = inspection.rows.iter().map(|(e, _)| e.clone()).collect();
    let news: Vec<(StoredEntry, Vec<String>)> = (dedup(rows).0.into_iter())
        .filter(|e| !known.contains(&e.key))
        .filter(|e| e.origins.iter().any(|o| read_before.contains(&o.source)))
        .map(|e| {
            let first = rules::first(&e, &ArticleDates::default(), now);
            let topics = (config.classifier)
                .topics(&kairan::classify::Folded::new(
                    &e.title,
                    e.summary.as_deref(),
                ))
                .into_iter()
                .map(|t| config.topics[t].id.clone())
                .collect();
            let entry = StoredEntry {
                id: first.id,
                key: e.key,
                title: e.title,
                link: e.link,
                summary: e.summary,
                published: first.published,
                updated: first.updated,
                source: e.origins.first().map(|o| o.source.clone()),
                content: None,
                excerpt: None,
            };
            (entry, topics)
        })
        .collect();
    let previews = kairan::notify::would_send(&config.notifying(), &news);
    Ok(Some(
        (config.notify.iter().zip(previews))
            .map(|(n, (_, payloads))| Preview {
                notify: n.id.clone(),
                kind: n.kind.name(),
                payloads,
                waiting: outbox.iter().filter(|q| q.notify == n.id).count(),
            })
            .collect(),
    ))
}

pub fn to_text(previews: Option<&[Preview]>) -> String {
    let mut out = String::from("\nnotifications (what a run would send now; nothing is sent):\n");
    let Some(previews) = previews else {
        out.push_str("  no state yet: the first run imports the sources and sends nothing\n");
        return out;
    };
    for p in previews {
        let _ = write!(out, "  {} ({}): ", p.notify, p.kind);
        match (p.kind, p.payloads.first()) {
            (_, None) => out.push_str("nothing new\n"),
            ("email", Some(mail)) => {
                let _ = writeln!(
                    out,
                    "one e-mail, \"{}\"",
                    mail["subject"].as_str().unwrap_or("")
                );
                for e in mail["entries"].as_array().into_iter().flatten() {
                    let _ = writeln!(out, "    {} ({})", text(&e["title"]), text(&e["link"]));
                }
            }
            (_, Some(_)) => {
                let n = p.payloads.len();
                let _ = writeln!(out, "{n} {}", if n == 1 { "message" } else { "messages" });
                for body in &p.payloads {
                    let _ = writeln!(out, "    {body}");
                }
            }
        }
        if p.waiting > 0 {
            let _ = writeln!(out, "    and {} waiting from earlier runs", p.waiting);
        }
    }
    out
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

pub fn to_json(previews: Option<&[Preview]>) -> Value {
    let Some(previews) = previews else {
        return json!(null);
    };
    (previews.iter())
        .map(|p| {
            json!({
                "id": p.notify,
                "kind": p.kind,
                "payloads": p.payloads,
                "waiting": p.waiting,
            })
        })
        .collect()
}
