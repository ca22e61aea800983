//! The shared AWS files' profile, for what the environment does not say: object_store reads
//! the environment only, and people keep their keys in `~/.aws` for every S3 tool.

use object_store::aws::AmazonS3ConfigKey;
use std::path::PathBuf;

/// The settings of profile `AWS_PROFILE` (else `default`), from the credentials file then
/// the config file (`AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`, else `~/.aws/`).
pub(super) fn settings() -> Vec<(AmazonS3ConfigKey, String)> {
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".to_owned());
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let file = |var: &str, name: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
    };
    let mut found = Vec::new();
    // The config file names a profile `[profile x]`, except the default.
    let in_config = if profile == "default" {
        profile.clone()
    } else {
        format!("profile {profile}")
    };
    for (path, section) in [
        (
            file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            profile.as_str(),
        ),
        (file("AWS_CONFIG_FILE", "config"), in_config.as_str()),
    ] {
        let Some(text) = path.and_then(|p| std::fs::read_to_string(p).ok()) else {
            continue;
        };
        for (name, value) in section_of(&text, section) {
            let key = match name.as_str() {
                "aws_access_key_id" => AmazonS3ConfigKey::AccessKeyId,
                "aws_secret_access_key" => AmazonS3ConfigKey::SecretAccessKey,
                "aws_session_token" => AmazonS3ConfigKey::Token,
                "region" => AmazonS3ConfigKey::Region,
                "endpoint_url" => AmazonS3ConfigKey::Endpoint,
                _ => continue,
            };
            if !found.iter().any(|(k, _)| k == &key) {
                found.push((key, value));
            }
        }
    }
    found
}

/// The `name = value` lines of `[section]` in an INI file.
fn section_of(text: &str, section: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut pairs = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == section;
        } else if inside
            && !line.starts_with(['#', ';'])
            && let Some((name, value)) = line.split_once('=')
        {
            pairs.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_profile_section_is_read_and_others_are_not() {
        let text = "[default]\naws_access_key_id = A\n\n[profile ci]\n# a comment\nregion = ap-northeast-1\nendpoint_url = http://127.0.0.1:9000\n";
        assert_eq!(
            super::section_of(text, "profile ci"),
            [
                ("region".to_owned(), "ap-northeast-1".to_owned()),
                (
                    "endpoint_url".to_owned(),
                    "http://127.0.0.1:9000".to_owned()
                )
            ]
        );
        assert_eq!(super::section_of(text, "default").len(), 1);
        assert!(super::section_of(text, "other").is_empty());
    }
}
