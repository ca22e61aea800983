//! Counters for `/metrics`, in the Prometheus text format, every name prefixed `kairan_`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Statuses counted one by one; anything else is counted as `other`.
const STATUSES: [u16; 9] = [200, 204, 304, 400, 404, 405, 414, 500, 503];

#[derive(Default)]
pub struct Metrics {
    /// Per entry of [`STATUSES`], then `other`: atomics, as every request touches them.
    requests: [AtomicU64; STATUSES.len() + 1],
    refresh: Mutex<Refreshes>,
}

#[derive(Default)]
struct Refreshes {
    ok: u64,
    failed: u64,
    seconds_sum: f64,
    last_seconds: f64,
    fetch_errors: BTreeMap<String, u64>,
    topic_entries: Vec<(String, usize)>,
    notifications_sent: BTreeMap<String, u64>,
    notification_failures: BTreeMap<String, u64>,
    notifications_queued: BTreeMap<String, u64>,
}

impl Metrics {
    pub fn served(&self, status: u16) {
        let i = STATUSES
            .iter()
            .position(|&s| s == status)
            .unwrap_or(STATUSES.len());
        self.requests[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Records one refresh: whether it published, how long it took, which sources failed, and
    /// (when it published) the entries per topic.
    pub fn refreshed(
        &self,
        ok: bool,
        took: Duration,
        failed_sources: &[&str],
        topic_entries: Option<Vec<(String, usize)>>,
    ) {
        let mut r = self.refresh.lock().unwrap_or_else(|e| e.into_inner());
        if ok {
            r.ok += 1;
        } else {
            r.failed += 1;
        }
        r.seconds_sum += took.as_secs_f64();
        r.last_seconds = took.as_secs_f64();
        for s in failed_sources {
            *r.fetch_errors.entry((*s).to_owned()).or_default() += 1;
        }
        if let Some(t) = topic_entries {
            r.topic_entries = t;
        }
    }

    /// Records a refresh's deliveries to the notifications' receivers.
    pub fn notified(&self, delivery: &crate::notify::Delivery) {
        let mut r = self.refresh.lock().unwrap_or_else(|e| e.into_inner());
        for (notify, n) in &delivery.sent {
            *r.notifications_sent.entry(notify.clone()).or_default() += *n as u64;
        }
        for f in &delivery.failures {
            *r.notification_failures.entry(f.notify.clone()).or_default() += 1;
        }
        r.notifications_queued = (delivery.waiting.iter())
            .map(|(notify, h)| (notify.clone(), h.queued as u64))
            .collect();
    }

    /// The text `/metrics` answers with; `sources` and `notify` are the configured source and
    /// notification ids, so that each has a (possibly zero) count.
    pub fn render(&self, sources: &[String], notify: &[String]) -> String {
        let r = self.refresh.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        family(
            &mut out,
            "refreshes_total",
            "counter",
            "Refreshes run, by result.",
        );
        let _ = writeln!(out, "kairan_refreshes_total{{result=\"ok\"}} {}", r.ok);
        let _ = writeln!(
            out,
            "kairan_refreshes_total{{result=\"failed\"}} {}",
            r.failed
        );
        family(
            &mut out,
            "refresh_duration_seconds",
            "summary",
            "Time the refreshes took.",
        );
        let _ = writeln!(out, "kairan_refresh_duration_seconds_sum {}", r.seconds_sum);
        let _ = writeln!(
            out,
            "kairan_refresh_duration_seconds_count {}",
            r.ok + r.failed
        );
        family(
            &mut out,
            "last_refresh_duration_seconds",
            "gauge",
            "Time the last refresh took.",
        );
        let _ = writeln!(
            out,
            "kairan_last_refresh_duration_seconds {}",
            r.last_seconds
        );
        family(
            &mut out,
            "fetch_errors_total",
            "counter",
            "Refreshes in which a source could not be read, by source.",
        );
        for s in sources {
            let n = r.fetch_errors.get(s).copied().unwrap_or(0);
            let _ = writeln!(out, "kairan_fetch_errors_total{{source=\"{s}\"}} {n}");
        }
        family(
            &mut out,
            "topic_entries",
            "gauge",
            "Stored entries per topic (all: every entry).",
        );
        for (topic, n) in &r.topic_entries {
            let _ = writeln!(out, "kairan_topic_entries{{topic=\"{topic}\"}} {n}");
        }
        let families = [
            (
                "notifications_sent_total",
                "counter",
                "Messages the receivers accepted, by notification.",
                &r.notifications_sent,
            ),
            (
                "notification_failures_total",
                "counter",
                "Deliveries that failed, by notification.",
                &r.notification_failures,
            ),
            (
                "notifications_queued",
                "gauge",
                "Messages waiting in the outbox after the last refresh, by notification.",
                &r.notifications_queued,
            ),
        ];
        for (name, kind, help, counts) in families {
            family(&mut out, name, kind, help);
            for n in notify {
                let count = counts.get(n).copied().unwrap_or(0);
                let _ = writeln!(out, "kairan_{name}{{notify=\"{n}\"}} {count}");
            }
        }
        family(
            &mut out,
            "http_requests_total",
            "counter",
            "HTTP requests answered, by status.",
        );
        for (i, counter) in self.requests.iter().enumerate() {
            let status = STATUSES
                .get(i)
                .map_or_else(|| "other".to_owned(), u16::to_string);
            let n = counter.load(Ordering::Relaxed);
            let _ = writeln!(out, "kairan_http_requests_total{{status=\"{status}\"}} {n}");
        }
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(
        out,
        "# HELP kairan_{name} {help}\n# TYPE kairan_{name} {kind}"
    );
}
