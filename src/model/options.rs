//! Typed builtin options of operators (the `BuiltinOptions` union of the schema).

/// Padding scheme of convolutions and pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Padding {
    #[default]
    Same,
    Valid,
}

impl Padding {
    pub fn from_code(code: i8) -> Option<Self> {
        match code {
            0 => Some(Padding::Same),
            1 => Some(Padding::Valid),
            _ => None,
        }
    }
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
    None,
    Relu,
    ReluN1To1,
    Relu6,
    Tanh,
    SignBit,
}

impl Activation {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conv2DOptions {
    pub padding: Padding,
    pub stride_w: i32,
    pub stride_h: i32,
    pub activation: Activation,
    pub dilation_w: i32,
    pub dilation_h: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DepthwiseConv2DOptions {
    pub padding: Padding,
    pub stride_w: i32,
    pub stride_h: i32,
    pub depth_multiplier: i32,
    pub activation: Activation,
    pub dilation_w: i32,
    pub dilation_h: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pool2DOptions {
    pub padding: Padding,
    pub stride_w: i32,
    pub stride_h: i32,
    pub filter_w: i32,
    pub filter_h: i32,
    pub activation: Activation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FullyConnectedOptions {
    pub activation: Activation,
    /// `FullyConnectedOptionsWeightsFormat`: 0 = DEFAULT, 1 = SHUFFLED4x16INT8.
    pub weights_format: i8,
    pub keep_num_dims: bool,
    pub asymmetric_quantize_inputs: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransposeConvOptions {
    pub padding: Padding,
    pub stride_w: i32,
    pub stride_h: i32,
    pub activation: Activation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResizeOptions {
    pub align_corners: bool,
    pub half_pixel_centers: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StridedSliceOptions {
    pub begin_mask: i32,
    pub end_mask: i32,
    pub ellipsis_mask: i32,
    pub new_axis_mask: i32,
    pub shrink_axis_mask: i32,
    pub offset: bool,
}

/// Mode of MIRROR_PAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MirrorPadMode {
    Reflect,
    Symmetric,
}

/// The decoded `builtin_options` of an operator.
///
/// Every option table the runtime needs is typed; tables the reader does not decode are kept as
/// [`BuiltinOptions::Other`] with their union type code so the model can still be inspected.
#[derive(Debug, Clone, PartialEq)]
pub enum BuiltinOptions {
    None,
    Conv2D(Conv2DOptions),
    DepthwiseConv2D(DepthwiseConv2DOptions),
    Pool2D(Pool2DOptions),
    FullyConnected(FullyConnectedOptions),
    Softmax {
        beta: f32,
    },
    Concatenation {
        axis: i32,
        activation: Activation,
    },
    Add {
        activation: Activation,
        pot_scale_int16: bool,
    },
    Sub {
        activation: Activation,
        pot_scale_int16: bool,
    },
    Mul {
        activation: Activation,
    },
    Div {
        activation: Activation,
    },
    Reshape {
        new_shape: Option<Vec<i32>>,
    },
    ResizeBilinear(ResizeOptions),
    ResizeNearestNeighbor(ResizeOptions),
    StridedSlice(StridedSliceOptions),
    Reducer {
        keep_dims: bool,
    },
    Pad,
    PadV2,
    MirrorPad {
        mode: MirrorPadMode,
    },
    LeakyRelu {
        alpha: f32,
    },
    Squeeze {
        squeeze_dims: Vec<i32>,
    },
    Transpose,
    Gather {
        axis: i32,
        batch_dims: i32,
    },
    Split {
        num_splits: i32,
    },
    SplitV {
        num_splits: i32,
    },
    Pack {
        values_count: i32,
        axis: i32,
    },
    Unpack {
        num: i32,
        axis: i32,
    },
    DepthToSpace {
        block_size: i32,
    },
    SpaceToDepth {
        block_size: i32,
    },
    TransposeConv(TransposeConvOptions),
    Cast {
        in_type: i8,
        out_type: i8,
    },
    Shape {
        out_type: i8,
    },
    Slice,
    Dequantize,
    Densify,
    HardSwish,
    Exp,
    Abs,
    MaximumMinimum,
    SquaredDifference,
    /// An option table of a type this reader does not decode (its union type code).
    Other(u8),
}

/// Union type codes of the `BuiltinOptions` union for the tables decoded here.
pub mod union_type {
    pub const NONE: u8 = 0;
    pub const CONV_2D: u8 = 1;
    pub const DEPTHWISE_CONV_2D: u8 = 2;
    pub const POOL_2D: u8 = 5;
    pub const FULLY_CONNECTED: u8 = 8;
    pub const SOFTMAX: u8 = 9;
    pub const CONCATENATION: u8 = 10;
    pub const ADD: u8 = 11;
    pub const RESIZE_BILINEAR: u8 = 15;
    pub const RESHAPE: u8 = 17;
    pub const SPACE_TO_DEPTH: u8 = 19;
    pub const MUL: u8 = 21;
    pub const PAD: u8 = 22;
    pub const GATHER: u8 = 23;
    pub const TRANSPOSE: u8 = 26;
    pub const REDUCER: u8 = 27;
    pub const SUB: u8 = 28;
    pub const DIV: u8 = 29;
    pub const SQUEEZE: u8 = 30;
    pub const STRIDED_SLICE: u8 = 32;
    pub const EXP: u8 = 33;
    pub const SPLIT: u8 = 35;
    pub const CAST: u8 = 37;
    pub const DEQUANTIZE: u8 = 38;
    pub const MAXIMUM_MINIMUM: u8 = 39;
    pub const PAD_V2: u8 = 43;
    pub const SLICE: u8 = 48;
    pub const TRANSPOSE_CONV: u8 = 49;
    pub const SHAPE: u8 = 55;
    pub const PACK: u8 = 59;
    pub const UNPACK: u8 = 64;
    pub const RESIZE_NEAREST_NEIGHBOR: u8 = 74;
    pub const LEAKY_RELU: u8 = 75;
    pub const SQUARED_DIFFERENCE: u8 = 76;
    pub const MIRROR_PAD: u8 = 77;
    pub const ABS: u8 = 78;
    pub const SPLIT_V: u8 = 79;
    pub const HARD_SWISH: u8 = 91;
    pub const DEPTH_TO_SPACE: u8 = 94;
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
