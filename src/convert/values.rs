//! Rounding float32 constant data to float16, with the statistics the report needs.

use half::f16;

/// The largest finite float16 value.
pub(crate) const F16_MAX: f32 = 65504.0;

/// One buffer of float32 values rounded to float16.
#[derive(Debug, Clone)]
pub(crate) struct Rounded {
    /// The float16 values, little-endian.
    pub bytes: Vec<u8>,
    /// Number of values.
    pub count: usize,
    /// Values with `|x| > 65504` (they become infinity).
    pub overflow: usize,
    /// The largest `|x|` among the overflowing values.
    pub overflow_max: f32,
    /// Largest `|f16(x) - x| / |x|` over finite non-zero values that do not overflow.
    pub max_rel: f64,
    /// The same, over values in float16's normal range (`|x| >= 2^-14`).
    pub max_rel_normal: f64,
    /// Non-zero values that became zero.
    pub flushed: usize,
}

/// Rounds little-endian float32 `data` to float16 (round to nearest, ties to even).
///
/// Returns `None` when `data` is not a whole number of float32 values.
pub(crate) fn round_f32_bytes(data: &[u8]) -> Option<Rounded> {
    if !data.len().is_multiple_of(4) {
        return None;
    }
    let count = data.len() / 4;
    let mut r = Rounded {
        bytes: Vec::with_capacity(count * 2),
        count,
        overflow: 0,
        overflow_max: 0.0,
        max_rel: 0.0,
        max_rel_normal: 0.0,
        flushed: 0,
    };
    let min_normal = f16::MIN_POSITIVE.to_f32();
    for chunk in data.chunks_exact(4) {
        let x = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let h = f16::from_f32(x);
        r.bytes.extend_from_slice(&h.to_le_bytes());
        let ax = x.abs();
        if ax > F16_MAX {
            r.overflow += 1;
            r.overflow_max = r.overflow_max.max(ax);
            continue;
        }
        if x == 0.0 || !x.is_finite() {
            continue;
        }
        if h.to_f32() == 0.0 {
            r.flushed += 1;
        }
        let rel = ((h.to_f32() as f64) - (x as f64)).abs() / (ax as f64);
        r.max_rel = r.max_rel.max(rel);
        if ax >= min_normal {
            r.max_rel_normal = r.max_rel_normal.max(rel);
        }
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn rounds_to_nearest_even_and_counts() {
        // 1 + 2^-11 lies halfway between 1 and the next float16 (1 + 2^-10): ties go to even (1).
        let tie = 1.0 + 2f32.powi(-11);
        let r = round_f32_bytes(&bytes(&[tie, 1e6, -70000.0, 65504.0, 1e-9, 0.0])).unwrap();
        assert_eq!(r.count, 6);
        assert_eq!(&r.bytes[0..2], &f16::ONE.to_le_bytes());
        assert_eq!(r.overflow, 2);
        assert_eq!(r.overflow_max, 1e6);
        assert_eq!(r.flushed, 1);
        assert_eq!(r.max_rel, 1.0);
        assert!((r.max_rel_normal - 2f64.powi(-11) / (1.0 + 2f64.powi(-11))).abs() < 1e-12);
        assert!(round_f32_bytes(&[0, 0, 0]).is_none());
    }
}
