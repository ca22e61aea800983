//! Writing a group as selectors: an item selector that matches exactly its rows, and for each
//! field a selector that finds exactly its element in every row; of those that do, the first
//! in an order that puts class names before tags and positions, and short before long.

use super::css_ident;
use crate::extract::html::Field;
use ego_tree::NodeId;
use scraper::{ElementRef, Html, Selector};

/// Whole-document tries an item selector may take: each is a scan of the page.
const MAX_ITEM_TRIES: usize = 600;

/// A selector that matches exactly `rows` in the document: the row's own forms (class names
/// first), then with one, two, three and four ancestors before them.
pub(super) fn item_selector(doc: &Html, rows: &[ElementRef<'_>]) -> Option<String> {
    let want: Vec<NodeId> = rows.iter().map(|r| r.id()).collect();
    let exact = |css: &str| {
        Selector::parse(css)
            .ok()
            .is_some_and(|s| doc.select(&s).map(|e| e.id()).eq(want.iter().copied()))
    };
    let row = rows[0];
    let mut own = own_forms(row);
    // A table's header row shares the rows' tag: only rows with a link are rows, as
    // `fields::is_link` reads links (not an empty href, not a fragment of this page).
    own.extend(
        own_forms(row)
            .into_iter()
            .map(|f| format!("{f}:has(a[href]:not([href='']):not([href^='#']))")),
    );
    let ancestors: Vec<Vec<String>> = row
        .ancestors()
        .filter_map(ElementRef::wrap)
        .take(4)
        .map(|a| {
            // Markup without class names is told apart by position, the last resort.
            let mut named = own_forms(a);
            named.push(format!("{}:nth-child({})", a.value().name(), position(a)));
            named
        })
        .collect();
    let mut context = vec![String::new()];
    let mut tries = 0;
    for level in 0..=ancestors.len() {
        for c in &context {
            for o in &own {
                let css = format!("{c}{o}");
                if exact(&css) {
                    return Some(css);
                }
                tries += 1;
                if tries >= MAX_ITEM_TRIES {
                    return None;
                }
            }
        }
        let Some(named) = ancestors.get(level) else {
            break;
        };
        context = context
            .iter()
            .flat_map(|c| named.iter().map(move |a| format!("{a} > {c}")))
            .collect();
    }
    None
}

/// 1-based position among the element's parent's element children.
fn position(e: ElementRef<'_>) -> usize {
    e.prev_siblings().filter_map(ElementRef::wrap).count() + 1
}

/// Ways to name one element by itself, stablest first: a class, tag and class, the tag.
fn own_forms(e: ElementRef<'_>) -> Vec<String> {
    let name = e.value().name();
    let mut forms = Vec::new();
    if let Some(id) = e.value().id().filter(|i| css_ident(i)) {
        forms.push(format!("#{id}"));
    }
    for class in e.value().classes().filter(|c| css_ident(c)) {
        forms.push(format!(".{class}"));
        forms.push(format!("{name}.{class}"));
    }
    forms.push(name.to_owned());
    forms
}

/// The shortest selector that finds, in every row that has it, exactly the slot's element.
pub(super) fn field_selector(
    rows: &[ElementRef<'_>],
    slot: &(String, Vec<Option<ElementRef<'_>>>),
) -> Option<String> {
    let (path, at) = slot;
    let (sibling, inner) = match path.strip_prefix("+ ") {
        Some(rest) => {
            let (first, inner) = rest.split_once(" > ").unwrap_or((rest, ""));
            (Some(first.to_owned()), inner.to_owned())
        }
        None => (None, path.clone()),
    };
    let steps: Vec<&str> = if inner.is_empty() {
        Vec::new()
    } else {
        inner.split(" > ").collect()
    };
    let first = at.iter().flatten().next()?;
    let mut options: Vec<String> = Vec::new();
    match steps.last() {
        None => options.push(match &sibling {
            Some(_) => String::new(),
            None => first.value().name().to_owned(),
        }),
        Some(last_step) => {
            let nth = last_step.find(":nth-child").map(|i| &last_step[i..]);
            for own in own_forms(*first) {
                options.push(match nth {
                    Some(nth) if own == first.value().name() => format!("{own}{nth}"),
                    _ => own,
                });
            }
            // The path's tail, from its last step alone to the whole path.
            for k in (0..steps.len()).rev() {
                options.push(steps[k..].join(" > "));
            }
        }
    }
    let options = options.into_iter().map(|o| match &sibling {
        Some(first) if o.is_empty() => format!("+ {first}"),
        Some(first) => format!("+ {first} {o}"),
        None => o,
    });
    options.into_iter().find(|css| {
        Field::parse(css).is_ok_and(|f| {
            rows.iter().zip(at).all(|(row, want)| {
                want.is_none_or(|w| f.find(*row).is_some_and(|got| got.id() == w.id()))
            })
        })
    })
}
