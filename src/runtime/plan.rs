//! Planning at build time: shapes, constant folding (FLOAT16 DEQUANTIZE and DENSIFY included),
//! which nodes run at invoke, aliasing of reshape-like ops, and the activation arena.

use crate::cpu::{self, CpuContext, ShapeIn, TensorIn, TensorOut};
use crate::delegate::{
    partition, CpuNode, Delegate, DelegateKernel, DelegationReport, NodeView, Partition,
    PartitionReport, TensorView,
};
use crate::graph::{ConstData, Graph, Op, TensorId, TensorRole};
use crate::model::TensorType;

use super::arena::{self, Lifetime};
use super::error::{MissingOp, RuntimeError};

/// Where a tensor's bytes live during invoke.
#[derive(Debug, Clone)]
pub(crate) enum Storage {
    /// Not needed at run time (e.g. a sparse constant consumed by a folded DENSIFY).
    Unused,
    /// Constant bytes: from the file, or computed once at build time.
    Const(ConstData),
    /// A range of the activation arena.
    Arena { offset: usize, len: usize },
}

/// The result of planning a graph for the CPU.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub shapes: Vec<Vec<usize>>,
    pub storage: Vec<Storage>,
    /// What runs at invoke, in order.
    pub steps: Vec<Step>,
    /// Per step: its CPU kernel's weights repacked at build time (see `cpu::prepack`).
    pub prepacked: Vec<Option<Vec<f32>>>,
    pub arena_bytes: usize,
    pub lower_bound_bytes: usize,
    /// Nodes computed once at build time.
    pub folded_nodes: usize,
    /// Reshape-like nodes that cost nothing at invoke (their output shares the input's bytes).
    pub aliased_nodes: usize,
    pub report: DelegationReport,
}

/// Bytes of a tensor, saturating: a hostile or resized shape must not wrap around.
fn byte_len(shape: &[usize], dtype: TensorType) -> usize {
    shape
        .iter()
        .fold(dtype.size_bytes().unwrap_or(0), |n, &d| n.saturating_mul(d))
}

/// What the first pass learns: shapes, known values, and which nodes remain for invoke.
struct Analysis {
    shapes: Vec<Vec<usize>>,
    values: Vec<Option<ConstData>>,
    /// Nodes (positions in `graph.nodes`) left for invoke, in order.
    runtime_nodes: Vec<usize>,
    /// For those nodes: why the CPU cannot run them (`None` when it can).
    cpu_reason: Vec<Option<String>>,
    /// For each tensor produced by a folded DEQUANTIZE of a FLOAT16 value: that FLOAT16 tensor.
    f16_source: Vec<Option<TensorId>>,
    folded_nodes: usize,
}

/// Plans `graph` with the current input `shapes` (the graph's own for inputs not resized),
/// offering the nodes left for invoke to `delegates` in order.
pub(crate) fn plan(
    graph: &Graph,
    input_shapes: &[Vec<usize>],
    ctx: &CpuContext,
    delegates: &mut [Box<dyn Delegate>],
    max_bytes: usize,
) -> Result<(Plan, Vec<Box<dyn DelegateKernel>>), RuntimeError> {
    refuse_quantized(graph)?;
    let started = std::time::Instant::now();
    let a = analyse(graph, input_shapes, ctx, max_bytes)?;
    let analysed = started.elapsed();
    let delegated = delegate_nodes(graph, &a, delegates)?;
    let delegated_at = started.elapsed();
    let mut missing: Vec<MissingOp> = Vec::new();
    for (k, &ni) in a.runtime_nodes.iter().enumerate() {
        if delegated.assigned[k].is_some() {
            continue;
        }
        if let Some(reason) = &a.cpu_reason[k] {
            let node = &graph.nodes[ni];
            let op = node.op.name().to_string();
            match missing
                .iter_mut()
                .find(|m| m.op == op && m.reason == *reason)
            {
                Some(m) => m.nodes.push(node.index),
                None => missing.push(MissingOp {
                    op,
                    nodes: vec![node.index],
                    reason: reason.clone(),
                }),
            }
        }
    }
    if !missing.is_empty() {
        return Err(RuntimeError::UnsupportedOps(missing));
    }
    let plan = place_activations(graph, a, &delegated, max_bytes)?;
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    log::debug!(
        "plan: shapes and folding {:.1} ms, delegation {:.1} ms (of which compiling partitions \
         {:.1} ms), placement and CPU prepacking {:.1} ms",
        ms(analysed),
        ms(delegated_at - analysed),
        delegated.report.compile_ms,
        ms(started.elapsed() - delegated_at)
    );
    Ok((plan, delegated.kernels))
}

fn analyse(
    graph: &Graph,
    input_shapes: &[Vec<usize>],
    ctx: &CpuContext,
    max_bytes: usize,
) -> Result<Analysis, RuntimeError> {
    let resized = graph
        .inputs
        .iter()
        .zip(input_shapes)
        .any(|(&t, s)| graph.tensors[t].shape != *s);
    let mut shapes: Vec<Vec<usize>> = graph.tensors.iter().map(|t| t.shape.clone()).collect();
    for (&t, s) in graph.inputs.iter().zip(input_shapes) {
        shapes[t] = s.clone();
    }
    // Known values: file constants (dense), then folded results.
    let mut values: Vec<Option<ConstData>> = graph
        .tensors
        .iter()
        .map(|t| {
            if t.sparsity.is_none() {
                t.data.clone()
            } else {
                None
            }
        })
        .collect();
    let mut f16_source = vec![None; graph.tensors.len()];
    let mut runtime_nodes: Vec<usize> = Vec::new();
    let mut cpu_reason: Vec<Option<String>> = Vec::new();
    let mut folded_nodes = 0;
    let mut folded_bytes = 0usize;
    // Values computed at build time are allocated here, before any arena: bound them too.
    let mut reserve = |node: &crate::graph::Node, bytes: usize| {
        folded_bytes = folded_bytes.saturating_add(bytes);
        if folded_bytes > max_bytes {
            return Err(RuntimeError::TooLarge {
                what: format!(
                    "folding node {} ({}) at build time",
                    node.index,
                    node.op.name()
                ),
                needed: folded_bytes,
                limit: max_bytes,
            });
        }
        Ok(())
    };
    for (ni, node) in graph.nodes.iter().enumerate() {
        let kernel_err = |source| RuntimeError::Kernel {
            node: node.index,
            op: node.op.name().into(),
            source,
        };
        match &node.op {
            Op::Densify => {
                if let (Some(src), Some(&out)) = (node.input(0), node.outputs.first()) {
                    let t = &graph.tensors[src];
                    if let (Some(data), Some(sparsity)) = (&t.data, &t.sparsity) {
                        let elem = t.dtype.size_bytes().unwrap_or(0);
                        reserve(node, byte_len(&shapes[out], t.dtype))?;
                        let dense = cpu::densify(sparsity, &shapes[out], elem, data.bytes())
                            .map_err(kernel_err)?;
                        values[out] = Some(ConstData::from_bytes(&dense));
                        folded_nodes += 1;
                        continue;
                    }
                }
            }
            Op::Shape => {
                if let (Some(src), Some(&out)) = (node.input(0), node.outputs.first()) {
                    let dims = &shapes[src];
                    let bytes = match graph.tensors[out].dtype {
                        TensorType::Int64 => ConstData::from_slice(
                            &dims.iter().map(|&d| d as i64).collect::<Vec<_>>(),
                        ),
                        _ => ConstData::from_slice(
                            &dims.iter().map(|&d| d as i32).collect::<Vec<_>>(),
                        ),
                    };
                    shapes[out] = vec![dims.len()];
                    values[out] = Some(bytes);
                    folded_nodes += 1;
                    continue;
                }
            }
            Op::Dequantize => {
                if let (Some(src), Some(&out)) = (node.input(0), node.outputs.first()) {
                    if values[src].is_some() && graph.tensors[src].dtype == TensorType::Float16 {
                        f16_source[out] = Some(src);
                    }
                }
            }
            _ => {}
        }
        let ins: Vec<Option<ShapeIn<'_>>> = node
            .inputs
            .iter()
            .map(|t| {
                t.map(|t| ShapeIn {
                    shape: &shapes[t],
                    dtype: graph.tensors[t].dtype,
                    values: values[t].as_ref().map(ConstData::bytes),
                })
            })
            .collect();
        let supported = match &node.op {
            Op::Unsupported { name } => Err(format!("{name} has no CPU kernel")),
            Op::Densify => Err("DENSIFY of a tensor that is not a sparse constant".into()),
            op => cpu::check_supported(op, &ins),
        };
        let declared: Vec<Vec<usize>> = node
            .outputs
            .iter()
            .map(|&o| graph.tensors[o].shape.clone())
            .collect();
        let inferred = if supported.is_ok() {
            cpu::infer_shapes(&node.op, &ins)
        } else {
            Err(crate::cpu::KernelError::Unsupported {
                op: node.op.name().into(),
                msg: "no shape inference".into(),
            })
        };
        let out_shapes = match inferred {
            Ok(s) if s.len() == node.outputs.len() => {
                if !resized && s != declared {
                    return Err(RuntimeError::Shape {
                        tensor: graph.tensors[node.outputs[0]].name.clone(),
                        msg: format!(
                            "node {} ({}) computes output shapes {s:?}, but the file declares {declared:?}",
                            node.index,
                            node.op.name()
                        ),
                    });
                }
                s
            }
            _ if !resized => declared,
            Ok(s) => {
                return Err(RuntimeError::Shape {
                    tensor: graph.tensors[node.outputs[0]].name.clone(),
                    msg: format!(
                        "node {} ({}) gives {} outputs, expected {}",
                        node.index,
                        node.op.name(),
                        s.len(),
                        node.outputs.len()
                    ),
                })
            }
            Err(e) => return Err(kernel_err(e)),
        };
        drop(ins);
        for (&o, s) in node.outputs.iter().zip(out_shapes) {
            shapes[o] = s;
        }
        let scratch = kernel_scratch_bytes(node, &shapes);
        if scratch > max_bytes {
            return Err(RuntimeError::TooLarge {
                what: format!(
                    "the working buffer of node {} ({})",
                    node.index,
                    node.op.name()
                ),
                needed: scratch,
                limit: max_bytes,
            });
        }
        let all_known = node.inputs.iter().flatten().next().is_some()
            && node.inputs.iter().flatten().all(|&t| values[t].is_some());
        if all_known && supported.is_ok() {
            let bytes = node
                .outputs
                .iter()
                .map(|&o| byte_len(&shapes[o], graph.tensors[o].dtype))
                .fold(0usize, usize::saturating_add);
            reserve(node, bytes)?;
            fold(graph, ni, &shapes, &mut values, ctx)?;
            folded_nodes += 1;
        } else {
            runtime_nodes.push(ni);
            cpu_reason.push(supported.err());
        }
    }
    Ok(Analysis {
        shapes,
        values,
        runtime_nodes,
        cpu_reason,
        f16_source,
        folded_nodes,
    })
}

/// Bytes of scratch a CPU kernel allocates beyond its outputs, where that can exceed the
/// tensors themselves: a transposed convolution's column matrix is (input pixels) x (kernel
/// taps x output channels) floats.
fn kernel_scratch_bytes(node: &crate::graph::Node, shapes: &[Vec<usize>]) -> usize {
    let (input, weights) = match node.op {
        Op::TransposeConv(_) => (node.input(2), node.input(1)),
        Op::Conv2DTransposeBias { .. } => (node.input(0), node.input(1)),
        _ => return 0,
    };
    match (
        input.map(|t| &shapes[t][..]),
        weights.map(|t| &shapes[t][..]),
    ) {
        (Some(&[n, h, w, _]), Some(&[o, kh, kw, _])) => [n, h, w, o, kh, kw, 4]
            .iter()
            .fold(1usize, |a, &d| a.saturating_mul(d)),
        _ => 0,
    }
}

/// The outcome of offering the runtime nodes to the delegates.
struct Delegated {
    /// Per runtime node (position in `runtime_nodes`): its partition, if delegated.
    assigned: Vec<Option<usize>>,
    /// Per partition id: (delegate index, boundary inputs, boundary outputs); `None` if dropped.
    partitions: Vec<Option<PartitionPlan>>,
    kernels: Vec<Box<dyn DelegateKernel>>,
    report: DelegationReport,
}

struct PartitionPlan {
    kernel: usize,
    inputs: Vec<TensorId>,
    outputs: Vec<TensorId>,
}

/// The tensor a delegated node reads in place of `t`: the FLOAT16 source of a folded DEQUANTIZE.
fn delegate_view_of(a: &Analysis, t: TensorId) -> TensorId {
    a.f16_source[t].unwrap_or(t)
}

fn node_view<'a>(graph: &'a Graph, a: &'a Analysis, node: &'a crate::graph::Node) -> NodeView<'a> {
    let view = |t: TensorId| TensorView {
        id: t,
        name: &graph.tensors[t].name,
        shape: &a.shapes[t],
        dtype: graph.tensors[t].dtype,
        constant: a.values[t].as_ref(),
    };
    NodeView {
        node,
        inputs: node
            .inputs
            .iter()
            .map(|t| t.map(|t| view(delegate_view_of(a, t))))
            .collect(),
        outputs: node.outputs.iter().map(|&t| view(t)).collect(),
    }
}

fn delegate_nodes(
    graph: &Graph,
    a: &Analysis,
    delegates: &mut [Box<dyn Delegate>],
) -> Result<Delegated, RuntimeError> {
    let r = a.runtime_nodes.len();
    let producers = graph.producers();
    let position: std::collections::HashMap<usize, usize> = a
        .runtime_nodes
        .iter()
        .enumerate()
        .map(|(k, &ni)| (ni, k))
        .collect();
    let deps: Vec<Vec<usize>> = a
        .runtime_nodes
        .iter()
        .map(|&ni| {
            let mut d: Vec<usize> = graph.nodes[ni]
                .inputs
                .iter()
                .flatten()
                .filter(|&&t| a.values[t].is_none())
                .filter_map(|&t| producers[t].and_then(|p| position.get(&p).copied()))
                .collect();
            d.sort_unstable();
            d.dedup();
            d
        })
        .collect();
    let mut assigned: Vec<Option<usize>> = vec![None; r];
    let mut next_id = 0;
    let mut report = DelegationReport {
        total_nodes: graph.nodes.len(),
        folded_nodes: a.folded_nodes,
        ..Default::default()
    };
    let mut reasons: Vec<Option<String>> = vec![None; r];
    let mut partitions: Vec<Option<PartitionPlan>> = Vec::new();
    let mut kernels: Vec<Box<dyn DelegateKernel>> = Vec::new();
    for delegate in delegates.iter_mut() {
        let supported: Vec<bool> = a
            .runtime_nodes
            .iter()
            .enumerate()
            .map(|(k, &ni)| {
                if assigned[k].is_some() {
                    return false;
                }
                match delegate.supports(&node_view(graph, a, &graph.nodes[ni])) {
                    Ok(()) => true,
                    Err(why) => {
                        reasons[k].get_or_insert_with(|| format!("{}: {why}", delegate.name()));
                        false
                    }
                }
            })
            .collect();
        let created = partition::assign(&deps, &supported, &mut assigned, &mut next_id);
        partitions.resize_with(next_id, || None);
        let opts = delegate.partition_options();
        let members = |assigned: &[Option<usize>], p: usize| -> Vec<usize> {
            (0..r).filter(|&k| assigned[k] == Some(p)).collect()
        };
        let mut by_size: Vec<(usize, usize)> = created
            .iter()
            .map(|&p| (members(&assigned, p).len(), p))
            .collect();
        by_size.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
        for (rank, &(size, p)) in by_size.iter().enumerate() {
            let drop_reason = if size < opts.min_partition_nodes {
                Some(format!(
                    "{}: partition of {size} node(s) is below min_partition_nodes = {}",
                    delegate.name(),
                    opts.min_partition_nodes
                ))
            } else if opts.max_delegated_partitions.is_some_and(|m| rank >= m) {
                Some(format!(
                    "{}: partition of {size} node(s) not delegated: max_delegated_partitions = {} keeps the largest",
                    delegate.name(),
                    opts.max_delegated_partitions.unwrap_or(0)
                ))
            } else {
                None
            };
            let nodes = members(&assigned, p);
            if let Some(why) = drop_reason {
                for &k in &nodes {
                    assigned[k] = None;
                    reasons[k] = Some(why.clone());
                }
                continue;
            }
            let (spec, inputs, outputs) = partition_graph(graph, a, &nodes, &assigned, p);
            let started = std::time::Instant::now();
            let compiled = delegate.compile(&spec);
            report.compile_ms += started.elapsed().as_secs_f64() * 1e3;
            match compiled {
                Ok(kernel) => {
                    let bytes: usize = inputs
                        .iter()
                        .chain(&outputs)
                        .map(|&t| byte_len(&a.shapes[t], graph.tensors[t].dtype))
                        .sum();
                    report.boundary_bytes_per_invoke += bytes;
                    report.partitions.push(PartitionReport {
                        delegate: delegate.name().to_string(),
                        nodes: spec.node_indices.clone(),
                        inputs: inputs
                            .iter()
                            .map(|&t| graph.tensors[t].name.clone())
                            .collect(),
                        outputs: outputs
                            .iter()
                            .map(|&t| graph.tensors[t].name.clone())
                            .collect(),
                        detail: kernel.describe(),
                    });
                    partitions[p] = Some(PartitionPlan {
                        kernel: kernels.len(),
                        inputs,
                        outputs,
                    });
                    kernels.push(kernel);
                }
                Err(e) => {
                    let why = format!(
                        "{}: compiling a partition of {} node(s) failed: {e}",
                        delegate.name(),
                        nodes.len()
                    );
                    log::warn!("{why}; it runs on the CPU");
                    report.compile_failures.push(why.clone());
                    for &k in &nodes {
                        assigned[k] = None;
                        reasons[k] = Some(why.clone());
                    }
                }
            }
        }
    }
    for (k, &ni) in a.runtime_nodes.iter().enumerate() {
        if assigned[k].is_none() {
            let node = &graph.nodes[ni];
            report.cpu_nodes.push(CpuNode {
                index: node.index,
                op: node.op.name().to_string(),
                reason: reasons[k].clone().unwrap_or_else(|| {
                    if delegates.is_empty() {
                        "no delegate registered".into()
                    } else {
                        "not claimed by any delegate".into()
                    }
                }),
            });
        }
    }
    Ok(Delegated {
        assigned,
        partitions,
        kernels,
        report,
    })
}

/// The self-contained graph of partition `p` and its boundary inputs and outputs.
fn partition_graph(
    graph: &Graph,
    a: &Analysis,
    members: &[usize],
    assigned: &[Option<usize>],
    p: usize,
) -> (Partition, Vec<TensorId>, Vec<TensorId>) {
    let mut inside = vec![false; graph.tensors.len()];
    let mut nodes = Vec::with_capacity(members.len());
    for &k in members {
        let node = &graph.nodes[a.runtime_nodes[k]];
        for &o in &node.outputs {
            inside[o] = true;
        }
        let mut rewired = node.clone();
        for t in rewired.inputs.iter_mut().flatten() {
            *t = delegate_view_of(a, *t);
        }
        nodes.push(rewired);
    }
    let mut inputs: Vec<TensorId> = Vec::new();
    for n in &nodes {
        for &t in n.inputs.iter().flatten() {
            if a.values[t].is_none() && !inside[t] && !inputs.contains(&t) {
                inputs.push(t);
            }
        }
    }
    // Outputs: produced inside and read outside (by a node not in this partition) or by the caller.
    let mut read_outside = vec![false; graph.tensors.len()];
    for (k, &ni) in a.runtime_nodes.iter().enumerate() {
        if assigned[k] != Some(p) {
            for &t in graph.nodes[ni].inputs.iter().flatten() {
                read_outside[t] = true;
            }
        }
    }
    for &t in &graph.outputs {
        read_outside[t] = true;
    }
    let mut outputs: Vec<TensorId> = Vec::new();
    for n in &nodes {
        for &t in &n.outputs {
            if read_outside[t] && !outputs.contains(&t) {
                outputs.push(t);
            }
        }
    }
    let mut tensors = graph.tensors.clone();
    for (t, info) in tensors.iter_mut().enumerate() {
        info.shape = a.shapes[t].clone();
        if info.data.is_none() {
            info.data = a.values[t].clone();
        }
        info.role = if inputs.contains(&t) {
            TensorRole::Input
        } else if outputs.contains(&t) {
            TensorRole::Output
        } else if info.data.is_some() {
            TensorRole::Constant
        } else {
            TensorRole::Activation
        };
    }
    let node_indices = nodes.iter().map(|n| n.index).collect();
    let spec = Partition {
        graph: Graph {
            tensors,
            nodes,
            inputs: inputs.clone(),
            outputs: outputs.clone(),
        },
        node_indices,
    };
    (spec, inputs, outputs)
}

fn refuse_quantized(graph: &Graph) -> Result<(), RuntimeError> {
    for t in &graph.tensors {
        if t.data.is_none()
            && matches!(
                t.dtype,
                TensorType::Int8 | TensorType::UInt8 | TensorType::Int16
            )
            && t.is_quantized()
        {
            return Err(RuntimeError::Quantized {
                tensor: t.name.clone(),
                dtype: t.dtype.to_string(),
            });
        }
    }
    Ok(())
}

/// Computes node `ni` now, all of its inputs being known, and records its outputs as constants.
fn fold(
    graph: &Graph,
    ni: usize,
    shapes: &[Vec<usize>],
    values: &mut [Option<ConstData>],
    ctx: &CpuContext,
) -> Result<(), RuntimeError> {
    let node = &graph.nodes[ni];
    let mut out_bufs: Vec<Vec<u128>> = node
        .outputs
        .iter()
        .map(|&o| vec![0u128; byte_len(&shapes[o], graph.tensors[o].dtype).div_ceil(16)])
        .collect();
    {
        let ins: Vec<Option<TensorIn<'_>>> = node
            .inputs
            .iter()
            .map(|t| {
                t.map(|t| TensorIn {
                    shape: &shapes[t],
                    dtype: graph.tensors[t].dtype,
                    bytes: values[t].as_ref().map(ConstData::bytes).unwrap_or_default(),
                })
            })
            .collect();
        let mut outs: Vec<TensorOut<'_>> = node
            .outputs
            .iter()
            .zip(out_bufs.iter_mut())
            .map(|(&o, buf)| TensorOut {
                shape: &shapes[o],
                dtype: graph.tensors[o].dtype,
                bytes: &mut bytemuck::cast_slice_mut::<u128, u8>(buf)
                    [..byte_len(&shapes[o], graph.tensors[o].dtype)],
            })
            .collect();
        cpu::execute(ctx, &node.op, &ins, &mut outs).map_err(|source| RuntimeError::Kernel {
            node: node.index,
            op: node.op.name().into(),
            source,
        })?;
    }
    for (&o, buf) in node.outputs.iter().zip(&out_bufs) {
        let len = byte_len(&shapes[o], graph.tensors[o].dtype);
        values[o] = Some(ConstData::from_bytes(
            &bytemuck::cast_slice::<u128, u8>(buf)[..len],
        ));
    }
    Ok(())
}

/// One thing done at invoke.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// A node run by the CPU kernels (position in `graph.nodes`).
    Cpu(usize),
    /// A delegate kernel with its boundary tensors.
    Kernel {
        kernel: usize,
        inputs: Vec<TensorId>,
        outputs: Vec<TensorId>,
    },
}

impl Step {
    fn reads_writes<'a>(&'a self, graph: &'a Graph) -> (Vec<TensorId>, &'a [TensorId]) {
        match self {
            Step::Cpu(ni) => {
                let node = &graph.nodes[*ni];
                (
                    node.inputs.iter().flatten().copied().collect(),
                    &node.outputs,
                )
            }
            Step::Kernel {
                inputs, outputs, ..
            } => (inputs.clone(), outputs),
        }
    }
}

/// Orders the CPU nodes and partitions, then decides the storage of every tensor: constants
/// stay where they are, reshape-like CPU nodes alias their input, tensors inside a partition
/// need no host memory, and everything else gets a range of the arena by lifetime.
fn place_activations(
    graph: &Graph,
    a: Analysis,
    d: &Delegated,
    max_bytes: usize,
) -> Result<Plan, RuntimeError> {
    let Analysis {
        shapes,
        values,
        runtime_nodes,
        folded_nodes,
        ..
    } = a;
    let n = graph.tensors.len();
    let parts = d.partitions.len();
    let unit_of: Vec<usize> = (0..runtime_nodes.len())
        .map(|k| match d.assigned[k] {
            Some(p) if d.partitions[p].is_some() => p,
            _ => parts + k,
        })
        .collect();
    let producers = graph.producers();
    let position: std::collections::HashMap<usize, usize> = runtime_nodes
        .iter()
        .enumerate()
        .map(|(k, &ni)| (ni, k))
        .collect();
    let deps: Vec<Vec<usize>> = runtime_nodes
        .iter()
        .map(|&ni| {
            graph.nodes[ni]
                .inputs
                .iter()
                .flatten()
                .filter_map(|&t| producers[t].and_then(|p| position.get(&p).copied()))
                .collect()
        })
        .collect();
    let order =
        partition::schedule(&deps, &unit_of, parts + runtime_nodes.len()).ok_or_else(|| {
            RuntimeError::Graph(crate::graph::GraphError::Graph(
                "partitioning produced a cycle (a bug in the partitioner)".into(),
            ))
        })?;
    // root[t]: the tensor whose bytes t shares (itself unless aliased).
    let mut root: Vec<usize> = (0..n).collect();
    let mut steps: Vec<Step> = Vec::with_capacity(order.len());
    let mut aliased_nodes = 0;
    for u in order {
        if u < parts {
            if let Some(pp) = &d.partitions[u] {
                steps.push(Step::Kernel {
                    kernel: pp.kernel,
                    inputs: pp.inputs.clone(),
                    outputs: pp.outputs.clone(),
                });
            }
            continue;
        }
        let ni = runtime_nodes[u - parts];
        let node = &graph.nodes[ni];
        if node.op.is_reshape_like() {
            if let (Some(src), [out]) = (node.input(0), node.outputs.as_slice()) {
                let same_bytes = byte_len(&shapes[src], graph.tensors[src].dtype)
                    == byte_len(&shapes[*out], graph.tensors[*out].dtype);
                if same_bytes && values[src].is_none() {
                    root[*out] = root[src];
                    aliased_nodes += 1;
                    continue;
                }
            }
        }
        steps.push(Step::Cpu(ni));
    }
    let last_step = steps.len();
    // Lifetimes per root, in step positions; graph inputs and outputs live through the invoke.
    let mut first = vec![usize::MAX; n];
    let mut last = vec![0usize; n];
    let mut is_runtime = vec![false; n];
    for &t in &graph.inputs {
        let r = root[t];
        is_runtime[r] = true;
        first[r] = 0;
        last[r] = last_step;
    }
    for (pos, step) in steps.iter().enumerate() {
        let (reads, writes) = step.reads_writes(graph);
        for &o in writes {
            let r = root[o];
            is_runtime[r] = true;
            first[r] = first[r].min(pos);
            last[r] = last[r].max(pos);
        }
        for i in reads {
            if values[i].is_none() {
                let r = root[i];
                last[r] = last[r].max(pos);
            }
        }
    }
    for &t in &graph.outputs {
        if values[t].is_none() {
            last[root[t]] = last_step;
        }
    }
    let roots: Vec<usize> = (0..n).filter(|&t| is_runtime[t] && root[t] == t).collect();
    let lifetimes: Vec<Lifetime> = roots
        .iter()
        .map(|&t| Lifetime {
            size: byte_len(&shapes[t], graph.tensors[t].dtype),
            first: first[t].min(last[t]),
            last: last[t],
        })
        .collect();
    if let Some((k, l)) = lifetimes
        .iter()
        .enumerate()
        .find(|(_, l)| l.size > max_bytes)
    {
        return Err(RuntimeError::TooLarge {
            what: format!("tensor {:?}", graph.tensors[roots[k]].name),
            needed: l.size,
            limit: max_bytes,
        });
    }
    let placement = arena::place(&lifetimes);
    if placement.arena_bytes > max_bytes {
        return Err(RuntimeError::TooLarge {
            what: format!(
                "the activation arena ({} tensors computed at invoke)",
                lifetimes.len()
            ),
            needed: placement.arena_bytes,
            limit: max_bytes,
        });
    }
    let mut offset_of = vec![None; n];
    for (k, &t) in roots.iter().enumerate() {
        offset_of[t] = Some(placement.offsets[k]);
    }
    let storage: Vec<Storage> = (0..n)
        .map(|t| {
            if let Some(v) = &values[t] {
                Storage::Const(v.clone())
            } else if let Some(offset) = offset_of[root[t]] {
                Storage::Arena {
                    offset,
                    len: byte_len(&shapes[t], graph.tensors[t].dtype),
                }
            } else {
                Storage::Unused
            }
        })
        .collect();
    // Every output of every step must be in the arena, disjoint from the step's other tensors.
    for step in &steps {
        let (reads, writes) = step.reads_writes(graph);
        for &o in writes {
            let Storage::Arena { offset, len } = storage[o] else {
                return Err(RuntimeError::Shape {
                    tensor: graph.tensors[o].name.clone(),
                    msg: "computed at invoke but has no storage".into(),
                });
            };
            for &i in reads.iter().chain(writes.iter()) {
                if i == o {
                    continue;
                }
                if let Storage::Arena {
                    offset: io,
                    len: il,
                } = storage[i]
                {
                    if offset < io + il && io < offset + len {
                        return Err(RuntimeError::Shape {
                            tensor: graph.tensors[o].name.clone(),
                            msg: format!(
                                "planner bug: shares bytes with {:?}",
                                graph.tensors[i].name
                            ),
                        });
                    }
                }
            }
        }
    }
    let prepacked = steps
        .iter()
        .map(|step| {
            let Step::Cpu(ni) = step else { return None };
            let node = &graph.nodes[*ni];
            let ins: Vec<Option<cpu::ShapeIn<'_>>> = node
                .inputs
                .iter()
                .map(|t| {
                    t.map(|t| cpu::ShapeIn {
                        shape: &shapes[t],
                        dtype: graph.tensors[t].dtype,
                        values: values[t].as_ref().map(|v| v.bytes()),
                    })
                })
                .collect();
            cpu::prepack(&node.op, &ins)
        })
        .collect();
    Ok(Plan {
        shapes,
        storage,
        steps,
        prepacked,
        arena_bytes: placement.arena_bytes,
        lower_bound_bytes: placement.lower_bound_bytes,
        folded_nodes,
        aliased_nodes,
        report: d.report.clone(),
    })
}
