//! DEQUANTIZE (f16 → f32), CAST, SHAPE, and the expansion of sparse constants (DENSIFY).

use half::f16;

use super::util::{arg, invalid, numel, out0, unsupported, values, Dims, Res};
use super::{KernelError, ShapeIn, TensorOut};
use crate::model::{DimensionMetadata, Sparsity, TensorType};

pub(super) fn dequantize(
    op: &str,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let a = arg(op, inputs, 0)?;
    let x = values(op, &a, "input")?;
    let o = out0(op, outputs)?;
    if o.dtype != TensorType::Float32 {
        return Err(unsupported(
            op,
            format!("output is {}, expected float32", o.dtype.name()),
        ));
    }
    match a.dtype {
        TensorType::Float32 => {
            if o.bytes.len() != x.len() {
                return Err(invalid(op, "output size differs from input"));
            }
            o.bytes.copy_from_slice(x);
        }
        TensorType::Float16 => {
            let src: &[f16] =
                bytemuck::try_cast_slice(x).map_err(|_| invalid(op, "bad float16 data"))?;
            let dst: &mut [f32] = bytemuck::try_cast_slice_mut(&mut *o.bytes)
                .map_err(|_| invalid(op, "bad output length"))?;
            if src.len() != dst.len() {
                return Err(invalid(op, "output size differs from input"));
            }
            for (d, s) in dst.iter_mut().zip(src) {
                *d = s.to_f32();
            }
        }
        t => {
            return Err(unsupported(
                op,
                format!(
                    "dequantizing {} (quantized) tensors is not supported",
                    t.name()
                ),
            ))
        }
    }
    Ok(())
}

/// Whether CAST handles this dtype (as source or destination).
pub(super) fn cast_type_supported(t: TensorType) -> bool {
    use TensorType::*;
    matches!(
        t,
        Float32 | Float16 | Int32 | Int64 | UInt8 | Int8 | Bool | Int16 | Float64 | UInt32 | UInt16
    )
}

/// Element values, either all integral (read exactly) or floating.
enum Vals {
    Int(Vec<i64>),
    Float(Vec<f64>),
}

fn read_vals(op: &str, t: TensorType, b: &[u8]) -> Res<Vals> {
    use TensorType::*;
    let bad = || invalid(op, format!("bad {} data length", t.name()));
    macro_rules! int {
        ($ty:ty) => {
            Vals::Int(
                bytemuck::try_cast_slice::<u8, $ty>(b)
                    .map_err(|_| bad())?
                    .iter()
                    .map(|v| *v as i64)
                    .collect(),
            )
        };
    }
    Ok(match t {
        Int32 => int!(i32),
        Int64 => int!(i64),
        Int16 => int!(i16),
        UInt16 => int!(u16),
        UInt32 => int!(u32),
        UInt8 | Bool => int!(u8),
        Int8 => int!(i8),
        Float32 => Vals::Float(
            bytemuck::try_cast_slice::<u8, f32>(b)
                .map_err(|_| bad())?
                .iter()
                .map(|v| *v as f64)
                .collect(),
        ),
        Float64 => Vals::Float(
            bytemuck::try_cast_slice::<u8, f64>(b)
                .map_err(|_| bad())?
                .to_vec(),
        ),
        Float16 => Vals::Float(
            bytemuck::try_cast_slice::<u8, f16>(b)
                .map_err(|_| bad())?
                .iter()
                .map(|v| v.to_f64())
                .collect(),
        ),
        t => {
            return Err(unsupported(
                op,
                format!("casting from {} is not supported", t.name()),
            ))
        }
    })
}

fn write_vals(op: &str, t: TensorType, v: &Vals, out: &mut [u8]) -> Res<()> {
    use TensorType::*;
    let bad = || invalid(op, format!("output: bad {} data length", t.name()));
    macro_rules! put {
        ($ty:ty, $fi:expr, $ff:expr) => {{
            let o = bytemuck::try_cast_slice_mut::<u8, $ty>(out).map_err(|_| bad())?;
            match v {
                Vals::Int(s) if s.len() == o.len() => {
                    o.iter_mut().zip(s).for_each(|(o, x)| *o = $fi(*x))
                }
                Vals::Float(s) if s.len() == o.len() => {
                    o.iter_mut().zip(s).for_each(|(o, x)| *o = $ff(*x))
                }
                _ => return Err(invalid(op, "output size differs from input")),
            }
        }};
    }
    match t {
        Float32 => put!(f32, |x: i64| x as f32, |x: f64| x as f32),
        Float64 => put!(f64, |x: i64| x as f64, |x: f64| x),
        Float16 => put!(f16, |x: i64| f16::from_f64(x as f64), f16::from_f64),
        Int32 => put!(i32, |x: i64| x as i32, |x: f64| x as i32),
        Int64 => put!(i64, |x: i64| x, |x: f64| x as i64),
        Int16 => put!(i16, |x: i64| x as i16, |x: f64| x as i16),
        UInt16 => put!(u16, |x: i64| x as u16, |x: f64| x as u16),
        UInt32 => put!(u32, |x: i64| x as u32, |x: f64| x as u32),
        UInt8 => put!(u8, |x: i64| x as u8, |x: f64| x as u8),
        Int8 => put!(i8, |x: i64| x as i8, |x: f64| x as i8),
        Bool => put!(u8, |x: i64| (x != 0) as u8, |x: f64| (x != 0.0) as u8),
        t => {
            return Err(unsupported(
                op,
                format!("casting to {} is not supported", t.name()),
            ))
        }
    }
    Ok(())
}

pub(super) fn cast(
    op: &str,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let a = arg(op, inputs, 0)?;
    let v = read_vals(op, a.dtype, values(op, &a, "input")?)?;
    let o = out0(op, outputs)?;
    write_vals(op, o.dtype, &v, o.bytes)
}

pub(super) fn shape(
    op: &str,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let a = arg(op, inputs, 0)?;
    let o = out0(op, outputs)?;
    let bad = || invalid(op, "output size does not match the input's rank");
    match o.dtype {
        TensorType::Int32 => {
            let d = bytemuck::try_cast_slice_mut::<u8, i32>(o.bytes).map_err(|_| bad())?;
            if d.len() != a.shape.len() {
                return Err(bad());
            }
            for (d, s) in d.iter_mut().zip(a.shape) {
                *d = i32::try_from(*s).map_err(|_| invalid(op, "dimension exceeds int32"))?;
            }
        }
        TensorType::Int64 => {
            let d = bytemuck::try_cast_slice_mut::<u8, i64>(o.bytes).map_err(|_| bad())?;
            if d.len() != a.shape.len() {
                return Err(bad());
            }
            for (d, s) in d.iter_mut().zip(a.shape) {
                *d = *s as i64;
            }
        }
        t => {
            return Err(unsupported(
                op,
                format!("output type {} (int32, int64 are supported)", t.name()),
            ))
        }
    }
    Ok(())
}

fn dens_err(msg: impl Into<String>) -> KernelError {
    invalid("DENSIFY", msg)
}

/// Expands a constant stored in TFLite's sparse format into its dense row-major bytes.
///
/// `sparsity` describes the traversal (`traversal_order` of n + k dimensions for a dense rank n
/// and k block dimensions, `block_map` from block dimensions to dense ones, and per traversed
/// level its metadata: DENSE with `dense_size`, or SPARSE_CSR with `array_segments` and
/// `array_indices`). `values` holds the stored elements of `elem_size` bytes in traversal
/// order. Elements not stored are zero.
pub fn densify(
    sparsity: &Sparsity,
    dense_shape: &[usize],
    elem_size: usize,
    values: &[u8],
) -> Result<Vec<u8>, KernelError> {
    let n = dense_shape.len();
    let k = sparsity.block_map.len();
    let levels = n + k;
    if elem_size == 0 {
        return Err(dens_err("element size is 0"));
    }
    if sparsity.traversal_order.len() != levels || sparsity.dim_metadata.len() != levels {
        return Err(dens_err(format!(
            "traversal_order has {} and dim_metadata {} entries, expected {levels} (rank {n} + {k} block dimensions)",
            sparsity.traversal_order.len(),
            sparsity.dim_metadata.len()
        )));
    }
    let mut order = Vec::with_capacity(levels);
    let mut seen = vec![false; levels];
    for &t in &sparsity.traversal_order {
        let t = usize::try_from(t)
            .ok()
            .filter(|&t| t < levels && !seen[t])
            .ok_or_else(|| {
                dens_err(format!(
                    "traversal_order {:?} is not a permutation",
                    sparsity.traversal_order
                ))
            })?;
        seen[t] = true;
        order.push(t);
    }
    if order[..n].iter().any(|&t| t >= n) {
        return Err(dens_err(
            "the first traversal_order entries must be the dense dimensions",
        ));
    }
    // Block sizes, and the dense dimension each block dimension refines.
    let mut block_size = vec![0usize; k];
    let mut block_dim = vec![0usize; k];
    for j in 0..k {
        let d = usize::try_from(sparsity.block_map[j])
            .ok()
            .filter(|&d| d < n)
            .ok_or_else(|| {
                dens_err(format!(
                    "block_map {:?} is out of range",
                    sparsity.block_map
                ))
            })?;
        block_dim[j] = d;
        let level = order.iter().position(|&t| t == n + j).unwrap_or(n + j);
        let bs = sparsity.dim_metadata[level].dense_size;
        if bs <= 0 || !dense_shape[d].is_multiple_of(bs as usize) {
            return Err(dens_err(format!(
                "block size {bs} does not divide dimension {d} of size {}",
                dense_shape[d]
            )));
        }
        block_size[j] = bs as usize;
    }
    let total = numel("DENSIFY", dense_shape)?;
    let mut out = vec![
        0u8;
        total
            .checked_mul(elem_size)
            .ok_or_else(|| dens_err("dense size overflows"))?
    ];
    let strides = super::util::strides_of(dense_shape);
    let mut st = Walk {
        meta: &sparsity.dim_metadata,
        order: &order,
        n,
        block_size: &block_size,
        block_dim: &block_dim,
        strides: &strides,
        dense_shape,
        elem_size,
        values,
        next_value: 0,
        idx: smallvec::smallvec![0; levels],
        out: &mut out,
    };
    st.walk(0, 0)?;
    Ok(out)
}

/// State of the traversal of a sparse tensor.
struct Walk<'a> {
    meta: &'a [DimensionMetadata],
    order: &'a [usize],
    n: usize,
    block_size: &'a [usize],
    block_dim: &'a [usize],
    strides: &'a [usize],
    dense_shape: &'a [usize],
    elem_size: usize,
    values: &'a [u8],
    next_value: usize,
    /// Current index of each of the n + k dimensions.
    idx: Dims,
    out: &'a mut [u8],
}

impl Walk<'_> {
    fn walk(&mut self, level: usize, prev: usize) -> Res<()> {
        if level == self.order.len() {
            return self.emit();
        }
        let m = &self.meta[level];
        let dim = self.order[level];
        if !m.sparse {
            let size = usize::try_from(m.dense_size)
                .map_err(|_| dens_err(format!("negative dense_size {}", m.dense_size)))?;
            for i in 0..size {
                self.idx[dim] = i;
                let next = prev
                    .checked_mul(size)
                    .and_then(|p| p.checked_add(i))
                    .ok_or_else(|| dens_err("position overflows"))?;
                self.walk(level + 1, next)?;
            }
        } else {
            let (Some(seg), Some(ind)) = (&m.array_segments, &m.array_indices) else {
                return Err(dens_err(format!(
                    "sparse level {level} lacks array_segments or array_indices"
                )));
            };
            let get = |v: Option<i64>, what: &str| {
                v.and_then(|x| usize::try_from(x).ok())
                    .ok_or_else(|| dens_err(format!("{what} of level {level} out of range")))
            };
            let start = get(seg.get(prev), "array_segments")?;
            let end = get(seg.get(prev + 1), "array_segments")?;
            for i in start..end {
                self.idx[dim] = get(ind.get(i), "array_indices")?;
                self.walk(level + 1, i)?;
            }
        }
        Ok(())
    }

    fn emit(&mut self) -> Res<()> {
        let mut flat = 0usize;
        for d in 0..self.n {
            let mut i = self.idx[d];
            for j in 0..self.block_size.len() {
                if self.block_dim[j] == d {
                    i = i * self.block_size[j] + self.idx[self.n + j];
                }
            }
            if i >= self.dense_shape[d] {
                return Err(dens_err(format!(
                    "index {i} is out of range for dimension {d} of size {}",
                    self.dense_shape[d]
                )));
            }
            flat += i * self.strides[d];
        }
        let es = self.elem_size;
        let src = self
            .values
            .get(self.next_value * es..(self.next_value + 1) * es)
            .ok_or_else(|| {
                dens_err(format!(
                    "more stored positions than the {} values",
                    self.values.len() / es
                ))
            })?;
        self.out[flat * es..(flat + 1) * es].copy_from_slice(src);
        self.next_value += 1;
        Ok(())
    }
}
