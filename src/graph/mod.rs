//! The graph IR: tensors with shapes, dtypes and roles, constant data in its stored dtype, and
//! nodes carrying a typed [`Op`]. Built from a [`Model`](crate::model::Model) and validated.

mod build;
mod op;
mod tensor;

pub use build::GraphError;
pub use op::Op;
pub use tensor::{ConstData, TensorId, TensorInfo, TensorRole};

/// A node: an operation with its input and output tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The operation.
    pub op: Op,
    /// `None` marks an absent optional input.
    pub inputs: Vec<Option<TensorId>>,
    /// Output tensors.
    pub outputs: Vec<TensorId>,
    /// The operator's index in the file's subgraph (what reports call "node N").
    pub index: usize,
}

impl Node {
    /// The input at `i`, if present.
    pub fn input(&self, i: usize) -> Option<TensorId> {
        self.inputs.get(i).copied().flatten()
    }
}

/// A validated graph, nodes in a valid execution order.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// All tensors, indexed by [`TensorId`].
    pub tensors: Vec<TensorInfo>,
    /// Nodes in execution order.
    pub nodes: Vec<Node>,
    /// Graph inputs.
    pub inputs: Vec<TensorId>,
    /// Output tensors.
    pub outputs: Vec<TensorId>,
}

impl Graph {
    /// Builds the IR of the main subgraph (subgraph 0).
    pub fn from_model(model: &crate::model::Model) -> Result<Graph, GraphError> {
        build::from_model(model)
    }

    /// Checks the graph's invariants: every tensor is defined before use and defined once,
    /// constants' data fits their shape and dtype, inputs and outputs are in range.
    pub fn validate(&self) -> Result<(), GraphError> {
        build::validate(self)
    }

    /// The tensor with id `id` (panics when out of range).
    pub fn tensor(&self, id: TensorId) -> &TensorInfo {
        &self.tensors[id]
    }

    /// Finds a tensor by name.
    pub fn tensor_by_name(&self, name: &str) -> Option<TensorId> {
        self.tensors.iter().position(|t| t.name == name)
    }

    /// For each tensor, the node that produces it (if any).
    pub fn producers(&self) -> Vec<Option<usize>> {
        let mut p = vec![None; self.tensors.len()];
        for (n, node) in self.nodes.iter().enumerate() {
            for &o in &node.outputs {
                p[o] = Some(n);
            }
        }
        p
    }

    /// For each tensor, the nodes that read it.
    pub fn consumers(&self) -> Vec<Vec<usize>> {
        let mut c = vec![Vec::new(); self.tensors.len()];
        for (n, node) in self.nodes.iter().enumerate() {
            for i in node.inputs.iter().flatten() {
                if !c[*i].contains(&n) {
                    c[*i].push(n);
                }
            }
        }
        c
    }
}
