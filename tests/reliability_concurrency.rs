//! Interpreters are `Send`; several interpreters on several threads share one GPU device and
//! give, invoke after invoke, exactly the outputs a single thread gets.

mod common;

use std::sync::Arc;
use std::time::Instant;

use halfgpu::gpu::{GpuContext, GpuDelegate, GpuDelegateOptions, Precision};
use halfgpu::model::{builder, read_model_file, Activation, Conv2DOptions, Model, Padding};
use halfgpu::runtime::Interpreter;

const THREADS: usize = 4;
const INVOKES_PER_THREAD: usize = 500;
/// Distinct inputs per model, cycled through by every thread.
const VARIANTS: usize = 8;

#[test]
fn interpreter_and_its_parts_are_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Interpreter>();
    assert_send::<GpuDelegate>();
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<GpuContext>();
}

fn conv_model() -> Model {
    let opts = Conv2DOptions {
        padding: Padding::Same,
        stride_w: 1,
        stride_h: 1,
        activation: Activation::Relu6,
        dilation_w: 1,
        dilation_h: 1,
    };
    builder::conv2d([1, 12, 12, 4], [8, 3, 3, 4], opts, true, 11).unwrap()
}

fn input(len: usize, variant: usize) -> Vec<f32> {
    (0..len)
        .map(|i| (((i * 31 + variant * 17) % 97) as f32 / 48.0 - 1.0) * (variant + 1) as f32)
        .collect()
}

fn build(model: &Model, ctx: &Arc<GpuContext>, precision: Precision) -> Interpreter {
    let gpu = GpuDelegate::new(
        GpuDelegateOptions::default()
            .precision(precision)
            .context(ctx.clone()),
    )
    .unwrap();
    let it = Interpreter::builder(model).delegate(gpu).build().unwrap();
    assert!(!it.delegation_report().partitions.is_empty());
    it
}

fn run(it: &mut Interpreter, x: &[f32]) -> Vec<u32> {
    it.set_input(0, x).unwrap();
    it.invoke().unwrap();
    it.output::<f32>(0)
        .unwrap()
        .iter()
        .map(|v| v.to_bits())
        .collect()
}

#[test]
fn four_threads_sharing_one_device_match_the_single_threaded_results_bit_for_bit() {
    let Some(assets) = common::assets() else {
        return;
    };
    let Some(first) = common::gpu_delegate(Precision::F32) else {
        return;
    };
    let ctx = first.context().clone();
    let precision = if ctx.has_shader_f16() {
        Precision::F16
    } else {
        Precision::F32
    };
    let models = Arc::new(vec![
        read_model_file(assets.join("models/sine_float.tflite")).unwrap(),
        conv_model(),
    ]);
    // Single-threaded expectations, from interpreters of their own.
    let expected: Vec<Vec<(Vec<f32>, Vec<u32>)>> = models
        .iter()
        .map(|m| {
            let mut it = build(m, &ctx, precision);
            let len = it.input_info(0).unwrap().1.iter().product();
            (0..VARIANTS)
                .map(|v| {
                    let x = input(len, v);
                    let y = run(&mut it, &x);
                    (x, y)
                })
                .collect()
        })
        .collect();
    let expected = Arc::new(expected);
    let start = Instant::now();
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            // Built here, moved into the thread: the interpreters are Send.
            let mut its: Vec<Interpreter> =
                models.iter().map(|m| build(m, &ctx, precision)).collect();
            let expected = expected.clone();
            std::thread::spawn(move || {
                for i in 0..INVOKES_PER_THREAD {
                    let m = (i + t) % its.len();
                    let (x, y) = &expected[m][(i * 3 + t) % VARIANTS];
                    assert_eq!(run(&mut its[m], x), *y, "thread {t}, invoke {i}, model {m}");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    eprintln!(
        "{THREADS} threads x {INVOKES_PER_THREAD} invokes ({precision}) on {}: {:?}",
        ctx.adapter_name(),
        start.elapsed()
    );
}

#[test]
fn cpu_interpreters_on_threads_match_too() {
    let model = conv_model();
    let len = 12 * 12 * 4;
    let mut reference = Interpreter::builder(&model).build().unwrap();
    let expected: Arc<Vec<Vec<u32>>> = Arc::new(
        (0..VARIANTS)
            .map(|v| run(&mut reference, &input(len, v)))
            .collect(),
    );
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let mut it = Interpreter::builder(&model).threads(2).build().unwrap();
            let expected = expected.clone();
            std::thread::spawn(move || {
                for i in 0..INVOKES_PER_THREAD {
                    let v = (i + t) % VARIANTS;
                    assert_eq!(run(&mut it, &input(len, v)), expected[v]);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
}
