//! `flow test --format json|junit` and `--filter`, through the built binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn flow(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flow"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run flow")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// The `test "…"` names in the repository's example test files.
fn example_test_names() -> Vec<String> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(root().join("examples")).unwrap() {
        let path = e.unwrap().path();
        if !path.to_string_lossy().ends_with(".test.flow") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("test \"") {
                let end = rest.rfind('"').unwrap();
                names.push(rest[..end].to_string());
            }
        }
    }
    assert!(names.len() >= 10, "{names:?}");
    names
}

const VIP: &str = r#"workflow "VIP"
on payment_intent.succeeded
when amount > 1000 USD {
    email to: "team@example.com", subject: "Big order", body: "{amount} from {customer}"
    update customer.metadata.Tier = "VIP"
}
"#;

const VIP_TESTS: &str = r#"test "right" {
    given payment_intent.succeeded { amount: 1500.00 USD, customer: "cus_1" }
    expect email body: "1500.00 USD from cus_1"
}

test "tier <&\" 'wrong'" {
    given payment_intent.succeeded { amount: 1500.00 USD, customer: "cus_1" }
    expect update customer.metadata.Tier == "<Gold & \"co\">"
}
"#;

const FAILING_NAME: &str = "tier <&\" 'wrong'";

fn vip_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("vip.flow"), VIP).unwrap();
    std::fs::write(dir.path().join("vip.test.flow"), VIP_TESTS).unwrap();
    dir
}

fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

#[test]
fn json_names_each_example_test_then_sums_up() {
    let o = flow(&["test", "--format", "json", "examples"], &root());
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    let lines = json_lines(&out);
    let (summary, tests) = lines.split_last().unwrap();
    let mut names: Vec<String> = tests
        .iter()
        .map(|t| {
            assert_eq!(t["status"], "passed", "{t}");
            assert_eq!(t["failures"], serde_json::json!([]), "{t}");
            assert!(t["file"].as_str().unwrap().ends_with(".test.flow"), "{t}");
            t["name"].as_str().unwrap().to_string()
        })
        .collect();
    let mut expected = example_test_names();
    names.sort();
    expected.sort();
    assert_eq!(names, expected);
    assert_eq!(
        summary,
        &serde_json::json!({"summary": {"passed": tests.len(), "failed": 0, "filtered_out": 0}})
    );
}

#[test]
fn json_reports_a_failure_with_its_code_and_place() {
    let dir = vip_dir();
    let o = flow(&["test", "--format", "json"], dir.path());
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0]["name"], "right");
    assert_eq!(lines[0]["status"], "passed");
    assert_eq!(lines[1]["file"], "vip.test.flow");
    assert_eq!(lines[1]["name"], FAILING_NAME);
    assert_eq!(lines[1]["status"], "failed");
    let failures = lines[1]["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{out}");
    assert_eq!(failures[0]["code"], "E0805");
    assert!(failures[0]["message"].as_str().unwrap().contains("update"));
    assert_eq!(failures[0]["line"], 8);
    assert_eq!(failures[0]["column"], 5);
    assert_eq!(
        lines[2],
        serde_json::json!({"summary": {"passed": 1, "failed": 1, "filtered_out": 0}})
    );
}

/// A minimal XML 1.0 reader, strict about what a JUnit report uses: a declaration,
/// elements with quoted attributes, text, and the predefined and numeric character
/// references. Panics on anything not well-formed.
#[derive(Debug)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn attribute(&self, name: &str) -> &str {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("<{}> has no {name}", self.name))
    }

    fn all(&self, name: &str) -> Vec<&Element> {
        self.children.iter().filter(|c| c.name == name).collect()
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(['&', '<']) {
        out.push_str(&rest[..i]);
        assert!(rest[i..].starts_with('&'), "a raw < in {s:?}");
        let end = rest[i..]
            .find(';')
            .unwrap_or_else(|| panic!("a raw & in {s:?}"));
        let entity = &rest[i + 1..i + end];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            e if e.starts_with("#x") => {
                char::from_u32(u32::from_str_radix(&e[2..], 16).unwrap()).unwrap()
            }
            e if e.starts_with('#') => char::from_u32(e[1..].parse().unwrap()).unwrap(),
            e => panic!("unknown entity &{e}; in {s:?}"),
        };
        out.push(c);
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    out
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')
}

fn parse_element(s: &str, pos: &mut usize) -> Element {
    let b = s.as_bytes();
    assert_eq!(b[*pos], b'<');
    *pos += 1;
    let start = *pos;
    while is_name_char(b[*pos] as char) {
        *pos += 1;
    }
    let name = s[start..*pos].to_string();
    assert!(!name.is_empty(), "an element without a name at {start}");
    let mut attributes = Vec::new();
    loop {
        while b[*pos].is_ascii_whitespace() {
            *pos += 1;
        }
        match b[*pos] {
            b'/' => {
                assert_eq!(b[*pos + 1], b'>');
                *pos += 2;
                return Element {
                    name,
                    attributes,
                    children: Vec::new(),
                    text: String::new(),
                };
            }
            b'>' => {
                *pos += 1;
                break;
            }
            _ => {
                let a = *pos;
                while is_name_char(b[*pos] as char) {
                    *pos += 1;
                }
                let attribute = s[a..*pos].to_string();
                assert!(!attribute.is_empty(), "junk in <{name}> at {a}");
                assert_eq!(b[*pos], b'=', "attribute {attribute} without a value");
                let quote = b[*pos + 1];
                assert!(quote == b'"' || quote == b'\'');
                let v = *pos + 2;
                let end = v + s[v..].find(quote as char).unwrap();
                let value = &s[v..end];
                assert!(!value.contains('<'), "a raw < in an attribute: {value:?}");
                assert!(
                    attributes.iter().all(|(n, _)| n != &attribute),
                    "{attribute} twice"
                );
                attributes.push((attribute, unescape(value)));
                *pos = end + 1;
                assert!(
                    b[*pos].is_ascii_whitespace() || b[*pos] == b'>' || b[*pos] == b'/',
                    "attributes must be separated"
                );
            }
        }
    }
    let mut children = Vec::new();
    let mut text = String::new();
    loop {
        let next = *pos + s[*pos..].find('<').expect("an unclosed element");
        text.push_str(&unescape(&s[*pos..next]));
        *pos = next;
        if s[*pos..].starts_with("</") {
            let close = format!("</{name}>");
            assert!(
                s[*pos..].starts_with(&close),
                "<{name}> closed wrongly at {pos}"
            );
            *pos += close.len();
            return Element {
                name,
                attributes,
                children,
                text,
            };
        }
        children.push(parse_element(s, pos));
    }
}

fn parse_xml(s: &str) -> Element {
    let body = s
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .expect("an XML declaration");
    let mut pos = body.len() - body.trim_start().len();
    let root = parse_element(body, &mut pos);
    assert!(
        body[pos..].trim().is_empty(),
        "after the root: {:?}",
        &body[pos..]
    );
    root
}

#[test]
fn the_xml_reader_rejects_what_is_not_well_formed() {
    for bad in [
        "<a>&</a>",
        "<a><b></a>",
        "<a x=\"<\"/>",
        "<a>&nope;</a>",
        "<a x=\"1\"x=\"2\"/>",
    ] {
        let doc = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{bad}");
        assert!(
            std::panic::catch_unwind(|| parse_xml(&doc)).is_err(),
            "{bad}"
        );
    }
    let ok = parse_xml("<?xml version=\"1.0\" encoding=\"UTF-8\"?><a x='&lt;&#10;'>t&amp;<b/></a>");
    assert_eq!(ok.attribute("x"), "<\n");
    assert_eq!(ok.text, "t&");
}

#[test]
fn junit_has_a_suite_per_example_file() {
    let o = flow(&["test", "--format", "junit", "examples"], &root());
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let report = parse_xml(&out);
    assert_eq!(report.name, "testsuites");
    let names = example_test_names();
    assert_eq!(report.attribute("tests"), names.len().to_string());
    assert_eq!(report.attribute("failures"), "0");
    let suites = report.all("testsuite");
    assert!(!suites.is_empty(), "{out}");
    let mut cases = 0;
    for s in &suites {
        let file = s.attribute("name");
        assert!(file.ends_with(".test.flow"), "{file}");
        assert_eq!(s.attribute("failures"), "0");
        let tests = s.all("testcase");
        assert_eq!(s.attribute("tests"), tests.len().to_string());
        for t in tests {
            assert_eq!(t.attribute("classname"), file);
            assert!(names.iter().any(|n| n == t.attribute("name")));
            assert!(t.all("failure").is_empty());
            cases += 1;
        }
    }
    assert_eq!(cases, names.len());
}

#[test]
fn junit_escapes_names_and_messages() {
    let dir = vip_dir();
    let o = flow(&["test", "--format", "junit"], dir.path());
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let report = parse_xml(&out);
    assert_eq!(report.attribute("tests"), "2");
    assert_eq!(report.attribute("failures"), "1");
    let suites = report.all("testsuite");
    assert_eq!(suites.len(), 1);
    assert_eq!(suites[0].attribute("name"), "vip.test.flow");
    assert_eq!(suites[0].attribute("tests"), "2");
    assert_eq!(suites[0].attribute("failures"), "1");
    let cases = suites[0].all("testcase");
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0].attribute("name"), "right");
    assert!(cases[0].all("failure").is_empty());
    assert_eq!(cases[1].attribute("name"), FAILING_NAME);
    assert_eq!(cases[1].attribute("classname"), "vip.test.flow");
    let failures = cases[1].all("failure");
    assert_eq!(failures.len(), 1);
    assert!(failures[0].attribute("message").contains("update"));
    assert!(
        failures[0]
            .text
            .contains(r#"expected "<Gold & \"co\">", found "VIP""#),
        "{}",
        failures[0].text
    );
}

#[test]
fn filter_selects_tests_and_counts_the_rest() {
    let all = example_test_names();
    let text = "VIP";
    let kept = all.iter().filter(|n| n.contains(text)).count();
    assert!(kept > 0 && kept < all.len());
    let o = flow(&["test", "--filter", text, "examples"], &root());
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert_eq!(
        out.lines().last().unwrap(),
        format!(
            "{kept} passed, 0 failed ({} filtered out)",
            all.len() - kept
        )
    );
    assert_eq!(out.lines().filter(|l| l.starts_with("test ")).count(), kept);

    let o = flow(
        &["test", "--format", "json", "--filter", text, "examples"],
        &root(),
    );
    let lines = json_lines(&stdout(&o));
    let (summary, tests) = lines.split_last().unwrap();
    assert_eq!(tests.len(), kept);
    assert!(tests
        .iter()
        .all(|t| t["name"].as_str().unwrap().contains(text)));
    assert_eq!(summary["summary"]["filtered_out"], all.len() - kept);

    // Case-sensitive: the failing test only.
    let dir = vip_dir();
    let o = flow(&["test", "--format", "junit", "--filter", "<&"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    let report = parse_xml(&stdout(&o));
    assert_eq!(report.attribute("tests"), "1");
    assert_eq!(report.attribute("failures"), "1");
    let o = flow(&["test", "--filter", "RIGHT"], dir.path());
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_filter_matching_nothing_is_an_error() {
    let o = flow(
        &["test", "--filter", "no test is called this", "examples"],
        &root(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no test name contains \"no test is called this\""),
        "{}",
        stderr(&o)
    );
    let o = flow(
        &[
            "test",
            "--format",
            "json",
            "--filter",
            "no test is called this",
            "examples",
        ],
        &root(),
    );
    assert_eq!(o.status.code(), Some(2));
    let lines = json_lines(&stdout(&o));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["summary"]["passed"], 0);
}

#[test]
fn the_text_format_is_the_default() {
    let dir = vip_dir();
    let plain = flow(&["test"], dir.path());
    let text = flow(&["test", "--format", "text"], dir.path());
    assert_eq!(stdout(&plain), stdout(&text));
    assert_eq!(stdout(&plain).lines().last(), Some("1 passed, 1 failed"));
    assert_eq!(plain.status.code(), Some(1));
}
