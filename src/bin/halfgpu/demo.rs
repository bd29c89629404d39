//! `halfgpu demo`, the main job (`cargo run --release`): MobileNetV2 built in memory, converted
//! to fp16, run on the CPU and on the GPU in F32 and F16; one table compares them.

use std::time::Instant;

use halfgpu::gpu::{GpuDelegate, GpuDelegateOptions, Precision};
use halfgpu::model::Model;
use halfgpu::runtime::Interpreter;
use serde::Serialize;

/// One configuration's measurements.
#[derive(Serialize, Clone)]
pub struct DemoRow {
    pub name: String,
    pub model: String,
    pub model_bytes: usize,
    pub gpu_weight_bytes: Option<u64>,
    pub init_ms: f64,
    pub median_ms: f64,
    /// Largest |difference| from the CPU f32 outputs over all inputs.
    pub max_abs_error: f32,
    /// Inputs whose top-1 class equals the CPU f32 top-1.
    pub argmax_agreement: f64,
}

/// The demo's result (`--json`).
#[derive(Serialize)]
pub struct DemoResult {
    pub fp32_bytes: usize,
    pub fp16_bytes: usize,
    pub fp16_ratio: f64,
    pub inputs: usize,
    pub adapter: Option<String>,
    pub no_gpu_reason: Option<String>,
    pub rows: Vec<DemoRow>,
}

fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &x)| {
            if x > bv {
                (i, x)
            } else {
                (bi, bv)
            }
        })
        .0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// One configuration to measure.
struct Config<'a> {
    name: &'a str,
    model_name: &'a str,
    model: &'a Model,
    model_bytes: usize,
    gpu: Option<GpuDelegate>,
}

/// Outputs for each input.
type Outputs = Vec<Vec<f32>>;

/// Builds, runs every input once for the outputs, then times `runs` more invokes.
fn measure(
    config: Config<'_>,
    inputs: &[Vec<f32>],
    runs: usize,
    reference: Option<&[Vec<f32>]>,
) -> Result<(DemoRow, Outputs), Box<dyn std::error::Error>> {
    let Config {
        name,
        model_name,
        model,
        model_bytes,
        gpu,
    } = config;
    let start = Instant::now();
    let memory = gpu.as_ref().map(|g| g.memory_handle());
    let mut builder = Interpreter::builder(model);
    if let Some(g) = gpu {
        builder = builder.delegate(g);
    }
    let mut it = builder.build()?;
    it.set_input(0, &inputs[0])?;
    it.invoke()?;
    let init_ms = start.elapsed().as_secs_f64() * 1e3;
    let mut outputs = Vec::with_capacity(inputs.len());
    for x in inputs {
        it.set_input(0, x)?;
        it.invoke()?;
        outputs.push(it.output::<f32>(0)?.to_vec());
    }
    let mut times = Vec::with_capacity(runs);
    for k in 0..runs {
        it.set_input(0, &inputs[k % inputs.len()])?;
        let t = Instant::now();
        it.invoke()?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (max_abs_error, agree) = match reference {
        None => (0.0, inputs.len()),
        Some(r) => {
            let err = outputs
                .iter()
                .zip(r)
                .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
                .fold(
                    0f32,
                    |m, d| if d.is_nan() { f32::INFINITY } else { m.max(d) },
                );
            let agree = outputs
                .iter()
                .zip(r)
                .filter(|(a, b)| argmax(a) == argmax(b))
                .count();
            (err, agree)
        }
    };
    let gpu_weight_bytes = memory.and_then(|m| m.lock().ok().map(|m| m.weight_bytes));
    Ok((
        DemoRow {
            name: name.into(),
            model: model_name.into(),
            model_bytes,
            gpu_weight_bytes,
            init_ms,
            median_ms: median(times),
            max_abs_error,
            argmax_agreement: agree as f64 / inputs.len() as f64,
        },
        outputs,
    ))
}

/// Runs the demo; `progress` shows what it is doing.
pub fn demo(
    inputs_n: usize,
    runs: usize,
    quiet: bool,
) -> Result<DemoResult, Box<dyn std::error::Error>> {
    use rand::{Rng, SeedableRng};
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(5)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message("building MobileNetV2 (224x224x3 -> 1000) in memory");
    let fp32 = halfgpu::model::builder::mobilenet_v2(7);
    let fp32_bytes = halfgpu::model::write_model(&fp32)?.len();
    bar.inc(1);
    bar.set_message("converting to fp16 (FLOAT16 weights + DEQUANTIZE)");
    let (fp16, report) = halfgpu::convert::convert_fp16(&fp32, &Default::default())?;
    let fp16_bytes = report.size_after;
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let inputs: Vec<Vec<f32>> = (0..inputs_n.max(1))
        .map(|_| {
            (0..224 * 224 * 3)
                .map(|_| rng.random::<f32>() * 2.0 - 1.0)
                .collect()
        })
        .collect();
    bar.inc(1);
    bar.set_message("CPU f32");
    let cpu_config = Config {
        name: "CPU f32",
        model_name: "fp32",
        model: &fp32,
        model_bytes: fp32_bytes,
        gpu: None,
    };
    let (cpu, reference) = measure(cpu_config, &inputs, runs, None)?;
    let mut rows = vec![cpu];
    bar.inc(1);
    let mut adapter = None;
    let mut no_gpu_reason = None;
    let configs = [
        ("GPU F32", "fp32", Precision::F32),
        ("GPU F32F16", "fp16", Precision::F32F16),
        ("GPU F16", "fp16", Precision::F16),
    ];
    for (name, which, precision) in configs {
        bar.set_message(name);
        let gpu = match GpuDelegate::new(GpuDelegateOptions::default().precision(precision)) {
            Ok(g) => g,
            Err(e) => {
                no_gpu_reason = Some(e.to_string());
                break;
            }
        };
        adapter.get_or_insert_with(|| gpu.context().summary());
        let (model, bytes) = if which == "fp32" {
            (&fp32, fp32_bytes)
        } else {
            (&fp16, fp16_bytes)
        };
        let config = Config {
            name,
            model_name: which,
            model,
            model_bytes: bytes,
            gpu: Some(gpu),
        };
        let mut row = measure(config, &inputs, runs, Some(&reference))?.0;
        row.name = format!(
            "{name}{}",
            if which == "fp16" { " (fp16 file)" } else { "" }
        );
        rows.push(row);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(DemoResult {
        fp32_bytes,
        fp16_bytes,
        fp16_ratio: fp16_bytes as f64 / fp32_bytes as f64,
        inputs: inputs.len(),
        adapter,
        no_gpu_reason,
        rows,
    })
}

impl DemoResult {
    /// The table.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "MobileNetV2 (built in memory, deterministic weights), {} seeded inputs",
            self.inputs
        );
        let _ = writeln!(
            s,
            "model size: fp32 {} bytes, fp16 {} bytes (ratio {:.3})",
            self.fp32_bytes, self.fp16_bytes, self.fp16_ratio
        );
        match (&self.adapter, &self.no_gpu_reason) {
            (Some(a), _) => {
                let _ = writeln!(s, "GPU: {a}");
            }
            (None, Some(why)) => {
                let _ = writeln!(s, "no GPU: {why}");
            }
            _ => {}
        }
        let _ = writeln!(
            s,
            "\n{:<24} {:>12} {:>14} {:>10} {:>11} {:>13} {:>8}",
            "", "file bytes", "GPU weights", "init ms", "median ms", "max |err|", "argmax"
        );
        for r in &self.rows {
            let _ = writeln!(
                s,
                "{:<24} {:>12} {:>14} {:>10.1} {:>11.2} {:>13.3e} {:>7.0}%",
                r.name,
                r.model_bytes,
                r.gpu_weight_bytes.map_or("-".into(), |b| b.to_string()),
                r.init_ms,
                r.median_ms,
                r.max_abs_error,
                100.0 * r.argmax_agreement
            );
        }
        let _ = writeln!(s, "\nerrors and argmax agreement are against the CPU f32 row; init = build + first invoke");
        s
    }
}
