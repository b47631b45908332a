//! The e-mail bindings: an `email` action sent over SMTP, or written as an `.eml`
//! file into an outbox folder.
//!
//! The message is what a person reads in a report: the subject (the workflow's name
//! when none is given), the body, and the appended fields as a table of `label  value`
//! lines.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};

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
        // A subject is one line: line breaks from event data would start new headers.
        let subject = email.subject_or(cx.workflow).replace(['\r', '\n'], " ");
        let mut builder = Message::builder().from(self.from.clone()).subject(subject);
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
            .body(lines_only(&email.message_text()))
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
                let name = outbox_name(cx);
                let path = dir.join(&name);
                // Written whole, then renamed: a reader never sees half a message, and
                // a replayed event replaces its message instead of adding one. Each
                // write has a temporary file of its own, so that concurrent runs never
                // write into, or rename, one another's message.
                static WRITES: AtomicU64 = AtomicU64::new(0);
                let n = WRITES.fetch_add(1, Ordering::Relaxed);
                let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
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

/// Every line break as `\n` (lettre writes each as CRLF): no bare CR or LF from
/// event data reaches SMTP, where a bare CR is the start of SMTP smuggling.
fn lines_only(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// The outbox file of an action: readable (event, workflow, step), then a digest of
/// the three as given, so that two workflows whose names read alike ("Tag VIP",
/// "Tag-VIP", or long names sharing their first 60 characters) never share a file,
/// while a replay of the same action rewrites its own.
fn outbox_name(cx: &ActionContext<'_>) -> String {
    let event = cx.event_id.unwrap_or("no-event");
    let mut h = Sha256::new();
    for part in [event, cx.workflow, &cx.step.to_string()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    let digest: String = h
        .finalize()
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{}-{}-{}-{digest}.eml",
        slug(event),
        slug(cx.workflow),
        cx.step
    )
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
            trigger: None,
            now: 0,
            item: None,
        };
        m.perform(&Action::Email(email()), &cx).unwrap();
        // Again: the same file, not a second one.
        m.perform(&Action::Email(email()), &cx).unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        assert!(
            files[0].starts_with("evt_1-Tag-valuable-customers-0-") && files[0].ends_with(".eml"),
            "{files:?}"
        );
        let text = std::fs::read_to_string(dir.path().join(&files[0])).unwrap();
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
            trigger: None,
            now: 0,
            item: None,
        };
        let err = m.perform(&Action::Email(e), &cx).unwrap_err();
        assert!(err.message.contains("not an e-mail address"), "{err:?}");
    }

    fn eml_files(dir: &Path) -> Vec<String> {
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        files.sort();
        files
    }

    #[test]
    fn names_that_read_alike_get_files_of_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Mailer::outbox(dir.path(), "flow@example.com").unwrap();
        let long = "x".repeat(70);
        let longer = format!("{long}y");
        for workflow in ["Tag VIP", "Tag-VIP", long.as_str(), longer.as_str()] {
            let cx = ActionContext {
                event_id: Some("evt_1"),
                workflow,
                step: 0,
                trigger: None,
                now: 0,
                item: None,
            };
            m.perform(&Action::Email(email()), &cx).unwrap();
        }
        let files = eml_files(dir.path());
        assert_eq!(files.len(), 4, "{files:?}");
    }

    #[test]
    fn concurrent_writes_keep_each_message_in_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        std::thread::scope(|scope| {
            for t in 0..8 {
                let path = dir.path().to_path_buf();
                scope.spawn(move || {
                    let mut m = Mailer::outbox(&path, "flow@example.com").unwrap();
                    for i in 0..40 {
                        let event = format!("evt_{t}_{i}");
                        let mut e = email();
                        e.body = format!("for {event}");
                        let cx = ActionContext {
                            event_id: Some(&event),
                            workflow: "Tag valuable customers",
                            step: 0,
                            trigger: None,
                            now: 0,
                            item: None,
                        };
                        m.perform(&Action::Email(e), &cx).unwrap();
                    }
                });
            }
        });
        let files = eml_files(dir.path());
        assert_eq!(
            files.len(),
            320,
            "no temporary file is left and none is lost"
        );
        for f in files {
            let event = f.split("-Tag").next().unwrap();
            let text = std::fs::read_to_string(dir.path().join(&f)).unwrap();
            assert!(
                text.contains(&format!("for {event}\r\n")),
                "{f} holds its own event's message"
            );
        }
    }

    #[test]
    fn no_bare_cr_or_lf_reaches_the_message() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Mailer::outbox(dir.path(), "flow@example.com").unwrap();
        let mut e = email();
        e.body = "a\r.\rMAIL FROM:<x@evil.test>\r\nnext\nlast".into();
        e.subject = Some("Hello\r\nBcc: x@evil.test".into());
        let cx = ActionContext {
            event_id: Some("evt_1"),
            workflow: "w",
            step: 0,
            trigger: None,
            now: 0,
            item: None,
        };
        let message = m.message(&e, &cx).unwrap().formatted();
        let text = String::from_utf8(message).unwrap();
        let bytes = text.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            match b {
                b'\r' => assert_eq!(bytes.get(i + 1), Some(&b'\n'), "bare CR at {i}: {text:?}"),
                b'\n' => assert!(i > 0 && bytes[i - 1] == b'\r', "bare LF at {i}: {text:?}"),
                _ => {}
            }
        }
        assert!(
            !text.contains("\r\nBcc:"),
            "the subject stays one header: {text:?}"
        );
        m.perform(&Action::Email(e), &cx).unwrap();
    }
}
