//! Bytes → raw rows. HTML listings by the configured CSS selectors, feeds by feed-rs.

pub mod feed;
pub mod html;

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("the item selector \"{selector}\" matched nothing: the page layout may have changed")]
    NoItems { selector: String },
    #[error("the feed has no entries")]
    EmptyFeed,
    #[error("not a feed that can be read: {0}")]
    Feed(String),
    #[error("the markup nests elements more than {0} deep: not read")]
    TooDeep(usize),
}
