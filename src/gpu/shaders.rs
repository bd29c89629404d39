//! The WGSL sources in `shaders/`, one file per op family, assembled per precision.

use super::precision::Precision;

/// A shader file (an op family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShaderFile {
    /// Convolutions, depthwise, fully connected, transposed convolutions.
    Conv,
    /// `Conv` plus the 1x1 convolutions that share weight loads across a subgroup
    /// (`conv_subgroup.wgsl`); only for devices with
    /// [`GpuContext::has_subgroup_kernels`](super::GpuContext::has_subgroup_kernels).
    ConvSubgroup,
    /// Binary ops with broadcasting.
    Elementwise,
    /// Activations and unary math.
    Unary,
    /// Max and average pooling.
    Pool,
    /// Mean and softmax.
    Reduce,
    /// Strided copies (concat, slices, transpose, depth-to-space) and padding.
    Copy,
    /// Bilinear and nearest-neighbour resizing.
    Resize,
}

impl ShaderFile {
    /// Every kernel file.
    pub const ALL: [ShaderFile; 8] = [
        ShaderFile::Conv,
        ShaderFile::ConvSubgroup,
        ShaderFile::Elementwise,
        ShaderFile::Unary,
        ShaderFile::Pool,
        ShaderFile::Reduce,
        ShaderFile::Copy,
        ShaderFile::Resize,
    ];

    /// The file's name under `shaders/`.
    pub fn file_name(self) -> &'static str {
        match self {
            ShaderFile::Conv => "conv.wgsl",
            ShaderFile::ConvSubgroup => "conv_subgroup.wgsl",
            ShaderFile::Elementwise => "elementwise.wgsl",
            ShaderFile::Unary => "unary.wgsl",
            ShaderFile::Pool => "pool.wgsl",
            ShaderFile::Reduce => "reduce.wgsl",
            ShaderFile::Copy => "copy.wgsl",
            ShaderFile::Resize => "resize.wgsl",
        }
    }

    fn body(self) -> &'static str {
        match self {
            ShaderFile::Conv => include_str!("../../shaders/conv.wgsl"),
            ShaderFile::ConvSubgroup => include_str!("../../shaders/conv_subgroup.wgsl"),
            ShaderFile::Elementwise => include_str!("../../shaders/elementwise.wgsl"),
            ShaderFile::Unary => include_str!("../../shaders/unary.wgsl"),
            ShaderFile::Pool => include_str!("../../shaders/pool.wgsl"),
            ShaderFile::Reduce => include_str!("../../shaders/reduce.wgsl"),
            ShaderFile::Copy => include_str!("../../shaders/copy.wgsl"),
            ShaderFile::Resize => include_str!("../../shaders/resize.wgsl"),
        }
    }

    /// Entry points the file defines.
    pub fn entries(self) -> &'static [&'static str] {
        match self {
            ShaderFile::Conv => &[
                "conv2d_tiled",
                "conv2d_3x3_c3",
                "conv2d_1x1_tiled",
                "conv2d_1x1_v4_8x8",
                "conv2d_1x1_v4_8x16",
                "conv2d_1x1_tiled_res",
                "conv2d_1x1_v4_8x8_res",
                "conv2d_1x1_v4_8x16_res",
                "depthwise_conv2d",
                "depthwise_v4",
                "depthwise3x3_s1",
                "depthwise3x3_s2",
                "depthwise3x3_s1_v4",
                "depthwise3x3_s2_v4",
                "fully_connected",
                "fully_connected_v4",
                "transpose_conv",
                "transpose_conv_v4",
            ],
            ShaderFile::ConvSubgroup => &[
                "conv2d_1x1_sg_4x32",
                "conv2d_1x1_sg_4x32_res",
                "conv2d_1x1_sg_4x16",
                "conv2d_1x1_sg_4x16_res",
                "conv2d_3x3_c3_sg_8",
                "conv2d_3x3_c3_sg_16",
                "conv2d_tiled_sg",
            ],
            ShaderFile::Elementwise => &[
                "binary",
                "binary_same_shape",
                "binary_same_shape_v4",
                "binary_channels_v4",
            ],
            ShaderFile::Unary => &["unary", "unary_v4"],
            ShaderFile::Pool => &["max_pool", "avg_pool", "max_pool_v4", "avg_pool_v4"],
            ShaderFile::Reduce => &["mean", "softmax"],
            ShaderFile::Copy => &["strided_copy", "pad"],
            ShaderFile::Resize => &["bilinear", "nearest", "bilinear_v4", "nearest_v4"],
        }
    }

    /// The complete module for `precision`: type aliases, shared helpers, the file.
    pub fn source(self, precision: Precision) -> String {
        let mut s = String::with_capacity(self.body().len() + ShaderFile::Conv.body().len() + 2048);
        s.push_str(precision.wgsl_header());
        s.push_str(include_str!("../../shaders/common.wgsl"));
        s.push('\n');
        if self == ShaderFile::ConvSubgroup {
            // The subgroup kernels use conv.wgsl's parameters, bindings and helpers.
            s.push_str(ShaderFile::Conv.body());
            s.push('\n');
        }
        s.push_str(self.body());
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shader_validates_in_every_precision() {
        for file in ShaderFile::ALL {
            for precision in Precision::ALL {
                let src = file.source(precision);
                let label = format!("{} ({precision})", file.file_name());
                let info = crate::gpu::shader::validate_wgsl(&label, &src)
                    .unwrap_or_else(|e| panic!("{e}"));
                let module = naga::front::wgsl::parse_str(&src).unwrap();
                for entry in file.entries() {
                    assert!(
                        module.entry_points.iter().any(|e| e.name == *entry),
                        "{label}: no entry point {entry}"
                    );
                }
                drop(info);
                // Activations share arena buffers, and wgpu refuses a dispatch that binds one
                // buffer both read-only and read-write even over disjoint ranges: every storage
                // binding is declared read_write (the shaders never write their inputs).
                for decl in src.split("var<").skip(1) {
                    let access = decl.split('>').next().unwrap_or_default().replace(' ', "");
                    assert!(
                        !access.starts_with("storage") || access == "storage,read_write",
                        "{label}: storage binding declared `var<{access}>`, not read_write"
                    );
                }
                assert_eq!(
                    src.contains("enable f16;"),
                    precision.stores_f16(),
                    "{label}"
                );
            }
        }
    }
}
