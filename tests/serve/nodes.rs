//! Several `serve` nodes on one PostgreSQL state and one bucket, as behind a load balancer:
//! the refresh runs on whichever holds the lock, and the others serve what it published, the
//! same bytes under the same ETags, within seconds.

use super::*;
use crate::common::pg::Postgres;
use crate::common::proxy::Proxy;
use crate::common::s3::S3;
use crate::scaleout::{PAGE, dated_config, dated_upstream, with_a_new_row};

fn node(name: &str, db: &str, s3: &S3, proxy: &Proxy) -> Workspace {
    let mut ws = Workspace::new(name);
    ws.state_url = Some(db.to_owned());
    ws.out_url = Some(format!("s3://{}/nodes/", crate::common::s3::BUCKET));
    ws.env = s3.env(proxy.port);
    ws
}

/// Waits, for at most ten seconds, until `served` answers `path` with a body containing
/// `text`.
fn wait_for(served: &Served, path: &str, text: &str) -> Response {
    for _ in 0..200 {
        let r = served.get(path, &[]);
        if r.status == 200 && r.text().contains(text) {
            return r;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "{path} did not show {text} within ten seconds:\n{}",
        served.log.lock().unwrap()
    );
}

#[test]
fn nodes_on_one_database_serve_the_same_feeds_after_one_refreshes() {
    let (Some(pg), Some(s3)) = (Postgres::start(), S3::start()) else {
        return;
    };
    let proxy = Proxy::start(s3.port);
    let upstream = dated_upstream();
    let db = pg.database("kairan");
    let a = node("nodes-a", &db, &s3, &proxy);
    let b = node("nodes-b", &db, &s3, &proxy);
    for ws in [&a, &b] {
        ws.config(&format!(
            "{}\n[serve]\ninterval = \"1h\"\n",
            dated_config(&upstream.url(PAGE))
        ));
    }
    let served_a = Served::start(&a);
    served_a.wait_for_refreshes(1);
    let served_b = Served::start(&b);
    wait_for(&served_b, "/feeds/sms.atom", "SMS");
    // B's own first refresh ends (it ran, or found A's lock) before the listing moves.
    for _ in 0..200 {
        let log = served_b.log.lock().unwrap().clone();
        if log.contains("refreshed in") || log.contains("another kairan refreshes") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    // Only A refreshes: B takes its publish from the state.
    upstream.route(PAGE, Reply::html(listing(&with_a_new_row())));
    served_a.signal("HUP");
    let from_a = wait_for(&served_a, "/feeds/sms.atom", "SMSの新しい手口");
    let from_b = wait_for(&served_b, "/feeds/sms.atom", "SMSの新しい手口");
    assert_eq!(from_a.body, from_b.body, "the same bytes");
    assert_eq!(
        from_a.header("etag"),
        from_b.header("etag"),
        "the same ETag"
    );
    for path in ["/feeds/all.json", "/index.html", "/feeds.opml"] {
        let (x, y) = (served_a.get(path, &[]), served_b.get(path, &[]));
        assert_eq!(x.body, y.body, "{path}");
        assert_eq!(x.header("etag"), y.header("etag"), "{path}");
    }
    let health = served_b.get("/healthz", &[]).text();
    assert!(
        health.contains(&format!("pid {} on host", served_a.child.id())),
        "/healthz names the node that published: {health}"
    );
    let log = served_b.log.lock().unwrap().clone();
    assert!(
        log.contains(&format!(
            "took the feeds published by pid {}",
            served_a.child.id()
        )),
        "{log}"
    );
    // What the CDN serves is that publish too.
    let object = String::from_utf8(s3.object("nodes/feeds/sms.atom").unwrap()).unwrap();
    assert_eq!(object.as_bytes(), &from_a.body[..]);
}
