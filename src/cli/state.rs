//! `kairan state copy`: a state moved between backends (a SQLite file and PostgreSQL).

use super::Out;
use kairan::store::Location;
use kairan::store::copy::copy as copy_state;
use std::process::ExitCode;

pub fn copy(from: &str, to: &str, out: &Out) -> ExitCode {
    let (from, to) = (Location::parse(from), Location::parse(to));
    match copy_state(&from, &to) {
        Ok(entries) => {
            super::print_stdout(&format!(
                "copied {} into {}: {entries} entries, their ids kept\n",
                from.shown(),
                to.shown()
            ));
            ExitCode::SUCCESS
        }
        Err(e) => {
            out.error(&e.to_string(), &[]);
            ExitCode::from(1)
        }
    }
}
