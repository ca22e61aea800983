//! The accept loop: each connection served by hyper with the bounds of `[serve]`, so that no
//! client, slow or hostile, can hold the server or keep it from stopping.
//!
//! `axum::serve` is not used because it sets hyper up without a timer: no header timeout can
//! fire, a half-sent request holds its connection forever, and a graceful shutdown waits for
//! it. Here hyper gets a timer, a header-size bound, and connections are counted.

use crate::config::ServeLimits;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::Service;

/// How long connections still open at shutdown get to finish their responses: short, since a
/// stop must not wait on clients (a process manager's own patience is counted in seconds).
const GRACE: Duration = Duration::from_millis(500);

/// What answers every request of every connection: a tower service, cloned for each connection
/// and each request, whose futures `tokio::spawn` can take. Named once for [`serve`] and the
/// services `serve` is built from.
pub trait Answer:
    Service<
        hyper::Request<Incoming>,
        Response = Response,
        Error = Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + 'static
{
}

impl<S> Answer for S where
    S: Service<
            hyper::Request<Incoming>,
            Response = Response,
            Error = Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + 'static
{
}

/// Accepts and serves until `shutdown` resolves, then lets open connections finish for at
/// most [`GRACE`]; `service` answers every request.
///
/// One accept loop per core, each on a single-threaded runtime of its own, all taking
/// connections from `listener`, as nginx runs a worker per core: a connection's requests are
/// then read, answered and written on one thread, where a multi-threaded runtime hands its
/// events between workers (the task switches a profile under load showed, BENCHMARKS.md
/// section 4). The connection cap is one for all loops.
pub async fn serve<S: Answer>(
    listener: TcpListener,
    service: S,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let capacity = connection_capacity(limits.max_connections);
    let slots = Arc::new(Semaphore::new(capacity));
    let (stop, stopping) = watch::channel(false);
    let listener = listener.into_std()?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut loops = Vec::with_capacity(cores);
    // Said by each loop's thread as it ends, however it ends (a panic too): a loop that ends
    // before the server is stopped stops the others, rather than serving on with fewer.
    let (ending, mut ended) = tokio::sync::mpsc::unbounded_channel::<()>();
    struct Ends(tokio::sync::mpsc::UnboundedSender<()>);
    impl Drop for Ends {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }
    // On an early return below, `stop` is dropped and the loops already started end.
    for core in 0..cores {
        let listener = listener.try_clone()?;
        let (service, slots) = (service.clone(), slots.clone());
        let mut stopping = stopping.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let ends = Ends(ending.clone());
        let accepting = move || {
            let _ends = ends;
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener)?;
                let stopped = async move {
                    let _ = stopping.wait_for(|stop| *stop).await;
                };
                accept(listener, service, limits, slots, capacity, stopped).await;
                Ok::<_, std::io::Error>(())
            })
        };
        loops.push(
            std::thread::Builder::new()
                .name(format!("kairan-serve-{core}"))
                .spawn(accepting)?,
        );
    }
    drop(ending);
    tokio::select! {
        () = shutdown => {}
        _ = ended.recv() => tracing::error!("an accept loop ended: stopping"),
    }
    let _ = stop.send(true);
    let ended = tokio::task::spawn_blocking(move || {
        loops
            .into_iter()
            .map(|l| l.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect::<std::io::Result<Vec<()>>>()
    });
    ended
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
        .map(drop)
}

/// One accept loop: until `shutdown` resolves, then open connections get at most [`GRACE`].
async fn accept<S: Answer>(
    listener: TcpListener,
    service: S,
    limits: ServeLimits,
    slots: Arc<Semaphore>,
    capacity: usize,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(limits.max_header_bytes)
        // The read buffer bounds a head that never ends; hyper's smallest is 8 KiB.
        .max_buf_size(limits.max_header_bytes.saturating_mul(2).max(8192));
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        // A slot first: beyond the cap, connections wait in the kernel's backlog, unread.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors or memory, or a connection reset before it was taken:
                    // none ends the server; a pause lets descriptors free up.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(service.clone());
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let _slot = slot;
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    let _ = stop.send(true);
    // Every slot back means every connection ended; those that have not by then are dropped
    // with the runtime.
    let all = u32::try_from(capacity).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(GRACE, slots.acquire_many(all)).await;
}

/// The configured cap, lowered to what the open-file limit allows once raised as far as the
/// system permits (Debian's default soft limit of 1,024 descriptors would end the accept loop
/// long before a cap of thousands).
fn connection_capacity(wanted: usize) -> usize {
    // Descriptors kept for the store, the output files, the log and outgoing fetches.
    const RESERVED: u64 = 64;
    let Some(limit) = raise_open_file_limit() else {
        return wanted;
    };
    let allowed = usize::try_from(limit.saturating_sub(RESERVED).max(1)).unwrap_or(usize::MAX);
    if allowed < wanted {
        tracing::warn!(
            "serve.max_connections is {wanted} but the open-file limit is {limit}: \
             serving at most {allowed} connections at once"
        );
    }
    wanted.min(allowed).min(Semaphore::MAX_PERMITS)
}

/// Raises the soft open-file limit to the hard one, as Go's runtime does at start; returns the
/// limit now in force.
fn raise_open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit for the call to write.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit for the call to read.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    Some(limit.rlim_cur)
}
