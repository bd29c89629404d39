//! Enumerations of the TFLite schema: tensor types and builtin operator codes.

use std::fmt;

/// Element type of a tensor, as stored in the `.tflite` file (`TensorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TensorType {
    Float32,
    Float16,
    Int32,
    UInt8,
    Int64,
    String,
    Bool,
    Int16,
    Complex64,
    Int8,
    Float64,
    Complex128,
    UInt64,
    Resource,
    Variant,
    UInt32,
    UInt16,
    Int4,
    BFloat16,
    /// A type code this reader does not know; kept so the file can still be inspected.
    Unknown(i8),
}

impl TensorType {
    /// Decodes the schema's byte value.
    pub fn from_code(code: i8) -> Self {
        use TensorType::*;
        match code {
            0 => Float32,
            1 => Float16,
            2 => Int32,
            3 => UInt8,
            4 => Int64,
            5 => String,
            6 => Bool,
            7 => Int16,
            8 => Complex64,
            9 => Int8,
            10 => Float64,
            11 => Complex128,
            12 => UInt64,
            13 => Resource,
            14 => Variant,
            15 => UInt32,
            16 => UInt16,
            17 => Int4,
            18 => BFloat16,
            other => Unknown(other),
        }
    }

    /// The schema's byte value.
    pub fn code(self) -> i8 {
        use TensorType::*;
        match self {
            Float32 => 0,
            Float16 => 1,
            Int32 => 2,
            UInt8 => 3,
            Int64 => 4,
            String => 5,
            Bool => 6,
            Int16 => 7,
            Complex64 => 8,
            Int8 => 9,
            Float64 => 10,
            Complex128 => 11,
            UInt64 => 12,
            Resource => 13,
            Variant => 14,
            UInt32 => 15,
            UInt16 => 16,
            Int4 => 17,
            BFloat16 => 18,
            Unknown(c) => c,
        }
    }

    /// Bytes per element for fixed-size types (`None` for strings, resources, int4 and unknown types).
    pub fn size_bytes(self) -> Option<usize> {
        use TensorType::*;
        Some(match self {
            Float32 | Int32 | UInt32 => 4,
            Float16 | Int16 | UInt16 | BFloat16 => 2,
            UInt8 | Int8 | Bool => 1,
            Int64 | Float64 | UInt64 | Complex64 => 8,
            Complex128 => 16,
            String | Resource | Variant | Int4 | Unknown(_) => return None,
        })
    }

    /// The name numpy and the reference runtime use (`float32`, `float16`, `int32`, ...).
    pub fn name(self) -> &'static str {
        use TensorType::*;
        match self {
            Float32 => "float32",
            Float16 => "float16",
            Int32 => "int32",
            UInt8 => "uint8",
            Int64 => "int64",
            String => "string",
            Bool => "bool",
            Int16 => "int16",
            Complex64 => "complex64",
            Int8 => "int8",
            Float64 => "float64",
            Complex128 => "complex128",
            UInt64 => "uint64",
            Resource => "resource",
            Variant => "variant",
            UInt32 => "uint32",
            UInt16 => "uint16",
            Int4 => "int4",
            BFloat16 => "bfloat16",
            Unknown(_) => "unknown",
        }
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TensorType::Unknown(c) => write!(f, "unknown({c})"),
            t => f.write_str(t.name()),
        }
    }
}

/// Builtin operator codes of the schema (`BuiltinOperator`), by value.
pub mod builtin {
    pub const ADD: i32 = 0;
    pub const AVERAGE_POOL_2D: i32 = 1;
    pub const CONCATENATION: i32 = 2;
    pub const CONV_2D: i32 = 3;
    pub const DEPTHWISE_CONV_2D: i32 = 4;
    pub const DEPTH_TO_SPACE: i32 = 5;
    pub const DEQUANTIZE: i32 = 6;
    pub const FULLY_CONNECTED: i32 = 9;
    pub const LOGISTIC: i32 = 14;
    pub const MAX_POOL_2D: i32 = 17;
    pub const MUL: i32 = 18;
    pub const RELU: i32 = 19;
    pub const RELU_N1_TO_1: i32 = 20;
    pub const RELU6: i32 = 21;
    pub const RESHAPE: i32 = 22;
    pub const RESIZE_BILINEAR: i32 = 23;
    pub const SOFTMAX: i32 = 25;
    pub const SPACE_TO_DEPTH: i32 = 26;
    pub const TANH: i32 = 28;
    pub const CUSTOM: i32 = 32;
    pub const PAD: i32 = 34;
    pub const GATHER: i32 = 36;
    pub const TRANSPOSE: i32 = 39;
    pub const MEAN: i32 = 40;
    pub const SUB: i32 = 41;
    pub const DIV: i32 = 42;
    pub const SQUEEZE: i32 = 43;
    pub const STRIDED_SLICE: i32 = 45;
    pub const EXP: i32 = 47;
    pub const SPLIT: i32 = 49;
    pub const CAST: i32 = 53;
    pub const PRELU: i32 = 54;
    pub const MAXIMUM: i32 = 55;
    pub const MINIMUM: i32 = 57;
    pub const PADV2: i32 = 60;
    pub const SLICE: i32 = 65;
    pub const TRANSPOSE_CONV: i32 = 67;
    pub const SUM: i32 = 74;
    pub const SQRT: i32 = 75;
    pub const RSQRT: i32 = 76;
    pub const SHAPE: i32 = 77;
    pub const REDUCE_MAX: i32 = 82;
    pub const PACK: i32 = 83;
    pub const UNPACK: i32 = 88;
    pub const RESIZE_NEAREST_NEIGHBOR: i32 = 97;
    pub const LEAKY_RELU: i32 = 98;
    pub const SQUARED_DIFFERENCE: i32 = 99;
    pub const MIRROR_PAD: i32 = 100;
    pub const ABS: i32 = 101;
    pub const SPLIT_V: i32 = 102;
    pub const HARD_SWISH: i32 = 117;
    pub const DENSIFY: i32 = 124;
}

/// The schema name of a builtin operator code (`CONV_2D`, ...), or `None` for codes past the table.
pub fn builtin_name(code: i32) -> Option<&'static str> {
    usize::try_from(code)
        .ok()
        .and_then(|c| BUILTIN_NAMES.get(c))
        .copied()
}

/// The builtin operator code for a schema name.
pub fn builtin_code(name: &str) -> Option<i32> {
    BUILTIN_NAMES
        .iter()
        .position(|n| *n == name)
        .map(|p| p as i32)
}

const BUILTIN_NAMES: &[&str] = &[
    "ADD",
    "AVERAGE_POOL_2D",
    "CONCATENATION",
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "DEPTH_TO_SPACE",
    "DEQUANTIZE",
    "EMBEDDING_LOOKUP",
    "FLOOR",
    "FULLY_CONNECTED",
    "HASHTABLE_LOOKUP",
    "L2_NORMALIZATION",
    "L2_POOL_2D",
    "LOCAL_RESPONSE_NORMALIZATION",
    "LOGISTIC",
    "LSH_PROJECTION",
    "LSTM",
    "MAX_POOL_2D",
    "MUL",
    "RELU",
    "RELU_N1_TO_1",
    "RELU6",
    "RESHAPE",
    "RESIZE_BILINEAR",
    "RNN",
    "SOFTMAX",
    "SPACE_TO_DEPTH",
    "SVDF",
    "TANH",
    "CONCAT_EMBEDDINGS",
    "SKIP_GRAM",
    "CALL",
    "CUSTOM",
    "EMBEDDING_LOOKUP_SPARSE",
    "PAD",
    "UNIDIRECTIONAL_SEQUENCE_RNN",
    "GATHER",
    "BATCH_TO_SPACE_ND",
    "SPACE_TO_BATCH_ND",
    "TRANSPOSE",
    "MEAN",
    "SUB",
    "DIV",
    "SQUEEZE",
    "UNIDIRECTIONAL_SEQUENCE_LSTM",
    "STRIDED_SLICE",
    "BIDIRECTIONAL_SEQUENCE_RNN",
    "EXP",
    "TOPK_V2",
    "SPLIT",
    "LOG_SOFTMAX",
    "DELEGATE",
    "BIDIRECTIONAL_SEQUENCE_LSTM",
    "CAST",
    "PRELU",
    "MAXIMUM",
    "ARG_MAX",
    "MINIMUM",
    "LESS",
    "NEG",
    "PADV2",
    "GREATER",
    "GREATER_EQUAL",
    "LESS_EQUAL",
    "SELECT",
    "SLICE",
    "SIN",
    "TRANSPOSE_CONV",
    "SPARSE_TO_DENSE",
    "TILE",
    "EXPAND_DIMS",
    "EQUAL",
    "NOT_EQUAL",
    "LOG",
    "SUM",
    "SQRT",
    "RSQRT",
    "SHAPE",
    "POW",
    "ARG_MIN",
    "FAKE_QUANT",
    "REDUCE_PROD",
    "REDUCE_MAX",
    "PACK",
    "LOGICAL_OR",
    "ONE_HOT",
    "LOGICAL_AND",
    "LOGICAL_NOT",
    "UNPACK",
    "REDUCE_MIN",
    "FLOOR_DIV",
    "REDUCE_ANY",
    "SQUARE",
    "ZEROS_LIKE",
    "FILL",
    "FLOOR_MOD",
    "RANGE",
    "RESIZE_NEAREST_NEIGHBOR",
    "LEAKY_RELU",
    "SQUARED_DIFFERENCE",
    "MIRROR_PAD",
    "ABS",
    "SPLIT_V",
    "UNIQUE",
    "CEIL",
    "REVERSE_V2",
    "ADD_N",
    "GATHER_ND",
    "COS",
    "WHERE",
    "RANK",
    "ELU",
    "REVERSE_SEQUENCE",
    "MATRIX_DIAG",
    "QUANTIZE",
    "MATRIX_SET_DIAG",
    "ROUND",
    "HARD_SWISH",
    "IF",
    "WHILE",
    "NON_MAX_SUPPRESSION_V4",
    "NON_MAX_SUPPRESSION_V5",
    "SCATTER_ND",
    "SELECT_V2",
    "DENSIFY",
    "SEGMENT_SUM",
    "BATCH_MATMUL",
    "PLACEHOLDER_FOR_GREATER_OP_CODES",
    "CUMSUM",
    "CALL_ONCE",
    "BROADCAST_TO",
    "RFFT2D",
    "CONV_3D",
    "IMAG",
    "REAL",
    "COMPLEX_ABS",
    "HASHTABLE",
    "HASHTABLE_FIND",
    "HASHTABLE_IMPORT",
    "HASHTABLE_SIZE",
    "REDUCE_ALL",
    "CONV_3D_TRANSPOSE",
    "VAR_HANDLE",
    "READ_VARIABLE",
    "ASSIGN_VARIABLE",
    "BROADCAST_ARGS",
    "RANDOM_STANDARD_NORMAL",
    "BUCKETIZE",
    "RANDOM_UNIFORM",
    "MULTINOMIAL",
    "GELU",
    "DYNAMIC_UPDATE_SLICE",
    "RELU_0_TO_1",
    "UNSORTED_SEGMENT_PROD",
    "UNSORTED_SEGMENT_MAX",
    "UNSORTED_SEGMENT_SUM",
    "ATAN2",
    "UNSORTED_SEGMENT_MIN",
    "SIGN",
    "BITCAST",
    "BITWISE_XOR",
    "RIGHT_SHIFT",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_names_line_up_with_codes() {
        assert_eq!(builtin_name(builtin::CONV_2D), Some("CONV_2D"));
        assert_eq!(builtin_name(builtin::HARD_SWISH), Some("HARD_SWISH"));
        assert_eq!(builtin_name(builtin::DENSIFY), Some("DENSIFY"));
        assert_eq!(builtin_name(builtin::MIRROR_PAD), Some("MIRROR_PAD"));
        assert_eq!(builtin_name(150), Some("GELU"));
        assert_eq!(builtin_name(161), Some("RIGHT_SHIFT"));
        assert_eq!(builtin_code("SPLIT_V"), Some(builtin::SPLIT_V));
        assert_eq!(builtin_name(-1), None);
    }

    #[test]
    fn tensor_type_codes_round_trip() {
        for c in -2..20 {
            assert_eq!(TensorType::from_code(c).code(), c);
        }
    }
}
