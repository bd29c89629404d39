//! The GPU delegate's counters and memory on the builder's MobileNetV2 and a real model
//! (face_detection_short_range): one queue submission per partition per invoke, no more
//! dispatches per invoke than GPU ops, activation memory within 1.1x of the lower bound given by
//! tensor lifetimes, f16 weights half the bytes of f32 weights, and outputs that still agree
//! with the CPU.

mod common;

use halfgpu::gpu::{GpuDelegate, MemoryReport, Precision};
use halfgpu::model::{builder::mobilenet_v2, read_model_file, Model};
use halfgpu::runtime::Interpreter;

/// What one interpreter on the GPU reported and counted.
struct Counted {
    memory: MemoryReport,
    partitions: usize,
    gpu_ops: usize,
    submits_per_invoke: f64,
    outputs: Vec<Vec<f32>>,
}

/// Seeded inputs in [0, 1), the same for every run of a model.
fn fill_inputs(it: &mut Interpreter) {
    let mut state = 0x2545_f491_u32;
    for i in 0..it.input_count() {
        for v in it.input_mut::<f32>(i).unwrap() {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *v = (state >> 8) as f32 / (1u32 << 24) as f32;
        }
    }
}

fn outputs(it: &Interpreter) -> Vec<Vec<f32>> {
    (0..it.output_count())
        .map(|i| it.output::<f32>(i).unwrap().to_vec())
        .collect()
}

/// Builds `model` on `gpu` (everything must be delegated), invokes it `invokes` times and counts.
fn count(model: &Model, gpu: GpuDelegate, invokes: u64) -> Counted {
    let memory = gpu.memory_handle();
    let ctx = gpu.context().clone();
    let mut it = Interpreter::builder(model).delegate(gpu).build().unwrap();
    let report = it.delegation_report().clone();
    assert!(report.cpu_nodes.is_empty(), "{}", report.to_text());
    assert!(report.compile_failures.is_empty(), "{}", report.to_text());
    // GPU ops after fusion: halfgpu lowers every delegated node on its own (activations the
    // file fused into an op stay inside it), so no node is fused into another and each
    // delegated node is one op; RESHAPE-like nodes count although they dispatch nothing.
    let fused_nodes = 0;
    let gpu_ops = report.delegated_nodes() - fused_nodes;
    fill_inputs(&mut it);
    let before = ctx.submissions();
    for _ in 0..invokes {
        it.invoke().unwrap();
    }
    let submits = ctx.submissions() - before;
    let memory = memory.lock().unwrap().clone();
    Counted {
        memory,
        partitions: report.partitions.len(),
        gpu_ops,
        submits_per_invoke: submits as f64 / invokes as f64,
        outputs: outputs(&it),
    }
}

fn cpu_outputs(model: &Model) -> Vec<Vec<f32>> {
    let mut it = Interpreter::builder(model).build().unwrap();
    fill_inputs(&mut it);
    it.invoke().unwrap();
    outputs(&it)
}

/// Checks target 3 (one submit per partition, dispatches <= GPU ops) and target 4 (activation
/// bytes within 1.1x of the lifetime bound; F16 and F32F16 weights 0.50x of F32) on `model`,
/// and that the F32 outputs agree with the CPU's within 1e-4 * max(1, max|cpu|).
fn check(name: &str, model: &Model) {
    let Some(gpu) = common::gpu_delegate(Precision::F32) else {
        return;
    };
    let f32_run = count(model, gpu, 3);
    let m = &f32_run.memory;
    eprintln!(
        "{name} F32: {} partition(s), {} GPU ops, {} dispatches and {} submits per invoke; \
         activations {} bytes, lower bound {} ({:.3}x); weights {} bytes",
        f32_run.partitions,
        f32_run.gpu_ops,
        m.dispatches_per_invoke,
        f32_run.submits_per_invoke,
        m.activation_bytes,
        m.activation_lower_bound_bytes,
        m.activation_bytes as f64 / m.activation_lower_bound_bytes as f64,
        m.weight_bytes
    );
    assert!(f32_run.partitions >= 1);
    assert_eq!(
        f32_run.submits_per_invoke, f32_run.partitions as f64,
        "{name}: submits per invoke"
    );
    assert!(m.dispatches_per_invoke > 0);
    assert!(
        m.dispatches_per_invoke <= f32_run.gpu_ops,
        "{name}: {} dispatches per invoke for {} GPU ops",
        m.dispatches_per_invoke,
        f32_run.gpu_ops
    );
    assert!(m.activation_lower_bound_bytes > 0);
    assert!(m.activation_bytes >= m.activation_lower_bound_bytes);
    assert!(
        m.activation_bytes as f64 <= 1.1 * m.activation_lower_bound_bytes as f64,
        "{name}: activations {} bytes, bound {}",
        m.activation_bytes,
        m.activation_lower_bound_bytes
    );

    let cpu = cpu_outputs(model);
    assert_eq!(cpu.len(), f32_run.outputs.len());
    for (k, (c, g)) in cpu.iter().zip(&f32_run.outputs).enumerate() {
        assert_eq!(c.len(), g.len());
        let scale = c.iter().fold(1f32, |s, x| s.max(x.abs()));
        let worst = c
            .iter()
            .zip(g)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            worst <= 1e-4 * scale,
            "{name} output {k}: GPU differs from CPU by {worst} (scale {scale})"
        );
    }

    for p in [Precision::F16, Precision::F32F16] {
        let Some(gpu) = common::gpu_delegate(p) else {
            return;
        };
        if gpu.effective_precision() != p {
            assert!(!common::under_ci(), "{p} not available under CI");
            eprintln!("skipped {p}: {:?}", gpu.precision_note());
            continue;
        }
        let run = count(model, gpu, 2);
        let h = &run.memory;
        let ratio = h.weight_bytes as f64 / m.weight_bytes as f64;
        eprintln!(
            "{name} {p}: weights {} bytes ({ratio:.4}x F32); activations {} bytes, bound {}",
            h.weight_bytes, h.activation_bytes, h.activation_lower_bound_bytes
        );
        // Each weight buffer is padded to 4 bytes: within 2 bytes per buffer of exactly half.
        let slack = 2 * h.f32_constants_narrowed as u64 + 2 * h.f16_constants_uploaded_raw as u64;
        assert!(
            (2 * h.weight_bytes).abs_diff(m.weight_bytes) <= 2 * slack,
            "{name} {p}: weights {} bytes, F32 {}",
            h.weight_bytes,
            m.weight_bytes
        );
        assert!((0.495..=0.505).contains(&ratio), "{name} {p}: {ratio}");
        assert_eq!(
            run.submits_per_invoke, run.partitions as f64,
            "{name} {p}: submits"
        );
        assert!(h.dispatches_per_invoke <= run.gpu_ops, "{name} {p}");
        assert!(
            h.activation_bytes as f64 <= 1.1 * h.activation_lower_bound_bytes as f64,
            "{name} {p}: activations {} bytes, bound {}",
            h.activation_bytes,
            h.activation_lower_bound_bytes
        );
    }
}

#[test]
fn mobilenet_v2_counters_and_memory() {
    check("mobilenet_v2 (builder)", &mobilenet_v2(7));
}

#[test]
fn face_detection_short_range_counters_and_memory() {
    let Some(assets) = common::assets() else {
        return;
    };
    let path = assets
        .join("models")
        .join("face_detection_short_range.tflite");
    let model = read_model_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    check("face_detection_short_range", &model);
}
