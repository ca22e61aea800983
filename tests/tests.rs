//! The integration tests, as one test binary rather than one per file: each binary links in
//! `kairan` and all its dependencies, and on a two-core machine one link step costs far less
//! than nine. Each module is one area, as each file was; `cargo test --test tests serve::`
//! runs one of them.

mod common;

mod articles;
mod cli;
mod faults;
mod fetch;
mod fuzz_regressions;
mod golden;
mod history;
mod hostile;
mod input;
mod layout;
mod notify;
mod properties;
mod run;
mod scaleout;
mod serve;
mod suggest;
