//! Helpers shared by the kernels: errors, typed views of tensor bytes, reading index tensors,
//! fused activations and the geometry of padded windows.

use super::{KernelError, ShapeIn, TensorOut};
use crate::model::{Activation, Padding, TensorType};

/// A shape, strides or index vector: inline up to rank 8, so kernels at invoke do not touch
/// the heap for them.
pub(crate) type Dims = smallvec::SmallVec<[usize; 8]>;

pub(crate) type Res<T> = Result<T, KernelError>;

/// Marker in messages of shape inference that failed only because a value is not known yet.
pub(crate) const NEEDS_VALUE: &str = "needs the value of";

pub(crate) fn invalid(op: &str, msg: impl Into<String>) -> KernelError {
    KernelError::Invalid {
        op: op.to_string(),
        msg: msg.into(),
    }
}

pub(crate) fn unsupported(op: &str, msg: impl Into<String>) -> KernelError {
    KernelError::Unsupported {
        op: op.to_string(),
        msg: msg.into(),
    }
}

/// Number of elements of `shape`, refusing overflow.
pub(crate) fn numel(op: &str, shape: &[usize]) -> Res<usize> {
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| invalid(op, format!("shape {shape:?} overflows")))
}

/// Product of a (validated) shape slice; callers use it on shapes already checked by [`numel`].
pub(crate) fn prod(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Input `i`, which must be present.
pub(crate) fn arg<'a>(op: &str, inputs: &[Option<ShapeIn<'a>>], i: usize) -> Res<ShapeIn<'a>> {
    inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| invalid(op, format!("input {i} is missing")))
}

/// Input `i` when present.
pub(crate) fn opt_arg<'a>(inputs: &[Option<ShapeIn<'a>>], i: usize) -> Option<ShapeIn<'a>> {
    inputs.get(i).copied().flatten()
}

/// The bytes of an input whose value is needed.
pub(crate) fn values<'a>(op: &str, a: &ShapeIn<'a>, what: &str) -> Res<&'a [u8]> {
    a.values
        .ok_or_else(|| invalid(op, format!("{NEEDS_VALUE} {what} at plan time")))
}

/// Reads an int32/int64 tensor as i64 values.
pub(crate) fn ints(op: &str, a: &ShapeIn<'_>, what: &str) -> Res<smallvec::SmallVec<[i64; 16]>> {
    let bytes = values(op, a, what)?;
    let n = numel(op, a.shape)?;
    let bad_len = || {
        invalid(
            op,
            format!("{what} has {} bytes for shape {:?}", bytes.len(), a.shape),
        )
    };
    match a.dtype {
        TensorType::Int32 => {
            let v: &[i32] = bytemuck::try_cast_slice(bytes).map_err(|_| bad_len())?;
            if v.len() != n {
                return Err(bad_len());
            }
            Ok(v.iter().map(|&x| x as i64).collect())
        }
        TensorType::Int64 => {
            let v: &[i64] = bytemuck::try_cast_slice(bytes).map_err(|_| bad_len())?;
            if v.len() != n {
                return Err(bad_len());
            }
            Ok(v.iter().copied().collect())
        }
        t => Err(invalid(
            op,
            format!("{what} must be int32 or int64, not {}", t.name()),
        )),
    }
}

/// Reads a scalar (or single-element) int tensor.
pub(crate) fn int_scalar(op: &str, a: &ShapeIn<'_>, what: &str) -> Res<i64> {
    let v = ints(op, a, what)?;
    match v.as_slice() {
        [x] => Ok(*x),
        _ => Err(invalid(
            op,
            format!("{what} must hold one value, has {}", v.len()),
        )),
    }
}

/// The f32 elements of an input (its bytes, checked against shape and dtype).
pub(crate) fn f32_in<'a>(op: &str, a: &ShapeIn<'a>, what: &str) -> Res<&'a [f32]> {
    if a.dtype != TensorType::Float32 {
        return Err(unsupported(
            op,
            format!("{what} is {}, only float32 is supported", a.dtype.name()),
        ));
    }
    let bytes = values(op, a, what)?;
    let v: &[f32] = bytemuck::try_cast_slice(bytes).map_err(|_| {
        invalid(
            op,
            format!("{what}: {} bytes are not f32-aligned", bytes.len()),
        )
    })?;
    if v.len() != numel(op, a.shape)? {
        return Err(invalid(
            op,
            format!("{what} has {} elements for shape {:?}", v.len(), a.shape),
        ));
    }
    Ok(v)
}

/// The f32 elements of an output, checked to hold `n` elements.
pub(crate) fn f32_out<'a>(op: &str, o: &'a mut TensorOut<'_>, n: usize) -> Res<&'a mut [f32]> {
    if o.dtype != TensorType::Float32 {
        return Err(unsupported(
            op,
            format!("output is {}, only float32 is supported", o.dtype.name()),
        ));
    }
    let len = o.bytes.len();
    let v: &mut [f32] = bytemuck::try_cast_slice_mut(&mut *o.bytes)
        .map_err(|_| invalid(op, format!("output: {len} bytes are not f32-aligned")))?;
    if v.len() != n {
        return Err(invalid(
            op,
            format!("output has {} elements, expected {n}", v.len()),
        ));
    }
    Ok(v)
}

/// The single output of an op.
pub(crate) fn out0<'a, 'b>(
    op: &str,
    outputs: &'a mut [TensorOut<'b>],
) -> Res<&'a mut TensorOut<'b>> {
    outputs
        .first_mut()
        .ok_or_else(|| invalid(op, "has no output"))
}

/// Element size of a fixed-size dtype.
pub(crate) fn elem_size(op: &str, t: TensorType) -> Res<usize> {
    t.size_bytes()
        .ok_or_else(|| unsupported(op, format!("{} tensors are not supported", t.name())))
}

/// Normalizes a possibly negative axis into `0..rank`.
pub(crate) fn norm_axis(op: &str, axis: i64, rank: usize) -> Res<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r {
        return Err(invalid(
            op,
            format!("axis {axis} is out of range for rank {rank}"),
        ));
    }
    Ok(a as usize)
}

/// Whether a fused activation is one the kernels implement.
pub(crate) fn check_activation(op: &str, act: Activation) -> Result<(), String> {
    match act {
        Activation::SignBit => Err(format!(
            "{op}: fused activation {} is not supported",
            act.name()
        )),
        _ => Ok(()),
    }
}

/// Applies a fused activation in place.
pub(crate) fn apply_activation(act: Activation, v: &mut [f32]) {
    match act {
        Activation::None | Activation::SignBit => {}
        Activation::Relu => v.iter_mut().for_each(|x| *x = x.max(0.0)),
        Activation::ReluN1To1 => v.iter_mut().for_each(|x| *x = x.clamp(-1.0, 1.0)),
        Activation::Relu6 => v.iter_mut().for_each(|x| *x = x.clamp(0.0, 6.0)),
        Activation::Tanh => v.iter_mut().for_each(|x| *x = x.tanh()),
    }
}

/// Clamping bounds of a fused activation (None for TANH, which is not a clamp).
pub(crate) fn activation_range(act: Activation) -> Option<(f32, f32)> {
    match act {
        Activation::None | Activation::SignBit => Some((f32::NEG_INFINITY, f32::INFINITY)),
        Activation::Relu => Some((0.0, f32::INFINITY)),
        Activation::ReluN1To1 => Some((-1.0, 1.0)),
        Activation::Relu6 => Some((0.0, 6.0)),
        Activation::Tanh => None,
    }
}

/// Output size and leading padding of one spatial dimension of a convolution or pool,
/// computed as TFLite does.
pub(crate) fn conv_geometry(
    op: &str,
    padding: Padding,
    input: usize,
    kernel: usize,
    stride: i32,
    dilation: i32,
) -> Res<(usize, usize)> {
    if stride <= 0 || dilation <= 0 {
        return Err(invalid(
            op,
            format!("stride {stride} and dilation {dilation} must be positive"),
        ));
    }
    if kernel == 0 {
        return Err(invalid(op, "kernel has a zero dimension"));
    }
    let (s, d) = (stride as usize, dilation as usize);
    let eff = (kernel - 1) * d + 1;
    let out = match padding {
        Padding::Same => input.div_ceil(s),
        Padding::Valid => {
            if input < eff {
                return Err(invalid(
                    op,
                    format!("VALID window of {eff} does not fit in input of {input}"),
                ));
            }
            (input - eff) / s + 1
        }
    };
    let pad = match padding {
        Padding::Same => (((out.max(1) - 1) * s + eff).saturating_sub(input)) / 2,
        Padding::Valid => 0,
    };
    Ok((out, pad))
}

/// Row-major strides of `shape` (in elements).
pub(crate) fn strides_of(shape: &[usize]) -> Dims {
    let mut s: Dims = smallvec::smallvec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Calls `f(outer_offset_a, outer_offset_b, ...)` over all positions of `shape[..rank-1]`,
/// where each operand has its own strides; `f` handles the innermost dimension itself.
/// Uses incrementing counters (no division per element).
pub(crate) fn for_each_row<const K: usize>(
    shape: &[usize],
    strides: [&[usize]; K],
    mut f: impl FnMut([usize; K]),
) {
    let rank = shape.len();
    if rank == 0 {
        f([0; K]);
        return;
    }
    if shape.contains(&0) {
        return;
    }
    let outer = rank - 1;
    let mut idx: Dims = smallvec::smallvec![0usize; outer];
    let mut off = [0usize; K];
    loop {
        f(off);
        let mut d = outer;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            for k in 0..K {
                off[k] += strides[k][d];
            }
            if idx[d] < shape[d] {
                break;
            }
            for k in 0..K {
                off[k] -= strides[k][d] * shape[d];
            }
            idx[d] = 0;
        }
    }
}
