//! Criterion benchmarks of the key kernels at MobileNetV2 shapes, on the CPU and on the GPU in
//! F32 and F16 (each invoke includes the upload of the input and the read-back of the output).
//!
//! `cargo bench --bench kernels`; on a software GPU compare ratios, not absolute times.

use criterion::{criterion_group, criterion_main, Criterion};
use halfgpu::gpu::{GpuDelegate, GpuDelegateOptions, Precision};
use halfgpu::model::{
    builder, Activation, Conv2DOptions, DepthwiseConv2DOptions, FullyConnectedOptions, Model,
    Padding,
};
use halfgpu::runtime::Interpreter;

fn cases() -> Vec<(&'static str, Model)> {
    let conv = Conv2DOptions {
        padding: Padding::Same,
        stride_w: 1,
        stride_h: 1,
        activation: Activation::Relu6,
        dilation_w: 1,
        dilation_h: 1,
    };
    let dw = DepthwiseConv2DOptions {
        padding: Padding::Same,
        stride_w: 1,
        stride_h: 1,
        depth_multiplier: 1,
        activation: Activation::Relu6,
        dilation_w: 1,
        dilation_h: 1,
    };
    let fc = FullyConnectedOptions {
        activation: Activation::None,
        weights_format: 0,
        keep_num_dims: false,
        asymmetric_quantize_inputs: false,
    };
    let model = |r: Result<Model, halfgpu::model::ModelError>| r.expect("builder model");
    vec![
        (
            "conv1x1_56x56_24to144",
            model(builder::conv2d(
                [1, 56, 56, 24],
                [144, 1, 1, 24],
                conv,
                true,
                1,
            )),
        ),
        (
            "dw3x3_56x56x144",
            model(builder::depthwise_conv2d(
                [1, 56, 56, 144],
                [3, 3],
                dw,
                true,
                1,
            )),
        ),
        (
            "fc_1280to1000",
            model(builder::fully_connected(&[1, 1280], 1000, fc, true, 1)),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernels");
    group.sample_size(10);
    for (name, model) in cases() {
        let mut backends: Vec<(String, Interpreter)> = vec![(
            "cpu".into(),
            Interpreter::builder(&model)
                .build()
                .expect("cpu interpreter"),
        )];
        for p in [Precision::F32, Precision::F16] {
            match GpuDelegate::new(GpuDelegateOptions::default().precision(p)) {
                Ok(gpu) => backends.push((
                    format!("gpu_{}", p.to_string().to_lowercase()),
                    Interpreter::builder(&model)
                        .delegate(gpu)
                        .build()
                        .expect("gpu interpreter"),
                )),
                Err(e) => eprintln!("{name}: GPU benchmarks skipped: {e}"),
            }
        }
        for (backend, mut it) in backends {
            it.input_mut::<f32>(0).expect("f32 input").fill(0.5);
            group.bench_function(format!("{name}/{backend}"), |b| {
                b.iter(|| it.invoke().expect("invoke"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
