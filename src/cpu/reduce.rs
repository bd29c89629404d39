//! Reductions over the axes given by the second input: MEAN, SUM, REDUCE_MAX.

use super::util::{
    arg, f32_in, f32_out, for_each_row, ints, invalid, norm_axis, out0, prod, strides_of, Dims, Res,
};
use super::{CpuContext, ShapeIn, TensorOut};
use crate::graph::Op;

pub(super) struct ReducePlan {
    pub out_shape: Dims,
    /// Per input dimension: whether it is reduced.
    reduced: smallvec::SmallVec<[bool; 8]>,
}

pub(super) fn reduce_plan(
    op: &str,
    keep_dims: bool,
    inputs: &[Option<ShapeIn<'_>>],
) -> Res<ReducePlan> {
    let a = arg(op, inputs, 0)?;
    let axes = ints(op, &arg(op, inputs, 1)?, "axes")?;
    let rank = a.shape.len();
    let mut reduced: smallvec::SmallVec<[bool; 8]> = smallvec::smallvec![false; rank];
    for &ax in &axes {
        reduced[norm_axis(op, ax, rank)?] = true;
    }
    let mut out_shape = Dims::new();
    for (d, &r) in a.shape.iter().zip(&reduced) {
        if !r {
            out_shape.push(*d);
        } else if keep_dims {
            out_shape.push(1);
        }
    }
    Ok(ReducePlan { out_shape, reduced })
}

pub(super) fn reduce(
    ctx: &CpuContext,
    op: &str,
    node: &Op,
    keep_dims: bool,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let plan = reduce_plan(op, keep_dims, inputs)?;
    let a = arg(op, inputs, 0)?;
    let x = f32_in(op, &a, "input")?;
    let n_out = prod(&plan.out_shape);
    let out = f32_out(op, out0(op, outputs)?, n_out)?;
    let shape = a.shape;
    if x.is_empty() {
        let fill = if matches!(node, Op::ReduceMax { .. }) {
            f32::NEG_INFINITY
        } else {
            0.0
        };
        out.fill(fill);
        return Ok(());
    }
    // Strides of the output laid over the input's dims, 0 on reduced ones.
    let kept: Dims = shape
        .iter()
        .zip(&plan.reduced)
        .map(|(d, r)| if *r { 1 } else { *d })
        .collect();
    let mut so = strides_of(&kept);
    for (s, r) in so.iter_mut().zip(&plan.reduced) {
        if *r {
            *s = 0;
        }
    }
    let si = strides_of(shape);
    let rank = shape.len();
    if rank == 0 {
        out.copy_from_slice(x);
        return Ok(());
    }
    let inner = shape[rank - 1];
    let inner_reduced = plan.reduced[rank - 1];
    match node {
        Op::ReduceMax { .. } => {
            out.fill(f32::NEG_INFINITY);
            for_each_row(shape, [&si, &so], |[oi, oo]| {
                let row = &x[oi..oi + inner];
                if inner_reduced {
                    let m = row.iter().copied().fold(out[oo], f32::max);
                    out[oo] = m;
                } else {
                    for (o, v) in out[oo..oo + inner].iter_mut().zip(row) {
                        *o = o.max(*v);
                    }
                }
            });
        }
        Op::Mean { .. } | Op::Sum { .. } => {
            ctx.with_scratch_f64(n_out, |acc| {
                acc.fill(0.0);
                for_each_row(shape, [&si, &so], |[oi, oo]| {
                    let row = &x[oi..oi + inner];
                    if inner_reduced {
                        acc[oo] += row.iter().map(|v| *v as f64).sum::<f64>();
                    } else {
                        for (o, v) in acc[oo..oo + inner].iter_mut().zip(row) {
                            *o += *v as f64;
                        }
                    }
                });
                let scale = if matches!(node, Op::Mean { .. }) && n_out > 0 {
                    1.0 / (x.len() / n_out) as f64
                } else {
                    1.0
                };
                for (o, v) in out.iter_mut().zip(acc.iter()) {
                    *o = (*v * scale) as f32;
                }
            });
        }
        _ => return Err(invalid(op, "not a reduction")),
    }
    Ok(())
}
