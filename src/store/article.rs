//! What a refresh learned of its entries' article pages, as the store keeps it: the page as
//! it came and what the source's rule read from it.

use crate::model::{Article, EntryKey};

/// What a refresh learned of one entry's article page, to be kept with the entry.
#[derive(Debug, Clone)]
pub struct ArticleNote {
    pub key: EntryKey,
    /// The source whose article rule applies.
    pub source: String,
    /// The URL asked for: the entry's link.
    pub link: String,
    /// The entry's listing date, in the state's form.
    pub listing_date: Option<String>,
    pub event: ArticleEvent,
}

#[derive(Debug, Clone)]
pub enum ArticleEvent {
    /// A page came, and was read. It is kept whether or not the rule found content in it, so
    /// that a corrected rule can read it again.
    Fetched {
        page: Page,
        validators: crate::fetch::Validators,
        read: Reading,
    },
    /// 304: the page is as kept.
    NotModified,
    /// The kept page, read again with a changed rule.
    Reread(Reading),
    /// No page: the reason.
    Failed(String),
}

/// An article page as it came.
#[derive(Debug, Clone)]
pub struct Page {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
    /// Where it came from after redirects: its relative links resolve against it.
    pub url: String,
}

/// A kept article page, with what a note about reading it again needs.
#[derive(Debug, Clone)]
pub struct KeptPage {
    pub key: EntryKey,
    pub link: String,
    pub listing_date: Option<String>,
    pub page: Page,
}

/// A page read with a rule: the article, or why there is none.
#[derive(Debug, Clone)]
pub struct Reading {
    /// The rule's fingerprint.
    pub rule: String,
    pub article: std::result::Result<Article, String>,
}

impl ArticleNote {
    /// The reading made this run, of a page fetched or kept: what the entry's content now is.
    pub fn read(&self) -> Option<&Reading> {
        match &self.event {
            ArticleEvent::Fetched { read, .. } | ArticleEvent::Reread(read) => Some(read),
            ArticleEvent::NotModified | ArticleEvent::Failed(_) => None,
        }
    }

    /// The article read this run, if one was.
    pub fn article(&self) -> Option<&Article> {
        self.read()?.article.as_ref().ok()
    }
}
