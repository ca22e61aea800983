//! The shape of the code, held to what `src/lib.rs` states: each module imports only the
//! modules above it in the table of its documentation, and no source file outgrows a reader.

use crate::common::root;
use std::path::{Path, PathBuf};

/// The library's modules in the order `src/lib.rs` lists them in its table.
fn stated_order() -> Vec<String> {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    lib.lines()
        .filter_map(|l| l.strip_prefix("//! | [`"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect()
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/store/sqlite/mod.rs` → `store`).
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(root().join("src")).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_owned()
}

/// The modules a file names as `crate::x`, outside comments.
fn imports(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (i, _) in line.match_indices("crate::") {
            let before = line[..i].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `kairan::crate::…` does not occur; `foo_crate::` is not ours
            }
            let rest = &line[i + 7..];
            // `crate::{a, b::c}` names several.
            let names = match rest.strip_prefix('{') {
                Some(group) => group.split('}').next().unwrap_or("").split(',').collect(),
                None => vec![rest],
            };
            for name in names {
                let name: String = (name.trim().chars())
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                found.push(name);
            }
        }
    }
    found
}

#[test]
fn lib_states_every_module_once() {
    let order = stated_order();
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let mut declared: Vec<String> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').to_owned())
        .collect();
    declared.sort();
    let mut stated = order.clone();
    stated.sort();
    assert_eq!(
        stated, declared,
        "the table in src/lib.rs and its `pub mod`s differ"
    );
}

#[test]
fn no_module_imports_a_later_one() {
    let order = stated_order();
    let rank = |m: &str| order.iter().position(|o| o == m);
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut backwards = Vec::new();
    for file in files {
        let module = module_of(&file);
        // The binary and its commands sit above the whole library.
        let Some(own) = rank(&module) else { continue };
        let text = std::fs::read_to_string(&file).unwrap();
        for import in imports(&text) {
            match rank(&import) {
                Some(r) if r > own => backwards.push(format!(
                    "{}: {module} imports crate::{import}",
                    file.display()
                )),
                _ => {}
            }
        }
    }
    assert!(
        backwards.is_empty(),
        "imports against the stated order:\n{}",
        backwards.join("\n")
    );
}

#[test]
fn no_source_file_is_over_450_lines() {
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches", "examples", "fuzz/src"] {
        rust_files(&root().join(dir), &mut files);
    }
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > 450).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "{}", long.join("\n"));
}
