//! `halfgpu bench`: init time, invoke latency percentiles and the counters that explain them.

use std::time::Instant;

use serde::Serialize;

use crate::backend::BackendArgs;

/// The `--json` object (a stable contract: scripts read these keys).
#[derive(Serialize)]
pub struct BenchResult {
    pub model: String,
    pub delegate: String,
    pub threads: usize,
    pub init_ms: f64,
    /// Reading the model file and building its graph.
    pub parse_ms: f64,
    /// Planning: the build less the delegates' compiling.
    pub plan_ms: f64,
    pub compile_ms: f64,
    /// Opening the GPU device, on a second thread while the model is parsed, so `init_ms` is
    /// the longer of the two plus `plan_ms` and `compile_ms` (absent on the CPU).
    pub device_ms: Option<f64>,
    /// Shader modules and pipelines created while compiling, and the persistent pipeline
    /// cache used (GPU only).
    pub pipelines: Option<halfgpu::gpu::PipelineStats>,
    pub first_invoke_ms: f64,
    pub median_ms: f64,
    pub p90_ms: f64,
    pub min_ms: f64,
    pub runs: usize,
    /// CPU time the whole process (including a software GPU's worker threads) spent per timed
    /// invoke; less sensitive than wall time to other load on the machine. Linux only.
    pub process_cpu_ms_per_invoke: Option<f64>,
    pub dispatches_per_invoke: usize,
    /// Queue submissions counted over the timed invokes, per invoke (rounded up).
    pub submits_per_invoke: usize,
    pub cpu_nodes: usize,
    pub delegated_nodes: usize,
    pub boundary_bytes_per_invoke: usize,
    pub peak_activation_bytes: usize,
    pub gpu_weight_bytes: u64,
    pub gpu_activation_bytes: u64,
    pub effective_precision: Option<String>,
    /// What the GPU kernels were chosen for (`--preference`).
    pub preference: Option<String>,
    pub adapter: Option<String>,
}

/// User + system CPU time of this process so far, in milliseconds (Linux: /proc/self/stat).
fn process_cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks; Linux reports them at 100 Hz for this interface.
    Some((utime + stime) * 10.0)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Benchmarks `path`: parse, build (plan + compile), one cold invoke, `warmup` untimed invokes,
/// then `runs` timed ones on seeded inputs.
pub fn bench(
    path: &std::path::Path,
    backend: &BackendArgs,
    runs: usize,
    warmup: usize,
) -> Result<BenchResult, Box<dyn std::error::Error>> {
    use rand::{Rng, SeedableRng};
    let (mut it, gpu, load) = backend.load(path)?;
    let report = it.delegation_report().clone();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    for i in 0..it.input_count() {
        if let Ok(x) = it.input_mut::<f32>(i) {
            x.iter_mut().for_each(|v| *v = rng.random::<f32>());
        }
    }
    let t2 = Instant::now();
    it.invoke()?;
    let first_invoke_ms = t2.elapsed().as_secs_f64() * 1e3;
    for _ in 0..warmup {
        it.invoke()?;
    }
    let mut times = Vec::with_capacity(runs);
    let submissions = || gpu.as_ref().map_or(0, |g| g.context.submissions());
    let submits_before = submissions();
    let cpu_before = process_cpu_ms();
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        it.invoke()?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let submits = submissions().saturating_sub(submits_before);
    let process_cpu_ms_per_invoke = cpu_before
        .zip(process_cpu_ms())
        .map(|(a, b)| (b - a) / runs.max(1) as f64);
    times.sort_by(f64::total_cmp);
    let memory = gpu
        .as_ref()
        .and_then(|g| g.memory.lock().ok().map(|m| m.clone()))
        .unwrap_or_default();
    Ok(BenchResult {
        model: path.display().to_string(),
        delegate: format!("{:?}", backend.delegate).to_lowercase(),
        threads: backend.threads,
        init_ms: load.total_ms,
        parse_ms: load.parse_ms,
        plan_ms: load.build_ms - report.compile_ms,
        compile_ms: report.compile_ms,
        device_ms: gpu.as_ref().map(|g| g.device_ms),
        pipelines: gpu.as_ref().map(|g| g.context.pipeline_stats()),
        first_invoke_ms,
        median_ms: percentile(&times, 0.5),
        p90_ms: percentile(&times, 0.9),
        min_ms: times.first().copied().unwrap_or(0.0),
        runs: times.len(),
        process_cpu_ms_per_invoke,
        dispatches_per_invoke: memory.dispatches_per_invoke,
        submits_per_invoke: (submits as usize).div_ceil(runs.max(1)),
        cpu_nodes: report.cpu_nodes.len(),
        delegated_nodes: report.delegated_nodes(),
        boundary_bytes_per_invoke: report.boundary_bytes_per_invoke,
        peak_activation_bytes: it.memory().arena_bytes,
        gpu_weight_bytes: memory.weight_bytes,
        gpu_activation_bytes: memory.activation_bytes,
        effective_precision: gpu.as_ref().map(|g| g.precision.to_string()),
        preference: gpu.as_ref().map(|g| g.preference.to_string()),
        adapter: gpu.as_ref().map(|g| g.adapter.clone()),
    })
}

impl BenchResult {
    /// The human-readable summary.
    pub fn to_text(&self) -> String {
        let mut s = format!("{} on {}", self.model, self.delegate);
        if let (Some(p), Some(a)) = (&self.effective_precision, &self.adapter) {
            s += &format!(" ({p}, {a})");
        }
        if let Some(p) = &self.preference {
            s += &format!(", kernels for {p}");
        }
        s += &format!(
            "\ninit {:.1} ms (parse {:.1}{}; plan {:.1}, compile {:.1}); first invoke {:.2} ms\n\
             invoke over {} runs: median {:.3} ms, p90 {:.3} ms, min {:.3} ms, process CPU {} ms\n\
             per invoke: {} dispatches, {} submits, {} boundary bytes; {} nodes delegated, {} on the CPU\n\
             memory: host arena {} bytes, GPU weights {} bytes, GPU activations {} bytes\n",
            self.init_ms,
            self.parse_ms,
            self.device_ms
                .map_or(String::new(), |d| format!(" while opening the device {d:.1}")),
            self.plan_ms,
            self.compile_ms,
            self.first_invoke_ms,
            self.runs,
            self.median_ms,
            self.p90_ms,
            self.min_ms,
            self.process_cpu_ms_per_invoke.map_or("n/a".into(), |c| format!("{c:.1}")),
            self.dispatches_per_invoke,
            self.submits_per_invoke,
            self.boundary_bytes_per_invoke,
            self.delegated_nodes,
            self.cpu_nodes,
            self.peak_activation_bytes,
            self.gpu_weight_bytes,
            self.gpu_activation_bytes
        );
        s
    }
}
