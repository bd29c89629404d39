//! Binary elementwise ops with numpy broadcasting: ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM,
//! SQUARED_DIFFERENCE and PRELU.

use super::util::{
    activation_range, apply_activation, arg, f32_in, f32_out, invalid, out0, prod, unsupported,
    values, Dims, Res,
};
use super::{ShapeIn, TensorOut};
use crate::graph::Op;
use crate::model::{Activation, TensorType};

/// The numpy broadcast of two shapes.
pub(crate) fn broadcast_shape(op: &str, a: &[usize], b: &[usize]) -> Res<Dims> {
    let rank = a.len().max(b.len());
    let mut out: Dims = smallvec::smallvec![0; rank];
    for (i, o) in out.iter_mut().enumerate() {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        *o = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(invalid(
                op,
                format!("shapes {a:?} and {b:?} cannot be broadcast together"),
            ));
        };
    }
    Ok(out)
}

pub(super) fn binary_shape(op: &str, inputs: &[Option<ShapeIn<'_>>]) -> Res<Dims> {
    let a = arg(op, inputs, 0)?;
    let b = arg(op, inputs, 1)?;
    if a.dtype != b.dtype {
        return Err(invalid(
            op,
            format!("operands are {} and {}", a.dtype.name(), b.dtype.name()),
        ));
    }
    broadcast_shape(op, a.shape, b.shape)
}

pub(super) fn prelu_shape(op: &str, inputs: &[Option<ShapeIn<'_>>]) -> Res<Dims> {
    binary_shape(op, inputs)
}

/// Strides of `shape` aligned to the trailing dims of `out`, 0 on broadcast dimensions.
fn broadcast_strides(shape: &[usize], out: &[usize]) -> Dims {
    let mut s: Dims = smallvec::smallvec![0; out.len()];
    let mut acc = 1;
    for i in (0..shape.len()).rev() {
        let oi = i + out.len() - shape.len();
        s[oi] = if shape[i] == 1 { 0 } else { acc };
        acc *= shape[i];
    }
    s
}

/// Applies `f` elementwise over the broadcast of `a` (shape `ash`) and `b` (shape `bsh`) into
/// `out` (shape `osh`, the broadcast shape).
pub(crate) fn broadcast_apply<T: Copy>(
    a: &[T],
    ash: &[usize],
    b: &[T],
    bsh: &[usize],
    out: &mut [T],
    osh: &[usize],
    f: impl Fn(T, T) -> T,
) {
    if ash == osh && bsh == osh {
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            *o = f(*x, *y);
        }
        return;
    }
    // Collapse dimensions: drop size-1 dims and merge neighbours that are contiguous in all three.
    let sa_full = broadcast_strides(ash, osh);
    let sb_full = broadcast_strides(bsh, osh);
    let mut dims: smallvec::SmallVec<[(usize, usize, usize); 8]> = smallvec::SmallVec::new();
    for i in 0..osh.len() {
        if osh[i] == 1 {
            continue;
        }
        let (d, sa, sb) = (osh[i], sa_full[i], sb_full[i]);
        if let Some(last) = dims.last_mut() {
            // Merging `last` (outer) with this dim (inner) needs last's strides = inner strides * d.
            if last.1 == sa * d && last.2 == sb * d {
                *last = (last.0 * d, sa, sb);
                continue;
            }
        }
        dims.push((d, sa, sb));
    }
    if dims.is_empty() {
        if let (Some(o), Some(x), Some(y)) = (out.first_mut(), a.first(), b.first()) {
            *o = f(*x, *y);
        }
        return;
    }
    let shape: Dims = dims.iter().map(|d| d.0).collect();
    let sa: Dims = dims.iter().map(|d| d.1).collect();
    let sb: Dims = dims.iter().map(|d| d.2).collect();
    let so = super::util::strides_of(&shape);
    let inner = shape[shape.len() - 1];
    let (ia, ib) = (sa[sa.len() - 1], sb[sb.len() - 1]);
    super::util::for_each_row(&shape, [&sa, &sb, &so], |[oa, ob, oo]| {
        let o = &mut out[oo..oo + inner];
        match (ia, ib) {
            (1, 1) => {
                for ((o, x), y) in o.iter_mut().zip(&a[oa..oa + inner]).zip(&b[ob..ob + inner]) {
                    *o = f(*x, *y);
                }
            }
            (0, 1) => {
                let x = a[oa];
                for (o, y) in o.iter_mut().zip(&b[ob..ob + inner]) {
                    *o = f(x, *y);
                }
            }
            (1, 0) => {
                let y = b[ob];
                for (o, x) in o.iter_mut().zip(&a[oa..oa + inner]) {
                    *o = f(*x, y);
                }
            }
            _ => {
                let (x, y) = (a[oa], b[ob]);
                o.iter_mut().for_each(|o| *o = f(x, y));
            }
        }
    });
}

fn i32_view<'a>(op: &str, a: &ShapeIn<'a>, what: &str) -> Res<&'a [i32]> {
    let bytes = values(op, a, what)?;
    let v: &[i32] = bytemuck::try_cast_slice(bytes)
        .map_err(|_| invalid(op, format!("{what}: bad int32 data length")))?;
    if v.len() != prod(a.shape) {
        return Err(invalid(op, format!("{what}: wrong element count")));
    }
    Ok(v)
}

pub(super) fn binary(
    op: &str,
    node: &Op,
    act: Activation,
    inputs: &[Option<ShapeIn<'_>>],
    out_shape: &[usize],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let a = arg(op, inputs, 0)?;
    let b = arg(op, inputs, 1)?;
    let o = out0(op, outputs)?;
    let n = prod(out_shape);
    match a.dtype {
        TensorType::Float32 => {
            let x = f32_in(op, &a, "input 0")?;
            let y = f32_in(op, &b, "input 1")?;
            let out = f32_out(op, o, n)?;
            let (ash, bsh) = (a.shape, b.shape);
            match node {
                Op::Add(_) => broadcast_apply(x, ash, y, bsh, out, out_shape, |p, q| p + q),
                Op::Sub(_) => broadcast_apply(x, ash, y, bsh, out, out_shape, |p, q| p - q),
                Op::Mul(_) => broadcast_apply(x, ash, y, bsh, out, out_shape, |p, q| p * q),
                Op::Div(_) => broadcast_apply(x, ash, y, bsh, out, out_shape, |p, q| p / q),
                Op::Maximum => broadcast_apply(x, ash, y, bsh, out, out_shape, f32::max),
                Op::Minimum => broadcast_apply(x, ash, y, bsh, out, out_shape, f32::min),
                Op::SquaredDifference => {
                    broadcast_apply(x, ash, y, bsh, out, out_shape, |p, q| (p - q) * (p - q))
                }
                _ => return Err(invalid(op, "not a binary op")),
            }
            apply_activation(act, out);
            Ok(())
        }
        TensorType::Int32 => {
            let x = i32_view(op, &a, "input 0")?;
            let y = i32_view(op, &b, "input 1")?;
            if o.dtype != TensorType::Int32 {
                return Err(invalid(
                    op,
                    format!("output is {}, expected int32", o.dtype.name()),
                ));
            }
            let out: &mut [i32] = bytemuck::try_cast_slice_mut(&mut *o.bytes)
                .map_err(|_| invalid(op, "output: bad int32 data length"))?;
            if out.len() != n {
                return Err(invalid(op, "output: wrong element count"));
            }
            let (ash, bsh) = (a.shape, b.shape);
            match node {
                Op::Add(_) => broadcast_apply(x, ash, y, bsh, out, out_shape, i32::wrapping_add),
                Op::Sub(_) => broadcast_apply(x, ash, y, bsh, out, out_shape, i32::wrapping_sub),
                Op::Mul(_) => broadcast_apply(x, ash, y, bsh, out, out_shape, i32::wrapping_mul),
                Op::Maximum => broadcast_apply(x, ash, y, bsh, out, out_shape, i32::max),
                Op::Minimum => broadcast_apply(x, ash, y, bsh, out, out_shape, i32::min),
                _ => {
                    return Err(unsupported(
                        op,
                        "int32 operands are not supported by this op",
                    ))
                }
            }
            match activation_range(act) {
                Some((lo, hi)) => {
                    let lo = if lo.is_finite() { lo as i32 } else { i32::MIN };
                    let hi = if hi.is_finite() { hi as i32 } else { i32::MAX };
                    out.iter_mut().for_each(|v| *v = (*v).clamp(lo, hi));
                    Ok(())
                }
                None => Err(unsupported(op, "TANH activation on int32 is not supported")),
            }
        }
        t => Err(unsupported(
            op,
            format!(
                "{} operands are not supported (float32, int32 are)",
                t.name()
            ),
        )),
    }
}

pub(super) fn prelu(
    op: &str,
    inputs: &[Option<ShapeIn<'_>>],
    out_shape: &[usize],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let a = arg(op, inputs, 0)?;
    let b = arg(op, inputs, 1)?;
    let x = f32_in(op, &a, "input")?;
    let alpha = f32_in(op, &b, "alpha")?;
    let out = f32_out(op, out0(op, outputs)?, prod(out_shape))?;
    broadcast_apply(x, a.shape, alpha, b.shape, out, out_shape, |v, al| {
        if v >= 0.0 {
            v
        } else {
            v * al
        }
    });
    Ok(())
}
