//! The short form of `scripts/soak.sh`: 2,000 GPU invokes of a small model after a warm-up;
//! resident memory must not grow by 5% or more, and the output must not change.

mod common;

use halfgpu::gpu::Precision;
use halfgpu::model::{builder, Activation, Conv2DOptions, Padding};
use halfgpu::runtime::Interpreter;

/// Resident memory of this process in KiB, from `/proc/self/status` (Linux).
fn vm_rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[test]
fn two_thousand_gpu_invokes_keep_resident_memory_flat() {
    let Some(gpu) = common::gpu_delegate(Precision::F16) else {
        return;
    };
    let opts = Conv2DOptions {
        padding: Padding::Same,
        stride_w: 1,
        stride_h: 1,
        activation: Activation::Relu,
        dilation_w: 1,
        dilation_h: 1,
    };
    let model = builder::conv2d([1, 16, 16, 8], [16, 3, 3, 8], opts, true, 1).unwrap();
    let mut it = Interpreter::builder(&model).delegate(gpu).build().unwrap();
    let x: Vec<f32> = (0..16 * 16 * 8)
        .map(|i| (i % 13) as f32 / 6.0 - 1.0)
        .collect();
    it.set_input(0, &x).unwrap();
    for _ in 0..200 {
        it.invoke().unwrap();
    }
    let first = it.output::<f32>(0).unwrap().to_vec();
    let Some(before) = vm_rss_kib() else {
        eprintln!("skipped: no /proc/self/status");
        return;
    };
    for _ in 0..2_000 {
        it.set_input(0, &x).unwrap();
        it.invoke().unwrap();
    }
    let after = vm_rss_kib().unwrap();
    assert_eq!(it.output::<f32>(0).unwrap(), first.as_slice());
    let growth = (after as f64 - before as f64) / before as f64 * 100.0;
    eprintln!("VmRSS {before} KiB -> {after} KiB ({growth:+.2}%)");
    assert!(growth < 5.0, "resident memory grew {growth:.2}%");
}
