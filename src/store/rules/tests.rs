use super::*;

fn at(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

const NOW: &str = "2026-11-25T10:00:00+09:00";

/// No article read.
const NONE: ArticleDates = ArticleDates {
    published: None,
    updated: None,
};

fn entry() -> Entry {
    Entry {
        key: EntryKey("https://www.ipa.go.jp/a.html".into()),
        title: "偽のセキュリティ警告に注意".into(),
        link: "https://www.ipa.go.jp/a.html".into(),
        summary: Some("サポート詐欺の手口".into()),
        published: Some(at("2023-09-12T00:00:00+09:00")),
        updated: Some(at("2023-09-12T00:00:00+09:00")),
        origins: vec![Origin {
            source: "anshin".into(),
            position: 3,
        }],
    }
}

/// What the state knows after storing `e` at `seen`.
fn known(e: &Entry, seen: &str) -> Known {
    let f = first(e, &NONE, at(seen));
    Known {
        title: e.title.clone(),
        link: e.link.clone(),
        summary: e.summary.clone(),
        source_date: f.source_date,
        published: f.published,
        updated: f.updated,
        last_seen: at(seen),
        topics: vec!["scam".into()],
        article: NONE,
    }
}

fn never(_: &Entry) -> Vec<String> {
    panic!("topics were not to be asked for")
}

#[test]
fn a_first_sighting_without_dates_is_dated_by_the_refresh() {
    let mut e = entry();
    let f = first(&e, &NONE, at(NOW));
    assert_eq!(f.published, at("2023-09-12T00:00:00+09:00"));
    assert_eq!(f.source_date.as_deref(), Some("2023-09-12T00:00:00+09:00"));
    e.published = None;
    e.updated = None;
    let f = first(&e, &NONE, at(NOW));
    assert_eq!(
        (f.published, f.updated, f.source_date),
        (at(NOW), at(NOW), None)
    );
    assert_eq!(f.id, entry_id(&e.key));
}

#[test]
fn the_same_entry_again_changes_nothing() {
    let e = entry();
    let r = revise(&known(&e, NOW), &e, &NONE, at(NOW), never);
    assert!(!r.changed && !r.topics_moved);
    assert_eq!(r.write, Write::Nothing);
    assert_eq!(r.topics, ["scam"]);
}

#[test]
fn a_changed_title_is_an_update_dated_by_the_refresh_and_reclassified() {
    let e = entry();
    let k = known(&e, "2026-11-24T10:00:00+09:00");
    let mut edited = e.clone();
    edited.title = "偽のセキュリティ警告に注意（更新）".into();
    let r = revise(&k, &edited, &NONE, at(NOW), |_| {
        vec!["scam".into(), "support".into()]
    });
    assert!(r.changed);
    assert_eq!(r.write, Write::Row);
    // The listing date did not move, so the change is dated by this refresh.
    assert_eq!(r.updated, at(NOW));
    assert_eq!(r.published, k.published);
    assert_eq!(r.topics, ["scam", "support"]);
    assert!(r.topics_moved);
}

#[test]
fn a_later_listing_date_is_the_new_updated() {
    let e = entry();
    let k = known(&e, NOW);
    let mut relisted = e.clone();
    relisted.updated = Some(at("2024-01-05T00:00:00+09:00"));
    let r = revise(&k, &relisted, &NONE, at(NOW), never);
    assert!(r.changed);
    assert_eq!(r.updated, at("2024-01-05T00:00:00+09:00"));
    assert_eq!(r.source_date.as_deref(), Some("2024-01-05T00:00:00+09:00"));
    // Same title and summary: topics kept, but their order key moved.
    assert_eq!(r.topics, ["scam"]);
    assert!(r.topics_moved);
}

#[test]
fn an_earlier_witness_date_moves_published_back_without_an_update() {
    let e = entry();
    let k = known(&e, NOW);
    let mut witnessed = e.clone();
    witnessed.published = Some(at("2021-03-09T00:00:00+09:00"));
    let r = revise(&k, &witnessed, &NONE, at(NOW), never);
    assert!(!r.changed);
    assert_eq!(r.published, at("2021-03-09T00:00:00+09:00"));
    assert_eq!(r.updated, k.updated);
    assert_eq!(r.write, Write::Row);
    assert!(!r.topics_moved);
    // A later date never moves published forward.
    witnessed.published = Some(at("2025-01-01T00:00:00+09:00"));
    assert_eq!(
        revise(&k, &witnessed, &NONE, at(NOW), never).published,
        k.published
    );
}

#[test]
fn a_repeat_with_a_longer_summary_is_an_update_and_reclassified() {
    let e = entry();
    let k = known(&e, NOW);
    let mut longer = e.clone();
    longer.summary = Some("サポート詐欺の手口と、偽の警告画面が出たときの対処".into());
    let mut asked = false;
    let r = revise(&k, &longer, &NONE, at("2026-11-25T11:00:00+09:00"), |_| {
        asked = true;
        vec!["scam".into()]
    });
    assert!(asked && r.changed);
    assert_eq!(r.updated, at("2026-11-25T11:00:00+09:00"));
    assert!(
        r.topics_moved,
        "updated moved, so the topic order key moves"
    );
}

#[test]
fn a_changed_link_or_date_alone_does_not_reclassify() {
    let e = entry();
    let k = known(&e, NOW);
    let mut moved = e.clone();
    moved.link = "https://www.ipa.go.jp/b.html".into();
    let r = revise(&k, &moved, &NONE, at(NOW), never);
    assert!(r.changed);
    assert_eq!(r.topics, k.topics);
}

#[test]
fn last_seen_is_refreshed_only_once_a_day() {
    let e = entry();
    let k = known(&e, "2026-11-24T10:00:01+09:00");
    assert_eq!(revise(&k, &e, &NONE, at(NOW), never).write, Write::Nothing);
    let k = known(&e, "2026-11-24T10:00:00+09:00");
    assert_eq!(revise(&k, &e, &NONE, at(NOW), never).write, Write::LastSeen);
}

#[test]
fn rows_move_per_source_only_where_they_differ() {
    let o = |source: &str, position| Origin {
        source: source.into(),
        position,
    };
    let was = vec![("alert".to_owned(), 2), ("anshin".to_owned(), 3)];
    assert!(moved_rows(&was, &[o("anshin", 3), o("alert", 2)]).is_empty());
    assert_eq!(
        moved_rows(&was, &[o("anshin", 5), o("anshin", 3), o("anshin", 5)]),
        vec![("anshin", vec![3, 5])]
    );
    assert_eq!(moved_rows(&[], &[o("x", 1)]), vec![("x", vec![1])]);
}

#[test]
fn validators_are_trusted_for_a_day() {
    let v = Validators {
        etag: Some("\"a\"".into()),
        last_modified: None,
    };
    let now = at(NOW);
    let fresh = Some((v.clone(), Some(now - TimeDelta::hours(23))));
    assert_eq!(validators_to_send(fresh, now), v);
    let stale = Some((v.clone(), Some(now - TimeDelta::hours(24))));
    assert_eq!(validators_to_send(stale, now), Validators::default());
    assert_eq!(
        validators_to_send(Some((v, None)), now),
        Validators::default()
    );
    assert_eq!(validators_to_send(None, now), Validators::default());
}

#[test]
fn ids_are_uuid_urns_that_differ_per_key() {
    let a = entry_id(&EntryKey("https://www.ipa.go.jp/a.html".into()));
    let b = entry_id(&EntryKey("https://www.ipa.go.jp/b.html".into()));
    assert_ne!(a, b);
    assert_eq!(a.len(), "urn:uuid:".len() + 36);
    assert_eq!(&a[23..24], "8", "version nibble in {a}");
}

#[test]
fn times_are_kept_to_the_second_with_their_offset() {
    let t = at("2023-09-12T00:00:00.5+09:00");
    assert_eq!(format_time(t), "2023-09-12T00:00:00+09:00");
    assert_eq!(parse_time("not a time"), DateTime::<FixedOffset>::default());
    assert_eq!(
        topic_ids(&topics_column(&["a".into(), "b".into()])),
        ["a", "b"]
    );
}

#[test]
fn an_articles_dates_are_witnesses_and_a_later_one_is_an_update() {
    let e = entry();
    let article = ArticleDates {
        published: Some(at("2023-09-01T00:00:00+09:00")),
        updated: Some(at("2023-10-02T00:00:00+09:00")),
    };
    let f = first(&e, &article, at(NOW));
    assert_eq!(f.published, at("2023-09-01T00:00:00+09:00"));
    assert_eq!(f.updated, at("2023-10-02T00:00:00+09:00"));
    // The state keeps the listing's own date, so a later run without the article agrees.
    assert_eq!(f.source_date.as_deref(), Some("2023-09-12T00:00:00+09:00"));

    // Read later than the entry was first stored: its dates move, without the clock.
    let k = known(&e, NOW);
    let r = revise(&k, &e, &article, at(NOW), never);
    assert!(r.changed && r.write == Write::Row);
    assert_eq!(r.published, at("2023-09-01T00:00:00+09:00"));
    assert_eq!(r.updated, at("2023-10-02T00:00:00+09:00"));

    // Once known, the same dates change nothing.
    let mut k = k;
    (k.published, k.updated, k.article) = (r.published, r.updated, article);
    let again = revise(&k, &e, &article, at(NOW), never);
    assert!(!again.changed);
    assert_eq!(again.write, Write::Nothing);

    // An article dated no later than the listing is no update, and never dated by the clock.
    let same = ArticleDates {
        published: None,
        updated: Some(at("2023-09-12T00:00:00+09:00")),
    };
    let r = revise(&known(&e, NOW), &e, &same, at(NOW), never);
    assert!(!r.changed);
    assert_eq!(r.updated, at("2023-09-12T00:00:00+09:00"));
}
