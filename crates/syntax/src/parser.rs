//! From text to [`ast::File`]: the hand-written parser ([`crate::fast`]) reads a file
//! first; where it declines (a syntax error, or anything it is not sure of), pest's
//! grammar ([`crate::grammar`]) parses it and reports its problems in plain words.

use super::ast::*;
use super::Diagnostic;
use super::SourceFile;
use crate::grammar::check_separators;

pub use crate::grammar::{
    parse_expr, parse_stmt, parse_time_text, parse_with_pest, pest_accepts, Parsed,
};

/// Parse a whole file. Never fails: problems come back as diagnostics.
///
/// The hand-written parser ([`crate::fast`]) reads the file first; when it declines
/// (a syntax error, or anything it is not sure of), pest parses the file and reports
/// its problems.
pub fn parse(source: &SourceFile) -> Parsed {
    match crate::fast::parse_file(&source.text) {
        Some(file) => {
            let mut diagnostics = Vec::new();
            check_separators(&source.text, &file.workflows, &file.tests, &mut diagnostics);
            Parsed { file, diagnostics }
        }
        None => parse_with_pest(source),
    }
}

/// A file read for a caller that handles one workflow at a time (`flow check` of a
/// large file): everything but the workflows, which [`Outline::workflow`] reads again
/// one by one, so that no more than one workflow's tree need be held at a time.
/// `None` where the hand-written parser declines the file: then use [`parse`].
pub fn outline(source: &SourceFile) -> Option<Outline> {
    let (file, starts) = crate::fast::parse_outline(&source.text, false)?;
    Some(Outline { file, starts })
}

/// See [`outline`].
pub struct Outline {
    /// The file without its workflows.
    pub file: File,
    starts: Vec<usize>,
}

impl Outline {
    /// How many workflows the file has.
    pub fn workflow_count(&self) -> usize {
        self.starts.len()
    }

    /// The `i`th workflow, and the diagnostics [`parse`] gives for it (statements
    /// not separated), in the same order; `None` past the end.
    pub fn workflow(&self, source: &SourceFile, i: usize) -> Option<(Workflow, Vec<Diagnostic>)> {
        let w = crate::fast::parse_workflow_at(&source.text, *self.starts.get(i)?)?;
        let mut diagnostics = Vec::new();
        check_separators(
            &source.text,
            std::slice::from_ref(&w),
            &[],
            &mut diagnostics,
        );
        Some((w, diagnostics))
    }

    /// The diagnostics [`parse`] gives for the file's tests, after those of the
    /// workflows.
    pub fn test_diagnostics(&self, source: &SourceFile) -> Vec<Diagnostic> {
        let mut diagnostics = Vec::new();
        check_separators(&source.text, &[], &self.file.tests, &mut diagnostics);
        diagnostics
    }
}

/// The hand-written parser alone: the file, or `None` where it declines. For tests
/// that compare it with [`parse_with_pest`].
#[doc(hidden)]
pub fn parse_fast(text: &str) -> Option<File> {
    crate::fast::parse_file(text)
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;

    fn file(text: &str) -> File {
        let src = SourceFile::new("t.flow", text);
        let p = parse(&src);
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        p.file
    }

    fn expr(text: &str) -> Expr {
        parse_expr(text).unwrap_or_else(|d| panic!("{text}: {}", d.message))
    }

    #[test]
    fn compact_blocks_and_less_than() {
        let f = file(
            r#"on payment_intent.succeeded when amount > 1000 USD < email to: "t@example.com", body: "n"; if amount > 2000 USD < update customer.metadata.Tier = "VIP" > >"#,
        );
        let w = &f.workflows[0];
        assert!(w.name.is_none());
        assert_eq!(w.body.stmts.len(), 2);
        let StmtKind::If { branches, .. } = &w.body.stmts[1].kind else {
            panic!()
        };
        assert!(matches!(
            branches[0].1.stmts[0].kind,
            StmtKind::Update { .. }
        ));
        // `<` followed by anything but a statement is less-than.
        let f = file("on charge.succeeded when amount < dispute_fee { retrieve customer }");
        let Some(Expr {
            kind: ExprKind::Binary { op: BinOp::Lt, .. },
            ..
        }) = &f.workflows[0].when
        else {
            panic!("less-than")
        };
    }

    #[test]
    fn precedence() {
        let e = expr("not a == b and c or d");
        let ExprKind::Binary {
            op: BinOp::Or, lhs, ..
        } = e.kind
        else {
            panic!()
        };
        let ExprKind::Binary {
            op: BinOp::And,
            lhs,
            ..
        } = lhs.kind
        else {
            panic!()
        };
        assert!(matches!(lhs.kind, ExprKind::Not(_)));
    }

    #[test]
    fn paths_money_and_strings() {
        let ExprKind::Path(p) = expr(r#"metadata["Order ID"]"#).kind else {
            panic!()
        };
        assert_eq!(p.segments[1].name, "Order ID");
        assert!(p.segments[1].quoted);
        assert_eq!(p.dotted(), r#"metadata["Order ID"]"#);
        let ExprKind::Money { amount, currency } = expr("14.99 USD").kind else {
            panic!()
        };
        assert_eq!(amount.to_string(), "14.99");
        assert_eq!(currency.name, "USD");
        let ExprKind::Str(parts) = expr(r#""Order {metadata.order_id}: \{x\}""#).kind else {
            panic!()
        };
        assert!(matches!(&parts[0], StrPart::Text(t) if t == "Order "));
        assert!(matches!(&parts[1], StrPart::Expr(_)));
        assert!(matches!(&parts[2], StrPart::Text(t) if t == ": {x}"));
        assert!(matches!(expr("[USD, EUR]").kind, ExprKind::List(ref v) if v.len() == 2));
        assert!(matches!(expr("1_000").kind, ExprKind::Number(n) if n == Decimal::from(1000)));
    }

    #[test]
    fn spans_are_exact() {
        let text =
            "on charge.succeeded {\n    email to: \"a@b.co\", body: \"x\"   // trailing\n}\n";
        let f = file(text);
        let s = &f.workflows[0].body.stmts[0];
        assert_eq!(&text[s.span.range()], "email to: \"a@b.co\", body: \"x\"");
    }

    #[test]
    fn statements_need_separators() {
        let src = SourceFile::new(
            "t.flow",
            "on charge.succeeded { retrieve customer retrieve customer }",
        );
        let p = parse(&src);
        assert_eq!(p.diagnostics.len(), 1);
        assert_eq!(p.diagnostics[0].code, "E0002");
        let src = SourceFile::new(
            "t.flow",
            "on charge.succeeded { retrieve customer; retrieve customer }",
        );
        assert!(parse(&src).diagnostics.is_empty());
    }

    #[test]
    fn several_workflows_and_names() {
        let f = file("workflow \"A\"\non charge.succeeded { retrieve customer }\n\non charge.failed { retrieve customer }\n");
        assert_eq!(f.workflows.len(), 2);
        assert_eq!(f.workflows[0].name.as_ref().unwrap().0, "A");
        assert_eq!(
            f.workflows[1].trigger.event().map(|e| e.name.as_str()),
            Some("charge.failed")
        );
    }

    #[test]
    fn errors_never_name_grammar_rules() {
        for bad in [
            "on",
            "on x {",
            "on x when {",
            "on x { let }",
            "on x { email to: }",
            "workflow",
            "on x { if { } }",
        ] {
            let src = SourceFile::new("t.flow", bad);
            let p = parse(&src);
            assert!(!p.diagnostics.is_empty(), "{bad}");
            for d in &p.diagnostics {
                for word in [
                    "EOI",
                    "expr_",
                    "stmt",
                    "primary",
                    "_op",
                    "kw_",
                    "ident",
                    "name_char",
                ] {
                    assert!(!d.message.contains(word), "{bad}: {}", d.message);
                }
            }
        }
    }

    #[test]
    fn tests_parse_beside_workflows() {
        let source = SourceFile::new(
            "t.flow",
            r#"on payment_intent.succeeded { update customer.metadata.a = "b" }
test "file" {
    given "events/x.json" with "objects"
    expect failed "no such object"
    expect no actions
}
test "partial" {
    given radar.early_fraud_warning.created { charge: "ch_1" }
        with [ { id: "ch_1", object: "charge" } ]
    expect actions [
        refund charge: "ch_1", reason: "fraudulent"
        update customer.metadata.Tier == "VIP"
    ]
}
"#,
        );
        let parsed = parse(&source);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let f = &parsed.file;
        assert_eq!(f.workflows.len(), 1);
        assert_eq!(f.tests.len(), 2);
        let t = &f.tests[0];
        assert_eq!(t.name, "file");
        assert!(
            matches!(&t.givens[0].event, GivenEvent::File { path, .. } if path == "events/x.json")
        );
        assert!(
            matches!(&t.givens[0].with, Some(GivenObjects::Path { path, .. }) if path == "objects")
        );
        assert!(
            matches!(&t.expects[0].kind, ExpectKind::Status { status, message: Some((m, _)) }
            if status.name == "failed" && m == "no such object")
        );
        assert!(matches!(&t.expects[1].kind, ExpectKind::No { what } if what.name == "actions"));
        let t = &f.tests[1];
        assert!(matches!(&t.givens[0].with, Some(GivenObjects::Inline(_))));
        match &t.expects[0].kind {
            ExpectKind::Actions(list) => {
                assert_eq!(list.len(), 2);
                assert!(matches!(&list[0], ExpectedAction::Call { name, args, .. }
                    if name.name == "refund" && args.len() == 2));
                assert!(matches!(&list[1], ExpectedAction::Update { target, .. }
                    if target.dotted() == "customer.metadata.Tier"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_separator_problem_is_reported_once() {
        let source = SourceFile::new(
            "t.flow",
            "on payment_intent.succeeded { update customer.metadata.a = \"b\" update customer.metadata.c = \"d\" }\non payment_intent.created { update customer.metadata.a = \"b\" }\ntest \"x\" { given payment_intent.succeeded { customer: \"c\" } expect succeeded }\n",
        );
        let codes: Vec<&str> = parse(&source).diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["E0002", "E0002"]);
    }
}
