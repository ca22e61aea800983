//! Links: made absolute with `Url::join`, cleaned of fragments and tracking parameters, and
//! reduced to a canonical form for deduplication.

use url::Url;

/// Query parameters that only say where a click came from.
fn is_tracking(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("utm_")
        || matches!(
            name.as_str(),
            "fbclid"
                | "gclid"
                | "dclid"
                | "msclkid"
                | "yclid"
                | "igshid"
                | "mc_cid"
                | "mc_eid"
                | "_ga"
                | "_gl"
        )
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("empty link")]
    Empty,
    #[error("link \"{0}\" cannot be resolved")]
    Unresolvable(String),
    #[error("link \"{0}\" is not http or https")]
    Scheme(String),
}

/// Resolves `href` against the page it was found on and cleans it: http(s) only, no fragment,
/// no tracking parameters.
pub fn resolve(base: &Url, href: &str) -> Result<Url, LinkError> {
    let href = href.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    if href.is_empty() {
        return Err(LinkError::Empty);
    }
    let mut url = base
        .join(href)
        .map_err(|_| LinkError::Unresolvable(shorten(href)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(LinkError::Scheme(shorten(href)));
    }
    url.set_fragment(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !is_tracking(k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    Ok(url)
}

/// The form two links to the same page share: https, the host in lower case (`Url` does that),
/// no default port, `index.html` dropped. Expects a link from [`resolve`].
pub fn canonical(url: &Url) -> String {
    let mut c = url.clone();
    if c.scheme() == "http" {
        // Both schemes are special, so the change is always accepted; the port is dropped
        // below where it was the default of either.
        let _ = c.set_scheme("https");
    }
    if matches!(url.port(), Some(80 | 443)) {
        let _ = c.set_port(None);
    }
    let path = c.path().to_owned();
    for index in ["index.html", "index.htm"] {
        if let Some(dir) = path.strip_suffix(index).filter(|d| d.ends_with('/')) {
            c.set_path(dir);
        }
    }
    c.into()
}

/// Quoted links in messages stay readable even when a page holds a megabyte of href.
fn shorten(s: &str) -> String {
    let mut s = s.to_owned();
    crate::text::truncate(&mut s, 120);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://www.ipa.go.jp/security/anshin/attention/index.html").unwrap()
    }

    #[test]
    fn root_relative_links_are_joined_to_the_page() {
        let u = resolve(
            &base(),
            "/security/anshin/attention/2021/mgdayori20210309.html",
        )
        .unwrap();
        assert_eq!(
            u.as_str(),
            "https://www.ipa.go.jp/security/anshin/attention/2021/mgdayori20210309.html"
        );
        let r = resolve(&base(), "2023/a.html").unwrap();
        assert_eq!(
            r.as_str(),
            "https://www.ipa.go.jp/security/anshin/attention/2023/a.html"
        );
    }

    #[test]
    fn fragments_and_tracking_parameters_are_dropped() {
        let u = resolve(&base(), "/a.html?utm_source=x&id=3&fbclid=y#top").unwrap();
        assert_eq!(u.as_str(), "https://www.ipa.go.jp/a.html?id=3");
        let only = resolve(&base(), "/a.html?utm_source=listing&utm_medium=web#top").unwrap();
        assert_eq!(only.as_str(), "https://www.ipa.go.jp/a.html");
    }

    #[test]
    fn active_and_empty_links_are_refused() {
        assert!(matches!(
            resolve(&base(), "javascript:alert(1)"),
            Err(LinkError::Scheme(_))
        ));
        assert!(matches!(
            resolve(&base(), " JavaScript:alert(1)"),
            Err(LinkError::Scheme(_))
        ));
        assert!(matches!(
            resolve(&base(), "data:text/html,x"),
            Err(LinkError::Scheme(_))
        ));
        assert!(matches!(resolve(&base(), "  "), Err(LinkError::Empty)));
    }

    #[test]
    fn canonical_form_unifies_scheme_host_port_and_index() {
        let a = Url::parse("http://WWW.IPA.GO.JP:80/security/anshin/index.html").unwrap();
        let b = Url::parse("https://www.ipa.go.jp/security/anshin/").unwrap();
        assert_eq!(canonical(&a), canonical(&b));
        assert_eq!(canonical(&b), "https://www.ipa.go.jp/security/anshin/");
        let page = Url::parse("https://www.ipa.go.jp/security/myindex.html").unwrap();
        assert_eq!(
            canonical(&page),
            "https://www.ipa.go.jp/security/myindex.html"
        );
    }
}
