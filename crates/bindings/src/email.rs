//! The e-mail bindings: an `email` action sent over SMTP, or written as an `.eml`
//! file into an outbox folder.
//!
//! The message is what a person reads in a report: the subject (the workflow's name
//! when none is given), the body, and the appended fields as a table of `label  value`
//! lines.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use serde_json::{json, Value as Json};

use super::{Action, ActionContext, ActionError, Bindings, Email};
use crate::settings::parse_smtp_url;

enum Delivery {
    Smtp {
        transport: SmtpTransport,
        url: String,
    },
    Outbox(PathBuf),
}

/// Sends the `email` actions of a live run.
pub struct Mailer {
    from: Mailbox,
    delivery: Delivery,
    verbose: bool,
}

fn parse_from(from: &str) -> Result<Mailbox, String> {
    from.parse::<Mailbox>().map_err(|e| {
        format!("the sender `{from}` is not an e-mail address ({e}); set `from` under [email]")
    })
}

impl Mailer {
    /// Send over SMTP (`smtp://host:port`), upgrading with STARTTLS when the server
    /// offers it. With a user and password (from `SMTP_USERNAME`/`SMTP_PASSWORD`),
    /// STARTTLS is required so they never cross the network in the clear.
    pub fn smtp(
        url: &str,
        from: &str,
        credentials: Option<(String, String)>,
        timeout: Duration,
    ) -> Result<Mailer, String> {
        let (host, port) = parse_smtp_url(url)?;
        let tls = TlsParameters::new(host.clone())
            .map_err(|e| format!("cannot set up TLS for {host}: {e}"))?;
        let mut builder = SmtpTransport::builder_dangerous(host)
            .port(port)
            .timeout(Some(timeout));
        builder = match credentials {
            Some((user, password)) => builder
                .tls(Tls::Required(tls))
                .credentials(Credentials::new(user, password)),
            None => builder.tls(Tls::Opportunistic(tls)),
        };
        Ok(Mailer {
            from: parse_from(from)?,
            delivery: Delivery::Smtp {
                transport: builder.build(),
                url: url.to_string(),
            },
            verbose: false,
        })
    }

    /// Write each message as an `.eml` file into `dir` (created if needed).
    pub fn outbox(dir: &Path, from: &str) -> Result<Mailer, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the outbox {}: {e}", dir.display()))?;
        Ok(Mailer {
            from: parse_from(from)?,
            delivery: Delivery::Outbox(dir.to_path_buf()),
            verbose: false,
        })
    }

    pub fn verbose(mut self, on: bool) -> Mailer {
        self.verbose = on;
        self
    }

    /// The message for an `email` action.
    pub fn message(&self, email: &Email, cx: &ActionContext<'_>) -> Result<Message, ActionError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(email.subject_or(cx.workflow));
        if email.to.is_empty() {
            return Err(ActionError::new("email: no recipient"));
        }
        for to in &email.to {
            let mailbox = to.parse::<Mailbox>().map_err(|e| {
                ActionError::new(format!("email: `{to}` is not an e-mail address ({e})"))
            })?;
            builder = builder.to(mailbox);
        }
        // The same (event, workflow, step) gives the same Message-ID, so a replayed
        // event's e-mail can be recognised as a duplicate.
        if let Some(key) = super::stripe::idempotency_key(cx) {
            let domain = self.from.email.domain().to_string();
            builder = builder.message_id(Some(format!("<{key}@{domain}>")));
        }
        builder
            .header(ContentType::TEXT_PLAIN)
            .body(email.message_text())
            .map_err(|e| ActionError::new(format!("email: cannot build the message: {e}")))
    }

    fn send(&self, email: &Email, cx: &ActionContext<'_>) -> Result<Json, ActionError> {
        let message = self.message(email, cx)?;
        match &self.delivery {
            Delivery::Smtp { transport, url } => {
                let response = transport.send(&message).map_err(|e| {
                    ActionError::new(format!("email: the mail server at {url} refused it: {e}"))
                })?;
                let answer: Vec<&str> = response.message().collect();
                if self.verbose {
                    eprintln!(
                        "email: sent to {} through {url} ({} {})",
                        email.to.join(", "),
                        response.code(),
                        answer.join(" ")
                    );
                }
                Ok(json!({ "smtp": url, "code": response.code().to_string() }))
            }
            Delivery::Outbox(dir) => {
                let name = format!(
                    "{}-{}-{}.eml",
                    slug(cx.event_id.unwrap_or("no-event")),
                    slug(cx.workflow),
                    cx.step
                );
                let path = dir.join(name);
                // Written whole, then renamed: a reader never sees half a message, and
                // a replayed event replaces its message instead of adding one.
                let tmp = dir.join(format!(".{}.tmp", std::process::id()));
                std::fs::write(&tmp, message.formatted())
                    .and_then(|()| std::fs::rename(&tmp, &path))
                    .map_err(|e| {
                        ActionError::new(format!("email: cannot write {}: {e}", path.display()))
                    })?;
                if self.verbose {
                    eprintln!(
                        "email: to {} written to {}",
                        email.to.join(", "),
                        path.display()
                    );
                }
                Ok(json!({ "outbox": path.display().to_string() }))
            }
        }
    }
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "x".into()
    } else {
        out.chars().take(60).collect()
    }
}

impl Bindings for Mailer {
    fn perform(&mut self, action: &Action, cx: &ActionContext<'_>) -> Result<Json, ActionError> {
        match action {
            Action::Email(email) => self.send(email, cx),
            other => Err(ActionError::new(format!(
                "{} is not an e-mail (this is a bug in the bindings)",
                other.kind()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email {
            to: vec!["fulfillment@example.com".into()],
            subject: None,
            body: "Please add a note.".into(),
            append: vec![
                ("Customer ID".into(), "cus_1".into()),
                ("Amount".into(), "2500.00 USD".into()),
            ],
        }
    }

    #[test]
    fn text_has_the_body_then_the_table() {
        assert_eq!(
            email().message_text(),
            "Please add a note.\n\n+-------------+-------------+\n| Customer ID | cus_1       |\n| Amount      | 2500.00 USD |\n+-------------+-------------+\n"
        );
    }

    #[test]
    fn outbox_writes_one_message_per_action() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Mailer::outbox(dir.path(), "Flow <flow@example.com>").unwrap();
        let cx = ActionContext {
            event_id: Some("evt_1"),
            workflow: "Tag valuable customers",
            step: 0,
        };
        m.perform(&Action::Email(email()), &cx).unwrap();
        // Again: the same file, not a second one.
        m.perform(&Action::Email(email()), &cx).unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(files, vec!["evt_1-Tag-valuable-customers-0.eml"]);
        let text =
            std::fs::read_to_string(dir.path().join("evt_1-Tag-valuable-customers-0.eml")).unwrap();
        assert!(text.contains("From: Flow <flow@example.com>\r\n"), "{text}");
        assert!(text.contains("To: fulfillment@example.com\r\n"), "{text}");
        assert!(
            text.contains("Subject: Tag valuable customers\r\n"),
            "{text}"
        );
        assert!(text.contains("Message-ID: <flow_"), "{text}");
        assert!(
            text.contains("Content-Transfer-Encoding: 7bit\r\n"),
            "{text}"
        );
        assert!(text.contains("| Customer ID | cus_1       |\r\n"), "{text}");
    }

    #[test]
    fn bad_addresses_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Mailer::outbox(dir.path(), "nobody").is_err());
        let mut m = Mailer::outbox(dir.path(), "flow@example.com").unwrap();
        let mut e = email();
        e.to = vec!["not an address".into()];
        let cx = ActionContext {
            event_id: None,
            workflow: "w",
            step: 0,
        };
        let err = m.perform(&Action::Email(e), &cx).unwrap_err();
        assert!(err.message.contains("not an e-mail address"), "{err:?}");
    }
}
