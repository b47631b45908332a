//! Every code flow reports, with its severity and what it is about: the check-time
//! E-, W- and N-codes and the run-time R-codes. The error index
//! (`docs/diagnostics.md`, made by `scripts/diagnostics-doc.py`) explains each with
//! an example; a test keeps this table, the sources and the index in step.

use flow_syntax::Severity;

/// One code of the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    pub code: &'static str,
    pub severity: Severity,
    /// What it is about, in a line.
    pub summary: &'static str,
}

/// Every code, in order: `E` errors, `N` notes, `R` run-time errors, `W` warnings.
pub const ALL: &[Code] = &[
    Code {
        code: "E0001",
        severity: Severity::Error,
        summary: "A syntax error: the parser says what it expected, in the language's words, and where",
    },
    Code {
        code: "E0002",
        severity: Severity::Error,
        summary: "Two statements on one line without `;` between them",
    },
    Code {
        code: "E0003",
        severity: Severity::Error,
        summary: "`{…}` interpolation inside a workflow name, a map key or a `[\"…\"]` path segment, where text must be literal",
    },
    Code {
        code: "E0004",
        severity: Severity::Error,
        summary: "A number or amount too large to represent exactly",
    },
    Code {
        code: "E0005",
        severity: Severity::Error,
        summary: "Blocks or expressions nested too deeply, or one expression chaining too many operators: the limits keep any input from exhausting the stack",
    },
    Code {
        code: "E0101",
        severity: Severity::Error,
        summary: "`on` names an event type Stripe does not send",
    },
    Code {
        code: "E0102",
        severity: Severity::Error,
        summary: "A name that is not a field of the event's object, a `let`, `event` or a setting",
    },
    Code {
        code: "E0104",
        severity: Severity::Error,
        summary: "A field read through a reference: `customer` on a PaymentIntent is the ID of a Customer, not the Customer",
    },
    Code {
        code: "E0105",
        severity: Severity::Error,
        summary: "A field read on a value that has no fields (a currency, a number, …)",
    },
    Code {
        code: "E0201",
        severity: Severity::Error,
        summary: "Two values of kinds that cannot be compared, or a list mixing kinds",
    },
    Code {
        code: "E0202",
        severity: Severity::Error,
        summary: "A currency code Stripe does not support",
    },
    Code {
        code: "E0203",
        severity: Severity::Error,
        summary: "A money literal finer than the currency's minor unit: yen have no minor unit, dinars have three decimals",
    },
    Code {
        code: "E0204",
        severity: Severity::Error,
        summary: "A string that is never a value of a closed enum (a field such as `status`, or a parameter such as refund `reason`)",
    },
    Code {
        code: "E0205",
        severity: Severity::Error,
        summary: "A condition (`when`, `if`, `and`, `or`, `not`) that is not true or false",
    },
    Code {
        code: "E0206",
        severity: Severity::Error,
        summary: "`<`, `<=`, `>`, `>=` on values that have no order (currencies, strings, IDs), or with null",
    },
    Code {
        code: "E0207",
        severity: Severity::Error,
        summary: "A string compared with money or a currency",
    },
    Code {
        code: "E0301",
        severity: Severity::Error,
        summary: "An action the catalogue does not have",
    },
    Code {
        code: "E0302",
        severity: Severity::Error,
        summary: "A parameter the action does not take",
    },
    Code {
        code: "E0303",
        severity: Severity::Error,
        summary: "A required parameter is missing",
    },
    Code {
        code: "E0304",
        severity: Severity::Error,
        summary: "A parameter given twice",
    },
    Code {
        code: "E0305",
        severity: Severity::Error,
        summary: "A parameter of the wrong type (e.g",
    },
    Code {
        code: "E0306",
        severity: Severity::Error,
        summary: "An e-mail recipient that is not an address",
    },
    Code {
        code: "E0307",
        severity: Severity::Error,
        summary: "`refund` needs exactly one of `charge` and `payment_intent`",
    },
    Code {
        code: "E0308",
        severity: Severity::Error,
        summary: "`update` on something that is not a reference to an object",
    },
    Code {
        code: "E0309",
        severity: Severity::Error,
        summary: "`update` of a field Stripe does not let you change, or without saying which field or metadata key",
    },
    Code {
        code: "E0310",
        severity: Severity::Error,
        summary: "`retrieve` of something that is not a reference to an object",
    },
    Code {
        code: "E0701",
        severity: Severity::Error,
        summary: "A test without `given`: it needs an event to run on",
    },
    Code {
        code: "E0702",
        severity: Severity::Error,
        summary: "A test with more than one `given`: each test runs one event",
    },
    Code {
        code: "E0703",
        severity: Severity::Error,
        summary: "A test without `expect`: a test that asserts nothing cannot fail",
    },
    Code {
        code: "E0704",
        severity: Severity::Error,
        summary: "`given \"file.json\"` (or `with \"folder\"`) names a file that cannot be read or is not an event",
    },
    Code {
        code: "E0705",
        severity: Severity::Error,
        summary: "Objects given for `retrieve` (`with [ { … } ]`) must be objects with an `id` and an `object` type Stripe has",
    },
    Code {
        code: "E0706",
        severity: Severity::Error,
        summary: "A value in a given object has the wrong type for its field (amounts are minor units or money, metadata values are strings, …)",
    },
    Code {
        code: "E0707",
        severity: Severity::Error,
        summary: "A money value in a given object disagrees with the object's `currency` field",
    },
    Code {
        code: "E0708",
        severity: Severity::Error,
        summary: "A given object sets a field to null that Stripe never sends as null",
    },
    Code {
        code: "E0709",
        severity: Severity::Error,
        summary: "A given object holds an expression",
    },
    Code {
        code: "E0710",
        severity: Severity::Error,
        summary: "An `expect` that is not an expectation (`expect no refunds`), or a message on a status other than `failed`",
    },
    Code {
        code: "E0801",
        severity: Severity::Error,
        summary: "`flow test`: a `NAME.test.flow` whose `NAME.flow` does not exist",
    },
    Code {
        code: "E0802",
        severity: Severity::Error,
        summary: "`flow test`: the test cannot run because its `given` has errors or its event is unusable",
    },
    Code {
        code: "E0803",
        severity: Severity::Error,
        summary: "`flow test`: no workflow under test is triggered by the given event type",
    },
    Code {
        code: "E0804",
        severity: Severity::Error,
        summary: "`flow test`: the workflow reads a field that the given partial object does not set",
    },
    Code {
        code: "E0805",
        severity: Severity::Error,
        summary: "`flow test`: an expectation did not hold",
    },
    Code {
        code: "E0806",
        severity: Severity::Error,
        summary: "`flow test`: the run failed, and the test did not `expect failed`",
    },
    Code {
        code: "E0807",
        severity: Severity::Error,
        summary: "`flow test`: an expected value cannot be computed (e.g",
    },
    Code {
        code: "E0901",
        severity: Severity::Error,
        summary: "A file given on the command line cannot be read",
    },
    Code {
        code: "E0902",
        severity: Severity::Error,
        summary: "`flow.toml` is invalid",
    },
    Code {
        code: "E0903",
        severity: Severity::Error,
        summary: "An unknown command-line choice (`--deny`, `--emit`)",
    },
    Code {
        code: "E0904",
        severity: Severity::Error,
        summary: "An event or object file is not valid JSON",
    },
    Code {
        code: "E0905",
        severity: Severity::Error,
        summary: "The JSON is not a Stripe event, and no `--type` says which event a bare object is",
    },
    Code {
        code: "E0906",
        severity: Severity::Error,
        summary: "A file under `--objects` is not a Stripe object with an `id`",
    },
    Code {
        code: "E0907",
        severity: Severity::Error,
        summary: "`flow new`: no template of that name",
    },
    Code {
        code: "E0908",
        severity: Severity::Error,
        summary: "`flow new`: the target is not a usable name for a flow file",
    },
    Code {
        code: "E0909",
        severity: Severity::Error,
        summary: "`flow new`: the file exists",
    },
    Code {
        code: "E0910",
        severity: Severity::Error,
        summary: "`flow new`: the folder cannot be created",
    },
    Code {
        code: "E0920",
        severity: Severity::Error,
        summary: "`flow serve`: the `[serve]` section of `flow.toml` is invalid, or `--workers 0`",
    },
    Code {
        code: "E0921",
        severity: Severity::Error,
        summary: "`flow serve`: no webhook signing secret",
    },
    Code {
        code: "E0922",
        severity: Severity::Error,
        summary: "`flow serve`: nothing to serve, or a flow file with errors (its diagnostics are shown above this one)",
    },
    Code {
        code: "E0923",
        severity: Severity::Error,
        summary: "`flow serve`: the run log cannot be opened, or another server is using it (one server per run log",
    },
    Code {
        code: "E0924",
        severity: Severity::Error,
        summary: "`flow serve`: the address given to `--listen` cannot be listened on",
    },
    Code {
        code: "E0925",
        severity: Severity::Error,
        summary: "`flow runs`, `flow activate`, `flow deactivate`: no run log where one was expected (`.flow/runs.db`, or `--db FILE`), no such run, or a run that cannot be retried (only failed runs are)",
    },
    Code {
        code: "E0927",
        severity: Severity::Error,
        summary: "`flow activate` / `flow deactivate`: no workflow of that name has been served with this run log",
    },
    Code {
        code: "E0928",
        severity: Severity::Error,
        summary: "`flow runs --since`: not a time",
    },
    Code {
        code: "E0950",
        severity: Severity::Error,
        summary: "REPL: an unknown `:command`",
    },
    Code {
        code: "E0951",
        severity: Severity::Error,
        summary: "REPL: a `:command` without the argument it needs",
    },
    Code {
        code: "E0952",
        severity: Severity::Error,
        summary: "REPL: `:run` without an event (start with `--event` or use `:event FILE`)",
    },
    Code {
        code: "E0953",
        severity: Severity::Error,
        summary: "REPL: `:run` with no workflow loaded (`:load FILE.flow`, or type one)",
    },
    Code {
        code: "E0954",
        severity: Severity::Error,
        summary: "REPL: a line failed at run time (a null where a value is needed, a missing object)",
    },
    Code {
        code: "E0955",
        severity: Severity::Error,
        summary: "REPL: standard input could not be read",
    },
    Code {
        code: "E0960",
        severity: Severity::Error,
        summary: "`--live`: the event has no `id`, so no idempotency key can be made (a bare object with `--type` cannot run live)",
    },
    Code {
        code: "E0961",
        severity: Severity::Error,
        summary: "`--live`: no usable Stripe key (`STRIPE_API_KEY` unset, or a setting that must not hold a key)",
    },
    Code {
        code: "E0962",
        severity: Severity::Error,
        summary: "`--live`: e-mail has nowhere to go (no `from`, no `smtp`, no outbox)",
    },
    Code {
        code: "E0963",
        severity: Severity::Error,
        summary: "`--live`: the mail transport cannot be set up",
    },
    Code {
        code: "E0964",
        severity: Severity::Error,
        summary: "`--live`: this `flow` was built without the `live` feature, so it cannot carry actions out (build it with the default features)",
    },
    Code {
        code: "N0001",
        severity: Severity::Note,
        summary: "The event's object has no schema yet: its fields are dynamic JSON, checked at run time",
    },
    Code {
        code: "R0101",
        severity: Severity::Error,
        summary: "A value the step needs is null: a reference to update or retrieve, a side of a comparison, a condition, a refund parameter",
    },
    Code {
        code: "R0102",
        severity: Severity::Error,
        summary: "`flow test`: the workflow reads a field that the test's partial `given` object does not set (reported by `flow test` as E0804)",
    },
    Code {
        code: "R0103",
        severity: Severity::Error,
        summary: "The event lacks a field that its schema says Stripe always sends: the JSON is not an event as Stripe sends it",
    },
    Code {
        code: "R0104",
        severity: Severity::Error,
        summary: "Event data of another type than the schema or the operation expects (for example a string where a number is declared, or dynamic JSON compared with a value it cannot be ordered with)",
    },
    Code {
        code: "R0201",
        severity: Severity::Error,
        summary: "The bindings could not carry an action out: Stripe's answer (its type, code and message), the mail server's, or an object that is not among `--objects`",
    },
    Code {
        code: "R0202",
        severity: Severity::Error,
        summary: "A `retrieve` was answered with something that is not an object",
    },
    Code {
        code: "R0301",
        severity: Severity::Error,
        summary: "An e-mail without a recipient (`to` is null or empty), or to something that is not an address",
    },
    Code {
        code: "R0302",
        severity: Severity::Error,
        summary: "A refund amount in another currency than the payment's: amounts are never converted",
    },
    Code {
        code: "R0303",
        severity: Severity::Error,
        summary: "A refund amount that is not positive, or finer than Stripe takes for the currency",
    },
    Code {
        code: "W0101",
        severity: Severity::Warning,
        summary: "A string that is not among the documented values of an open enum (Stripe may add values, so this is a warning)",
    },
    Code {
        code: "W0102",
        severity: Severity::Warning,
        summary: "A value that may be null where a value is needed",
    },
    Code {
        code: "W0103",
        severity: Severity::Warning,
        summary: "A `let` that is never used",
    },
    Code {
        code: "W0104",
        severity: Severity::Warning,
        summary: "A comparison that is always true or always false (constants, a never-null field compared with null, or a condition decided by the conditions around it)",
    },
    Code {
        code: "W0105",
        severity: Severity::Warning,
        summary: "A branch that can never run given the conditions around it: `if amount < 500 USD` inside `when amount > 1000 USD`, or `if currency == EUR` there",
    },
    Code {
        code: "W0106",
        severity: Severity::Warning,
        summary: "A workflow with more than Stripe's limit of 50 steps (actions and conditions)",
    },
    Code {
        code: "W0107",
        severity: Severity::Warning,
        summary: "Two workflows in one file with the same name",
    },
    Code {
        code: "W0701",
        severity: Severity::Warning,
        summary: "Two tests in one file with the same name",
    },
];

/// The registry entry of a code.
pub fn lookup(code: &str) -> Option<&'static Code> {
    ALL.iter().find(|c| c.code == code)
}
