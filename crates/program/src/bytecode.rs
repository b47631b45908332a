//! The bytecode: a flat instruction vector per workflow, with a constant pool and a
//! table of field reads resolved at compile time.

use serde::Serialize;

use crate::{ArithOp, CmpOp, FieldRead, Func, Lit, Rounding, TypedCond};
use flow_syntax::Span;

/// An instruction. In the canonical form (see `canonical.rs`) an instruction keeps
/// what it does and leaves out the indexes of `Program::operands`, which only point
/// back at the source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Push constant #n.
    Const(u32),
    /// Push the value of field read #n (a path into the event or a local object).
    Load(u32),
    LoadLocal(u16),
    StoreLocal(u16),
    Pop,
    Not,
    /// Pop right, pop left, push the comparison; `operands[n]` are their spans.
    Compare(CmpOp, #[serde(skip)] u32),
    /// Pop list, pop needle, push membership.
    In,
    /// Pop right, pop left, push the result; `operands[n]` are their spans.
    Arith(ArithOp, Rounding, #[serde(skip)] u32),
    /// Negate the number, money or duration on top.
    Neg,
    /// Pop `n` arguments, push the built-in function's result.
    CallFn(Func, u8),
    /// Pop a text, push whether `patterns[n]` matches it.
    Match(u32),
    /// Push the time the run started.
    Now,
    /// Pop a list into local `n`, its position into local `n + 1`.
    IterStart(u16),
    /// A `for` loop: pop a list into local `n` and its position into `n + 1`, taking
    /// at most `limit` items (a longer list is cut, and the run reports it), and enter
    /// the loop: actions in it are keyed by the item's id. `Loop(n, limit)`.
    Loop(u16, u32),
    /// Leave the innermost `for` loop.
    EndLoop,
    /// Put the next item of the list in local `list` into local `var`, or jump to
    /// `exit` when there is none: `Next(list, var, exit)`.
    Next(u16, u16, u32),
    /// Pop n values, push a list.
    MakeList(u32),
    /// Pop n values, push their text concatenated.
    Concat(u32),
    /// Replace an object on the stack by its `id`.
    IdOf,
    /// Pop a bool; jump when false.
    JumpIfFalse(u32),
    Jump(u32),
    /// Pop an ID, fetch the object of type `objects[n]` through the bindings, push
    /// it; `operands[k]` is the span of the ID expression: `Retrieve(n, k)`.
    Retrieve(u32, #[serde(skip)] u32),
    /// Pop value, pop ID: update `updates[n]` (object type and parameter path).
    Update(u32),
    /// Pop n values, push a table labelled by `tables[k]`: `MakeTable(k)`.
    MakeTable(u32),
    /// Pop append (a table or null), body, subject (or null), to: send an e-mail.
    Email,
    /// Pop one value per name in `refunds[n]`: create a refund.
    Refund(u32),
    /// Pop one value per parameter of `calls[n]` (`slack`, `http`, a custom action),
    /// carry it out, push its answer.
    Call(u32),
    /// Pop one value per argument of `stripe[n]`, call the Stripe API method, push
    /// its answer (an object, or the items of a list or a search).
    Stripe(u32),
    /// Pop a duration: the run goes on that long after its `now`, which becomes the
    /// time it wakes (`wait 3 days`).
    Wait,
    /// Pop a timestamp: the run goes on at that time, or at once when it has passed
    /// (`wait until T`).
    WaitUntil,
    /// The `when` condition was false: end the run as skipped.
    Skip,
    /// End the run as succeeded.
    Halt,
}

/// A `slack`, `http` or custom action call: the action, its parameters' names in
/// the order their values are pushed, and a custom action's address.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CallSpec {
    pub action: String,
    pub params: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

/// The most actions a run carries out unless `[run] max_actions` says otherwise.
pub const DEFAULT_MAX_ACTIONS: u32 = 1_000;

/// A call of a Stripe API method (`stripe.invoices.void_invoice(inv)`): what the
/// catalogue says of the method, and the arguments in the order their values are
/// pushed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StripeSpec {
    /// `invoices.void_invoice`.
    pub method: String,
    /// `GET`, `POST` or `DELETE`.
    pub verb: String,
    /// With placeholders: `/v1/invoices/{id}/void`.
    pub path: String,
    pub args: Vec<StripeArg>,
    /// What the method answers: an object type, `list(TYPE)` or `json`.
    pub returns: String,
    /// A list or a search: the most items the call yields, fetched page by page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u32>,
}

/// One argument of a [`StripeSpec`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StripeArg {
    /// The parameter's name in Stripe's API (`id`, `status`, `metadata`).
    pub name: String,
    pub kind: ArgKind,
    /// The argument's value in the source, for run-time errors.
    #[serde(skip)]
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgKind {
    /// A placeholder of the path: an ID (an object passes its `id`).
    Path,
    /// A parameter, sent as it is (money in minor units, an object as its ID).
    Param,
    /// A `money` parameter whose currency is the sibling parameter `currency`: the
    /// two must agree, and an absent `currency` is filled in from the money.
    Money,
    /// An amount in minor units of the currency of another argument's object (a
    /// credit note's `amount` is in its invoice's currency): `args[context]`, an
    /// object of type `object`, whose currency the money must be in.
    Amount { context: u32, object: String },
    /// `stripe_account:`: the connected account to act on, or null for the
    /// platform, instead of the event's account.
    Account,
}

/// A `when` condition or an `if`/`else if` condition, for coverage: a run evaluated
/// it as many times as it reached instruction `test` (the condition's first), and
/// found it true as many times as it reached `then` (the first of the block it
/// guards). Not part of the canonical form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BranchPoint {
    /// `when`, `if` or `else if`.
    pub kind: &'static str,
    /// The condition in the source.
    pub span: Span,
    pub test: u32,
    pub then: u32,
}

/// The trigger of a workflow started by a schedule (`Program::trigger` is
/// [`SCHEDULE`]): five-field cron in an IANA time zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScheduleSpec {
    pub cron: String,
    pub timezone: String,
}

impl ScheduleSpec {
    /// The schedule, parsed. A spec the checker passed always parses: `None` only for
    /// one built by hand.
    pub fn schedule(&self) -> Option<flow_stdlib::cron::Schedule> {
        flow_stdlib::cron::Schedule::parse(&self.cron, &self.timezone).ok()
    }
}

/// `Program::trigger` of a workflow started by a schedule; never an event type
/// (those all have a dot).
pub const SCHEDULE: &str = "schedule";
/// `Program::trigger` of a workflow started on demand, with typed input.
pub const DEMAND: &str = "demand";

/// One input of an on-demand workflow: its value is in local `slot` when the run
/// starts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InputSpec {
    pub name: String,
    pub ty: InputType,
    /// Written `TYPE?`, or with a default: the input may be left out.
    pub optional: bool,
    /// `= DEFAULT`: the value when the input is left out (else null).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Lit>,
    pub slot: u16,
}

/// The type of an input, as written after its name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputType {
    Bool,
    Integer,
    Decimal,
    String,
    Timestamp,
    Duration,
    Currency,
    /// An amount with its currency: `{"amount": 1250, "currency": "usd"}` (minor
    /// units, as Stripe writes money) or `"12.50 USD"`.
    Money,
    /// The ID of an object of that type (`cus_…` for `ref<customer>`).
    Ref(String),
    List(Box<InputType>),
    /// A string → string map.
    Metadata,
    /// `enum(low|high)`: one of these strings.
    Enum(Vec<String>),
    /// Any JSON.
    Json,
}

impl std::fmt::Display for InputType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputType::Bool => f.write_str("bool"),
            InputType::Integer => f.write_str("integer"),
            InputType::Decimal => f.write_str("decimal"),
            InputType::String => f.write_str("string"),
            InputType::Timestamp => f.write_str("timestamp"),
            InputType::Duration => f.write_str("duration"),
            InputType::Currency => f.write_str("currency"),
            InputType::Money => f.write_str("money"),
            InputType::Ref(o) => write!(f, "ref<{o}>"),
            InputType::List(t) => write!(f, "list<{t}>"),
            InputType::Metadata => f.write_str("metadata"),
            InputType::Enum(v) => write!(f, "enum({})", v.join("|")),
            InputType::Json => f.write_str("json"),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct UpdateSpec {
    pub object: String,
    pub param_path: Vec<String>,
    /// The span of the reference being updated (`customer`), for errors.
    #[serde(skip)]
    pub target: Span,
}

/// One compiled workflow: immutable, and reusable across events.
///
/// Its serialized form leaves out every source position (`spans`, `operands`,
/// `span`, an update's `target`, and the indexes into `operands` of `Compare` and
/// `Retrieve`): that is the canonical form of [`Program::canonical`], the same for
/// two sources that differ only in comments and layout.
#[derive(Clone, Debug, Serialize)]
pub struct Program {
    pub name: String,
    pub trigger: String,
    pub code: Vec<Op>,
    /// The source span of each instruction, for run-time errors.
    #[serde(skip)]
    pub spans: Vec<Span>,
    pub consts: Vec<Lit>,
    pub reads: Vec<FieldRead>,
    /// Spans of operands named in run-time errors (`Compare`, `Retrieve`).
    #[serde(skip)]
    pub operands: Vec<(Span, Span)>,
    pub objects: Vec<String>,
    pub updates: Vec<UpdateSpec>,
    /// Labels of each table built by `MakeTable`.
    pub tables: Vec<Vec<String>>,
    pub refunds: Vec<Vec<String>>,
    /// Regular expressions written as literals, compiled once. Left out of the
    /// canonical form when there are none, so that programs without them keep the
    /// versions they had before patterns existed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<Pattern>,
    /// `slack`, `http` and custom actions (left out of the serialized form when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<CallSpec>,
    /// Stripe API method calls (left out of the serialized form when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stripe: Vec<StripeSpec>,
    /// A scheduled workflow's schedule (left out of the serialized form otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleSpec>,
    /// An on-demand workflow's inputs (left out of the serialized form when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<InputSpec>,
    /// Its conditions, for coverage (`flow test --coverage`).
    #[serde(skip)]
    pub branches: Vec<BranchPoint>,
    pub locals: u16,
    /// The most actions a run carries out (`[run] max_actions`); a setting, so the
    /// version (which hashes the settings) already covers it.
    #[serde(skip)]
    pub max_actions: u32,
    /// Stripe steps (actions and conditions), for reports.
    #[serde(skip)]
    pub span: Span,
    /// The `when` (or the expression compiled alone) in typed form over slots, when
    /// it is made only of what that form handles: derived from `code`, so not part
    /// of the canonical form.
    #[serde(skip)]
    pub typed: Option<TypedCond>,
}

impl Program {
    /// `event`, `schedule` or `demand`: what starts the workflow.
    pub fn trigger_kind(&self) -> &'static str {
        match self.trigger.as_str() {
            SCHEDULE => "schedule",
            DEMAND => "demand",
            _ => "event",
        }
    }

    /// The typed form of the `when`, when its being false skips the run with nothing
    /// else done: an event trigger without inputs, a `when` that opens the program.
    /// Its `Some(false)` is the VM's skip, wherever the run would be asked.
    pub fn skipping_when(&self) -> Option<&TypedCond> {
        if self.trigger_kind() != "event" || !self.inputs.is_empty() {
            return None;
        }
        let t = self.typed.as_ref()?;
        t.then?;
        Some(t)
    }

    pub fn empty(
        name: impl Into<String>,
        trigger: impl Into<String>,
        locals: u16,
        span: Span,
    ) -> Program {
        Program {
            name: name.into(),
            trigger: trigger.into(),
            code: Vec::new(),
            spans: Vec::new(),
            consts: Vec::new(),
            reads: Vec::new(),
            operands: Vec::new(),
            objects: Vec::new(),
            updates: Vec::new(),
            tables: Vec::new(),
            refunds: Vec::new(),
            patterns: Vec::new(),
            calls: Vec::new(),
            stripe: Vec::new(),
            schedule: None,
            inputs: Vec::new(),
            branches: Vec::new(),
            locals,
            max_actions: DEFAULT_MAX_ACTIONS,
            span,
            typed: None,
        }
    }
}

/// A regular expression of the program, compiled (linear time: the `regex` crate has
/// no backtracking). Serialized as its source.
#[derive(Clone, Debug)]
pub struct Pattern {
    pub source: String,
    pub regex: regex::Regex,
}

impl Pattern {
    /// The largest compiled pattern accepted, in bytes.
    pub const SIZE_LIMIT: usize = 1 << 20;

    /// Compile `source`; the error in plain words.
    pub fn new(source: &str) -> Result<Pattern, String> {
        regex::RegexBuilder::new(source)
            .size_limit(Pattern::SIZE_LIMIT)
            .build()
            .map(|regex| Pattern {
                source: source.to_string(),
                regex,
            })
            .map_err(|e| match e {
                regex::Error::Syntax(s) => s
                    .lines()
                    .filter(|l| l.trim_start().starts_with("error:"))
                    .map(|l| {
                        l.trim_start()
                            .trim_start_matches("error:")
                            .trim()
                            .to_string()
                    })
                    .next()
                    .unwrap_or(s),
                regex::Error::CompiledTooBig(_) => "the pattern is too large".to_string(),
                other => other.to_string(),
            })
    }
}

impl Serialize for Pattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}
