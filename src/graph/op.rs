//! The operator vocabulary of the IR: one variant per operation, carrying typed options.

use crate::model::{
    Activation, Conv2DOptions, DepthwiseConv2DOptions, FullyConnectedOptions, MirrorPadMode,
    Padding, Pool2DOptions, ResizeOptions, StridedSliceOptions, TransposeConvOptions,
};

/// An operation of the graph. Inputs and outputs are listed on the [`super::Node`], in the
/// order of the TFLite operator (e.g. CONV_2D: input, filter, optional bias).
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// TFLite's `CONV_2D`.
    Conv2D(Conv2DOptions),
    /// TFLite's `DEPTHWISE_CONV_2D`.
    DepthwiseConv2D(DepthwiseConv2DOptions),
    /// TFLite's `FULLY_CONNECTED`.
    FullyConnected(FullyConnectedOptions),
    /// TRANSPOSE_CONV: inputs are output_shape, weights `[O, H, W, I]`, input, optional bias.
    TransposeConv(TransposeConvOptions),
    /// MediaPipe's custom `Convolution2DTransposeBias`: inputs are input, weights `[O, H, W, I]`, bias.
    Conv2DTransposeBias {
        /// Padding scheme.
        padding: Padding,
        /// Horizontal stride.
        stride_w: i32,
        /// Vertical stride.
        stride_h: i32,
    },
    /// TFLite's `ADD`.
    Add(Activation),
    /// TFLite's `SUB`.
    Sub(Activation),
    /// TFLite's `MUL`.
    Mul(Activation),
    /// TFLite's `DIV`.
    Div(Activation),
    /// TFLite's `MAXIMUM`.
    Maximum,
    /// TFLite's `MINIMUM`.
    Minimum,
    /// TFLite's `SQUARED_DIFFERENCE`.
    SquaredDifference,
    /// TFLite's `RELU`.
    Relu,
    /// TFLite's `RELU6`.
    Relu6,
    /// TFLite's `RELU_N1_TO_1`.
    ReluN1To1,
    /// TFLite's `LEAKY_RELU`.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// TFLite's `PRELU`.
    Prelu,
    /// TFLite's `LOGISTIC`.
    Logistic,
    /// TFLite's `TANH`.
    Tanh,
    /// TFLite's `HARD_SWISH`.
    HardSwish,
    /// TFLite's `EXP`.
    Exp,
    /// TFLite's `RSQRT`.
    Rsqrt,
    /// TFLite's `SQRT`.
    Sqrt,
    /// TFLite's `ABS`.
    Abs,
    /// TFLite's `SOFTMAX`.
    Softmax {
        /// Multiplier applied to the logits.
        beta: f32,
    },
    /// TFLite's `MAX_POOL_2D`.
    MaxPool2D(Pool2DOptions),
    /// TFLite's `AVERAGE_POOL_2D`.
    AveragePool2D(Pool2DOptions),
    /// Reductions over the axes given by the second (constant or runtime) input.
    Mean {
        /// Keep reduced dimensions with size 1.
        keep_dims: bool,
    },
    /// TFLite's `SUM`.
    Sum {
        /// Keep reduced dimensions with size 1.
        keep_dims: bool,
    },
    /// TFLite's `REDUCE_MAX`.
    ReduceMax {
        /// Keep reduced dimensions with size 1.
        keep_dims: bool,
    },
    /// TFLite's `PAD`.
    Pad,
    /// TFLite's `PADV2`.
    PadV2,
    /// TFLite's `MIRROR_PAD`.
    MirrorPad(MirrorPadMode),
    /// TFLite's `CONCATENATION`.
    Concatenation {
        /// Axis (negative values count from the end).
        axis: i32,
        /// Fused activation.
        activation: Activation,
    },
    /// TFLite's `RESHAPE`.
    Reshape,
    /// TFLite's `SQUEEZE`.
    Squeeze {
        /// Dimensions to remove (every size-1 dimension when empty).
        dims: Vec<i32>,
    },
    /// TFLite's `TRANSPOSE`.
    Transpose,
    /// TFLite's `STRIDED_SLICE`.
    StridedSlice(StridedSliceOptions),
    /// TFLite's `SLICE`.
    Slice,
    /// TFLite's `SPLIT`.
    Split {
        /// Number of outputs.
        num_splits: i32,
    },
    /// TFLite's `SPLIT_V`.
    SplitV {
        /// Number of outputs.
        num_splits: i32,
    },
    /// TFLite's `PACK`.
    Pack {
        /// Axis (negative values count from the end).
        axis: i32,
        /// Number of inputs.
        values_count: i32,
    },
    /// TFLite's `UNPACK`.
    Unpack {
        /// Axis (negative values count from the end).
        axis: i32,
        /// Number of outputs.
        num: i32,
    },
    /// TFLite's `GATHER`.
    Gather {
        /// Axis (negative values count from the end).
        axis: i32,
        /// Number of leading batch dimensions.
        batch_dims: i32,
    },
    /// TFLite's `RESIZE_BILINEAR`.
    ResizeBilinear(ResizeOptions),
    /// TFLite's `RESIZE_NEAREST_NEIGHBOR`.
    ResizeNearestNeighbor(ResizeOptions),
    /// TFLite's `DEPTH_TO_SPACE`.
    DepthToSpace {
        /// Side of the square block.
        block_size: i32,
    },
    /// TFLite's `SPACE_TO_DEPTH`.
    SpaceToDepth {
        /// Side of the square block.
        block_size: i32,
    },
    /// TFLite's `DEQUANTIZE`.
    Dequantize,
    /// TFLite's `DENSIFY`.
    Densify,
    /// TFLite's `CAST`.
    Cast,
    /// TFLite's `SHAPE`.
    Shape,
    /// An operator the IR has no variant for; kept so the graph can be reported on.
    Unsupported {
        /// Name.
        name: String,
    },
}

impl Op {
    /// The activation fused into this op (`None` for ops that have no such option).
    pub fn fused_activation(&self) -> Option<Activation> {
        match self {
            Op::Conv2D(o) => Some(o.activation),
            Op::DepthwiseConv2D(o) => Some(o.activation),
            Op::FullyConnected(o) => Some(o.activation),
            Op::TransposeConv(o) => Some(o.activation),
            Op::Add(a) | Op::Sub(a) | Op::Mul(a) | Op::Div(a) => Some(*a),
            Op::MaxPool2D(o) | Op::AveragePool2D(o) => Some(o.activation),
            Op::Concatenation { activation, .. } => Some(*activation),
            _ => None,
        }
    }

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
