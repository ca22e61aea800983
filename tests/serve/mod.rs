//! `kairan serve` as a process on a loopback port, over fixtures served by a loopback upstream:
//! every route, header and status, JSON Feed validity, a failing refresh that keeps the last
//! feeds, signals, and the pages rendered by headless Chromium.
//!
//! `routes` holds what is answered: routes, headers, statuses, JSON Feed, embeds, health and
//! metrics. `process` holds serve over time: refreshes, signals, and pages in a browser.
//! `limits` holds clients that misbehave: slow, idle, oversized, too many; `filters` the
//! feeds narrowed by a query; `nodes` several servers on one state. The
//! client, the served process and the upstream both use are here.

mod filters;
mod limits;
mod nodes;
mod process;
mod routes;

use crate::common::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SEXTORTION: &str = "性的な映像をばらまくと恐喝し、仮想通貨で金銭を要求する迷惑メールに注意";

struct Response {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

/// The shipped config with the `[serve]` settings in `set` (`key = value` lines) in place of
/// its own.
fn serving_with(ws: &Workspace, upstream: &Server, set: &str) -> Served {
    let path = ws.shipped_config(upstream);
    let mut text = std::fs::read_to_string(&path).unwrap();
    for line in set.lines() {
        let key = line.split('=').next().unwrap().trim();
        let at = text
            .find(&format!("\n{key} = "))
            .unwrap_or_else(|| panic!("the shipped config sets {key}"));
        let end = at + 1 + text[at + 1..].find('\n').unwrap();
        text.replace_range(at + 1..end, line);
    }
    ws.config(&text);
    let served = Served::start(ws);
    served.wait_for_refreshes(1);
    served
}

/// One request on its own connection, written by hand so that paths go out exactly as given.
fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut headers: HashMap<String, String> = HashMap::new();
    for line in lines {
        let (k, v) = line.split_once(':').unwrap();
        headers
            .entry(k.trim().to_ascii_lowercase())
            .and_modify(|old| *old = format!("{old}, {}", v.trim()))
            .or_insert_with(|| v.trim().to_owned());
    }
    Response {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// `kairan serve` on a port of its choosing; killed when dropped.
struct Served {
    child: Child,
    addr: String,
    log: Arc<Mutex<String>>,
}

impl Served {
    fn start(ws: &Workspace) -> Served {
        let mut child = ws.serve_command().stderr(Stdio::piped()).spawn().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("serving http://") {
                    let addr = line[at + "serving http://".len()..]
                        .split('/')
                        .next()
                        .unwrap()
                        .to_owned();
                    let _ = tx.send(addr);
                }
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("serve says where it listens");
        Served { child, addr, log }
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        request(&self.addr, "GET", path, headers)
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -s {name}");
    }

    /// Waits, for at most ten seconds, until `/metrics` says `refreshes` refreshes ran.
    fn wait_for_refreshes(&self, refreshes: u32) {
        for _ in 0..200 {
            let m = self.get("/metrics", &[]).text();
            let count = |result: &str| -> u32 {
                m.lines()
                    .find_map(|l| {
                        l.strip_prefix(&format!("kairan_refreshes_total{{result=\"{result}\"}} "))
                    })
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            if count("ok") + count("failed") >= refreshes {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "fewer than {refreshes} refreshes within ten seconds:\n{}",
            self.log.lock().unwrap()
        );
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
