//! Errors of the host runtime.

use crate::cpu::KernelError;
use crate::graph::GraphError;
use crate::model::ModelError;

/// One operator the runtime cannot run, with where it occurs.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingOp {
    /// Operator name.
    pub op: String,
    /// Node indices (operator indices of the file) where it occurs.
    pub nodes: Vec<usize>,
    /// Why it cannot run.
    pub reason: String,
}

/// What can go wrong building or invoking an [`Interpreter`](super::Interpreter).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    /// The model file is invalid.
    Model(#[from] ModelError),
    #[error(transparent)]
    /// The graph is invalid.
    Graph(#[from] GraphError),
    #[error("the model needs operators the runtime cannot run:\n{}", format_missing(.0))]
    /// Operators no backend can run.
    UnsupportedOps(Vec<MissingOp>),
    #[error("int8/uint8-quantized models are not supported yet (tensor {tensor:?} is {dtype} with quantization)")]
    /// The model is quantized.
    Quantized {
        /// Tensor name.
        tensor: String,
        /// Its dtype.
        dtype: String,
    },
    #[error("node {node} ({op}): {source}")]
    /// A kernel failed.
    Kernel {
        /// Operator index in the file.
        node: usize,
        /// Operator name.
        op: String,
        #[source]
        /// The underlying error.
        source: KernelError,
    },
    #[error("tensor {tensor:?}: {msg}")]
    /// A shape is invalid.
    Shape {
        /// Tensor name.
        tensor: String,
        /// What is wrong.
        msg: String,
    },
    #[error("tensor {tensor:?} holds {actual}, not {requested}")]
    /// Wrong element type requested.
    DType {
        /// Tensor name.
        tensor: String,
        /// The tensor's dtype.
        actual: String,
        /// The dtype asked for.
        requested: String,
    },
    #[error("tensor {tensor:?} has {expected} elements (shape {shape:?}), got {got}")]
    /// Wrong number of elements given.
    Length {
        /// Tensor name.
        tensor: String,
        /// Its shape.
        shape: Vec<usize>,
        /// Elements the tensor holds.
        expected: usize,
        /// Elements given.
        got: usize,
    },
    #[error("no {kind} named {name:?}; the model's {kind}s are: {available}")]
    /// No input or output has that name.
    NoSuchTensor {
        /// `input` or `output`.
        kind: &'static str,
        /// The name asked for.
        name: String,
        /// The names there are.
        available: String,
    },
    #[error("{kind} index {index} out of range (model has {count} {kind}s)")]
    /// No input or output has that index.
    NoSuchIndex {
        /// `input` or `output`.
        kind: &'static str,
        /// The index asked for.
        index: usize,
        /// How many there are.
        count: usize,
    },
    #[error("delegate {delegate}: {msg}")]
    /// A delegate failed.
    Delegate {
        /// Delegate name.
        delegate: String,
        /// What is wrong.
        msg: String,
    },
    /// Planning needs more host memory than the builder allows
    /// ([`InterpreterBuilder::max_arena_bytes`](super::InterpreterBuilder::max_arena_bytes)).
    /// Nothing of that size was allocated.
    #[error("{what} needs {needed} bytes, over the limit of {limit} bytes (max_arena_bytes); the model's shapes are too large or not what they claim")]
    TooLarge {
        /// What needed the memory.
        what: String,
        /// Bytes it needed.
        needed: usize,
        /// The limit.
        limit: usize,
    },
}

fn format_missing(list: &[MissingOp]) -> String {
    list.iter()
        .map(|m| {
            let mut nodes: Vec<String> = m.nodes.iter().take(10).map(|n| n.to_string()).collect();
            if m.nodes.len() > 10 {
                nodes.push("...".into());
            }
            format!(
                "  {} x{} (node{} {}): {}",
                m.op,
                m.nodes.len(),
                if m.nodes.len() > 1 { "s" } else { "" },
                nodes.join(", "),
                m.reason
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
