//! The output in an S3-compatible bucket: every file an object with its type, Cache-Control and
//! hash; nothing uploaded when nothing changed, and no listing; a removed topic's objects
//! deleted; 500s retried, and what could not go up named and sent at the next run.

use super::*;
use crate::common::pg::Postgres;
use crate::common::proxy::Proxy;
use crate::common::s3::S3;

const PREFIX: &str = "kairan/";

/// A workspace publishing to `s3://feeds/kairan/` through `proxy`, its state in a file.
fn bucket_workspace(name: &str, s3: &S3, proxy: &Proxy, upstream: &Server) -> Workspace {
    let mut ws = Workspace::new(name);
    ws.out_url = Some(format!("s3://{}/{PREFIX}", crate::common::s3::BUCKET));
    ws.env = s3.env(proxy.port);
    ws.config(&dated_config(&upstream.url(PAGE)));
    ws
}

fn puts(proxy: &Proxy) -> Vec<String> {
    (proxy.seen().into_iter())
        .filter(|(method, _)| method == "PUT")
        .map(|(_, path)| path)
        .collect()
}

#[test]
fn postgres_and_a_bucket_publish_what_sqlite_and_a_directory_do_and_an_unchanged_run_sends_nothing()
{
    let (Some(s3), Some(pg)) = (S3::start(), Postgres::start()) else {
        return;
    };
    let proxy = Proxy::start(s3.port);
    let upstream = dated_upstream();
    let mut ws = bucket_workspace("s3-objects", &s3, &proxy, &upstream);
    ws.state_url = Some(pg.database("kairan"));
    assert_status(&ws.run(), 0);

    // The same files as SQLite and a directory get, byte for byte.
    let on_disk = Workspace::new("s3-objects-dir");
    on_disk.config(&dated_config(&upstream.url(PAGE)));
    assert_status(&on_disk.run(), 0);
    let objects = s3.objects(PREFIX);
    assert_eq!(objects, files_under(&on_disk.out()));
    assert!(objects.keys().any(|k| k.starts_with("feeds/archive/")));

    let (kind, cache, sha) = s3.headers("kairan/feeds/all.atom");
    assert_eq!(kind, "application/atom+xml; charset=utf-8");
    assert_eq!(cache, "public, max-age=3600");
    let digest = sha2_hex(&objects["feeds/all.atom"]);
    assert_eq!(sha, digest);
    assert_eq!(
        s3.headers("kairan/index.html").0,
        "text/html; charset=utf-8"
    );
    // An archive month before the newest keeps for a day.
    let months: Vec<&String> = objects
        .keys()
        .filter(|k| k.starts_with("feeds/archive/all/") && k.ends_with(".atom"))
        .collect();
    assert!(months.len() >= 2, "{months:?}");
    assert_eq!(
        s3.headers(&format!("{PREFIX}{}", months[0])).1,
        "public, max-age=86400"
    );

    // The site's pages went up after every feed they list.
    let order = puts(&proxy);
    let index = order
        .iter()
        .position(|p| p.ends_with("/index.html"))
        .unwrap();
    let last_feed = (order.iter())
        .rposition(|p| p.contains("/kairan/feeds/"))
        .unwrap();
    assert!(index > last_feed, "{order:?}");

    // Nothing changed: no request at all reaches the bucket (no upload, no listing).
    proxy.forget();
    assert_status(&ws.run(), 0);
    assert_eq!(proxy.seen(), Vec::<(String, String)>::new());

    // A new row: only what shows it is uploaded.
    upstream.route(PAGE, Reply::html(listing(&with_a_new_row())));
    assert_status(&ws.run(), 0);
    let uploaded = puts(&proxy);
    assert!(
        uploaded.iter().any(|p| p.ends_with("/feeds/sms.atom")),
        "{uploaded:?}"
    );
    assert!(
        !uploaded.iter().any(|p| p.ends_with("/feeds/warning.atom")),
        "{uploaded:?}"
    );
    let published = tempfile::tempdir().unwrap();
    for (key, bytes) in s3.objects(PREFIX) {
        let path = published.path().join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    validate_independently(published.path());
}

fn sha2_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_removed_topic_s_objects_are_deleted() {
    let Some(s3) = S3::start() else { return };
    let proxy = Proxy::start(s3.port);
    let upstream = dated_upstream();
    let ws = bucket_workspace("s3-removed", &s3, &proxy, &upstream);
    assert_status(&ws.run(), 0);
    assert!(s3.object("kairan/feeds/warning.atom").is_some());
    let text = dated_config(&upstream.url(PAGE));
    let without = &text[..text.rfind("[[topic]]").unwrap()];
    ws.config(without);
    assert_status(&ws.run(), 0);
    let left: Vec<String> = s3.objects(PREFIX).into_keys().collect();
    assert!(
        !left.iter().any(|k| k.contains("warning")),
        "the topic's objects stay: {left:?}"
    );
    assert!(left.contains(&"feeds/sms.atom".to_owned()));
}

#[test]
fn server_errors_for_a_while_are_retried_and_a_failed_upload_is_sent_next_time() {
    let Some(s3) = S3::start() else { return };
    let proxy = Proxy::start(s3.port);
    let upstream = dated_upstream();
    let ws = bucket_workspace("s3-500", &s3, &proxy, &upstream);

    // A few 500s: retried within the run.
    proxy.fail(3);
    let o = ws.run();
    assert_status(&o, 0);
    assert!(s3.object("kairan/feeds/all.atom").is_some());

    // 500 on every request: the run fails naming the keys; the last objects stay.
    let before = s3.objects(PREFIX);
    upstream.route(PAGE, Reply::html(listing(&with_a_new_row())));
    proxy.fail(usize::MAX);
    let o = ws.run();
    assert_status(&o, 1);
    assert_no_panic(&o);
    let err = stderr(&o);
    assert!(err.contains("s3://feeds/kairan/"), "{err}");
    // The archives go up first (the live feeds link to them): their keys are named.
    assert!(err.contains("could not be uploaded"), "{err}");
    assert!(
        err.contains("feeds/archive/all/2024-05.atom"),
        "names the keys: {err}"
    );
    assert!(err.contains("500 Internal Server Error"), "says why: {err}");
    assert_eq!(s3.objects(PREFIX), before, "what was there stays");

    // The store answers again: the next run uploads what could not go up.
    proxy.fail(0);
    assert_status(&ws.run(), 0);
    let sms = String::from_utf8(s3.object("kairan/feeds/sms.atom").unwrap()).unwrap();
    assert!(sms.contains("SMSの新しい手口"));
    let index = String::from_utf8(s3.object("kairan/index.html").unwrap()).unwrap();
    assert!(index.contains("SMSの新しい手口"));
}

#[test]
fn refused_credentials_or_an_unreachable_store_fail_the_run_with_the_bucket_named() {
    let Some(s3) = S3::start() else { return };
    let proxy = Proxy::start(s3.port);
    let upstream = dated_upstream();
    let mut ws = bucket_workspace("s3-403", &s3, &proxy, &upstream);
    for (k, v) in &mut ws.env {
        if k == "AWS_SECRET_ACCESS_KEY" {
            *v = "wrong".to_owned();
        }
    }
    let o = ws.run();
    assert_status(&o, 1);
    assert_no_panic(&o);
    assert!(stderr(&o).contains("s3://feeds/kairan/"), "{}", stderr(&o));
    assert!(s3.objects(PREFIX).is_empty());

    // A store that cannot be reached at all: the same, after the retries.
    let closed = crate::common::pg::free_port();
    ws.env = s3.env(closed);
    let o = ws.run();
    assert_status(&o, 1);
    assert_no_panic(&o);
    let err = stderr(&o);
    assert!(
        err.contains(&format!("s3://feeds/kairan/ at http://127.0.0.1:{closed}")),
        "{err}"
    );
    assert!(s3.objects(PREFIX).is_empty());
}
