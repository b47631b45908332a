//! Run-time errors: each with a stable R-code (documented in the error index,
//! `docs/diagnostics.md`), a message in plain words and, where there is one, the
//! span of the program at fault. Callers classify errors by their code, never by
//! their text.

use flow_syntax::{SourceFile, Span};
use serde::{Serialize, Serializer};

/// What went wrong while running, by stable code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RunCode {
    /// R0101: a value the step needs is null (a reference, a comparison's side, a
    /// condition, a refund parameter).
    Null,
    /// R0102: a field the workflow reads is not set in a test's partial event.
    NotSet,
    /// R0103: the event lacks a field its schema says is always present.
    Missing,
    /// R0104: event data of another type than the schema or the operation expects.
    WrongType,
    /// R0105: arithmetic that overflows or divides by zero.
    Arithmetic,
    /// R0106: a pattern, time format or time zone computed at run time that is not
    /// valid.
    Pattern,
    /// R0201: the bindings could not carry an action out (Stripe's, the mail
    /// server's, Slack's or an endpoint's answer, an `http` address refused, or an
    /// object not among `--objects`).
    ActionFailed,
    /// R0202: a `retrieve` answered something that is not an object.
    BadAnswer,
    /// R0301: an e-mail without a recipient, or to something that is not an address.
    Recipient,
    /// R0302: a refund amount in another currency than the payment's.
    Currency,
    /// R0303: a refund amount that is not positive, or finer than Stripe takes.
    Amount,
    /// R0304: the run reached its limit of actions (`[run] max_actions`).
    TooManyActions,
    /// R0305: the input of an on-demand run does not match the workflow's inputs.
    Input,
}

impl RunCode {
    /// Every run-time code, in order.
    pub const ALL: [RunCode; 13] = [
        RunCode::Null,
        RunCode::NotSet,
        RunCode::Missing,
        RunCode::WrongType,
        RunCode::Arithmetic,
        RunCode::Pattern,
        RunCode::ActionFailed,
        RunCode::BadAnswer,
        RunCode::Recipient,
        RunCode::Currency,
        RunCode::Amount,
        RunCode::TooManyActions,
        RunCode::Input,
    ];

    /// The stable code, e.g. `R0101`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunCode::Null => "R0101",
            RunCode::NotSet => "R0102",
            RunCode::Missing => "R0103",
            RunCode::WrongType => "R0104",
            RunCode::Arithmetic => "R0105",
            RunCode::Pattern => "R0106",
            RunCode::ActionFailed => "R0201",
            RunCode::BadAnswer => "R0202",
            RunCode::Recipient => "R0301",
            RunCode::Currency => "R0302",
            RunCode::Amount => "R0303",
            RunCode::TooManyActions => "R0304",
            RunCode::Input => "R0305",
        }
    }

    /// What to do about it, in a line.
    pub fn help(self) -> &'static str {
        match self {
            RunCode::Null => "guard the step with `if FIELD != null { … }`, or check for null in the `when` condition",
            RunCode::NotSet => "set the field in the test's `given` object, or give the whole event as a file",
            RunCode::Missing => "the event does not match its schema: check that it is an event as Stripe sends it",
            RunCode::WrongType => "the event's data is not what the workflow expects: check the event, or compare with a value of the field's type",
            RunCode::Arithmetic => "keep amounts within range and guard divisions: `if count > 0 { … }`",
            RunCode::Pattern => "give a valid regular expression, strftime format or IANA time zone (\"Europe/Berlin\")",
            RunCode::ActionFailed => "the service's answer is in the message; fix what it says, then retry the run",
            RunCode::BadAnswer => "the object retrieved is not a Stripe object: check the objects given with --objects",
            RunCode::Recipient => "give `to:` an e-mail address such as team@example.com (or a list of them)",
            RunCode::Currency => "give amounts in one currency (a refund in the payment's): amounts are never converted",
            RunCode::Amount => "give a positive amount in the currency's minor unit",
            RunCode::TooManyActions => "narrow the loop's list (filter it, lower its `limit`), or raise `max_actions` under [run] in flow.toml",
            RunCode::Input => "give every input the workflow declares in `on demand (…)`, each of its type, and nothing else",
        }
    }
}

/// The stable code, `"R0101"`.
impl Serialize for RunCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RunError {
    pub code: RunCode,
    pub message: String,
    pub span: Option<Span>,
}

impl RunError {
    pub(crate) fn at(code: RunCode, span: Span, message: impl Into<String>) -> RunError {
        RunError {
            code,
            message: message.into(),
            span: Some(span),
        }
    }

    /// `file:line:col: message`.
    pub fn render(&self, source: &SourceFile) -> String {
        match self.span {
            Some(s) => format!("{}: {}", source.location(s), self.message),
            None => self.message.clone(),
        }
    }
}
