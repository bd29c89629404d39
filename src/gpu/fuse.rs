//! Folding a residual ADD into the convolution that produces one of its operands, so that the
//! sum is written by the convolution's dispatch and the ADD dispatches nothing.
//!
//! The graph decides whether a pair may be folded ([`ResidualFolds::new`]); the lowered
//! convolution decides whether it can be ([`lower::fold_residual_add`]: only kernels with a
//! residual epilogue). The folded dispatch runs where the ADD ran: every input of the
//! convolution and of the ADD exists by then (the residual operand may be computed after the
//! convolution, as BlazeFace's padded shortcuts are).

use std::collections::HashMap;

use crate::graph::{Graph, Op, TensorId};
use crate::model::Activation;

use super::lower::{self, DispatchSpec};

/// An ADD that may be folded into the CONV_2D producing one of its operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ResidualAdd {
    /// The ADD node.
    add: usize,
    /// The ADD's other operand, added to the convolution's activated output.
    residual: TensorId,
    /// The ADD's output, which the convolution then writes.
    output: TensorId,
    /// The ADD's fused activation, applied after the sum.
    act: Activation,
}

/// The residual ADDs of a partition graph that may be folded, and those that were.
pub(crate) struct ResidualFolds {
    /// Candidate folds, by the node index of the convolution.
    by_conv: HashMap<usize, ResidualAdd>,
    /// Folded convolutions held back until their ADD: (convolution node, its dispatches), by
    /// the ADD's node index.
    held: HashMap<usize, (usize, Vec<DispatchSpec>)>,
}

impl ResidualFolds {
    /// Finds every `y = ADD(c, r)` of `graph` where `c` is the output of a CONV_2D node that
    /// only this ADD reads and that is not a graph output, both operands and `y` have the same
    /// shape (no broadcasting) and `r` is another tensor. The convolution's own activation
    /// comes before the sum and the ADD's after it, as when they run apart.
    pub(crate) fn new(graph: &Graph) -> ResidualFolds {
        let producers = graph.producers();
        let consumers = graph.consumers();
        let mut by_conv = HashMap::new();
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
            let fold = [(*a, *b), (*b, *a)].into_iter().find_map(|(c, r)| {
                let conv = producers[c]?;
                let foldable = matches!(graph.nodes[conv].op, Op::Conv2D(_))
                    && consumers[c] == [add]
                    && !graph.outputs.contains(&c);
                foldable.then_some((
                    conv,
                    ResidualAdd {
                        add,
                        residual: r,
                        output: *y,
                        act,
                    },
                ))
            });
            if let Some((conv, fold)) = fold {
                by_conv.insert(conv, fold);
            }
        }
        ResidualFolds {
            by_conv,
            held: HashMap::new(),
        }
    }

    /// Folds the ADD that may be folded into node `node` (a convolution lowered to
    /// `dispatches`) when its kernel has a residual epilogue, and then holds the dispatches
    /// back (leaving `dispatches` empty) until [`ResidualFolds::take`] at the ADD. True when it
    /// did.
    pub(crate) fn fold(&mut self, node: usize, dispatches: &mut Vec<DispatchSpec>) -> bool {
        let (Some(f), [conv]) = (self.by_conv.get(&node), dispatches.as_mut_slice()) else {
            return false;
        };
        if !lower::fold_residual_add(conv, f.residual, f.output, f.act) {
            return false;
        }
        self.held.insert(f.add, (node, std::mem::take(dispatches)));
        true
    }

    /// When node `node` is an ADD folded into a convolution: that convolution's node index and
    /// dispatches, which run in the ADD's place.
    pub(crate) fn take(&mut self, node: usize) -> Option<(usize, Vec<DispatchSpec>)> {
        self.held.remove(&node)
    }
}
