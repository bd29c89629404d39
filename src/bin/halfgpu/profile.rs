//! `halfgpu profile`: per-op time, sorted, and a Chrome/Perfetto trace of one invoke.

use std::collections::BTreeMap;

use halfgpu::delegate::OpTiming;

use crate::backend::BackendArgs;

/// Profiles one invoke (after `warmup` plain ones) and prints the table; writes the trace file
/// when asked.
pub fn profile(
    path: &std::path::Path,
    backend: &BackendArgs,
    warmup: usize,
    trace: Option<&std::path::Path>,
    json: bool,
) -> Result<String, Box<dyn std::error::Error>> {
    let (mut it, gpu, _) = backend.load(path)?;
    for i in 0..it.input_count() {
        if let Ok(x) = it.input_mut::<f32>(i) {
            x.iter_mut()
                .enumerate()
                .for_each(|(k, v)| *v = ((k * 7919) % 1000) as f32 / 1000.0);
        }
    }
    for _ in 0..warmup {
        it.invoke()?;
    }
    let timings = it.invoke_profiled()?;
    if let Some(trace) = trace {
        std::fs::write(trace, chrome_trace(&timings)?)?;
    }
    if json {
        let total: f64 = timings.iter().map(|t| t.duration_ms).sum();
        let value = serde_json::json!({
            "adapter": gpu.as_ref().map(|g| g.adapter.clone()),
            "total_ms": total,
            "ops": timings,
        });
        return Ok(format!("{}\n", serde_json::to_string_pretty(&value)?));
    }
    Ok(table(&timings, gpu.as_ref().map(|g| g.adapter.as_str())))
}

fn table(timings: &[OpTiming], adapter: Option<&str>) -> String {
    use std::fmt::Write;
    let total: f64 = timings.iter().map(|t| t.duration_ms).sum();
    let mut s = String::new();
    if let Some(a) = adapter {
        let _ = writeln!(s, "GPU: {a}");
    }
    let sources: std::collections::BTreeSet<&str> =
        timings.iter().map(|t| t.source.as_str()).collect();
    let _ = writeln!(
        s,
        "timing source: {}",
        sources.into_iter().collect::<Vec<_>>().join(", ")
    );
    let _ = writeln!(
        s,
        "{:>6}  {:<26} {:<5} {:<22} {:>10} {:>7}",
        "node", "op", "where", "output shape", "ms", "share"
    );
    let mut sorted: Vec<&OpTiming> = timings.iter().collect();
    sorted.sort_by(|a, b| b.duration_ms.total_cmp(&a.duration_ms));
    for t in sorted {
        let _ = writeln!(
            s,
            "{:>6}  {:<26} {:<5} {:<22} {:>10.3} {:>6.1}%",
            t.node.map_or("-".into(), |n| n.to_string()),
            t.op,
            t.device,
            format!("{:?}", t.shape),
            t.duration_ms,
            100.0 * t.duration_ms / total.max(1e-9)
        );
    }
    let mut by_op: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
    for t in timings {
        let e = by_op.entry(&t.op).or_default();
        e.0 += t.duration_ms;
        e.1 += 1;
    }
    let mut by_op: Vec<_> = by_op.into_iter().collect();
    by_op.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    let _ = writeln!(s, "\nby op:");
    for (op, (ms, n)) in by_op {
        let _ = writeln!(
            s,
            "  {op:<26} {n:>4} x  {ms:>10.3} ms  {:>5.1}%",
            100.0 * ms / total.max(1e-9)
        );
    }
    let _ = writeln!(s, "total {total:.3} ms");
    s
}

/// The Chrome trace-event format (open in chrome://tracing or ui.perfetto.dev).
fn chrome_trace(timings: &[OpTiming]) -> Result<String, serde_json::Error> {
    let events: Vec<serde_json::Value> = timings
        .iter()
        .map(|t| {
            serde_json::json!({
                "name": t.op,
                "cat": t.device,
                "ph": "X",
                "ts": t.start_ms * 1e3,
                "dur": t.duration_ms * 1e3,
                "pid": 1,
                "tid": if t.device == "cpu" { 1 } else { 2 },
                "args": { "node": t.node, "shape": t.shape, "source": t.source },
            })
        })
        .collect();
    serde_json::to_string(&serde_json::json!({ "traceEvents": events, "displayTimeUnit": "ms" }))
}
