//! One article page → its content and date texts, by a source's `[source.article]` rule. What
//! is found is raw: [`crate::normalize::article`] sanitizes the HTML and reads the dates.

use super::ExtractError;
use super::html::{date_text, document};
use scraper::{ElementRef, Selector};

/// The compiled `[source.article]` table of a source.
#[derive(Debug, Clone)]
pub struct ArticleRule {
    pub content: Selector,
    pub published: Option<Selector>,
    pub updated: Option<Selector>,
    /// The selectors as written, for messages and to tell when the rule changed: what the
    /// state extracted under another rule is extracted again from the kept page.
    pub fingerprint: String,
}

impl ArticleRule {
    /// Compiles a `[source.article]` table; an error names the key whose selector does not
    /// parse.
    pub fn parse(
        content: &str,
        published: Option<&str>,
        updated: Option<&str>,
    ) -> Result<ArticleRule, (&'static str, scraper::error::SelectorErrorKind)> {
        let optional = |key: &'static str, css: Option<&str>| {
            css.map(|c| Selector::parse(c).map_err(|e| (key, e)))
                .transpose()
        };
        Ok(ArticleRule {
            content: Selector::parse(content).map_err(|e| ("content", e))?,
            published: optional("published", published)?,
            updated: optional("updated", updated)?,
            fingerprint: format!(
                "content={content}\npublished={}\nupdated={}",
                published.unwrap_or(""),
                updated.unwrap_or("")
            ),
        })
    }

    /// The content selector as written.
    pub fn content_css(&self) -> &str {
        self.fingerprint
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("content="))
            .unwrap_or("")
    }
}

/// What a rule found on an article page, as found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawArticle {
    /// HTML as found, not yet sanitized.
    pub content: String,
    /// The text of the first element the `published` selector matched.
    pub published: Option<String>,
    pub updated: Option<String>,
}

/// Extracts an article from a decoded page. The content is the inner HTML of what the content
/// selector matches; where it matches several elements (a list such as `h2.ttl, p.article-txt`)
/// each is kept whole, so that paragraphs stay paragraphs, in page order, and an element inside
/// one already kept is not repeated.
pub fn extract(page: &str, rule: &ArticleRule) -> Result<RawArticle, ExtractError> {
    let document = document(page)?;
    let mut matches: Vec<ElementRef<'_>> = Vec::new();
    for element in document.select(&rule.content) {
        let inside_kept = element
            .ancestors()
            .any(|a| matches.last().is_some_and(|m| m.id() == a.id()));
        if !inside_kept {
            matches.push(element);
        }
    }
    let content = match matches.as_slice() {
        [] => {
            return Err(ExtractError::NoContent(rule.content_css().to_owned()));
        }
        [one] => one.inner_html(),
        many => many.iter().map(|e| e.html()).collect::<Vec<_>>().join("\n"),
    };
    let date = |selector: &Option<Selector>| {
        selector
            .as_ref()
            .and_then(|s| document.select(s).next())
            .map(|e| date_text(e).trim().to_owned())
    };
    Ok(RawArticle {
        content,
        published: date(&rule.published),
        updated: date(&rule.updated),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(content: &str) -> ArticleRule {
        ArticleRule::parse(content, Some(".publish-date"), Some(".update-date")).unwrap()
    }

    const PAGE: &str = r#"<html><body><div class="news-detail"><main>
        <h1 class="ttl">題</h1>
        <p class="publish-date">公開日：２０２３年９月１２日</p>
        <p class="update-date">最終更新日：2023年10月2日</p>
        <h2 class="ttl">概要</h2><p class="article-txt">本文<a href="a.html">一</a></p>
        <div class="box"><p class="article-txt">囲み</p></div>
        </main></div></body></html>"#;

    #[test]
    fn one_match_gives_its_inner_html() {
        let a = extract(PAGE, &rule("div.news-detail main")).unwrap();
        assert!(
            a.content.contains("<h2 class=\"ttl\">概要</h2>"),
            "{}",
            a.content
        );
        assert!(!a.content.contains("<main>"));
        assert_eq!(a.published.as_deref(), Some("公開日：２０２３年９月１２日"));
        assert_eq!(a.updated.as_deref(), Some("最終更新日：2023年10月2日"));
    }

    #[test]
    fn several_matches_are_kept_whole_in_page_order_without_repeats() {
        let a = extract(PAGE, &rule("h2.ttl, p.article-txt, div.box")).unwrap();
        assert_eq!(
            a.content,
            "<h2 class=\"ttl\">概要</h2>\n<p class=\"article-txt\">本文<a href=\"a.html\">一</a></p>\n\
             <div class=\"box\"><p class=\"article-txt\">囲み</p></div>"
        );
    }

    #[test]
    fn a_page_without_the_content_element_is_an_error_naming_the_selector() {
        let e = extract("<p>moved</p>", &rule(".article-body")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the content selector \".article-body\" matched nothing on the article page"
        );
    }

    #[test]
    fn a_hostile_page_is_refused_by_the_nesting_cap_and_entities_stay_text() {
        let deep = format!("<div class=\"article-body\">{}", "<div>".repeat(5000));
        assert!(matches!(
            extract(&deep, &rule(".article-body")),
            Err(ExtractError::TooDeep(_))
        ));
        let entities = format!(
            "<main><p>{}</p></main>",
            "&lt;script&gt;&amp;".repeat(10_000)
        );
        let a = extract(&entities, &rule("main")).unwrap();
        assert!(!a.content.contains("<script>"));
    }
}
