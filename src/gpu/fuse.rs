//! Folding a residual ADD into the convolution that produces one of its operands, so that the
//! sum is written by the convolution's dispatch and the ADD dispatches nothing; and a PAD of the
//! other operand's channels (BlazeFace's shortcuts) into the same read.
//!
//! The graph decides whether a pair may be folded, the lowered convolution whether it can be
//! ([`lower::fold_residual_add`]: only kernels with a residual epilogue). The folded dispatch
//! runs where the ADD ran: every input of the convolution and of the ADD exists by then (the
//! residual operand may be computed after the convolution, as BlazeFace's padded shortcuts
//! are).

use std::collections::{HashMap, HashSet};

use crate::graph::{Graph, Op, TensorId};
use crate::model::TensorType;

use super::lower::{self, DispatchSpec, Lowered};

/// The residual ADDs of a partition graph that are folded into a convolution.
pub(crate) struct ResidualFolds {
    /// By the ADD's node index: the convolution's node index, a label suffix, and its
    /// dispatch, which writes the sum.
    at_add: HashMap<usize, (usize, &'static str, DispatchSpec)>,
    /// Nodes that dispatch nothing: folded convolutions (they run at their ADD) and PADs.
    skipped: HashSet<usize>,
}

/// The channel padding of a PAD node that pads only the last dimension of a rank-4 tensor, at
/// its end, with zeros: the input and its channel count.
fn channel_pad(graph: &Graph, node: usize) -> Option<(TensorId, usize)> {
    let node = &graph.nodes[node];
    if !matches!(node.op, Op::Pad) {
        return None;
    }
    let (x, pads, y) = (node.input(0)?, node.input(1)?, *node.outputs.first()?);
    let pads = &graph.tensors[pads];
    let data = pads.data.as_ref()?;
    let p: Vec<i64> = match pads.dtype {
        TensorType::Int32 => data.as_slice::<i32>()?.iter().map(|&v| v as i64).collect(),
        TensorType::Int64 => data.as_slice::<i64>()?.to_vec(),
        _ => return None,
    };
    let (xs, ys) = (&graph.tensors[x].shape, &graph.tensors[y].shape);
    let only_channels_after = p.len() == 8 && p[..7].iter().all(|&v| v == 0) && p[7] >= 0;
    (only_channels_after && xs.len() == 4 && ys.len() == 4 && xs[..3] == ys[..3])
        .then_some((x, xs[3]))
}

impl ResidualFolds {
    /// Folds every `y = ADD(c, r)` of `graph` where `c` is the output of a CONV_2D node that
    /// only this ADD reads and that is not a graph output, both operands and `y` have the same
    /// shape (no broadcasting), `r` is another tensor, and the convolution lowers (`lower`) to
    /// one dispatch of a kernel with a residual epilogue. The convolution's own activation
    /// comes before the sum and the ADD's after it, as when they run apart. When `r` is the
    /// output of a PAD that only this ADD reads, not a graph output, padding only the channels
    /// at their end with zeros, the convolution reads the PAD's input instead (zero past its
    /// channels) and the PAD dispatches nothing either.
    pub(crate) fn new(
        graph: &Graph,
        lower: impl Fn(usize) -> Result<Lowered, String>,
    ) -> ResidualFolds {
        let producers = graph.producers();
        let consumers = graph.consumers();
        let only_for =
            |t: TensorId, add: usize| consumers[t] == [add] && !graph.outputs.contains(&t);
        let mut folds = ResidualFolds {
            at_add: HashMap::new(),
            skipped: HashSet::new(),
        };
        for (add, node) in graph.nodes.iter().enumerate() {
            let Op::Add(act) = node.op else { continue };
            let ([Some(a), Some(b)], [y]) = (node.inputs.as_slice(), node.outputs.as_slice())
            else {
                continue;
            };
            let shape = &graph.tensors[*y].shape;
            if a == b || &graph.tensors[*a].shape != shape || &graph.tensors[*b].shape != shape {
                continue;
            }
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
                    if lower::fold_residual_add(&mut padded, s, Some(channels), *y, act) {
                        folded = Some((padded, Some(pad)));
                    }
                }
                if folded.is_none() && lower::fold_residual_add(spec, r, None, *y, act) {
                    folded = Some((spec.clone(), None));
                }
                let Some((spec, pad)) = folded else { continue };
                folds.skipped.insert(conv);
                let suffix = match pad {
                    Some(pad) => {
                        folds.skipped.insert(pad);
                        "+PAD+ADD"
                    }
                    None => "+ADD",
                };
                folds.at_add.insert(add, (conv, suffix, spec));
                break;
            }
        }
        folds
    }

    /// Whether node `node` dispatches nothing of its own (a folded convolution or PAD).
    pub(crate) fn skips(&self, node: usize) -> bool {
        self.skipped.contains(&node)
    }

    /// When node `node` is a folded ADD: the convolution's node index, a label suffix for it,
    /// and its dispatch, which runs in the ADD's place.
    pub(crate) fn take(&mut self, node: usize) -> Option<(usize, &'static str, DispatchSpec)> {
        self.at_add.remove(&node)
    }
}
