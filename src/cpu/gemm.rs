//! Matrix products of the convolutions and fully-connected layers without heap allocation.
//!
//! The `gemm` crate's top-level call allocates its packing buffers on every call. Here the
//! same crate's register-blocked SIMD micro-kernels (`gemm-f32`, AVX2 + FMA) do the arithmetic
//! and the loops around them need no buffer at all: the weights are packed once, when the
//! interpreter is built (or into the caller's scratch when they are not constant), into panels
//! of [`MR`] output channels, and the activations are read in place. Results are stored as
//! whole vectors along the output channels; bias and the fused activation follow in one pass
//! over rows that are still in cache.
//!
//! CPUs without AVX2 + FMA (and other architectures) take the `gemm` crate's own call per
//! panel, which is equally correct but allocates inside.

use super::util::{activation_range, apply_activation, invalid, Res};
use crate::model::Activation;

/// Output channels per packed weight panel (the micro-kernel's SIMD dimension: two 8-lane
/// vectors).
pub(crate) const MR: usize = 16;
/// Activation rows (pixels) per micro-kernel call.
const NR: usize = 6;

/// Bias per output column and the fused activation, applied as results are stored.
#[derive(Clone, Copy)]
pub(crate) struct Epilogue<'a> {
    pub bias: Option<&'a [f32]>,
    pub act: Activation,
}

/// Floats of the packed form of `n` weight rows of depth `k`.
pub(crate) fn packed_len(n: usize, k: usize) -> usize {
    n.div_ceil(MR) * MR * k
}

/// Packs `n` weight rows of `k` values into panels of [`MR`] rows: packed row `r` (panel
/// `r / MR`, lane `r % MR`) holds source row `row_of(r)`, depth `d` at
/// `(r / MR * k + d) * MR + r % MR`; lanes past `n` are zero. `dst` holds [`packed_len`]
/// floats and every `row_of(r)` is below `src.len() / k`.
pub(crate) fn pack_weights(
    src: &[f32],
    n: usize,
    k: usize,
    row_of: impl Fn(usize) -> usize,
    dst: &mut [f32],
) {
    for (p, panel) in dst
        .chunks_exact_mut(MR * k.max(1))
        .take(n.div_ceil(MR))
        .enumerate()
    {
        let lanes = (n - p * MR).min(MR);
        for lane in 0..lanes {
            let row = row_of(p * MR + lane);
            for (d, &v) in src[row * k..(row + 1) * k].iter().enumerate() {
                panel[d * MR + lane] = v;
            }
        }
        if lanes < MR {
            for d in 0..k {
                panel[d * MR + lanes..(d + 1) * MR].fill(0.0);
            }
        }
    }
}

/// Activation rows per block: a block's rows stay in the L2 cache while every weight panel
/// passes over them (a multiple of [`NR`]).
fn block_rows(k: usize) -> usize {
    ((128 * 1024 / 4) / k.max(1)).clamp(NR, 64 * NR) / NR * NR
}

/// `c[m×n] = act(a[m×k] · wᵀ + bias)`: `a` has rows of `k` values with row stride `rsa`, `w`
/// is the [`pack_weights`] form of `n` rows of depth `k` (TFLite's `[out, in]` weights) and
/// `c` has row stride `rsc`. Every index is checked first.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    op: &str,
    (m, k, n): (usize, usize, usize),
    a: &[f32],
    rsa: usize,
    w: &[f32],
    c: &mut [f32],
    rsc: usize,
    epi: Epilogue<'_>,
) -> Res<()> {
    if m == 0 || n == 0 {
        return Ok(());
    }
    let last_c = (m - 1).checked_mul(rsc).and_then(|x| x.checked_add(n));
    if rsc < n || last_c.is_none_or(|l| l > c.len()) {
        return Err(invalid(op, "matrix product output out of bounds"));
    }
    let last_a = (m - 1).checked_mul(rsa).and_then(|x| x.checked_add(k));
    if (m > 1 && rsa < k) || last_a.is_none_or(|l| l > a.len()) || w.len() < packed_len(n, k) {
        return Err(invalid(op, "matrix product operand out of bounds"));
    }
    if epi.bias.is_some_and(|bias| bias.len() < n) {
        return Err(invalid(op, "bias shorter than the output columns"));
    }
    let block = block_rows(k);
    let mut r0 = 0;
    while r0 < m {
        let rows = block.min(m - r0);
        let out = &mut c[r0 * rsc..(r0 + rows - 1) * rsc + n];
        if k == 0 {
            out.fill(0.0);
        } else {
            product_block(&a[r0 * rsa..], rsa, (rows, k, n), w, out, rsc);
        }
        for row in out.chunks_mut(rsc) {
            bias_activation(&mut row[..n], epi);
        }
        r0 += rows;
    }
    Ok(())
}

/// Adds the bias to one output row and applies the activation.
fn bias_activation(row: &mut [f32], epi: Epilogue<'_>) {
    match (activation_range(epi.act), epi.bias) {
        (Some((lo, hi)), Some(b)) => {
            for (v, b) in row.iter_mut().zip(b) {
                *v = (*v + b).clamp(lo, hi);
            }
        }
        (Some((lo, hi)), None) => row.iter_mut().for_each(|v| *v = v.clamp(lo, hi)),
        (None, bias) => {
            if let Some(b) = bias {
                row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
            }
            apply_activation(epi.act, row);
        }
    }
}

/// `out[rows×n] = a[rows×k] · wᵀ` for one block of rows (`out` row stride `rsc`), on the
/// micro-kernels when the CPU has them.
fn product_block(
    a: &[f32],
    rsa: usize,
    (rows, k, n): (usize, usize, usize),
    w: &[f32],
    out: &mut [f32],
    rsc: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if has_fma() {
        // SAFETY: AVX2 and FMA are present; `matmul` checked that rows 0..rows of `a` (stride
        // rsa, k values), the packed panels of `w` and rows 0..rows of `out` (stride rsc, n
        // values) lie inside the slices.
        unsafe { product_block_fma(a, rsa, (rows, k, n), w, out, rsc) };
        return;
    }
    for p in 0..n.div_ceil(MR) {
        let lanes = (n - p * MR).min(MR);
        // SAFETY: as above; the panel is read as a [k][MR] matrix of which `lanes` rows are
        // used, and the output columns p*MR..p*MR+lanes of each row are written.
        unsafe {
            gemm::gemm(
                lanes,
                rows,
                k,
                out.as_mut_ptr().add(p * MR),
                rsc as isize,
                1,
                false,
                w.as_ptr().add(p * MR * k),
                MR as isize,
                1,
                a.as_ptr(),
                rsa as isize,
                1,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }
}

/// [`product_block`] on the AVX2 + FMA micro-kernels of `gemm-f32`: for each weight panel,
/// tiles of [`MR`] channels x [`NR`] rows written straight into `out`.
///
/// # Safety
/// AVX2 and FMA must be available and the operands as [`matmul`] checks them.
#[cfg(target_arch = "x86_64")]
unsafe fn product_block_fma(
    a: &[f32],
    rsa: usize,
    (rows, k, n): (usize, usize, usize),
    w: &[f32],
    out: &mut [f32],
    rsc: usize,
) {
    use gemm_f32::microkernel::fma::f32 as ukr;
    const { assert!(ukr::MR_DIV_N * 8 == MR && ukr::NR == NR) };
    for p in 0..n.div_ceil(MR) {
        let lanes = (n - p * MR).min(MR);
        let panel = w[p * MR * k..].as_ptr();
        let mut r = 0;
        while r < rows {
            let cols = NR.min(rows - r);
            // SAFETY: the panel holds k x MR values; rows r..r+cols of `a` hold k values each;
            // the kernel writes `lanes` channels of `cols` rows of `out`, all inside the block.
            unsafe {
                ukr::UKR[MR / 8 - 1][cols - 1](
                    lanes,
                    cols,
                    k,
                    out.as_mut_ptr().add(r * rsc + p * MR),
                    panel,
                    a.as_ptr().add(r * rsa),
                    rsc as isize,
                    1,
                    MR as isize,
                    1,
                    rsa as isize,
                    0.0,
                    1.0,
                    0,
                    false,
                    false,
                    false,
                    panel,
                );
            }
            r += cols;
        }
    }
}

/// Whether the CPU has AVX2 and FMA (the `gemm-f32` micro-kernels used here and the
/// hand-vectorized loops of the other kernels need both).
pub(crate) fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: &[f32]) -> Vec<f32> {
        let mut c = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0f64;
                for d in 0..k {
                    s += a[i * k + d] as f64 * b[j * k + d] as f64;
                }
                c[i * n + j] = (s + bias[j] as f64).clamp(0.0, 6.0) as f32;
            }
        }
        c
    }

    #[test]
    fn matches_a_direct_product_on_odd_sizes() {
        for &(m, k, n) in &[
            (1, 1, 1),
            (5, 3, 7),
            (17, 9, 6),
            (33, 31, 13),
            (100, 70, 37),
            (3, 0, 5),
        ] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 40.0)
                .collect();
            let b: Vec<f32> = (0..n * k)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) / 60.0)
                .collect();
            let bias: Vec<f32> = (0..n).map(|j| j as f32 * 0.1 - 0.3).collect();
            let mut c = vec![f32::NAN; m * n];
            let mut w = vec![f32::NAN; packed_len(n, k)];
            pack_weights(&b, n, k, |r| r, &mut w);
            let epi = Epilogue {
                bias: Some(&bias),
                act: Activation::Relu6,
            };
            matmul("test", (m, k, n), &a, k, &w, &mut c, n, epi).unwrap();
            let want = reference(m, k, n, &a, &b, &bias);
            for (x, y) in c.iter().zip(&want) {
                assert!(
                    (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
                    "{m}x{k}x{n}: {x} vs {y}"
                );
            }
        }
    }

    #[test]
    fn out_of_bounds_operands_are_errors() {
        let mut c = vec![0f32; 4];
        let epi = Epilogue {
            bias: None,
            act: Activation::None,
        };
        let w = vec![0f32; packed_len(2, 2)];
        assert!(matmul("t", (2, 2, 2), &[0.0; 3], 2, &w, &mut c, 2, epi).is_err());
        assert!(matmul("t", (2, 2, 3), &[0.0; 4], 2, &w, &mut c, 3, epi).is_err());
        assert!(matmul("t", (2, 2, 2), &[0.0; 4], 2, &w[..31], &mut c, 2, epi).is_err());
    }
}
