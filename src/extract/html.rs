//! HTML listings: one row per element matched by the item selector; title, link, date and
//! summary by selectors relative to the item.

use super::ExtractError;
use crate::config::Selectors;
use crate::model::{RawDate, RawRow};
use ego_tree::NodeRef;
use scraper::{ElementRef, Html, Node};

/// Extracts the rows of a decoded listing page.
pub fn extract(page: &str, select: &Selectors) -> Result<Vec<RawRow>, ExtractError> {
    let document = Html::parse_document(page);
    let rows: Vec<RawRow> = document
        .select(&select.item)
        .enumerate()
        .map(|(i, item)| RawRow {
            position: i + 1,
            title: item.select(&select.title).next().map(text),
            link: link(item, select),
            summary: select
                .summary
                .as_ref()
                .and_then(|s| item.select(s).next())
                .map(text),
            published: None,
            // Listing dates are last-updated or re-listing dates.
            updated: select
                .date
                .as_ref()
                .and_then(|s| item.select(s).next())
                .map(|d| RawDate::Text(text(d))),
        })
        .collect();
    if rows.is_empty() {
        return Err(ExtractError::NoItems {
            selector: select.item_css.clone(),
        });
    }
    Ok(rows)
}

/// The href of the link selector's first match; IPA wraps the whole item in its `<a>`, so the
/// item itself counts when it matches.
fn link(item: ElementRef<'_>, select: &Selectors) -> Option<String> {
    let own = select.link.matches(&item).then_some(item);
    own.into_iter()
        .chain(item.select(&select.link))
        .find_map(|a| a.value().attr("href"))
        .map(str::to_owned)
}

/// Elements whose text is never content.
fn is_inert(name: &str) -> bool {
    matches!(
        name,
        "script" | "style" | "noscript" | "template" | "iframe" | "object"
    )
}

/// Elements that break a line in the rendered page.
fn breaks_line(name: &str) -> bool {
    matches!(
        name,
        "br" | "p"
            | "div"
            | "li"
            | "ul"
            | "ol"
            | "dd"
            | "dt"
            | "tr"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "section"
            | "article"
            | "blockquote"
    )
}

/// The text a reader sees in an element: scripts and styles skipped, `<br>` and block elements
/// as line breaks. Whitespace is left as found; normalize collapses it.
pub fn text(element: ElementRef<'_>) -> String {
    let mut out = String::new();
    // An explicit stack: hostile pages nest deeply enough to overflow a recursive walk. The
    // flag marks the end of a line-breaking element, pushed below its children.
    let mut stack: Vec<(NodeRef<'_, Node>, bool)> = vec![(*element, false)];
    while let Some((node, closing)) = stack.pop() {
        match node.value() {
            _ if closing => out.push('\n'),
            Node::Text(t) => out.push_str(t),
            Node::Element(e) if is_inert(e.name()) => {}
            Node::Element(e) => {
                if breaks_line(e.name()) {
                    out.push('\n');
                    stack.push((node, true));
                }
                push_children(&mut stack, node);
            }
            Node::Document | Node::Fragment => push_children(&mut stack, node),
            _ => {}
        }
    }
    out
}

fn push_children<'a>(stack: &mut Vec<(NodeRef<'a, Node>, bool)>, node: NodeRef<'a, Node>) {
    let start = stack.len();
    stack.extend(node.children().map(|c| (c, false)));
    stack[start..].reverse();
}

/// The text of an HTML fragment, as [`text`] reads it (feeds carry HTML in their summaries).
pub fn fragment_text(html: &str) -> String {
    let fragment = Html::parse_fragment(html);
    text(fragment.root_element())
}
