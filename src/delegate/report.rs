//! The delegation report: what runs where, and why.

use serde::Serialize;

/// One delegated partition.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PartitionReport {
    /// Name of the delegate that runs it.
    pub delegate: String,
    /// File operator indices.
    pub nodes: Vec<usize>,
    /// Boundary input tensor names.
    pub inputs: Vec<String>,
    /// Boundary output tensor names.
    pub outputs: Vec<String>,
    /// Extra information from the compiled kernel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A node that runs on the CPU, with the reason it was not delegated.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CpuNode {
    /// Operator index in the file.
    pub index: usize,
    /// Operator name.
    pub op: String,
    /// Why no delegate took it.
    pub reason: String,
}

/// Where every node of a planned model runs.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DelegationReport {
    /// Operators in the model.
    pub total_nodes: usize,
    /// Nodes computed once at build time (constant DEQUANTIZE of FLOAT16 weights, DENSIFY, SHAPE, ...).
    pub folded_nodes: usize,
    /// Delegated partitions.
    pub partitions: Vec<PartitionReport>,
    /// Nodes left on the CPU, with reasons.
    pub cpu_nodes: Vec<CpuNode>,
    /// Bytes copied between the CPU and delegates on each invoke (boundary inputs and outputs).
    pub boundary_bytes_per_invoke: usize,
    /// Partitions a delegate failed to compile; they run on the CPU.
    pub compile_failures: Vec<String>,
    /// Time spent compiling partitions (pipelines, uploads), part of building the interpreter.
    pub compile_ms: f64,
}

impl DelegationReport {
    /// Nodes that run inside delegates.
    pub fn delegated_nodes(&self) -> usize {
        self.partitions.iter().map(|p| p.nodes.len()).sum()
    }

    /// The human-readable summary.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} nodes: {} delegated in {} partition(s), {} on the CPU, {} folded at build time",
            self.total_nodes,
            self.delegated_nodes(),
            self.partitions.len(),
            self.cpu_nodes.len(),
            self.folded_nodes
        );
        let _ = writeln!(
            s,
            "boundary traffic: {} bytes per invoke",
            self.boundary_bytes_per_invoke
        );
        for (i, p) in self.partitions.iter().enumerate() {
            let _ = writeln!(
                s,
                "partition {i} [{}]: {} nodes, inputs {:?}, outputs {:?}",
                p.delegate,
                p.nodes.len(),
                p.inputs,
                p.outputs
            );
            if let Some(d) = &p.detail {
                let _ = writeln!(s, "  {d}");
            }
        }
        for f in &self.compile_failures {
            let _ = writeln!(s, "compile failure: {f}");
        }
        if !self.cpu_nodes.is_empty() {
            let _ = writeln!(s, "{:>6}  {:<24} reason", "node", "op");
            for c in &self.cpu_nodes {
                let _ = writeln!(s, "{:>6}  {:<24} {}", c.index, c.op, c.reason);
            }
        }
        s
    }
}
