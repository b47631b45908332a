//! `flow test --coverage`: which outcomes of each `when` condition and `if` / `else
//! if` condition the tests took, per workflow. Each condition has two outcomes, true
//! and false; a workflow's coverage is the share of its outcomes some test took.

use std::fmt::Write as _;

use serde_json::{json, Value as Json};

use flow_program::Program;
use flow_syntax::SourceFile;

/// One condition: where it is, and how its runs went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Branch {
    /// `when`, `if` or `else if`.
    pub kind: &'static str,
    pub line: usize,
    pub column: usize,
    /// The condition as written (on one line).
    pub text: String,
    /// How many times a run evaluated it, and found it true.
    pub evaluated: u64,
    pub taken: u64,
}

impl Branch {
    /// Outcomes taken: true, false.
    pub fn outcomes(&self) -> (bool, bool) {
        (self.taken > 0, self.evaluated > self.taken)
    }

    fn covered(&self) -> usize {
        let (t, f) = self.outcomes();
        usize::from(t) + usize::from(f)
    }
}

/// The conditions of one workflow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workflow {
    /// The file, as given.
    pub file: String,
    pub name: String,
    pub branches: Vec<Branch>,
}

impl Workflow {
    /// Outcomes taken, and outcomes there are.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.branches.iter().map(Branch::covered).sum(),
            2 * self.branches.len(),
        )
    }
}

/// The coverage of a whole `flow test`: every workflow of the files tested, in the
/// order they were first seen.
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    pub workflows: Vec<Workflow>,
}

/// `covered` of `total` as a percentage with one decimal, exactly (`66.6`, rounded
/// down, so that a threshold is never met by rounding).
pub fn percent_text(covered: usize, total: usize) -> String {
    if total == 0 {
        return "100.0".into();
    }
    let permille = covered * 1000 / total;
    format!("{}.{}", permille / 10, permille % 10)
}

impl Coverage {
    fn entry(&mut self, p: &Program, source: &SourceFile) -> &mut Workflow {
        let at = self
            .workflows
            .iter()
            .position(|w| w.file == source.name && w.name == p.name);
        let i = match at {
            Some(i) => i,
            None => {
                let branches = p
                    .branches
                    .iter()
                    .map(|b| {
                        let (line, column) = source.line_col(b.span.start);
                        let text: String = source
                            .slice(b.span)
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ");
                        Branch {
                            kind: b.kind,
                            line,
                            column,
                            text,
                            evaluated: 0,
                            taken: 0,
                        }
                    })
                    .collect();
                self.workflows.push(Workflow {
                    file: source.name.clone(),
                    name: p.name.clone(),
                    branches,
                });
                self.workflows.len() - 1
            }
        };
        &mut self.workflows[i]
    }

    /// A workflow of a file being tested, whether or not a test runs it.
    pub fn register(&mut self, p: &Program, source: &SourceFile) {
        self.entry(p, source);
    }

    /// What one run did: `visits` are its counts of instructions reached
    /// (`flow_vm::run_counted`).
    pub fn record(&mut self, p: &Program, source: &SourceFile, visits: &[u32]) {
        let count = |pc: u32| u64::from(visits.get(pc as usize).copied().unwrap_or(0));
        let w = self.entry(p, source);
        for (b, point) in w.branches.iter_mut().zip(&p.branches) {
            b.evaluated += count(point.test);
            b.taken += count(point.then);
        }
    }

    /// Outcomes taken, and outcomes there are, over every workflow.
    pub fn counts(&self) -> (usize, usize) {
        self.workflows
            .iter()
            .map(Workflow::counts)
            .fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
    }

    /// Whether the outcomes taken are at least `threshold` percent of them all.
    pub fn meets(&self, threshold: u32) -> bool {
        let (covered, total) = self.counts();
        total == 0 || covered * 100 >= total * threshold as usize
    }

    /// The report for a person.
    pub fn to_text(&self) -> String {
        let mark = |b: bool| if b { "yes" } else { "NO " };
        let mut out =
            String::from("coverage: the outcomes of `when` and `if` conditions the tests took\n");
        for w in &self.workflows {
            let (covered, total) = w.counts();
            if total == 0 {
                let _ = writeln!(out, "  {} \"{}\": no conditions", w.file, w.name);
                continue;
            }
            let _ = writeln!(
                out,
                "  {} \"{}\": {covered} of {total} outcomes ({}%)",
                w.file,
                w.name,
                percent_text(covered, total)
            );
            for b in &w.branches {
                let (t, f) = b.outcomes();
                let _ = writeln!(
                    out,
                    "    {}:{:<4} true {}  false {}  {} {}",
                    b.line,
                    b.column,
                    mark(t),
                    mark(f),
                    b.kind,
                    b.text
                );
            }
        }
        let (covered, total) = self.counts();
        let _ = writeln!(
            out,
            "total: {covered} of {total} outcomes ({}%)",
            percent_text(covered, total)
        );
        out
    }

    /// The report as JSON: `{"coverage": {"covered", "total", "percent", "workflows":
    /// [{"file", "workflow", "covered", "total", "branches": [{"kind", "line",
    /// "column", "condition", "true", "false"}]}]}}`.
    pub fn to_json(&self) -> Json {
        let (covered, total) = self.counts();
        let workflows: Vec<Json> = self
            .workflows
            .iter()
            .map(|w| {
                let (c, t) = w.counts();
                json!({
                    "file": w.file,
                    "workflow": w.name,
                    "covered": c,
                    "total": t,
                    "branches": w.branches.iter().map(|b| {
                        let (t, f) = b.outcomes();
                        json!({"kind": b.kind, "line": b.line, "column": b.column,
                               "condition": b.text, "true": t, "false": f})
                    }).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({"coverage": {
            "covered": covered,
            "total": total,
            "percent": percent_text(covered, total),
            "workflows": workflows,
        }})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_down() {
        assert_eq!(percent_text(2, 3), "66.6");
        assert_eq!(percent_text(1, 3), "33.3");
        assert_eq!(percent_text(3, 4), "75.0");
        assert_eq!(percent_text(0, 0), "100.0");
    }

    #[test]
    fn outcomes_come_from_evaluations_and_takes() {
        let b = |evaluated, taken| Branch {
            kind: "if",
            line: 1,
            column: 1,
            text: "x".into(),
            evaluated,
            taken,
        };
        assert_eq!(b(0, 0).outcomes(), (false, false));
        assert_eq!(b(2, 2).outcomes(), (true, false));
        assert_eq!(b(2, 0).outcomes(), (false, true));
        assert_eq!(b(3, 1).outcomes(), (true, true));
        let c = Coverage {
            workflows: vec![Workflow {
                file: "f.flow".into(),
                name: "w".into(),
                branches: vec![b(3, 1), b(2, 2)],
            }],
        };
        assert_eq!(c.counts(), (3, 4));
        assert!(c.meets(75));
        assert!(!c.meets(76));
    }
}
