//! Feeds in every encoding a feed corpus holds, read in one run: UTF-16 and UTF-32 with and
//! without a byte-order mark, a declared encoding that contradicts the bytes, an unknown label,
//! HTML entities that XML does not declare. No panic; each source is either published or fails
//! with its own reason, and the rest are published. The feeds are made here from the alert
//! fixture, each with its own links, so that each one's entries can be found in the output.

use super::published;
use crate::common::*;

/// The alert fixture as text, with links of its own under `/{name}/`.
fn alert_text(name: &str) -> String {
    let text = String::from_utf8(fixture("ipa/alert-rss.rdf")).unwrap();
    text.replace(
        "https://www.ipa.go.jp/security/security-alert/",
        &format!("https://www.ipa.go.jp/security/security-alert/{name}/"),
    )
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let text = text.replace("encoding=\"UTF-8\"", "encoding=\"UTF-16\"");
    let units = bom.then_some(0xFEFF).into_iter().chain(text.encode_utf16());
    units
        .flat_map(|u| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect()
}

fn utf32(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let text = text.replace("encoding=\"UTF-8\"", "encoding=\"UTF-32\"");
    let chars = bom.then_some('\u{FEFF}').into_iter().chain(text.chars());
    chars
        .flat_map(|c| {
            let n = u32::from(c);
            if big_endian {
                n.to_be_bytes()
            } else {
                n.to_le_bytes()
            }
        })
        .collect()
}

#[test]
fn feeds_in_any_encoding_are_read_or_fail_with_a_reason_in_one_run() {
    let readable: Vec<(&str, Vec<u8>)> = vec![
        ("utf16be-bom", utf16(&alert_text("utf16be-bom"), true, true)),
        (
            "utf16le-bom",
            utf16(&alert_text("utf16le-bom"), false, true),
        ),
        ("utf16be", utf16(&alert_text("utf16be"), true, false)),
        ("utf16le", utf16(&alert_text("utf16le"), false, false)),
        ("utf32be-bom", utf32(&alert_text("utf32be-bom"), true, true)),
        (
            "utf32le-bom",
            utf32(&alert_text("utf32le-bom"), false, true),
        ),
        ("utf32be", utf32(&alert_text("utf32be"), true, false)),
    ];
    // Whether these read or fail is the parser's call; either way, with a reason.
    let doubtful: Vec<(&str, Vec<u8>)> = vec![
        (
            "says-sjis",
            (alert_text("says-sjis").replace("encoding=\"UTF-8\"", "encoding=\"Shift_JIS\""))
                .into_bytes(),
        ),
        (
            "unknown-label",
            (alert_text("unknown-label").replace("encoding=\"UTF-8\"", "encoding=\"x-klingon\""))
                .into_bytes(),
        ),
        (
            "html-entities",
            (alert_text("html-entities").replace("<dc:creator>IPA", "<dc:creator>IPA&nbsp;&copy;"))
                .into_bytes(),
        ),
    ];
    let server = Server::start();
    let mut sources = String::new();
    for (name, body) in readable.iter().chain(&doubtful) {
        let path = format!("/{name}.rdf");
        server.route(&path, Reply::ok("application/xml", body.clone()));
        sources.push_str(&feed_source(name, &server.url(&path)));
    }
    let ws = Workspace::new("hostile-encodings");
    ws.config(&config(&sources));
    let out = ws.command(&["-v"]).output().unwrap();
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert!(matches!(out.status.code(), Some(0 | 1)), "{err}");
    let all = published(&ws);
    for (name, _) in &readable {
        assert!(
            all.contains(&format!("/security-alert/{name}/")),
            "{name} was not published:\n{err}"
        );
    }
    for (name, _) in &doubtful {
        let failed = err.contains(&format!("source {name} ("));
        let read = all.contains(&format!("/security-alert/{name}/"));
        assert!(
            failed != read,
            "{name}: read {read}, failed {failed}:\n{err}"
        );
    }
    validate_independently(&ws.out());
}
