//! The operator's commands, run as a process: check, explain, topics, init, completions, man,
//! and how much is said on stderr (-q, -v, --log-format json, terminal or not).

use crate::common::*;
use std::process::Command;

const SEXTORTION: &str = "性的な映像をばらまくと恐喝し、仮想通貨で金銭を要求する迷惑メールに注意";

fn seed_workspace(name: &str) -> (Server, Workspace) {
    let server = Server::start();
    server.route(LISTING_PATH, Reply::html(fixture("ipa/anshin-seed.html")));
    server.route(
        ALERT_PATH,
        Reply::ok("application/rdf+xml", fixture("ipa/alert-rss.rdf")),
    );
    let ws = Workspace::new(name);
    ws.shipped_config(&server);
    (server, ws)
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn check_on_a_saved_page_shows_rows_merges_and_look_alikes_and_writes_nothing() {
    let (server, ws) = seed_workspace("check-file");
    let page = root().join("fixtures/ipa/anshin-seed.html");
    let args = [
        "check",
        "--config",
        "kairan.toml",
        "--source",
        "anshin",
        "--file",
        page.to_str().unwrap(),
    ];
    let out = kairan(&ws.dir, &args);
    assert_status(&out, 0);
    let text = stdout(&out);
    assert!(
        server.requests(LISTING_PATH).is_empty(),
        "the page is read, not fetched"
    );
    // The repeat, with the rows it merges and the key it merged on.
    let merged = format!(
        "{} ← anshin row 45, anshin row 46",
        server
            .url("/security/anshin/attention/2018/mgdayori20181010.html")
            .replace("http:", "https:")
    );
    assert!(text.contains(&merged), "{text}");
    // Look-alikes are rows of their own, each with its date as parsed and its topics.
    for title in [
        "「情報セキュリティ10大脅威 2023」簡易説明資料(スライド形式)個人編\n",
        "「情報セキュリティ10大脅威 2023」簡易説明資料(スライド形式)組織編\n",
        "「情報セキュリティ10大脅威 2023」簡易説明資料(スライド形式)個人編 一般利用者向け\n",
    ] {
        assert_eq!(text.matches(title).count(), 1, "{title} in {text}");
    }
    assert!(
        text.contains(
            "  2023-09-12T00:00:00+09:00  ブラウザの通知機能から不審サイトに誘導する手口に注意\n"
        ),
        "{text}"
    );
    assert!(text.contains("→ 10-threats, education"), "{text}");
    assert!(
        text.contains(
            "verdict: ok: 1 of 1 sources read, 62 rows, 61 entries (1 repeated rows merged)"
        ),
        "{text}"
    );
    assert!(
        !ws.state().exists() && !ws.out().exists(),
        "check writes nothing"
    );

    // The same as JSON, for scripts.
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let out = kairan(&ws.dir, &json_args);
    assert_status(&out, 0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["rows"].as_array().unwrap().len(), 62);
    assert_eq!(v["entries"], 61);
    let merges = v["merges"].as_array().unwrap();
    assert_eq!(merges.len(), 1);
    assert_eq!(merges[0]["rows"].as_array().unwrap().len(), 2);
    let row = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["title"] == SEXTORTION)
        .unwrap();
    assert_eq!(row["updated"], "2021-09-08T00:00:00+09:00");
    assert!(
        row["topics"]
            .as_array()
            .unwrap()
            .contains(&"sextortion".into())
    );
}

#[test]
fn check_says_what_is_wrong_and_exits_1() {
    let (server, ws) = seed_workspace("check-failing");
    server.route(
        LISTING_PATH,
        Reply::html(fixture("ipa/anshin-relayout.html")),
    );
    let out = kairan(&ws.dir, &["check", "--config", "kairan.toml"]);
    assert_status(&out, 1);
    let text = stdout(&out);
    assert!(
        text.contains(
            "FAILED: the item selector \"ul.news-list > li.news-list__item\" matched nothing"
        ),
        "{text}"
    );
    assert!(
        text.contains("verdict: problems: failed: anshin; topics with no entry: "),
        "{text}"
    );
    let out = kairan(&ws.dir, &["check", "--config", "kairan.toml", "--json"]);
    assert_status(&out, 1);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["sources"][0]["outcome"], "failed");
    assert!(!v["empty_topics"].as_array().unwrap().is_empty());

    let unknown = kairan(
        &ws.dir,
        &["check", "--config", "kairan.toml", "--source", "nope"],
    );
    assert_status(&unknown, 2);
    assert!(stderr(&unknown).contains("no source \"nope\""));
}

#[test]
fn explain_and_topics_read_what_was_stored() {
    let (_server, ws) = seed_workspace("explain");
    assert_status(&ws.run(), 0);
    let state = ws.state();
    let with_state = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend([
            "--config",
            "kairan.toml",
            "--state",
            state.to_str().unwrap(),
        ]);
        kairan(&ws.dir, &a)
    };
    let out = with_state(&["explain", "性的な映像をばらまく"]);
    assert_status(&out, 0);
    let text = stdout(&out);
    assert!(text.starts_with(SEXTORTION), "{text}");
    assert!(
        text.contains("read from: anshin row 45, anshin row 46 (merged as one entry)"),
        "{text}"
    );
    assert!(
        text.contains("topic sextortion (セクストーション・脅迫メール): ")
            && text.contains("\"恐喝\" in the title"),
        "{text}"
    );
    assert!(
        text.contains("published: 2018-10-10T00:00:00+09:00"),
        "{text}"
    );
    assert_status(&with_state(&["explain", "存在しない記事"]), 1);

    let out = with_state(&["topics"]);
    assert_status(&out, 0);
    let text = stdout(&out);
    let row = |id: &str| -> Vec<String> {
        text.lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("{id} in {text}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(row("all")[1], "69");
    let sextortion = ws.feed("sextortion").entries.len().to_string();
    assert_eq!(row("sextortion")[1], sextortion);
    assert_eq!(
        row("sextortion")[3],
        "http://127.0.0.1:8080/feeds/sextortion.atom"
    );
}

#[test]
fn init_completions_man_and_version() {
    let ws = Workspace::new("init");
    let out = kairan(&ws.dir, &["init", "mine.toml"]);
    assert_status(&out, 0);
    let written = std::fs::read_to_string(ws.dir.join("mine.toml")).unwrap();
    assert_eq!(
        written,
        std::fs::read_to_string(root().join("config/ipa.toml")).unwrap()
    );
    assert_status(
        &kairan(
            &ws.dir,
            &[
                "check",
                "--config",
                "mine.toml",
                "--source",
                "anshin",
                "--file",
                root()
                    .join("fixtures/ipa/anshin-native.html")
                    .to_str()
                    .unwrap(),
            ],
        ),
        0,
    );
    let again = kairan(&ws.dir, &["init", "mine.toml"]);
    assert_status(&again, 1);
    assert!(stderr(&again).contains("mine.toml"), "never overwrites");

    for (shell, marker) in [
        ("bash", "_kairan()"),
        ("zsh", "#compdef kairan"),
        ("fish", "complete -c kairan"),
    ] {
        let out = kairan(&ws.dir, &["completions", shell]);
        assert_status(&out, 0);
        assert!(stdout(&out).contains(marker), "{shell}");
    }
    let man = kairan(&ws.dir, &["man"]);
    assert_status(&man, 0);
    let page = stdout(&man);
    assert!(page.contains(".TH kairan 1"));
    assert_eq!(
        page,
        std::fs::read_to_string(root().join("doc/kairan.1")).unwrap(),
        "doc/kairan.1 is current: kairan man > doc/kairan.1"
    );
    let version = kairan(&ws.dir, &["--version"]);
    assert_eq!(
        stdout(&version),
        format!("kairan {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn quiet_verbose_and_json_logs() {
    let (server, ws) = seed_workspace("logging");
    let run = |extra: &[&str]| ws.command(extra).output().unwrap();
    let verbose = run(&["-v"]);
    assert_status(&verbose, 0);
    let err = stderr(&verbose);
    assert!(err.contains("source anshin: 62 rows, 62 entries"), "{err}");
    assert!(
        err.contains("2 sources ok, 0 failed; 69 new, 0 updated, 69 stored; 65 files written"),
        "{err}"
    );

    server.route(ALERT_PATH, Reply::status(500));
    let quiet = run(&["-q"]);
    assert_status(&quiet, 1);
    assert!(quiet.stderr.is_empty(), "{}", stderr(&quiet));

    let json = run(&["--log-format", "json"]);
    assert_status(&json, 1);
    let lines: Vec<serde_json::Value> = stderr(&json)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["level"], "error");
    assert_eq!(lines[0]["source"], "alert");
    assert_eq!(lines[0]["reason"], "HTTP status 500");
    assert_eq!(lines[0]["url"], server.url(ALERT_PATH));
}

#[test]
fn a_person_at_a_terminal_gets_a_summary() {
    // util-linux's script(1) gives the run a terminal.
    if Command::new("script").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "script(1) is required under CI"
        );
        eprintln!("note: script(1) not available: terminal test skipped");
        return;
    }
    let (_server, ws) = seed_workspace("terminal");
    let command = format!(
        "{} run --config kairan.toml --state {}",
        env!("CARGO_BIN_EXE_kairan"),
        ws.state().display()
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(&ws.dir)
        .output()
        .unwrap();
    assert_status(&out, 0);
    let screen = stdout(&out);
    assert!(screen.contains("2/2 sources"), "a progress bar: {screen}");
    assert!(
        screen.contains("2 sources ok, 0 failed; 69 new, 0 updated, 69 stored"),
        "{screen}"
    );
}
