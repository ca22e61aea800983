//! Every input saved under `fuzz/regressions/<target>/` (what fuzzing found, and a small
//! minimised corpus) goes through the same checks as its fuzz target, `fuzz/src/lib.rs`: each
//! returns without panicking, and the entries extraction lets through are XML-safe, cut to
//! length, linked over http(s) and dated in writable RFC 3339.

#[path = "../fuzz/src/lib.rs"]
mod checks;

use crate::common;

fn run_saved(target: &str, check: fn(&[u8])) {
    let dir = common::root().join("fuzz/regressions").join(target);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no inputs in {}", dir.display());
    for path in paths {
        // Shown with the test's output when the check panics: which input it was.
        eprintln!("{}", path.display());
        check(&std::fs::read(&path).unwrap());
    }
}

#[test]
fn html_extract() {
    run_saved("html_extract", checks::html_extract);
}

#[test]
fn article() {
    run_saved("article", checks::article);
}

#[test]
fn suggest() {
    run_saved("suggest", checks::suggest);
}

#[test]
fn feed() {
    run_saved("feed", checks::feed);
}

#[test]
fn date() {
    run_saved("date", checks::date);
}

#[test]
fn config() {
    run_saved("config", checks::config);
}
