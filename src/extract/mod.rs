//! Bytes → raw rows. HTML listings by the configured CSS selectors, feeds by feed-rs; an
//! article page by its source's article rule.

pub mod article;
pub mod feed;
pub mod html;
pub mod suggest;

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error(
        "the item selector \"{selector}\" matched nothing: the page layout may have changed{}",
        proposal.as_ref().map_or_else(String::new, |p| format!("; kairan suggest proposes: {p}"))
    )]
    NoItems {
        selector: String,
        /// What `kairan suggest` finds in the page instead, as one line of TOML.
        proposal: Option<String>,
    },
    #[error("the feed has no entries")]
    EmptyFeed,
    #[error("not a feed that can be read: {0}")]
    Feed(String),
    #[error("the content selector \"{0}\" matched nothing on the article page")]
    NoContent(String),
    #[error("the markup nests elements more than {0} deep: not read")]
    TooDeep(usize),
}
