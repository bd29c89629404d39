//! A support check that needs no device: whether the GPU delegate would claim a node, decided
//! by the same lowering that compilation uses, under wgpu's default limits.

use crate::delegate::NodeView;

use super::lower::{self, LowerLimits};
use super::precision::Precision;

/// `Ok` when the GPU delegate lowers `node` in `precision` on an adapter with wgpu's default
/// limits (128 MiB storage bindings, 65535 workgroups per dimension), else the lowering's
/// reason. A real adapter may allow larger tensors; everything else is decided the same way
/// [`GpuDelegate`](super::GpuDelegate)'s `supports` decides it.
pub fn check(node: &NodeView<'_>, precision: Precision) -> Result<(), String> {
    let l = wgpu::Limits::default();
    let limits = LowerLimits {
        element_bytes: precision.element_bytes(),
        max_binding_bytes: l.max_storage_buffer_binding_size,
        max_workgroups: l.max_compute_workgroups_per_dimension,
        // Which kernel a node gets does not change whether it is supported.
        subgroups: false,
        quick_compile: false,
    };
    lower::lower(node, &limits).map(|_| ())
}
