//! How single values of the file are read: source URLs, durations, positions, and selector
//! errors put in words.

use scraper::error::SelectorErrorKind;
use std::path::Path;
use std::time::Duration;
use url::Url;

/// Accepts http(s) and file URLs, and plain paths (made absolute against the working directory).
pub(super) fn parse_source_url(value: &str) -> Option<Url> {
    match Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https" | "file") => Some(url),
        Ok(_) => None,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            let path = Path::new(value);
            let absolute = if path.is_absolute() {
                path.to_path_buf()
            } else {
                std::env::current_dir().ok()?.join(path)
            };
            Url::from_file_path(absolute).ok()
        }
        Err(_) => None,
    }
}

/// What is wrong with a selector, in words: scraper's own message for the commonest mistakes
/// is "Unexpected error occurred. Please report this to the developer" and a debug dump.
pub(super) fn selector_problem(e: &SelectorErrorKind) -> String {
    use SelectorErrorKind::UnexpectedSelectorParseError;
    let UnexpectedSelectorParseError(kind) = e else {
        return e.to_string();
    };
    let debug = format!("{kind:?}");
    let name = debug.split(['(', ' ', '{']).next().unwrap_or_default();
    match name {
        "ClassNeedsIdent" => "a class name must follow \".\"".to_owned(),
        "EmptySelector" => "the selector is empty".to_owned(),
        "DanglingCombinator" => "a combinator (>, +, ~) has nothing after it".to_owned(),
        "InvalidState" => "a pseudo-class or attribute is not closed".to_owned(),
        // The variant's name, split into words: `NoQualifiedNameInAttributeSelector` →
        // "no qualified name in attribute selector".
        _ => name
            .chars()
            .enumerate()
            .flat_map(|(i, c)| {
                let space = (i > 0 && c.is_ascii_uppercase()).then_some(' ');
                space.into_iter().chain(c.to_lowercase())
            })
            .collect(),
    }
}

/// A duration written as a number and a unit: `90s`, `30m`, `1h`, `1d`.
pub(super) fn parse_interval(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let n: u64 = text[..split].parse().ok()?;
    let unit = match text[split..].trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    Some(Duration::from_secs(n.checked_mul(unit)?))
}

/// 1-based line and column (in characters) of a byte offset.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}
