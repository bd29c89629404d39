//! The FP16 overflow guard: a model whose activations exceed 65504 in f16 but not in f32 gives
//! correct outputs in F16 mode with the guard, and infinities without it.

mod common;

use halfgpu::gpu::{GpuDelegate, GpuDelegateOptions, Precision};
use halfgpu::model::schema::builtin;
use halfgpu::model::{Activation, BuiltinOptions, Model, ModelBuilder};
use halfgpu::runtime::Interpreter;

/// y = ((x * 1000) * 1000) * 1e-6: the intermediate reaches 1e6, past f16's 65504, while the
/// output stays near x.
fn overflowing_model() -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input("x", &[1, 8]);
    let big = b.const_f32("thousand", &[1], &[1000.0]).unwrap();
    let small = b.const_f32("micro", &[1], &[1e-6]).unwrap();
    let t1 = b.activation("t1", &[1, 8]);
    let t2 = b.activation("t2", &[1, 8]);
    let y = b.activation("y", &[1, 8]);
    let mul = || BuiltinOptions::Mul {
        activation: Activation::None,
    };
    b.op(builtin::MUL, &[x, big], &[t1], mul()).unwrap();
    b.op(builtin::MUL, &[t1, big], &[t2], mul()).unwrap();
    b.op(builtin::MUL, &[t2, small], &[y], mul()).unwrap();
    b.set_outputs(&[y]).unwrap();
    b.build()
}

fn run(options: GpuDelegateOptions) -> Option<(Vec<f32>, halfgpu::gpu::MemoryReport)> {
    common::gpu_delegate(Precision::F32)?;
    let gpu = GpuDelegate::new(options).ok()?;
    let memory = gpu.memory_handle();
    let mut it = Interpreter::builder(&overflowing_model())
        .delegate(gpu)
        .build()
        .unwrap();
    assert_eq!(it.delegation_report().cpu_nodes.len(), 0);
    let x: Vec<f32> = (1..=8).map(|i| i as f32 * 0.5).collect();
    it.set_input(0, &x).unwrap();
    it.invoke().unwrap();
    // A second invoke runs the partition in the mode the first one settled on.
    it.invoke().unwrap();
    let y = it.output::<f32>(0).unwrap().to_vec();
    let m = memory.lock().unwrap().clone();
    Some((y, m))
}

#[test]
fn f16_overflow_is_caught_and_rerun_in_f32() {
    let base = GpuDelegateOptions::default().precision(Precision::F16);
    let Some((unguarded, _)) = run(base.clone().overflow_guard(false)) else {
        return;
    };
    assert!(
        unguarded.iter().all(|v| v.is_infinite()),
        "without the guard f16 overflows: {unguarded:?}"
    );
    let Some((guarded, memory)) = run(base) else {
        return;
    };
    for (i, v) in guarded.iter().enumerate() {
        let want = (i + 1) as f32 * 0.5;
        assert!((v - want).abs() <= 1e-4 * want, "output {i}: {v} != {want}");
    }
    assert_eq!(memory.overflow_fallbacks, 1, "{memory:?}");
}
