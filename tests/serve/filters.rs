//! Feeds narrowed by a reader's query on `serve`: `?q=`, `exclude=`, `limit=` on the Atom and
//! JSON feeds and the embeds, folded as topic rules are; each variant with its own ETag and
//! 304; anything else in the query a 400 that says why.

use super::{Served, seed_upstream};
use crate::common::*;
use kairan::text::fold;

fn entries(served: &Served, path: &str) -> Vec<feed_rs::model::Entry> {
    let r = served.get(path, &[]);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    feed_rs::parser::parse(&r.body[..])
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .entries
}

fn text_of(e: &feed_rs::model::Entry) -> String {
    let title = e.title.as_ref().map_or("", |t| t.content.as_str());
    let summary = e.summary.as_ref().map_or("", |t| t.content.as_str());
    fold(&format!("{title}\n{summary}"))
}

#[test]
fn queries_narrow_feeds_and_embeds_with_their_own_etags() {
    let upstream = seed_upstream();
    let ws = Workspace::new("serve-filters");
    ws.shipped_config(&upstream);
    let served = Served::start(&ws);
    served.wait_for_refreshes(1);

    let all = entries(&served, "/feeds/all.atom");
    let sms = entries(&served, "/feeds/all.atom?q=sms");
    assert!(
        !sms.is_empty() && sms.len() < all.len(),
        "{} of {}",
        sms.len(),
        all.len()
    );
    assert!(sms.iter().all(|e| text_of(e).contains("sms")));
    // Full-width and half-width are one word, as in topic rules.
    let wide = entries(&served, "/feeds/all.atom?q=%EF%BC%B3%EF%BC%AD%EF%BC%B3");
    let ids = |es: &[feed_rs::model::Entry]| es.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&wide), ids(&sms));
    let narrowed = entries(&served, "/feeds/all.atom?q=sms&exclude=%E5%AE%85%E9%85%8D");
    assert!(narrowed.len() < sms.len(), "exclude=宅配 drops some");
    assert!(narrowed.iter().all(|e| !text_of(e).contains("宅配")));
    let two_words = entries(&served, "/feeds/all.atom?q=sms&q=%E5%AE%85%E9%85%8D");
    assert!(
        two_words
            .iter()
            .all(|e| text_of(e).contains("sms") && text_of(e).contains("宅配"))
    );
    assert_eq!(
        two_words.len() + narrowed.len(),
        sms.len(),
        "q words must all occur"
    );

    // The variant names itself in its own links.
    let atom = served.get("/feeds/all.atom?limit=3&q=sms", &[]).text();
    assert!(
        atom.contains("feeds/all.atom?limit=3&amp;q=sms\""),
        "{atom}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&served.get("/feeds/all.json?limit=3", &[]).body).unwrap();
    assert_eq!(json["items"].as_array().unwrap().len(), 3);
    assert!(
        json["feed_url"]
            .as_str()
            .unwrap()
            .ends_with("feeds/all.json?limit=3")
    );
    let embed = served.get("/embed/all.html?q=sms&limit=2", &[]);
    assert_eq!(embed.status, 200);
    assert_eq!(embed.text().matches("<li>").count(), 2, "{}", embed.text());

    // Each variant has its own ETag, and answers If-None-Match.
    let first = served.get("/feeds/all.atom?q=sms", &[]);
    let again = served.get("/feeds/all.atom?q=sms", &[]);
    assert_eq!(first.body, again.body);
    let tag = first.header("etag").to_owned();
    assert!(!tag.is_empty());
    assert_ne!(tag, served.get("/feeds/all.atom", &[]).header("etag"));
    assert_ne!(
        tag,
        served
            .get("/feeds/all.atom?q=sms&limit=1", &[])
            .header("etag")
    );
    let cached = served.get("/feeds/all.atom?q=sms", &[("If-None-Match", &tag)]);
    assert_eq!(cached.status, 304);

    for (query, says) in [
        ("utm_source=x", "unknown parameter \"utm_source\""),
        ("limit=0", "limit must be a number from 1 to 100"),
        ("limit=abc", "limit must be"),
        ("q=", "q needs a word"),
    ] {
        let r = served.get(&format!("/feeds/all.json?{query}"), &[]);
        assert_eq!(r.status, 400, "{query}");
        assert!(r.text().contains(says), "{query}: {}", r.text());
    }
    let long = format!("/feeds/all.atom?q={}", "a".repeat(200));
    assert!(served.get(&long, &[]).text().contains("at most 200"));
    // Other files ignore a query; an unknown feed is still 404.
    assert_eq!(served.get("/index.html?from=portal", &[]).status, 200);
    assert_eq!(served.get("/feeds/nothing.atom?q=sms", &[]).status, 404);
}
