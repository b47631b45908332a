use super::*;

fn fmt(text: &str) -> String {
    format(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn the_compact_form_becomes_blocks() {
    let text = "on payment_intent.succeeded when amount > 1000 USD < email to: \"a@b.c\", body: \"x\"; if amount > 2000 USD < update customer.metadata.Tier = \"VIP\" > >";
    assert_eq!(
        fmt(text),
        "on payment_intent.succeeded\nwhen amount > 1000 USD {\n    email to: \"a@b.c\", body: \"x\"\n    if amount > 2000 USD {\n        update customer.metadata.Tier = \"VIP\"\n    }\n}\n"
    );
}

#[test]
fn comments_stay_where_they_are() {
    let text = "// head\n\nworkflow \"W\" // name\non charge.succeeded { // open\n  // before\n  email to: \"a\" // after\n\n\n  // last\n}\n// end\n";
    assert_eq!(
        fmt(text),
        "// head\n\nworkflow \"W\" // name\non charge.succeeded { // open\n    // before\n    email to: \"a\" // after\n\n    // last\n}\n// end\n"
    );
}

#[test]
fn long_arguments_align_under_the_first() {
    let text = format!(
        "on charge.succeeded {{ email to: \"a@example.com\", subject: \"{}\", body: \"b\" }}",
        "s".repeat(60)
    );
    let out = fmt(&text);
    assert_eq!(
        out,
        format!(
            "on charge.succeeded {{\n    email to: \"a@example.com\",\n          subject: \"{}\",\n          body: \"b\"\n}}\n",
            "s".repeat(60)
        )
    );
    assert_eq!(fmt(&out), out);
}

#[test]
fn parentheses_are_kept_where_written_and_added_where_needed() {
    let text = "on charge.succeeded when (amount > 1 USD and not (paid)) or ((refunded)) { let x = -(1 + 2) * 3\n let y = (1) }";
    assert_eq!(
        fmt(text),
        "on charge.succeeded\nwhen (amount > 1 USD and not paid) or refunded {\n    let x = -(1 + 2) * 3\n    let y = 1\n}\n"
    );
}

#[test]
fn strings_and_numbers_stay_as_written() {
    let text = "on charge.succeeded { let a = \"x \\\" \\{y\\} {amount} // no\"\n let b = 1_000.50 USD\n let c = 2024-01-01T09:00:00+02:00\n let d = 7   days }";
    let out = fmt(text);
    assert!(
        out.contains(r#"let a = "x \" \{y\} {amount} // no""#),
        "{out}"
    );
    assert!(out.contains("let b = 1_000.50 USD"), "{out}");
    assert!(out.contains("let c = 2024-01-01T09:00:00+02:00"), "{out}");
    assert!(out.contains("let d = 7 days"), "{out}");
}

#[test]
fn long_maps_fill_lines() {
    let entries: Vec<String> = (0..12)
        .map(|i| format!("field_{i}: \"value {i}\""))
        .collect();
    let text = format!(
        "test \"t\" {{ given charge.succeeded {{ {} }}\n expect succeeded }}",
        entries.join(", ")
    );
    let out = fmt(&text);
    assert!(
        out.contains("    given charge.succeeded {\n        field_0: "),
        "{out}"
    );
    assert!(out.lines().all(|l| l.chars().count() <= WIDTH), "{out}");
    assert!(out.contains("\n    }\n    expect succeeded\n"), "{out}");
    assert_eq!(fmt(&out), out);
}

#[test]
fn comments_inside_a_list_put_each_element_on_its_line() {
    let text = "on charge.succeeded { email to: [\"a\", // first\n \"b\"] }";
    let out = fmt(text);
    assert_eq!(
        out,
        "on charge.succeeded {\n    email to: [\n        \"a\", // first\n        \"b\"\n    ]\n}\n"
    );
    assert_eq!(fmt(&out), out);
}

#[test]
fn a_comment_inside_an_operation_moves_after_it() {
    let text = "on charge.succeeded {\n    let x = 1 + // one\n        2\n}\n";
    let out = fmt(text);
    assert_eq!(
        out,
        "on charge.succeeded {\n    let x = 1 + 2\n    // one\n}\n"
    );
    assert_eq!(fmt(&out), out);
}

#[test]
fn items_are_one_blank_line_apart() {
    let text = "action crm url: \"https://x\" { a: string, b: ref(charge)? }\n\n\n\non charge.succeeded { crm a: \"x\" }\ntest \"t\" { given \"e.json\" with \"objects\"; expect actions [ crm a: \"x\"; update customer.metadata.A = 1 ] }";
    assert_eq!(
        fmt(text),
        "action crm url: \"https://x\" {\n    a: string\n    b: ref(charge)?\n}\n\non charge.succeeded {\n    crm a: \"x\"\n}\n\ntest \"t\" {\n    given \"e.json\" with \"objects\"\n    expect actions [\n        crm a: \"x\"\n        update customer.metadata.A == 1\n    ]\n}\n"
    );
}

#[test]
fn stripe_calls() {
    let text = "on invoice.created { stripe.invoices.void_invoice( id )\n let s = stripe.checkout.sessions.list(limit:3) }";
    assert_eq!(
        fmt(text),
        "on invoice.created {\n    stripe.invoices.void_invoice(id)\n    let s = stripe.checkout.sessions.list(limit: 3)\n}\n"
    );
}

#[test]
fn syntax_errors_are_reported_not_formatted() {
    assert!(matches!(format("on x {"), Err(Error::Syntax(_))));
}

#[test]
fn empty_and_comment_only_files() {
    assert_eq!(fmt(""), "");
    assert_eq!(fmt("\n\n// only\n\n"), "// only\n");
}

#[test]
fn loops_answers_and_expected_stripe_calls() {
    let text = "on invoice.overdue { for inv in stripe.invoices.list(customer: customer) limit 500 { if inv.paid { break }\n stripe.invoices.void_invoice(inv.id) } }\ntest \"t\" { given invoice.overdue { id: \"in_1\" }\n answer stripe.invoices.list with [{ id: \"in_2\" }]\n expect stripe.invoices.void_invoice(\"in_2\")\n expect actions [ stripe.invoices.void_invoice(\"in_2\") ] }";
    let out = fmt(text);
    assert_eq!(
        out,
        "on invoice.overdue {\n    for inv in stripe.invoices.list(customer: customer) limit 500 {\n        if inv.paid {\n            break\n        }\n        stripe.invoices.void_invoice(inv.id)\n    }\n}\n\ntest \"t\" {\n    given invoice.overdue { id: \"in_1\" }\n    answer stripe.invoices.list with [{ id: \"in_2\" }]\n    expect stripe.invoices.void_invoice(\"in_2\")\n    expect actions [\n        stripe.invoices.void_invoice(\"in_2\")\n    ]\n}\n"
    );
    assert_eq!(fmt(&out), out);
}

#[test]
fn fmt_off_among_the_leading_comments_keeps_the_file_as_written() {
    let compact = "// The compact form, shown as written.\n// fmt: off\non payment_intent.succeeded when amount > 1000 USD < email to: \"t@example.com\", body: \"x\" >\n";
    assert_eq!(fmt(compact), compact);
    // Only before the first item: further down it is a comment like any other.
    let later =
        "on payment_intent.succeeded < email to: \"t@example.com\", body: \"x\" >\n// fmt: off\n";
    assert_eq!(
        fmt(later),
        "on payment_intent.succeeded {\n    email to: \"t@example.com\", body: \"x\"\n}\n// fmt: off\n"
    );
    // And the words must be exactly these.
    assert!(!left_as_written("// fmt: offline notes\non x {}\n"));
}

#[test]
fn new_triggers_and_waits_are_laid_out() {
    let text = "workflow \"G\" on demand (customer: ref<customer>,credit: money, days: integer = 3) { wait   3 days\n wait until now + days * 1 day }\nworkflow \"M\" on schedule \"0 9 1 * *\"   timezone \"America/New_York\" { email to: \"f@example.com\", body: \"x\" }";
    let out = fmt(text);
    assert_eq!(
        out,
        "workflow \"G\"\non demand (customer: ref<customer>, credit: money, days: integer = 3) {\n    wait 3 days\n    wait until now + days * 1 day\n}\n\nworkflow \"M\"\non schedule \"0 9 1 * *\" timezone \"America/New_York\" {\n    email to: \"f@example.com\", body: \"x\"\n}\n"
    );
    assert_eq!(fmt(&out), out);
}
