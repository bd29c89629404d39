//! Typed builtin options of operators (the `BuiltinOptions` union of the schema).

/// Padding scheme of convolutions and pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Padding {
    #[default]
    /// Output size `ceil(input / stride)`, zero padding split around the input.
    Same,
    /// No padding: the window stays inside the input.
    Valid,
}

impl Padding {
    /// Decodes a schema `Padding` value.
    pub fn from_code(code: i8) -> Option<Self> {
        match code {
            0 => Some(Padding::Same),
            1 => Some(Padding::Valid),
            _ => None,
        }
    }
    /// The schema value.
    pub fn code(self) -> i8 {
        match self {
            Padding::Same => 0,
            Padding::Valid => 1,
        }
    }
}

/// Activation fused into an operator (`ActivationFunctionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Activation {
    #[default]
    /// No activation.
    None,
    /// `max(x, 0)`.
    Relu,
    /// Clamp to `[-1, 1]`.
    ReluN1To1,
    /// Clamp to `[0, 6]`.
    Relu6,
    /// `tanh(x)`.
    Tanh,
    /// Sign bit (not supported by any kernel here).
    SignBit,
}

impl Activation {
    /// Decodes a schema `ActivationFunctionType` value.
    pub fn from_code(code: i8) -> Option<Self> {
        Some(match code {
            0 => Activation::None,
            1 => Activation::Relu,
            2 => Activation::ReluN1To1,
            3 => Activation::Relu6,
            4 => Activation::Tanh,
            5 => Activation::SignBit,
            _ => return None,
        })
    }
    /// The schema value.
    pub fn code(self) -> i8 {
        match self {
            Activation::None => 0,
            Activation::Relu => 1,
            Activation::ReluN1To1 => 2,
            Activation::Relu6 => 3,
            Activation::Tanh => 4,
            Activation::SignBit => 5,
        }
    }
    /// Schema name of the activation.
    pub fn name(self) -> &'static str {
        match self {
            Activation::None => "NONE",
            Activation::Relu => "RELU",
            Activation::ReluN1To1 => "RELU_N1_TO_1",
            Activation::Relu6 => "RELU6",
            Activation::Tanh => "TANH",
            Activation::SignBit => "SIGN_BIT",
        }
    }
}

/// Options of CONV_2D.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conv2DOptions {
    /// Padding scheme.
    pub padding: Padding,
    /// Horizontal stride.
    pub stride_w: i32,
    /// Vertical stride.
    pub stride_h: i32,
    /// Fused activation.
    pub activation: Activation,
    /// Horizontal dilation factor.
    pub dilation_w: i32,
    /// Vertical dilation factor.
    pub dilation_h: i32,
}

/// Options of DEPTHWISE_CONV_2D.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DepthwiseConv2DOptions {
    /// Padding scheme.
    pub padding: Padding,
    /// Horizontal stride.
    pub stride_w: i32,
    /// Vertical stride.
    pub stride_h: i32,
    /// Output channels per input channel.
    pub depth_multiplier: i32,
    /// Fused activation.
    pub activation: Activation,
    /// Horizontal dilation factor.
    pub dilation_w: i32,
    /// Vertical dilation factor.
    pub dilation_h: i32,
}

/// Options of MAX_POOL_2D and AVERAGE_POOL_2D.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pool2DOptions {
    /// Padding scheme.
    pub padding: Padding,
    /// Horizontal stride.
    pub stride_w: i32,
    /// Vertical stride.
    pub stride_h: i32,
    /// Window width.
    pub filter_w: i32,
    /// Window height.
    pub filter_h: i32,
    /// Fused activation.
    pub activation: Activation,
}

/// Options of FULLY_CONNECTED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FullyConnectedOptions {
    /// Fused activation.
    pub activation: Activation,
    /// `FullyConnectedOptionsWeightsFormat`: 0 = DEFAULT, 1 = SHUFFLED4x16INT8.
    pub weights_format: i8,
    /// Keep the input's leading dimensions instead of flattening them.
    pub keep_num_dims: bool,
    /// Quantize inputs asymmetrically (hybrid kernels only).
    pub asymmetric_quantize_inputs: bool,
}

/// Options of TRANSPOSE_CONV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransposeConvOptions {
    /// Padding scheme.
    pub padding: Padding,
    /// Horizontal stride.
    pub stride_w: i32,
    /// Vertical stride.
    pub stride_h: i32,
    /// Fused activation.
    pub activation: Activation,
}

/// Options of RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResizeOptions {
    /// Map the corner pixels of input and output onto each other.
    pub align_corners: bool,
    /// Sample at pixel centers (coordinates offset by half a pixel).
    pub half_pixel_centers: bool,
}

/// Options of STRIDED_SLICE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StridedSliceOptions {
    /// Bit `i` set: ignore `begin[i]` and start at the first element.
    pub begin_mask: i32,
    /// Bit `i` set: ignore `end[i]` and run to the last element.
    pub end_mask: i32,
    /// Bit `i` set: dimension `i` is an ellipsis.
    pub ellipsis_mask: i32,
    /// Bit `i` set: insert a new dimension of size 1 at `i`.
    pub new_axis_mask: i32,
    /// Bit `i` set: remove dimension `i` (it must have size 1).
    pub shrink_axis_mask: i32,
    /// `end` is an offset from `begin`.
    pub offset: bool,
}

/// Mode of MIRROR_PAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MirrorPadMode {
    /// Mirror without repeating the edge.
    Reflect,
    /// Mirror repeating the edge.
    Symmetric,
}

/// The decoded `builtin_options` of an operator.
///
/// Every option table the runtime needs is typed; tables the reader does not decode are kept as
/// [`BuiltinOptions::Other`] with their union type code so the model can still be inspected.
#[derive(Debug, Clone, PartialEq)]
pub enum BuiltinOptions {
    /// No options table.
    None,
    /// The `Conv2DOptions` table.
    Conv2D(Conv2DOptions),
    /// The `DepthwiseConv2DOptions` table.
    DepthwiseConv2D(DepthwiseConv2DOptions),
    /// The `Pool2DOptions` table.
    Pool2D(Pool2DOptions),
    /// The `FullyConnectedOptions` table.
    FullyConnected(FullyConnectedOptions),
    /// The `SoftmaxOptions` table.
    Softmax {
        /// Multiplier applied to the logits.
        beta: f32,
    },
    /// The `ConcatenationOptions` table.
    Concatenation {
        /// Axis (negative values count from the end).
        axis: i32,
        /// Fused activation.
        activation: Activation,
    },
    /// The `AddOptions` table.
    Add {
        /// Fused activation.
        activation: Activation,
        /// Power-of-two scales for int16 (quantized kernels only).
        pot_scale_int16: bool,
    },
    /// The `SubOptions` table.
    Sub {
        /// Fused activation.
        activation: Activation,
        /// Power-of-two scales for int16 (quantized kernels only).
        pot_scale_int16: bool,
    },
    /// The `MulOptions` table.
    Mul {
        /// Fused activation.
        activation: Activation,
    },
    /// The `DivOptions` table.
    Div {
        /// Fused activation.
        activation: Activation,
    },
    /// The `ReshapeOptions` table.
    Reshape {
        /// The target shape, when given as an option.
        new_shape: Option<Vec<i32>>,
    },
    /// The `ResizeBilinearOptions` table.
    ResizeBilinear(ResizeOptions),
    /// The `ResizeNearestNeighborOptions` table.
    ResizeNearestNeighbor(ResizeOptions),
    /// The `StridedSliceOptions` table.
    StridedSlice(StridedSliceOptions),
    /// The `ReducerOptions` table.
    Reducer {
        /// Keep reduced dimensions with size 1.
        keep_dims: bool,
    },
    /// The `PadOptions` table.
    Pad,
    /// The `PadV2Options` table.
    PadV2,
    /// The `MirrorPadOptions` table.
    MirrorPad {
        /// Reflect or symmetric padding.
        mode: MirrorPadMode,
    },
    /// The `LeakyReluOptions` table.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// The `SqueezeOptions` table.
    Squeeze {
        /// Dimensions to remove (every size-1 dimension when empty).
        squeeze_dims: Vec<i32>,
    },
    /// The `TransposeOptions` table.
    Transpose,
    /// The `GatherOptions` table.
    Gather {
        /// Axis (negative values count from the end).
        axis: i32,
        /// Number of leading batch dimensions.
        batch_dims: i32,
    },
    /// The `SplitOptions` table.
    Split {
        /// Number of outputs.
        num_splits: i32,
    },
    /// The `SplitVOptions` table.
    SplitV {
        /// Number of outputs.
        num_splits: i32,
    },
    /// The `PackOptions` table.
    Pack {
        /// Number of inputs.
        values_count: i32,
        /// Axis (negative values count from the end).
        axis: i32,
    },
    /// The `UnpackOptions` table.
    Unpack {
        /// Number of outputs.
        num: i32,
        /// Axis (negative values count from the end).
        axis: i32,
    },
    /// The `DepthToSpaceOptions` table.
    DepthToSpace {
        /// Side of the square block.
        block_size: i32,
    },
    /// The `SpaceToDepthOptions` table.
    SpaceToDepth {
        /// Side of the square block.
        block_size: i32,
    },
    /// The `TransposeConvOptions` table.
    TransposeConv(TransposeConvOptions),
    /// The `CastOptions` table.
    Cast {
        /// Source dtype code.
        in_type: i8,
        /// Result dtype code.
        out_type: i8,
    },
    /// The `ShapeOptions` table.
    Shape {
        /// Result dtype code.
        out_type: i8,
    },
    /// The `SliceOptions` table.
    Slice,
    /// The `DequantizeOptions` table.
    Dequantize,
    /// The `DensifyOptions` table.
    Densify,
    /// The `HardSwishOptions` table.
    HardSwish,
    /// The `ExpOptions` table.
    Exp,
    /// The `AbsOptions` table.
    Abs,
    /// The `MaximumMinimumOptions` table.
    MaximumMinimum,
    /// The `SquaredDifferenceOptions` table.
    SquaredDifference,
    /// An option table of a type this reader does not decode (its union type code).
    Other(u8),
}

/// Union type codes of the `BuiltinOptions` union for the tables decoded here.
pub mod union_type {
    /// Union type code of the options table of NONE.
    pub const NONE: u8 = 0;
    /// Union type code of the options table of CONV_2D.
    pub const CONV_2D: u8 = 1;
    /// Union type code of the options table of DEPTHWISE_CONV_2D.
    pub const DEPTHWISE_CONV_2D: u8 = 2;
    /// Union type code of the options table of POOL_2D.
    pub const POOL_2D: u8 = 5;
    /// Union type code of the options table of FULLY_CONNECTED.
    pub const FULLY_CONNECTED: u8 = 8;
    /// Union type code of the options table of SOFTMAX.
    pub const SOFTMAX: u8 = 9;
    /// Union type code of the options table of CONCATENATION.
    pub const CONCATENATION: u8 = 10;
    /// Union type code of the options table of ADD.
    pub const ADD: u8 = 11;
    /// Union type code of the options table of RESIZE_BILINEAR.
    pub const RESIZE_BILINEAR: u8 = 15;
    /// Union type code of the options table of RESHAPE.
    pub const RESHAPE: u8 = 17;
    /// Union type code of the options table of SPACE_TO_DEPTH.
    pub const SPACE_TO_DEPTH: u8 = 19;
    /// Union type code of the options table of MUL.
    pub const MUL: u8 = 21;
    /// Union type code of the options table of PAD.
    pub const PAD: u8 = 22;
    /// Union type code of the options table of GATHER.
    pub const GATHER: u8 = 23;
    /// Union type code of the options table of TRANSPOSE.
    pub const TRANSPOSE: u8 = 26;
    /// Union type code of the options table of REDUCER.
    pub const REDUCER: u8 = 27;
    /// Union type code of the options table of SUB.
    pub const SUB: u8 = 28;
    /// Union type code of the options table of DIV.
    pub const DIV: u8 = 29;
    /// Union type code of the options table of SQUEEZE.
    pub const SQUEEZE: u8 = 30;
    /// Union type code of the options table of STRIDED_SLICE.
    pub const STRIDED_SLICE: u8 = 32;
    /// Union type code of the options table of EXP.
    pub const EXP: u8 = 33;
    /// Union type code of the options table of SPLIT.
    pub const SPLIT: u8 = 35;
    /// Union type code of the options table of CAST.
    pub const CAST: u8 = 37;
    /// Union type code of the options table of DEQUANTIZE.
    pub const DEQUANTIZE: u8 = 38;
    /// Union type code of the options table of MAXIMUM_MINIMUM.
    pub const MAXIMUM_MINIMUM: u8 = 39;
    /// Union type code of the options table of PAD_V2.
    pub const PAD_V2: u8 = 43;
    /// Union type code of the options table of SLICE.
    pub const SLICE: u8 = 48;
    /// Union type code of the options table of TRANSPOSE_CONV.
    pub const TRANSPOSE_CONV: u8 = 49;
    /// Union type code of the options table of SHAPE.
    pub const SHAPE: u8 = 55;
    /// Union type code of the options table of PACK.
    pub const PACK: u8 = 59;
    /// Union type code of the options table of UNPACK.
    pub const UNPACK: u8 = 64;
    /// Union type code of the options table of RESIZE_NEAREST_NEIGHBOR.
    pub const RESIZE_NEAREST_NEIGHBOR: u8 = 74;
    /// Union type code of the options table of LEAKY_RELU.
    pub const LEAKY_RELU: u8 = 75;
    /// Union type code of the options table of SQUARED_DIFFERENCE.
    pub const SQUARED_DIFFERENCE: u8 = 76;
    /// Union type code of the options table of MIRROR_PAD.
    pub const MIRROR_PAD: u8 = 77;
    /// Union type code of the options table of ABS.
    pub const ABS: u8 = 78;
    /// Union type code of the options table of SPLIT_V.
    pub const SPLIT_V: u8 = 79;
    /// Union type code of the options table of HARD_SWISH.
    pub const HARD_SWISH: u8 = 91;
    /// Union type code of the options table of DEPTH_TO_SPACE.
    pub const DEPTH_TO_SPACE: u8 = 94;
    /// Union type code of the options table of DENSIFY.
    pub const DENSIFY: u8 = 99;
}

impl BuiltinOptions {
    /// The union type code this value is written with.
    pub fn union_type(&self) -> u8 {
        use union_type as u;
        use BuiltinOptions::*;
        match self {
            None => u::NONE,
            Conv2D(_) => u::CONV_2D,
            DepthwiseConv2D(_) => u::DEPTHWISE_CONV_2D,
            Pool2D(_) => u::POOL_2D,
            FullyConnected(_) => u::FULLY_CONNECTED,
            Softmax { .. } => u::SOFTMAX,
            Concatenation { .. } => u::CONCATENATION,
            Add { .. } => u::ADD,
            Sub { .. } => u::SUB,
            Mul { .. } => u::MUL,
            Div { .. } => u::DIV,
            Reshape { .. } => u::RESHAPE,
            ResizeBilinear(_) => u::RESIZE_BILINEAR,
            ResizeNearestNeighbor(_) => u::RESIZE_NEAREST_NEIGHBOR,
            StridedSlice(_) => u::STRIDED_SLICE,
            Reducer { .. } => u::REDUCER,
            Pad => u::PAD,
            PadV2 => u::PAD_V2,
            MirrorPad { .. } => u::MIRROR_PAD,
            LeakyRelu { .. } => u::LEAKY_RELU,
            Squeeze { .. } => u::SQUEEZE,
            Transpose => u::TRANSPOSE,
            Gather { .. } => u::GATHER,
            Split { .. } => u::SPLIT,
            SplitV { .. } => u::SPLIT_V,
            Pack { .. } => u::PACK,
            Unpack { .. } => u::UNPACK,
            DepthToSpace { .. } => u::DEPTH_TO_SPACE,
            SpaceToDepth { .. } => u::SPACE_TO_DEPTH,
            TransposeConv(_) => u::TRANSPOSE_CONV,
            Cast { .. } => u::CAST,
            Shape { .. } => u::SHAPE,
            Slice => u::SLICE,
            Dequantize => u::DEQUANTIZE,
            Densify => u::DENSIFY,
            HardSwish => u::HARD_SWISH,
            Exp => u::EXP,
            Abs => u::ABS,
            MaximumMinimum => u::MAXIMUM_MINIMUM,
            SquaredDifference => u::SQUARED_DIFFERENCE,
            Other(t) => *t,
        }
    }
}
