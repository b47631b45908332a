//! Every code flow reports, with its severity and what it is about: the check-time
//! E-, W- and N-codes and the run-time R-codes. The error index
//! (`docs/diagnostics.md`) is made from this table and the cases under
//! `tests/diagnostics/`: each code's explanation, then the case that shows it with the
//! output `flow check` prints for it, or for an R-code what a failed run says. A test
//! of `tests/diagnostics.rs` keeps this table, the sources and the index in step, and
//! rewrites the index when `FLOW_BLESS=1` is set.

use flow_syntax::Severity;

/// One code of the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    pub code: &'static str,
    pub severity: Severity,
    /// What it is about, in a line.
    pub summary: &'static str,
    /// The explanation of the error index: the summary and what more there is to say.
    pub explanation: &'static str,
    /// For a run-time code, an example of what a failed run says.
    pub example: Option<&'static str>,
}

impl Code {
    /// A run-time error (the `"code"` of a failed run's report), not a check's.
    pub fn is_run_time(&self) -> bool {
        self.code.starts_with('R')
    }
}

/// Every code, in order: `E` errors, `N` notes, `R` run-time errors, `W` warnings.
pub const ALL: &[Code] = &[
    Code {
        code: "E0001",
        severity: Severity::Error,
        summary: "A syntax error: the parser says what it expected, in the language's words, and where",
        explanation: "A syntax error: the parser says what it expected, in the language's words, and where. After an error it resumes at the next line or workflow, so later errors are reported too.",
        example: None,
    },
    Code {
        code: "E0002",
        severity: Severity::Error,
        summary: "Two statements on one line without `;` between them",
        explanation: "Two statements on one line without `;` between them.",
        example: None,
    },
    Code {
        code: "E0003",
        severity: Severity::Error,
        summary: "`{…}` interpolation inside a workflow name, a map key or a `[\"…\"]` path segment, where text must be literal",
        explanation: "`{…}` interpolation inside a workflow name, a map key or a `[\"…\"]` path segment, where text must be literal.",
        example: None,
    },
    Code {
        code: "E0004",
        severity: Severity::Error,
        summary: "A number or amount too large to represent exactly",
        explanation: "A number or amount too large to represent exactly.",
        example: None,
    },
    Code {
        code: "E0005",
        severity: Severity::Error,
        summary: "Blocks or expressions nested too deeply, or one expression chaining too many operators: the limits keep any input from exhausting the stack",
        explanation: "Blocks or expressions nested too deeply, or one expression chaining too many operators: the limits keep any input from exhausting the stack.",
        example: None,
    },
    Code {
        code: "E0101",
        severity: Severity::Error,
        summary: "`on` names an event type Stripe does not send",
        explanation: "`on` names an event type Stripe does not send. The closest names are suggested; `flow events` lists all of them.",
        example: None,
    },
    Code {
        code: "E0102",
        severity: Severity::Error,
        summary: "A name that is not a field of the event's object, a `let`, `event` or a setting",
        explanation: "A name that is not a field of the event's object, a `let`, `event` or a setting. Suggests the closest field, or lists the fields when none is close.",
        example: None,
    },
    Code {
        code: "E0104",
        severity: Severity::Error,
        summary: "A field read through a reference: `customer` on a PaymentIntent is the ID of a Customer, not the Customer",
        explanation: "A field read through a reference: `customer` on a PaymentIntent is the ID of a Customer, not the Customer. Retrieve it first.",
        example: None,
    },
    Code {
        code: "E0105",
        severity: Severity::Error,
        summary: "A field read on a value that has no fields (a currency, a number, …)",
        explanation: "A field read on a value that has no fields (a currency, a number, …).",
        example: None,
    },
    Code {
        code: "E0201",
        severity: Severity::Error,
        summary: "Two values of kinds that cannot be compared, or a list mixing kinds",
        explanation: "Two values of kinds that cannot be compared, or a list mixing kinds.",
        example: None,
    },
    Code {
        code: "E0202",
        severity: Severity::Error,
        summary: "A currency code Stripe does not support",
        explanation: "A currency code Stripe does not support.",
        example: None,
    },
    Code {
        code: "E0203",
        severity: Severity::Error,
        summary: "A money literal finer than the currency's minor unit: yen have no minor unit, dinars have three decimals",
        explanation: "A money literal finer than the currency's minor unit: yen have no minor unit, dinars have three decimals.",
        example: None,
    },
    Code {
        code: "E0204",
        severity: Severity::Error,
        summary: "A string that is never a value of a closed enum (a field such as `status`, or a parameter such as refund `reason`)",
        explanation: "A string that is never a value of a closed enum (a field such as `status`, or a parameter such as refund `reason`).",
        example: None,
    },
    Code {
        code: "E0205",
        severity: Severity::Error,
        summary: "A condition (`when`, `if`, `and`, `or`, `not`) that is not true or false",
        explanation: "A condition (`when`, `if`, `and`, `or`, `not`) that is not true or false.",
        example: None,
    },
    Code {
        code: "E0206",
        severity: Severity::Error,
        summary: "`<`, `<=`, `>`, `>=` on values that have no order (currencies, strings, IDs), or with null",
        explanation: "`<`, `<=`, `>`, `>=` on values that have no order (currencies, strings, IDs), or with null.",
        example: None,
    },
    Code {
        code: "E0207",
        severity: Severity::Error,
        summary: "A string compared with money or a currency",
        explanation: "A string compared with money or a currency; the help shows the literal to write.",
        example: None,
    },
    Code {
        code: "E0208",
        severity: Severity::Error,
        summary: "Arithmetic on values that do not go together: `+ - * /` work on numbers, money, times and durations",
        explanation: "Arithmetic on values that do not go together: `+ - * /` work on numbers, money, times and durations. In detail: numbers; money ± money (one currency), money × or ÷ a number, money ÷ money (a ratio); a time ± a duration, a time − a time (a duration), durations. Text is joined by interpolation, not `+`.",
        example: None,
    },
    Code {
        code: "E0209",
        severity: Severity::Error,
        summary: "Money in two currencies added, subtracted or divided: amounts are never converted",
        explanation: "Money in two currencies added, subtracted or divided: amounts are never converted. The check reports it when both currencies are known; when a currency comes from the event, the run fails instead (R0302).",
        example: None,
    },
    Code {
        code: "E0211",
        severity: Severity::Error,
        summary: "An unknown function: the label suggests the closest name, the help lists them all",
        explanation: "An unknown function: the label suggests the closest name, the help lists them all. The functions are `contains`, `starts_with`, `ends_with`, `matches`, `lower`, `upper`, `trim`, `length`, `is_empty`, `round`, `floor`, `ceil`, `abs` and `format_time`, and the quantifiers `any(x in xs: …)` and `all(…)`.",
        example: None,
    },
    Code {
        code: "E0212",
        severity: Severity::Error,
        summary: "A function called with the wrong number or types of arguments, or a time format or zone it cannot use; the help shows its signature",
        explanation: "A function called with the wrong number or types of arguments, or a time format or zone it cannot use; the help shows its signature.",
        example: None,
    },
    Code {
        code: "E0213",
        severity: Severity::Error,
        summary: "A literal pattern of `matches` that is not a valid regular expression",
        explanation: "A literal pattern of `matches` that is not a valid regular expression. Patterns use the syntax of Rust's `regex` crate, which runs in linear time: no look-around or back-references. The error is shown on the pattern.",
        example: None,
    },
    Code {
        code: "E0301",
        severity: Severity::Error,
        summary: "An action the catalogue does not have",
        explanation: "An action the catalogue does not have.",
        example: None,
    },
    Code {
        code: "E0302",
        severity: Severity::Error,
        summary: "A parameter the action does not take",
        explanation: "A parameter the action does not take.",
        example: None,
    },
    Code {
        code: "E0303",
        severity: Severity::Error,
        summary: "A required parameter is missing",
        explanation: "A required parameter is missing.",
        example: None,
    },
    Code {
        code: "E0304",
        severity: Severity::Error,
        summary: "A parameter given twice",
        explanation: "A parameter given twice.",
        example: None,
    },
    Code {
        code: "E0305",
        severity: Severity::Error,
        summary: "A parameter of the wrong type (e.g. a bare number where money is needed)",
        explanation: "A parameter of the wrong type (e.g. a bare number where money is needed).",
        example: None,
    },
    Code {
        code: "E0306",
        severity: Severity::Error,
        summary: "An e-mail recipient that is not an address",
        explanation: "An e-mail recipient that is not an address.",
        example: None,
    },
    Code {
        code: "E0307",
        severity: Severity::Error,
        summary: "`refund` needs exactly one of `charge` and `payment_intent`",
        explanation: "`refund` needs exactly one of `charge` and `payment_intent`.",
        example: None,
    },
    Code {
        code: "E0308",
        severity: Severity::Error,
        summary: "`update` on something that is not a reference to an object",
        explanation: "`update` on something that is not a reference to an object.",
        example: None,
    },
    Code {
        code: "E0309",
        severity: Severity::Error,
        summary: "`update` of a field Stripe does not let you change, or without saying which field or metadata key",
        explanation: "`update` of a field Stripe does not let you change, or without saying which field or metadata key.",
        example: None,
    },
    Code {
        code: "E0310",
        severity: Severity::Error,
        summary: "`retrieve` of something that is not a reference to an object",
        explanation: "`retrieve` of something that is not a reference to an object.",
        example: None,
    },
    Code {
        code: "E0311",
        severity: Severity::Error,
        summary: "`let NAME = ACTION` with an action that has no answer to name",
        explanation: "`let NAME = ACTION` with an action that has no answer to name. Only `http` and custom actions answer something later steps can use: `let r = http …` names the answer, `r.status` and the JSON `r.body`; write other actions on a line of their own. A Stripe API method is a value of its own: `let cn = stripe.credit_notes.create(…)` names the credit note it creates.",
        example: None,
    },
    Code {
        code: "E0312",
        severity: Severity::Error,
        summary: "A custom action declared wrongly: a name taken by a built-in action or declared twice, an address that is not `http(s)://HOST…`, a parameter type that does not exist or a parameter declared twice",
        explanation: "A custom action declared wrongly: a name taken by a built-in action or declared twice, an address that is not `http(s)://HOST…`, a parameter type that does not exist or a parameter declared twice. `action NAME url: \"https://…\" { PARAM: TYPE … }` takes the types of the action catalogue (`string`, `integer`, `decimal`, `bool`, `timestamp`, `currency`, `money`, `json`, `metadata`, `table`, `ref(OBJECT)`, `enum(a|b)`, `list(TYPE)`); a trailing `?` makes a parameter optional.",
        example: None,
    },
    Code {
        code: "E0313",
        severity: Severity::Error,
        summary: "An argument of a Stripe API method given by position where the method takes none: only the IDs in its path come first by position",
        explanation: "An argument of a Stripe API method given by position where the method takes none: only the IDs in its path come first by position. `stripe.invoices.void_invoice(inv)` takes the invoice's ID by position because its path is `/v1/invoices/{id}/void`; every other parameter is named, as in `stripe.invoices.list(customer: customer, status: \"open\")`, and a name never comes before a position.",
        example: None,
    },
    Code {
        code: "E0314",
        severity: Severity::Error,
        summary: "A Stripe API method that changes something (a POST or a DELETE) called in a `when` condition",
        explanation: "A Stripe API method that changes something (a POST or a DELETE) called in a `when` condition. The condition only decides whether the workflow runs: a skipped run must leave nothing behind. Reads (`stripe.charges.retrieve(charge)`, a list or a search) may be used there; call a method that changes something in the workflow's body, where it is a step of its own with its own idempotency key.",
        example: None,
    },
    Code {
        code: "E0315",
        severity: Severity::Error,
        summary: "Money given to a Stripe API method in another currency than the call's, or where flow cannot tell which currency the amount must be in",
        explanation: "Money given to a Stripe API method in another currency than the call's, or where flow cannot tell which currency the amount must be in. A `money` parameter is sent in minor units of its own currency, and the call's `currency` is filled in from it; both written out and different, the call is refused. An amount in minor units of an object's currency (a credit note's `amount` is in its invoice's) is checked against that object when the call runs (R0302); when the call names no such object, write a whole number of minor units.",
        example: None,
    },
    Code {
        code: "E0316",
        severity: Severity::Error,
        summary: "A `for` loop written wrongly: over something that is not a list, with a limit outside 1 to 10,000, or a `break` outside a loop",
        explanation: "A `for` loop written wrongly: over something that is not a list, with a limit outside 1 to 10,000, or a `break` outside a loop. `for NAME in LIST { … }` runs its block once per item, in order; LIST is a list action (`stripe.invoices.list(…)`), a list field (`items.data`) or a list literal. Without `limit N` a loop takes at most 100 items (Stripe's largest page); `limit N` takes up to N (at most 10,000), and a longer list is cut and reported. `break` leaves the innermost loop.",
        example: None,
    },
    Code {
        code: "E0317",
        severity: Severity::Error,
        summary: "A schedule written wrongly: a cron field out of range or malformed, a schedule that can never fire, or an unknown time zone",
        explanation: "A schedule written wrongly: a cron field out of range or malformed, a schedule that can never fire, or an unknown time zone. `on schedule \"MINUTE HOUR DAY MONTH WEEKDAY\" timezone \"ZONE\"` takes five cron fields (`*`, numbers, names such as `JAN` and `MON`, ranges `1-5`, lists `1,15` and steps `*/15`, or `@daily`, `@weekly`, `@monthly`, …) and an IANA time zone such as `America/New_York` (UTC when none is given). The label points at the field at fault.",
        example: None,
    },
    Code {
        code: "E0318",
        severity: Severity::Error,
        summary: "An on-demand input written wrongly: an unknown type, a name declared twice, or a default that is not a literal of the input's type",
        explanation: "An on-demand input written wrongly: an unknown type, a name declared twice, or a default that is not a literal of the input's type. `on demand (customer: ref<customer>, credit: money, note: string? , days: integer = 3)`: an input's type is one of bool, integer, decimal, string, timestamp, duration, currency, money, metadata, json, `ref<OBJECT>`, `list<TYPE>` or `enum(a|b)`; `?` makes it optional, and a default (a literal) does too.",
        example: None,
    },
    Code {
        code: "E0319",
        severity: Severity::Error,
        summary: "`event` read in a workflow started by a schedule or on demand, which has no event",
        explanation: "`event` read in a workflow started by a schedule or on demand, which has no event. A scheduled run starts from its slot (`now` is the slot's time) and an on-demand run from its input; fetch what the workflow needs with `stripe.…` calls.",
        example: None,
    },
    Code {
        code: "E0320",
        severity: Severity::Error,
        summary: "A `wait` given something other than a length of time, or `wait until` something other than a time (or a time that may be null)",
        explanation: "A `wait` given something other than a length of time, or `wait until` something other than a time (or a time that may be null). `wait 3 days` goes on three days later; `wait until inv.due_date` at that time (at once when it has passed). In `flow serve` a waiting run is kept in the run log and goes on at its time, across restarts; `flow run` and `flow test` pass waits at once, moving `now` on.",
        example: None,
    },
    Code {
        code: "E0701",
        severity: Severity::Error,
        summary: "A test without `given`: it needs an event to run on",
        explanation: "A test without `given`: it needs an event to run on.",
        example: None,
    },
    Code {
        code: "E0702",
        severity: Severity::Error,
        summary: "A test with more than one `given`: each test runs one event",
        explanation: "A test with more than one `given`: each test runs one event.",
        example: None,
    },
    Code {
        code: "E0703",
        severity: Severity::Error,
        summary: "A test without `expect`: a test that asserts nothing cannot fail",
        explanation: "A test without `expect`: a test that asserts nothing cannot fail.",
        example: None,
    },
    Code {
        code: "E0704",
        severity: Severity::Error,
        summary: "`given \"file.json\"` (or `with \"folder\"`) names a file that cannot be read or is not an event",
        explanation: "`given \"file.json\"` (or `with \"folder\"`) names a file that cannot be read or is not an event; paths are relative to the test file.",
        example: None,
    },
    Code {
        code: "E0705",
        severity: Severity::Error,
        summary: "Objects given for `retrieve` (`with [ { … } ]`) must be objects with an `id` and an `object` type Stripe has",
        explanation: "Objects given for `retrieve` (`with [ { … } ]`) must be objects with an `id` and an `object` type Stripe has.",
        example: None,
    },
    Code {
        code: "E0706",
        severity: Severity::Error,
        summary: "A value in a given object has the wrong type for its field (amounts are minor units or money, metadata values are strings, …)",
        explanation: "A value in a given object has the wrong type for its field (amounts are minor units or money, metadata values are strings, …).",
        example: None,
    },
    Code {
        code: "E0707",
        severity: Severity::Error,
        summary: "A money value in a given object disagrees with the object's `currency` field",
        explanation: "A money value in a given object disagrees with the object's `currency` field.",
        example: None,
    },
    Code {
        code: "E0708",
        severity: Severity::Error,
        summary: "A given object sets a field to null that Stripe never sends as null",
        explanation: "A given object sets a field to null that Stripe never sends as null.",
        example: None,
    },
    Code {
        code: "E0709",
        severity: Severity::Error,
        summary: "A given object holds an expression",
        explanation: "A given object holds an expression; given objects hold literal values only.",
        example: None,
    },
    Code {
        code: "E0710",
        severity: Severity::Error,
        summary: "An `expect` that is not an expectation (`expect no refunds`), or a message on a status other than `failed`",
        explanation: "An `expect` that is not an expectation (`expect no refunds`), or a message on a status other than `failed`.",
        example: None,
    },
    Code {
        code: "E0801",
        severity: Severity::Error,
        summary: "`flow test`: a `NAME.test.flow` whose `NAME.flow` does not exist",
        explanation: "`flow test`: a `NAME.test.flow` whose `NAME.flow` does not exist.",
        example: None,
    },
    Code {
        code: "E0802",
        severity: Severity::Error,
        summary: "`flow test`: the test cannot run because its `given` has errors or its event is unusable",
        explanation: "`flow test`: the test cannot run because its `given` has errors or its event is unusable.",
        example: None,
    },
    Code {
        code: "E0803",
        severity: Severity::Error,
        summary: "`flow test`: no workflow under test is triggered by the given event type",
        explanation: "`flow test`: no workflow under test is triggered by the given event type.",
        example: None,
    },
    Code {
        code: "E0804",
        severity: Severity::Error,
        summary: "`flow test`: the workflow reads a field that the given partial object does not set",
        explanation: "`flow test`: the workflow reads a field that the given partial object does not set. Never a silent default: add the field to the `given`.",
        example: None,
    },
    Code {
        code: "E0805",
        severity: Severity::Error,
        summary: "`flow test`: an expectation did not hold",
        explanation: "`flow test`: an expectation did not hold; the output shows expected and actual actions as a diff.",
        example: None,
    },
    Code {
        code: "E0806",
        severity: Severity::Error,
        summary: "`flow test`: the run failed, and the test did not `expect failed`",
        explanation: "`flow test`: the run failed, and the test did not `expect failed`.",
        example: None,
    },
    Code {
        code: "E0807",
        severity: Severity::Error,
        summary: "`flow test`: an expected value cannot be computed (e.g. money in a currency that does not match)",
        explanation: "`flow test`: an expected value cannot be computed (e.g. money in a currency that does not match).",
        example: None,
    },
    Code {
        code: "E0901",
        severity: Severity::Error,
        summary: "A file given on the command line cannot be read",
        explanation: "A file given on the command line cannot be read.",
        example: None,
    },
    Code {
        code: "E0902",
        severity: Severity::Error,
        summary: "`flow.toml` is invalid",
        explanation: "`flow.toml` is invalid.",
        example: None,
    },
    Code {
        code: "E0903",
        severity: Severity::Error,
        summary: "An unknown command-line choice (`--deny`, `--emit`)",
        explanation: "An unknown command-line choice (`--deny`, `--emit`).",
        example: None,
    },
    Code {
        code: "E0904",
        severity: Severity::Error,
        summary: "An event or object file is not valid JSON",
        explanation: "An event or object file is not valid JSON; the label points at the error in the file.",
        example: None,
    },
    Code {
        code: "E0905",
        severity: Severity::Error,
        summary: "The JSON is not a Stripe event, and no `--type` says which event a bare object is",
        explanation: "The JSON is not a Stripe event, and no `--type` says which event a bare object is.",
        example: None,
    },
    Code {
        code: "E0906",
        severity: Severity::Error,
        summary: "A file under `--objects` is not a Stripe object with an `id`",
        explanation: "A file under `--objects` is not a Stripe object with an `id`.",
        example: None,
    },
    Code {
        code: "E0907",
        severity: Severity::Error,
        summary: "`flow new`: no template of that name",
        explanation: "`flow new`: no template of that name; the closest are suggested (`flow templates` lists them).",
        example: None,
    },
    Code {
        code: "E0908",
        severity: Severity::Error,
        summary: "`flow new`: the target is not a usable name for a flow file",
        explanation: "`flow new`: the target is not a usable name for a flow file.",
        example: None,
    },
    Code {
        code: "E0909",
        severity: Severity::Error,
        summary: "`flow new`: the file exists",
        explanation: "`flow new`: the file exists; `--force` overwrites it.",
        example: None,
    },
    Code {
        code: "E0910",
        severity: Severity::Error,
        summary: "`flow new`: the folder cannot be created",
        explanation: "`flow new`: the folder cannot be created.",
        example: None,
    },
    Code {
        code: "E0911",
        severity: Severity::Error,
        summary: "`flow run --at TIME` at a time that is not a slot of any scheduled workflow of the file (or `flow schedule` with an empty range)",
        explanation: "`flow run --at TIME` at a time that is not a slot of any scheduled workflow of the file (or `flow schedule` with an empty range). The help gives each workflow's slots before and after TIME; `flow schedule FILE` lists the coming ones.",
        example: None,
    },
    Code {
        code: "E0912",
        severity: Severity::Error,
        summary: "The input given with `flow run --input` does not match the on-demand workflow's inputs: every problem is listed, and nothing runs",
        explanation: "The input given with `flow run --input` does not match the on-demand workflow's inputs: every problem is listed, and nothing runs. The input is a JSON object with one key per input: missing and unknown keys (with a did-you-mean), values of the wrong type, currencies Stripe does not know and amounts finer than their currency are all reported together. Money is `{\"amount\": 1250, \"currency\": \"usd\"}` (minor units) or `\"12.50 USD\"`.",
        example: None,
    },
    Code {
        code: "E0913",
        severity: Severity::Error,
        summary: "`--at`, `--input` or `flow schedule` on a file without a workflow of that kind, `--workflow NAME` naming none of them, or several on-demand workflows and no `--workflow`",
        explanation: "`--at`, `--input` or `flow schedule` on a file without a workflow of that kind, `--workflow NAME` naming none of them, or several on-demand workflows and no `--workflow`. `--at` runs scheduled workflows (`on schedule`), `--input` one on-demand workflow (`on demand (…)`).",
        example: None,
    },
    Code {
        code: "E0914",
        severity: Severity::Error,
        summary: "`flow explain CODE` with a code flow never reports",
        explanation: "`flow explain CODE` with a code flow never reports. Codes are an E (error), W (warning), N (note) or R (run-time error) and four digits, as `flow check` and run reports print them; the help suggests the closest one.",
        example: None,
    },
    Code {
        code: "E0920",
        severity: Severity::Error,
        summary: "`flow serve`: the `[serve]` section of `flow.toml` is invalid, or `--workers 0`",
        explanation: "`flow serve`: the `[serve]` section of `flow.toml` is invalid, or `--workers 0`.",
        example: None,
    },
    Code {
        code: "E0921",
        severity: Severity::Error,
        summary: "`flow serve`: no webhook signing secret",
        explanation: "`flow serve`: no webhook signing secret. Set `STRIPE_WEBHOOK_SECRET` (or `webhook_secret` under `[serve]` in `flow.toml`); there is no flag for it, so it never shows in a process list or a shell history.",
        example: None,
    },
    Code {
        code: "E0922",
        severity: Severity::Error,
        summary: "`flow serve`: nothing to serve, or a flow file with errors (its diagnostics are shown above this one)",
        explanation: "`flow serve`: nothing to serve, or a flow file with errors (its diagnostics are shown above this one). A server starts only when every file passes the checks; while it runs, a file saved with errors is refused and its previous version stays active.",
        example: None,
    },
    Code {
        code: "E0923",
        severity: Severity::Error,
        summary: "`flow serve`: the run log cannot be opened, or another server is using it",
        explanation: "`flow serve`: the run log cannot be opened, or another server is using it (one server per SQLite run log; `--db FILE` gives a server its own, and servers that share one use PostgreSQL, `--db postgres://…`). For PostgreSQL: the database cannot be reached (its host, port, user, database or password; `sslmode=require` in the URL requires TLS, and `sslrootcert=FILE` names the CA that signed the server's certificate when it is not a public one), or it was written by a newer flow (its `flow.schema_version` is higher than this flow knows) and is left as it was. Passwords are never shown: `cannot open the run log postgres://flow:***@db.internal:5432/flow: cannot connect: PostgreSQL: error connecting to server: Connection refused (os error 111)`.",
        example: None,
    },
    Code {
        code: "E0924",
        severity: Severity::Error,
        summary: "`flow serve`: the address given to `--listen` cannot be listened on",
        explanation: "`flow serve`: the address given to `--listen` cannot be listened on.",
        example: None,
    },
    Code {
        code: "E0925",
        severity: Severity::Error,
        summary: "`flow runs`, `flow activate`, `flow deactivate`: no run log where one was expected, a database that cannot be reached, no such run, or a run that cannot be retried (only failed runs are)",
        explanation: "`flow runs`, `flow activate`, `flow deactivate`: no run log where one was expected, a database that cannot be reached, no such run, or a run that cannot be retried (only failed runs are). The run log is `.flow/runs.db` in the working directory, or what `--db FILE|URL`, `FLOW_DATABASE_URL` or `database_url` under `[serve]` name.",
        example: None,
    },
    Code {
        code: "E0927",
        severity: Severity::Error,
        summary: "`flow activate` / `flow deactivate`: no workflow of that name has been served with this run log",
        explanation: "`flow activate` / `flow deactivate`: no workflow of that name has been served with this run log; the closest names are suggested.",
        example: None,
    },
    Code {
        code: "E0928",
        severity: Severity::Error,
        summary: "`flow runs --since`: not a time",
        explanation: "`flow runs --since`: not a time. Write `2024-05-01`, `2024-05-01T12:00:00Z` (or with an offset), or an age: `90s`, `15m`, `2h`, `7d`.",
        example: None,
    },
    Code {
        code: "E0929",
        severity: Severity::Error,
        summary: "`flow serve`: `schedule_catch_up` under `[serve]` is not a duration or `none`, `lease` is not a duration from `2s` to `1h`, or `FLOW_SERVE_CLOCK` is not a time",
        explanation: "`flow serve`: `schedule_catch_up` under `[serve]` is not a duration or `none`, `lease` is not a duration from `2s` to `1h`, or `FLOW_SERVE_CLOCK` is not a time. The catch-up policy is a duration (`\"24h\"`, `\"90m\"`, `\"7d\"`) or `\"none\"`; `FLOW_SERVE_CLOCK` (a testing aid: the time the server's clock starts at) is an RFC 3339 time such as `2026-03-08T06:59:58Z`.",
        example: None,
    },
    Code {
        code: "E0930",
        severity: Severity::Error,
        summary: "`flow invoke`: `FLOW_INVOKE_TOKEN` is not set",
        explanation: "`flow invoke`: `FLOW_INVOKE_TOKEN` is not set. Set it to the token the server was started with; there is no flag for it, so it never shows in a process list or a shell history.",
        example: None,
    },
    Code {
        code: "E0931",
        severity: Severity::Error,
        summary: "`flow invoke`: the file given to `--input` cannot be read, or is not JSON",
        explanation: "`flow invoke`: the file given to `--input` cannot be read, or is not JSON. The inputs are one JSON object, e.g. `{\"customer\": \"cus_123\", \"credit\": \"10.00 USD\"}`.",
        example: None,
    },
    Code {
        code: "E0932",
        severity: Severity::Error,
        summary: "`flow invoke`: the server cannot be reached",
        explanation: "`flow invoke`: the server cannot be reached (not started, another address: `--url`, or no answer in time).",
        example: None,
    },
    Code {
        code: "E0933",
        severity: Severity::Error,
        summary: "`flow invoke`: the server refused the invocation (a wrong token, an unknown or not on-demand workflow, or an input that does not match its inputs: every problem is listed)",
        explanation: "`flow invoke`: the server refused the invocation (a wrong token, an unknown or not on-demand workflow, or an input that does not match its inputs: every problem is listed). The server answers 401 for a wrong token, 404 when invocation is off or the workflow is unknown, 409 for a workflow that is not on demand or is deactivated, and 422 for an input that does not match the workflow's inputs.",
        example: None,
    },
    Code {
        code: "E0950",
        severity: Severity::Error,
        summary: "REPL: an unknown `:command`",
        explanation: "REPL: an unknown `:command`; `:help` lists them.",
        example: None,
    },
    Code {
        code: "E0951",
        severity: Severity::Error,
        summary: "REPL: a `:command` without the argument it needs",
        explanation: "REPL: a `:command` without the argument it needs.",
        example: None,
    },
    Code {
        code: "E0952",
        severity: Severity::Error,
        summary: "REPL: `:run` without an event (start with `--event` or use `:event FILE`)",
        explanation: "REPL: `:run` without an event (start with `--event` or use `:event FILE`).",
        example: None,
    },
    Code {
        code: "E0953",
        severity: Severity::Error,
        summary: "REPL: `:run` with no workflow loaded (`:load FILE.flow`, or type one)",
        explanation: "REPL: `:run` with no workflow loaded (`:load FILE.flow`, or type one).",
        example: None,
    },
    Code {
        code: "E0954",
        severity: Severity::Error,
        summary: "REPL: a line failed at run time (a null where a value is needed, a missing object)",
        explanation: "REPL: a line failed at run time (a null where a value is needed, a missing object); the session goes on.",
        example: None,
    },
    Code {
        code: "E0955",
        severity: Severity::Error,
        summary: "REPL: standard input could not be read",
        explanation: "REPL: standard input could not be read.",
        example: None,
    },
    Code {
        code: "E0960",
        severity: Severity::Error,
        summary: "`--live`: the event has no `id`, so no idempotency key can be made (a bare object with `--type` cannot run live)",
        explanation: "`--live`: the event has no `id`, so no idempotency key can be made (a bare object with `--type` cannot run live).",
        example: None,
    },
    Code {
        code: "E0961",
        severity: Severity::Error,
        summary: "`--live`: no usable Stripe key (`STRIPE_API_KEY` unset, or a setting that must not hold a key)",
        explanation: "`--live`: no usable Stripe key (`STRIPE_API_KEY` unset, or a setting that must not hold a key).",
        example: None,
    },
    Code {
        code: "E0962",
        severity: Severity::Error,
        summary: "`--live`: e-mail has nowhere to go (no `from`, no `smtp`, no outbox)",
        explanation: "`--live`: e-mail has nowhere to go (no `from`, no `smtp`, no outbox).",
        example: None,
    },
    Code {
        code: "E0963",
        severity: Severity::Error,
        summary: "`--live`: the mail transport cannot be set up",
        explanation: "`--live`: the mail transport cannot be set up.",
        example: None,
    },
    Code {
        code: "E0964",
        severity: Severity::Error,
        summary: "`--live`: this `flow` was built without the `live` feature, so it cannot carry actions out (build it with the default features)",
        explanation: "`--live`: this `flow` was built without the `live` feature, so it cannot carry actions out (build it with the default features).",
        example: None,
    },
    Code {
        code: "R0101",
        severity: Severity::Error,
        summary: "A value the step needs is null: a reference to update or retrieve, a side of a comparison, a condition, a refund parameter",
        explanation: "A value the step needs is null: a reference to update or retrieve, a side of a comparison, a condition, a refund parameter. Guard the step with `if x != null { … }`.",
        example: Some("failed · Tag valuable customers on payment_intent.succeeded (evt_guest)\n  error: tag_valuable_customers.flow:9:16: cannot update the customer: `customer` is null"),
    },
    Code {
        code: "R0102",
        severity: Severity::Error,
        summary: "`flow test`: the workflow reads a field that the test's partial `given` object does not set (reported by `flow test` as E0804)",
        explanation: "`flow test`: the workflow reads a field that the test's partial `given` object does not set (reported by `flow test` as E0804).",
        example: Some("error: t.test.flow:3:9: `customer` is not set in the test's event"),
    },
    Code {
        code: "R0103",
        severity: Severity::Error,
        summary: "The event lacks a field that its schema says Stripe always sends: the JSON is not an event as Stripe sends it",
        explanation: "The event lacks a field that its schema says Stripe always sends: the JSON is not an event as Stripe sends it.",
        example: Some("error: vip.flow:2:6: the event has no `amount`, which its schema says is always present"),
    },
    Code {
        code: "R0104",
        severity: Severity::Error,
        summary: "Event data of another type than the schema or the operation expects (for example a string where a number is declared, or dynamic JSON compared with a value it cannot be ordered with)",
        explanation: "Event data of another type than the schema or the operation expects (for example a string where a number is declared, or dynamic JSON compared with a value it cannot be ordered with).",
        example: Some("error: vip.flow:2:6: `amount` should be an integer, but the event has \"12\""),
    },
    Code {
        code: "R0105",
        severity: Severity::Error,
        summary: "Arithmetic that overflows flow's numbers or divides by zero: nothing wraps around or turns into a float",
        explanation: "Arithmetic that overflows flow's numbers or divides by zero: nothing wraps around or turns into a float. Guard a division whose divisor comes from the event.",
        example: Some("error: split.flow:3:28: division by zero"),
    },
    Code {
        code: "R0106",
        severity: Severity::Error,
        summary: "A regular expression, time format or time zone computed at run time is not valid (literal ones are checked by `flow check`)",
        explanation: "A regular expression, time format or time zone computed at run time is not valid (literal ones are checked by `flow check`).",
        example: Some("error: route.flow:3:8: the pattern \"(\" is not a valid regular expression: unclosed group"),
    },
    Code {
        code: "R0201",
        severity: Severity::Error,
        summary: "The bindings could not carry an action out: Stripe's answer (its type, code and message), the mail server's, Slack's or an endpoint's, an address refused, or an object that is not among `--objects`",
        explanation: "The bindings could not carry an action out: Stripe's answer (its type, code and message), the mail server's, Slack's or an endpoint's, an address refused, or an object that is not among `--objects`. Slack's answer is its error (`channel_not_found`); an `http` endpoint's is its status and the start of its body; an `http` address is refused when it is not https, or not public and not allowed under `[http] allow`; a missing `SLACK_BOT_TOKEN` or `FLOW_HTTP_SECRET` is said too.",
        example: Some("error: fraud.flow:4:15: retrieve charge `ch_missing`: no such object (give it in a file under --objects)"),
    },
    Code {
        code: "R0202",
        severity: Severity::Error,
        summary: "A `retrieve` was answered with something that is not an object",
        explanation: "A `retrieve` was answered with something that is not an object.",
        example: Some("error: fraud.flow:4:15: retrieve charge: the answer is not an object"),
    },
    Code {
        code: "R0301",
        severity: Severity::Error,
        summary: "An e-mail without a recipient (`to` is null or empty), or to something that is not an address",
        explanation: "An e-mail without a recipient (`to` is null or empty), or to something that is not an address.",
        example: Some("error: notify.flow:3:5: email: `nobody` is not an e-mail address"),
    },
    Code {
        code: "R0302",
        severity: Severity::Error,
        summary: "Amounts in two currencies where one is needed: a refund in another currency than the payment's, an amount of a Stripe API method in another currency than its object's or its `currency`, or money added to, subtracted from or divided by money in another currency; amounts are never converted",
        explanation: "Amounts in two currencies where one is needed: a refund in another currency than the payment's, an amount of a Stripe API method in another currency than its object's or its `currency`, or money added to, subtracted from or divided by money in another currency; amounts are never converted. Nothing is sent: the run fails at that step with both currencies named, and the steps before it stay done.",
        example: Some("error: refund.flow:3:5: refund: the amount is 10.00 EUR, but the payment is in USD; amounts are never converted"),
    },
    Code {
        code: "R0303",
        severity: Severity::Error,
        summary: "A refund amount that is not positive, or finer than Stripe takes for the currency",
        explanation: "A refund amount that is not positive, or finer than Stripe takes for the currency.",
        example: Some("error: refund.flow:3:5: refund: the amount must be positive, not 0.00 USD"),
    },
    Code {
        code: "R0304",
        severity: Severity::Error,
        summary: "A run reached its limit of actions (`[run] max_actions` in flow.toml, 1,000 by default): it stops there, and what it did stays done",
        explanation: "A run reached its limit of actions (`[run] max_actions` in flow.toml, 1,000 by default): it stops there, and what it did stays done. Loops make the number of actions depend on the data; the limit keeps a list larger than expected from acting without end. The report lists every action carried out before the limit.",
        example: Some("error: sweep.flow:3:9: this run has carried out 1000 actions, its limit (`max_actions` under [run] in flow.toml); nothing more was done"),
    },
    Code {
        code: "R0305",
        severity: Severity::Error,
        summary: "The input of an on-demand run does not match the workflow's inputs: every problem is listed (missing, unknown, wrong type, a currency Stripe does not know), and nothing runs",
        explanation: "The input of an on-demand run does not match the workflow's inputs: every problem is listed (missing, unknown, wrong type, a currency Stripe does not know), and nothing runs. `flow run --input` and `flow invoke` check the input before anything starts and exit with the list; a run started some other way fails with this code before its first step.",
        example: Some("error: the input does not match the workflow's inputs: `custmer`: is not an input of this workflow (did you mean `customer`?); `customer`: is missing (a ref<customer>) (give it, e.g. `\"customer\": \"cus_…\" (the ID of a customer)`)"),
    },
    Code {
        code: "W0101",
        severity: Severity::Warning,
        summary: "A string that is not among the documented values of an open enum (Stripe may add values, so this is a warning)",
        explanation: "A string that is not among the documented values of an open enum (Stripe may add values, so this is a warning).",
        example: None,
    },
    Code {
        code: "W0102",
        severity: Severity::Warning,
        summary: "A value that may be null where a value is needed",
        explanation: "A value that may be null where a value is needed. `if x != null { … }` narrows `x` inside the block and silences it.",
        example: None,
    },
    Code {
        code: "W0103",
        severity: Severity::Warning,
        summary: "A `let` that is never used",
        explanation: "A `let` that is never used.",
        example: None,
    },
    Code {
        code: "W0104",
        severity: Severity::Warning,
        summary: "A comparison that is always true or always false (constants, a never-null field compared with null, or a condition decided by the conditions around it)",
        explanation: "A comparison that is always true or always false (constants, a never-null field compared with null, or a condition decided by the conditions around it).",
        example: None,
    },
    Code {
        code: "W0105",
        severity: Severity::Warning,
        summary: "A branch that can never run given the conditions around it: `if amount < 500 USD` inside `when amount > 1000 USD`, or `if currency == EUR` there",
        explanation: "A branch that can never run given the conditions around it: `if amount < 500 USD` inside `when amount > 1000 USD`, or `if currency == EUR` there.",
        example: None,
    },
    Code {
        code: "W0106",
        severity: Severity::Warning,
        summary: "A workflow with more than Stripe's limit of 50 steps (actions and conditions)",
        explanation: "A workflow with more than Stripe's limit of 50 steps (actions and conditions).",
        example: None,
    },
    Code {
        code: "W0107",
        severity: Severity::Warning,
        summary: "Two workflows in one file with the same name",
        explanation: "Two workflows in one file with the same name.",
        example: None,
    },
    Code {
        code: "W0701",
        severity: Severity::Warning,
        summary: "Two tests in one file with the same name",
        explanation: "Two tests in one file with the same name.",
        example: None,
    },
];

/// The registry entry of a code.
pub fn lookup(code: &str) -> Option<&'static Code> {
    ALL.iter().find(|c| c.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_explanation_opens_with_its_summary() {
        for c in ALL {
            assert!(
                c.explanation.starts_with(c.summary),
                "{}: {:?} opens with {:?}",
                c.code,
                c.explanation,
                c.summary
            );
            assert!(c.explanation.ends_with('.'), "{} ends a sentence", c.code);
        }
    }

    #[test]
    fn run_time_codes_and_only_they_have_an_example() {
        for c in ALL {
            assert_eq!(c.is_run_time(), c.example.is_some(), "{}", c.code);
        }
    }

    #[test]
    fn codes_are_unique_and_in_order() {
        for w in ALL.windows(2) {
            assert!(w[0].code < w[1].code, "{} before {}", w[0].code, w[1].code);
        }
    }
}
