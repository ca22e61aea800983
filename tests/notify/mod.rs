//! Notifications sent to real receivers on loopback: an HTTP server that records every post and
//! can be switched to failing, holding or refusing; and in [`email`] a real SMTP server whose
//! messages are parsed back with a MIME parser.

mod email;
mod faults;

use crate::common::*;
use serde_json::Value;

const LISTING: &str = "/security/list.html";

/// The listing at the first run: one SMS entry, one 警告 entry.
const FIRST: [(&str, &str, &str); 2] = [
    ("2026年11月21日", "偽の警告画面に注意", "/n/2.html"),
    ("2026年11月20日", "SMS を悪用した手口に注意", "/n/1.html"),
];
/// Posted later: an SMS entry, and one in no topic.
const NEW_SMS: (&str, &str, &str) = ("2026年11月27日", "宅配業者を装う SMS に注意", "/n/3.html");
const NEW_NO_TOPIC: (&str, &str, &str) =
    ("2026年11月27日", "パスワードの使い回しに注意", "/n/4.html");
/// A 警告 entry whose title has markup characters, escaped in the listing.
const NEW_WARNING: (&str, &str, &str) = (
    "2026年11月28日",
    "偽の警告に「&lt;b&gt;&amp;&lt;/b&gt;」",
    "/n/5.html",
);
const WARNING_TITLE: &str = "偽の警告に「<b>&</b>」";

/// A `[[notify]]` table posting to `path` on `server`; `extra` adds keys.
fn notify(id: &str, kind: &str, server: &Server, path: &str, extra: &str) -> String {
    format!(
        "[[notify]]\nid = \"{id}\"\nkind = \"{kind}\"\nurl = \"{}\"\n{extra}\n",
        server.url(path)
    )
}

/// A workspace whose one source is the listing on `server`, with `notifies` configured, and
/// the listing serving [`FIRST`].
fn workspace(name: &str, server: &Server, notifies: &str) -> Workspace {
    let ws = Workspace::new(name);
    let source = html_source("anshin", &server.url(LISTING), NEWS_LIST);
    ws.config(&config(&format!(
        "[fetch]\ntimeout_secs = 5\nretries = 0\n\n{source}\n{notifies}"
    )));
    list(server, &[]);
    ws
}

/// Serves [`FIRST`] with `new` rows above it.
fn list(server: &Server, new: &[(&str, &str, &str)]) {
    let rows: Vec<_> = new.iter().chain(&FIRST).copied().collect();
    server.route(LISTING, Reply::html(listing(&rows)));
}

/// The JSON bodies posted to `path`, in order.
fn posts(server: &Server, path: &str) -> Vec<Value> {
    (server.requests(path).into_iter())
        .map(|r| {
            assert_eq!(r.method, "POST");
            assert_eq!(r.headers["content-type"], "application/json");
            serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{path}: {e}"))
        })
        .collect()
}

fn run_ok(ws: &Workspace) -> String {
    let o = ws.run();
    assert_status(&o, 0);
    stderr(&o)
}

/// The required fields of the Adaptive Card schema (adaptive-card.json) for what the card
/// uses: the root's `type` and `version`, each element's `type` and its own required
/// property, each fact's `title` and `value`, each action's `type` and an OpenUrl's `url`.
fn assert_adaptive_card(message: &Value) {
    assert_eq!(message["type"], "message");
    let attachments = message["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(
        attachments[0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &attachments[0]["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    let version = card["version"].as_str().expect("version is required");
    assert!(
        version.split('.').all(|n| n.parse::<u8>().is_ok()),
        "{version}"
    );
    for element in card["body"].as_array().unwrap() {
        match element["type"].as_str().expect("an element's type") {
            "TextBlock" => assert!(element["text"].is_string(), "{element}"),
            "FactSet" => {
                for fact in element["facts"].as_array().unwrap() {
                    assert!(
                        fact["title"].is_string() && fact["value"].is_string(),
                        "{fact}"
                    );
                }
            }
            other => panic!("an element this test does not know: {other}"),
        }
    }
    for action in card["actions"].as_array().unwrap() {
        assert_eq!(action["type"], "Action.OpenUrl");
        let url = action["url"].as_str().unwrap();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    }
}

#[test]
fn each_new_entry_goes_once_to_each_notification_that_follows_it_and_an_import_to_none() {
    let server = Server::start();
    for path in ["/hook", "/slack"] {
        server.route(path, Reply::ok("text/plain", "ok"));
    }
    server.route("/teams", Reply::Full(202, vec![], vec![]));
    let notifies = [
        notify("hook", "webhook", &server, "/hook", ""),
        notify("chat", "slack", &server, "/slack", "topics = [\"sms\"]"),
        notify("soc", "teams", &server, "/teams", "topics = [\"warning\"]"),
    ]
    .concat();
    let ws = workspace("notify-each", &server, &notifies);
    let first = run_ok(&ws);
    assert!(
        server.requests("/hook").is_empty(),
        "an import is not news: {first}"
    );
    assert!(server.requests("/slack").is_empty() && server.requests("/teams").is_empty());

    list(&server, &[NEW_SMS, NEW_NO_TOPIC]);
    run_ok(&ws);
    let hooks = posts(&server, "/hook");
    assert_eq!(
        hooks.len(),
        2,
        "every new entry, in no topic too: {hooks:?}"
    );
    let sms = hooks
        .iter()
        .find(|h| h["entry"]["title"] == NEW_SMS.1)
        .unwrap();
    assert_eq!(sms["notify"], "hook");
    assert_eq!(sms["event"], "new");
    assert_eq!(sms["topics"], serde_json::json!(["sms"]));
    let entry = &sms["entry"];
    assert_eq!(entry["link"], server.url("/n/3.html"));
    assert_eq!(entry["published"], "2026-11-27T00:00:00+09:00");
    assert_eq!(entry["updated"], "2026-11-27T00:00:00+09:00");
    assert_eq!(entry["summary"], format!("{}の概要", NEW_SMS.1));
    assert_eq!(entry["topics"], serde_json::json!(["sms"]));
    // The id readers know it by.
    let feed = ws.feed("sms");
    let in_feed = feed
        .entries
        .iter()
        .find(|e| e.title.as_ref().unwrap().content == NEW_SMS.1);
    assert_eq!(entry["id"], in_feed.unwrap().id.as_str());
    let other = hooks
        .iter()
        .find(|h| h["entry"]["title"] == NEW_NO_TOPIC.1)
        .unwrap();
    assert_eq!(other["topics"], serde_json::json!([]));

    let slack = posts(&server, "/slack");
    assert_eq!(slack.len(), 1, "the SMS entry only: {slack:?}");
    let text = slack[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("*<{}|{}>*", server.url("/n/3.html"), NEW_SMS.1)),
        "{text}"
    );
    assert!(
        text.contains("2026-11-27") && text.contains("SMS"),
        "{text}"
    );
    assert!(server.requests("/teams").is_empty(), "no 警告 entry yet");

    // Seen again: nothing new.
    run_ok(&ws);
    assert_eq!(server.requests("/hook").len(), 2);
    assert_eq!(server.requests("/slack").len(), 1);

    list(&server, &[NEW_WARNING, NEW_SMS, NEW_NO_TOPIC]);
    run_ok(&ws);
    let teams = posts(&server, "/teams");
    assert_eq!(teams.len(), 1);
    assert_adaptive_card(&teams[0]);
    let card = &teams[0]["attachments"][0]["content"];
    assert_eq!(card["body"][0]["text"], WARNING_TITLE, "the title as text");
    let facts = card["body"][1]["facts"].to_string();
    assert!(
        facts.contains("2026-11-28") && facts.contains("偽警告"),
        "{facts}"
    );
    assert_eq!(card["actions"][0]["url"], server.url("/n/5.html"));
    // Slack's controls in a title stay text.
    assert_eq!(server.requests("/slack").len(), 1, "not an SMS entry");
    let hooks = posts(&server, "/hook");
    assert_eq!(hooks.len(), 3);
    validate_independently(&ws.out());
}

#[test]
fn a_title_with_slack_controls_stays_text_and_updates_are_sent_where_asked() {
    let server = Server::start();
    server.route("/slack", Reply::ok("text/plain", "ok"));
    server.route("/hook", Reply::ok("text/plain", "ok"));
    let notifies = [
        notify("chat", "slack", &server, "/slack", ""),
        notify("hook", "webhook", &server, "/hook", "updates = true"),
    ]
    .concat();
    let ws = workspace("notify-updates", &server, &notifies);
    run_ok(&ws);
    list(&server, &[NEW_WARNING]);
    run_ok(&ws);
    let slack = posts(&server, "/slack");
    let text = slack[0]["text"].as_str().unwrap();
    assert!(
        text.contains("|偽の警告に「&lt;b&gt;&amp;&lt;/b&gt;」>*"),
        "{text}"
    );

    // The entry comes back with a later date: an update.
    let moved = ("2026年11月29日", NEW_WARNING.1, NEW_WARNING.2);
    list(&server, &[moved]);
    run_ok(&ws);
    assert_eq!(
        posts(&server, "/slack").len(),
        1,
        "an update is not sent by default"
    );
    let hooks = posts(&server, "/hook");
    assert_eq!(hooks.len(), 2, "sent where `updates = true`: {hooks:?}");
    assert_eq!(hooks[1]["entry"]["updated"], "2026-11-29T00:00:00+09:00");
    assert_eq!(hooks[1]["event"], "updated");
}

#[test]
fn check_shows_what_would_be_sent_and_sends_nothing() {
    let server = Server::start();
    server.route("/hook", Reply::ok("text/plain", "ok"));
    let ws = workspace(
        "notify-check",
        &server,
        &notify("hook", "webhook", &server, "/hook", ""),
    );
    let check = |json: bool| {
        let mut args = vec!["check", "--config", "kairan.toml", "--state"];
        let state = ws.state_arg();
        args.push(&state);
        if json {
            args.push("--json");
        }
        kairan(&ws.dir, &args)
    };
    let before = check(false);
    assert_status(&before, 0);
    let text = String::from_utf8_lossy(&before.stdout).into_owned();
    assert!(text.contains("the first run imports"), "{text}");
    run_ok(&ws);
    list(&server, &[NEW_SMS]);
    let after = check(false);
    let text = String::from_utf8_lossy(&after.stdout).into_owned();
    assert!(text.contains("hook (webhook): 1 message\n"), "{text}");
    assert!(text.contains(NEW_SMS.1), "{text}");
    let json: Value = serde_json::from_slice(&check(true).stdout).unwrap();
    let payload = &json["notify"][0]["payloads"][0];
    assert_eq!(payload["entry"]["link"], server.url("/n/3.html"));
    assert!(server.requests("/hook").is_empty(), "check sends nothing");
    run_ok(&ws);
    assert_eq!(
        posts(&server, "/hook")[0]["entry"],
        payload["entry"],
        "what check showed"
    );
}

#[test]
fn a_notification_that_is_misconfigured_is_refused_with_its_place() {
    let server = Server::start();
    let ws = Workspace::new("notify-config");
    let source = html_source("anshin", &server.url(LISTING), NEWS_LIST);
    let cases = [
        (
            "[[notify]]\nid = \"a\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:1/\"\ntopics = [\"sms\", \"ransom\"]\n",
            "`notify.topics`: notify \"a\": no topic \"ransom\"; the topics are sms, warning",
        ),
        (
            "[[notify]]\nid = \"m\"\nkind = \"email\"\nurl = \"smtp://127.0.0.1:25\"\nfrom = \"k@example.jp\"\n",
            "`notify.to`: notify \"m\" is kind = \"email\" and needs `to`",
        ),
        (
            "[[notify]]\nid = \"w\"\nkind = \"webhook\"\nurl = \"ftp://127.0.0.1/x\"\n",
            "`notify.url`: notify \"w\": expected an absolute http(s) URL, found a ftp: URL",
        ),
        (
            "[[notify]]\nid = \"s\"\nkind = \"slack\"\nurl_env = \"KAIRAN_TEST_UNSET\"\n",
            "`notify.url_env`: notify \"s\": the variable KAIRAN_TEST_UNSET is not set",
        ),
        (
            "[[notify]]\nid = \"t\"\nkind = \"teams\"\nurl = \"https://example.org/\"\nto = [\"a@example.jp\"]\n",
            "`notify.to`: notify \"t\": `to` applies to kind = \"email\" only",
        ),
        (
            "[[notify]]\nid = \"x\"\nkind = \"discord\"\nurl = \"https://example.org/\"\n",
            "`notify.kind`: notify \"x\": expected \"webhook\", \"slack\", \"teams\" or \"email\"",
        ),
    ];
    for (table, message) in cases {
        let path = ws.config(&config(&format!("{source}\n{table}")));
        let o = kairan(&ws.dir, &["check", "--config", path.to_str().unwrap()]);
        assert_status(&o, 2);
        let err = stderr(&o);
        assert!(err.contains(message), "{table}\n→ {err}");
        assert!(err.contains("kairan.toml:"), "placed: {err}");
    }
    // A secret from the environment is never quoted.
    let table = "[[notify]]\nid = \"s\"\nkind = \"slack\"\nurl_env = \"KAIRAN_TEST_HOOK\"\n";
    let path = ws.config(&config(&format!("{source}\n{table}")));
    let o = kairan_command_env(
        &ws,
        &path,
        ("KAIRAN_TEST_HOOK", "ftp://secret-token@127.0.0.1/T0/B0/XYZ"),
    );
    assert_status(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("found a ftp: URL") && !err.contains("XYZ"),
        "{err}"
    );
}

/// `kairan check` with one variable set.
fn kairan_command_env(
    ws: &Workspace,
    config: &std::path::Path,
    var: (&str, &str),
) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kairan"))
        .current_dir(&ws.dir)
        .env(var.0, var.1)
        .args(["check", "--config", config.to_str().unwrap()])
        .output()
        .unwrap()
}

#[test]
fn a_source_added_later_is_imported_without_a_message() {
    let server = Server::start();
    server.route("/hook", Reply::ok("text/plain", "ok"));
    server.route(
        ALERT_PATH,
        Reply::ok("application/rdf+xml", fixture("ipa/alert-rss.rdf")),
    );
    let hook = notify("hook", "webhook", &server, "/hook", "");
    let ws = workspace("notify-new-source", &server, &hook);
    run_ok(&ws);
    let listing = html_source("anshin", &server.url(LISTING), NEWS_LIST);
    let alert = feed_source("alert", &server.url(ALERT_PATH));
    ws.config(&config(&format!(
        "[fetch]\ntimeout_secs = 5\nretries = 0\n\n{listing}\n{alert}\n{hook}"
    )));
    list(&server, &[NEW_SMS]);
    run_ok(&ws);
    let hooks = posts(&server, "/hook");
    let titles: Vec<&str> = hooks
        .iter()
        .map(|h| h["entry"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [NEW_SMS.1],
        "the alert feed's entries are its import"
    );
    assert!(
        ws.feed("all").entries.len() > 3,
        "the alert feed's entries are stored"
    );
}
