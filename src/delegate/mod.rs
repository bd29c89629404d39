//! The contract between the host runtime and a delegate (the GPU delegate first, but nothing
//! here knows about GPUs), the partitioner, and the delegation report.
//!
//! A delegate answers, node by node, whether it can run it (or why not); the runtime groups the
//! nodes it claims into partitions ([`partition`]) and asks it to compile each partition into a
//! [`DelegateKernel`]. At invoke the runtime hands each kernel its boundary inputs and outputs.
//!
//! FP16 weights never fragment a graph: a DEQUANTIZE whose input is a constant FLOAT16 tensor is
//! folded at build time. A delegated consumer sees the FLOAT16 constant itself (its dtype and
//! its f16 bytes), a CPU consumer the f32 values computed once.

pub mod partition;
mod report;

pub use report::{CpuNode, DelegationReport, PartitionReport};

use crate::cpu::{TensorIn, TensorOut};
use crate::graph::{ConstData, Graph, Node, TensorId};
use crate::model::TensorType;

/// Errors a delegate reports (compilation or invoke failures).
pub type DelegateError = Box<dyn std::error::Error + Send + Sync>;

/// What a delegate sees of one tensor when deciding support.
#[derive(Debug, Clone, Copy)]
pub struct TensorView<'a> {
    /// Tensor id in the graph.
    pub id: TensorId,
    /// Tensor name.
    pub name: &'a str,
    /// Shape.
    pub shape: &'a [usize],
    /// The dtype.
    pub dtype: TensorType,
    /// The data when the tensor is constant at build time.
    pub constant: Option<&'a ConstData>,
}

/// A node as a delegate sees it: inputs already rewired to FLOAT16 constants where a constant
/// DEQUANTIZE was folded.
#[derive(Debug, Clone)]
pub struct NodeView<'a> {
    /// The node.
    pub node: &'a Node,
    /// Inputs in operator order (`None`: absent optional input).
    pub inputs: Vec<Option<TensorView<'a>>>,
    /// Outputs in operator order.
    pub outputs: Vec<TensorView<'a>>,
}

impl NodeView<'_> {
    /// The input at `i`, when present.
    pub fn input(&self, i: usize) -> Option<&TensorView<'_>> {
        self.inputs.get(i).and_then(Option::as_ref)
    }
}

/// A partition to compile: a self-contained graph whose `inputs` and `outputs` are the
/// partition's boundary tensors (in the order the kernel receives them at invoke), whose
/// constants carry their data (FLOAT16 weights as f16), and whose shapes are the planned ones.
#[derive(Debug, Clone)]
pub struct Partition {
    /// The partition as a graph of its own.
    pub graph: Graph,
    /// The file's operator indices of the nodes in this partition.
    pub node_indices: Vec<usize>,
}

/// How a delegate wants its partitions chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionOptions {
    /// Keep at most this many partitions (the largest, by node count); `None` keeps all.
    pub max_delegated_partitions: Option<usize>,
    /// Partitions with fewer nodes than this stay on the CPU.
    pub min_partition_nodes: usize,
}

impl Default for PartitionOptions {
    fn default() -> Self {
        PartitionOptions {
            max_delegated_partitions: None,
            min_partition_nodes: 1,
        }
    }
}

/// A backend that runs parts of a graph.
pub trait Delegate: Send {
    /// A short name for reports (`gpu`, `test`, ...).
    fn name(&self) -> &str;

    /// `Ok` when this delegate can run `node`, else a human-readable reason
    /// (e.g. "RESIZE_BILINEAR: align_corners together with half_pixel_centers is not supported").
    fn supports(&self, node: &NodeView<'_>) -> Result<(), String>;

    /// How partitions are chosen for this delegate.
    fn partition_options(&self) -> PartitionOptions {
        PartitionOptions::default()
    }

    /// Compiles one partition. On error the partition runs on the CPU and the reason is reported.
    fn compile(&mut self, partition: &Partition) -> Result<Box<dyn DelegateKernel>, DelegateError>;
}

/// How long one piece of work took in a profiled invoke.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpTiming {
    /// Operator name (`CONV_2D`), or a description for work that is not one node.
    pub op: String,
    /// The file's operator index, when the work is one node.
    pub node: Option<usize>,
    /// Output shape.
    pub shape: Vec<usize>,
    /// Where it ran (`cpu`, `gpu`).
    pub device: String,
    /// How the time was measured (`cpu wall time`, `per-dispatch wall time`, ...).
    pub source: String,
    /// Start, relative to the start of the invoke, in milliseconds.
    pub start_ms: f64,
    /// Duration in milliseconds.
    pub duration_ms: f64,
}

/// A compiled partition.
pub trait DelegateKernel: Send {
    /// Reads the boundary inputs and writes every boundary output, in the partition's order.
    fn invoke(
        &mut self,
        inputs: &[TensorIn<'_>],
        outputs: &mut [TensorOut<'_>],
    ) -> Result<(), DelegateError>;

    /// Like [`invoke`](Self::invoke), timing each piece of work. The default times the whole
    /// partition as one entry.
    fn invoke_profiled(
        &mut self,
        inputs: &[TensorIn<'_>],
        outputs: &mut [TensorOut<'_>],
    ) -> Result<Vec<OpTiming>, DelegateError> {
        let start = std::time::Instant::now();
        self.invoke(inputs, outputs)?;
        Ok(vec![OpTiming {
            op: "partition".into(),
            node: None,
            shape: Vec::new(),
            device: "delegate".into(),
            source: "wall time of the whole partition".into(),
            start_ms: 0.0,
            duration_ms: start.elapsed().as_secs_f64() * 1e3,
        }])
    }

    /// Extra lines for reports (adapter, precision, memory), if any.
    fn describe(&self) -> Option<String> {
        None
    }
}
