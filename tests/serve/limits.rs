//! `kairan serve` against clients that misbehave: half-sent requests, idle keep-alives, heads and
//! targets too large, methods it does not serve, more connections than it takes, many clients
//! at once, and a stop while all of that is going on.

use super::{request, seed_upstream, serving_with};
use crate::common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Raises this process's open-file limit as far as allowed, for tests that hold thousands of
/// connections; returns the limit.
fn raise_open_files() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid pointers to a local rlimit, for the calls to write and read.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    limit.rlim_cur
}

/// A connection that sent the start of a request head and nothing more.
fn half_open(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /feeds/all.atom HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    s
}

/// Whether the server closed `stream` (end of file or reset) within `within`.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            // hyper may say why before it closes; read on to the end.
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn heads_targets_and_methods_beyond_what_is_served_are_refused() {
    let upstream = seed_upstream();
    let ws = Workspace::new("serve-refused");
    let served = serving_with(&ws, &upstream, "");
    let big = "x".repeat(20 * 1024);
    let r = request(&served.addr, "GET", "/", &[("X-Padding", &big)]);
    assert_eq!(r.status, 431, "a head over 16 KiB");
    let long = format!("/feeds/all.atom?{}", "a".repeat(9 * 1024));
    assert_eq!(request(&served.addr, "GET", &long, &[]).status, 414);
    let fits = format!("/index.html?{}", "a".repeat(7 * 1024));
    assert_eq!(request(&served.addr, "GET", &fits, &[]).status, 200);
    for method in ["POST", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT", "BREW"] {
        for path in ["/feeds/all.atom", "/healthz", "/nothing"] {
            let r = request(&served.addr, method, path, &[]);
            assert_eq!(r.status, 405, "{method} {path}");
            assert_eq!(r.header("allow"), "GET, HEAD, OPTIONS", "{method} {path}");
        }
    }
    let options = request(&served.addr, "OPTIONS", "/feeds/all.atom", &[]);
    assert_eq!(options.status, 204);
    assert_eq!(options.header("allow"), "GET, HEAD, OPTIONS");
    let preflight = request(
        &served.addr,
        "OPTIONS",
        "/feeds/all.json",
        &[
            ("Origin", "https://portal.example"),
            ("Access-Control-Request-Method", "GET"),
        ],
    );
    assert_eq!(
        preflight.status, 200,
        "a CORS preflight is the CORS layer's"
    );
    assert_eq!(preflight.header("access-control-allow-origin"), "*");
    let metrics = served.get("/metrics", &[]).text();
    for code in ["405", "414", "204"] {
        assert!(
            metrics.contains(&format!("kairan_http_requests_total{{status=\"{code}\"}}")),
            "refusals are counted: {code}\n{metrics}"
        );
    }
}

#[test]
fn half_open_and_idle_connections_are_shed_and_hold_no_one_up() {
    const HELD: usize = 2000;
    assert!(raise_open_files() > HELD as u64 + 100, "open-file limit");
    let upstream = seed_upstream();
    let ws = Workspace::new("serve-half-open");
    let served = serving_with(&ws, &upstream, "header_timeout = \"3s\"");

    // An idle keep-alive connection, after one whole exchange.
    let mut idle = TcpStream::connect(&served.addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 64];
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let n = idle.read(&mut first).unwrap();
    assert!(
        first[..n].starts_with(b"HTTP/1.1 200"),
        "kept alive, answered"
    );

    let mut held: Vec<TcpStream> = (0..HELD).map(|_| half_open(&served.addr)).collect();
    let started = Instant::now();
    let r = served.get("/feeds/all.atom", &[]);
    let took = started.elapsed();
    assert_eq!(r.status, 200);
    assert!(
        took < Duration::from_secs(1),
        "answered in {took:?} with {HELD} half-open connections held"
    );

    // The header timeout is 3 s; all are gone well within a minute.
    let deadline = Instant::now() + Duration::from_secs(60);
    for (i, stream) in held.iter_mut().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            closed_within(stream, left.max(Duration::from_millis(1))),
            "half-open connection {i} still open after a minute"
        );
    }
    assert!(
        closed_within(&mut idle, Duration::from_secs(10)),
        "an idle keep-alive connection is closed"
    );
    assert_eq!(served.get("/healthz", &[]).status, 200, "still serving");
}

#[test]
fn beyond_the_connection_cap_clients_wait_and_nothing_breaks() {
    let upstream = seed_upstream();
    let ws = Workspace::new("serve-cap");
    let served = serving_with(
        &ws,
        &upstream,
        "header_timeout = \"2s\"\nmax_connections = 4",
    );
    let mut held: Vec<TcpStream> = (0..4).map(|_| half_open(&served.addr)).collect();
    // Let the server take those four before the fifth arrives.
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let r = served.get("/feeds/all.atom", &[]);
    assert_eq!(r.status, 200, "answered once a slot frees");
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "the fifth connection waited for a slot ({:?})",
        started.elapsed()
    );
    for stream in &mut held {
        assert!(closed_within(stream, Duration::from_secs(10)));
    }
}

#[test]
fn many_clients_at_once_get_every_answer_and_memory_stays_flat() {
    let upstream = seed_upstream();
    let ws = Workspace::new("serve-load");
    let served = serving_with(&ws, &upstream, "");
    let pid = served.child.id();
    let round = |addr: &str| -> usize {
        std::thread::scope(|s| {
            let clients: Vec<_> = (0..200)
                .map(|i| {
                    s.spawn(move || {
                        let paths = ["/feeds/all.atom", "/feeds/all.json", "/", "/healthz"];
                        (0..50)
                            .filter(|j| request(addr, "GET", paths[(i + j) % 4], &[]).status == 200)
                            .count()
                    })
                })
                .collect();
            clients.into_iter().map(|c| c.join().unwrap()).sum()
        })
    };
    assert_eq!(round(&served.addr), 200 * 50, "every request answered 200");
    let after_first = resident_kib(pid);
    assert_eq!(round(&served.addr), 200 * 50, "every request answered 200");
    let after_second = resident_kib(pid);
    eprintln!("serve resident memory: {after_first} KiB, then {after_second} KiB");
    assert!(
        after_second <= after_first + 8 * 1024,
        "memory grew from {after_first} to {after_second} KiB between two equal rounds"
    );
}

#[test]
fn sigterm_stops_serve_within_a_second_whatever_its_clients_do() {
    let upstream = seed_upstream();
    let ws = Workspace::new("serve-stop");
    let mut served = serving_with(&ws, &upstream, "");
    let _held: Vec<TcpStream> = (0..50).map(|_| half_open(&served.addr)).collect();
    // A client that asked for a feed and reads none of it.
    let mut stalled = TcpStream::connect(&served.addr).unwrap();
    stalled
        .write_all(b"GET /feeds/all.atom HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    served.signal("TERM");
    let status = loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "serve still running {:?} after SIGTERM",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{status:?}");
}
