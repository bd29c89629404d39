//! The operator vocabulary of the IR: one variant per operation, carrying typed options.

use crate::model::{
    Activation, Conv2DOptions, DepthwiseConv2DOptions, FullyConnectedOptions, MirrorPadMode,
    Padding, Pool2DOptions, ResizeOptions, StridedSliceOptions, TransposeConvOptions,
};

/// An operation of the graph. Inputs and outputs are listed on the [`super::Node`], in the
/// order of the TFLite operator (e.g. CONV_2D: input, filter, optional bias).
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Conv2D(Conv2DOptions),
    DepthwiseConv2D(DepthwiseConv2DOptions),
    FullyConnected(FullyConnectedOptions),
    /// TRANSPOSE_CONV: inputs are output_shape, weights [O,H,W,I], input, optional bias.
    TransposeConv(TransposeConvOptions),
    /// MediaPipe's custom `Convolution2DTransposeBias`: inputs are input, weights [O,H,W,I], bias.
    Conv2DTransposeBias {
        padding: Padding,
        stride_w: i32,
        stride_h: i32,
    },
    Add(Activation),
    Sub(Activation),
    Mul(Activation),
    Div(Activation),
    Maximum,
    Minimum,
    SquaredDifference,
    Relu,
    Relu6,
    ReluN1To1,
    LeakyRelu {
        alpha: f32,
    },
    Prelu,
    Logistic,
    Tanh,
    HardSwish,
    Exp,
    Rsqrt,
    Sqrt,
    Abs,
    Softmax {
        beta: f32,
    },
    MaxPool2D(Pool2DOptions),
    AveragePool2D(Pool2DOptions),
    /// Reductions over the axes given by the second (constant or runtime) input.
    Mean {
        keep_dims: bool,
    },
    Sum {
        keep_dims: bool,
    },
    ReduceMax {
        keep_dims: bool,
    },
    Pad,
    PadV2,
    MirrorPad(MirrorPadMode),
    Concatenation {
        axis: i32,
        activation: Activation,
    },
    Reshape,
    Squeeze {
        dims: Vec<i32>,
    },
    Transpose,
    StridedSlice(StridedSliceOptions),
    Slice,
    Split {
        num_splits: i32,
    },
    SplitV {
        num_splits: i32,
    },
    Pack {
        axis: i32,
        values_count: i32,
    },
    Unpack {
        axis: i32,
        num: i32,
    },
    Gather {
        axis: i32,
        batch_dims: i32,
    },
    ResizeBilinear(ResizeOptions),
    ResizeNearestNeighbor(ResizeOptions),
    DepthToSpace {
        block_size: i32,
    },
    SpaceToDepth {
        block_size: i32,
    },
    Dequantize,
    Densify,
    Cast,
    Shape,
    /// An operator the IR has no variant for; kept so the graph can be reported on.
    Unsupported {
        name: String,
    },
}

impl Op {
    /// The name reports use: the schema name (`CONV_2D`) or a custom op's name.
    pub fn name(&self) -> &str {
        use Op::*;
        match self {
            Conv2D(_) => "CONV_2D",
            DepthwiseConv2D(_) => "DEPTHWISE_CONV_2D",
            FullyConnected(_) => "FULLY_CONNECTED",
            TransposeConv(_) => "TRANSPOSE_CONV",
            Conv2DTransposeBias { .. } => "Convolution2DTransposeBias",
            Add(_) => "ADD",
            Sub(_) => "SUB",
            Mul(_) => "MUL",
            Div(_) => "DIV",
            Maximum => "MAXIMUM",
            Minimum => "MINIMUM",
            SquaredDifference => "SQUARED_DIFFERENCE",
            Relu => "RELU",
            Relu6 => "RELU6",
            ReluN1To1 => "RELU_N1_TO_1",
            LeakyRelu { .. } => "LEAKY_RELU",
            Prelu => "PRELU",
            Logistic => "LOGISTIC",
            Tanh => "TANH",
            HardSwish => "HARD_SWISH",
            Exp => "EXP",
            Rsqrt => "RSQRT",
            Sqrt => "SQRT",
            Abs => "ABS",
            Softmax { .. } => "SOFTMAX",
            MaxPool2D(_) => "MAX_POOL_2D",
            AveragePool2D(_) => "AVERAGE_POOL_2D",
            Mean { .. } => "MEAN",
            Sum { .. } => "SUM",
            ReduceMax { .. } => "REDUCE_MAX",
            Pad => "PAD",
            PadV2 => "PADV2",
            MirrorPad(_) => "MIRROR_PAD",
            Concatenation { .. } => "CONCATENATION",
            Reshape => "RESHAPE",
            Squeeze { .. } => "SQUEEZE",
            Transpose => "TRANSPOSE",
            StridedSlice(_) => "STRIDED_SLICE",
            Slice => "SLICE",
            Split { .. } => "SPLIT",
            SplitV { .. } => "SPLIT_V",
            Pack { .. } => "PACK",
            Unpack { .. } => "UNPACK",
            Gather { .. } => "GATHER",
            ResizeBilinear(_) => "RESIZE_BILINEAR",
            ResizeNearestNeighbor(_) => "RESIZE_NEAREST_NEIGHBOR",
            DepthToSpace { .. } => "DEPTH_TO_SPACE",
            SpaceToDepth { .. } => "SPACE_TO_DEPTH",
            Dequantize => "DEQUANTIZE",
            Densify => "DENSIFY",
            Cast => "CAST",
            Shape => "SHAPE",
            Unsupported { name } => name,
        }
    }

    /// True for ops whose output is their first input's bytes under another shape.
    pub fn is_reshape_like(&self) -> bool {
        matches!(self, Op::Reshape | Op::Squeeze { .. })
    }
}
