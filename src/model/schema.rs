//! Enumerations of the TFLite schema: tensor types and builtin operator codes.

use std::fmt;

/// Element type of a tensor, as stored in the `.tflite` file (`TensorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TensorType {
    /// TFLite's `FLOAT32`.
    Float32,
    /// TFLite's `FLOAT16`.
    Float16,
    /// TFLite's `INT32`.
    Int32,
    /// TFLite's `UINT8`.
    UInt8,
    /// TFLite's `INT64`.
    Int64,
    /// TFLite's `STRING`.
    String,
    /// TFLite's `BOOL`.
    Bool,
    /// TFLite's `INT16`.
    Int16,
    /// TFLite's `COMPLEX64`.
    Complex64,
    /// TFLite's `INT8`.
    Int8,
    /// TFLite's `FLOAT64`.
    Float64,
    /// TFLite's `COMPLEX128`.
    Complex128,
    /// TFLite's `UINT64`.
    UInt64,
    /// TFLite's `RESOURCE`.
    Resource,
    /// TFLite's `VARIANT`.
    Variant,
    /// TFLite's `UINT32`.
    UInt32,
    /// TFLite's `UINT16`.
    UInt16,
    /// TFLite's `INT4`.
    Int4,
    /// TFLite's `BFLOAT16`.
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
    /// `BuiltinOperator` code of ADD.
    pub const ADD: i32 = 0;
    /// `BuiltinOperator` code of AVERAGE_POOL_2D.
    pub const AVERAGE_POOL_2D: i32 = 1;
    /// `BuiltinOperator` code of CONCATENATION.
    pub const CONCATENATION: i32 = 2;
    /// `BuiltinOperator` code of CONV_2D.
    pub const CONV_2D: i32 = 3;
    /// `BuiltinOperator` code of DEPTHWISE_CONV_2D.
    pub const DEPTHWISE_CONV_2D: i32 = 4;
    /// `BuiltinOperator` code of DEPTH_TO_SPACE.
    pub const DEPTH_TO_SPACE: i32 = 5;
    /// `BuiltinOperator` code of DEQUANTIZE.
    pub const DEQUANTIZE: i32 = 6;
    /// `BuiltinOperator` code of FULLY_CONNECTED.
    pub const FULLY_CONNECTED: i32 = 9;
    /// `BuiltinOperator` code of LOGISTIC.
    pub const LOGISTIC: i32 = 14;
    /// `BuiltinOperator` code of MAX_POOL_2D.
    pub const MAX_POOL_2D: i32 = 17;
    /// `BuiltinOperator` code of MUL.
    pub const MUL: i32 = 18;
    /// `BuiltinOperator` code of RELU.
    pub const RELU: i32 = 19;
    /// `BuiltinOperator` code of RELU_N1_TO_1.
    pub const RELU_N1_TO_1: i32 = 20;
    /// `BuiltinOperator` code of RELU6.
    pub const RELU6: i32 = 21;
    /// `BuiltinOperator` code of RESHAPE.
    pub const RESHAPE: i32 = 22;
    /// `BuiltinOperator` code of RESIZE_BILINEAR.
    pub const RESIZE_BILINEAR: i32 = 23;
    /// `BuiltinOperator` code of SOFTMAX.
    pub const SOFTMAX: i32 = 25;
    /// `BuiltinOperator` code of SPACE_TO_DEPTH.
    pub const SPACE_TO_DEPTH: i32 = 26;
    /// `BuiltinOperator` code of TANH.
    pub const TANH: i32 = 28;
    /// `BuiltinOperator` code of CUSTOM.
    pub const CUSTOM: i32 = 32;
    /// `BuiltinOperator` code of PAD.
    pub const PAD: i32 = 34;
    /// `BuiltinOperator` code of GATHER.
    pub const GATHER: i32 = 36;
    /// `BuiltinOperator` code of TRANSPOSE.
    pub const TRANSPOSE: i32 = 39;
    /// `BuiltinOperator` code of MEAN.
    pub const MEAN: i32 = 40;
    /// `BuiltinOperator` code of SUB.
    pub const SUB: i32 = 41;
    /// `BuiltinOperator` code of DIV.
    pub const DIV: i32 = 42;
    /// `BuiltinOperator` code of SQUEEZE.
    pub const SQUEEZE: i32 = 43;
    /// `BuiltinOperator` code of STRIDED_SLICE.
    pub const STRIDED_SLICE: i32 = 45;
    /// `BuiltinOperator` code of EXP.
    pub const EXP: i32 = 47;
    /// `BuiltinOperator` code of SPLIT.
    pub const SPLIT: i32 = 49;
    /// `BuiltinOperator` code of CAST.
    pub const CAST: i32 = 53;
    /// `BuiltinOperator` code of PRELU.
    pub const PRELU: i32 = 54;
    /// `BuiltinOperator` code of MAXIMUM.
    pub const MAXIMUM: i32 = 55;
    /// `BuiltinOperator` code of MINIMUM.
    pub const MINIMUM: i32 = 57;
    /// `BuiltinOperator` code of PADV2.
    pub const PADV2: i32 = 60;
    /// `BuiltinOperator` code of SLICE.
    pub const SLICE: i32 = 65;
    /// `BuiltinOperator` code of TRANSPOSE_CONV.
    pub const TRANSPOSE_CONV: i32 = 67;
    /// `BuiltinOperator` code of SUM.
    pub const SUM: i32 = 74;
    /// `BuiltinOperator` code of SQRT.
    pub const SQRT: i32 = 75;
    /// `BuiltinOperator` code of RSQRT.
    pub const RSQRT: i32 = 76;
    /// `BuiltinOperator` code of SHAPE.
    pub const SHAPE: i32 = 77;
    /// `BuiltinOperator` code of REDUCE_MAX.
    pub const REDUCE_MAX: i32 = 82;
    /// `BuiltinOperator` code of PACK.
    pub const PACK: i32 = 83;
    /// `BuiltinOperator` code of UNPACK.
    pub const UNPACK: i32 = 88;
    /// `BuiltinOperator` code of RESIZE_NEAREST_NEIGHBOR.
    pub const RESIZE_NEAREST_NEIGHBOR: i32 = 97;
    /// `BuiltinOperator` code of LEAKY_RELU.
    pub const LEAKY_RELU: i32 = 98;
    /// `BuiltinOperator` code of SQUARED_DIFFERENCE.
    pub const SQUARED_DIFFERENCE: i32 = 99;
    /// `BuiltinOperator` code of MIRROR_PAD.
    pub const MIRROR_PAD: i32 = 100;
    /// `BuiltinOperator` code of ABS.
    pub const ABS: i32 = 101;
    /// `BuiltinOperator` code of SPLIT_V.
    pub const SPLIT_V: i32 = 102;
    /// `BuiltinOperator` code of HARD_SWISH.
    pub const HARD_SWISH: i32 = 117;
    /// `BuiltinOperator` code of DENSIFY.
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
