//! A feed narrowed by a reader's query: `?q=WORD&exclude=WORD&limit=N`, what portals ask of
//! `serve` ("the feed, but only entries that mention X"). Words match the title and summary
//! after the folding topic rules use, so `ＳＭＳ` finds `SMS`.

use crate::text::fold;

/// Longest query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 200;

/// What a query keeps of a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Folded words that must all occur.
    pub q: Vec<String>,
    /// Folded words none of which may occur.
    pub exclude: Vec<String>,
    pub limit: Option<usize>,
    /// The query as it is written back in the feed's own links: `q=…&limit=…`, in a fixed
    /// order, so that one variant has one URL.
    pub canonical: String,
}

impl Filter {
    /// Reads a query string; the error is the reason, for a 400. `max_entries` bounds `limit`.
    pub fn parse(query: &str, max_entries: usize) -> Result<Filter, String> {
        if query.len() > MAX_QUERY_BYTES {
            return Err(format!(
                "the query is {} bytes; at most {MAX_QUERY_BYTES} are accepted",
                query.len()
            ));
        }
        let mut filter = Filter {
            q: Vec::new(),
            exclude: Vec::new(),
            limit: None,
            canonical: String::new(),
        };
        let mut raw: Vec<(String, String)> = Vec::new();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let word = || {
                let folded = fold(value.trim());
                if folded.is_empty() {
                    Err(format!("{key} needs a word"))
                } else {
                    Ok(folded)
                }
            };
            let written = match &*key {
                "q" => {
                    filter.q.push(word()?);
                    filter.q.last().cloned()
                }
                "exclude" => {
                    filter.exclude.push(word()?);
                    filter.exclude.last().cloned()
                }
                "limit" => {
                    let n = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=max_entries).contains(n))
                        .ok_or_else(|| {
                            format!(
                                "limit must be a number from 1 to {max_entries}, not \"{value}\""
                            )
                        })?;
                    if filter.limit.replace(n).is_some() {
                        return Err("limit is given twice".to_owned());
                    }
                    Some(n.to_string())
                }
                other => {
                    return Err(format!(
                        "unknown parameter \"{other}\": q, exclude and limit are accepted"
                    ));
                }
            };
            // Written back folded: `q=SMS` and `q=ＳＭＳ` are one variant, with one URL.
            raw.extend(written.map(|w| (key.into_owned(), w)));
        }
        raw.sort();
        filter.canonical = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(raw)
            .finish();
        Ok(filter)
    }

    /// Whether the filter lets an entry through (the limit aside), by the title and summary
    /// its feed shows.
    pub fn keeps(&self, title: &str, summary: &str) -> bool {
        let text = fold(&format!("{title}\n{summary}"));
        self.q.iter().all(|w| text.contains(w.as_str()))
            && !self.exclude.iter().any(|w| text.contains(w.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_read_folded_and_written_back_in_one_order() {
        let f =
            Filter::parse("limit=5&q=%EF%BC%B3%EF%BC%AD%EF%BC%B3&exclude=Android", 100).unwrap();
        assert_eq!(f.q, ["sms"]);
        assert_eq!(f.exclude, ["android"]);
        assert_eq!(f.limit, Some(5));
        assert_eq!(f.canonical, "exclude=android&limit=5&q=sms");
        assert_eq!(Filter::parse("q=SMS", 100).unwrap().canonical, "q=sms");
        assert_eq!(Filter::parse("&", 100).unwrap().canonical, "");
        for (bad, says) in [
            ("limit=0", "limit must be"),
            ("limit=101", "limit must be"),
            ("limit=x", "limit must be"),
            ("limit=1&limit=2", "twice"),
            ("utm_source=x", "unknown parameter \"utm_source\""),
            ("q=", "q needs a word"),
        ] {
            let e = Filter::parse(bad, 100).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert!(
            Filter::parse(&"q=a&".repeat(60), 100)
                .unwrap_err()
                .contains("at most 200")
        );
    }
}
