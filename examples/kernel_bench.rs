//! GFLOP/s of single GPU layers at MobileNetV2 shapes (F32), from process CPU time, which on a
//! software GPU counts work rather than waiting. Linux only (reads /proc/self/stat).
//!
//! `cargo run --release --example kernel_bench`
//!
//! Each layer runs on a device of its own, so its first invoke includes the driver's compile
//! of that layer's kernel: with `MESA_SHADER_CACHE_DISABLE=true` on lavapipe, that is the
//! LLVM JIT a cold shader cache pays.

use halfgpu::gpu::{GpuDelegate, GpuDelegateOptions, Precision};
use halfgpu::model::{builder, Activation, Conv2DOptions, DepthwiseConv2DOptions, Padding};
use halfgpu::runtime::Interpreter;
/// User + system CPU time of this process in milliseconds.
fn cpu_ms() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap();
    let r = s.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = r.split_whitespace().collect();
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) * 10.0
}
/// A 1x1 convolution (ReLU6, bias) on an `h` x `h` image and its FLOPs.
fn pointwise(h: i32, ic: i32, oc: i32) -> (halfgpu::model::Model, f64) {
    let opts = Conv2DOptions {
        padding: Padding::Same,
        stride_w: 1,
        stride_h: 1,
        activation: Activation::Relu6,
        dilation_w: 1,
        dilation_h: 1,
    };
    let m = builder::conv2d([1, h, h, ic], [oc, 1, 1, ic], opts, true, 1).unwrap();
    (m, 2.0 * f64::from(h * h * ic * oc))
}

fn main() {
    let mut cases: Vec<(&str, halfgpu::model::Model, f64)> = vec![
        (
            "3x3s2 224 3->32",
            builder::conv2d(
                [1, 224, 224, 3],
                [32, 3, 3, 3],
                Conv2DOptions {
                    padding: Padding::Same,
                    stride_w: 2,
                    stride_h: 2,
                    activation: Activation::Relu6,
                    dilation_w: 1,
                    dilation_h: 1,
                },
                true,
                1,
            )
            .unwrap(),
            2.0 * 112.0 * 112.0 * 27.0 * 32.0,
        ),
        (
            "dw3x3 56x56x144",
            builder::depthwise_conv2d(
                [1, 56, 56, 144],
                [3, 3],
                DepthwiseConv2DOptions {
                    padding: Padding::Same,
                    stride_w: 1,
                    stride_h: 1,
                    depth_multiplier: 1,
                    activation: Activation::Relu6,
                    dilation_w: 1,
                    dilation_h: 1,
                },
                true,
                1,
            )
            .unwrap(),
            2.0 * 56.0 * 56.0 * 144.0 * 9.0,
        ),
    ];
    for (name, h, ic, oc) in [
        ("1x1 56x56 144->24", 56, 144, 24),
        ("1x1 14x14 96->576", 14, 96, 576),
        ("1x1 56x56 24->144", 56, 24, 144),
        ("1x1 28x28 24->144", 28, 24, 144),
        ("1x1 7x7 960->320", 7, 960, 320),
    ] {
        let (m, flops) = pointwise(h, ic, oc);
        cases.push((name, m, flops));
    }
    let n = 20;
    for (name, m, flops) in cases {
        let gpu =
            GpuDelegate::new(GpuDelegateOptions::default().precision(Precision::F32)).unwrap();
        let mut it = Interpreter::builder(&m).delegate(gpu).build().unwrap();
        it.input_mut::<f32>(0).unwrap().fill(0.3);
        let t_first = std::time::Instant::now();
        it.invoke().unwrap();
        let first = t_first.elapsed().as_secs_f64() * 1e3;
        it.invoke().unwrap();
        let c0 = cpu_ms();
        let t0 = std::time::Instant::now();
        for _ in 0..n {
            it.invoke().unwrap();
        }
        let cpu = (cpu_ms() - c0) / n as f64;
        let wall = t0.elapsed().as_secs_f64() * 1e3 / n as f64;
        println!(
            "{name}: wall {wall:.2} ms, cpu {cpu:.2} ms, {:.2} GFLOP/s per cpu-second, \
             first invoke {first:.0} ms",
            flops / (cpu * 1e6)
        );
    }
}
