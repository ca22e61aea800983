//! A refresh's round trips paid by the thousand: new entries are held and written a thousand at
//! a time (their rows, topics and sources, one statement each), and what the state knows of
//! the listed entries is read a thousand keys at a time. On loopback a round trip costs about
//! as much as the statement; a cold run of 100,000 entries otherwise makes half a million.

use super::{Db, Fallible};
use crate::model::{ArticleDates, Entry, EntryKey};
use crate::store::rules::{First, Known, format_time, parse_time, topic_ids, topics_column};
use chrono::{DateTime, FixedOffset};
use std::collections::HashMap;

/// Entries, topics or keys handled by one statement.
pub(super) const AT_ONCE: usize = 1000;

/// New entries not yet written, as columns.
#[derive(Default)]
pub(super) struct NewEntries {
    key: Vec<String>,
    id: Vec<String>,
    title: Vec<String>,
    link: Vec<String>,
    summary: Vec<Option<String>>,
    source_date: Vec<Option<String>>,
    published: Vec<String>,
    updated: Vec<String>,
    updated_ts: Vec<i64>,
    last_seen: Vec<String>,
    topics: Vec<String>,
    /// entry_topics: (topic, updated_ts, key).
    member: (Vec<String>, Vec<i64>, Vec<String>),
    /// entry_sources: (key, source, position).
    row: (Vec<String>, Vec<String>, Vec<i64>),
}

impl NewEntries {
    pub(super) fn push(
        &mut self,
        e: &Entry,
        first: &First,
        topics: &[String],
        now: DateTime<FixedOffset>,
    ) {
        let key = e.key.0.clone();
        self.id.push(first.id.clone());
        self.title.push(e.title.clone());
        self.link.push(e.link.clone());
        self.summary.push(e.summary.clone());
        self.source_date.push(first.source_date.clone());
        self.published.push(format_time(first.published));
        self.updated.push(format_time(first.updated));
        self.updated_ts.push(first.updated.timestamp());
        self.last_seen.push(format_time(now));
        self.topics.push(topics_column(topics));
        for t in topics {
            self.member.0.push(t.clone());
            self.member.1.push(first.updated.timestamp());
            self.member.2.push(key.clone());
        }
        for o in &e.origins {
            self.row.0.push(key.clone());
            self.row.1.push(o.source.clone());
            self.row.2.push(o.position as i64);
        }
        self.key.push(key);
    }

    pub(super) fn len(&self) -> usize {
        self.key.len()
    }

    /// Writes every held entry, then holds none.
    pub(super) fn write(&mut self, db: &mut Db) -> Fallible<()> {
        if self.key.is_empty() {
            return Ok(());
        }
        db.execute(
            "INSERT INTO entries (key, id, title, link, summary, source_date, published, updated,
                 updated_ts, last_seen, topics)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                 $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[], $11::text[])",
            &[
                &self.key,
                &self.id,
                &self.title,
                &self.link,
                &self.summary,
                &self.source_date,
                &self.published,
                &self.updated,
                &self.updated_ts,
                &self.last_seen,
                &self.topics,
            ],
        )?;
        db.execute(
            "INSERT INTO entry_topics (topic, updated_ts, key)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])",
            &[&self.member.0, &self.member.1, &self.member.2],
        )?;
        db.execute(
            "INSERT INTO entry_sources (key, source, position)
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING",
            &[&self.row.0, &self.row.1, &self.row.2],
        )?;
        *self = NewEntries::default();
        Ok(())
    }
}

/// What the state knows of each of `keys` that it holds.
pub(super) fn known(db: &mut Db, keys: &[&EntryKey]) -> Fallible<HashMap<EntryKey, Known>> {
    let mut known = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(AT_ONCE) {
        let chunk: Vec<&str> = chunk.iter().map(|k| k.0.as_str()).collect();
        let rows = db.query(
            "SELECT e.key, e.title, e.link, e.summary, e.source_date, e.published, e.updated,
                 e.last_seen, e.topics, a.published, a.updated
             FROM entries e LEFT JOIN articles a ON a.key = e.key WHERE e.key = ANY($1)",
            &[&chunk],
        )?;
        let time = |t: Option<String>| t.map(|t| parse_time(&t));
        for r in rows {
            known.insert(
                EntryKey(r.try_get(0)?),
                Known {
                    title: r.try_get(1)?,
                    link: r.try_get(2)?,
                    summary: r.try_get(3)?,
                    source_date: r.try_get(4)?,
                    published: parse_time(r.try_get(5)?),
                    updated: parse_time(r.try_get(6)?),
                    last_seen: parse_time(r.try_get(7)?),
                    topics: topic_ids(r.try_get(8)?),
                    article: ArticleDates {
                        published: time(r.try_get(9)?),
                        updated: time(r.try_get(10)?),
                    },
                },
            );
        }
    }
    Ok(known)
}

/// The rows each of `keys` was read from, as (source, position) in that order.
pub(super) fn rows(
    db: &mut Db,
    keys: &[&EntryKey],
) -> Fallible<HashMap<EntryKey, Vec<(String, usize)>>> {
    let mut rows: HashMap<EntryKey, Vec<(String, usize)>> = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(AT_ONCE) {
        let chunk: Vec<&str> = chunk.iter().map(|k| k.0.as_str()).collect();
        for r in db.query(
            "SELECT key, source, position FROM entry_sources WHERE key = ANY($1)
             ORDER BY key, source, position",
            &[&chunk],
        )? {
            let position: i64 = r.try_get(2)?;
            (rows.entry(EntryKey(r.try_get(0)?)).or_default())
                .push((r.try_get(1)?, position as usize));
        }
    }
    Ok(rows)
}
