#!/usr/bin/env python3
"""Regenerate docs/diagnostics.md from the cases under tests/diagnostics/.

Each code gets its explanation (below) and the first case that shows it, with the
output `flow check` prints for it. Run from the repository root after `cargo build`.
"""
import os, subprocess, glob

EXPLAIN = {
 "E0001": "A syntax error: the parser says what it expected, in the language's words, and where. After an error it resumes at the next line or workflow, so later errors are reported too.",
 "E0002": "Two statements on one line without `;` between them.",
 "E0003": "`{…}` interpolation inside a workflow name, a map key or a `[\"…\"]` path segment, where text must be literal.",
 "E0004": "A number or amount too large to represent exactly.",
 "E0005": "Blocks or expressions nested too deeply, or one expression chaining too many operators: the limits keep any input from exhausting the stack.",
 "E0101": "`on` names an event type Stripe does not send. The closest names are suggested; `flow events` lists all of them.",
 "E0102": "A name that is not a field of the event's object, a `let`, `event` or a setting. Suggests the closest field, or lists the fields when none is close.",
 "E0104": "A field read through a reference: `customer` on a PaymentIntent is the ID of a Customer, not the Customer. Retrieve it first.",
 "E0105": "A field read on a value that has no fields (a currency, a number, …).",
 "E0201": "Two values of kinds that cannot be compared, or a list mixing kinds.",
 "E0202": "A currency code Stripe does not support.",
 "E0203": "A money literal finer than the currency's minor unit: yen have no minor unit, dinars have three decimals.",
 "E0204": "A string that is never a value of a closed enum (a field such as `status`, or a parameter such as refund `reason`).",
 "E0205": "A condition (`when`, `if`, `and`, `or`, `not`) that is not true or false.",
 "E0206": "`<`, `<=`, `>`, `>=` on values that have no order (currencies, strings, IDs), or with null.",
 "E0207": "A string compared with money or a currency; the help shows the literal to write.",
 "E0301": "An action the catalogue does not have.",
 "E0302": "A parameter the action does not take.",
 "E0303": "A required parameter is missing.",
 "E0304": "A parameter given twice.",
 "E0305": "A parameter of the wrong type (e.g. a bare number where money is needed).",
 "E0306": "An e-mail recipient that is not an address.",
 "E0307": "`refund` needs exactly one of `charge` and `payment_intent`.",
 "E0308": "`update` on something that is not a reference to an object.",
 "E0309": "`update` of a field Stripe does not let you change, or without saying which field or metadata key.",
 "E0310": "`retrieve` of something that is not a reference to an object.",
 "E0701": "A test without `given`: it needs an event to run on.",
 "E0702": "A test with more than one `given`: each test runs one event.",
 "E0703": "A test without `expect`: a test that asserts nothing cannot fail.",
 "E0704": "`given \"file.json\"` (or `with \"folder\"`) names a file that cannot be read or is not an event; paths are relative to the test file.",
 "E0705": "Objects given for `retrieve` (`with [ { … } ]`) must be objects with an `id` and an `object` type Stripe has.",
 "E0706": "A value in a given object has the wrong type for its field (amounts are minor units or money, metadata values are strings, …).",
 "E0707": "A money value in a given object disagrees with the object's `currency` field.",
 "E0708": "A given object sets a field to null that Stripe never sends as null.",
 "E0709": "A given object holds an expression; given objects hold literal values only.",
 "E0710": "An `expect` that is not an expectation (`expect no refunds`), or a message on a status other than `failed`.",
 "E0801": "`flow test`: a `NAME.test.flow` whose `NAME.flow` does not exist.",
 "E0802": "`flow test`: the test cannot run because its `given` has errors or its event is unusable.",
 "E0803": "`flow test`: no workflow under test is triggered by the given event type.",
 "E0804": "`flow test`: the workflow reads a field that the given partial object does not set. Never a silent default: add the field to the `given`.",
 "E0805": "`flow test`: an expectation did not hold; the output shows expected and actual actions as a diff.",
 "E0806": "`flow test`: the run failed, and the test did not `expect failed`.",
 "E0807": "`flow test`: an expected value cannot be computed (e.g. money in a currency that does not match).",
 "E0901": "A file given on the command line cannot be read.",
 "E0902": "`flow.toml` is invalid.",
 "E0903": "An unknown command-line choice (`--deny`, `--emit`).",
 "E0904": "An event or object file is not valid JSON; the label points at the error in the file.",
 "E0905": "The JSON is not a Stripe event, and no `--type` says which event a bare object is.",
 "E0906": "A file under `--objects` is not a Stripe object with an `id`.",
 "E0907": "`flow new`: no template of that name; the closest are suggested (`flow templates` lists them).",
 "E0908": "`flow new`: the target is not a usable name for a flow file.",
 "E0909": "`flow new`: the file exists; `--force` overwrites it.",
 "E0910": "`flow new`: the folder cannot be created.",
 "E0950": "REPL: an unknown `:command`; `:help` lists them.",
 "E0951": "REPL: a `:command` without the argument it needs.",
 "E0952": "REPL: `:run` without an event (start with `--event` or use `:event FILE`).",
 "E0953": "REPL: `:run` with no workflow loaded (`:load FILE.flow`, or type one).",
 "E0954": "REPL: a line failed at run time (a null where a value is needed, a missing object); the session goes on.",
 "E0955": "REPL: standard input could not be read.",
 "E0960": "`--live`: the event has no `id`, so no idempotency key can be made (a bare object with `--type` cannot run live).",
 "E0961": "`--live`: no usable Stripe key (`STRIPE_API_KEY` unset, or a setting that must not hold a key).",
 "E0962": "`--live`: e-mail has nowhere to go (no `from`, no `smtp`, no outbox).",
 "E0963": "`--live`: the mail transport cannot be set up.",
 "E0920": "`flow serve`: the `[serve]` section of `flow.toml` is invalid, or `--workers 0`.",
 "E0921": "`flow serve`: no webhook signing secret. Set `STRIPE_WEBHOOK_SECRET` (or `webhook_secret` under `[serve]` in `flow.toml`); there is no flag for it, so it never shows in a process list or a shell history.",
 "E0922": "`flow serve`: nothing to serve, or a flow file with errors (its diagnostics are shown above this one). A server starts only when every file passes the checks; while it runs, a file saved with errors is refused and its previous version stays active.",
 "E0923": "`flow serve`: the run log cannot be opened, or another server is using it (one server per run log; `--db FILE` gives a server its own).",
 "E0924": "`flow serve`: the address given to `--listen` cannot be listened on.",
 "E0925": "`flow runs`, `flow activate`, `flow deactivate`: no run log where one was expected (`.flow/runs.db`, or `--db FILE`), no such run, or a run that cannot be retried (only failed runs are).",
 "E0927": "`flow activate` / `flow deactivate`: no workflow of that name has been served with this run log; the closest names are suggested.",
 "E0928": "`flow runs --since`: not a time. Write `2024-05-01`, `2024-05-01T12:00:00Z` (or with an offset), or an age: `90s`, `15m`, `2h`, `7d`.",
 "E0964": "`--live`: this `flow` was built without the `live` feature, so it cannot carry actions out (build it with the default features).",
 "W0101": "A string that is not among the documented values of an open enum (Stripe may add values, so this is a warning).",
 "W0102": "A value that may be null where a value is needed. `if x != null { … }` narrows `x` inside the block and silences it.",
 "W0103": "A `let` that is never used.",
 "W0104": "A comparison that is always true or always false (constants, a never-null field compared with null, or a condition decided by the conditions around it).",
 "W0105": "A branch that can never run given the conditions around it: `if amount < 500 USD` inside `when amount > 1000 USD`, or `if currency == EUR` there.",
 "W0106": "A workflow with more than Stripe's limit of 50 steps (actions and conditions).",
 "W0107": "Two workflows in one file with the same name.",
 "W0701": "Two tests in one file with the same name.",
 "N0001": "The event's object has no schema yet: its fields are dynamic JSON, checked at run time.",
}

# Run-time errors: the `"code"` of a failed run's report (`flow run --format json`,
# batch mode, `flow serve`'s run log). Each with what a failed run says.
RUN = {
 "R0101": ("A value the step needs is null: a reference to update or retrieve, a side of a comparison, a condition, a refund parameter. Guard the step with `if x != null { … }`.",
           "failed · Tag valuable customers on payment_intent.succeeded (evt_guest)\n  error: tag_valuable_customers.flow:9:16: cannot update the customer: `customer` is null"),
 "R0102": ("`flow test`: the workflow reads a field that the test's partial `given` object does not set (reported by `flow test` as E0804).",
           "error: t.test.flow:3:9: `customer` is not set in the test's event"),
 "R0103": ("The event lacks a field that its schema says Stripe always sends: the JSON is not an event as Stripe sends it.",
           "error: vip.flow:2:6: the event has no `amount`, which its schema says is always present"),
 "R0104": ("Event data of another type than the schema or the operation expects (for example a string where a number is declared, or dynamic JSON compared with a value it cannot be ordered with).",
           "error: vip.flow:2:6: `amount` should be an integer, but the event has \"12\""),
 "R0201": ("The bindings could not carry an action out: Stripe's answer (its type, code and message), the mail server's, or an object that is not among `--objects`.",
           "error: fraud.flow:4:15: retrieve charge `ch_missing`: no such object (give it in a file under --objects)"),
 "R0202": ("A `retrieve` was answered with something that is not an object.",
           "error: fraud.flow:4:15: retrieve charge: the answer is not an object"),
 "R0301": ("An e-mail without a recipient (`to` is null or empty), or to something that is not an address.",
           "error: notify.flow:3:5: email: `nobody` is not an e-mail address"),
 "R0302": ("A refund amount in another currency than the payment's: amounts are never converted.",
           "error: refund.flow:3:5: refund: the amount is 10.00 EUR, but the payment is in USD; amounts are never converted"),
 "R0303": ("A refund amount that is not positive, or finer than Stripe takes for the currency.",
           "error: refund.flow:3:5: refund: the amount must be positive, not 0.00 USD"),
}

def main():
    cases = sorted(glob.glob("tests/diagnostics/*.flow"))
    out = ["# Diagnostics", "",
           "Every problem `flow check` reports has a stable code: `E` errors stop a check, `W` warnings",
           "do not (unless `--deny warnings`), `N` notes inform. Each code below has an example from",
           "`tests/diagnostics/`, whose rendered output is a snapshot test.", ""]
    env = dict(os.environ, NO_COLOR="1")
    for code, text in EXPLAIN.items():
        out += [f"## {code}", "", text, ""]
        case = next((c for c in cases if os.path.basename(c).startswith(code + "_")), None)
        if case is None:
            continue
        src = open(case).read()
        if src.count("\n") > 20:
            src = "\n".join(src.splitlines()[:6]) + "\n…\n"
        res = subprocess.run(["target/debug/flow", "check", case], capture_output=True, text=True, env=env)
        shown = "\n".join(l for l in res.stderr.splitlines() if not l.startswith("checked "))
        out += ["```", src.rstrip(), "```", "", "```text", shown.rstrip(), "```", ""]
    out += ["# Run-time errors", "",
            "A run that fails says why in its report: `\"code\"` beside `\"error\"` in JSON, and the",
            "message with its place in the flow file in text. The codes are stable.", ""]
    for code, (text, example) in RUN.items():
        out += [f"## {code}", "", text, "", "```text", example, "```", ""]
    open("docs/diagnostics.md", "w").write("\n".join(out))

main()
