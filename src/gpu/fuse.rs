//! Folding nodes into a convolution next to them, so that fewer dispatches run: a residual
//! ADD into the convolution that produces one of its operands (the sum is written by the
//! convolution's dispatch), a PAD of the other operand's channels (BlazeFace's shortcuts) into
//! the same read, a zero PAD of the height and width into the own padding of every
//! convolution that reads it, a standalone RELU / RELU6 / RELU_N1_TO_1 after a convolution or
//! a folded ADD into its fused activation, and a PRELU with one slope per channel after a
//! CONV_2D or a folded ADD into its epilogue (BlazeFace, BlazePalm and their landmark models
//! end every block with one).
//!
//! The graph decides whether nodes may be folded, the lowered convolution whether they can be
//! ([`lower::fold_residual_add`] and [`lower::fold_prelu`]: only the kernels with these
//! epilogues; [`lower::fold_activation`]). A folded ADD runs where the ADD ran: every input of
//! the convolution and of the ADD exists by then (the residual operand may be computed after
//! the convolution, as BlazeFace's padded shortcuts are).

use std::collections::{HashMap, HashSet};

use crate::graph::{Graph, Op, TensorId};
use crate::model::Activation;

use super::lower::{self, Binding, DispatchSpec, Lowered};

/// The nodes of a partition graph that are folded into a convolution.
pub(crate) struct Folds {
    /// By node index: the dispatch that runs in that node's place (a convolution with what was
    /// folded into it), the convolution's node index and a label suffix.
    replaced: HashMap<usize, (usize, &'static str, DispatchSpec)>,
    /// Nodes that dispatch nothing: folded nodes, and convolutions that run at their ADD.
    skipped: HashSet<usize>,
}

/// The activation of a standalone RELU-like node.
fn relu_like(op: &Op) -> Option<Activation> {
    match op {
        Op::Relu => Some(Activation::Relu),
        Op::Relu6 => Some(Activation::Relu6),
        Op::ReluN1To1 => Some(Activation::ReluN1To1),
        _ => None,
    }
}

/// A PAD node of a rank-4 tensor with constant paddings: its input and the 8 padding amounts
/// (before and after, per dimension).
fn pad_node(graph: &Graph, node: usize) -> Option<(TensorId, Vec<i64>)> {
    let node = &graph.nodes[node];
    if !matches!(node.op, Op::Pad) {
        return None;
    }
    let (x, pads) = (node.input(0)?, node.input(1)?);
    let pads = &graph.tensors[pads];
    let p = lower::int_values(pads.dtype, pads.data.as_ref()?)?;
    (p.len() == 8 && graph.tensors[x].shape.len() == 4).then_some((x, p))
}

/// A PAD node that pads only the height and width with zeros: its input, the input's height
/// and width, and the rows and columns added before them.
fn spatial_pad(graph: &Graph, node: usize) -> Option<(TensorId, [usize; 2], [usize; 2])> {
    let (x, p) = pad_node(graph, node)?;
    let xs = &graph.tensors[x].shape;
    let spatial_only = [p[0], p[1], p[6], p[7]] == [0; 4] && p[2..6].iter().all(|&v| v >= 0);
    let before = [usize::try_from(p[2]).ok()?, usize::try_from(p[4]).ok()?];
    spatial_only.then_some((x, [xs[1], xs[2]], before))
}

/// The channel padding of a PAD node that pads only the last dimension, at its end, with
/// zeros: the input and its channel count.
fn channel_pad(graph: &Graph, node: usize) -> Option<(TensorId, usize)> {
    let (x, p) = pad_node(graph, node)?;
    let y = *graph.nodes[node].outputs.first()?;
    let (xs, ys) = (&graph.tensors[x].shape, &graph.tensors[y].shape);
    let only_channels_after = p[..7].iter().all(|&v| v == 0) && p[7] >= 0;
    (only_channels_after && ys.len() == 4 && xs[..3] == ys[..3]).then_some((x, xs[3]))
}

/// Whether `alpha` is a constant of one value per channel (`channels` of them, every other
/// dimension 1), as PRELU's slopes are when they broadcast over the pixels.
fn per_channel(graph: &Graph, alpha: TensorId, channels: usize) -> bool {
    let t = &graph.tensors[alpha];
    let dims = t.shape.split_last();
    t.data.is_some() && dims.is_some_and(|(&c, rest)| c == channels && rest.iter().all(|&d| d == 1))
}

impl Folds {
    /// Folds every `y = ADD(c, r)` of `graph` where `c` is the output of a CONV_2D node that
    /// only this ADD reads and that is not a graph output, both operands and `y` have the same
    /// shape (no broadcasting), `r` is another tensor, and the convolution lowers (`lower`) to
    /// one dispatch of a kernel with a residual epilogue. The convolution's own activation
    /// comes before the sum and the ADD's after it, as when they run apart. When `r` is the
    /// output of a PAD that only this ADD reads, not a graph output, padding only the channels
    /// at their end with zeros, the convolution reads the PAD's input instead (zero past its
    /// channels) and the PAD dispatches nothing either.
    ///
    /// A PAD of only the height and width, with zeros, whose output is not a graph output and
    /// is read only by convolutions (as their input) whose kernels pad, becomes the padding of
    /// each of them.
    ///
    /// A RELU-like node that alone reads the output of a folded ADD without activation, or of
    /// another CONV_2D / DEPTHWISE_CONV_2D without activation, and whose input is not a graph
    /// output, becomes that ADD's or convolution's activation (the convolution writes the
    /// RELU's output).
    ///
    /// A PRELU whose slopes are a constant with one value per channel (every other dimension
    /// 1), that alone reads the output of a folded ADD or of a CONV_2D, not a graph output,
    /// is applied by that convolution's dispatch after everything else it does (it writes the
    /// PRELU's output).
    pub(crate) fn new(graph: &Graph, lower: impl Fn(usize) -> Result<Lowered, String>) -> Folds {
        let producers = graph.producers();
        let consumers = graph.consumers();
        let only_for = |t: TensorId, n: usize| consumers[t] == [n] && !graph.outputs.contains(&t);
        // The RELU-like node that alone reads `t`, with its activation and output.
        let relu_after = |t: TensorId| {
            let [n] = consumers[t].as_slice() else {
                return None;
            };
            let act = relu_like(&graph.nodes[*n].op)?;
            let y = *graph.nodes[*n].outputs.first()?;
            (!graph.outputs.contains(&t) && graph.tensors[y].shape == graph.tensors[t].shape)
                .then_some((*n, act, y))
        };
        let mut folds = Folds {
            replaced: HashMap::new(),
            skipped: HashSet::new(),
        };
        for (add, node) in graph.nodes.iter().enumerate() {
            let Op::Add(add_act) = node.op else { continue };
            let ([Some(a), Some(b)], [y]) = (node.inputs.as_slice(), node.outputs.as_slice())
            else {
                continue;
            };
            let shape = &graph.tensors[*y].shape;
            if a == b || &graph.tensors[*a].shape != shape || &graph.tensors[*b].shape != shape {
                continue;
            }
            // A RELU after an ADD without activation is the ADD's activation.
            let relu = relu_after(*y).filter(|_| add_act == Activation::None);
            let (act, out) = relu.map_or((add_act, *y), |(_, act, out)| (act, out));
            for (c, r) in [(*a, *b), (*b, *a)] {
                let Some(conv) = producers[c] else { continue };
                if !matches!(graph.nodes[conv].op, Op::Conv2D(_)) || !only_for(c, add) {
                    continue;
                }
                let Ok(Lowered::Dispatches(mut d)) = lower(conv) else {
                    continue;
                };
                let [spec] = d.as_mut_slice() else { continue };
                let pad = producers[r]
                    .filter(|_| only_for(r, add))
                    .and_then(|p| channel_pad(graph, p).map(|(s, channels)| (p, s, channels)));
                let mut folded = None;
                if let Some((pad, s, channels)) = pad {
                    let mut padded = spec.clone();
                    if lower::fold_residual_add(&mut padded, s, Some(channels), out, act) {
                        folded = Some((padded, Some(pad)));
                    }
                }
                if folded.is_none() && lower::fold_residual_add(spec, r, None, out, act) {
                    folded = Some((spec.clone(), None));
                }
                let Some((spec, pad)) = folded else { continue };
                folds.skipped.insert(conv);
                if let Some(pad) = pad {
                    folds.skipped.insert(pad);
                }
                if let Some((relu, _, _)) = relu {
                    folds.skipped.insert(relu);
                }
                let suffix = match (pad.is_some(), relu.is_some()) {
                    (true, true) => "+PAD+ADD+RELU",
                    (true, false) => "+PAD+ADD",
                    (false, true) => "+ADD+RELU",
                    (false, false) => "+ADD",
                };
                folds.replaced.insert(add, (conv, suffix, spec));
                break;
            }
        }
        // Zero PADs of height and width in front of the other convolutions: folded when every
        // reader of the padded tensor is a convolution that can take the padding as its own
        // (pose_detection pads once for two depthwise branches).
        for (pad, node) in graph.nodes.iter().enumerate() {
            let Some((x, size, before)) = spatial_pad(graph, pad) else {
                continue;
            };
            let Some(&padded) = node.outputs.first() else {
                continue;
            };
            let readers = &consumers[padded];
            if readers.is_empty() || graph.outputs.contains(&padded) {
                continue;
            }
            let mut specs = Vec::with_capacity(readers.len());
            for &conv in readers {
                let reader = &graph.nodes[conv];
                let convolution = matches!(reader.op, Op::Conv2D(_) | Op::DepthwiseConv2D(_));
                let only_input =
                    reader.input(0) == Some(padded) && !reader.inputs[1..].contains(&Some(padded));
                if !convolution || !only_input || folds.skipped.contains(&conv) {
                    break;
                }
                let Ok(Lowered::Dispatches(mut d)) = lower(conv) else {
                    break;
                };
                let [spec] = d.as_mut_slice() else { break };
                if !lower::fold_spatial_pad(spec, x, size, before) {
                    break;
                }
                specs.push((conv, spec.clone()));
            }
            if specs.len() == readers.len() {
                folds.skipped.insert(pad);
                for (conv, spec) in specs {
                    folds.replaced.insert(conv, (conv, "+PAD", spec));
                }
            }
        }
        // Standalone activations after the other convolutions (with a PAD folded in or not).
        for (conv, node) in graph.nodes.iter().enumerate() {
            let linear = match &node.op {
                Op::Conv2D(o) => o.activation == Activation::None,
                Op::DepthwiseConv2D(o) => o.activation == Activation::None,
                _ => false,
            };
            if !linear || folds.skipped.contains(&conv) {
                continue;
            }
            let Some((relu, act, out)) = node.outputs.first().and_then(|&t| relu_after(t)) else {
                continue;
            };
            let (mut spec, padded) = match folds.replaced.get(&conv) {
                Some((_, _, spec)) => (spec.clone(), true),
                None => {
                    let Ok(Lowered::Dispatches(d)) = lower(conv) else {
                        continue;
                    };
                    let [spec] = d.as_slice() else { continue };
                    (spec.clone(), false)
                }
            };
            if lower::fold_activation(&mut spec, out, act) {
                folds.skipped.insert(relu);
                let suffix = if padded { "+PAD+RELU" } else { "+RELU" };
                folds.replaced.insert(conv, (conv, suffix, spec));
            }
        }
        // PRELUs after a CONV_2D or a folded ADD, one slope per channel.
        for (prelu, node) in graph.nodes.iter().enumerate() {
            let (Op::Prelu, [Some(x), Some(alpha)], [y]) =
                (&node.op, node.inputs.as_slice(), node.outputs.as_slice())
            else {
                continue;
            };
            let shape = &graph.tensors[*x].shape;
            let Some(&channels) = shape.last() else {
                continue;
            };
            if !only_for(*x, prelu)
                || graph.tensors[*y].shape != *shape
                || !per_channel(graph, *alpha, channels)
            {
                continue;
            }
            let Some(producer) = producers[*x] else {
                continue;
            };
            // The dispatch that writes `x`: one that runs in the producer's place with
            // something folded in, or the producer's own convolution.
            let (conv, suffix, mut spec) = match folds.replaced.get(&producer) {
                Some((conv, suffix, spec)) => (*conv, *suffix, spec.clone()),
                None if matches!(graph.nodes[producer].op, Op::Conv2D(_))
                    && !folds.skipped.contains(&producer) =>
                {
                    let Ok(Lowered::Dispatches(d)) = lower(producer) else {
                        continue;
                    };
                    let [spec] = d.as_slice() else { continue };
                    (producer, "", spec.clone())
                }
                None => continue,
            };
            let suffix = match suffix {
                "" => "+PRELU",
                "+PAD" => "+PAD+PRELU",
                "+ADD" => "+ADD+PRELU",
                "+PAD+ADD" => "+PAD+ADD+PRELU",
                _ => continue,
            };
            if spec.bindings.get(3) == Some(&Binding::Tensor(*x))
                && lower::fold_prelu(&mut spec, *alpha, channels, *y)
            {
                folds.skipped.insert(prelu);
                folds.replaced.insert(producer, (conv, suffix, spec));
            }
        }
        folds
    }

    /// Whether node `node` dispatches nothing of its own (folded, or run at its ADD).
    pub(crate) fn skips(&self, node: usize) -> bool {
        self.skipped.contains(&node)
    }

    /// When a convolution runs in node `node`'s place (with what was folded into it): its node
    /// index, a label suffix, and its dispatch.
    pub(crate) fn take(&mut self, node: usize) -> Option<(usize, &'static str, DispatchSpec)> {
        self.replaced.remove(&node)
    }
}
