//! Data movement for any fixed-size dtype: RESHAPE, SQUEEZE, TRANSPOSE, CONCATENATION, PAD,
//! PADV2, MIRROR_PAD, SPLIT, SPLIT_V, PACK, UNPACK, GATHER, DEPTH_TO_SPACE, SPACE_TO_DEPTH.

use bytemuck::Pod;

use super::util::{
    apply_activation, arg, elem_size, int_scalar, ints, invalid, norm_axis, numel, opt_arg, out0,
    prod, strides_of, unsupported, values, Dims, Res, NEEDS_VALUE,
};
use super::{ShapeIn, TensorOut};
use crate::graph::Op;
use crate::model::{Activation, MirrorPadMode, TensorType};

/// The bytes of input `i`, checked to hold its shape.
fn in_bytes<'a>(op: &str, a: &ShapeIn<'a>) -> Res<(&'a [u8], usize)> {
    let es = elem_size(op, a.dtype)?;
    let b = values(op, a, "input")?;
    if Some(b.len()) != numel(op, a.shape)?.checked_mul(es) {
        return Err(invalid(
            op,
            format!("input has {} bytes for shape {:?}", b.len(), a.shape),
        ));
    }
    Ok((b, es))
}

/// An output's bytes, checked to be of `dtype` and hold `n` elements of `es` bytes.
fn out_bytes<'a>(
    op: &str,
    o: &'a mut TensorOut<'_>,
    dtype: TensorType,
    n: usize,
    es: usize,
) -> Res<&'a mut [u8]> {
    if o.dtype != dtype {
        return Err(invalid(
            op,
            format!("output is {}, input is {}", o.dtype.name(), dtype.name()),
        ));
    }
    if o.bytes.len() != n * es {
        return Err(invalid(
            op,
            format!("output has {} bytes, expected {}", o.bytes.len(), n * es),
        ));
    }
    Ok(&mut *o.bytes)
}

/// Copies `out[i] = x[base + Σ idx_k · strides_k]` over all indices of `out_shape`, with element
/// type `T`; false when an index leaves `x`.
fn strided_copy<T: Pod>(
    x: &[T],
    out: &mut [T],
    out_shape: &[usize],
    strides: &[isize],
    base: isize,
) -> bool {
    let rank = out_shape.len();
    if rank == 0 {
        return match (
            usize::try_from(base).ok().and_then(|b| x.get(b)),
            out.first_mut(),
        ) {
            (Some(v), Some(o)) => {
                *o = *v;
                true
            }
            _ => false,
        };
    }
    if out_shape.contains(&0) {
        return true;
    }
    let inner = out_shape[rank - 1];
    let st = strides[rank - 1];
    let mut idx: Dims = smallvec::smallvec![0usize; rank - 1];
    let mut off = base;
    let mut rows = out.chunks_exact_mut(inner);
    loop {
        let Some(row) = rows.next() else { return false };
        if st == 1 {
            let Some(src) = usize::try_from(off)
                .ok()
                .and_then(|o| x.get(o..o.checked_add(inner)?))
            else {
                return false;
            };
            row.copy_from_slice(src);
        } else {
            let mut p = off;
            for o in row.iter_mut() {
                match usize::try_from(p).ok().and_then(|p| x.get(p)) {
                    Some(v) => *o = *v,
                    None => return false,
                }
                p += st;
            }
        }
        let mut d = rank - 1;
        loop {
            if d == 0 {
                return true;
            }
            d -= 1;
            idx[d] += 1;
            off += strides[d];
            if idx[d] < out_shape[d] {
                break;
            }
            off -= strides[d] * out_shape[d] as isize;
            idx[d] = 0;
        }
    }
}

/// [`strided_copy`] on raw bytes of elements of `es` bytes.
pub(crate) fn strided_copy_bytes(
    op: &str,
    es: usize,
    x: &[u8],
    out: &mut [u8],
    out_shape: &[usize],
    strides: &[isize],
    base: isize,
) -> Res<()> {
    fn go<const N: usize>(x: &[u8], out: &mut [u8], s: &[usize], st: &[isize], b: isize) -> bool {
        match (
            bytemuck::try_cast_slice::<u8, [u8; N]>(x),
            bytemuck::try_cast_slice_mut::<u8, [u8; N]>(out),
        ) {
            (Ok(x), Ok(o)) => strided_copy(x, o, s, st, b),
            _ => false,
        }
    }
    let ok = match es {
        1 => go::<1>(x, out, out_shape, strides, base),
        2 => go::<2>(x, out, out_shape, strides, base),
        4 => go::<4>(x, out, out_shape, strides, base),
        8 => go::<8>(x, out, out_shape, strides, base),
        16 => go::<16>(x, out, out_shape, strides, base),
        _ => return Err(unsupported(op, format!("elements of {es} bytes"))),
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(op, "index out of range while copying"))
    }
}

pub(super) fn copy_bytes(
    op: &str,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let a = arg(op, inputs, 0)?;
    let (x, es) = in_bytes(op, &a)?;
    let o = out_bytes(op, out0(op, outputs)?, a.dtype, prod(a.shape), es)?;
    o.copy_from_slice(x);
    Ok(())
}

pub(super) fn reshape_shape(op: &str, inputs: &[Option<ShapeIn<'_>>]) -> Res<Dims> {
    let a = arg(op, inputs, 0)?;
    let Some(s) = opt_arg(inputs, 1) else {
        return Err(invalid(
            op,
            format!("{NEEDS_VALUE} the shape input (the options' new_shape is not in the IR)"),
        ));
    };
    let dims = ints(op, &s, "shape")?;
    let total = numel(op, a.shape)?;
    let mut known = 1usize;
    let mut wild = None;
    for (i, &d) in dims.iter().enumerate() {
        if d == -1 {
            if wild.replace(i).is_some() {
                return Err(invalid(op, format!("shape {dims:?} has more than one -1")));
            }
        } else if d < 0 {
            return Err(invalid(
                op,
                format!("shape {dims:?} has a negative dimension"),
            ));
        } else {
            known = known
                .checked_mul(d as usize)
                .ok_or_else(|| invalid(op, format!("shape {dims:?} overflows")))?;
        }
    }
    let mut out: Dims = dims.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(w) = wild {
        if known == 0 || total % known != 0 {
            return Err(invalid(
                op,
                format!(
                    "cannot reshape {:?} ({total} elements) to {dims:?}",
                    a.shape
                ),
            ));
        }
        out[w] = total / known;
    } else if known != total {
        return Err(invalid(
            op,
            format!(
                "cannot reshape {:?} ({total} elements) to {dims:?}",
                a.shape
            ),
        ));
    }
    Ok(out)
}

pub(super) fn squeeze_shape(op: &str, dims: &[i32], inputs: &[Option<ShapeIn<'_>>]) -> Res<Dims> {
    let s = arg(op, inputs, 0)?.shape;
    let mut drop = vec![false; s.len()];
    if dims.is_empty() {
        for (d, &n) in drop.iter_mut().zip(s) {
            *d = n == 1;
        }
    } else {
        for &d in dims {
            let a = norm_axis(op, d as i64, s.len())?;
            if s[a] != 1 {
                return Err(invalid(
                    op,
                    format!("cannot squeeze dimension {d} of size {} in {s:?}", s[a]),
                ));
            }
            drop[a] = true;
        }
    }
    Ok(s.iter()
        .zip(&drop)
        .filter(|(_, d)| !**d)
        .map(|(n, _)| *n)
        .collect())
}

/// The permutation and output shape of a TRANSPOSE.
pub(super) fn transpose_plan(op: &str, inputs: &[Option<ShapeIn<'_>>]) -> Res<(Dims, Dims)> {
    let s = arg(op, inputs, 0)?.shape;
    let p = ints(op, &arg(op, inputs, 1)?, "perm")?;
    if p.len() != s.len() {
        return Err(invalid(
            op,
            format!("perm {p:?} does not match input rank {}", s.len()),
        ));
    }
    let mut seen: smallvec::SmallVec<[bool; 8]> = smallvec::smallvec![false; s.len()];
    let mut perm = Dims::new();
    for &v in &p {
        let a = norm_axis(op, v, s.len())?;
        if std::mem::replace(&mut seen[a], true) {
            return Err(invalid(op, format!("perm {p:?} is not a permutation")));
        }
        perm.push(a);
    }
    let out = perm.iter().map(|&a| s[a]).collect();
    Ok((perm, out))
}

pub(super) fn transpose(
    op: &str,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let (perm, out_shape) = transpose_plan(op, inputs)?;
    let a = arg(op, inputs, 0)?;
    let (x, es) = in_bytes(op, &a)?;
    let o = out_bytes(op, out0(op, outputs)?, a.dtype, prod(&out_shape), es)?;
    let si = strides_of(a.shape);
    let strides: smallvec::SmallVec<[isize; 8]> = perm.iter().map(|&p| si[p] as isize).collect();
    strided_copy_bytes(op, es, x, o, &out_shape, &strides, 0)
}

pub(super) fn concat_shape(op: &str, axis: i32, inputs: &[Option<ShapeIn<'_>>]) -> Res<Dims> {
    let first = arg(op, inputs, 0)?;
    let rank = first.shape.len();
    let ax = norm_axis(op, axis as i64, rank)?;
    let mut out = Dims::from_slice(first.shape);
    out[ax] = 0;
    for (i, a) in inputs.iter().enumerate() {
        let a = a.ok_or_else(|| invalid(op, format!("input {i} is missing")))?;
        if a.dtype != first.dtype {
            return Err(invalid(
                op,
                format!(
                    "input {i} is {}, input 0 is {}",
                    a.dtype.name(),
                    first.dtype.name()
                ),
            ));
        }
        let ok = a.shape.len() == rank
            && a.shape
                .iter()
                .zip(first.shape)
                .enumerate()
                .all(|(d, (x, y))| d == ax || x == y);
        if !ok {
            return Err(invalid(
                op,
                format!(
                    "input {i} has shape {:?}, incompatible with {:?} along axis {ax}",
                    a.shape, first.shape
                ),
            ));
        }
        out[ax] += a.shape[ax];
    }
    Ok(out)
}

pub(super) fn concat(
    op: &str,
    axis: i32,
    act: Activation,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let out_shape = concat_shape(op, axis, inputs)?;
    let first = arg(op, inputs, 0)?;
    let ax = norm_axis(op, axis as i64, out_shape.len())?;
    let es = elem_size(op, first.dtype)?;
    let outer = prod(&out_shape[..ax]);
    let mut parts: smallvec::SmallVec<[(&[u8], usize); 8]> = smallvec::SmallVec::new();
    for a in inputs.iter().flatten() {
        let (b, _) = in_bytes(op, a)?;
        parts.push((b, prod(&a.shape[ax..]) * es));
    }
    let o = out_bytes(op, out0(op, outputs)?, first.dtype, prod(&out_shape), es)?;
    let mut pos = 0;
    for i in 0..outer {
        for (b, chunk) in &parts {
            o[pos..pos + chunk].copy_from_slice(&b[i * chunk..(i + 1) * chunk]);
            pos += chunk;
        }
    }
    if act != Activation::None {
        let v: &mut [f32] = bytemuck::try_cast_slice_mut(o)
            .map_err(|_| unsupported(op, "fused activation needs float32 data"))?;
        if first.dtype != TensorType::Float32 {
            return Err(unsupported(op, "fused activation needs float32 data"));
        }
        apply_activation(act, v);
    }
    Ok(())
}

/// Output shape and per-dimension (before, after) paddings.
pub(super) type PadPlan = (Dims, smallvec::SmallVec<[(usize, usize); 8]>);

/// Output shape and (before, after) paddings of PAD, PADV2 and MIRROR_PAD.
pub(super) fn pad_plan(op: &str, inputs: &[Option<ShapeIn<'_>>]) -> Res<PadPlan> {
    let s = arg(op, inputs, 0)?.shape;
    let p = arg(op, inputs, 1)?;
    let v = ints(op, &p, "paddings")?;
    if v.len() != 2 * s.len() {
        return Err(invalid(
            op,
            format!(
                "paddings of shape {:?} do not match input rank {}",
                p.shape,
                s.len()
            ),
        ));
    }
    let mut out = Dims::new();
    let mut pads = smallvec::SmallVec::new();
    for (d, pr) in s.iter().zip(v.chunks_exact(2)) {
        let (b, a) = (pr[0], pr[1]);
        if b < 0 || a < 0 {
            return Err(invalid(
                op,
                format!("negative paddings {v:?} are not supported"),
            ));
        }
        let (b, a) = (b as usize, a as usize);
        out.push(
            d.checked_add(b)
                .and_then(|x| x.checked_add(a))
                .ok_or_else(|| invalid(op, "padded size overflows"))?,
        );
        pads.push((b, a));
    }
    numel(op, &out)?;
    Ok((out, pads))
}

pub(super) fn pad(
    op: &str,
    node: &Op,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let (out_shape, pads) = pad_plan(op, inputs)?;
    let a = arg(op, inputs, 0)?;
    let (x, es) = in_bytes(op, &a)?;
    let fill: smallvec::SmallVec<[u8; 8]> = match (node, opt_arg(inputs, 2)) {
        (Op::PadV2, Some(c)) => {
            if c.dtype != a.dtype {
                return Err(invalid(
                    op,
                    format!(
                        "constant value is {}, input is {}",
                        c.dtype.name(),
                        a.dtype.name()
                    ),
                ));
            }
            let (b, _) = in_bytes(op, &c)?;
            if b.len() != es {
                return Err(invalid(op, "constant value must hold one element"));
            }
            smallvec::SmallVec::from_slice(b)
        }
        _ => smallvec::smallvec![0; es],
    };
    let o = out_bytes(op, out0(op, outputs)?, a.dtype, prod(&out_shape), es)?;
    if fill.iter().all(|b| *b == 0) {
        o.fill(0);
    } else {
        for c in o.chunks_exact_mut(es) {
            c.copy_from_slice(&fill);
        }
    }
    let so = strides_of(&out_shape);
    let base: usize = pads.iter().zip(&so).map(|((b, _), s)| b * s).sum();
    // Write the input into the interior: copy from x into o with the output's strides.
    // Dimensions after the last padded one are contiguous in both: copy them as one run.
    let Some(last) = pads.iter().rposition(|p| *p != (0, 0)) else {
        o.copy_from_slice(x);
        return Ok(());
    };
    let si = strides_of(a.shape);
    let run = a.shape[last] * si[last] * es;
    super::util::for_each_row(
        &a.shape[..=last],
        [&si[..=last], &so[..=last]],
        |[oi, oo]| {
            let (oi, oo) = (oi * es, (oo + base) * es);
            o[oo..oo + run].copy_from_slice(&x[oi..oi + run]);
        },
    );
    Ok(())
}

pub(super) fn mirror_pad(
    op: &str,
    mode: MirrorPadMode,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let (out_shape, pads) = pad_plan(op, inputs)?;
    let a = arg(op, inputs, 0)?;
    let (x, es) = in_bytes(op, &a)?;
    let o = out_bytes(op, out0(op, outputs)?, a.dtype, prod(&out_shape), es)?;
    let limit_off = match mode {
        MirrorPadMode::Reflect => 1,
        MirrorPadMode::Symmetric => 0,
    };
    // For each dimension, the input coordinate of every output coordinate.
    let mut maps = Vec::with_capacity(out_shape.len());
    for (&n, &(b, af)) in a.shape.iter().zip(&pads) {
        if n == 0 || b + limit_off > n || af + limit_off > n {
            return Err(invalid(
                op,
                format!("paddings ({b}, {af}) are too large for a dimension of {n}"),
            ));
        }
        let map: Vec<usize> = (0..n + b + af)
            .map(|j| {
                let i = j as isize - b as isize;
                let n = n as isize;
                let r = match mode {
                    MirrorPadMode::Reflect if i < 0 => -i,
                    MirrorPadMode::Symmetric if i < 0 => -i - 1,
                    MirrorPadMode::Reflect if i >= n => 2 * n - 2 - i,
                    MirrorPadMode::Symmetric if i >= n => 2 * n - 1 - i,
                    _ => i,
                };
                r as usize
            })
            .collect();
        maps.push(map);
    }
    let si = strides_of(a.shape);
    let mut pos = 0;
    #[allow(clippy::too_many_arguments)]
    fn rec(
        d: usize,
        off: usize,
        maps: &[Vec<usize>],
        si: &[usize],
        es: usize,
        x: &[u8],
        o: &mut [u8],
        pos: &mut usize,
    ) {
        if d == maps.len() {
            o[*pos..*pos + es].copy_from_slice(&x[off * es..(off + 1) * es]);
            *pos += es;
            return;
        }
        for &i in &maps[d] {
            rec(d + 1, off + i * si[d], maps, si, es, x, o, pos);
        }
    }
    rec(0, 0, &maps, &si, es, x, o, &mut pos);
    Ok(())
}

/// Axis, sizes along it, and the index of the value input of SPLIT / SPLIT_V.
pub(super) struct SplitPlan {
    axis: usize,
    sizes: Dims,
    shape: Dims,
    value: usize,
}

impl SplitPlan {
    pub(super) fn out_shapes(&self) -> Vec<Vec<usize>> {
        self.sizes
            .iter()
            .map(|&s| {
                let mut v = self.shape.to_vec();
                v[self.axis] = s;
                v
            })
            .collect()
    }
}

/// `split_v` is `Some(())` for SPLIT_V (inputs: value, size_splits, axis), `None` for SPLIT
/// (inputs: axis, value).
pub(super) fn split_plan(
    op: &str,
    num_splits: i32,
    split_v: Option<()>,
    inputs: &[Option<ShapeIn<'_>>],
) -> Res<SplitPlan> {
    let (vi, ai) = if split_v.is_some() { (0, 2) } else { (1, 0) };
    let v = arg(op, inputs, vi)?;
    let axis = norm_axis(
        op,
        int_scalar(op, &arg(op, inputs, ai)?, "axis")?,
        v.shape.len(),
    )?;
    let dim = v.shape[axis];
    if num_splits <= 0 {
        return Err(invalid(
            op,
            format!("num_splits {num_splits} must be positive"),
        ));
    }
    let sizes = if split_v.is_some() {
        let s = ints(op, &arg(op, inputs, 1)?, "size_splits")?;
        if s.len() != num_splits as usize {
            return Err(invalid(
                op,
                format!("{} size_splits for num_splits {num_splits}", s.len()),
            ));
        }
        let known: i64 = s.iter().filter(|&&x| x >= 0).sum();
        let wild: Dims = (0..s.len()).filter(|&i| s[i] < 0).collect();
        let bad = || {
            invalid(
                op,
                format!("size_splits {s:?} do not split a dimension of {dim}"),
            )
        };
        if s.iter().any(|&x| x < -1) || wild.len() > 1 {
            return Err(bad());
        }
        let mut sizes: Dims = s.iter().map(|&x| x.max(0) as usize).collect();
        match wild.first() {
            Some(&w) if known <= dim as i64 => sizes[w] = dim - known as usize,
            None if known == dim as i64 => {}
            _ => return Err(bad()),
        }
        sizes
    } else {
        let n = num_splits as usize;
        if dim % n != 0 {
            return Err(invalid(
                op,
                format!("dimension {axis} of size {dim} does not split into {n} equal parts"),
            ));
        }
        smallvec::smallvec![dim / n; n]
    };
    Ok(SplitPlan {
        axis,
        sizes,
        shape: Dims::from_slice(v.shape),
        value: vi,
    })
}

pub(super) fn split(
    op: &str,
    num_splits: i32,
    split_v: Option<()>,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let plan = split_plan(op, num_splits, split_v, inputs)?;
    let v = arg(op, inputs, plan.value)?;
    let (x, es) = in_bytes(op, &v)?;
    if outputs.len() != plan.sizes.len() {
        return Err(invalid(
            op,
            format!(
                "has {} outputs, expected {}",
                outputs.len(),
                plan.sizes.len()
            ),
        ));
    }
    let inner = prod(&plan.shape[plan.axis + 1..]) * es;
    let outer = prod(&plan.shape[..plan.axis]);
    let mut outs = Vec::with_capacity(outputs.len());
    for (o, &s) in outputs.iter_mut().zip(&plan.sizes) {
        outs.push((
            out_bytes(op, o, v.dtype, outer * s * inner / es.max(1), es)?,
            s * inner,
        ));
    }
    let mut pos = 0;
    for i in 0..outer {
        for (o, chunk) in outs.iter_mut() {
            o[i * *chunk..(i + 1) * *chunk].copy_from_slice(&x[pos..pos + *chunk]);
            pos += *chunk;
        }
    }
    Ok(())
}

pub(super) fn pack_shape(
    op: &str,
    axis: i32,
    count: i32,
    inputs: &[Option<ShapeIn<'_>>],
) -> Res<Dims> {
    let first = arg(op, inputs, 0)?;
    if count as usize != inputs.len() {
        return Err(invalid(
            op,
            format!("values_count {count} but {} inputs", inputs.len()),
        ));
    }
    for (i, a) in inputs.iter().enumerate() {
        let a = a.ok_or_else(|| invalid(op, format!("input {i} is missing")))?;
        if a.shape != first.shape || a.dtype != first.dtype {
            return Err(invalid(
                op,
                format!(
                    "input {i} ({:?}) differs from input 0 ({:?})",
                    a.shape, first.shape
                ),
            ));
        }
    }
    let ax = norm_axis(op, axis as i64, first.shape.len() + 1)?;
    let mut out = Dims::from_slice(first.shape);
    out.insert(ax, inputs.len());
    Ok(out)
}

pub(super) fn pack(
    op: &str,
    axis: i32,
    count: i32,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let out_shape = pack_shape(op, axis, count, inputs)?;
    let first = arg(op, inputs, 0)?;
    let ax = norm_axis(op, axis as i64, out_shape.len())?;
    let es = elem_size(op, first.dtype)?;
    let chunk = prod(&first.shape[ax..]) * es;
    let outer = prod(&first.shape[..ax]);
    let mut parts = Vec::with_capacity(inputs.len());
    for a in inputs.iter().flatten() {
        parts.push(in_bytes(op, a)?.0);
    }
    let o = out_bytes(op, out0(op, outputs)?, first.dtype, prod(&out_shape), es)?;
    let mut pos = 0;
    for i in 0..outer {
        for p in &parts {
            o[pos..pos + chunk].copy_from_slice(&p[i * chunk..(i + 1) * chunk]);
            pos += chunk;
        }
    }
    Ok(())
}

pub(super) fn unpack_shapes(
    op: &str,
    axis: i32,
    num: i32,
    inputs: &[Option<ShapeIn<'_>>],
) -> Res<Vec<Vec<usize>>> {
    let a = arg(op, inputs, 0)?;
    let ax = norm_axis(op, axis as i64, a.shape.len())?;
    let n = a.shape[ax];
    if num >= 0 && num as usize != n && num != 0 {
        return Err(invalid(
            op,
            format!("num {num} but dimension {ax} has size {n}"),
        ));
    }
    let mut s = a.shape.to_vec();
    s.remove(ax);
    Ok(vec![s; n])
}

pub(super) fn unpack(
    op: &str,
    axis: i32,
    num: i32,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let shapes = unpack_shapes(op, axis, num, inputs)?;
    let a = arg(op, inputs, 0)?;
    let ax = norm_axis(op, axis as i64, a.shape.len())?;
    let (x, es) = in_bytes(op, &a)?;
    if outputs.len() != shapes.len() {
        return Err(invalid(
            op,
            format!("has {} outputs, expected {}", outputs.len(), shapes.len()),
        ));
    }
    let chunk = prod(&a.shape[ax + 1..]) * es;
    let outer = prod(&a.shape[..ax]);
    let mut outs = Vec::with_capacity(outputs.len());
    for (o, s) in outputs.iter_mut().zip(&shapes) {
        outs.push(out_bytes(op, o, a.dtype, prod(s), es)?);
    }
    let mut pos = 0;
    for i in 0..outer {
        for o in outs.iter_mut() {
            o[i * chunk..(i + 1) * chunk].copy_from_slice(&x[pos..pos + chunk]);
            pos += chunk;
        }
    }
    Ok(())
}

pub(super) struct GatherPlan {
    pub out_shape: Dims,
    batch: usize,
    outer: usize,
    axis_dim: usize,
    inner: usize,
    per_batch: usize,
}

pub(super) fn gather_plan(
    op: &str,
    axis: i32,
    batch_dims: i32,
    inputs: &[Option<ShapeIn<'_>>],
) -> Res<GatherPlan> {
    let p = arg(op, inputs, 0)?;
    let idx = arg(op, inputs, 1)?;
    if !matches!(idx.dtype, TensorType::Int32 | TensorType::Int64) {
        return Err(unsupported(
            op,
            format!(
                "indices are {}, only int32 and int64 are supported",
                idx.dtype.name()
            ),
        ));
    }
    let ax = norm_axis(op, axis as i64, p.shape.len())?;
    let bd = if batch_dims < 0 {
        batch_dims as i64 + idx.shape.len() as i64
    } else {
        batch_dims as i64
    };
    if bd < 0 || bd as usize > ax || bd as usize > idx.shape.len() {
        return Err(invalid(
            op,
            format!("batch_dims {batch_dims} is out of range"),
        ));
    }
    let bd = bd as usize;
    if p.shape[..bd] != idx.shape[..bd] {
        return Err(invalid(
            op,
            format!(
                "the first {bd} dimensions of params {:?} and indices {:?} differ",
                p.shape, idx.shape
            ),
        ));
    }
    let mut out_shape = Dims::from_slice(&p.shape[..ax]);
    out_shape.extend_from_slice(&idx.shape[bd..]);
    out_shape.extend_from_slice(&p.shape[ax + 1..]);
    numel(op, &out_shape)?;
    Ok(GatherPlan {
        out_shape,
        batch: prod(&p.shape[..bd]),
        outer: prod(&p.shape[bd..ax]),
        axis_dim: p.shape[ax],
        inner: prod(&p.shape[ax + 1..]),
        per_batch: prod(&idx.shape[bd..]),
    })
}

pub(super) fn gather(
    op: &str,
    axis: i32,
    batch_dims: i32,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let g = gather_plan(op, axis, batch_dims, inputs)?;
    let p = arg(op, inputs, 0)?;
    let (x, es) = in_bytes(op, &p)?;
    let idx = ints(op, &arg(op, inputs, 1)?, "indices")?;
    let o = out_bytes(op, out0(op, outputs)?, p.dtype, prod(&g.out_shape), es)?;
    let chunk = g.inner * es;
    let mut pos = 0;
    for b in 0..g.batch {
        let ids = &idx[b * g.per_batch..(b + 1) * g.per_batch];
        for r in 0..g.outer {
            for &i in ids {
                if i < 0 || i as usize >= g.axis_dim {
                    return Err(invalid(
                        op,
                        format!(
                            "index {i} is out of range for a dimension of {}",
                            g.axis_dim
                        ),
                    ));
                }
                let src = ((b * g.outer + r) * g.axis_dim + i as usize) * chunk;
                o[pos..pos + chunk].copy_from_slice(&x[src..src + chunk]);
                pos += chunk;
            }
        }
    }
    Ok(())
}

fn block_of(op: &str, block: i32) -> Res<usize> {
    if block <= 0 {
        return Err(invalid(op, format!("block_size {block} must be positive")));
    }
    Ok(block as usize)
}

fn nhwc(op: &str, s: &[usize]) -> Res<[usize; 4]> {
    <[usize; 4]>::try_from(s)
        .map_err(|_| invalid(op, format!("input must be 4-D, has shape {s:?}")))
}

pub(super) fn depth_to_space_shape(
    op: &str,
    block: i32,
    inputs: &[Option<ShapeIn<'_>>],
) -> Res<Dims> {
    let b = block_of(op, block)?;
    let [n, h, w, c] = nhwc(op, arg(op, inputs, 0)?.shape)?;
    if c % (b * b) != 0 {
        return Err(invalid(
            op,
            format!("{c} channels are not divisible by block_size² = {}", b * b),
        ));
    }
    Ok(smallvec::smallvec![n, h * b, w * b, c / (b * b)])
}

pub(super) fn depth_to_space(
    op: &str,
    block: i32,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let out_shape = depth_to_space_shape(op, block, inputs)?;
    let b = block as usize;
    let a = arg(op, inputs, 0)?;
    let [n, h, w, c] = nhwc(op, a.shape)?;
    let (x, es) = in_bytes(op, &a)?;
    let o = out_bytes(op, out0(op, outputs)?, a.dtype, prod(&out_shape), es)?;
    let co = c / (b * b) * es;
    let mut pos = 0;
    for ni in 0..n {
        for y in 0..h {
            for by in 0..b {
                for xi in 0..w {
                    let px = ((ni * h + y) * w + xi) * c * es;
                    for bx in 0..b {
                        let src = px + (by * b + bx) * co;
                        o[pos..pos + co].copy_from_slice(&x[src..src + co]);
                        pos += co;
                    }
                }
            }
        }
    }
    Ok(())
}

pub(super) fn space_to_depth_shape(
    op: &str,
    block: i32,
    inputs: &[Option<ShapeIn<'_>>],
) -> Res<Dims> {
    let b = block_of(op, block)?;
    let [n, h, w, c] = nhwc(op, arg(op, inputs, 0)?.shape)?;
    if h % b != 0 || w % b != 0 {
        return Err(invalid(
            op,
            format!("spatial size {h}x{w} is not divisible by block_size {b}"),
        ));
    }
    Ok(smallvec::smallvec![n, h / b, w / b, c * b * b])
}

pub(super) fn space_to_depth(
    op: &str,
    block: i32,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let out_shape = space_to_depth_shape(op, block, inputs)?;
    let b = block as usize;
    let a = arg(op, inputs, 0)?;
    let [n, h, w, c] = nhwc(op, a.shape)?;
    let (x, es) = in_bytes(op, &a)?;
    let o = out_bytes(op, out0(op, outputs)?, a.dtype, prod(&out_shape), es)?;
    let ce = c * es;
    let mut pos = 0;
    for ni in 0..n {
        for y in 0..h / b {
            for xi in 0..w / b {
                for by in 0..b {
                    for bx in 0..b {
                        let src = ((ni * h + y * b + by) * w + xi * b + bx) * ce;
                        o[pos..pos + ce].copy_from_slice(&x[src..src + ce]);
                        pos += ce;
                    }
                }
            }
        }
    }
    Ok(())
}
