//! Time parsing alone on a generated file of many workflows, the pest path against
//! the hand-written parser, in turn on the same text: `parse_only [COUNT] [RUNS]`
//! (medians in milliseconds).

use std::time::Instant;

use flow::syntax::parser::{parse, parse_with_pest};
use flow::syntax::SourceFile;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(5);
    let source = SourceFile::new("many.flow", flow_benches::many_workflows(count));
    let (mut pest, mut fast) = (vec![], vec![]);
    for _ in 0..runs.max(1) {
        let t0 = Instant::now();
        let a = parse_with_pest(&source);
        let t1 = Instant::now();
        let b = parse(&source);
        let t2 = Instant::now();
        assert!(a.diagnostics.is_empty() && b.diagnostics.is_empty());
        assert_eq!(a.file.workflows.len(), count);
        assert_eq!(b.file.workflows.len(), count);
        pest.push((t1 - t0).as_secs_f64() * 1e3);
        fast.push((t2 - t1).as_secs_f64() * 1e3);
        // Not timed: the trees are the same (the first thousand workflows, to keep
        // the run short; the tests compare whole files).
        if pest.len() == 1 {
            let n = count.min(1000);
            assert_eq!(
                format!("{:?}", &a.file.workflows[..n]),
                format!("{:?}", &b.file.workflows[..n])
            );
        }
    }
    let (p, f) = (median(pest), median(fast));
    println!(
        "{count} workflows ({} bytes): parse with pest {p:.1} ms, hand-written {f:.1} ms ({:.1}x)",
        source.text.len(),
        p / f
    );
}
