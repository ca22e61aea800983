//! What the commands print, and how: text for people, JSON lines for log collectors, nothing
//! with `-q`, and on a non-terminal (cron) nothing on success unless `-v`.

mod article;
pub mod check;
pub mod explain;
mod notify;
pub mod run;
pub mod state;
pub mod status;
pub mod suggest;

use serde_json::{Map, Value, json};
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

pub struct Out {
    quiet: bool,
    verbose: bool,
    json: bool,
    /// stderr is a terminal: a person is watching, so progress and a summary are shown.
    pub terminal: bool,
}

impl Out {
    pub fn new(quiet: bool, verbose: bool, json: bool) -> Out {
        Out {
            quiet,
            verbose,
            json,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// Library diagnostics (`KAIRAN_LOG=debug`), on stderr, as text or JSON lines; from `info`
    /// up for a daemon, else from `warn`; silenced by `-q`.
    pub fn init_tracing(&self, daemon: bool) {
        let default = match (self.quiet, daemon || self.verbose) {
            (true, _) => "off",
            (false, true) => "info",
            (false, false) => "warn",
        };
        let filter = tracing_subscriber::EnvFilter::try_from_env("KAIRAN_LOG")
            .unwrap_or_else(|_| default.into());
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr);
        if self.json {
            builder.json().init();
        } else {
            builder.with_ansi(self.terminal).init();
        }
    }

    /// Whether the end-of-run summary is wanted: `-v`, or a person at a terminal.
    pub fn summary_wanted(&self) -> bool {
        !self.quiet && (self.verbose || self.terminal)
    }

    /// An error, always shown but with `-q`; `fields` go into the JSON form.
    pub fn error(&self, message: &str, fields: &[(&str, &str)]) {
        self.line("error", message, fields);
    }

    /// A detail shown with `-v` only.
    pub fn info(&self, message: &str, fields: &[(&str, &str)]) {
        if self.verbose {
            self.line("info", message, fields);
        }
    }

    /// The summary of a run, where [`Out::summary_wanted`].
    pub fn summary(&self, message: &str, fields: &[(&str, &str)]) {
        if self.summary_wanted() {
            self.line("info", message, fields);
        }
    }

    fn line(&self, level: &str, message: &str, fields: &[(&str, &str)]) {
        if self.quiet {
            return;
        }
        if self.json {
            let mut object = Map::new();
            object.insert("level".into(), json!(level));
            object.insert("message".into(), json!(message));
            for (k, v) in fields {
                object.insert((*k).into(), json!(v));
            }
            eprintln!("{}", Value::Object(object));
        } else if level == "error" {
            eprintln!("kairan: {message}");
        } else {
            eprintln!("{message}");
        }
    }
}

/// Writes a command's result on stdout. A reader that went away (`| head`) is not an error
/// worth a message: the output was for it alone.
pub fn print_stdout(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Aligns columns: every cell but the last is padded to its column's width (in characters).
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < row.len() {
                out.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.push('\n');
    }
    out
}

/// `kairan init`: the shipped configuration, with its comments, to adapt. Never overwrites.
pub fn init(path: &Path, out: &Out) -> ExitCode {
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| {
            std::io::Write::write_all(&mut f, kairan::config::DEFAULT_CONFIG.as_bytes())
        });
    match written {
        Ok(()) => {
            if !out.quiet {
                print_stdout(&format!(
                    "wrote {}: set [site] base_url, then try `kairan check --config {0}`\n",
                    path.display()
                ));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            out.error(&format!("cannot write {}: {e}", path.display()), &[]);
            ExitCode::from(1)
        }
    }
}

/// `kairan man`: the manual page, made from the command-line definition.
pub fn man(command: clap::Command) -> ExitCode {
    let mut page = Vec::new();
    match clap_mangen::Man::new(command).render(&mut page) {
        Ok(()) => {
            print_stdout(&String::from_utf8_lossy(&page));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kairan: {e}");
            ExitCode::from(1)
        }
    }
}
