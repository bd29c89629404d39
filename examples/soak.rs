//! Long-run check: many invokes of a small model on the GPU, watching the process's resident
//! memory (VmRSS). Prints one line per sample and a verdict; exits non-zero when the memory
//! grew more than the allowed share between the end of warm-up and the end of the run.
//!
//! `cargo run --release --example soak -- [--invokes N] [--warmup N] [--max-growth PCT] [MODEL]`
//!
//! Without MODEL a small convolution model built in memory is used. Linux only (reads
//! `/proc/self/status`).

use std::time::Instant;

use halfgpu::gpu::{GpuDelegate, GpuDelegateOptions, Precision};
use halfgpu::model::{builder, Activation, Conv2DOptions, Padding};
use halfgpu::runtime::Interpreter;

/// Resident memory of this process in KiB, from `/proc/self/status`.
fn vm_rss_kib() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS line in /proc/self/status".into())
}

struct Args {
    invokes: usize,
    warmup: usize,
    max_growth_pct: f64,
    model: Option<String>,
    precision: Precision,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        invokes: 20_000,
        warmup: 1_000,
        max_growth_pct: 5.0,
        model: None,
        precision: Precision::F16,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--invokes" => a.invokes = value("--invokes")?.parse().map_err(|e| format!("{e}"))?,
            "--warmup" => a.warmup = value("--warmup")?.parse().map_err(|e| format!("{e}"))?,
            "--max-growth" => {
                a.max_growth_pct = value("--max-growth")?.parse().map_err(|e| format!("{e}"))?
            }
            "--precision" => {
                let p = value("--precision")?;
                a.precision = Precision::parse(&p).ok_or(format!("unknown precision {p}"))?;
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            s => a.model = Some(s.to_string()),
        }
    }
    Ok(a)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let model = match &args.model {
        Some(path) => halfgpu::model::read_model_file(path)?,
        None => {
            let opts = Conv2DOptions {
                padding: Padding::Same,
                stride_w: 1,
                stride_h: 1,
                activation: Activation::Relu,
                dilation_w: 1,
                dilation_h: 1,
            };
            builder::conv2d([1, 16, 16, 8], [16, 3, 3, 8], opts, true, 1)?
        }
    };
    let gpu = GpuDelegate::new(GpuDelegateOptions::default().precision(args.precision))?;
    let summary = gpu.context().summary();
    let precision = gpu.effective_precision();
    let mut it = Interpreter::builder(&model).delegate(gpu).build()?;
    let len: usize = it.input_info(0)?.1.iter().product();
    let x: Vec<f32> = (0..len).map(|i| (i % 13) as f32 / 6.0 - 1.0).collect();
    it.set_input(0, &x)?;
    println!(
        "soak: {summary}, {precision}, {} invokes after {} warm-up",
        args.invokes, args.warmup
    );
    for _ in 0..args.warmup {
        it.invoke()?;
    }
    let first: Vec<f32> = it.output::<f32>(0)?.to_vec();
    let after_warmup = vm_rss_kib()?;
    let start = Instant::now();
    let mut peak = after_warmup;
    let step = (args.invokes / 10).max(1);
    println!("invokes 0: VmRSS {after_warmup} KiB");
    for i in 1..=args.invokes {
        it.set_input(0, &x)?;
        it.invoke()?;
        if i % step == 0 || i == args.invokes {
            let rss = vm_rss_kib()?;
            peak = peak.max(rss);
            println!("invokes {i}: VmRSS {rss} KiB");
        }
    }
    let elapsed = start.elapsed();
    if it.output::<f32>(0)? != first.as_slice() {
        return Err("the output changed during the run".into());
    }
    let end = vm_rss_kib()?;
    let growth = (end as f64 - after_warmup as f64) / after_warmup as f64 * 100.0;
    println!(
        "result: {} invokes in {:.1} s ({:.3} ms each); VmRSS after warm-up {after_warmup} KiB, \
         end {end} KiB, peak {peak} KiB, growth {growth:+.2}% (limit {:.1}%)",
        args.invokes,
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e3 / args.invokes.max(1) as f64,
        args.max_growth_pct
    );
    if growth > args.max_growth_pct {
        return Err(format!("resident memory grew {growth:.2}%").into());
    }
    Ok(())
}
