//! OPML 2.0: the list of feeds, for importing into a feed reader in one step.

use super::{FeedView, Head, escape};
use std::fmt::Write;

pub fn render(site: &Head<'_>, views: &[FeedView<'_>]) -> Vec<u8> {
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n");
    let _ = writeln!(out, "    <title>{}</title>", escape(&site.title));
    let _ = writeln!(out, "    <ownerName>{}</ownerName>", escape(&site.author));
    out.push_str("  </head>\n  <body>\n");
    // A folder has only a text: the W3C validator asks any outline with more for a type.
    let _ = writeln!(out, "    <outline text=\"{}\">", escape(&site.title));
    for v in views {
        // type="rss" is what readers look for in OPML, whatever the feed's format.
        let _ = writeln!(
            out,
            "      <outline type=\"rss\" text=\"{0}\" title=\"{0}\" xmlUrl=\"{1}\" htmlUrl=\"{2}\"/>",
            escape(&v.title),
            escape(&v.url),
            escape(&v.html_url),
        );
    }
    out.push_str("    </outline>\n  </body>\n</opml>\n");
    out.into_bytes()
}
