//! The contents of a `.tflite` file as plain owned Rust values (schema version 3).

use super::options::BuiltinOptions;
use super::schema::{builtin_name, TensorType};

/// A whole `.tflite` model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Model {
    pub version: u32,
    pub operator_codes: Vec<OperatorCode>,
    /// Subgraph 0 is the main graph.
    pub subgraphs: Vec<SubGraph>,
    pub description: Option<String>,
    /// Buffer 0 is the empty sentinel; constant tensors name the buffer holding their bytes.
    pub buffers: Vec<Buffer>,
    pub metadata_buffer: Vec<i32>,
    pub metadata: Vec<Metadata>,
    pub signature_defs: Vec<SignatureDef>,
}

/// One entry of the operator code table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorCode {
    /// The effective builtin code: `max(builtin_code, deprecated_builtin_code)`.
    pub builtin_code: i32,
    pub deprecated_builtin_code: i8,
    /// Name of a custom op (when `builtin_code` is CUSTOM).
    pub custom_code: Option<String>,
    pub version: i32,
}

impl OperatorCode {
    /// The name used in reports: the schema name of a builtin (`CONV_2D`) or a custom op's name.
    pub fn name(&self) -> String {
        if self.builtin_code == super::schema::builtin::CUSTOM {
            if let Some(c) = &self.custom_code {
                return c.clone();
            }
        }
        builtin_name(self.builtin_code)
            .map(str::to_string)
            .unwrap_or_else(|| format!("BUILTIN_{}", self.builtin_code))
    }
}

/// A subgraph: tensors, operators in execution order, inputs and outputs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SubGraph {
    pub tensors: Vec<Tensor>,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub operators: Vec<Operator>,
    pub name: Option<String>,
}

/// A tensor declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<i32>,
    pub dtype: TensorType,
    /// Index into [`Model::buffers`]; 0 means no data.
    pub buffer: u32,
    pub name: String,
    pub quantization: Option<Quantization>,
    pub is_variable: bool,
    pub sparsity: Option<Sparsity>,
    /// `-1` marks a dynamic dimension.
    pub shape_signature: Option<Vec<i32>>,
    pub has_rank: bool,
}

/// Affine quantization parameters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Quantization {
    pub min: Vec<f32>,
    pub max: Vec<f32>,
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    pub quantized_dimension: i32,
    /// True when custom quantization details are present (not decoded).
    pub has_details: bool,
}

/// Sparse tensor encoding (TACO-style), used by DENSIFY models.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sparsity {
    pub traversal_order: Vec<i32>,
    pub block_map: Vec<i32>,
    pub dim_metadata: Vec<DimensionMetadata>,
}

/// How one traversed dimension of a sparse tensor is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct DimensionMetadata {
    /// `false` = DENSE, `true` = SPARSE_CSR.
    pub sparse: bool,
    pub dense_size: i32,
    pub array_segments: Option<IndexVector>,
    pub array_indices: Option<IndexVector>,
}

/// The index arrays of a sparse dimension, in their stored width.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexVector {
    I32(Vec<i32>),
    U16(Vec<u16>),
    U8(Vec<u8>),
}

impl IndexVector {
    pub fn len(&self) -> usize {
        match self {
            IndexVector::I32(v) => v.len(),
            IndexVector::U16(v) => v.len(),
            IndexVector::U8(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Element `i` widened to i64.
    pub fn get(&self, i: usize) -> Option<i64> {
        match self {
            IndexVector::I32(v) => v.get(i).map(|x| *x as i64),
            IndexVector::U16(v) => v.get(i).map(|x| *x as i64),
            IndexVector::U8(v) => v.get(i).map(|x| *x as i64),
        }
    }
}

/// An operator (a node of the subgraph).
#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    pub opcode_index: u32,
    /// Tensor indices; `-1` marks an absent optional input.
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub builtin_options: BuiltinOptions,
    pub custom_options: Option<Vec<u8>>,
    pub intermediates: Vec<i32>,
}

/// Raw bytes of a buffer (for large models stored outside the flatbuffer, already resolved).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Buffer {
    pub data: Vec<u8>,
}

/// A named metadata entry pointing at a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub name: String,
    pub buffer: u32,
}

/// A named entry point (signature) of the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureDef {
    pub key: String,
    pub subgraph_index: u32,
    /// (signature name, tensor index)
    pub inputs: Vec<(String, u32)>,
    pub outputs: Vec<(String, u32)>,
}

impl Model {
    /// The name of the operator at `op` in subgraph `sg`, as reports show it.
    pub fn op_name(&self, op: &Operator) -> String {
        self.operator_codes
            .get(op.opcode_index as usize)
            .map(OperatorCode::name)
            .unwrap_or_else(|| "INVALID".into())
    }
}
