//! halfgpu runs TensorFlow Lite models on desktop GPUs in half precision.

pub mod cpu;
pub mod gpu;
pub mod graph;
pub mod model;
