//! Errors of the host runtime.

use crate::cpu::KernelError;
use crate::graph::GraphError;
use crate::model::ModelError;

/// One operator the runtime cannot run, with where it occurs.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingOp {
    pub op: String,
    /// Node indices (operator indices of the file) where it occurs.
    pub nodes: Vec<usize>,
    pub reason: String,
}

/// What can go wrong building or invoking an [`Interpreter`](super::Interpreter).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error("the model needs operators the runtime cannot run:\n{}", format_missing(.0))]
    UnsupportedOps(Vec<MissingOp>),
    #[error("int8/uint8-quantized models are not supported yet (tensor {tensor:?} is {dtype} with quantization)")]
    Quantized { tensor: String, dtype: String },
    #[error("node {node} ({op}): {source}")]
    Kernel {
        node: usize,
        op: String,
        #[source]
        source: KernelError,
    },
    #[error("tensor {tensor:?}: {msg}")]
    Shape { tensor: String, msg: String },
    #[error("tensor {tensor:?} holds {actual}, not {requested}")]
    DType {
        tensor: String,
        actual: String,
        requested: String,
    },
    #[error("tensor {tensor:?} has {expected} elements (shape {shape:?}), got {got}")]
    Length {
        tensor: String,
        shape: Vec<usize>,
        expected: usize,
        got: usize,
    },
    #[error("no {kind} named {name:?}; the model's {kind}s are: {available}")]
    NoSuchTensor {
        kind: &'static str,
        name: String,
        available: String,
    },
    #[error("{kind} index {index} out of range (model has {count} {kind}s)")]
    NoSuchIndex {
        kind: &'static str,
        index: usize,
        count: usize,
    },
    #[error("delegate {delegate}: {msg}")]
    Delegate { delegate: String, msg: String },
    /// Planning needs more host memory than the builder allows
    /// ([`InterpreterBuilder::max_arena_bytes`](super::InterpreterBuilder::max_arena_bytes)).
    /// Nothing of that size was allocated.
    #[error("{what} needs {needed} bytes, over the limit of {limit} bytes (max_arena_bytes); the model's shapes are too large or not what they claim")]
    TooLarge {
        what: String,
        needed: usize,
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
