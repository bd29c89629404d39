//! Rust element types that tensors can be read and written as.

use crate::model::TensorType;

/// A Rust type that is the in-memory form of one tensor dtype.
pub trait Element: bytemuck::Pod {
    /// The matching TFLite dtype.
    const DTYPE: TensorType;
}

impl Element for f32 {
    const DTYPE: TensorType = TensorType::Float32;
}
impl Element for half::f16 {
    const DTYPE: TensorType = TensorType::Float16;
}
impl Element for i32 {
    const DTYPE: TensorType = TensorType::Int32;
}
impl Element for i64 {
    const DTYPE: TensorType = TensorType::Int64;
}
impl Element for u8 {
    const DTYPE: TensorType = TensorType::UInt8;
}
impl Element for i8 {
    const DTYPE: TensorType = TensorType::Int8;
}
