//! Time the front half of the pipeline on a generated file of many workflows, stage
//! by stage: `compile_phases [COUNT]` (median of 5 runs, in milliseconds).

use std::time::Instant;

use flow::syntax::SourceFile;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let source = SourceFile::new("many.flow", flow_benches::many_workflows(count));
    let env = flow::check::Env::new(flow::stdlib::builtin());
    let (mut parse, mut check, mut compile, mut total) = (vec![], vec![], vec![], vec![]);
    for _ in 0..5 {
        let t0 = Instant::now();
        let parsed = flow::syntax::parse(&source);
        let t1 = Instant::now();
        let (checked, diags) = flow::check::check_file(&parsed.file, source.clone(), &env, "many");
        let t2 = Instant::now();
        let compiled = flow::compile::compile(&checked);
        let t3 = Instant::now();
        assert!(parsed.diagnostics.is_empty() && diags.is_empty());
        assert_eq!(compiled.programs.len(), count);
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
        parse.push(ms(t0, t1));
        check.push(ms(t1, t2));
        compile.push(ms(t2, t3));
        total.push(ms(t0, t3));
    }
    println!(
        "{count} workflows ({} bytes): parse {:.1} ms, check {:.1} ms, compile {:.1} ms, total {:.1} ms",
        source.text.len(),
        median(parse),
        median(check),
        median(compile),
        median(total)
    );
}
