//! The README's front door stays true: its first command prints what the README shows.

mod common;

#[test]
fn readme_run_example_matches_the_binary() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let section = readme
        .split("## Two commands")
        .nth(1)
        .expect("a Two commands section");
    let command = section
        .split("```sh\n")
        .nth(1)
        .and_then(|s| s.split("\n```").next())
        .expect("a sh block");
    let shown = section
        .split("```text\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a text block");
    let args: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(&args[..4], ["cargo", "run", "-q", "--"], "{command}");
    let r = common::flow_ok(&args[4..]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, shown);
    assert!(
        section.contains("```sh\ncargo test\n```"),
        "the test command is `cargo test`"
    );
}
