//! Write a flow file of many workflows: `gen_flows COUNT OUT.flow`.

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let path = args.next().unwrap_or_else(|| "many.flow".into());
    if let Err(e) = std::fs::write(&path, flow_benches::many_workflows(count)) {
        eprintln!("cannot write {path}: {e}");
        std::process::exit(2);
    }
}
