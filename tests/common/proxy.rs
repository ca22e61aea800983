//! A loopback HTTP proxy in front of a server, for faults the server itself will not make: it
//! answers 500 while told to, counts the requests by method, and otherwise passes each request
//! through whole (one per connection). Stops when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

#[derive(Default)]
struct Shared {
    /// Requests still to answer with 500; `usize::MAX` for all of them.
    failing: AtomicUsize,
    stop: AtomicBool,
    /// The method and path of every request that reached the proxy.
    seen: Mutex<Vec<(String, String)>>,
}

pub struct Proxy {
    pub port: u16,
    shared: Arc<Shared>,
}

impl Proxy {
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        thread::spawn(move || {
            while !s.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let s = s.clone();
                        thread::spawn(move || pass(client, upstream, &s));
                    }
                    Err(_) => thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
        });
        Proxy { port, shared }
    }

    /// Answers the next `n` requests with 500 (`usize::MAX`: every one until told otherwise).
    pub fn fail(&self, n: usize) {
        self.shared.failing.store(n, Ordering::SeqCst);
    }

    /// The requests seen so far, as (method, path).
    pub fn seen(&self) -> Vec<(String, String)> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub fn forget(&self) {
        self.shared.seen.lock().unwrap().clear();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

fn pass(client: TcpStream, upstream: u16, shared: &Shared) {
    client.set_nonblocking(false).unwrap();
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut head = Vec::new();
    let mut length = 0;
    let mut first = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if first.is_empty() {
            first = line.clone();
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        // One request per connection: the upstream closes after answering.
        if !lower.starts_with("connection:") {
            head.extend_from_slice(line.as_bytes());
        }
    }
    head.extend_from_slice(b"Connection: close\r\n\r\n");
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let mut parts = first.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    shared
        .seen
        .lock()
        .unwrap()
        .push((method.to_owned(), path.to_owned()));
    let mut client = client;
    let failing = shared.failing.load(Ordering::SeqCst);
    if failing > 0 {
        if failing != usize::MAX {
            shared.failing.fetch_sub(1, Ordering::SeqCst);
        }
        let _ = client.write_all(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        return;
    }
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    if server
        .write_all(&head)
        .and_then(|()| server.write_all(&body))
        .is_err()
    {
        return;
    }
    let mut answer = Vec::new();
    let _ = server.read_to_end(&mut answer);
    let _ = client.write_all(&answer);
}
