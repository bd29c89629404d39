//! The three precision modes of the GPU delegate, as TFLite names them, and how a requested
//! mode degrades on an adapter without `SHADER_F16`.

use std::fmt;

/// How tensors are stored and computed on the GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Precision {
    /// All data and arithmetic in f32.
    F32,
    /// Activations and weights stored as f16, arithmetic in f32 (TFLite's F32_F16 keeps f32
    /// accumulation in the convolutions; here every kernel computes in f32).
    F32F16,
    /// Storage and arithmetic in f16; reductions (softmax sums, means) still accumulate in f32.
    F16,
}

impl Precision {
    /// Whether tensors are stored as f16 on the GPU.
    pub fn stores_f16(self) -> bool {
        !matches!(self, Precision::F32)
    }

    /// Bytes per stored element.
    pub fn element_bytes(self) -> usize {
        if self.stores_f16() {
            2
        } else {
            4
        }
    }

    /// The WGSL prelude that gives the shaders their storage type `T` and arithmetic type `A`.
    pub fn wgsl_header(self) -> &'static str {
        match self {
            Precision::F32 => "alias T = f32;\nalias A = f32;\n",
            Precision::F32F16 => "enable f16;\nalias T = f16;\nalias A = f32;\n",
            Precision::F16 => "enable f16;\nalias T = f16;\nalias A = f16;\n",
        }
    }

    /// Parses `f32`, `f16`, `f32f16` (also `f32_f16`), case-insensitively.
    pub fn parse(s: &str) -> Option<Precision> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "fp32" => Some(Precision::F32),
            "f16" | "fp16" => Some(Precision::F16),
            "f32f16" | "f32_f16" | "fp32_fp16" => Some(Precision::F32F16),
            _ => None,
        }
    }

    /// All modes, for sweeps.
    pub const ALL: [Precision; 3] = [Precision::F32, Precision::F32F16, Precision::F16];
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::F32 => "F32",
            Precision::F32F16 => "F32F16",
            Precision::F16 => "F16",
        })
    }
}

/// The mode a delegate runs in: TFLite's rule (`precision_loss_allowed` -> F16, else F32) unless
/// an explicit mode is given; then degraded to what the adapter can do. Returns the mode and,
/// when it differs from the requested one, the reason.
pub fn resolve(
    precision_loss_allowed: bool,
    explicit: Option<Precision>,
    has_shader_f16: bool,
) -> (Precision, Option<String>) {
    let requested = explicit.unwrap_or(if precision_loss_allowed {
        Precision::F16
    } else {
        Precision::F32
    });
    if requested.stores_f16() && !has_shader_f16 {
        // f16 storage needs the WGSL f16 type, which needs SHADER_F16: both F16 and F32F16 fall
        // back to F32 rather than to a storage format the shaders cannot declare.
        return (
            Precision::F32,
            Some(format!(
                "{requested} requested, but the adapter lacks SHADER_F16 (f16 storage and arithmetic); running in F32"
            )),
        );
    }
    (requested, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_follows_tflite_and_degrades_without_f16() {
        assert_eq!(resolve(false, None, true), (Precision::F32, None));
        assert_eq!(resolve(true, None, true), (Precision::F16, None));
        assert_eq!(
            resolve(false, Some(Precision::F32F16), true),
            (Precision::F32F16, None)
        );
        let (p, why) = resolve(true, None, false);
        assert_eq!(p, Precision::F32);
        assert!(why.unwrap().contains("SHADER_F16"));
        assert_eq!(Precision::parse("F32_F16"), Some(Precision::F32F16));
        assert_eq!(Precision::parse("bf16"), None);
    }
}
