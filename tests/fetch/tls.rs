//! https through rustls: a server whose certificate a corporate CA signed is refused until
//! that CA is trusted (here by `SSL_CERT_FILE`, as the README tells), then read; an http
//! source redirected there too (http is fetched by a client without a trust store, which hands
//! such a redirect to the one with it).

use crate::common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn a_corporate_ca_is_trusted_from_ssl_cert_file_and_only_then() {
    let site = Workspace::new("tls-site");
    std::fs::write(site.dir.join("list.html"), fixture("ipa/anshin-seed.html")).unwrap();
    let tls = root().join("fixtures/tls");
    let mut server = Command::new("python3")
        .arg(root().join("tests/tools/tlsd.py"))
        .args([
            tls.join("server.pem"),
            tls.join("server.key"),
            site.dir.clone(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut port = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let url = format!("https://127.0.0.1:{}/list.html", port.trim());

    let ws = Workspace::new("tls");
    ws.config(&config(&format!(
        "[fetch]\nretries = 0\n\n{}",
        html_source("anshin", &url, NEWS_LIST)
    )));
    let untrusted = ws
        .command(&[])
        .env_remove("SSL_CERT_FILE")
        .output()
        .unwrap();
    assert_status(&untrusted, 1);
    let err = stderr(&untrusted);
    assert!(err.contains(&url) && err.contains("certificate"), "{err}");

    let trusted = ws
        .command(&["-v"])
        .env("SSL_CERT_FILE", tls.join("ca.pem"))
        .output()
        .unwrap();
    assert_status(&trusted, 0);
    assert!(stderr(&trusted).contains("62 rows"), "{}", stderr(&trusted));

    // An http source that moved to https: the redirect is followed, with the trust store.
    let plain = Server::start();
    let to = url.clone();
    plain.route(
        "/old.html",
        Reply::Full(301, vec![("Location".into(), to)], Vec::new()),
    );
    let moved = Workspace::new("tls-moved");
    moved.config(&config(&format!(
        "[fetch]\nretries = 0\n\n{}",
        html_source("anshin", &plain.url("/old.html"), NEWS_LIST)
    )));
    let o = moved
        .command(&["-v"])
        .env("SSL_CERT_FILE", tls.join("ca.pem"))
        .output()
        .unwrap();
    assert_status(&o, 0);
    assert!(stderr(&o).contains("62 rows"), "{}", stderr(&o));
    let _ = server.kill();
    let _ = server.wait();
}
