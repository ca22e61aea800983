//! A refresh's rows, when there are too many to hold, kept in a temporary file and read back
//! in key order, so that memory stays bounded however many listings a run reads: an external
//! merge sort. [`super::Rows`] holds rows up to its limit, then they are sorted and written
//! here as one run; read back, the runs are merged, a few kilobytes of each in memory at once.
//!
//! Each row is written once and read once. (Until section 16 of BENCHMARKS.md the rows went
//! into a table of SQLite's temporary database and were sorted by `ORDER BY` as they were
//! read: written twice, the table then the sorter's runs, and the store waited for the whole
//! sort before its first row. Writing files is what costs here: the kernel's copy of the
//! pages was a tenth of the reading threads' time at a million rows.)
//!
//! The file is unnamed (`O_TMPFILE`, under `TMPDIR`): the system removes it when it is
//! closed, even by a kill. Nobody else ever sees it, so nothing is synced.

use crate::model::{Entry, EntryKey, Origin};
use chrono::{DateTime, FixedOffset};
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

/// Rows read ahead of the store.
const PAGE: usize = 1000;
/// Bytes of a run read at once: at a million rows some two hundred runs are read side by side.
const CHUNK: usize = 32 * 1024;
/// Bytes of a run encoded before they are written.
const WRITE: usize = 256 * 1024;

/// What a failure names: where the rows are.
pub const WHAT: &str = "this run's rows, held in a temporary file (under TMPDIR)";

/// The spilled rows could not be written or read. Shared, so that every later read of the
/// rows reports the same failure.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {}", WHAT, .0)]
pub struct SpillError(pub Arc<dyn std::error::Error + Send + Sync>);

impl From<io::Error> for SpillError {
    fn from(e: io::Error) -> SpillError {
        SpillError(Arc::new(e))
    }
}

/// A row read back is not what was written: the file was damaged under us.
fn damaged() -> SpillError {
    io::Error::new(io::ErrorKind::InvalidData, "a row read back is damaged").into()
}

pub(super) struct Spill {
    /// Shared with the thread that reads the rows back ([`Spill::read`]).
    file: Arc<File>,
    /// Each run's bytes in the file, in the order the runs were written.
    runs: Vec<Range<u64>>,
}

impl Spill {
    pub(super) fn new() -> Result<Spill, SpillError> {
        Ok(Spill {
            file: Arc::new(tempfile::tempfile()?),
            runs: Vec::new(),
        })
    }

    /// Writes `rows` as one run, sorted by key (stable: equal keys in the order they came).
    pub(super) fn add(&mut self, mut rows: Vec<Entry>) -> Result<(), SpillError> {
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        let start = self.runs.last().map_or(0, |r| r.end);
        let mut end = start;
        let mut bytes = Vec::with_capacity(WRITE * 2);
        for (i, e) in rows.iter().enumerate() {
            encode(e, &mut bytes);
            if bytes.len() >= WRITE || i + 1 == rows.len() {
                self.file.write_all_at(&bytes, end)?;
                end += bytes.len() as u64;
                bytes.clear();
            }
        }
        self.runs.push(start..end);
        Ok(())
    }

    /// Every row written, in key order, then in the order they came (the earlier run first):
    /// the runs merged on a thread of its own, a page ahead of the store that takes them, on
    /// the other core.
    pub(super) fn read(&self) -> Reader {
        let (send, receive) = std::sync::mpsc::sync_channel::<Sent>(PAGE);
        let file = self.file.clone();
        let runs = self.runs.clone();
        std::thread::spawn(move || {
            let read = || -> Result<(), SpillError> {
                let mut runs: Vec<Run<'_>> = (runs.into_iter())
                    .map(|bytes| Run {
                        file: &file,
                        left: bytes,
                        buf: Vec::new(),
                        at: 0,
                    })
                    .collect();
                let mut heads = BinaryHeap::with_capacity(runs.len());
                for (run, r) in runs.iter_mut().enumerate() {
                    if let Some(entry) = r.next()? {
                        heads.push(Reverse(Head { entry, run }));
                    }
                }
                while let Some(Reverse(Head { entry, run })) = heads.pop() {
                    if send.send(Sent::Row(entry)).is_err() {
                        // The rows are no longer wanted.
                        return Ok(());
                    }
                    if let Some(next) = runs[run].next()? {
                        heads.push(Reverse(Head { entry: next, run }));
                    }
                }
                let _ = send.send(Sent::End);
                Ok(())
            };
            if let Err(e) = read() {
                let _ = send.send(Sent::Failed(e));
            }
        });
        Reader {
            rows: receive,
            done: false,
        }
    }
}

/// A run's next row, ordered by key and then by run, so that equal keys come in the order
/// they were written.
struct Head {
    entry: Entry,
    run: usize,
}

impl Ord for Head {
    fn cmp(&self, other: &Head) -> Ordering {
        (&self.entry.key, self.run).cmp(&(&other.entry.key, other.run))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Head) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Head) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

/// One run as it is read back: a chunk of it in memory at a time.
struct Run<'a> {
    file: &'a File,
    /// The run's bytes not yet read from the file.
    left: Range<u64>,
    buf: Vec<u8>,
    /// Where the next row begins in `buf`.
    at: usize,
}

impl Run<'_> {
    fn next(&mut self) -> Result<Option<Entry>, SpillError> {
        if self.at == self.buf.len() && self.left.is_empty() {
            return Ok(None);
        }
        if !self.fill(4)? {
            return Err(damaged());
        }
        let len = u32::from_le_bytes(self.buf[self.at..self.at + 4].try_into().expect("4 bytes"));
        let len = 4 + len as usize;
        if !self.fill(len)? {
            return Err(damaged());
        }
        let entry = decode(&self.buf[self.at + 4..self.at + len])?;
        self.at += len;
        Ok(Some(entry))
    }

    /// Makes `n` bytes from `at` ready in `buf`; false if the run ends before.
    fn fill(&mut self, n: usize) -> io::Result<bool> {
        while self.buf.len() - self.at < n {
            if self.left.is_empty() {
                return Ok(false);
            }
            self.buf.drain(..self.at);
            self.at = 0;
            let want = (self.left.end - self.left.start).min(CHUNK.max(n) as u64) as usize;
            let have = self.buf.len();
            self.buf.resize(have + want, 0);
            self.file
                .read_exact_at(&mut self.buf[have..], self.left.start)?;
            self.left.start += want as u64;
        }
        Ok(true)
    }
}

// A row's bytes: its length, then each field. Text is a length and UTF-8; a date is its instant
// and its offset, so that it comes back written as it was.

fn encode(e: &Entry, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    text(out, &e.key.0);
    text(out, &e.title);
    text(out, &e.link);
    match &e.summary {
        Some(s) => {
            out.push(1);
            text(out, s);
        }
        None => out.push(0),
    }
    date(out, e.published);
    date(out, e.updated);
    out.extend_from_slice(&length(e.origins.len()).to_le_bytes());
    for o in &e.origins {
        text(out, &o.source);
        out.extend_from_slice(&(o.position as u64).to_le_bytes());
    }
    let len = length(out.len() - start - 4);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

/// A length as written: a row is bounded by the size of the page it came from, far below 4 GiB.
fn length(n: usize) -> u32 {
    u32::try_from(n).expect("a row's length fits in 32 bits")
}

fn text(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&length(s.len()).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn date(out: &mut Vec<u8>, d: Option<DateTime<FixedOffset>>) {
    match d {
        Some(d) => {
            out.push(1);
            out.extend_from_slice(&d.timestamp().to_le_bytes());
            out.extend_from_slice(&d.timestamp_subsec_nanos().to_le_bytes());
            out.extend_from_slice(&d.offset().local_minus_utc().to_le_bytes());
        }
        None => out.push(0),
    }
}

fn decode(row: &[u8]) -> Result<Entry, SpillError> {
    let mut r = Fields(row);
    let entry = Entry {
        key: EntryKey(r.text()?),
        title: r.text()?,
        link: r.text()?,
        summary: if r.flag()? { Some(r.text()?) } else { None },
        published: r.date()?,
        updated: r.date()?,
        origins: (0..r.u32()?)
            .map(|_| {
                Ok(Origin {
                    source: r.text()?,
                    position: usize::try_from(r.u64()?).map_err(|_| damaged())?,
                })
            })
            .collect::<Result<_, SpillError>>()?,
    };
    if !r.0.is_empty() {
        return Err(damaged());
    }
    Ok(entry)
}

/// The fields of a row read back, in the order [`encode`] wrote them.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], SpillError> {
        let (bytes, rest) = self.0.split_first_chunk::<N>().ok_or_else(damaged)?;
        self.0 = rest;
        Ok(*bytes)
    }

    fn flag(&mut self) -> Result<bool, SpillError> {
        match self.take::<1>()? {
            [0] => Ok(false),
            [1] => Ok(true),
            _ => Err(damaged()),
        }
    }

    fn u32(&mut self) -> Result<u32, SpillError> {
        self.take().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, SpillError> {
        self.take().map(u64::from_le_bytes)
    }

    fn text(&mut self) -> Result<String, SpillError> {
        let n = self.u32()? as usize;
        if self.0.len() < n {
            return Err(damaged());
        }
        let (bytes, rest) = self.0.split_at(n);
        self.0 = rest;
        String::from_utf8(bytes.to_vec()).map_err(|_| damaged())
    }

    fn date(&mut self) -> Result<Option<DateTime<FixedOffset>>, SpillError> {
        if !self.flag()? {
            return Ok(None);
        }
        let seconds = i64::from_le_bytes(self.take()?);
        let nanos = u32::from_le_bytes(self.take()?);
        let offset = i32::from_le_bytes(self.take()?);
        let date = DateTime::from_timestamp(seconds, nanos).ok_or_else(damaged)?;
        let offset = FixedOffset::east_opt(offset).ok_or_else(damaged)?;
        Ok(Some(date.with_timezone(&offset)))
    }
}

/// What [`Spill::read`]'s thread sends: the end is said, so that a thread that stopped
/// otherwise (a panic) is never taken for the end of the rows.
enum Sent {
    Row(Entry),
    End,
    Failed(SpillError),
}

/// The rows as [`Spill::read`]'s thread sends them; dropped, it stops that thread.
pub(super) struct Reader {
    rows: Receiver<Sent>,
    done: bool,
}

impl Iterator for Reader {
    type Item = Result<Entry, SpillError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.rows.recv() {
            Ok(Sent::Row(entry)) => Some(Ok(entry)),
            Ok(Sent::End) => {
                self.done = true;
                None
            }
            Ok(Sent::Failed(e)) => {
                self.done = true;
                Some(Err(e))
            }
            Err(_) => {
                self.done = true;
                let stopped: Box<dyn std::error::Error + Send + Sync> =
                    "the thread reading them back stopped before their end".into();
                Some(Err(SpillError(Arc::from(stopped))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, summary: Option<&str>, offset: i32) -> Entry {
        let tz = FixedOffset::east_opt(offset).unwrap();
        let date = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        Entry {
            key: EntryKey(key.into()),
            title: format!("{key}の注意喚起"),
            link: format!("https://www.ipa.go.jp/{key}.html"),
            summary: summary.map(str::to_owned),
            published: Some(date.with_timezone(&tz)),
            updated: None,
            origins: vec![Origin {
                source: "anshin".into(),
                position: 7,
            }],
        }
    }

    #[test]
    fn rows_come_back_merged_from_runs_field_for_field() {
        let mut spill = Spill::new().unwrap();
        spill
            .add(vec![
                row("c", Some("三行\n目"), 9 * 3600),
                row("a", None, 0),
            ])
            .unwrap();
        spill.add(vec![]).unwrap();
        spill
            .add(vec![row("b", Some(""), -5 * 3600), row("a", Some("2"), 1)])
            .unwrap();
        let read: Vec<Entry> = spill.read().map(Result::unwrap).collect();
        let expected = [
            row("a", None, 0),
            row("a", Some("2"), 1),
            row("b", Some(""), -5 * 3600),
            row("c", Some("三行\n目"), 9 * 3600),
        ];
        assert_eq!(read, expected);
        assert_eq!(
            read[3].published.unwrap().offset().local_minus_utc(),
            9 * 3600
        );
        // Read again, as a refresh does (its articles' plan, then the store).
        assert_eq!(spill.read().count(), 4);
    }

    #[test]
    fn a_damaged_run_is_an_error_not_a_panic() {
        let mut spill = Spill::new().unwrap();
        let rows: Vec<Entry> = (0..400)
            .map(|i| row(&format!("k{i:03}"), None, 0))
            .collect();
        spill.add(rows).unwrap();
        let mut length = [0; 4];
        spill.file.read_exact_at(&mut length, 0).unwrap();
        // A row's length that runs past the end of the file.
        spill.file.write_all_at(&u32::MAX.to_le_bytes(), 0).unwrap();
        let read: Vec<_> = spill.read().collect();
        assert_eq!(read.len(), 1);
        let err = read[0].as_ref().unwrap_err().to_string();
        assert!(err.starts_with(WHAT) && err.contains("damaged"), "{err}");
        // A run cut short: every row but the last comes back, then the error.
        spill.file.write_all_at(&length, 0).unwrap();
        spill.runs[0].end -= 3;
        let read: Vec<_> = spill.read().collect();
        assert_eq!(read.len(), 400);
        assert!(read[..399].iter().all(Result::is_ok));
        assert!(read[399].is_err());
    }
}
