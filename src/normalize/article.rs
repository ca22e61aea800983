//! A raw article → [`Article`]: its HTML sanitized by an allow-list, its links made absolute,
//! its date texts read by the same parser as listings.
//!
//! The allow-list is written out here, not taken from ammonia's defaults, so that the README
//! can state it and a newer ammonia cannot widen it: the tags and attributes of text, lists,
//! tables, figures and links; URLs of http, https and mailto only; `<script>` and `<style>`
//! dropped with their content; anything else (iframe, object, embed, form, event attributes,
//! `style`, `class`) dropped, its text kept.

use crate::extract::article::RawArticle;
use crate::extract::html::fragment_text;
use crate::model::{Article, ArticleDates};
use crate::text::{self, MAX_EXCERPT_CHARS, date};
use ammonia::{Builder, UrlRelative};
use chrono_tz::Tz;
use std::collections::{HashMap, HashSet};
use url::Url;

/// Tags kept in article content.
pub const TAGS: &[&str] = &[
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "rp",
    "rt",
    "ruby",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "u",
    "ul",
];

/// Attributes kept on any kept tag.
pub const GENERIC_ATTRIBUTES: &[&str] = &["lang", "title"];

/// Attributes kept on particular tags.
pub const TAG_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("a", &["href", "hreflang"]),
    ("img", &["src", "alt", "width", "height"]),
    ("td", &["colspan", "rowspan"]),
    ("th", &["colspan", "rowspan", "scope"]),
    ("col", &["span"]),
    ("colgroup", &["span"]),
    ("ol", &["start"]),
    ("time", &["datetime"]),
    ("blockquote", &["cite"]),
    ("q", &["cite"]),
];

/// URL schemes kept in `href` and `src`.
pub const URL_SCHEMES: &[&str] = &["http", "https", "mailto"];

/// Tags dropped together with their content.
pub const DROPPED_WITH_CONTENT: &[&str] = &["script", "style"];

/// What reading an article gave, and what was wrong with its dates.
pub struct Normalized {
    pub article: Article,
    pub warnings: Vec<String>,
}

/// Why an article gave no content.
#[derive(Debug, thiserror::Error)]
pub enum ArticleError {
    #[error("the article's content is empty once sanitized")]
    Empty,
    #[error(transparent)]
    Extract(#[from] crate::extract::ExtractError),
}

/// Sanitizes and dates a raw article found on the page at `base` (after redirects).
pub fn article(raw: RawArticle, base: &Url, tz: Tz) -> Result<Normalized, ArticleError> {
    let content = text::xml_safe(&sanitize(&raw.content, base));
    let mut excerpt = text::clean_paragraphs(&fragment_text(&content)?);
    if excerpt.is_empty() && !content.contains("<img") {
        return Err(ArticleError::Empty);
    }
    text::truncate(&mut excerpt, MAX_EXCERPT_CHARS);
    let mut warnings = Vec::new();
    let mut read = |found: Option<String>, what: &str| {
        let found = found?;
        date::parse(&found, tz)
            .map_err(|e| warnings.push(format!("article {what} date: {e}")))
            .ok()
    };
    let dates = ArticleDates {
        published: read(raw.published, "published"),
        updated: read(raw.updated, "updated"),
    };
    Ok(Normalized {
        article: Article {
            content,
            excerpt,
            dates,
        },
        warnings,
    })
}

/// Article HTML cleaned by the allow-list above, relative URLs resolved against `base`.
pub fn sanitize(html: &str, base: &Url) -> String {
    let tags: HashSet<&str> = TAGS.iter().copied().collect();
    let tag_attributes: HashMap<&str, HashSet<&str>> = TAG_ATTRIBUTES
        .iter()
        .map(|(tag, attrs)| (*tag, attrs.iter().copied().collect()))
        .collect();
    Builder::new()
        .tags(tags)
        .generic_attributes(GENERIC_ATTRIBUTES.iter().copied().collect())
        .tag_attributes(tag_attributes)
        .url_schemes(URL_SCHEMES.iter().copied().collect())
        .clean_content_tags(DROPPED_WITH_CONTENT.iter().copied().collect())
        .url_relative(UrlRelative::RewriteWithBase(base.clone()))
        .link_rel(Some("noopener noreferrer"))
        .clean(html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://www.ipa.go.jp/security/anshin/attention/2023/mgdayori20230912.html")
            .unwrap()
    }

    #[test]
    fn active_content_goes_and_its_text_stays() {
        let html = r#"<p onclick="x()" style="color:red" class="article-txt">本文<script>alert(1)</script><style>p{}</style></p>
            <iframe src="https://evil.example/">枠の文</iframe><object data="x.swf">代替</object>
            <embed src="x.swf"><form action="/post"><input name="q">送信</form>
            <a href="javascript:alert(1)">js</a><a href="data:text/html,x">data</a>
            <a href="vbscript:x">vb</a><img src="data:image/png;base64,AAAA" onerror="x()">"#;
        let clean = sanitize(html, &base());
        for gone in [
            "script",
            "alert",
            "style",
            "onclick",
            "class",
            "iframe",
            "object",
            "embed",
            "form",
            "input",
            "javascript",
            "data:",
            "vbscript",
            "onerror",
        ] {
            assert!(!clean.contains(gone), "{gone} left in {clean}");
        }
        for kept in ["本文", "枠の文", "代替", "送信", ">js</a>"] {
            assert!(clean.contains(kept), "{kept} lost from {clean}");
        }
    }

    #[test]
    fn relative_links_and_images_become_absolute() {
        let clean = sanitize(
            r#"<a href="../../measures/a.html">相対</a><a href="/security/b.pdf">根</a><img src="img/fig1.png" alt="図1"><table><tr><td colspan="2">表</td></tr></table>"#,
            &base(),
        );
        assert!(clean.contains(r#"href="https://www.ipa.go.jp/security/anshin/measures/a.html""#));
        assert!(clean.contains(r#"href="https://www.ipa.go.jp/security/b.pdf""#));
        assert!(clean.contains(
            r#"src="https://www.ipa.go.jp/security/anshin/attention/2023/img/fig1.png""#
        ));
        assert!(clean.contains(r#"<td colspan="2">表</td>"#), "{clean}");
    }

    #[test]
    fn dates_and_excerpt_are_read() {
        let raw = RawArticle {
            content: format!("<p>{}</p>", "あ".repeat(400)),
            published: Some("公開日：２０２３年９月１２日".into()),
            updated: Some("最終更新日:2023/10/02".into()),
        };
        let n = article(raw, &base(), chrono_tz::Asia::Tokyo).unwrap();
        assert_eq!(
            n.article.dates.published.unwrap().to_rfc3339(),
            "2023-09-12T00:00:00+09:00"
        );
        assert_eq!(
            n.article.dates.updated.unwrap().to_rfc3339(),
            "2023-10-02T00:00:00+09:00"
        );
        assert_eq!(n.article.excerpt.chars().count(), MAX_EXCERPT_CHARS);
        assert!(n.warnings.is_empty());
    }

    #[test]
    fn content_that_is_only_script_is_empty() {
        let raw = RawArticle {
            content: "<script>x()</script>".into(),
            ..Default::default()
        };
        assert!(matches!(
            article(raw, &base(), chrono_tz::Asia::Tokyo),
            Err(ArticleError::Empty)
        ));
    }
}
