//! Planning at build time: shapes, constant folding (FLOAT16 DEQUANTIZE and DENSIFY included),
//! which nodes run at invoke, aliasing of reshape-like ops, and the activation arena.

use crate::cpu::{self, CpuContext, ShapeIn, TensorIn, TensorOut};
use crate::graph::{ConstData, Graph, Op, TensorId};
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
    /// Nodes executed at invoke, in order.
    pub steps: Vec<usize>,
    pub arena_bytes: usize,
    pub lower_bound_bytes: usize,
    /// Nodes computed once at build time.
    pub folded_nodes: usize,
    /// Reshape-like nodes that cost nothing at invoke (their output shares the input's bytes).
    pub aliased_nodes: usize,
}

fn byte_len(shape: &[usize], dtype: TensorType) -> usize {
    shape.iter().product::<usize>() * dtype.size_bytes().unwrap_or(0)
}

/// Plans `graph` with the current input `shapes` (the graph's own for inputs not resized).
pub(crate) fn plan(
    graph: &Graph,
    input_shapes: &[Vec<usize>],
    ctx: &CpuContext,
) -> Result<Plan, RuntimeError> {
    let resized = graph
        .inputs
        .iter()
        .zip(input_shapes)
        .any(|(&t, s)| graph.tensors[t].shape != *s);
    let mut shapes: Vec<Vec<usize>> = graph.tensors.iter().map(|t| t.shape.clone()).collect();
    for (&t, s) in graph.inputs.iter().zip(input_shapes) {
        shapes[t] = s.clone();
    }
    refuse_quantized(graph)?;

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
    let mut missing: Vec<MissingOp> = Vec::new();
    let mut runtime_nodes: Vec<usize> = Vec::new();
    let mut folded_nodes = 0;
    for (ni, node) in graph.nodes.iter().enumerate() {
        let tensor_of = |t: TensorId| &graph.tensors[t];
        let mut note_missing = |reason: String| {
            let op = node.op.name().to_string();
            match missing
                .iter_mut()
                .find(|m| m.op == op && m.reason == reason)
            {
                Some(m) => m.nodes.push(node.index),
                None => missing.push(MissingOp {
                    op,
                    nodes: vec![node.index],
                    reason,
                }),
            }
        };
        match &node.op {
            Op::Unsupported { name } => {
                note_missing(format!("{name} has no CPU kernel"));
                continue;
            }
            Op::Densify => {
                let src = node.input(0).map(tensor_of);
                match (src, node.outputs.first()) {
                    (Some(src), Some(&out)) if src.data.is_some() && src.sparsity.is_some() => {
                        let (Some(data), Some(sparsity)) = (&src.data, &src.sparsity) else {
                            unreachable!("checked above")
                        };
                        let elem = src.dtype.size_bytes().unwrap_or(0);
                        let dense = cpu::densify(sparsity, &shapes[out], elem, data.bytes())
                            .map_err(|source| RuntimeError::Kernel {
                                node: node.index,
                                op: "DENSIFY".into(),
                                source,
                            })?;
                        values[out] = Some(ConstData::from_bytes(&dense));
                        folded_nodes += 1;
                    }
                    _ => note_missing("DENSIFY of a tensor that is not a sparse constant".into()),
                }
                continue;
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
        if let Err(reason) = cpu::check_supported(&node.op, &ins) {
            note_missing(reason);
            continue;
        }
        let declared: Vec<Vec<usize>> = node
            .outputs
            .iter()
            .map(|&o| graph.tensors[o].shape.clone())
            .collect();
        let out_shapes = match cpu::infer_shapes(&node.op, &ins) {
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
            Err(e) => {
                return Err(RuntimeError::Kernel {
                    node: node.index,
                    op: node.op.name().into(),
                    source: e,
                })
            }
        };
        drop(ins);
        for (&o, s) in node.outputs.iter().zip(out_shapes) {
            shapes[o] = s;
        }
        let all_known = node.inputs.iter().flatten().next().is_some()
            && node.inputs.iter().flatten().all(|&t| values[t].is_some());
        if all_known {
            fold(graph, ni, &shapes, &mut values, ctx)?;
            folded_nodes += 1;
        } else {
            runtime_nodes.push(ni);
        }
    }
    if !missing.is_empty() {
        return Err(RuntimeError::UnsupportedOps(missing));
    }
    place_activations(graph, shapes, values, runtime_nodes, folded_nodes)
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

/// Decides the storage of every tensor: constants stay where they are, reshape-like nodes alias
/// their input, and everything computed at invoke gets a range of the arena by lifetime.
fn place_activations(
    graph: &Graph,
    shapes: Vec<Vec<usize>>,
    values: Vec<Option<ConstData>>,
    runtime_nodes: Vec<usize>,
    folded_nodes: usize,
) -> Result<Plan, RuntimeError> {
    let n = graph.tensors.len();
    // root[t]: the tensor whose bytes t shares (itself unless aliased).
    let mut root: Vec<usize> = (0..n).collect();
    let mut steps = Vec::with_capacity(runtime_nodes.len());
    let mut aliased_nodes = 0;
    for &ni in &runtime_nodes {
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
        steps.push(ni);
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
    for (pos, &ni) in steps.iter().enumerate() {
        let node = &graph.nodes[ni];
        for &o in &node.outputs {
            let r = root[o];
            is_runtime[r] = true;
            first[r] = first[r].min(pos);
            last[r] = last[r].max(pos);
        }
        for &i in node.inputs.iter().flatten() {
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
    let placement = arena::place(&lifetimes);
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
    // Every runtime output of every node must be in the arena, disjoint from its inputs.
    for &ni in &steps {
        let node = &graph.nodes[ni];
        for &o in &node.outputs {
            let Storage::Arena { offset, len } = storage[o] else {
                return Err(RuntimeError::Shape {
                    tensor: graph.tensors[o].name.clone(),
                    msg: "computed at invoke but has no storage".into(),
                });
            };
            for &i in node
                .inputs
                .iter()
                .flatten()
                .chain(node.outputs.iter().filter(|&&x| x != o))
            {
                if let Storage::Arena {
                    offset: io,
                    len: il,
                } = storage[i]
                {
                    if offset < io + il && io < offset + len && i != o {
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
    Ok(Plan {
        shapes,
        storage,
        steps,
        arena_bytes: placement.arena_bytes,
        lower_bound_bytes: placement.lower_bound_bytes,
        folded_nodes,
        aliased_nodes,
    })
}
