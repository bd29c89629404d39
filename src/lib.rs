//! halfgpu runs TensorFlow Lite models on desktop GPUs in half precision.

pub mod convert;
pub mod cpu;
pub mod delegate;
pub mod gpu;
pub mod graph;
pub mod inspect;
pub mod model;
pub mod npz;
pub mod ops;
pub mod runtime;
