//! `file://` sources: local mirrors and saved pages, read with the same size cap as HTTP.

use super::{FetchError, Fetched, Validators};
use std::io::Read;
use url::Url;

pub fn read(url: &Url, max_body_bytes: u64) -> Result<Fetched, FetchError> {
    let path = url
        .to_file_path()
        .map_err(|()| FetchError::NotAPath(url.clone()))?;
    let file = std::fs::File::open(&path).map_err(FetchError::File)?;
    let mut body = Vec::new();
    // One byte past the cap tells an oversized file from one exactly at it.
    file.take(max_body_bytes + 1)
        .read_to_end(&mut body)
        .map_err(FetchError::File)?;
    if body.len() as u64 > max_body_bytes {
        return Err(FetchError::TooLarge(max_body_bytes));
    }
    Ok(Fetched {
        body,
        content_type: None,
        url: url.clone(),
        validators: Validators::default(),
    })
}
