//! One e-mail per run and notification, listing the entries that are news for it: a MIME
//! message with UTF-8 text and HTML parts, its subject encoded per RFC 2047, sent over SMTP.
//!
//! lettre is the kept Rust mail library: it writes the MIME structure and the header encodings
//! (RFC 2047, 2231) that are easy to get subtly wrong by hand, and speaks SMTP with STARTTLS
//! or implicit TLS over the same native-tls as the fetcher.

use super::{Message, Secret};
use crate::classify::Topic;
use crate::publish::{Site, escape};
use crate::store::Answer;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::fmt::{self, Write};

/// Where and to whom an e-mail notification goes.
#[derive(Clone)]
pub struct Email {
    /// `smtp://[user@]host[:port]` (STARTTLS when offered, required with a password) or
    /// `smtps://…` (TLS from the start).
    pub server: Secret,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub password: Option<String>,
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .field("to", &self.to.len())
            .finish_non_exhaustive()
    }
}

impl Email {
    /// The server's port: the URL's, else 25 for `smtp` and 465 for `smtps`.
    fn port(&self) -> u16 {
        self.server
            .0
            .port()
            .unwrap_or(if self.implicit_tls() { 465 } else { 25 })
    }

    fn implicit_tls(&self) -> bool {
        self.server.0.scheme() == "smtps"
    }
}

/// `List-Id` (RFC 2919): lets a mail client file and filter one notification's mails.
#[derive(Clone)]
struct ListId(String);

impl Header for ListId {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Id")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListId(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// The subject: `[kairan] 3 件の新着: <the first topic's title> ほか`, the topics in the order
/// of `all`.
pub fn subject(messages: &[Message<'_>], site: &Site, all: &[Topic]) -> String {
    let topics: Vec<&Topic> = all
        .iter()
        .filter(|t| {
            messages
                .iter()
                .any(|m| m.followed.iter().any(|f| f.id == t.id))
        })
        .collect();
    let labels = site.labels;
    let first = topics
        .first()
        .map_or(site.title.as_str(), |t| t.title.as_str());
    let more = if topics.len() > 1 {
        labels.and_more
    } else {
        ""
    };
    format!(
        "[kairan] {}{}{first}{more}",
        messages.len(),
        labels.new_entries
    )
}

/// The e-mail of `messages` (one or more) for notification `notify`.
pub fn message(
    email: &Email,
    notify: &str,
    messages: &[Message<'_>],
    site: &Site,
    topics: &[Topic],
) -> Result<lettre::Message, String> {
    let labels = site.labels;
    let mut text = String::new();
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"></head><body>\n<ul>\n",
        labels.code
    );
    for m in messages {
        let e = m.entry;
        let mut line = format!("{} {}", labels.published, m.day());
        if !m.topics.is_empty() {
            let _ = write!(line, " · {}: {}", labels.topics, m.topic_titles());
        }
        let _ = write!(text, "■ {}\n  {line}\n  {}\n\n", e.title, e.link);
        let _ = writeln!(
            html,
            "<li><a href=\"{}\">{}</a><br><small>{}</small></li>",
            escape(&e.link),
            escape(&e.title),
            escape(&line)
        );
    }
    html.push_str("</ul>\n</body></html>\n");
    let host = site.base_url.host_str().unwrap_or("localhost");
    let builder = lettre::Message::builder()
        .from(email.from.clone())
        .subject(subject(messages, site, topics))
        .header(ListId(format!("<{notify}.kairan.{host}>")))
        .message_id(None);
    (email.to.iter().cloned())
        .fold(builder, |b, to| b.to(to))
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| format!("cannot write the e-mail: {e}"))
}

/// Sends `message` through the server, within `timeout` for each step of the conversation.
pub(super) async fn send(
    email: &Email,
    message: lettre::Message,
    timeout: std::time::Duration,
) -> Answer {
    let transport = match transport(email, timeout) {
        Ok(t) => t,
        Err(reason) => return Answer::Refused(reason),
    };
    let server = email.server.host();
    match transport.send(message).await {
        Ok(_) => Answer::Accepted,
        Err(e) if e.is_permanent() => Answer::Refused(format!("SMTP {server}: {e}")),
        Err(e) => Answer::Failed {
            reason: format!("SMTP {server}: {e}"),
            not_before: None,
        },
    }
}

fn transport(
    email: &Email,
    timeout: std::time::Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let host = email.server.0.host_str().unwrap_or_default();
    let tls = TlsParameters::new(host.to_owned()).map_err(|e| format!("TLS for {host}: {e}"))?;
    let user = email.server.0.username();
    let tls = if email.implicit_tls() {
        Tls::Wrapper(tls)
    } else if email.password.is_some() {
        // A password never crosses the network in the clear.
        Tls::Required(tls)
    } else {
        Tls::Opportunistic(tls)
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(email.port())
        .tls(tls)
        .timeout(Some(timeout));
    if let Some(password) = &email.password {
        builder = builder.credentials(Credentials::new(user.to_owned(), password.clone()));
    }
    Ok(builder.build())
}
