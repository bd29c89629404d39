//! The contents of a `.tflite` file as plain owned Rust values (schema version 3).

use super::options::BuiltinOptions;
use super::schema::{builtin_name, TensorType};

/// A whole `.tflite` model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Model {
    /// Schema version.
    pub version: u32,
    /// Operator code table.
    pub operator_codes: Vec<OperatorCode>,
    /// Subgraph 0 is the main graph.
    pub subgraphs: Vec<SubGraph>,
    /// Free-text description.
    pub description: Option<String>,
    /// Buffer 0 is the empty sentinel; constant tensors name the buffer holding their bytes.
    pub buffers: Vec<Buffer>,
    /// Deprecated list of metadata buffers.
    pub metadata_buffer: Vec<i32>,
    /// Named metadata entries.
    pub metadata: Vec<Metadata>,
    /// Signatures (named entry points).
    pub signature_defs: Vec<SignatureDef>,
}

/// One entry of the operator code table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorCode {
    /// The effective builtin code: `max(builtin_code, deprecated_builtin_code)`.
    pub builtin_code: i32,
    /// The pre-v2.4 8-bit builtin code.
    pub deprecated_builtin_code: i8,
    /// Name of a custom op (when `builtin_code` is CUSTOM).
    pub custom_code: Option<String>,
    /// Operator version.
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
    /// Tensors of the subgraph.
    pub tensors: Vec<Tensor>,
    /// Input tensor indices.
    pub inputs: Vec<i32>,
    /// Output tensor indices.
    pub outputs: Vec<i32>,
    /// Operators in execution order.
    pub operators: Vec<Operator>,
    /// Subgraph name.
    pub name: Option<String>,
}

/// A tensor declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Static shape.
    pub shape: Vec<i32>,
    /// Element type.
    pub dtype: TensorType,
    /// Index into [`Model::buffers`]; 0 means no data.
    pub buffer: u32,
    /// Tensor name.
    pub name: String,
    /// Quantization parameters, if any.
    pub quantization: Option<Quantization>,
    /// True for variable (stateful) tensors.
    pub is_variable: bool,
    /// Sparse encoding, if any.
    pub sparsity: Option<Sparsity>,
    /// `-1` marks a dynamic dimension.
    pub shape_signature: Option<Vec<i32>>,
    /// Whether the rank is known (for scalars vs unknown shapes).
    pub has_rank: bool,
}

/// Affine quantization parameters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Quantization {
    /// Minimum values (per channel or one).
    pub min: Vec<f32>,
    /// Maximum values.
    pub max: Vec<f32>,
    /// Scales.
    pub scale: Vec<f32>,
    /// Zero points.
    pub zero_point: Vec<i64>,
    /// Dimension the per-channel parameters run along.
    pub quantized_dimension: i32,
    /// True when custom quantization details are present (not decoded).
    pub has_details: bool,
}

/// Sparse tensor encoding (TACO-style), used by DENSIFY models.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sparsity {
    /// Order in which dimensions are traversed.
    pub traversal_order: Vec<i32>,
    /// Which original dimension each block dimension maps to.
    pub block_map: Vec<i32>,
    /// Storage of each traversed dimension.
    pub dim_metadata: Vec<DimensionMetadata>,
}

/// How one traversed dimension of a sparse tensor is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct DimensionMetadata {
    /// `false` = DENSE, `true` = SPARSE_CSR.
    pub sparse: bool,
    /// Size of a DENSE dimension.
    pub dense_size: i32,
    /// Segment starts of a SPARSE_CSR dimension.
    pub array_segments: Option<IndexVector>,
    /// Indices of a SPARSE_CSR dimension.
    pub array_indices: Option<IndexVector>,
}

/// The index arrays of a sparse dimension, in their stored width.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexVector {
    /// 32-bit indices.
    I32(Vec<i32>),
    /// 16-bit indices.
    U16(Vec<u16>),
    /// 8-bit indices.
    U8(Vec<u8>),
}

impl IndexVector {
    /// Number of indices.
    pub fn len(&self) -> usize {
        match self {
            IndexVector::I32(v) => v.len(),
            IndexVector::U16(v) => v.len(),
            IndexVector::U8(v) => v.len(),
        }
    }
    /// True when there are none.
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
    /// Index into the operator code table.
    pub opcode_index: u32,
    /// Tensor indices; `-1` marks an absent optional input.
    pub inputs: Vec<i32>,
    /// Output tensor indices.
    pub outputs: Vec<i32>,
    /// Decoded builtin options.
    pub builtin_options: BuiltinOptions,
    /// Raw options of a custom operator.
    pub custom_options: Option<Vec<u8>>,
    /// Intermediate tensor indices (unused here).
    pub intermediates: Vec<i32>,
}

/// Raw bytes of a buffer (for large models stored outside the flatbuffer, already resolved).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Buffer {
    /// The bytes.
    pub data: Vec<u8>,
}

/// A named metadata entry pointing at a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// Entry name.
    pub name: String,
    /// Buffer index.
    pub buffer: u32,
}

/// A named entry point (signature) of the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureDef {
    /// Signature key.
    pub key: String,
    /// Subgraph the signature runs.
    pub subgraph_index: u32,
    /// (signature name, tensor index)
    pub inputs: Vec<(String, u32)>,
    /// Output names and tensor indices.
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
