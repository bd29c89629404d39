//! Steady-state invokes on the CPU do not touch the heap: every real model, the builder's
//! MobileNetV2 and single-op models of the kernels the real models do not reach, with one and
//! with two threads. Counted with a global allocator that counts while a flag is set; the file
//! holds one test so that no other test allocates while it counts.
//!
//! With two threads an invoke enters the interpreter's rayon pool once; rayon's job injector
//! allocates a new block every 63 entries (about 1 allocation per 63 invokes, measured: 4 in
//! 300). A fresh pool starts with an empty block, so the 22 invokes counted here see none.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use halfgpu::model::schema::builtin;
use halfgpu::model::{builder, read_model_file, Activation, Model};
use halfgpu::runtime::Interpreter;

mod common;

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap allocations (and reallocations) made by `invokes` invokes after two warm-up invokes.
fn allocations_per_invoke(model: &Model, threads: usize, invokes: usize) -> usize {
    let mut it = Interpreter::builder(model)
        .threads(threads)
        .build()
        .expect("builds");
    for i in 0..it.input_count() {
        if let Ok(x) = it.input_mut::<f32>(i) {
            for (j, v) in x.iter_mut().enumerate() {
                *v = ((j * 7919 + i * 104_729) % 1000) as f32 / 1000.0;
            }
        }
    }
    it.invoke().expect("invokes");
    it.invoke().expect("invokes");
    // The worker threads of an interpreter dropped just before may still be exiting (which
    // frees and allocates thread-local state): let them finish before counting.
    std::thread::sleep(std::time::Duration::from_millis(20));
    ALLOCATIONS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    for _ in 0..invokes {
        it.invoke().expect("invokes");
    }
    COUNTING.store(false, Ordering::SeqCst);
    ALLOCATIONS.load(Ordering::SeqCst).div_ceil(invokes)
}

/// Single-op models for kernels the real models may not exercise, with the parameters that
/// take the kernels' less common paths (broadcasting, padding, batches, transposed weights).
fn single_op_models() -> Vec<(String, Model)> {
    use halfgpu::model::{
        Conv2DOptions, DepthwiseConv2DOptions, FullyConnectedOptions, Padding, ResizeOptions,
        TransposeConvOptions,
    };
    let conv = |stride, dilation, padding| Conv2DOptions {
        padding,
        stride_w: stride,
        stride_h: stride,
        activation: Activation::Relu6,
        dilation_w: dilation,
        dilation_h: dilation,
    };
    let dw = |stride, multiplier, padding| DepthwiseConv2DOptions {
        padding,
        stride_w: stride,
        stride_h: stride,
        depth_multiplier: multiplier,
        activation: Activation::Relu,
        dilation_w: 1,
        dilation_h: 1,
    };
    let fc = FullyConnectedOptions {
        activation: Activation::Relu,
        weights_format: 0,
        keep_num_dims: false,
        asymmetric_quantize_inputs: false,
    };
    let tconv = TransposeConvOptions {
        padding: Padding::Same,
        stride_w: 2,
        stride_h: 2,
        activation: Activation::None,
    };
    let resize = ResizeOptions {
        align_corners: false,
        half_pixel_centers: true,
    };
    let cases: Vec<(&str, Result<Model, halfgpu::model::ModelError>)> = vec![
        (
            "conv 1x1",
            builder::conv2d(
                [1, 17, 19, 24],
                [37, 1, 1, 24],
                conv(1, 1, Padding::Same),
                true,
                1,
            ),
        ),
        (
            "conv 3x3 s2",
            builder::conv2d(
                [1, 33, 31, 5],
                [19, 3, 3, 5],
                conv(2, 1, Padding::Same),
                true,
                2,
            ),
        ),
        (
            "conv 3x3 d2 valid",
            builder::conv2d(
                [2, 20, 20, 7],
                [9, 3, 3, 7],
                conv(1, 2, Padding::Valid),
                true,
                3,
            ),
        ),
        (
            "depthwise 3x3",
            builder::depthwise_conv2d([1, 20, 21, 13], [3, 3], dw(1, 1, Padding::Same), true, 4),
        ),
        (
            "depthwise 5x5 s2 x2",
            builder::depthwise_conv2d([1, 21, 20, 6], [5, 5], dw(2, 2, Padding::Same), true, 5),
        ),
        (
            "fully connected batch 1",
            builder::fully_connected(&[1, 300], 77, fc, true, 6),
        ),
        (
            "fully connected batch 9",
            builder::fully_connected(&[9, 300], 77, fc, true, 7),
        ),
        (
            "transpose conv",
            builder::transpose_conv([1, 9, 11, 6], [5, 3, 3, 6], tconv, true, 8),
        ),
        ("add rank-1 to rank-4", builder::add(&[2, 5, 6, 7], &[7])),
        ("mul broadcast", builder::mul(&[1, 5, 1, 7], &[3, 1, 6, 1])),
        (
            "pad",
            builder::pad(&[1, 5, 6, 7], &[[0, 0], [1, 2], [2, 1], [0, 3]]),
        ),
        ("mean", builder::mean(&[1, 6, 7, 9], &[1, 2], true)),
        (
            "concat",
            builder::concat(&[vec![1, 4, 5, 3], vec![1, 4, 5, 6]], 3),
        ),
        (
            "resize bilinear",
            builder::resize_bilinear([1, 5, 7, 3], [11, 13], resize),
        ),
        (
            "transpose",
            builder::transpose(&[2, 3, 4, 5], &[0, 3, 1, 2]),
        ),
        ("softmax", builder::softmax(&[3, 50], 1.0)),
        ("tanh", builder::unary(builtin::TANH, &[1, 4, 4, 9])),
    ];
    cases
        .into_iter()
        .map(|(name, m)| (name.to_string(), m.expect("builds")))
        .collect()
}

#[test]
fn steady_state_invokes_do_not_allocate() {
    let mut cases = single_op_models();
    cases.push(("mobilenet_v2 (builder)".into(), builder::mobilenet_v2(1)));
    if let Some(assets) = common::assets() {
        for name in common::model_names(&assets) {
            let path = assets.join("models").join(format!("{name}.tflite"));
            cases.push((name, read_model_file(path).expect("reads")));
        }
    }
    let mut failures = Vec::new();
    for threads in [1, 2] {
        for (name, model) in &cases {
            let n = allocations_per_invoke(model, threads, 20);
            println!("{name} ({threads} thread(s)): {n} allocation(s) per invoke");
            if n != 0 {
                failures.push(format!("{name} with {threads} thread(s): {n}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "steady-state invokes allocated: {failures:?}"
    );
}
