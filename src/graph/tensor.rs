//! Tensors of the IR and the aligned bytes that hold constant data.

use std::sync::Arc;

use crate::model::{Quantization, Sparsity, TensorType};

/// Index of a tensor in [`super::Graph::tensors`].
pub type TensorId = usize;

/// What a tensor is to the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TensorRole {
    /// Holds data from the file.
    Constant,
    /// Fed by the caller before each invoke.
    Input,
    /// Read by the caller after each invoke.
    Output,
    /// Produced and consumed inside the graph.
    Activation,
}

/// Immutable bytes, 16-byte aligned so they can be viewed as any element type without copying.
#[derive(Clone, PartialEq)]
pub struct ConstData {
    words: Arc<[u128]>,
    len: usize,
}

impl ConstData {
    /// Copies `bytes` into an aligned allocation.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        // Collected straight into the shared allocation (one copy of the weights, not a copy
        // into a Vec and another into the Arc). The last word is zero-padded.
        let words: Arc<[u128]> = bytes
            .chunks(16)
            .map(|chunk| {
                let mut word = [0u8; 16];
                word[..chunk.len()].copy_from_slice(chunk);
                u128::from_ne_bytes(word)
            })
            .collect();
        ConstData {
            words,
            len: bytes.len(),
        }
    }

    /// Stores the little-endian bytes of `values`.
    pub fn from_slice<T: bytemuck::Pod>(values: &[T]) -> Self {
        Self::from_bytes(bytemuck::cast_slice(values))
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u128, u8>(&self.words)[..self.len]
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Views the bytes as `T` (`None` when the length is not a multiple of its size).
    pub fn as_slice<T: bytemuck::Pod>(&self) -> Option<&[T]> {
        bytemuck::try_cast_slice(self.bytes()).ok()
    }
}

impl std::fmt::Debug for ConstData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConstData({} bytes)", self.len)
    }
}

/// A tensor of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// Name from the file.
    pub name: String,
    /// Static shape (dynamic dimensions take the size the file declares, usually 1).
    pub shape: Vec<usize>,
    /// The declared signature: `-1` marks a dimension the caller may resize.
    pub signature: Vec<i32>,
    /// Element type.
    pub dtype: TensorType,
    /// What the tensor is to the graph.
    pub role: TensorRole,
    /// Constant data, in the dtype stored in the file (FLOAT16 stays f16 bytes).
    pub data: Option<ConstData>,
    /// Quantization parameters, if any.
    pub quantization: Option<Quantization>,
    /// Sparse encoding of constant data, if any.
    pub sparsity: Option<Sparsity>,
}

impl TensorInfo {
    /// Number of elements of the static shape.
    pub fn num_elements(&self) -> usize {
        self.shape.iter().product()
    }

    /// Bytes of the static shape (0 for types without a fixed size).
    pub fn num_bytes(&self) -> usize {
        self.num_elements() * self.dtype.size_bytes().unwrap_or(0)
    }

    /// True when the tensor holds constant data.
    pub fn is_constant(&self) -> bool {
        self.data.is_some()
    }

    /// True when the tensor carries non-trivial quantization (scales other than none).
    pub fn is_quantized(&self) -> bool {
        self.quantization
            .as_ref()
            .is_some_and(|q| !q.scale.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::ConstData;

    #[test]
    fn const_data_keeps_the_bytes_of_any_length() {
        for n in [0usize, 1, 15, 16, 17, 33, 1000] {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 31 + 7) as u8).collect();
            let d = ConstData::from_bytes(&bytes);
            assert_eq!(d.bytes(), &bytes[..], "{n} bytes");
            assert_eq!(d.len(), n);
        }
        let d = ConstData::from_slice(&[1.5f32, -2.0, 3.25]);
        assert_eq!(d.as_slice::<f32>(), Some(&[1.5f32, -2.0, 3.25][..]));
    }
}
