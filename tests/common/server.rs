//! A real HTTP/1.1 server on 127.0.0.1 that serves fixtures, misbehaves on request, and
//! records what it was asked and how many requests it answered at once.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    /// The body, as long as its Content-Length said.
    pub body: Vec<u8>,
    /// When the request's head had been read.
    pub at: Instant,
}

/// Writes a reply by hand on the connection.
pub type RawWriter = Arc<dyn Fn(&Request, &mut TcpStream) + Send + Sync>;

/// What a route answers.
#[derive(Clone)]
pub enum Reply {
    /// Status, headers, body.
    Full(u16, Vec<(String, String)>, Vec<u8>),
    /// Writes whatever it likes on the raw connection (slow, endless, broken replies).
    Raw(RawWriter),
}

impl Reply {
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Full(
            200,
            vec![("Content-Type".into(), content_type.into())],
            body.into(),
        )
    }
    pub fn status(code: u16) -> Reply {
        Reply::Full(
            code,
            vec![("Content-Type".into(), "text/plain".into())],
            b"error".to_vec(),
        )
    }
    pub fn html(body: impl Into<Vec<u8>>) -> Reply {
        Reply::ok("text/html; charset=utf-8", body)
    }
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A loopback HTTP server; routes can be changed while it runs. Stops when dropped.
pub struct Server {
    addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Handler>>>,
    log: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    /// Requests whose handler is deciding the reply now, and the most there ever were at once.
    in_flight: Arc<(AtomicUsize, AtomicUsize)>,
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let routes: Arc<Mutex<HashMap<String, Handler>>> = Arc::default();
        let log: Arc<Mutex<Vec<Request>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let in_flight: Arc<(AtomicUsize, AtomicUsize)> = Arc::default();
        let (r, l, s, f) = (routes.clone(), log.clone(), stop.clone(), in_flight.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (r, l, f) = (r.clone(), l.clone(), f.clone());
                thread::spawn(move || serve(stream, &r, &l, &f));
            }
        });
        Server {
            addr,
            routes,
            log,
            stop,
            in_flight,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Answers `path` with the same reply every time.
    pub fn route(&self, path: &str, reply: Reply) {
        self.route_fn(path, move |_| reply.clone());
    }

    pub fn route_fn(&self, path: &str, f: impl Fn(&Request) -> Reply + Send + Sync + 'static) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), Arc::new(f));
    }

    /// The most requests whose handlers were running at one time. A request stops counting
    /// once its handler has returned, before a byte of the reply is written: counting until
    /// the write ends would let a client that already has the reply start its next request
    /// while this thread is still to decrement, and look like two at once. A [`Reply::Raw`]
    /// writer's own time is not counted.
    pub fn max_in_flight(&self) -> usize {
        self.in_flight.1.load(Ordering::SeqCst)
    }

    /// Every request received so far.
    pub fn all_requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    /// Requests received so far for `path`.
    pub fn requests(&self, path: &str) -> Vec<Request> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn serve(
    mut stream: TcpStream,
    routes: &Mutex<HashMap<String, Handler>>,
    log: &Mutex<Vec<Request>>,
    in_flight: &(AtomicUsize, AtomicUsize),
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || line.is_empty() {
        return;
    }
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or("GET").to_owned();
    let path = words.next().unwrap_or("/").to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let length = headers
        .get("content-length")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length.min(1 << 20)];
    if reader.read_exact(&mut body).is_err() {
        body.clear();
    }
    let request = Request {
        method,
        path: path.clone(),
        headers,
        body,
        at: Instant::now(),
    };
    log.lock().unwrap().push(request.clone());
    let now = in_flight.0.fetch_add(1, Ordering::SeqCst) + 1;
    in_flight.1.fetch_max(now, Ordering::SeqCst);
    let handler = routes.lock().unwrap().get(&path).cloned();
    let reply = handler.map_or(Reply::status(404), |h| h(&request));
    in_flight.0.fetch_sub(1, Ordering::SeqCst);
    match reply {
        Reply::Full(status, headers, body) => {
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
        Reply::Raw(f) => f(&request, &mut stream),
    }
    let _ = stream.flush();
    // Drain what the client may still send so that closing does not reset the connection.
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let _ = reader.read(&mut [0; 64]);
}
