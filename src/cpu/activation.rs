//! Unary elementwise ops (activations and math functions) and SOFTMAX.

use super::util::{arg, f32_in, f32_out, invalid, out0, unsupported, values, Res};
use super::{ShapeIn, TensorOut};
use crate::graph::Op;
use crate::model::TensorType;

fn map(x: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32) {
    for (o, v) in out.iter_mut().zip(x) {
        *o = f(*v);
    }
}

pub(super) fn unary(
    op: &str,
    node: &Op,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let a = arg(op, inputs, 0)?;
    if matches!(node, Op::Abs) && a.dtype == TensorType::Int32 {
        return abs_i32(op, &a, outputs);
    }
    let x = f32_in(op, &a, "input")?;
    let out = f32_out(op, out0(op, outputs)?, x.len())?;
    match node {
        // Not `v.max(0.0)`: that turns NaN into 0, where TFLite keeps NaN.
        Op::Relu => map(x, out, |v| if v < 0.0 { 0.0 } else { v }),
        Op::Relu6 => map(x, out, |v| v.clamp(0.0, 6.0)),
        Op::ReluN1To1 => map(x, out, |v| v.clamp(-1.0, 1.0)),
        Op::LeakyRelu { alpha } => {
            let al = *alpha;
            map(x, out, |v| if v > 0.0 { v } else { v * al })
        }
        Op::Logistic => map(x, out, |v| 1.0 / (1.0 + (-v).exp())),
        Op::Tanh => map(x, out, f32::tanh),
        Op::HardSwish => map(x, out, |v| v * (v + 3.0).clamp(0.0, 6.0) / 6.0),
        Op::Exp => map(x, out, f32::exp),
        Op::Rsqrt => map(x, out, |v| 1.0 / v.sqrt()),
        Op::Sqrt => map(x, out, f32::sqrt),
        Op::Abs => map(x, out, f32::abs),
        _ => return Err(invalid(op, "not a unary op")),
    }
    Ok(())
}

fn abs_i32(op: &str, a: &ShapeIn<'_>, outputs: &mut [TensorOut<'_>]) -> Res<()> {
    let x: &[i32] = bytemuck::try_cast_slice(values(op, a, "input")?)
        .map_err(|_| invalid(op, "input: bad int32 data length"))?;
    let o = out0(op, outputs)?;
    if o.dtype != TensorType::Int32 {
        return Err(unsupported(op, "int32 input needs an int32 output"));
    }
    let out: &mut [i32] = bytemuck::try_cast_slice_mut(&mut *o.bytes)
        .map_err(|_| invalid(op, "output: bad int32 data length"))?;
    if out.len() != x.len() {
        return Err(invalid(op, "output size differs from input"));
    }
    for (o, v) in out.iter_mut().zip(x) {
        *o = v.wrapping_abs();
    }
    Ok(())
}

pub(super) fn softmax(
    op: &str,
    beta: f32,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let a = arg(op, inputs, 0)?;
    let x = f32_in(op, &a, "input")?;
    let out = f32_out(op, out0(op, outputs)?, x.len())?;
    let depth = match a.shape.last() {
        Some(&d) => d,
        None => return Err(invalid(op, "input must have at least one dimension")),
    };
    if depth == 0 {
        return Ok(());
    }
    for (xr, orow) in x.chunks_exact(depth).zip(out.chunks_exact_mut(depth)) {
        let max = xr.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0f32;
        for (o, v) in orow.iter_mut().zip(xr) {
            *o = ((v - max) * beta).exp();
            sum += *o;
        }
        orow.iter_mut().for_each(|o| *o /= sum);
    }
    Ok(())
}
