//! Blocking clients called from async code, and async clients called from blocking code: the
//! store's backends are synchronous (rusqlite, the `postgres` crate) and object storage is
//! async (object_store), while a refresh runs on a multi-thread runtime and the commands that
//! only read the state run on none. A current-thread runtime is not supported (the `postgres`
//! client cannot block inside one): the only ones kairan starts are `serve`'s accept loops,
//! which answer from memory and never touch the state.

use std::future::Future;
use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `f`, which blocks (a database round trip), wherever it is called: on a runtime's
/// worker through `block_in_place`, so that the worker's other tasks move elsewhere and a
/// client that drives a runtime of its own (the `postgres` crate's) may block on it; anywhere
/// else directly.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Waits for `future` from code that is not async: on the runtime it is called from, if any
/// (a multi-thread one, as every kairan command starts), else on a runtime made for it.
pub fn wait<F: Future>(future: F) -> std::io::Result<F::Output> {
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            Ok(tokio::task::block_in_place(|| h.block_on(future)))
        }
        _ => Ok(tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(future)),
    }
}
