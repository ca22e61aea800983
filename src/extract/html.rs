//! HTML listings: one row per element matched by the item selector; title, link, date and
//! summary by selectors relative to the item.

use super::ExtractError;
use crate::model::{RawDate, RawRow};
use ego_tree::NodeRef;
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::{Attribute, QualName, local_name, ns};
use scraper::{ElementRef, Html, HtmlTreeSink, Node, Selector};
use std::borrow::Cow;
use std::cell::Cell;

/// Compiled CSS selectors of an HTML listing; all but `item` are [`Field`]s, relative to an
/// item. The configuration compiles them from `[source.select]`.
#[derive(Debug, Clone)]
pub struct Selectors {
    pub item: Selector,
    /// The item selector as written, for messages.
    pub item_css: String,
    pub title: Field,
    pub link: Field,
    pub date: Option<Field>,
    pub summary: Option<Field>,
}

impl Selectors {
    /// Compiles the selectors of a `[source.select]` table; `link` is `"a"` when not given.
    /// An error names the key whose selector does not parse.
    pub fn parse(
        item: &str,
        title: &str,
        link: Option<&str>,
        date: Option<&str>,
        summary: Option<&str>,
    ) -> Result<Selectors, (&'static str, scraper::error::SelectorErrorKind)> {
        let field = |key: &'static str, css: &str| Field::parse(css).map_err(|e| (key, e));
        let optional =
            |key: &'static str, css: Option<&str>| css.map(|c| field(key, c)).transpose();
        Ok(Selectors {
            item: Selector::parse(item).map_err(|e| ("item", e))?,
            item_css: item.to_owned(),
            title: field("title", title)?,
            link: field("link", link.unwrap_or("a"))?,
            date: optional("date", date)?,
            summary: optional("summary", summary)?,
        })
    }
}

/// A field's selector, relative to an item as a Selectors Level 4 relative selector is: a plain
/// one finds the item itself when it matches (IPA wraps a whole item in its `<a>`), else the
/// item's first matching descendant; one that starts with `+` looks in the item's next sibling
/// element, and one that starts with `~` in its following sibling elements, each the sibling
/// itself or inside it. So where a `<dt>` holds the date and the `<dd>` after it the title,
/// the item is the `dt` and the title `+ dd a`.
#[derive(Debug, Clone)]
pub struct Field {
    selector: Selector,
    from: From,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum From {
    Item,
    NextSibling,
    LaterSiblings,
}

impl Field {
    /// Compiles a field's selector; the error is scraper's, for the config compiler to word.
    pub fn parse(css: &str) -> Result<Field, scraper::error::SelectorErrorKind> {
        let css = css.trim_start();
        let (from, rest) = match css.chars().next() {
            Some('+') => (From::NextSibling, &css[1..]),
            Some('~') => (From::LaterSiblings, &css[1..]),
            _ => (From::Item, css),
        };
        Ok(Field {
            selector: Selector::parse(rest.trim_start())?,
            from,
        })
    }

    /// The element this field reads in `item`, if any.
    pub fn find<'a>(&self, item: ElementRef<'a>) -> Option<ElementRef<'a>> {
        let within = |e: ElementRef<'a>| {
            if self.selector.matches(&e) {
                Some(e)
            } else {
                e.select(&self.selector).next()
            }
        };
        let mut siblings = item.next_siblings().filter_map(ElementRef::wrap);
        match self.from {
            From::Item => within(item),
            From::NextSibling => siblings.next().and_then(within),
            From::LaterSiblings => siblings.find_map(within),
        }
    }
}

/// Deepest nesting of elements read. html5ever's tree builder takes time quadratic in the depth
/// (servo/html5ever#788: a few hundred KB of nested `<div>` is minutes of CPU), so a page
/// nested deeper is refused. Browsers stop nesting at 512 too.
pub const MAX_DEPTH: usize = 512;

/// Extracts the rows of a decoded listing page.
pub fn extract(page: &str, select: &Selectors) -> Result<Vec<RawRow>, ExtractError> {
    rows(&parse(page, false)?, select)
}

/// A page parsed as extraction parses it: refused past [`MAX_DEPTH`] levels of nesting.
pub fn document(page: &str) -> Result<Html, ExtractError> {
    parse(page, false)
}

/// The rows of a parsed listing page.
pub(super) fn rows(document: &Html, select: &Selectors) -> Result<Vec<RawRow>, ExtractError> {
    let rows: Vec<RawRow> = document
        .select(&select.item)
        .enumerate()
        .map(|(i, item)| RawRow {
            position: i + 1,
            title: select.title.find(item).map(text),
            link: select
                .link
                .find(item)
                .and_then(|a| a.value().attr("href"))
                .map(str::to_owned),
            summary: select.summary.as_ref().and_then(|s| s.find(item)).map(text),
            published: None,
            // Listing dates are last-updated or re-listing dates.
            updated: select
                .date
                .as_ref()
                .and_then(|s| s.find(item))
                .map(|d| RawDate::Text(date_text(d))),
        })
        .collect();
    if rows.is_empty() {
        return Err(ExtractError::NoItems {
            selector: select.item_css.clone(),
            proposal: None,
        });
    }
    Ok(rows)
}

/// A date element's date: a `<time>`'s `datetime` attribute (its text often leaves out the
/// year), else its text.
pub(super) fn date_text(element: ElementRef<'_>) -> String {
    match element.value().attr("datetime") {
        Some(machine) if element.value().name() == "time" => machine.to_owned(),
        _ => text(element),
    }
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
pub fn fragment_text(html: &str) -> Result<String, ExtractError> {
    let fragment = parse(html, true)?;
    Ok(text(fragment.root_element()))
}

/// Parses a document or a fragment as scraper does, fed in pieces so that parsing stops soon
/// after an element is nested deeper than [`MAX_DEPTH`].
pub(super) fn parse(html: &str, fragment: bool) -> Result<Html, ExtractError> {
    const PIECE: usize = 4096;
    let sink = DepthGuard {
        inner: HtmlTreeSink::new(if fragment {
            Html::new_fragment()
        } else {
            Html::new_document()
        }),
        too_deep: Cell::new(false),
    };
    let mut parser = if fragment {
        let body = QualName::new(None, ns!(html), local_name!("body"));
        html5ever::parse_fragment(sink, Default::default(), body, Vec::new(), false)
    } else {
        html5ever::parse_document(sink, Default::default())
    };
    let mut rest = html;
    while !rest.is_empty() {
        let mut at = rest.len().min(PIECE);
        while !rest.is_char_boundary(at) {
            at += 1;
        }
        parser.process(StrTendril::from_slice(&rest[..at]));
        if parser.tokenizer.sink.sink.too_deep.get() {
            return Err(ExtractError::TooDeep(MAX_DEPTH));
        }
        rest = &rest[at..];
    }
    Ok(parser.finish())
}

/// scraper's tree sink, noting when an element is appended deeper than [`MAX_DEPTH`].
struct DepthGuard {
    inner: HtmlTreeSink,
    too_deep: Cell<bool>,
}

impl TreeSink for DepthGuard {
    type Handle = <HtmlTreeSink as TreeSink>::Handle;
    type Output = Html;
    type ElemName<'a> = <HtmlTreeSink as TreeSink>::ElemName<'a>;

    fn append(&self, parent: &Self::Handle, child: NodeOrText<Self::Handle>) {
        if matches!(child, NodeOrText::AppendNode(_)) {
            let html = self.inner.0.borrow();
            let depth = html
                .tree
                .get(*parent)
                .map_or(0, |p| p.ancestors().take(MAX_DEPTH).count() + 1);
            if depth >= MAX_DEPTH {
                self.too_deep.set(true);
            }
        }
        self.inner.append(parent, child)
    }

    // The rest is scraper's own.
    fn finish(self) -> Html {
        self.inner.finish()
    }
    fn parse_error(&self, msg: Cow<'static, str>) {
        self.inner.parse_error(msg)
    }
    fn get_document(&self) -> Self::Handle {
        self.inner.get_document()
    }
    fn elem_name<'a>(&'a self, target: &'a Self::Handle) -> Self::ElemName<'a> {
        self.inner.elem_name(target)
    }
    fn create_element(
        &self,
        name: QualName,
        attrs: Vec<Attribute>,
        flags: ElementFlags,
    ) -> Self::Handle {
        self.inner.create_element(name, attrs, flags)
    }
    fn create_comment(&self, text: StrTendril) -> Self::Handle {
        self.inner.create_comment(text)
    }
    fn create_pi(&self, target: StrTendril, data: StrTendril) -> Self::Handle {
        self.inner.create_pi(target, data)
    }
    fn append_based_on_parent_node(
        &self,
        element: &Self::Handle,
        prev_element: &Self::Handle,
        child: NodeOrText<Self::Handle>,
    ) {
        self.inner
            .append_based_on_parent_node(element, prev_element, child)
    }
    fn append_doctype_to_document(
        &self,
        name: StrTendril,
        public_id: StrTendril,
        system_id: StrTendril,
    ) {
        self.inner
            .append_doctype_to_document(name, public_id, system_id)
    }
    fn get_template_contents(&self, target: &Self::Handle) -> Self::Handle {
        self.inner.get_template_contents(target)
    }
    fn same_node(&self, x: &Self::Handle, y: &Self::Handle) -> bool {
        self.inner.same_node(x, y)
    }
    fn set_quirks_mode(&self, mode: QuirksMode) {
        self.inner.set_quirks_mode(mode)
    }
    fn append_before_sibling(&self, sibling: &Self::Handle, new_node: NodeOrText<Self::Handle>) {
        self.inner.append_before_sibling(sibling, new_node)
    }
    fn add_attrs_if_missing(&self, target: &Self::Handle, attrs: Vec<Attribute>) {
        self.inner.add_attrs_if_missing(target, attrs)
    }
    fn remove_from_parent(&self, target: &Self::Handle) {
        self.inner.remove_from_parent(target)
    }
    fn reparent_children(&self, node: &Self::Handle, new_parent: &Self::Handle) {
        self.inner.reparent_children(node, new_parent)
    }
}
