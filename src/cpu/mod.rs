//! CPU kernels in f32: the fallback for every node a delegate does not take.
//!
//! Each op family lives in its own module; this module holds the interface the runtime calls:
//! [`check_supported`] at plan time, [`infer_shapes`] to size outputs, [`execute`] to run a node,
//! and [`densify`] to expand sparse constants.
//!
//! Notes for the runtime:
//! - [`infer_shapes`] fails with a message containing "needs the value of" when an input whose
//!   value decides the output shape is not known yet; [`check_supported`] still accepts such a
//!   node. A RESHAPE without a shape input (its new shape only in the options, which the IR does
//!   not carry) keeps its bytes: take the output shape from the file, [`execute`] copies.
//! - [`execute`] re-derives the output shapes from the inputs and requires every output buffer to
//!   hold exactly that many elements of its dtype.
//! - DENSIFY is not executed: expand its constant input with [`densify`] at plan time. A
//!   DEQUANTIZE of a constant is best folded at plan time too (it converts f16 to f32 each run).

mod activation;
mod conv;
mod elementwise;
mod gemm;
mod misc;
mod movement;
mod pool;
mod reduce;
mod resize;
mod slice;
mod util;

use std::sync::Mutex;

use crate::graph::Op;
use crate::model::{Activation, TensorType};
use util::{check_activation, invalid, Dims, Res, NEEDS_VALUE};

pub use misc::densify;

/// A read-only tensor handed to a kernel. `bytes` is 16-byte aligned and holds
/// `shape.iter().product()` elements of `dtype`, little-endian.
#[derive(Clone, Copy, Debug)]
pub struct TensorIn<'a> {
    /// Shape.
    pub shape: &'a [usize],
    /// The dtype.
    pub dtype: TensorType,
    /// Element bytes, little-endian.
    pub bytes: &'a [u8],
}

/// A tensor a kernel writes; its shape was fixed at plan time by [`infer_shapes`] (or the file).
#[derive(Debug)]
pub struct TensorOut<'a> {
    /// Shape.
    pub shape: &'a [usize],
    /// The dtype.
    pub dtype: TensorType,
    /// Element bytes, little-endian.
    pub bytes: &'a mut [u8],
}

/// What shape inference knows of an input: shape, dtype, and the values when they are known
/// at plan time (constants, folded results).
#[derive(Clone, Copy, Debug)]
pub struct ShapeIn<'a> {
    /// Shape.
    pub shape: &'a [usize],
    /// The dtype.
    pub dtype: TensorType,
    /// The bytes when the value is known at plan time (constants).
    pub values: Option<&'a [u8]>,
}

/// A kernel that cannot run on the inputs it was given.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum KernelError {
    /// The inputs do not fit the operator.
    #[error("{op}: {msg}")]
    Invalid {
        /// Operator name.
        op: String,
        /// What went wrong.
        msg: String,
    },
    /// The CPU has no kernel for this case.
    #[error("{op} is not supported on the CPU: {msg}")]
    Unsupported {
        /// Operator name.
        op: String,
        /// What went wrong.
        msg: String,
    },
}

/// Per-interpreter CPU state: the thread pool of the heavy kernels and reusable scratch memory.
pub struct CpuContext {
    threads: usize,
    pool: Option<std::sync::Arc<rayon::ThreadPool>>,
    /// im2col / column buffers of the convolutions, reused between calls.
    scratch: Mutex<Vec<f32>>,
    /// The f64 accumulators of the sum reductions, reused between calls.
    scratch_f64: Mutex<Vec<f64>>,
    /// Whether a kernel split its work over the pool since [`Self::enter_pool`] last asked.
    parallel_used: std::sync::atomic::AtomicBool,
}

impl CpuContext {
    /// A context whose kernels use up to `threads` threads (at least 1). The threads belong to
    /// this context alone; with 1 thread everything runs on the calling thread.
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        // An invoke runs inside the pool (see `pool`), the calling thread waiting, so the pool
        // holds all the threads.
        let pool = if threads > 1 {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("halfgpu-cpu-{i}"))
                .build()
                .ok()
                .map(std::sync::Arc::new)
        } else {
            None
        };
        CpuContext {
            threads: if pool.is_some() { threads } else { 1 },
            pool,
            scratch: Mutex::new(Vec::new()),
            scratch_f64: Mutex::new(Vec::new()),
            parallel_used: std::sync::atomic::AtomicBool::new(true),
        }
    }

    /// The number of threads the kernels use.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The thread pool to run the next invoke in, or `None` to run it on the calling thread.
    /// Running a whole invoke inside the pool (`pool.install`) lets every
    /// [`Self::parallel_for`] split its work with rayon's stack-allocated jobs instead of
    /// injecting heap-allocated ones from outside the pool; models whose kernels never split
    /// their work (the previous invoke did not) skip the hop to a pool thread.
    pub(crate) fn enter_pool(&self) -> Option<std::sync::Arc<rayon::ThreadPool>> {
        use std::sync::atomic::Ordering;
        if self.parallel_used.swap(false, Ordering::Relaxed) {
            self.pool.clone()
        } else {
            None
        }
    }

    /// Runs `f(task)` for every `task` in `0..tasks`, spread over the context's threads.
    pub(crate) fn parallel_for(&self, tasks: usize, f: impl Fn(usize) + Sync + Send) {
        use rayon::iter::{IntoParallelIterator, ParallelIterator};
        match &self.pool {
            Some(pool) if tasks > 1 => {
                self.parallel_used
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                let run = || (0..tasks).into_par_iter().for_each(&f);
                if pool.current_thread_index().is_some() {
                    run()
                } else {
                    pool.install(run)
                }
            }
            _ => (0..tasks).for_each(f),
        }
    }

    /// Runs `f` with a scratch buffer of at least `len` floats (contents unspecified).
    pub(crate) fn with_scratch<R>(&self, len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
        with_buffer(&self.scratch, len, f)
    }

    /// Runs `f` with an f64 scratch buffer of at least `len` values (contents unspecified).
    pub(crate) fn with_scratch_f64<R>(&self, len: usize, f: impl FnOnce(&mut [f64]) -> R) -> R {
        with_buffer(&self.scratch_f64, len, f)
    }
}

/// Runs `f` on the first `len` values of the reusable `buffer`, grown when too short; a fresh
/// buffer when it is busy (a nested call) or poisoned.
fn with_buffer<T: Copy + Default, R>(
    buffer: &Mutex<Vec<T>>,
    len: usize,
    f: impl FnOnce(&mut [T]) -> R,
) -> R {
    let mut guard = match buffer.try_lock() {
        Ok(g) => g,
        // Poisoned or busy (another call on this context): use a fresh buffer.
        Err(_) => {
            let mut v = vec![T::default(); len];
            return f(&mut v);
        }
    };
    if guard.len() < len {
        guard.resize(len, T::default());
    }
    f(&mut guard[..len])
}

impl Default for CpuContext {
    fn default() -> Self {
        CpuContext::new(1)
    }
}

/// Whether `op` is a float-math op (as opposed to data movement that works on any dtype).
fn is_float_math(op: &Op) -> bool {
    use Op::*;
    matches!(
        op,
        Conv2D(_)
            | DepthwiseConv2D(_)
            | FullyConnected(_)
            | TransposeConv(_)
            | Conv2DTransposeBias { .. }
            | Div(_)
            | SquaredDifference
            | Relu
            | Relu6
            | ReluN1To1
            | LeakyRelu { .. }
            | Prelu
            | Logistic
            | Tanh
            | HardSwish
            | Exp
            | Rsqrt
            | Sqrt
            | Softmax { .. }
            | MaxPool2D(_)
            | AveragePool2D(_)
            | Mean { .. }
            | Sum { .. }
            | ReduceMax { .. }
            | ResizeBilinear(_)
            | ResizeNearestNeighbor(_)
    )
}

/// Whether the CPU can run `op` on inputs like these; `Err` holds a human-readable reason.
pub fn check_supported(op: &Op, inputs: &[Option<ShapeIn<'_>>]) -> Result<(), String> {
    let name = op.name();
    match op {
        Op::Unsupported { .. } => {
            return Err(format!("{name}: operator has no CPU kernel"));
        }
        Op::Densify => return Ok(()),
        Op::ResizeBilinear(o) | Op::ResizeNearestNeighbor(o)
            if o.align_corners && o.half_pixel_centers =>
        {
            return Err(format!(
                "{name}: align_corners and half_pixel_centers cannot both be set"
            ));
        }
        Op::FullyConnected(o) if o.weights_format != 0 => {
            return Err(format!(
                "{name}: weights format {} (shuffled int8) is not supported",
                o.weights_format
            ));
        }
        _ => {}
    }
    if let Some(act) = op.fused_activation() {
        check_activation(name, act)?;
    }
    if let Op::Concatenation { activation, .. } = op {
        if *activation != Activation::None {
            for a in inputs.iter().flatten() {
                if a.dtype != TensorType::Float32 {
                    return Err(format!(
                        "{name}: fused activation on {} tensors is not supported",
                        a.dtype.name()
                    ));
                }
            }
        }
    }
    let float_inputs: &[usize] = match op {
        Op::TransposeConv(_) => &[1, 2, 3],
        Op::Mean { .. } | Op::Sum { .. } | Op::ReduceMax { .. } => &[0],
        Op::ResizeBilinear(_) | Op::ResizeNearestNeighbor(_) => &[0],
        _ if is_float_math(op) => &[0, 1, 2],
        _ => &[],
    };
    for &i in float_inputs {
        if let Some(a) = inputs.get(i).copied().flatten() {
            match a.dtype {
                TensorType::Float32 => {}
                TensorType::Int8 | TensorType::UInt8 | TensorType::Int16 => {
                    return Err(format!(
                        "{name}: {}-quantized tensors are not supported",
                        a.dtype.name()
                    ))
                }
                t => {
                    return Err(format!(
                        "{name}: input {i} is {}, only float32 is supported",
                        t.name()
                    ))
                }
            }
        }
    }
    match op {
        Op::Add(_) | Op::Sub(_) | Op::Mul(_) | Op::Maximum | Op::Minimum | Op::Abs => {
            for a in inputs.iter().flatten() {
                match a.dtype {
                    TensorType::Float32 | TensorType::Int32 => {}
                    TensorType::Int8 | TensorType::UInt8 | TensorType::Int16 => {
                        return Err(format!(
                            "{name}: {}-quantized tensors are not supported",
                            a.dtype.name()
                        ))
                    }
                    t => {
                        return Err(format!(
                            "{name}: {} operands are not supported (float32, int32 are)",
                            t.name()
                        ))
                    }
                }
            }
        }
        Op::Dequantize => {
            if let Some(a) = inputs.first().copied().flatten() {
                if !matches!(a.dtype, TensorType::Float16 | TensorType::Float32) {
                    return Err(format!(
                        "{name}: dequantizing {} (quantized) tensors is not supported",
                        a.dtype.name()
                    ));
                }
            }
        }
        Op::Cast => {
            if let Some(a) = inputs.first().copied().flatten() {
                if !misc::cast_type_supported(a.dtype) {
                    return Err(format!(
                        "{name}: casting from {} is not supported",
                        a.dtype.name()
                    ));
                }
            }
        }
        _ => {
            for a in inputs.iter().flatten() {
                if a.dtype.size_bytes().is_none() {
                    return Err(format!(
                        "{name}: {} tensors are not supported",
                        a.dtype.name()
                    ));
                }
            }
        }
    }
    match infer_shapes(op, inputs) {
        Ok(_) => Ok(()),
        Err(KernelError::Invalid { msg, .. }) if msg.contains(NEEDS_VALUE) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// Output shapes of `op` for these inputs.
pub fn infer_shapes(
    op: &Op,
    inputs: &[Option<ShapeIn<'_>>],
) -> Result<Vec<Vec<usize>>, KernelError> {
    let name = op.name();
    let one = |s: Res<Dims>| s.map(|s| vec![s.into_vec()]);
    match op {
        Op::Conv2D(o) => one(conv::conv2d_shape(name, o, inputs)),
        Op::DepthwiseConv2D(o) => one(conv::depthwise_shape(name, o, inputs)),
        Op::FullyConnected(o) => one(conv::fc_shape(name, o, inputs)),
        Op::TransposeConv(_) | Op::Conv2DTransposeBias { .. } => {
            one(conv::transpose_conv_shape(name, op, inputs)
                .map(|g| Dims::from_slice(&g.out_shape())))
        }
        Op::Add(_)
        | Op::Sub(_)
        | Op::Mul(_)
        | Op::Div(_)
        | Op::Maximum
        | Op::Minimum
        | Op::SquaredDifference => one(elementwise::binary_shape(name, inputs)),
        Op::Prelu => one(elementwise::prelu_shape(name, inputs)),
        Op::Relu
        | Op::Relu6
        | Op::ReluN1To1
        | Op::LeakyRelu { .. }
        | Op::Logistic
        | Op::Tanh
        | Op::HardSwish
        | Op::Exp
        | Op::Rsqrt
        | Op::Sqrt
        | Op::Abs
        | Op::Softmax { .. }
        | Op::Dequantize
        | Op::Cast => one(util::arg(name, inputs, 0).map(|a| Dims::from_slice(a.shape))),
        Op::MaxPool2D(o) | Op::AveragePool2D(o) => one(pool::pool_shape(name, o, inputs)),
        Op::Mean { keep_dims } | Op::Sum { keep_dims } | Op::ReduceMax { keep_dims } => {
            one(reduce::reduce_plan(name, *keep_dims, inputs).map(|p| p.out_shape))
        }
        Op::Pad | Op::PadV2 => one(movement::pad_plan(name, inputs).map(|p| p.0)),
        Op::MirrorPad(_) => one(movement::pad_plan(name, inputs).map(|p| p.0)),
        Op::Concatenation { axis, .. } => one(movement::concat_shape(name, *axis, inputs)),
        Op::Reshape => one(movement::reshape_shape(name, inputs)),
        Op::Squeeze { dims } => one(movement::squeeze_shape(name, dims, inputs)),
        Op::Transpose => one(movement::transpose_plan(name, inputs).map(|p| p.1)),
        Op::StridedSlice(o) => one(slice::strided_slice_plan(name, o, inputs).map(|p| p.out_shape)),
        Op::Slice => one(slice::slice_plan(name, inputs).map(|p| p.out_shape)),
        Op::Split { num_splits } => {
            movement::split_plan(name, *num_splits, None, inputs).map(|p| p.out_shapes())
        }
        Op::SplitV { num_splits } => {
            movement::split_plan(name, *num_splits, Some(()), inputs).map(|p| p.out_shapes())
        }
        Op::Pack { axis, values_count } => {
            one(movement::pack_shape(name, *axis, *values_count, inputs))
        }
        Op::Unpack { axis, num } => movement::unpack_shapes(name, *axis, *num, inputs),
        Op::Gather { axis, batch_dims } => {
            one(movement::gather_plan(name, *axis, *batch_dims, inputs).map(|p| p.out_shape))
        }
        Op::ResizeBilinear(_) | Op::ResizeNearestNeighbor(_) => {
            one(resize::resize_shape(name, inputs))
        }
        Op::DepthToSpace { block_size } => {
            one(movement::depth_to_space_shape(name, *block_size, inputs))
        }
        Op::SpaceToDepth { block_size } => {
            one(movement::space_to_depth_shape(name, *block_size, inputs))
        }
        Op::Shape => one(util::arg(name, inputs, 0).map(|a| smallvec::smallvec![a.shape.len()])),
        Op::Densify => one(util::arg(name, inputs, 0).map(|a| Dims::from_slice(a.shape))),
        Op::Unsupported { .. } => Err(util::unsupported(name, "operator has no CPU kernel")),
    }
}

/// Runs `op` on tensors whose shapes the runtime's planner already checked (it ran
/// [`infer_shapes`] at build time and sized every output from it): the per-invoke path, which
/// skips shape inference and allocates nothing itself.
pub(crate) fn execute_planned(
    ctx: &CpuContext,
    op: &Op,
    inputs: &[Option<TensorIn<'_>>],
    outputs: &mut [TensorOut<'_>],
    prepared: Option<&[f32]>,
) -> Result<(), KernelError> {
    let name = op.name();
    if matches!(op, Op::Densify | Op::Unsupported { .. }) || outputs.is_empty() {
        return execute(ctx, op, inputs, outputs);
    }
    let ins: smallvec::SmallVec<[Option<ShapeIn<'_>>; 8]> = inputs
        .iter()
        .map(|t| {
            t.map(|t| ShapeIn {
                shape: t.shape,
                dtype: t.dtype,
                values: Some(t.bytes),
            })
        })
        .collect();
    let out_shape: &[usize] = outputs[0].shape;
    for o in outputs.iter() {
        let size = util::elem_size(name, o.dtype)?;
        if util::numel(name, o.shape)?.checked_mul(size) != Some(o.bytes.len()) {
            return Err(invalid(name, "output buffer does not match its shape"));
        }
    }
    run_kernel(ctx, op, name, &ins, out_shape, outputs, prepared)
}

/// Weights of `op` repacked at build time for its kernel (the matrix-product layout of
/// convolutions and fully-connected layers), from `inputs` whose constant values are known;
/// `None` when the op has no such form or its weights are not constant.
pub(crate) fn prepack(op: &Op, inputs: &[Option<ShapeIn<'_>>]) -> Option<Vec<f32>> {
    match op {
        Op::Conv2D(_) => conv::conv2d_prepack(inputs),
        Op::FullyConnected(o) if o.weights_format == 0 => conv::fc_prepack(inputs),
        Op::TransposeConv(_) | Op::Conv2DTransposeBias { .. } => {
            conv::transpose_conv_prepack(op, inputs)
        }
        _ => None,
    }
}

/// Runs `op`, reading `inputs` and writing every tensor of `outputs`.
pub fn execute(
    ctx: &CpuContext,
    op: &Op,
    inputs: &[Option<TensorIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Result<(), KernelError> {
    let name = op.name();
    let mut ins = Vec::with_capacity(inputs.len());
    for (i, t) in inputs.iter().enumerate() {
        ins.push(match t {
            Some(t) => {
                if let Some(size) = t.dtype.size_bytes() {
                    let n = util::numel(name, t.shape)?;
                    if n.checked_mul(size) != Some(t.bytes.len()) {
                        return Err(invalid(
                            name,
                            format!(
                                "input {i} has {} bytes, shape {:?} of {} needs {}",
                                t.bytes.len(),
                                t.shape,
                                t.dtype.name(),
                                n * size
                            ),
                        ));
                    }
                }
                Some(ShapeIn {
                    shape: t.shape,
                    dtype: t.dtype,
                    values: Some(t.bytes),
                })
            }
            None => None,
        });
    }
    if let Op::Densify = op {
        return Err(util::unsupported(
            name,
            "DENSIFY is folded at plan time (see cpu::densify), not executed",
        ));
    }
    if let Op::Unsupported { .. } = op {
        return Err(util::unsupported(name, "operator has no CPU kernel"));
    }
    if let Some(act) = op.fused_activation() {
        check_activation(name, act).map_err(|m| util::unsupported(name, m))?;
    }
    let shapes = match infer_shapes(op, &ins) {
        // A RESHAPE without a shape input keeps its bytes; the output's size is checked there.
        Err(KernelError::Invalid { msg, .. })
            if matches!(op, Op::Reshape) && msg.contains(NEEDS_VALUE) =>
        {
            return movement::copy_bytes(name, &ins, outputs);
        }
        r => r?,
    };
    if outputs.len() != shapes.len() {
        return Err(invalid(
            name,
            format!("has {} outputs, expected {}", outputs.len(), shapes.len()),
        ));
    }
    for (i, (o, s)) in outputs.iter().zip(&shapes).enumerate() {
        let size = util::elem_size(name, o.dtype)?;
        let n = util::numel(name, s)?;
        if n.checked_mul(size) != Some(o.bytes.len()) {
            return Err(invalid(
                name,
                format!(
                    "output {i} has {} bytes, shape {s:?} of {} needs {}",
                    o.bytes.len(),
                    o.dtype.name(),
                    n * size
                ),
            ));
        }
    }
    run_kernel(ctx, op, name, &ins, &shapes[0], outputs, None)
}

/// Dispatches to the kernel of `op`; `out_shape` is the first output's shape.
fn run_kernel(
    ctx: &CpuContext,
    op: &Op,
    name: &str,
    ins: &[Option<ShapeIn<'_>>],
    out_shape: &[usize],
    outputs: &mut [TensorOut<'_>],
    prepared: Option<&[f32]>,
) -> Result<(), KernelError> {
    match op {
        Op::Conv2D(o) => conv::conv2d(ctx, name, o, ins, out_shape, outputs, prepared),
        Op::DepthwiseConv2D(o) => conv::depthwise(ctx, name, o, ins, out_shape, outputs),
        Op::FullyConnected(o) => conv::fully_connected(ctx, name, o, ins, outputs, prepared),
        Op::TransposeConv(_) | Op::Conv2DTransposeBias { .. } => {
            conv::transpose_conv(ctx, name, op, ins, outputs, prepared)
        }
        Op::Add(a) | Op::Sub(a) | Op::Mul(a) | Op::Div(a) => {
            elementwise::binary(name, op, *a, ins, out_shape, outputs)
        }
        Op::Maximum | Op::Minimum | Op::SquaredDifference => {
            elementwise::binary(name, op, Activation::None, ins, out_shape, outputs)
        }
        Op::Prelu => elementwise::prelu(name, ins, out_shape, outputs),
        Op::Softmax { beta } => activation::softmax(name, *beta, ins, outputs),
        Op::Relu
        | Op::Relu6
        | Op::ReluN1To1
        | Op::LeakyRelu { .. }
        | Op::Logistic
        | Op::Tanh
        | Op::HardSwish
        | Op::Exp
        | Op::Rsqrt
        | Op::Sqrt
        | Op::Abs => activation::unary(name, op, ins, outputs),
        Op::MaxPool2D(o) => pool::pool(name, o, true, ins, out_shape, outputs),
        Op::AveragePool2D(o) => pool::pool(name, o, false, ins, out_shape, outputs),
        Op::Mean { keep_dims } | Op::Sum { keep_dims } | Op::ReduceMax { keep_dims } => {
            reduce::reduce(ctx, name, op, *keep_dims, ins, outputs)
        }
        Op::Pad | Op::PadV2 => movement::pad(name, op, ins, outputs),
        Op::MirrorPad(mode) => movement::mirror_pad(name, *mode, ins, outputs),
        Op::Concatenation { axis, activation } => {
            movement::concat(name, *axis, *activation, ins, outputs)
        }
        Op::Reshape | Op::Squeeze { .. } => movement::copy_bytes(name, ins, outputs),
        Op::Transpose => movement::transpose(name, ins, outputs),
        Op::StridedSlice(o) => slice::strided_slice(name, o, ins, outputs),
        Op::Slice => slice::slice(name, ins, outputs),
        Op::Split { num_splits } => movement::split(name, *num_splits, None, ins, outputs),
        Op::SplitV { num_splits } => movement::split(name, *num_splits, Some(()), ins, outputs),
        Op::Pack { axis, values_count } => movement::pack(name, *axis, *values_count, ins, outputs),
        Op::Unpack { axis, num } => movement::unpack(name, *axis, *num, ins, outputs),
        Op::Gather { axis, batch_dims } => movement::gather(name, *axis, *batch_dims, ins, outputs),
        Op::ResizeBilinear(o) => resize::resize(name, o, true, ins, out_shape, outputs),
        Op::ResizeNearestNeighbor(o) => resize::resize(name, o, false, ins, out_shape, outputs),
        Op::DepthToSpace { block_size } => {
            movement::depth_to_space(name, *block_size, ins, outputs)
        }
        Op::SpaceToDepth { block_size } => {
            movement::space_to_depth(name, *block_size, ins, outputs)
        }
        Op::Dequantize => misc::dequantize(name, ins, outputs),
        Op::Cast => misc::cast(name, ins, outputs),
        Op::Shape => misc::shape(name, ins, outputs),
        Op::Densify | Op::Unsupported { .. } => Err(util::unsupported(name, "no kernel")),
    }
}
