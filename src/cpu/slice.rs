//! SLICE and STRIDED_SLICE (begin/end/ellipsis/new-axis/shrink masks, negative strides, offset).

use super::movement::strided_copy_bytes;
use super::util::{
    arg, elem_size, ints, invalid, numel, opt_arg, out0, prod, strides_of, values, Dims, Res,
};
use super::{ShapeIn, TensorOut};
use crate::model::StridedSliceOptions;

/// A slice as a strided view of the input: `copy_shape` (input-rank) walks the input from
/// element `base` with `strides`; `out_shape` is the same elements under the final shape.
pub(super) struct SlicePlan {
    pub out_shape: Dims,
    copy_shape: Dims,
    strides: smallvec::SmallVec<[isize; 8]>,
    base: isize,
}

pub(super) fn slice_plan(op: &str, inputs: &[Option<ShapeIn<'_>>]) -> Res<SlicePlan> {
    let s = arg(op, inputs, 0)?.shape;
    let begin = ints(op, &arg(op, inputs, 1)?, "begin")?;
    let size = ints(op, &arg(op, inputs, 2)?, "size")?;
    if begin.len() != s.len() || size.len() != s.len() {
        return Err(invalid(
            op,
            format!(
                "begin {begin:?} and size {size:?} must have one value per input dimension ({s:?})"
            ),
        ));
    }
    let si = strides_of(s);
    let mut out = Dims::new();
    let mut base = 0isize;
    for d in 0..s.len() {
        let (b, n, dim) = (begin[d], size[d], s[d] as i64);
        let len = if n == -1 { dim - b } else { n };
        if b < 0 || b > dim || len < 0 || b + len > dim {
            return Err(invalid(
                op,
                format!("begin {b} and size {n} are out of range for dimension {d} of size {dim}"),
            ));
        }
        out.push(len as usize);
        base += b as isize * si[d] as isize;
    }
    Ok(SlicePlan {
        copy_shape: out.clone(),
        out_shape: out,
        strides: si.iter().map(|&x| x as isize).collect(),
        base,
    })
}

/// One dimension of the dense (input-rank) slice specification.
#[derive(Clone, Copy)]
struct DenseDim {
    begin: i64,
    end: i64,
    stride: i64,
    begin_masked: bool,
    end_masked: bool,
    shrink: bool,
}

const FULL: DenseDim = DenseDim {
    begin: 0,
    end: 0,
    stride: 1,
    begin_masked: true,
    end_masked: true,
    shrink: false,
};

/// An entry of the final shape: a dimension of the dense spec, or an inserted new axis.
enum Final {
    Dense(usize),
    NewAxis,
}

pub(super) fn strided_slice_plan(
    op: &str,
    o: &StridedSliceOptions,
    inputs: &[Option<ShapeIn<'_>>],
) -> Res<SlicePlan> {
    let s = arg(op, inputs, 0)?.shape;
    let rank = s.len();
    let begin = ints(op, &arg(op, inputs, 1)?, "begin")?;
    let end = ints(op, &arg(op, inputs, 2)?, "end")?;
    let strides = match opt_arg(inputs, 3) {
        Some(st) => ints(op, &st, "strides")?,
        None => smallvec::smallvec![1; begin.len()],
    };
    let n = begin.len();
    if end.len() != n || strides.len() != n {
        return Err(invalid(
            op,
            format!("begin {begin:?}, end {end:?} and strides {strides:?} differ in length"),
        ));
    }
    if n > 32 {
        return Err(invalid(op, "more than 32 slice entries"));
    }
    let bit = |mask: i32, i: usize| i < 32 && (mask >> i) & 1 == 1;
    let ellipsis: Dims = (0..n).filter(|&i| bit(o.ellipsis_mask, i)).collect();
    if ellipsis.len() > 1 {
        return Err(invalid(op, "more than one ellipsis in ellipsis_mask"));
    }
    // Without an explicit ellipsis, an implicit one follows the last entry.
    let (ell_pos, entries) = match ellipsis.first() {
        Some(&e) => (e, n),
        None => (n, n + 1),
    };
    let new_after = (ell_pos + 1..n)
        .filter(|&i| bit(o.new_axis_mask, i))
        .count();
    let mut dense: smallvec::SmallVec<[_; 8]> = smallvec::smallvec![FULL; rank];
    let mut fin: smallvec::SmallVec<[_; 8]> = smallvec::SmallVec::new();
    let mut full = 0usize;
    for i in 0..entries {
        if i == ell_pos {
            let next = (rank + 1 + new_after).saturating_sub(entries - i).min(rank);
            for j in full..next {
                fin.push(Final::Dense(j));
            }
            full = full.max(next);
        } else if bit(o.new_axis_mask, i) {
            fin.push(Final::NewAxis);
        } else {
            if full >= rank {
                return Err(invalid(
                    op,
                    format!("{n} slice entries index more than the input's {rank} dimensions"),
                ));
            }
            let shrink = bit(o.shrink_axis_mask, i);
            dense[full] = DenseDim {
                begin: begin[i],
                end: end[i],
                stride: strides[i],
                begin_masked: bit(o.begin_mask, i),
                end_masked: bit(o.end_mask, i),
                shrink,
            };
            if !shrink {
                fin.push(Final::Dense(full));
            }
            full += 1;
        }
    }
    let si = strides_of(s);
    let mut copy_shape = Dims::new();
    let mut st_out: smallvec::SmallVec<[isize; 8]> = smallvec::SmallVec::new();
    let mut base = 0isize;
    for (j, dd) in dense.iter().enumerate() {
        let dim = s[j] as i64;
        if dd.stride == 0 {
            return Err(invalid(op, format!("stride of dimension {j} is 0")));
        }
        let fwd = dd.stride > 0;
        let (lo, hi) = if fwd { (0, dim) } else { (-1, dim - 1) };
        let norm = |x: i64| (if x < 0 { x + dim } else { x }).clamp(lo, hi);
        let start = if dd.begin_masked {
            if fwd {
                0
            } else {
                dim - 1
            }
        } else {
            norm(dd.begin)
        };
        let (start, len, stride) = if dd.shrink {
            let b = if dd.begin_masked {
                start
            } else if dd.begin < 0 {
                dd.begin + dim
            } else {
                dd.begin
            };
            if b < 0 || b >= dim {
                return Err(invalid(
                    op,
                    format!(
                        "index {} is out of range for dimension {j} of size {dim}",
                        dd.begin
                    ),
                ));
            }
            (b, 1, 1)
        } else {
            let stop = if dd.end_masked {
                if fwd {
                    dim
                } else {
                    -1
                }
            } else if o.offset {
                norm(start + dd.end)
            } else {
                norm(dd.end)
            };
            let len = if fwd {
                (stop - start + dd.stride - 1).div_euclid(dd.stride)
            } else {
                (start - stop - dd.stride - 1).div_euclid(-dd.stride)
            };
            (start, len.max(0), dd.stride)
        };
        copy_shape.push(len as usize);
        st_out.push(stride as isize * si[j] as isize);
        if len > 0 {
            base += start as isize * si[j] as isize;
        }
    }
    let out_shape = fin
        .iter()
        .map(|f| match f {
            Final::Dense(j) => copy_shape[*j],
            Final::NewAxis => 1,
        })
        .collect();
    numel(op, &copy_shape)?;
    Ok(SlicePlan {
        out_shape,
        copy_shape,
        strides: st_out,
        base,
    })
}

fn run(
    op: &str,
    plan: &SlicePlan,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let a = arg(op, inputs, 0)?;
    let es = elem_size(op, a.dtype)?;
    let x = values(op, &a, "input")?;
    let o = out0(op, outputs)?;
    if o.dtype != a.dtype {
        return Err(invalid(
            op,
            format!("output is {}, input is {}", o.dtype.name(), a.dtype.name()),
        ));
    }
    if o.bytes.len() != prod(&plan.copy_shape) * es {
        return Err(invalid(op, "output size does not match the slice"));
    }
    strided_copy_bytes(
        op,
        es,
        x,
        o.bytes,
        &plan.copy_shape,
        &plan.strides,
        plan.base,
    )
}

pub(super) fn slice(
    op: &str,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let plan = slice_plan(op, inputs)?;
    run(op, &plan, inputs, outputs)
}

pub(super) fn strided_slice(
    op: &str,
    o: &StridedSliceOptions,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let plan = strided_slice_plan(op, o, inputs)?;
    run(op, &plan, inputs, outputs)
}
