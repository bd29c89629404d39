//! CPU kernels in f32: the fallback for every node a delegate does not take.
//!
//! (Interface stub: the kernels land in a following commit.)

use crate::graph::Op;
use crate::model::TensorType;

/// A read-only tensor handed to a kernel. `bytes` is 16-byte aligned and holds
/// `shape.iter().product()` elements of `dtype`, little-endian.
#[derive(Clone, Copy, Debug)]
pub struct TensorIn<'a> {
    pub shape: &'a [usize],
    pub dtype: TensorType,
    pub bytes: &'a [u8],
}

/// A tensor a kernel writes; its shape was fixed at plan time by [`infer_shapes`] (or the file).
#[derive(Debug)]
pub struct TensorOut<'a> {
    pub shape: &'a [usize],
    pub dtype: TensorType,
    pub bytes: &'a mut [u8],
}

/// What shape inference knows of an input: shape, dtype, and the values when they are known
/// at plan time (constants, folded results).
#[derive(Clone, Copy, Debug)]
pub struct ShapeIn<'a> {
    pub shape: &'a [usize],
    pub dtype: TensorType,
    pub values: Option<&'a [u8]>,
}

/// A kernel that cannot run on the inputs it was given.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum KernelError {
    #[error("{op}: {msg}")]
    Invalid { op: String, msg: String },
    #[error("{op} is not supported on the CPU: {msg}")]
    Unsupported { op: String, msg: String },
}

/// Per-interpreter CPU state (thread pool).
pub struct CpuContext {
    threads: usize,
}

impl CpuContext {
    pub fn new(threads: usize) -> Self {
        CpuContext {
            threads: threads.max(1),
        }
    }
    pub fn threads(&self) -> usize {
        self.threads
    }
}

/// Whether the CPU can run `op` on inputs like these; `Err` holds a human-readable reason.
pub fn check_supported(op: &Op, _inputs: &[Option<ShapeIn<'_>>]) -> Result<(), String> {
    Err(format!("{} has no CPU kernel yet", op.name()))
}

/// Output shapes of `op` for these inputs.
pub fn infer_shapes(
    op: &Op,
    _inputs: &[Option<ShapeIn<'_>>],
) -> Result<Vec<Vec<usize>>, KernelError> {
    Err(KernelError::Unsupported {
        op: op.name().into(),
        msg: "no shape inference yet".into(),
    })
}

/// Runs `op`, reading `inputs` and writing every tensor of `outputs`.
pub fn execute(
    _ctx: &CpuContext,
    op: &Op,
    _inputs: &[Option<TensorIn<'_>>],
    _outputs: &mut [TensorOut<'_>],
) -> Result<(), KernelError> {
    Err(KernelError::Unsupported {
        op: op.name().into(),
        msg: "no kernel yet".into(),
    })
}

/// Expands a sparse constant (TFLite's TACO-style encoding) into dense bytes.
pub fn densify(
    _sparsity: &crate::model::Sparsity,
    _dense_shape: &[usize],
    _elem_size: usize,
    _values: &[u8],
) -> Result<Vec<u8>, KernelError> {
    Err(KernelError::Unsupported {
        op: "DENSIFY".into(),
        msg: "no kernel yet".into(),
    })
}
