//! The GPU side of halfgpu: device selection, error reporting and the compute shaders.
//!
//! Everything here runs on [`wgpu`] with WGSL shaders. The entry point is
//! [`GpuContext`], which either opens an adapter and device itself
//! ([`GpuContext::new`]) or wraps a device an application already owns
//! ([`GpuContext::from_existing`]).
//!
//! Failures are reported as [`GpuError`]; nothing in this module panics on a missing
//! adapter, a refused device request or a failed buffer mapping.
#![warn(missing_docs)]

mod delegate;
pub mod device;
mod fuse;
#[cfg(test)]
mod gen_unrolled;
mod guard;
mod lower;
mod pipelines;
pub mod precision;
mod program;
pub mod shader;
pub mod shaders;
pub mod smoke;
pub mod support;
mod wgsl_slice;

pub use delegate::{GpuDelegate, GpuDelegateOptions, InferencePreference};
pub use device::{GpuContext, GpuError, GpuLimits, GpuOptions};
pub use pipelines::PipelineStats;
pub use precision::Precision;
pub use program::MemoryReport;
