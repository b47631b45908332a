//! From text to [`ast::File`] with pest's grammar: pest does the parsing, this module
//! builds owned nodes with spans, turns pest's errors into diagnostics in plain words, and recovers
//! after an error so that one run reports every independent syntax problem.

use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

use pest::iterators::{Pair, Pairs};
use pest::Parser as _;
use rust_decimal::Decimal;

use super::ast::*;
use super::Diagnostic;
use super::{SourceFile, Span};
use crate::literal::{parse_time, push_text, unescape, MAX_CHAIN, MAX_NESTING};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/flow.pest"]
struct FlowParser;

/// The result of parsing one file: every workflow that parsed, and a diagnostic for
/// each syntax problem found.
pub struct Parsed {
    pub file: File,
    pub diagnostics: Vec<Diagnostic>,
}

/// Whether pest accepts the whole text as a file (the grammar's verdict).
#[doc(hidden)]
pub fn pest_accepts(text: &str) -> bool {
    parse_rule(Rule::file, text, false).is_ok()
}

/// [`parse`] with pest alone, the reference the hand-written parser is tested against.
#[doc(hidden)]
pub fn parse_with_pest(source: &SourceFile) -> Parsed {
    let text = &source.text;
    let mut file = File::default();
    let mut diagnostics = Vec::new();
    let segments = segments(text);
    parse_range(text, 0, text.len(), &segments, &mut file, &mut diagnostics);
    file.workflows.sort_by_key(|w| w.span.start);
    file.tests.sort_by_key(|t| t.span.start);
    check_separators(text, &file.workflows, &file.tests, &mut diagnostics);
    Parsed { file, diagnostics }
}

/// Parse `start..end` in one go. On a syntax error, the workflow (segment) holding it
/// is parsed on its own with line-level recovery, and the text before and after it
/// is parsed again as a whole: a file with k errors takes about 2k + 1 parses.
fn parse_range(
    text: &str,
    start: usize,
    end: usize,
    segments: &[(usize, usize)],
    file: &mut File,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if text[start..end].trim().is_empty() {
        return;
    }
    let work;
    let input = if start == 0 && end == text.len() {
        text
    } else {
        work = blank_outside(text, start, end);
        &work
    };
    match parse_rule(Rule::file, input, false) {
        Ok(pairs) => collect_workflows(pairs, file, diagnostics),
        Err(e) => {
            // The error is explained by `parse_segment`, which parses again with pest's
            // error detail on (it costs time, so clean parses go without it).
            let at = match e.location {
                pest::error::InputLocation::Pos(p) => p,
                pest::error::InputLocation::Span((s, _)) => s,
            };
            let within: Vec<&(usize, usize)> = segments
                .iter()
                .filter(|(s, e)| *s < end && *e > start)
                .collect();
            let seg = within
                .iter()
                .rev()
                .find(|(s, _)| *s <= at)
                .or(within.first())
                .map(|&&(s, e)| (s.max(start), e.min(end)))
                .unwrap_or((start, end));
            if seg == (start, end) {
                parse_segment(text, start, end, file, diagnostics);
                return;
            }
            if seg.0 > start {
                parse_range(text, start, seg.0, segments, file, diagnostics);
            }
            parse_segment(text, seg.0, seg.1, file, diagnostics);
            if seg.1 < end {
                parse_range(text, seg.1, end, segments, file, diagnostics);
            }
        }
    }
}

/// The first place where nesting goes deeper than [`MAX_NESTING`], found without
/// recursion.
fn too_deep(pair: &Pair<Rule>) -> Option<Diagnostic> {
    // An explicit stack, not recursion: the input may be deeper than the call stack.
    let mut stack = vec![(pair.clone(), 0usize)];
    while let Some((p, depth)) = stack.pop() {
        let depth = depth + usize::from(nests(p.as_rule()));
        if depth > MAX_NESTING {
            let pos = p.as_span().start();
            return Some(
                Diagnostic::error(
                    "E0005",
                    format!(
                        "this is nested too deeply (more than {} levels of parentheses, lists or blocks)",
                        MAX_NESTING / 2
                    ),
                )
                .with_label(Span::new(pos, pos + 1), "too deep")
                .with_help("split the condition with `let`, or the logic into several workflows"),
            );
        }
        stack.extend(p.into_inner().map(|c| (c, depth)));
    }
    None
}

fn nests(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::expr
            | Rule::block
            | Rule::paren
            | Rule::list
            | Rule::map
            | Rule::interp
            | Rule::if_stmt
    )
}

fn collect_workflows(
    pairs: pest::iterators::Pairs<Rule>,
    file: &mut File,
    diagnostics: &mut Vec<Diagnostic>,
) {
    for item in pairs.flat_map(|p| p.into_inner()) {
        if !matches!(
            item.as_rule(),
            Rule::workflow | Rule::test | Rule::action_decl
        ) {
            continue;
        }
        if let Some(d) = too_deep(&item) {
            diagnostics.push(d);
            continue;
        }
        let built = match item.as_rule() {
            Rule::workflow => build_workflow(item).map(|w| file.workflows.push(w)),
            Rule::action_decl => build_action_decl(item).map(|a| file.actions.push(a)),
            _ => build_test(item).map(|t| file.tests.push(t)),
        };
        if let Err(d) = built {
            diagnostics.push(d);
        }
    }
}

/// Parse one expression (for the REPL and tests): the whole text must be one expression.
pub fn parse_expr(text: &str) -> Result<Expr, Diagnostic> {
    parse_one(text, Rule::expr_only, "an expression", build_expr)
}

/// Parse one statement (for the REPL): `let`, `if`, `update`, `retrieve` or an action.
pub fn parse_stmt(text: &str) -> Result<Stmt, Diagnostic> {
    parse_one(text, Rule::stmt_only, "a statement", build_stmt)
}

/// The whole text as one `rule` (an `…_only` rule wrapping one item), built by `build`.
fn parse_one<T>(
    text: &str,
    rule: Rule,
    what: &str,
    build: fn(Pair<Rule>) -> Result<T, Diagnostic>,
) -> Result<T, Diagnostic> {
    let mut pairs = parse_rule(rule, text, true).map_err(|e| syntax_error(text, &e))?;
    let pair = pairs.next().and_then(|p| p.into_inner().next());
    if let Some(d) = pair.as_ref().and_then(too_deep) {
        return Err(d);
    }
    match pair {
        Some(p) => build(p),
        None => Err(Diagnostic::error("E0001", format!("expected {what}"))
            .with_label(Span::new(0, text.len()), "here")),
    }
}

/// Parse `text` as `rule`, with pest's record of what it expected where (`detail`)
/// or without (much faster: a clean parse needs no record). That switch is
/// process-wide and read when a parse starts, so parses take turns: each gets the
/// setting it asked for, whatever ran before or runs beside it.
fn parse_rule(
    rule: Rule,
    text: &str,
    detail: bool,
) -> Result<Pairs<'_, Rule>, pest::error::Error<Rule>> {
    static TURN: Mutex<()> = Mutex::new(());
    let _turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    pest::set_error_detail(detail);
    FlowParser::parse(rule, text)
}

/// Split the text at top-level workflow starts: a line that begins, in column 0,
/// with `workflow`, `on` or `test`. Each piece is parsed on its own, so an error in one
/// workflow does not hide the errors in the next.
fn segments(text: &str) -> Vec<(usize, usize)> {
    let mut starts = vec![0];
    let mut offset = 0;
    let mut first = true;
    for line in text.split_inclusive('\n') {
        let is_start = ["workflow", "on", "test", "action"].iter().any(|kw| {
            line.strip_prefix(kw)
                .is_some_and(|rest| rest.starts_with([' ', '\t', '"']))
        });
        if is_start && !first && offset > 0 {
            // Keep a `workflow "…"` line together with the `on` line after it.
            let prev = text[..offset].trim_end();
            let prev_line = prev.rsplit('\n').next().unwrap_or("");
            let joined = line.starts_with("on") && prev_line.starts_with("workflow");
            if !joined {
                starts.push(offset);
            }
        }
        if is_start {
            first = false;
        }
        offset += line.len();
    }
    let mut out = Vec::new();
    for (i, &s) in starts.iter().enumerate() {
        let e = starts.get(i + 1).copied().unwrap_or(text.len());
        out.push((s, e));
    }
    out
}

/// A copy of the text with everything outside `start..end` blanked (newlines kept), so
/// that byte offsets stay those of the whole file.
fn blank_outside(text: &str, start: usize, end: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, ch) in text.char_indices() {
        if (i < start || i >= end) && ch != '\n' {
            for _ in 0..ch.len_utf8() {
                out.push(' ');
            }
        } else {
            out.push(ch);
        }
    }
    out
}

fn parse_segment(
    text: &str,
    start: usize,
    end: usize,
    file: &mut File,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut work = if start == 0 && end == text.len() {
        text.to_string()
    } else {
        blank_outside(text, start, end)
    };
    // After a syntax error, blank the offending line (when that cannot unbalance
    // brackets) and try again, to find the errors further down.
    let mut last_error_at = None;
    for _ in 0..16 {
        match parse_rule(Rule::file, &work, true) {
            Ok(pairs) => {
                if last_error_at.is_none() {
                    collect_workflows(pairs, file, diagnostics);
                }
                return;
            }
            Err(e) => {
                let diag = syntax_error(&work, &e);
                let at = diag.primary_span().map(|s| s.start as usize).unwrap_or(0);
                if last_error_at.is_some_and(|prev| at <= prev) {
                    return;
                }
                diagnostics.push(diag);
                last_error_at = Some(at);
                match blank_line_at(&work, at, end) {
                    Some(next) => work = next,
                    None => return,
                }
            }
        }
    }
}

fn blank_line_at(work: &str, at: usize, end: usize) -> Option<String> {
    let line_start = work[..at.min(work.len())].rfind('\n').map_or(0, |i| i + 1);
    let line_end = work[line_start..]
        .find('\n')
        .map_or(work.len(), |i| line_start + i);
    if line_end >= end.min(work.len()) {
        return None;
    }
    let line = &work[line_start..line_end];
    let balance = |open: char, close: char| {
        line.chars().filter(|&c| c == open).count() == line.chars().filter(|&c| c == close).count()
    };
    if !balance('{', '}') || !balance('(', ')') || !balance('[', ']') {
        return None;
    }
    let mut out = String::with_capacity(work.len());
    out.push_str(&work[..line_start]);
    out.extend(std::iter::repeat_n(' ', line_end - line_start));
    out.push_str(&work[line_end..]);
    Some(out)
}

/// Statements must be separated by a newline or `;`.
pub(crate) fn check_separators(
    text: &str,
    workflows: &[Workflow],
    tests: &[Test],
    diagnostics: &mut Vec<Diagnostic>,
) {
    fn walk(text: &str, block: &Block, diagnostics: &mut Vec<Diagnostic>) {
        for pair in block.stmts.windows(2) {
            let between = text
                .get(pair[0].span.end as usize..pair[1].span.start as usize)
                .unwrap_or("");
            if !between.contains('\n') && !between.contains(';') {
                diagnostics.push(
                    Diagnostic::error(
                        "E0002",
                        "two statements on one line need a `;` between them",
                    )
                    .with_label(
                        first_word(text, pair[1].span),
                        "this statement starts on the same line as the one before",
                    )
                    .with_help("put the statement on its own line, or separate the two with `;`"),
                );
            }
        }
        for stmt in &block.stmts {
            match &stmt.kind {
                StmtKind::If {
                    branches,
                    otherwise,
                } => {
                    for (_, b) in branches {
                        walk(text, b, diagnostics);
                    }
                    if let Some(b) = otherwise {
                        walk(text, b, diagnostics);
                    }
                }
                StmtKind::For { body, .. } => walk(text, body, diagnostics),
                _ => {}
            }
        }
    }
    for w in workflows {
        walk(text, &w.body, diagnostics);
    }
    for t in tests {
        let mut spans: Vec<Span> = t.givens.iter().map(|g| g.span).collect();
        spans.extend(t.answers.iter().map(|a| a.span));
        spans.extend(t.expects.iter().map(|e| e.span));
        spans.sort_by_key(|s| s.start);
        for pair in spans.windows(2) {
            let between = text
                .get(pair[0].end as usize..pair[1].start as usize)
                .unwrap_or("");
            if !between.contains('\n') && !between.contains(';') {
                diagnostics.push(
                    Diagnostic::error(
                        "E0002",
                        "two test lines on one line need a `;` between them",
                    )
                    .with_label(
                        first_word(text, pair[1]),
                        "this starts on the same line as the one before",
                    )
                    .with_help(
                        "put each `given`, `answer` and `expect` on its own line, or separate them with `;`",
                    ),
                );
            }
        }
    }
}

fn first_word(text: &str, span: Span) -> Span {
    let s = text.get(span.range()).unwrap_or("");
    let n = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len())
        .max(1);
    Span::new(span.start as usize, span.start as usize + n.min(s.len()))
}

// ------------------------------------------------------------------ errors

fn rule_words(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::workflow | Rule::workflow_name => {
            "a workflow (`workflow \"Name\"` or `on EVENT_TYPE`)"
        }
        Rule::kw_on => "`on` and the event type that triggers the workflow",
        Rule::schedule_trigger | Rule::kw_schedule => {
            "a schedule: `schedule \"0 9 * * *\" timezone \"Europe/Paris\"`"
        }
        Rule::kw_timezone => "`timezone` and an IANA time zone such as \"America/New_York\"",
        Rule::demand_trigger | Rule::kw_demand => {
            "on-demand inputs: `demand (customer: ref<customer>, note: string)`"
        }
        Rule::input_param => "an input such as `customer: ref<customer>`",
        Rule::input_type => "a type such as `string`, `money` or `ref<customer>`",
        Rule::wait_stmt | Rule::kw_wait => "a wait: `wait 3 days` or `wait until TIME`",
        Rule::wait_until | Rule::kw_until => "`until` and a time",
        Rule::event_type => "an event type such as `payment_intent.succeeded`",
        Rule::when_clause | Rule::kw_when => "`when` and a condition",
        Rule::block => "a block: `{` followed by statements",
        Rule::stripe_call | Rule::stripe_target | Rule::call_stmt => {
            "a Stripe API method such as `stripe.invoices.void_invoice(id)`"
        }
        Rule::named_arg => "an argument such as `status: \"open\"`",
        Rule::for_stmt | Rule::kw_for => "a loop: `for NAME in LIST { … }`",
        Rule::loop_limit | Rule::kw_limit => "`limit` and the most items the loop takes",
        Rule::break_stmt | Rule::kw_break => "`break`",
        Rule::let_stmt
        | Rule::let_action
        | Rule::if_stmt
        | Rule::update_stmt
        | Rule::retrieve_stmt
        | Rule::action_stmt
        | Rule::kw_let
        | Rule::kw_if
        | Rule::kw_update
        | Rule::kw_retrieve => {
            "a statement (`let`, `if`, `update`, `retrieve` or an action such as `email`)"
        }
        Rule::else_clause | Rule::kw_else => "`else`",
        Rule::arg => "a named argument such as `to: \"team@example.com\"`",
        Rule::expr
        | Rule::paren
        | Rule::path
        | Rule::ident
        | Rule::number
        | Rule::money
        | Rule::string
        | Rule::currency
        | Rule::boolean
        | Rule::null
        | Rule::list
        | Rule::map
        | Rule::retrieve
        | Rule::not_op
        | Rule::neg_op
        | Rule::date
        | Rule::datetime
        | Rule::duration
        | Rule::call
        | Rule::quant
        | Rule::quant_kw => "an expression",
        Rule::index => "a position such as `[0]` or a quoted key such as `[\"Order ID\"]`",
        Rule::time_unit => "a unit of time (`seconds`, `minutes`, `hours`, `days`, `weeks`)",
        Rule::eq
        | Rule::ne
        | Rule::lt
        | Rule::le
        | Rule::gt
        | Rule::ge
        | Rule::in_op
        | Rule::and_op
        | Rule::or_op
        | Rule::add
        | Rule::sub
        | Rule::mul
        | Rule::div => "an operator",
        Rule::map_entry => "an entry `\"Label\": value`",
        Rule::name => "a name",
        Rule::EOI => "the end of the file",
        Rule::kw_workflow => "`workflow`",
        Rule::action_decl | Rule::kw_action => {
            "a custom action (`action NAME url: \"https://…\" { PARAM: TYPE … }`)"
        }
        Rule::kw_url => "`url:` and the address the action posts to",
        Rule::action_param | Rule::param_type => {
            "a parameter `NAME: TYPE` such as `text: string` or `note: string?`"
        }
        Rule::test | Rule::kw_test => "a test (`test \"name\" { given …  expect … }`)",
        Rule::given | Rule::kw_given | Rule::expect | Rule::kw_expect => {
            "`given` (the event) or `expect` (what should happen)"
        }
        Rule::given_with | Rule::kw_with => "`with` and the objects `retrieve` finds",
        Rule::answer | Rule::kw_answer | Rule::answer_target => {
            "`answer stripe.RESOURCE.METHOD with { … }`"
        }
        Rule::expect_stripe => "a Stripe API method such as `stripe.invoices.void_invoice(id)`",
        Rule::expect_status
        | Rule::status_word
        | Rule::expect_no
        | Rule::kw_no
        | Rule::expect_list
        | Rule::kw_actions
        | Rule::expect_update
        | Rule::expect_action => {
            "an expectation (`succeeded`, `failed`, `skipped`, `no ACTION`, `actions [ … ]`, `update REF.path == value` or an action such as `email to: …`)"
        }
        _ => return None,
    })
}

fn token_words(token: &str) -> Option<String> {
    Some(match token {
        "}" => "`}` to close the block".into(),
        ")" => "`)` to close the parenthesis".into(),
        "]" => "`]` to close the list".into(),
        ">" => "`>` to close the block".into(),
        "{" => "`{` to open the block".into(),
        "=" => "`=`".into(),
        ":" => "`:` after the argument name".into(),
        "\"" => "`\"` to end the string".into(),
        "," => "`,`".into(),
        ";" => return None,
        t if t.chars().all(|c| c.is_ascii_alphabetic()) => format!("`{t}`"),
        _ => return None,
    })
}

/// The last two tokens before `pos` (words, or single punctuation characters).
fn tokens_before(text: &str, pos: usize) -> (String, String) {
    fn last(text: &str) -> (&str, &str) {
        let t = text.trim_end();
        let Some(c) = t.chars().last() else {
            return ("", "");
        };
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            let start = t
                .char_indices()
                .rev()
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '.'))
                .map_or(0, |(i, c)| i + c.len_utf8());
            (&t[..start], &t[start..])
        } else {
            let start = t.len() - c.len_utf8();
            (&t[..start], &t[start..])
        }
    }
    let before = &text[..pos.min(text.len())];
    let (rest, one) = last(before);
    let (_, two) = last(rest);
    (two.to_string(), one.to_string())
}

/// Turn a pest error into a diagnostic that speaks of what the user can write,
/// never of grammar rule names.
fn syntax_error(text: &str, e: &pest::error::Error<Rule>) -> Diagnostic {
    let mut pos = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let (prev2, prev1) = tokens_before(text, pos);
    // What the user was in the middle of writing decides the message when it is clear.
    let keyword_context = |kw: &str| -> Option<String> {
        match kw {
            "when" => Some("a condition after `when`".into()),
            "if" => Some("a condition after `if`".into()),
            "on" => Some("an event type after `on`, such as `payment_intent.succeeded`".into()),
            "let" => Some("a name after `let`".into()),
            "workflow" => Some("the workflow's name in quotes after `workflow`, such as `workflow \"Tag VIP customers\"`".into()),
            "update" => {
                Some("what to update after `update`, such as `customer.metadata.Tier`".into())
            }
            "retrieve" => Some("a reference to retrieve, such as `charge`".into()),
            _ => None,
        }
    };
    let mut context = keyword_context(&prev1);
    if context.is_none() && prev1 == "{" {
        // `when {`: the brace was read as the start of a value; the condition is missing.
        if let Some(c) = keyword_context(&prev2).filter(|c| c.starts_with("a condition")) {
            context = Some(c);
            pos = text[..pos].trim_end().len() - 1;
        }
    }
    if context.is_none()
        && matches!(
            prev1.as_str(),
            ":" | "=" | "==" | "!=" | "<" | ">" | "<=" | ">="
        )
    {
        context = Some("a value".into());
    }
    if context.is_none() && matches!(prev1.as_str(), "+" | "-" | "*" | "/") {
        context = Some(format!("a value after `{prev1}`"));
    }
    if context.is_none() && prev1 == "[" {
        context = Some("a position such as `[0]` or a quoted key such as `[\"Order ID\"]`".into());
    }

    let mut expected: Vec<String> = Vec::new();
    let mut push = |s: String| {
        if !expected.contains(&s) {
            expected.push(s);
        }
    };
    if let Some(c) = &context {
        push(c.clone());
    } else {
        if let pest::error::ErrorVariant::ParsingError { positives, .. } = &e.variant {
            for r in positives {
                if let Some(w) = rule_words(*r) {
                    push(w.to_string());
                }
            }
        }
        if let Some(attempts) = e.parse_attempts() {
            for t in attempts.expected_tokens() {
                if let Some(w) = token_words(&t.to_string()) {
                    push(w);
                }
            }
        }
    }
    let at_end = text[pos.min(text.len())..].trim().is_empty();
    let unclosed = unclosed_brace(text, pos);
    if at_end && unclosed.is_some() {
        expected.retain(|s| s.starts_with("`}`"));
        if expected.is_empty() {
            expected.push("`}` to close the block".into());
        }
    }
    let cleaned = clean_expected(expected);
    let found = describe_found(text, pos);
    let message = if cleaned.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {}, found {found}", join_or(&cleaned))
    };
    let span_end = next_token_end(text, pos);
    let mut d =
        Diagnostic::error("E0001", message).with_label(Span::new(pos, span_end), "unexpected here");
    if cleaned.iter().any(|s| s.starts_with("`}`")) {
        if let Some(open) = unclosed {
            d = d.with_secondary(
                Span::new(open, open + 1),
                "the block opened here is not closed",
            );
        }
    }
    if cleaned.iter().any(|s| s.starts_with("a condition")) {
        d = d.with_help(
            "a condition compares values, e.g. `amount > 1000 USD` or `currency == EUR`",
        );
    } else if cleaned.iter().any(|s| s.starts_with("`}`")) {
        d = d.with_help("every `{` needs a matching `}`");
    } else if cleaned.iter().any(|s| s == "a value") {
        d = d.with_help("a value is a field such as `amount`, a string, a number, money such as `10 USD`, or a list");
    }
    d
}

/// Keep the expectations a user can act on: a general category hides the keywords
/// and punctuation it covers, operators come last, and at most four are listed.
fn clean_expected(mut expected: Vec<String>) -> Vec<String> {
    let has = |e: &Vec<String>, s: &str| e.iter().any(|x| x == s);
    let covered_by_expr = [
        "`\"` to end the string",
        "`false`",
        "`true`",
        "`null`",
        "`not`",
        "`retrieve`",
    ];
    if has(&expected, "an expression") || has(&expected, "a value") {
        expected.retain(|x| !covered_by_expr.contains(&x.as_str()));
    }
    if has(&expected, "a value") {
        expected.retain(|x| x != "an expression");
    }
    let statement = "a statement (`let`, `if`, `update`, `retrieve` or an action such as `email`)";
    if has(&expected, statement) {
        expected.retain(|x| {
            !["`if`", "`let`", "`update`", "`retrieve`", "a name"].contains(&x.as_str())
        });
    }
    // Operators could always continue an expression; they are rarely what is missing.
    let operator_words = ["`and`", "`or`", "`in`", "an operator"];
    let had_operator = expected
        .iter()
        .any(|x| operator_words.contains(&x.as_str()));
    expected.retain(|x| !operator_words.contains(&x.as_str()));
    // `>` closes only compact blocks; mention it only when nothing else fits.
    if expected.len() > 1 {
        expected.retain(|x| x != "`>` to close the block");
    }
    // Closing brackets first: an unclosed block is the most common mistake.
    expected.sort_by_key(|x| !x.starts_with("`}`"));
    if expected.is_empty() && had_operator {
        expected.push("an operator".into());
    }
    expected.truncate(4);
    expected
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

fn describe_found(text: &str, pos: usize) -> String {
    let rest = &text[pos.min(text.len())..];
    match rest.chars().next() {
        None => "the end of the file".into(),
        Some('\n') | Some('\r') => "the end of the line".into(),
        Some(_) => {
            let end = next_token_end(text, pos);
            format!("`{}`", &text[pos..end])
        }
    }
}

fn next_token_end(text: &str, pos: usize) -> usize {
    let rest = &text[pos.min(text.len())..];
    let mut chars = rest.char_indices();
    match chars.next() {
        None => pos,
        Some((_, c)) if c.is_ascii_alphanumeric() || c == '_' => {
            pos + rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .unwrap_or(rest.len())
        }
        Some((_, c)) => pos + c.len_utf8(),
    }
}

fn unclosed_brace(text: &str, pos: usize) -> Option<usize> {
    let mut stack = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text[..pos.min(text.len())].char_indices() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => stack.push(i),
            '}' => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.pop()
}

// ------------------------------------------------------------------ building

/// The span of a pair without the whitespace and comments pest consumed after its
/// last token (a rule ending in an optional part takes them).
fn span(p: &Pair<Rule>) -> Span {
    let start = p.as_span().start();
    Span::new(start, start + tight_len(p.as_str()))
}

fn tight_len(text: &str) -> usize {
    let mut s = text.trim_end();
    loop {
        let line_start = s.rfind('\n').map_or(0, |i| i + 1);
        match comment_start(&s[line_start..]) {
            Some(c) => s = s[..line_start + c].trim_end(),
            None => return s.len(),
        }
    }
}

/// Where a `//` comment starts in one line, outside string literals.
fn comment_start(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn is_keyword_token(r: Rule) -> bool {
    matches!(
        r,
        Rule::kw_workflow
            | Rule::kw_on
            | Rule::kw_when
            | Rule::kw_if
            | Rule::kw_else
            | Rule::kw_let
            | Rule::kw_update
            | Rule::kw_retrieve
            | Rule::kw_test
            | Rule::kw_given
            | Rule::kw_with
            | Rule::kw_expect
            | Rule::kw_no
            | Rule::kw_actions
            | Rule::kw_action
            | Rule::kw_url
            | Rule::kw_answer
            | Rule::kw_for
            | Rule::kw_break
            | Rule::kw_wait
            | Rule::kw_until
            | Rule::kw_schedule
            | Rule::kw_timezone
            | Rule::kw_demand
            | Rule::kw_limit
    )
}

fn children(p: Pair<Rule>) -> impl Iterator<Item = Pair<Rule>> {
    p.into_inner().filter(|c| !is_keyword_token(c.as_rule()))
}

fn build_workflow(pair: Pair<Rule>) -> Result<Workflow, Diagnostic> {
    let whole = span(&pair);
    let mut name = None;
    let mut trigger = None;
    let mut when = None;
    let mut body = None;
    for c in children(pair) {
        match c.as_rule() {
            Rule::workflow_name => {
                if let Some(s) = children(c).next() {
                    let sp = span(&s);
                    name = Some((string_literal(s)?, sp));
                }
            }
            Rule::event_type => {
                trigger = Some(Trigger::Event(Ident {
                    name: c.as_str().to_string(),
                    span: span(&c),
                }))
            }
            Rule::schedule_trigger => {
                let sp = span(&c);
                let mut strings = children(c);
                let cron = next(&mut strings, sp)?;
                let cron_span = span(&cron);
                let cron = (string_literal(cron)?, cron_span);
                let timezone = match strings.next() {
                    Some(z) => {
                        let zsp = span(&z);
                        Some((string_literal(z)?, zsp))
                    }
                    None => None,
                };
                trigger = Some(Trigger::Schedule {
                    cron,
                    timezone,
                    span: sp,
                });
            }
            Rule::demand_trigger => {
                let sp = span(&c);
                let mut inputs = Vec::new();
                for p in children(c) {
                    let psp = span(&p);
                    let mut pi = children(p);
                    let name = ident(next(&mut pi, psp)?);
                    let t = next(&mut pi, psp)?;
                    let default = match pi.next() {
                        Some(e) => Some(build_expr(e)?),
                        None => None,
                    };
                    inputs.push(InputDecl {
                        name,
                        ty: t.as_str().to_string(),
                        ty_span: span(&t),
                        default,
                        span: psp,
                    });
                }
                trigger = Some(Trigger::Demand { inputs, span: sp });
            }
            Rule::when_clause => {
                if let Some(e) = children(c).next() {
                    when = Some(build_expr(e)?);
                }
            }
            Rule::block => body = Some(build_block(c)?),
            _ => {}
        }
    }
    let trigger = trigger.ok_or_else(|| internal(whole, "workflow without trigger"))?;
    let body = body.ok_or_else(|| internal(whole, "workflow without body"))?;
    let header_end = when
        .as_ref()
        .map_or(trigger.span().end, |w: &Expr| w.span.end);
    Ok(Workflow {
        name,
        trigger,
        when,
        header_span: Span::new(whole.start as usize, header_end as usize),
        body,
        span: whole,
    })
}

fn build_test(pair: Pair<Rule>) -> Result<Test, Diagnostic> {
    let whole = span(&pair);
    let mut it = children(pair);
    let name_pair = next(&mut it, whole)?;
    let name_span = span(&name_pair);
    let name = string_literal(name_pair)?;
    let mut givens = Vec::new();
    let mut answers = Vec::new();
    let mut expects = Vec::new();
    for c in it {
        match c.as_rule() {
            Rule::given => givens.push(build_given(c)?),
            Rule::answer => {
                let asp = span(&c);
                let mut ai = children(c);
                let target = next(&mut ai, asp)?;
                let (resource, method) = stripe_target(&target);
                let value = build_expr(next(&mut ai, asp)?)?;
                answers.push(Answer {
                    resource,
                    method,
                    value,
                    span: asp,
                });
            }
            Rule::expect => expects.push(build_expect(c)?),
            _ => {}
        }
    }
    Ok(Test {
        name,
        name_span,
        givens,
        answers,
        expects,
        span: whole,
    })
}

fn build_given(pair: Pair<Rule>) -> Result<Given, Diagnostic> {
    let sp = span(&pair);
    let mut it = children(pair).peekable();
    let first = next(&mut it, sp)?;
    let event = match first.as_rule() {
        Rule::string => {
            let s = span(&first);
            GivenEvent::File {
                path: string_literal(first)?,
                span: s,
            }
        }
        _ => {
            let event_type = Ident {
                name: first.as_str().to_string(),
                span: span(&first),
            };
            let object = build_expr(next(&mut it, sp)?)?;
            GivenEvent::Partial { event_type, object }
        }
    };
    let mut with = None;
    if let Some(w) = it.next() {
        let wsp = span(&w);
        let inner = children(w).next().ok_or_else(|| internal(wsp, "with"))?;
        with = Some(match inner.as_rule() {
            Rule::string => {
                let s = span(&inner);
                GivenObjects::Path {
                    path: string_literal(inner)?,
                    span: s,
                }
            }
            _ => GivenObjects::Inline(build_expr(inner)?),
        });
    }
    Ok(Given {
        event,
        with,
        span: sp,
    })
}

fn build_expect(pair: Pair<Rule>) -> Result<Expect, Diagnostic> {
    let sp = span(&pair);
    let inner = children(pair)
        .next()
        .ok_or_else(|| internal(sp, "expect"))?;
    let kind = match inner.as_rule() {
        Rule::expect_status => {
            let mut it = children(inner);
            let status = ident(next(&mut it, sp)?);
            let message = match it.next() {
                Some(m) => {
                    let ms = span(&m);
                    Some((string_literal(m)?, ms))
                }
                None => None,
            };
            ExpectKind::Status { status, message }
        }
        Rule::expect_no => {
            let what = children(inner)
                .next()
                .ok_or_else(|| internal(sp, "expect no"))?;
            ExpectKind::No { what: ident(what) }
        }
        Rule::expect_list => {
            let mut items = Vec::new();
            for c in children(inner) {
                items.push(build_expected_action(c)?);
            }
            ExpectKind::Actions(items)
        }
        _ => ExpectKind::Action(build_expected_action(inner)?),
    };
    Ok(Expect { kind, span: sp })
}

fn build_expected_action(pair: Pair<Rule>) -> Result<ExpectedAction, Diagnostic> {
    let sp = span(&pair);
    let rule = pair.as_rule();
    let mut it = children(pair);
    match rule {
        Rule::expect_update => {
            let target = build_path(next(&mut it, sp)?)?;
            let value = build_expr(next(&mut it, sp)?)?;
            Ok(ExpectedAction::Update {
                target,
                value,
                span: sp,
            })
        }
        Rule::expect_stripe => {
            let call = build_primary(next(&mut it, sp)?)?;
            match call.kind {
                ExprKind::Stripe(call) => Ok(ExpectedAction::Stripe { call, span: sp }),
                _ => Err(internal(sp, "expected Stripe call")),
            }
        }
        Rule::expect_action => {
            let name = ident(next(&mut it, sp)?);
            let mut args = Vec::new();
            for a in it {
                let asp = span(&a);
                let mut ai = children(a);
                let n = ident(next(&mut ai, asp)?);
                let v = build_expr(next(&mut ai, asp)?)?;
                args.push(Arg { name: n, value: v });
            }
            Ok(ExpectedAction::Call {
                name,
                args,
                span: sp,
            })
        }
        _ => Err(internal(sp, "expectation")),
    }
}

fn internal(span: Span, what: &str) -> Diagnostic {
    Diagnostic::error(
        "E0001",
        format!("could not read this part of the file ({what})"),
    )
    .with_label(span, "here")
}

fn build_block(pair: Pair<Rule>) -> Result<Block, Diagnostic> {
    let sp = span(&pair);
    let mut stmts = Vec::new();
    for c in children(pair) {
        stmts.push(build_stmt(c)?);
    }
    Ok(Block { stmts, span: sp })
}

fn build_stmt(pair: Pair<Rule>) -> Result<Stmt, Diagnostic> {
    let sp = span(&pair);
    let rule = pair.as_rule();
    let mut it = children(pair);
    let kind = match rule {
        Rule::let_stmt => {
            let name = next(&mut it, sp)?;
            let value = build_expr(next(&mut it, sp)?)?;
            StmtKind::Let {
                name: ident(name),
                value,
            }
        }
        Rule::if_stmt => {
            let mut branches = Vec::new();
            let mut otherwise = None;
            build_if(it, sp, &mut branches, &mut otherwise)?;
            StmtKind::If {
                branches,
                otherwise,
            }
        }
        Rule::update_stmt => {
            let target = build_path(next(&mut it, sp)?)?;
            let value = build_expr(next(&mut it, sp)?)?;
            StmtKind::Update { target, value }
        }
        Rule::retrieve_stmt => {
            let r = next(&mut it, sp)?;
            let p = children(r).next().ok_or_else(|| internal(sp, "retrieve"))?;
            StmtKind::Retrieve {
                target: build_path(p)?,
            }
        }
        Rule::action_stmt => {
            let name = ident(next(&mut it, sp)?);
            let args = build_args(it)?;
            StmtKind::Action { name, args }
        }
        Rule::call_stmt => StmtKind::Call(build_primary(next(&mut it, sp)?)?),
        Rule::for_stmt => {
            let var = ident(next(&mut it, sp)?);
            let _in = next(&mut it, sp)?;
            let list = build_expr(next(&mut it, sp)?)?;
            let mut limit = None;
            let mut body = None;
            for c in it {
                match c.as_rule() {
                    Rule::loop_limit => {
                        let lsp = span(&c);
                        let n = children(c)
                            .find(|p| p.as_rule() == Rule::number)
                            .ok_or_else(|| internal(lsp, "limit"))?;
                        limit = Some((parse_number(&n)?, span(&n)));
                    }
                    _ => body = Some(build_block(c)?),
                }
            }
            StmtKind::For {
                var,
                list,
                limit,
                body: body.ok_or_else(|| internal(sp, "loop body"))?,
            }
        }
        Rule::break_stmt => StmtKind::Break,
        Rule::wait_stmt => {
            let v = next(&mut it, sp)?;
            match v.as_rule() {
                Rule::wait_until => {
                    let vsp = span(&v);
                    let e = children(v).next().ok_or_else(|| internal(vsp, "wait"))?;
                    StmtKind::Wait {
                        until: true,
                        value: build_expr(e)?,
                    }
                }
                _ => StmtKind::Wait {
                    until: false,
                    value: build_expr(v)?,
                },
            }
        }
        Rule::let_action => {
            let name = ident(next(&mut it, sp)?);
            let action = ident(next(&mut it, sp)?);
            let args = build_args(it)?;
            StmtKind::LetAction { name, action, args }
        }
        _ => return Err(internal(sp, "statement")),
    };
    Ok(Stmt { kind, span: sp })
}

fn build_args<'a>(it: impl Iterator<Item = Pair<'a, Rule>>) -> Result<Vec<Arg>, Diagnostic> {
    let mut args = Vec::new();
    for a in it {
        let asp = span(&a);
        let mut ai = children(a);
        let n = ident(next(&mut ai, asp)?);
        let v = build_expr(next(&mut ai, asp)?)?;
        args.push(Arg { name: n, value: v });
    }
    Ok(args)
}

fn build_action_decl(pair: Pair<Rule>) -> Result<ActionDecl, Diagnostic> {
    let sp = span(&pair);
    let mut it = children(pair);
    let name = ident(next(&mut it, sp)?);
    let url_pair = next(&mut it, sp)?;
    let url_span = span(&url_pair);
    let url = string_literal(url_pair)?;
    let mut params = Vec::new();
    for p in it {
        let psp = span(&p);
        let mut pi = children(p);
        let n = ident(next(&mut pi, psp)?);
        let t = next(&mut pi, psp)?;
        params.push(ParamDecl {
            name: n,
            ty: t.as_str().to_string(),
            ty_span: span(&t),
        });
    }
    Ok(ActionDecl {
        name,
        url,
        url_span,
        params,
        span: sp,
    })
}

fn build_if<'a>(
    mut it: impl Iterator<Item = Pair<'a, Rule>>,
    sp: Span,
    branches: &mut Vec<(Expr, Block)>,
    otherwise: &mut Option<Block>,
) -> Result<(), Diagnostic> {
    let cond = build_expr(next(&mut it, sp)?)?;
    let block = build_block(next(&mut it, sp)?)?;
    branches.push((cond, block));
    if let Some(else_clause) = it.next() {
        let inner = children(else_clause)
            .next()
            .ok_or_else(|| internal(sp, "else"))?;
        match inner.as_rule() {
            Rule::if_stmt => {
                let isp = span(&inner);
                build_if(children(inner), isp, branches, otherwise)?
            }
            _ => *otherwise = Some(build_block(inner)?),
        }
    }
    Ok(())
}

fn next<'a>(
    it: &mut impl Iterator<Item = Pair<'a, Rule>>,
    sp: Span,
) -> Result<Pair<'a, Rule>, Diagnostic> {
    it.next().ok_or_else(|| internal(sp, "missing part"))
}

fn ident(p: Pair<Rule>) -> Ident {
    Ident {
        name: p.as_str().to_string(),
        span: span(&p),
    }
}

/// `stripe.checkout.sessions.expire`: the resource (`checkout.sessions`) and the
/// method (`expire`), each with its span.
fn stripe_target(p: &Pair<Rule>) -> (Ident, Ident) {
    let text = p.as_str();
    let start = p.as_span().start();
    let after = "stripe.".len();
    let dot = text.rfind('.').unwrap_or(text.len());
    let resource_end = dot.max(after);
    let resource = Ident {
        name: text[after..resource_end].to_string(),
        span: Span::new(start + after, start + resource_end),
    };
    let method_start = (dot + 1).min(text.len());
    let method = Ident {
        name: text[method_start..].to_string(),
        span: Span::new(start + method_start, start + text.len()),
    };
    (resource, method)
}

fn build_path(pair: Pair<Rule>) -> Result<Path, Diagnostic> {
    let sp = span(&pair);
    let mut segments = Vec::new();
    for c in pair.into_inner() {
        match c.as_rule() {
            Rule::ident | Rule::name => segments.push(Segment {
                name: c.as_str().to_string(),
                span: span(&c),
                quoted: false,
                index: None,
            }),
            Rule::plain_string => {
                let s = span(&c);
                segments.push(Segment {
                    name: string_literal(c)?,
                    span: s,
                    quoted: true,
                    index: None,
                })
            }
            Rule::index => {
                let s = span(&c);
                let n = c.as_str().parse::<usize>().map_err(|_| {
                    Diagnostic::error("E0004", format!("`{}` is too large a position", c.as_str()))
                        .with_label(s, "too large")
                        .with_help("a list's first item is `[0]`")
                })?;
                segments.push(Segment {
                    name: n.to_string(),
                    span: s,
                    quoted: false,
                    index: Some(n),
                })
            }
            _ => {}
        }
    }
    Ok(Path { segments, span: sp })
}

/// A string without interpolation (workflow names, map keys, `["…"]` segments).
fn string_literal(pair: Pair<Rule>) -> Result<String, Diagnostic> {
    let sp = span(&pair);
    let mut out = String::new();
    for c in pair.into_inner() {
        match c.as_rule() {
            Rule::text => out.push_str(c.as_str()),
            Rule::escape => out.push(unescape(c.as_str())),
            Rule::interp => {
                return Err(
                    Diagnostic::error("E0003", "interpolation is not allowed here")
                        .with_label(span(&c), "a `{…}` inside a name or key")
                        .with_help("write `\\{` for a literal brace"),
                )
            }
            _ => return Err(internal(sp, "string")),
        }
    }
    Ok(out)
}

/// A number literal, exactly as written or not at all: the decimal type holds 28
/// significant digits, and a literal it would round (`999.9999999999999999999999999999`
/// would become `1000`) is refused rather than silently changed.
fn parse_number(p: &Pair<Rule>) -> Result<Decimal, Diagnostic> {
    let cleaned: String = p.as_str().chars().filter(|&c| c != '_').collect();
    Decimal::from_str_exact(&cleaned).map_err(|_| {
        if Decimal::from_str(&cleaned).is_ok() {
            Diagnostic::error(
                "E0004",
                "this number has more digits than can be held exactly",
            )
            .with_label(span(p), "it would be rounded")
            .with_help("numbers hold at most 28 significant digits: write it with fewer decimals")
        } else {
            Diagnostic::error("E0004", "this number is too large")
                .with_label(span(p), "out of range")
                .with_help("numbers must fit in 28 significant digits")
        }
    })
}

/// Build an expression from an `expr` pair by precedence climbing.
pub(crate) fn build_expr(pair: Pair<Rule>) -> Result<Expr, Diagnostic> {
    match pair.as_rule() {
        Rule::expr => {
            let sp = span(&pair);
            let mut items: Vec<Pair<Rule>> = pair.into_inner().collect();
            if items.len() > 2 * MAX_CHAIN {
                return Err(Diagnostic::error(
                    "E0005",
                    format!("this expression chains more than {MAX_CHAIN} operators"),
                )
                .with_label(sp, "too long")
                .with_help("split it with `let`, or test a list with `in`"));
            }
            items.reverse();
            climb(&mut items, 0)
        }
        _ => build_primary(pair),
    }
}

fn binop(r: Rule) -> Option<BinOp> {
    Some(match r {
        Rule::or_op => BinOp::Or,
        Rule::and_op => BinOp::And,
        Rule::eq => BinOp::Eq,
        Rule::ne => BinOp::Ne,
        Rule::lt => BinOp::Lt,
        Rule::le => BinOp::Le,
        Rule::gt => BinOp::Gt,
        Rule::ge => BinOp::Ge,
        Rule::in_op => BinOp::In,
        Rule::add => BinOp::Add,
        Rule::sub => BinOp::Sub,
        Rule::mul => BinOp::Mul,
        Rule::div => BinOp::Div,
        _ => return None,
    })
}

/// `items` is reversed so that `pop` takes the next token.
fn climb(items: &mut Vec<Pair<Rule>>, min_prec: u8) -> Result<Expr, Diagnostic> {
    let mut lhs = unary(items)?;
    while let Some(op_pair) = items.last() {
        let Some(op) = binop(op_pair.as_rule()) else {
            break;
        };
        let prec = op.precedence();
        if prec < min_prec {
            break;
        }
        let op_span = span(op_pair);
        items.pop();
        // Comparisons do not chain: `a < b < c` is parsed as `(a < b) < c` and the
        // checker rejects comparing a bool; `and`/`or` are left-associative.
        let rhs = climb(items, prec + 1)?;
        let sp = lhs.span.to(rhs.span);
        lhs = Expr {
            kind: ExprKind::Binary {
                op,
                op_span,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
            span: sp,
        };
    }
    Ok(lhs)
}

fn unary(items: &mut Vec<Pair<Rule>>) -> Result<Expr, Diagnostic> {
    let Some(p) = items.pop() else {
        return Err(Diagnostic::error("E0001", "expected an expression"));
    };
    let (inner, wrap): (Expr, fn(Box<Expr>) -> ExprKind) = match p.as_rule() {
        // `not` binds looser than comparisons: `not a == b` is `not (a == b)`.
        Rule::not_op => (climb_not(items)?, ExprKind::Not),
        // `-` binds tightest: `-a * b` is `(-a) * b`.
        Rule::neg_op => (unary(items)?, ExprKind::Neg),
        _ => return build_primary(p),
    };
    let span = span(&p).to(inner.span);
    Ok(Expr {
        kind: wrap(Box::new(inner)),
        span,
    })
}

fn climb_not(items: &mut Vec<Pair<Rule>>) -> Result<Expr, Diagnostic> {
    climb(items, 3)
}

fn build_primary(pair: Pair<Rule>) -> Result<Expr, Diagnostic> {
    let sp = span(&pair);
    let kind = match pair.as_rule() {
        Rule::paren => {
            let inner = pair
                .into_inner()
                .next()
                .ok_or_else(|| internal(sp, "parenthesis"))?;
            let mut e = build_expr(inner)?;
            e.span = sp;
            return Ok(e);
        }
        Rule::number => ExprKind::Number(parse_number(&pair)?),
        Rule::money => {
            let mut it = pair.into_inner();
            let n = next(&mut it, sp)?;
            let c = next(&mut it, sp)?;
            ExprKind::Money {
                amount: parse_number(&n)?,
                currency: ident(c),
            }
        }
        Rule::currency => ExprKind::Currency(pair.as_str().to_string()),
        Rule::date | Rule::datetime => ExprKind::Time(parse_time(pair.as_str(), sp)?),
        Rule::duration => {
            let mut it = pair.into_inner();
            let n = next(&mut it, sp)?;
            let unit = next(&mut it, sp)?;
            let amount = parse_number(&n)?;
            let per: i64 = match unit.as_str().trim_end_matches('s') {
                "second" => 1,
                "minute" => 60,
                "hour" => 3_600,
                "day" => 86_400,
                _ => 604_800,
            };
            let seconds = amount
                .checked_mul(rust_decimal::Decimal::from(per))
                .filter(|s| s.fract().is_zero())
                .and_then(|s| i64::try_from(s).ok())
                .ok_or_else(|| {
                    Diagnostic::error("E0004", format!("`{}` is not a whole number of seconds that flow can hold", pair_text(&n, &unit)))
                        .with_label(sp, "not a duration flow can hold")
                        .with_help("write a whole number of seconds, minutes, hours, days or weeks, e.g. `90 minutes`")
                })?;
            ExprKind::Duration(seconds)
        }
        Rule::call => {
            let mut it = pair.into_inner();
            let name = ident(next(&mut it, sp)?);
            let mut args = Vec::new();
            for a in it {
                args.push(build_expr(a)?);
            }
            ExprKind::Call { name, args }
        }
        Rule::stripe_call => {
            let mut it = pair.into_inner();
            let target = next(&mut it, sp)?;
            let (resource, method) = stripe_target(&target);
            let mut args = Vec::new();
            for a in it {
                match a.as_rule() {
                    Rule::named_arg => {
                        let asp = span(&a);
                        let mut ai = children(a);
                        let name = ident(next(&mut ai, asp)?);
                        let value = build_expr(next(&mut ai, asp)?)?;
                        args.push(CallArg {
                            name: Some(name),
                            value,
                        });
                    }
                    _ => args.push(CallArg {
                        name: None,
                        value: build_expr(a)?,
                    }),
                }
            }
            ExprKind::Stripe(StripeCall {
                resource,
                method,
                args,
            })
        }
        Rule::quant => {
            let mut it = pair.into_inner();
            let kw = next(&mut it, sp)?;
            let var = ident(next(&mut it, sp)?);
            let _in = next(&mut it, sp)?;
            let list = build_expr(next(&mut it, sp)?)?;
            let cond = build_expr(next(&mut it, sp)?)?;
            ExprKind::Quant {
                all: kw.as_str() == "all",
                var,
                list: Box::new(list),
                cond: Box::new(cond),
            }
        }
        Rule::boolean => ExprKind::Bool(pair.as_str() == "true"),
        Rule::null => ExprKind::Null,
        Rule::string => {
            let mut parts = Vec::new();
            for c in pair.into_inner() {
                match c.as_rule() {
                    Rule::text => push_text(&mut parts, c.as_str()),
                    Rule::escape => {
                        let mut buf = [0u8; 4];
                        push_text(&mut parts, unescape(c.as_str()).encode_utf8(&mut buf))
                    }
                    Rule::interp => {
                        let csp = span(&c);
                        let inner = c
                            .into_inner()
                            .next()
                            .ok_or_else(|| internal(csp, "interpolation"))?;
                        parts.push(StrPart::Expr(build_expr(inner)?));
                    }
                    _ => {}
                }
            }
            ExprKind::Str(parts)
        }
        Rule::list => {
            let mut items = Vec::new();
            for c in pair.into_inner() {
                items.push(build_expr(c)?);
            }
            ExprKind::List(items)
        }
        Rule::map => {
            let mut entries = Vec::new();
            for entry in pair.into_inner() {
                let esp = span(&entry);
                let mut it = entry.into_inner();
                let k = next(&mut it, esp)?;
                let key = match k.as_rule() {
                    Rule::string => {
                        let ksp = span(&k);
                        Ident {
                            name: string_literal(k)?,
                            span: ksp,
                        }
                    }
                    _ => ident(k),
                };
                let v = build_expr(next(&mut it, esp)?)?;
                entries.push((key, v));
            }
            ExprKind::Map(entries)
        }
        Rule::retrieve => {
            let p = children(pair)
                .next()
                .ok_or_else(|| internal(sp, "retrieve"))?;
            ExprKind::Retrieve(build_path(p)?)
        }
        Rule::path => ExprKind::Path(build_path(pair)?),
        Rule::expr => return build_expr(pair),
        _ => return Err(internal(sp, "expression")),
    };
    Ok(Expr { kind, span: sp })
}

fn pair_text(a: &Pair<Rule>, b: &Pair<Rule>) -> String {
    format!("{} {}", a.as_str(), b.as_str())
}

/// A time as the command line takes it (`--now`): a date (`2024-01-01`), a date and
/// time (`2024-01-01T09:00:00Z`, or with an offset), or Unix seconds.
pub fn parse_time_text(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs);
    }
    let shape_ok = text.len() >= 10
        && text.as_bytes()[4] == b'-'
        && text.as_bytes()[7] == b'-'
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-:+".contains(&b));
    if !shape_ok {
        return Err(format!(
            "`{text}` is not a time: write `2024-01-31`, `2024-01-31T09:00:00Z` or Unix seconds"
        ));
    }
    parse_time(text, Span::default()).map_err(|d| d.message)
}
