//! The delegate's `Prepare`: translate the execution plan, decide support with the GPU
//! delegate, fold FP16 DEQUANTIZEs, partition, and hand the claimed nodes to the runtime.

use std::collections::HashMap;
use std::sync::Arc;

use super::abi::{self, TfLiteContext, TfLiteDelegate, TfLiteNode, TfLiteRegistration};
use super::{kernel, lock, report, translate, State};
use crate::delegate::{partition, Delegate, NodeView, TensorView};
use crate::gpu::GpuDelegate;
use crate::graph::{ConstData, Node, Op, TensorId, TensorInfo, TensorRole};
use crate::model::TensorType;

/// The most tensors accepted from a context.
const MAX_TENSORS: usize = 1 << 24;

/// One `Prepare`'s translation of a subgraph and what was decided.
pub(crate) struct Prepared {
    /// Every tensor of the context, in its index order.
    pub tensors: Vec<TensorInfo>,
    /// Why a tensor cannot be used (bad dims, short constant data), by index.
    pub tensor_errors: Vec<Option<String>>,
    /// The execution plan's nodes; `Node::index` is the runtime's node index.
    pub nodes: Vec<Node>,
    /// Per node (plan order): why it stays on the CPU (`None` when claimed).
    pub reasons: Vec<Option<String>>,
    /// For a tensor made by a folded FP16 DEQUANTIZE: the FLOAT16 constant it reads.
    pub f16_source: Vec<Option<TensorId>>,
    /// Node indices of folded nodes (FP16 DEQUANTIZEs, DENSIFYs of sparse constants): their
    /// consumers read the constant they compute, and they join their consumers' partition.
    pub folded: Vec<usize>,
    /// Claimed node indices, in plan order.
    pub claimed: Vec<usize>,
    /// Partitions halfgpu's partitioner made of the claimed nodes.
    pub partitions: usize,
}

/// A copy of one `Prepare`'s translation, for tests and tools.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The context's tensors as IR tensors (constants with their data).
    pub tensors: Vec<TensorInfo>,
    /// The plan's nodes as IR nodes (`index` = the runtime's node index).
    pub nodes: Vec<Node>,
    /// Claimed node indices.
    pub claimed: Vec<usize>,
    /// Per node (plan order): why it was not claimed.
    pub reasons: Vec<Option<String>>,
    /// Node indices of FP16 DEQUANTIZEs and DENSIFYs folded into their consumers.
    pub folded: Vec<usize>,
}

impl From<&Prepared> for Snapshot {
    fn from(p: &Prepared) -> Self {
        Snapshot {
            tensors: p.tensors.clone(),
            nodes: p.nodes.clone(),
            claimed: p.claimed.clone(),
            reasons: p.reasons.clone(),
            folded: p.folded.clone(),
        }
    }
}

impl Prepared {
    /// The tensor a delegated node reads in place of `t`.
    pub fn view_of(&self, t: TensorId) -> TensorId {
        self.f16_source.get(t).copied().flatten().unwrap_or(t)
    }

    /// The constant value of a tensor (sparse constants are not values: DENSIFY reads them).
    pub fn constant(&self, t: TensorId) -> Option<&ConstData> {
        let info = &self.tensors[t];
        info.data.as_ref().filter(|_| info.sparsity.is_none())
    }

    fn tensor_view(&self, t: TensorId) -> TensorView<'_> {
        let info = &self.tensors[t];
        TensorView {
            id: t,
            name: &info.name,
            shape: &info.shape,
            dtype: info.dtype,
            constant: self.constant(t),
        }
    }

    /// What the delegate sees of a node: inputs rewired to FLOAT16 constants.
    fn node_view<'a>(&'a self, node: &'a Node) -> NodeView<'a> {
        NodeView {
            node,
            inputs: node
                .inputs
                .iter()
                .map(|t| t.map(|t| self.tensor_view(self.view_of(t))))
                .collect(),
            outputs: node.outputs.iter().map(|&t| self.tensor_view(t)).collect(),
        }
    }
}

fn index_list(raw: &[i32], n: usize, what: &str) -> Result<Vec<Option<TensorId>>, String> {
    raw.iter()
        .map(|&i| match i {
            -1 => Ok(None),
            i if i >= 0 && (i as usize) < n => Ok(Some(i as usize)),
            i => Err(format!("{what} tensor index {i} out of range (0..{n})")),
        })
        .collect()
}

/// Translates the plan of `ctx` (no decisions yet).
///
/// # Safety
/// `ctx` must be a live context handed to `Prepare`.
unsafe fn translate_context(ctx: *mut TfLiteContext) -> Result<Prepared, String> {
    if ctx.is_null() {
        return Err("NULL context".into());
    }
    // SAFETY: non-null context from the runtime.
    let c = unsafe { &*ctx };
    let get_plan = c
        .get_execution_plan
        .ok_or("context has no GetExecutionPlan")?;
    let get_node = c
        .get_node_and_registration
        .ok_or("context has no GetNodeAndRegistration")?;
    let mut plan_ptr: *mut abi::TfLiteIntArray = std::ptr::null_mut();
    // SAFETY: the runtime's own function with its own context and a valid out pointer.
    if unsafe { get_plan(ctx, &mut plan_ptr) } != abi::STATUS_OK {
        return Err("GetExecutionPlan failed".into());
    }
    // SAFETY: the plan pointer was just filled by the runtime (null is refused); copied at once.
    let plan = unsafe { translate::int_array(plan_ptr) }.map_err(|e| format!("plan: {e}"))?;
    let n = c.tensors_size;
    if n > MAX_TENSORS {
        return Err(format!("context claims {n} tensors"));
    }
    if n > 0 && c.tensors.is_null() {
        return Err("context has tensors_size > 0 but no tensors".into());
    }
    let raw_tensors = if n == 0 {
        &[][..]
    } else {
        // SAFETY: tensors is non-null and holds tensors_size tensors (checked above).
        unsafe { std::slice::from_raw_parts(c.tensors, n) }
    };
    let mut tensors = Vec::with_capacity(n);
    let mut tensor_errors = Vec::with_capacity(n);
    for t in raw_tensors {
        // SAFETY: a tensor of the live context.
        match unsafe { translate::tensor_info(t) } {
            Ok(info) => {
                tensors.push(info);
                tensor_errors.push(None);
            }
            Err(e) => {
                tensors.push(TensorInfo {
                    // SAFETY: as above.
                    name: unsafe { translate::tensor_name(t) },
                    shape: Vec::new(),
                    signature: Vec::new(),
                    dtype: TensorType::Unknown(-1),
                    role: TensorRole::Activation,
                    data: None,
                    quantization: None,
                    sparsity: None,
                });
                tensor_errors.push(Some(e));
            }
        }
    }
    let mut nodes = Vec::with_capacity(plan.len());
    let mut reasons = Vec::with_capacity(plan.len());
    for &ni in &plan {
        let index = usize::try_from(ni).map_err(|_| format!("plan holds node index {ni}"))?;
        let mut np: *mut TfLiteNode = std::ptr::null_mut();
        let mut rp: *mut TfLiteRegistration = std::ptr::null_mut();
        // SAFETY: the runtime's function, its context, valid out pointers.
        if unsafe { get_node(ctx, ni, &mut np, &mut rp) } != abi::STATUS_OK
            || np.is_null()
            || rp.is_null()
        {
            return Err(format!("GetNodeAndRegistration failed for node {ni}"));
        }
        // SAFETY: both non-null, owned by the runtime for the duration of Prepare.
        let (node, reg) = unsafe { (&*np, &*rp) };
        let mut reason = None;
        // SAFETY: arrays of a live node.
        let inputs =
            unsafe { translate::int_array(node.inputs) }.and_then(|v| index_list(&v, n, "input"));
        // SAFETY: as above.
        let outputs =
            unsafe { translate::int_array(node.outputs) }.and_then(|v| index_list(&v, n, "output"));
        // SAFETY: node and registration of a live context.
        let op = match unsafe { translate::op(reg, node) } {
            Ok(op) => op,
            Err(e) => {
                reason = Some(e);
                Op::Unsupported {
                    name: translate::op_name(reg.builtin_code, None),
                }
            }
        };
        let (inputs, outputs) = match (inputs, outputs) {
            (Ok(i), Ok(o)) if o.iter().all(Option::is_some) => {
                (i, o.into_iter().flatten().collect())
            }
            (i, o) => {
                reason = Some(format!(
                    "malformed node: {}",
                    i.err()
                        .or(o.err())
                        .unwrap_or_else(|| "absent output".into())
                ));
                (Vec::new(), Vec::new())
            }
        };
        nodes.push(Node {
            op,
            inputs,
            outputs,
            index,
        });
        reasons.push(reason);
    }
    Ok(Prepared {
        f16_source: vec![None; tensors.len()],
        tensors,
        tensor_errors,
        nodes,
        reasons,
        folded: Vec::new(),
        claimed: Vec::new(),
        partitions: 0,
    })
}

/// Folds what the Rust runtime's planner folds: a DENSIFY of a sparse constant becomes its
/// dense value, and a DEQUANTIZE of a constant FLOAT16 tensor is read through by its consumers
/// (they see the f16 constant).
fn fold_constants(p: &mut Prepared) {
    for k in 0..p.nodes.len() {
        let node = &p.nodes[k];
        let (Some(src), [out]) = (node.input(0), node.outputs.as_slice()) else {
            continue;
        };
        let (src, out, index) = (src, *out, node.index);
        if p.tensor_errors[src].is_some() || p.tensor_errors[out].is_some() {
            continue;
        }
        match node.op {
            Op::Densify => {
                let s = &p.tensors[src];
                let (Some(data), Some(sparsity), Some(elem)) =
                    (&s.data, &s.sparsity, s.dtype.size_bytes())
                else {
                    continue;
                };
                match crate::cpu::densify(sparsity, &p.tensors[out].shape, elem, data.bytes()) {
                    Ok(dense) if p.tensors[out].dtype == s.dtype => {
                        p.tensors[out].data = Some(ConstData::from_bytes(&dense));
                        p.folded.push(index);
                    }
                    Ok(_) => {}
                    Err(e) => log::debug!("halfgpu: DENSIFY node {index} not folded: {e}"),
                }
            }
            Op::Dequantize
                if p.tensors[src].dtype == TensorType::Float16
                    && p.constant(src).is_some()
                    && p.tensors[out].dtype == TensorType::Float32 =>
            {
                p.f16_source[out] = Some(src);
                p.folded.push(index);
            }
            _ => {}
        }
    }
}

/// Decides support and partitions. Returns the claimed node indices.
fn decide(p: &mut Prepared, gpu: &GpuDelegate) {
    let count = p.nodes.len();
    let folded: Vec<bool> = p
        .nodes
        .iter()
        .map(|n| p.folded.contains(&n.index))
        .collect();
    // Candidates: every plan node but the folded DEQUANTIZEs (which follow their consumers).
    let cand: Vec<usize> = (0..count).filter(|&k| !folded[k]).collect();
    let mut producer: HashMap<TensorId, usize> = HashMap::new();
    for (c, &k) in cand.iter().enumerate() {
        for &o in &p.nodes[k].outputs {
            producer.insert(o, c);
        }
    }
    let deps: Vec<Vec<usize>> = cand
        .iter()
        .map(|&k| {
            let mut d: Vec<usize> = p.nodes[k]
                .inputs
                .iter()
                .flatten()
                .map(|&t| p.view_of(t))
                .filter(|&t| p.constant(t).is_none())
                .filter_map(|t| producer.get(&t).copied())
                .collect();
            d.sort_unstable();
            d.dedup();
            d
        })
        .collect();
    let mut reasons = std::mem::take(&mut p.reasons);
    let supported: Vec<bool> = cand
        .iter()
        .map(|&k| {
            if reasons[k].is_some() {
                return false;
            }
            let node = &p.nodes[k];
            let bad = node
                .inputs
                .iter()
                .flatten()
                .map(|&t| p.view_of(t))
                .chain(node.outputs.iter().copied())
                .find_map(|t| p.tensor_errors[t].clone());
            if let Some(e) = bad {
                reasons[k] = Some(e);
                return false;
            }
            match gpu.supports(&p.node_view(node)) {
                Ok(()) => true,
                Err(why) => {
                    reasons[k] = Some(format!("gpu: {why}"));
                    false
                }
            }
        })
        .collect();
    let mut assigned: Vec<Option<usize>> = vec![None; cand.len()];
    let mut next_id = 0;
    let created = partition::assign(&deps, &supported, &mut assigned, &mut next_id);
    let opts = gpu.partition_options();
    let members = |assigned: &[Option<usize>], q: usize| -> Vec<usize> {
        (0..cand.len())
            .filter(|&c| assigned[c] == Some(q))
            .collect()
    };
    let mut by_size: Vec<(usize, usize)> = created
        .iter()
        .map(|&q| (members(&assigned, q).len(), q))
        .collect();
    by_size.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    let mut kept = 0;
    for (rank, &(size, q)) in by_size.iter().enumerate() {
        let why = if size < opts.min_partition_nodes {
            Some(format!(
                "partition of {size} node(s) is below min_partition_nodes = {}",
                opts.min_partition_nodes
            ))
        } else if opts.max_delegated_partitions.is_some_and(|m| rank >= m) {
            Some(format!(
                "partition of {size} node(s) not delegated: max_delegated_partitions keeps the largest"
            ))
        } else {
            None
        };
        match why {
            Some(why) => {
                for c in members(&assigned, q) {
                    assigned[c] = None;
                    reasons[cand[c]] = Some(why.clone());
                }
            }
            None => kept += 1,
        }
    }
    // Partition of every node (plan position), then each folded node joins its consumers when
    // they all sit in one partition (otherwise it stays on the CPU). Reverse plan order, so a
    // DENSIFY feeding a folded DEQUANTIZE sees where that DEQUANTIZE went.
    let mut part_of: Vec<Option<usize>> = vec![None; count];
    for (c, &k) in cand.iter().enumerate() {
        part_of[k] = assigned[c];
    }
    for k in (0..count).rev().filter(|&k| folded[k]) {
        let out = p.nodes[k].outputs[0];
        let consumers: Vec<usize> = (0..count)
            .filter(|&j| p.nodes[j].inputs.iter().flatten().any(|&t| t == out))
            .collect();
        let parts: Vec<Option<usize>> = consumers.iter().map(|&j| part_of[j]).collect();
        match parts.first() {
            Some(Some(q)) if parts.iter().all(|x| *x == Some(*q)) => part_of[k] = Some(*q),
            _ => {
                reasons[k] =
                    Some("folded constant whose consumers are not all in one GPU partition".into())
            }
        }
    }
    p.claimed = (0..count)
        .filter(|&k| part_of[k].is_some())
        .map(|k| p.nodes[k].index)
        .collect();
    for k in 0..count {
        if part_of[k].is_none() && reasons[k].is_none() {
            reasons[k] = Some("not claimed".into());
        }
        if part_of[k].is_some() {
            reasons[k] = None;
        }
    }
    p.reasons = reasons;
    p.partitions = kept;
}

/// `Prepare` proper.
///
/// # Safety
/// `ctx` and `delegate` come from the runtime's call of `Prepare`; `state` is the delegate's.
pub(crate) fn prepare(
    ctx: *mut TfLiteContext,
    delegate: *mut TfLiteDelegate,
    state: &State,
) -> Result<(), String> {
    // SAFETY: ctx is the runtime's live context for this Prepare call (null refused inside).
    let mut p = unsafe { translate_context(ctx) }?;
    fold_constants(&mut p);
    {
        let mut gpu = lock(&state.gpu);
        if gpu.is_none() {
            match GpuDelegate::new(state.options.clone()) {
                Ok(g) => {
                    log::info!(
                        "halfgpu: {} in {}",
                        g.context().adapter_name(),
                        g.effective_precision()
                    );
                    *gpu = Some(g);
                }
                Err(e) => {
                    let msg = format!("halfgpu: no GPU ({e}); every node runs on the CPU");
                    report(ctx, &msg);
                    for r in p.reasons.iter_mut() {
                        r.get_or_insert_with(|| msg.clone());
                    }
                    *lock(&state.last) = Some(Arc::new(p));
                    return Ok(());
                }
            }
        }
        if let Some(g) = gpu.as_ref() {
            decide(&mut p, g);
        }
    }
    log::info!(
        "halfgpu: claimed {} of {} nodes in {} partition(s)",
        p.claimed.len(),
        p.nodes.len(),
        p.partitions
    );
    for (node, why) in p.nodes.iter().zip(&p.reasons) {
        if let Some(why) = why {
            log::debug!(
                "halfgpu: node {} ({}) on the CPU: {why}",
                node.index,
                node.op.name()
            );
        }
    }
    let p = Arc::new(p);
    *lock(&state.last) = Some(p.clone());
    if p.claimed.is_empty() {
        return Ok(());
    }
    let mut list: Vec<i32> = Vec::with_capacity(p.claimed.len() + 1);
    list.push(p.claimed.len() as i32);
    list.extend(p.claimed.iter().map(|&i| i as i32));
    // SAFETY: ctx was checked non-null by translate_context.
    let replace = unsafe { (*ctx).replace_node_subsets_with_delegate_kernels }
        .ok_or("context has no ReplaceNodeSubsetsWithDelegateKernels")?;
    *lock(&state.current) = Some(p.clone());
    // SAFETY: the runtime's function with its context, a registration filled in full, a
    // TfLiteIntArray laid out as size + ints (the Vec outlives the call), and our delegate.
    let status = unsafe {
        replace(
            ctx,
            kernel::registration(),
            list.as_ptr() as *const abi::TfLiteIntArray,
            delegate,
        )
    };
    *lock(&state.current) = None;
    if status != abi::STATUS_OK {
        return Err("ReplaceNodeSubsetsWithDelegateKernels failed".into());
    }
    Ok(())
}
