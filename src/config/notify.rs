//! `[[notify]]` tables → [`Notify`]: the kind, the receiver's URL (from the file or from a
//! variable, so that a secret can stay out of it), the topics followed, an e-mail's addresses.

use super::ConfigError;
use super::compile::Compiler;
use super::raw::RawNotify;
use crate::classify::Topic;
use crate::notify::email::Email;
use crate::notify::{Kind, Notify, Secret};
use toml::Spanned;
use url::Url;

impl Compiler<'_> {
    pub(super) fn notifies(
        &self,
        raw: Vec<RawNotify>,
        topics: &[Topic],
    ) -> Result<Vec<Notify>, ConfigError> {
        let mut notifies: Vec<Notify> = Vec::with_capacity(raw.len());
        for n in raw {
            let span = n.id.span();
            let notify = self.notify(n, topics)?;
            if notifies.iter().any(|o| o.id == notify.id) {
                return Err(self.invalid(
                    span,
                    "notify.id",
                    format!("\"{}\" is used by two notifications", notify.id),
                ));
            }
            notifies.push(notify);
        }
        Ok(notifies)
    }

    fn notify(&self, n: RawNotify, all: &[Topic]) -> Result<Notify, ConfigError> {
        let id_span = n.id.span();
        let id = self.slug(n.id, "notify.id")?;
        let kind_name = n.kind.get_ref().as_str();
        let email = kind_name == "email";
        if !email {
            let only_email = [
                ("from", n.from.as_ref().map(Spanned::span)),
                ("to", n.to.as_ref().map(Spanned::span)),
                ("password_env", n.password_env.as_ref().map(Spanned::span)),
            ];
            if let Some((key, Some(span))) = only_email.into_iter().find(|(_, s)| s.is_some()) {
                return Err(self.invalid(
                    span,
                    &format!("notify.{key}"),
                    format!("notify \"{id}\": `{key}` applies to kind = \"email\" only"),
                ));
            }
        }
        let url = self.receiver(&id, id_span.clone(), n.url, n.url_env, email)?;
        let kind = match kind_name {
            "webhook" => Kind::Webhook(url),
            "slack" => Kind::Slack(url),
            "teams" => Kind::Teams(url),
            "email" => {
                let from = n.from.ok_or_else(|| {
                    self.invalid(id_span.clone(), "notify.from", format!("notify \"{id}\" is kind = \"email\" and needs `from`, the sender's address"))
                })?;
                let from = self.mailbox(&id, "from", &from)?;
                let to = n.to.filter(|to| !to.get_ref().is_empty()).ok_or_else(|| {
                    self.invalid(id_span.clone(), "notify.to", format!("notify \"{id}\" is kind = \"email\" and needs `to`, a list of at least one address"))
                })?;
                let to = (to.get_ref().iter())
                    .map(|a| self.mailbox(&id, "to", a))
                    .collect::<Result<_, _>>()?;
                let password = n
                    .password_env
                    .map(|name| self.variable(&id, "password_env", &name))
                    .transpose()?;
                Kind::Email(Email {
                    server: url,
                    from,
                    to,
                    password,
                })
            }
            other => {
                return Err(self.invalid(
                    n.kind.span(),
                    "notify.kind",
                    format!(
                        "notify \"{id}\": expected \"webhook\", \"slack\", \"teams\" or \"email\", found \"{other}\""
                    ),
                ));
            }
        };
        let topics = match n.topics {
            None => None,
            Some(ids) => Some(
                ids.into_iter()
                    .map(|t| {
                        if all.iter().any(|k| &k.id == t.get_ref()) {
                            Ok(t.into_inner())
                        } else {
                            let known: Vec<&str> = all.iter().map(|k| k.id.as_str()).collect();
                            Err(self.invalid(
                                t.span(),
                                "notify.topics",
                                format!(
                                    "notify \"{id}\": no topic \"{}\"; the topics are {}",
                                    t.get_ref(),
                                    known.join(", ")
                                ),
                            ))
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        Ok(Notify {
            id,
            kind,
            topics,
            updates: n.updates,
        })
    }

    /// The receiver's URL, from `url` or from the variable `url_env` names: http(s) for a
    /// webhook, `smtp://` or `smtps://` with a host for e-mail. A URL from a variable is never
    /// quoted in a message: it is a secret.
    fn receiver(
        &self,
        id: &str,
        id_span: std::ops::Range<usize>,
        url: Option<Spanned<String>>,
        url_env: Option<Spanned<String>>,
        email: bool,
    ) -> Result<Secret, ConfigError> {
        let (text, span, key) = match (url, url_env) {
            (Some(url), None) => (url.get_ref().clone(), url.span(), "notify.url"),
            (None, Some(name)) => (
                self.variable(id, "url_env", &name)?,
                name.span(),
                "notify.url_env",
            ),
            (Some(url), Some(_)) => {
                return Err(self.invalid(
                    url.span(),
                    "notify.url",
                    format!("notify \"{id}\": give `url` or `url_env`, not both"),
                ));
            }
            (None, None) => {
                return Err(self.invalid(
                    id_span,
                    "notify.url",
                    format!(
                        "notify \"{id}\" needs `url`, or `url_env` naming a variable that holds it"
                    ),
                ));
            }
        };
        let schemes: &[&str] = if email {
            &["smtp", "smtps"]
        } else {
            &["http", "https"]
        };
        match Url::parse(text.trim()) {
            Ok(url)
                if schemes.contains(&url.scheme())
                    && url.host_str().is_some_and(|h| !h.is_empty()) =>
            {
                Ok(Secret(url))
            }
            parsed => {
                let found = match parsed {
                    Ok(url) => format!("a {}: URL", url.scheme()),
                    Err(e) => format!("no URL ({e})"),
                };
                let expected = if email {
                    "an smtp://host:port or smtps://host:port URL"
                } else {
                    "an absolute http(s) URL"
                };
                Err(self.invalid(
                    span,
                    key,
                    format!("notify \"{id}\": expected {expected}, found {found}"),
                ))
            }
        }
    }

    /// The value of the variable `name` holds the name of.
    fn variable(&self, id: &str, key: &str, name: &Spanned<String>) -> Result<String, ConfigError> {
        std::env::var(name.get_ref())
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                self.invalid(
                    name.span(),
                    &format!("notify.{key}"),
                    format!(
                        "notify \"{id}\": the variable {} is not set in kairan's environment",
                        name.get_ref()
                    ),
                )
            })
    }

    fn mailbox(
        &self,
        id: &str,
        key: &str,
        address: &Spanned<String>,
    ) -> Result<lettre::message::Mailbox, ConfigError> {
        address.get_ref().parse().map_err(|e| {
            self.invalid(
                address.span(),
                &format!("notify.{key}"),
                format!(
                    "notify \"{id}\": expected an e-mail address such as \"kairan@example.jp\" or \"kairan <kairan@example.jp>\", found \"{}\" ({e})",
                    address.get_ref()
                ),
            )
        })
    }
}
