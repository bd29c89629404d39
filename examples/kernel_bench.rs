//! GFLOP/s of single GPU layers at MobileNetV2 shapes (F32), from process CPU time, which on a
//! software GPU counts work rather than waiting. Linux only (reads /proc/self/stat).
//!
//! `cargo run --release --example kernel_bench`

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
fn main() {
    let cases: Vec<(&str, halfgpu::model::Model, f64)> = vec![
        (
            "1x1 56x56 144->24",
            builder::conv2d(
                [1, 56, 56, 144],
                [24, 1, 1, 144],
                Conv2DOptions {
                    padding: Padding::Same,
                    stride_w: 1,
                    stride_h: 1,
                    activation: Activation::None,
                    dilation_w: 1,
                    dilation_h: 1,
                },
                true,
                1,
            )
            .unwrap(),
            2.0 * 56.0 * 56.0 * 144.0 * 24.0,
        ),
        (
            "1x1 14x14 96->576",
            builder::conv2d(
                [1, 14, 14, 96],
                [576, 1, 1, 96],
                Conv2DOptions {
                    padding: Padding::Same,
                    stride_w: 1,
                    stride_h: 1,
                    activation: Activation::Relu6,
                    dilation_w: 1,
                    dilation_h: 1,
                },
                true,
                1,
            )
            .unwrap(),
            2.0 * 196.0 * 96.0 * 576.0,
        ),
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
    let n = 20;
    for (name, m, flops) in cases {
        let gpu =
            GpuDelegate::new(GpuDelegateOptions::default().precision(Precision::F32)).unwrap();
        let mut it = Interpreter::builder(&m).delegate(gpu).build().unwrap();
        it.input_mut::<f32>(0).unwrap().fill(0.3);
        it.invoke().unwrap();
        it.invoke().unwrap();
        let c0 = cpu_ms();
        let t0 = std::time::Instant::now();
        for _ in 0..n {
            it.invoke().unwrap();
        }
        let cpu = (cpu_ms() - c0) / n as f64;
        let wall = t0.elapsed().as_secs_f64() * 1e3 / n as f64;
        println!(
            "{name}: wall {wall:.2} ms, cpu {cpu:.2} ms, {:.2} GFLOP/s per cpu-second",
            flops / (cpu * 1e6)
        );
    }
}
