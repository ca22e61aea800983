//! Raw configuration → [`Config`]: each value checked and given its meaning, each stage's
//! settings built, and every error placed (file, line, column, key).

use super::raw::{
    DEFAULT_MAX_ENTRIES, DEFAULT_TIMEZONE, RawArticle, RawConfig, RawFetch, RawSelect, RawServe,
    RawSite, RawSource, RawTopic, unplaced,
};
use super::values::{line_col, parse_interval, parse_source_url, selector_problem};
use super::{Config, ConfigError, ServeLimits, ServeSettings};
use crate::classify::{Classifier, Topic};
use crate::extract::article::ArticleRule;
use crate::extract::html::Selectors;
use crate::fetch::FetchSettings;
use crate::publish::Site;
use crate::publish::labels::{LANGUAGES, Labels};
use crate::source::{Source, SourceKind};
use crate::text::fold;
use chrono_tz::Tz;
use std::ops::Range;

use std::time::Duration;
use toml::Spanned;
use url::Url;

/// Compiles one configuration text; `origin` names it in messages.
pub(super) struct Compiler<'a> {
    pub(super) text: &'a str,
    pub(super) origin: &'a str,
}

impl Compiler<'_> {
    pub(super) fn invalid(
        &self,
        span: Range<usize>,
        key: &str,
        message: impl Into<String>,
    ) -> ConfigError {
        // A default stands nowhere in the file.
        let at = (!(span.is_empty() && span.start == 0)).then(|| line_col(self.text, span.start));
        ConfigError::Invalid {
            path: self.origin.to_owned(),
            at,
            key: key.to_owned(),
            message: message.into(),
        }
    }

    pub(super) fn compile(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let site = self.site(raw.site)?;
        let fetch = self.fetch(raw.fetch)?;
        if raw.source.is_empty() {
            return Err(self.invalid(0..0, "source", "at least one [[source]] is required"));
        }
        let mut sources = Vec::with_capacity(raw.source.len());
        for s in raw.source {
            let span = s.id.span();
            let source = self.source(s)?;
            if sources.iter().any(|o: &Source| o.id == source.id) {
                return Err(self.invalid(
                    span,
                    "source.id",
                    format!("\"{}\" is used by two sources", source.id),
                ));
            }
            sources.push(source);
        }
        let mut topics: Vec<Topic> = Vec::with_capacity(raw.topic.len());
        for t in raw.topic {
            let span = t.id.span();
            let topic = self.topic(t)?;
            // `all` is the combined feed's file name.
            if topic.id == crate::publish::ALL || topics.iter().any(|o| o.id == topic.id) {
                return Err(self.invalid(
                    span,
                    "topic.id",
                    format!("\"{}\" is reserved or used twice", topic.id),
                ));
            }
            topics.push(topic);
        }
        let embed_span = raw.output.embed_entries.span();
        let embed_entries = raw.output.embed_entries.into_inner();
        if embed_entries == 0 {
            return Err(self.invalid(embed_span, "output.embed_entries", "expected at least 1"));
        }
        let serve = self.serve(raw.serve)?;
        let notify = self.notifies(raw.notify, &topics)?;
        let output = self.output(raw.output.dir, raw.output.url)?;
        let state = self.state(raw.state)?;
        Ok(Config {
            origin: self.origin.to_owned(),
            site,
            output,
            state,
            fetch,
            embed_entries,
            archives: raw.output.archives,
            serve,
            sources,
            classifier: Classifier::new(&topics),
            topics,
            notify,
        })
    }

    fn site(&self, s: RawSite) -> Result<Site, ConfigError> {
        let span = s.base_url.span();
        let mut base = s.base_url.into_inner();
        if !base.ends_with('/') {
            // Joining relative paths onto a base without the slash would drop its last segment.
            base.push('/');
        }
        let base_url = Url::parse(&base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                self.invalid(
                    span,
                    "site.base_url",
                    format!("expected an absolute http(s) URL, found \"{base}\""),
                )
            })?;
        let timezone = s
            .timezone
            .unwrap_or_else(|| unplaced(DEFAULT_TIMEZONE.to_owned()));
        let tz_span = timezone.span();
        let tz_name = timezone.into_inner();
        let timezone = tz_name.parse::<Tz>().map_err(|_| {
            self.invalid(
                tz_span,
                "site.timezone",
                format!("expected an IANA time zone such as \"Asia/Tokyo\", found \"{tz_name}\""),
            )
        })?;
        let max_entries = s
            .max_entries
            .unwrap_or_else(|| unplaced(DEFAULT_MAX_ENTRIES));
        let max_span = max_entries.span();
        let max_entries = max_entries.into_inner();
        if max_entries == 0 {
            return Err(self.invalid(max_span, "site.max_entries", "expected at least 1"));
        }
        let language = s.language.unwrap_or_else(|| unplaced("ja".to_owned()));
        let labels = Labels::of(language.get_ref()).ok_or_else(|| {
            let known: Vec<String> = LANGUAGES
                .iter()
                .map(|l| format!("\"{}\"", l.code))
                .collect();
            self.invalid(
                language.span(),
                "site.language",
                format!(
                    "expected one of {}, found \"{}\"",
                    known.join(", "),
                    language.get_ref()
                ),
            )
        })?;
        Ok(Site {
            labels,
            author: s.author.unwrap_or_else(|| s.title.clone()),
            title: s.title,
            base_url,
            timezone,
            max_entries,
        })
    }

    fn fetch(&self, f: RawFetch) -> Result<FetchSettings, ConfigError> {
        let timeout_span = f.timeout_secs.span();
        let timeout_secs = f.timeout_secs.into_inner();
        if timeout_secs == 0 {
            return Err(self.invalid(timeout_span, "fetch.timeout_secs", "expected at least 1"));
        }
        let cap_span = f.max_body_bytes.span();
        let max_body_bytes = f.max_body_bytes.into_inner();
        if max_body_bytes < 1024 {
            return Err(self.invalid(cap_span, "fetch.max_body_bytes", "expected at least 1024"));
        }
        // Site operators look for a way to reach whoever polls them in the User-Agent.
        let user_agent = match f.contact.as_deref().map(str::trim) {
            Some(contact) if !contact.is_empty() => format!("{} (+{contact})", f.user_agent),
            _ => f.user_agent,
        };
        Ok(FetchSettings {
            user_agent,
            timeout: Duration::from_secs(timeout_secs),
            max_body_bytes,
            retries: f.retries,
            max_articles_per_run: self.between(
                f.max_articles_per_run,
                0,
                100_000,
                "fetch.max_articles_per_run",
            )?,
        })
    }

    fn serve(&self, s: RawServe) -> Result<ServeSettings, ConfigError> {
        let listen = s.listen.get_ref().parse().map_err(|_| {
            self.invalid(
                s.listen.span(),
                "serve.listen",
                format!(
                    "expected an address and port such as \"127.0.0.1:8080\", found \"{}\"",
                    s.listen.get_ref()
                ),
            )
        })?;
        let interval = parse_interval(s.interval.get_ref())
            .filter(|d| *d >= Duration::from_secs(60))
            .ok_or_else(|| {
                self.invalid(
                    s.interval.span(),
                    "serve.interval",
                    format!(
                        "expected a duration of at least a minute such as \"30m\" or \"1h\", found \"{}\"",
                        s.interval.get_ref()
                    ),
                )
            })?;
        let header_timeout = parse_interval(s.header_timeout.get_ref())
            .filter(|d| *d >= Duration::from_secs(1))
            .ok_or_else(|| {
                self.invalid(
                    s.header_timeout.span(),
                    "serve.header_timeout",
                    format!(
                        "expected a duration of at least a second such as \"10s\", found \"{}\"",
                        s.header_timeout.get_ref()
                    ),
                )
            })?;
        let limits = ServeLimits {
            header_timeout,
            max_connections: self.between(
                s.max_connections,
                1,
                1 << 20,
                "serve.max_connections",
            )?,
            max_header_bytes: self.between(
                s.max_header_bytes,
                1024,
                1 << 20,
                "serve.max_header_bytes",
            )?,
            max_uri_bytes: self.between(s.max_uri_bytes, 256, 1 << 20, "serve.max_uri_bytes")?,
        };
        Ok(ServeSettings {
            listen,
            interval,
            cors_origins: s.cors_origins,
            limits,
        })
    }

    /// A count from `min` to `max`.
    fn between(
        &self,
        value: Spanned<u64>,
        min: u64,
        max: u64,
        key: &str,
    ) -> Result<usize, ConfigError> {
        let span = value.span();
        let n = value.into_inner();
        usize::try_from(n)
            .ok()
            .filter(|_| (min..=max).contains(&n))
            .ok_or_else(|| self.invalid(span, key, format!("expected {min} to {max}, found {n}")))
    }

    fn source(&self, s: RawSource) -> Result<Source, ConfigError> {
        let id = self.slug(s.id, "source.id")?;
        let url_span = s.url.span();
        let url = parse_source_url(s.url.get_ref()).ok_or_else(|| {
            self.invalid(
                url_span,
                "source.url",
                format!(
                    "source \"{id}\": expected an http(s) or file URL or a path, found \"{}\"",
                    s.url.get_ref()
                ),
            )
        })?;
        let kind_span = s.kind.span();
        let kind = match (s.kind.get_ref().as_str(), s.select) {
            ("html", Some(select)) => SourceKind::Html(self.selectors(&id, select.into_inner())?),
            ("html", None) => {
                return Err(self.invalid(
                    kind_span,
                    "source.select",
                    format!("source \"{id}\" is kind = \"html\" and needs a [source.select] table"),
                ));
            }
            ("feed", None) => SourceKind::Feed,
            ("feed", Some(select)) => {
                return Err(self.invalid(
                    select.span(),
                    "source.select",
                    format!("source \"{id}\" is kind = \"feed\": selectors do not apply"),
                ));
            }
            (other, _) => {
                return Err(self.invalid(
                    kind_span,
                    "source.kind",
                    format!("source \"{id}\": expected \"html\" or \"feed\", found \"{other}\""),
                ));
            }
        };
        let article = s.article.map(|a| self.article(&id, a)).transpose()?;
        Ok(Source {
            title: s.title.unwrap_or_else(|| id.clone()),
            id,
            url,
            kind,
            article,
        })
    }

    fn selectors(&self, source: &str, s: RawSelect) -> Result<Selectors, ConfigError> {
        Selectors::parse(
            s.item.get_ref(),
            s.title.get_ref(),
            css(&s.link),
            css(&s.date),
            css(&s.summary),
        )
        .map_err(|(key, e)| {
            let value = match key {
                "item" => Some(&s.item),
                "title" => Some(&s.title),
                "link" => s.link.as_ref(),
                "date" => s.date.as_ref(),
                _ => s.summary.as_ref(),
            };
            self.invalid_selector(source, "select", key, value, &e)
        })
    }

    fn article(&self, source: &str, a: RawArticle) -> Result<ArticleRule, ConfigError> {
        ArticleRule::parse(a.content.get_ref(), css(&a.published), css(&a.updated)).map_err(
            |(key, e)| {
                let value = match key {
                    "content" => Some(&a.content),
                    "published" => a.published.as_ref(),
                    _ => a.updated.as_ref(),
                };
                self.invalid_selector(source, "article", key, value, &e)
            },
        )
    }

    /// A selector of `[source.<table>]` that does not parse: `value` is the one under `key`,
    /// which was given, or it could not have failed.
    fn invalid_selector(
        &self,
        source: &str,
        table: &str,
        key: &str,
        value: Option<&Spanned<String>>,
        e: &scraper::error::SelectorErrorKind,
    ) -> ConfigError {
        let value = value.expect("the key of a selector that was given");
        self.invalid(
            value.span(),
            &format!("source.{table}.{key}"),
            format!(
                "source \"{source}\": invalid CSS selector \"{}\": {}",
                value.get_ref(),
                selector_problem(e)
            ),
        )
    }

    fn topic(&self, t: RawTopic) -> Result<Topic, ConfigError> {
        let span = t.id.span();
        let id = self.slug(t.id, "topic.id")?;
        let fold_all = |words: Vec<String>, key: &str| -> Result<Vec<String>, ConfigError> {
            words
                .into_iter()
                .map(|w| {
                    let folded = fold(w.trim());
                    if folded.is_empty() {
                        Err(self.invalid(
                            span.clone(),
                            &format!("topic.{key}"),
                            format!("topic \"{id}\": empty rule word"),
                        ))
                    } else {
                        Ok(folded)
                    }
                })
                .collect()
        };
        let any = fold_all(t.any, "any")?;
        let all = fold_all(t.all, "all")?;
        let none = fold_all(t.none, "none")?;
        if any.is_empty() && all.is_empty() {
            return Err(self.invalid(
                span,
                "topic.any",
                format!("topic \"{id}\" needs words in `any` or `all`, or it would match nothing"),
            ));
        }
        Ok(Topic {
            id,
            title: t.title,
            description: t.description,
            any,
            all,
            none,
        })
    }

    /// Ids become file names and URL segments: keep them to a safe ASCII alphabet.
    pub(super) fn slug(&self, id: Spanned<String>, key: &str) -> Result<String, ConfigError> {
        let span = id.span();
        let id = id.into_inner();
        let ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && !id.starts_with('-');
        if ok {
            Ok(id)
        } else {
            Err(self.invalid(
                span,
                key,
                format!("expected a slug of a-z, 0-9, - and _ (at most 64), found \"{id}\""),
            ))
        }
    }
}

/// An optional selector's text.
fn css(v: &Option<Spanned<String>>) -> Option<&str> {
    v.as_ref().map(|v| v.get_ref().as_str())
}
