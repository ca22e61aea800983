//! E-mail notifications through a real SMTP server (aiosmtpd, tests/tools/smtpd.py), each
//! message parsed back with Python's MIME parser (tests/tools/mailcheck.py).

use super::*;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The SMTP server, stopped when dropped.
struct Smtp {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Smtp {
    /// Starts it, keeping its messages in a directory of its own for test `name`; `None`
    /// (skipped, except under CI, where it fails) where aiosmtpd is not installed.
    fn start(name: &str) -> Option<Smtp> {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("smtp")
            .join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new("python3")
            .arg(root().join("tests/tools/smtpd.py"))
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Ok(port) = line.trim().parse() else {
            let status = child.wait().unwrap();
            assert_eq!(status.code(), Some(3), "smtpd.py failed to start");
            unavailable("python3 aiosmtpd", "e-mail test");
            return None;
        };
        Some(Smtp { child, port, dir })
    }

    /// Makes every message fail with 451, or take again.
    fn fail(&self, failing: bool) {
        let flag = self.dir.join("fail");
        if failing {
            std::fs::write(flag, "").unwrap();
        } else {
            std::fs::remove_file(flag).unwrap();
        }
    }

    /// Every message received, parsed, with its envelope recipients.
    fn messages(&self) -> Vec<(Value, Vec<String>)> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|file| {
                let o = Command::new("python3")
                    .arg(root().join("tests/tools/mailcheck.py"))
                    .arg(file)
                    .output()
                    .unwrap();
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                let parsed: Value = serde_json::from_slice(&o.stdout).unwrap();
                let rcpt = std::fs::read_to_string(file.with_extension("rcpt")).unwrap();
                (parsed, rcpt.lines().map(str::to_owned).collect())
            })
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn email_notify(port: u16) -> String {
    format!(
        "[[notify]]\nid = \"mail\"\nkind = \"email\"\nurl = \"smtp://127.0.0.1:{port}\"\n\
         from = \"kairan <kairan@example.jp>\"\nto = [\"soc@example.jp\", \"警戒 <duty@example.jp>\"]\n\
         topics = [\"sms\", \"warning\"]\n"
    )
}

/// The text of the part of type `kind`.
fn part<'a>(mail: &'a Value, kind: &str) -> &'a str {
    let parts = mail["parts"].as_array().unwrap();
    let p = parts.iter().find(|p| p["type"] == kind).unwrap();
    assert_eq!(p["charset"], "utf-8");
    p["text"].as_str().unwrap()
}

#[test]
fn one_email_per_run_lists_its_new_entries_under_an_encoded_subject() {
    let Some(smtp) = Smtp::start("one-per-run") else {
        return;
    };
    let server = Server::start();
    let ws = workspace("notify-email", &server, &email_notify(smtp.port));
    run_ok(&ws);
    assert!(smtp.messages().is_empty(), "an import is not news");

    list(&server, &[NEW_WARNING, NEW_SMS, NEW_NO_TOPIC]);
    run_ok(&ws);
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "one e-mail for the run");
    let (mail, rcpt) = &messages[0];
    assert_eq!(mail["defects"], serde_json::json!([]), "{mail}");
    assert_eq!(rcpt, &["soc@example.jp", "duty@example.jp"]);
    assert_eq!(mail["subject"], "[kairan] 2 件の新着: SMS ほか");
    let raw = mail["subject_raw"].as_str().unwrap();
    assert!(
        raw.is_ascii() && raw.contains("=?utf-8?"),
        "RFC 2047: {raw}"
    );
    assert_eq!(mail["list_id"], "<mail.kairan.127.0.0.1>");
    assert!(mail["message_id"].as_str().unwrap().starts_with('<'));
    assert!(mail["date"].is_string());
    assert_eq!(mail["from"], "kairan <kairan@example.jp>");
    assert_eq!(mail["content_type"], "multipart/alternative");
    let text = part(mail, "text/plain");
    for (title, link) in [(NEW_SMS.1, "/n/3.html"), (WARNING_TITLE, "/n/5.html")] {
        assert!(
            text.contains(title) && text.contains(&server.url(link)),
            "{text}"
        );
    }
    assert!(text.contains("公開日 2026-11-27 · トピック: SMS"), "{text}");
    assert!(
        !text.contains(NEW_NO_TOPIC.1),
        "in no followed topic: {text}"
    );
    let html = part(mail, "text/html");
    assert!(
        html.contains(&format!("<a href=\"{}\">", server.url("/n/3.html"))),
        "{html}"
    );
    assert!(
        html.contains("偽の警告に「&lt;b&gt;&amp;&lt;/b&gt;」"),
        "escaped: {html}"
    );

    run_ok(&ws);
    assert_eq!(smtp.messages().len(), 1, "nothing new, no e-mail");
}

#[test]
fn a_mail_server_that_fails_keeps_the_entries_for_the_next_run() {
    let Some(smtp) = Smtp::start("fails") else {
        return;
    };
    let server = Server::start();
    let ws = workspace("notify-email-fails", &server, &email_notify(smtp.port));
    run_ok(&ws);
    smtp.fail(true);
    list(&server, &[NEW_SMS]);
    let o = ws.run();
    assert_status(&o, 1);
    let err = stderr(&o);
    assert!(
        err.contains("notify mail (email): an e-mail of 1 entries:"),
        "{err}"
    );
    assert!(err.contains("451") && err.contains("kept"), "{err}");
    assert!(smtp.messages().is_empty());

    smtp.fail(false);
    list(&server, &[NEW_WARNING, NEW_SMS]);
    run_ok(&ws);
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].0["subject"], "[kairan] 2 件の新着: SMS ほか",
        "the kept one with the new one"
    );

    // No server at all: the same, queued.
    drop(smtp);
    list(
        &server,
        &[
            NEW_WARNING,
            NEW_SMS,
            ("2026年11月30日", "SMS の新手口", "/n/6.html"),
        ],
    );
    let o = ws.run();
    assert_status(&o, 1);
    assert!(stderr(&o).contains("notify mail (email)"), "{}", stderr(&o));
}
