//! `[state]` and `[output]`: where the state lives (a SQLite file, or a PostgreSQL database)
//! and where the feeds go (a directory, or an S3-compatible bucket).

use super::ConfigError;
use super::compile::Compiler;
use super::raw::RawState;
use crate::publish::target::Output;
use crate::store::Location;
use std::path::PathBuf;
use toml::Spanned;

/// The variable that names a PostgreSQL state, so that its password need not sit in the file.
pub const STATE_URL_VAR: &str = "KAIRAN_STATE_URL";

impl Compiler<'_> {
    /// `[output] dir` or `url`, one of them; `public` when neither is set.
    pub(super) fn output(
        &self,
        dir: Option<Spanned<PathBuf>>,
        url: Option<Spanned<String>>,
    ) -> Result<Output, ConfigError> {
        match (dir, url) {
            (Some(_), Some(url)) => Err(self.invalid(
                url.span(),
                "output.url",
                "set either output.dir or output.url, not both",
            )),
            (Some(dir), None) => Ok(Output::Dir(dir.into_inner())),
            (None, Some(url)) => {
                let span = url.span();
                match Output::parse(url.get_ref()) {
                    Ok(Output::Bucket(address)) => Ok(Output::Bucket(address)),
                    Ok(Output::Dir(_)) => Err(self.invalid(
                        span,
                        "output.url",
                        "expected an s3://bucket/prefix/ URL (a directory goes in output.dir)",
                    )),
                    Err(why) => Err(self.invalid(span, "output.url", why)),
                }
            }
            (None, None) => Ok(Output::Dir(PathBuf::from("public"))),
        }
    }

    /// `[state] path` or `url`, one of them; `KAIRAN_STATE_URL` over either; `kairan.db` when
    /// none is set.
    pub(super) fn state(&self, raw: RawState) -> Result<Location, ConfigError> {
        if let Some(url) = std::env::var(STATE_URL_VAR).ok().filter(|u| !u.is_empty()) {
            return match Location::parse(&url) {
                at @ Location::Postgres(_) => Ok(at),
                Location::File(_) => Err(self.invalid(
                    0..0,
                    STATE_URL_VAR,
                    "expected a postgres:// URL in the environment variable",
                )),
            };
        }
        match (raw.path, raw.url) {
            (Some(_), Some(url)) => Err(self.invalid(
                url.span(),
                "state.url",
                "set either state.path or state.url, not both",
            )),
            (Some(path), None) => Ok(Location::File(path.into_inner())),
            (None, Some(url)) => match Location::parse(url.get_ref()) {
                at @ Location::Postgres(_) => Ok(at),
                Location::File(_) => Err(self.invalid(
                    url.span(),
                    "state.url",
                    "expected a postgres:// or postgresql:// URL (a file goes in state.path)",
                )),
            },
            (None, None) => Ok(Location::File(PathBuf::from("kairan.db"))),
        }
    }
}
