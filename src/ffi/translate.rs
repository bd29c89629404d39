//! Translating what the TFLite runtime holds (tensors, nodes, builtin parameter structs) into
//! halfgpu's IR, so support is decided by the same code as for the Rust runtime
//! (`Delegate::supports` on a [`NodeView`](crate::delegate::NodeView)).
//!
//! This mirrors `graph/build.rs` (file operators to [`Op`]) with the runtime's enums: padding
//! Same = 1, Valid = 2; fused activations as in the schema plus Sigmoid = 6; mirror pad
//! Reflect = 1, Symmetric = 2; tensor types in the runtime numbering.

use std::ffi::{c_int, CStr};

use super::abi::{self, dtype, TfLiteIntArray, TfLiteNode, TfLiteRegistration, TfLiteTensor};
use crate::graph::{ConstData, Op, TensorInfo, TensorRole};
use crate::model::{
    schema::{builtin as b, builtin_name},
    Activation, Conv2DOptions, DepthwiseConv2DOptions, DimensionMetadata, FullyConnectedOptions,
    IndexVector, MirrorPadMode, Padding, Pool2DOptions, Quantization, ResizeOptions, Sparsity,
    StridedSliceOptions, TensorType, TransposeConvOptions,
};

/// The largest tensor accepted, in elements (the same limit as the file reader's).
const MAX_TENSOR_ELEMENTS: usize = 1 << 31;

/// The longest int array accepted from the runtime (dims, node inputs, plans).
const MAX_INT_ARRAY: c_int = 1 << 24;

/// The custom op MediaPipe models use for transposed convolutions with bias.
pub const CONV_TRANSPOSE_BIAS: &str = "Convolution2DTransposeBias";

/// Copies a `TfLiteIntArray`, refusing null pointers and absurd sizes.
///
/// # Safety
/// `p` must be null or point to a `TfLiteIntArray` followed by `size` ints.
pub unsafe fn int_array(p: *const TfLiteIntArray) -> Result<Vec<i32>, String> {
    if p.is_null() {
        return Err("null int array".into());
    }
    // SAFETY: non-null, and the caller guarantees it points to a TfLiteIntArray header.
    let size = unsafe { (*p).size };
    if !(0..=MAX_INT_ARRAY).contains(&size) {
        return Err(format!("int array of size {size}"));
    }
    // SAFETY: the header is followed by `size` ints (checked to be in 0..=2^24).
    let data = unsafe {
        std::slice::from_raw_parts(
            (p as *const u8).add(std::mem::offset_of!(TfLiteIntArray, data)) as *const c_int,
            size as usize,
        )
    };
    Ok(data.to_vec())
}

/// The IR dtype of a runtime `TfLiteType` code.
pub fn tensor_type(code: c_int) -> TensorType {
    match code {
        dtype::FLOAT32 => TensorType::Float32,
        dtype::INT32 => TensorType::Int32,
        dtype::UINT8 => TensorType::UInt8,
        dtype::INT64 => TensorType::Int64,
        dtype::STRING => TensorType::String,
        dtype::BOOL => TensorType::Bool,
        dtype::INT16 => TensorType::Int16,
        dtype::COMPLEX64 => TensorType::Complex64,
        dtype::INT8 => TensorType::Int8,
        dtype::FLOAT16 => TensorType::Float16,
        dtype::FLOAT64 => TensorType::Float64,
        other => TensorType::Unknown(other.clamp(-128, 127) as i8),
    }
}

/// Reads a tensor's name (empty when null or not UTF-8).
///
/// # Safety
/// `t.name` must be null or a NUL-terminated string.
pub(crate) unsafe fn tensor_name(t: &TfLiteTensor) -> String {
    if t.name.is_null() {
        return String::new();
    }
    // SAFETY: non-null, NUL-terminated per the runtime's contract.
    unsafe { CStr::from_ptr(t.name) }
        .to_string_lossy()
        .into_owned()
}

/// The current shape of a tensor.
///
/// # Safety
/// `t.dims` must be null or a valid `TfLiteIntArray`.
pub unsafe fn tensor_shape(t: &TfLiteTensor) -> Result<Vec<usize>, String> {
    // SAFETY: forwarded from the caller.
    let dims = unsafe { int_array(t.dims) }.map_err(|e| format!("dims: {e}"))?;
    let mut elements: usize = 1;
    let mut shape = Vec::with_capacity(dims.len());
    for d in dims {
        let d = usize::try_from(d).map_err(|_| format!("negative dimension {d}"))?;
        elements = elements
            .checked_mul(d)
            .filter(|e| *e <= MAX_TENSOR_ELEMENTS)
            .ok_or("more than 2^31 elements")?;
        shape.push(d);
    }
    Ok(shape)
}

/// Translates one runtime tensor into a [`TensorInfo`]. Constant data (allocation type MmapRo)
/// is copied, after checking that the runtime's byte count covers the shape.
///
/// # Safety
/// `t` must be a tensor of a live `TfLiteContext` (its pointers valid or null).
pub(crate) unsafe fn tensor_info(t: &TfLiteTensor) -> Result<TensorInfo, String> {
    // SAFETY: forwarded from the caller.
    let name = unsafe { tensor_name(t) };
    // SAFETY: forwarded from the caller.
    let shape = unsafe { tensor_shape(t) }.map_err(|e| format!("tensor {name:?}: {e}"))?;
    let signature = if t.dims_signature.is_null() {
        shape.iter().map(|&d| d as i32).collect()
    } else {
        // SAFETY: non-null dims_signature is a TfLiteIntArray owned by the runtime.
        unsafe { int_array(t.dims_signature) }.unwrap_or_default()
    };
    let dtype = tensor_type(t.dtype);
    let mut data = None;
    let mut sparsity = None;
    if !t.sparsity.is_null() {
        // SAFETY: a non-null sparsity pointer of a live tensor.
        sparsity = Some(
            unsafe { sparsity_of(&*t.sparsity) }
                .map_err(|e| format!("tensor {name:?}: sparsity: {e}"))?,
        );
        if t.allocation_type == abi::ALLOCATION_MMAP_RO && !t.data.is_null() {
            // SAFETY: data non-null; the runtime says it holds `bytes` bytes (the stored values).
            let bytes = unsafe { std::slice::from_raw_parts(t.data as *const u8, t.bytes) };
            data = Some(ConstData::from_bytes(bytes));
        }
    } else if t.allocation_type == abi::ALLOCATION_MMAP_RO && !t.data.is_null() {
        if let Some(size) = dtype.size_bytes() {
            let want = shape.iter().product::<usize>() * size;
            if t.bytes < want {
                return Err(format!(
                    "constant tensor {name:?} holds {} bytes, its shape {shape:?} needs {want}",
                    t.bytes
                ));
            }
            // SAFETY: data is non-null and the runtime says it holds `bytes >= want` bytes.
            let bytes = unsafe { std::slice::from_raw_parts(t.data as *const u8, want) };
            data = Some(ConstData::from_bytes(bytes));
        }
    }
    let quantization = (t.params.scale != 0.0).then(|| Quantization {
        min: Vec::new(),
        max: Vec::new(),
        scale: vec![t.params.scale],
        zero_point: vec![t.params.zero_point as i64],
        quantized_dimension: 0,
        has_details: false,
    });
    Ok(TensorInfo {
        name,
        shape,
        signature,
        dtype,
        role: if data.is_some() {
            TensorRole::Constant
        } else {
            TensorRole::Activation
        },
        data,
        quantization,
        sparsity,
    })
}

/// Translates a `TfLiteSparsity` (the runtime holds every index array as ints).
///
/// # Safety
/// `s` must be the sparsity of a live tensor.
unsafe fn sparsity_of(s: &abi::TfLiteSparsity) -> Result<Sparsity, String> {
    // SAFETY: arrays of a live sparsity description (null is refused or optional).
    let traversal_order = unsafe { int_array(s.traversal_order) }?;
    let block_map = if s.block_map.is_null() {
        Vec::new()
    } else {
        // SAFETY: as above.
        unsafe { int_array(s.block_map) }?
    };
    let n = usize::try_from(s.dim_metadata_size)
        .ok()
        .filter(|&n| n <= 64)
        .ok_or_else(|| format!("dim_metadata_size {}", s.dim_metadata_size))?;
    if n > 0 && s.dim_metadata.is_null() {
        return Err("null dim_metadata".into());
    }
    let mut dim_metadata = Vec::with_capacity(n);
    for i in 0..n {
        // SAFETY: dim_metadata is non-null with dim_metadata_size (<= 64) entries.
        let d = unsafe { &*s.dim_metadata.add(i) };
        let sparse = match d.format {
            0 => false,
            1 => true,
            f => return Err(format!("unknown dimension format {f}")),
        };
        let vector = |p: *const TfLiteIntArray| -> Result<Option<IndexVector>, String> {
            if p.is_null() {
                return Ok(None);
            }
            // SAFETY: a non-null index array of a live sparsity description.
            Ok(Some(IndexVector::I32(unsafe { int_array(p) }?)))
        };
        dim_metadata.push(DimensionMetadata {
            sparse,
            dense_size: d.dense_size,
            array_segments: if sparse {
                vector(d.array_segments)?
            } else {
                None
            },
            array_indices: if sparse {
                vector(d.array_indices)?
            } else {
                None
            },
        });
    }
    Ok(Sparsity {
        traversal_order,
        block_map,
        dim_metadata,
    })
}

fn activation(code: c_int) -> Result<Activation, String> {
    // TfLiteFusedActivation uses the schema's codes, plus 6 for a fused sigmoid.
    if code == 6 {
        return Err("fused SIGMOID activation is not supported".into());
    }
    i8::try_from(code)
        .ok()
        .and_then(Activation::from_code)
        .ok_or_else(|| format!("unknown fused activation {code}"))
}

fn padding(code: c_int) -> Result<Padding, String> {
    match code {
        abi::PADDING_SAME => Ok(Padding::Same),
        abi::PADDING_VALID => Ok(Padding::Valid),
        c => Err(format!("unknown padding {c}")),
    }
}

/// Reads the builtin parameter struct `T` of a node.
///
/// # Safety
/// `node.builtin_data` must be null or point to a `T` (the struct of the node's builtin code).
unsafe fn params<T: Copy>(node: &TfLiteNode) -> Option<T> {
    let p = node.builtin_data as *const T;
    // SAFETY: non-null builtin_data points to the params struct of this builtin code, which the
    // caller matched to `T`; read_unaligned needs no alignment.
    (!p.is_null()).then(|| unsafe { std::ptr::read_unaligned(p) })
}

/// The operator name for reports: the schema name, the custom name, or the code.
pub(crate) fn op_name(code: i32, custom: Option<&str>) -> String {
    match custom {
        Some(c) if code == b::CUSTOM => c.to_string(),
        _ => builtin_name(code)
            .map(str::to_string)
            .unwrap_or_else(|| format!("builtin {code}")),
    }
}

/// Translates one node's operator into an [`Op`]. Unknown operators become
/// [`Op::Unsupported`]; malformed parameters are an error (the node then stays on the CPU).
///
/// # Safety
/// `reg` and `node` must come from `GetNodeAndRegistration` of a live context.
pub(crate) unsafe fn op(reg: &TfLiteRegistration, node: &TfLiteNode) -> Result<Op, String> {
    let custom = if reg.custom_name.is_null() {
        None
    } else {
        // SAFETY: a non-null custom_name is a NUL-terminated string owned by the registration.
        Some(
            unsafe { CStr::from_ptr(reg.custom_name) }
                .to_string_lossy()
                .into_owned(),
        )
    };
    let name = op_name(reg.builtin_code, custom.as_deref());
    let missing = || format!("{name}: missing builtin parameters");
    macro_rules! p {
        ($t:ty) => {
            // SAFETY: the builtin code selects this parameter struct (see the match arm).
            unsafe { params::<$t>(node) }
        };
    }
    let act = |a: Option<abi::ActivationParams>| match a {
        Some(a) => activation(a.activation),
        None => Ok(Activation::None),
    };
    Ok(match reg.builtin_code {
        b::CONV_2D => {
            let c = p!(abi::ConvParams).ok_or_else(missing)?;
            Op::Conv2D(Conv2DOptions {
                padding: padding(c.padding)?,
                stride_w: c.stride_width,
                stride_h: c.stride_height,
                activation: activation(c.activation)?,
                dilation_w: c.dilation_width_factor,
                dilation_h: c.dilation_height_factor,
            })
        }
        b::DEPTHWISE_CONV_2D => {
            let c = p!(abi::DepthwiseConvParams).ok_or_else(missing)?;
            Op::DepthwiseConv2D(DepthwiseConv2DOptions {
                padding: padding(c.padding)?,
                stride_w: c.stride_width,
                stride_h: c.stride_height,
                depth_multiplier: c.depth_multiplier,
                activation: activation(c.activation)?,
                dilation_w: c.dilation_width_factor,
                dilation_h: c.dilation_height_factor,
            })
        }
        b::FULLY_CONNECTED => match p!(abi::FullyConnectedParams) {
            Some(c) => Op::FullyConnected(FullyConnectedOptions {
                activation: activation(c.activation)?,
                weights_format: c.weights_format.clamp(0, 127) as i8,
                keep_num_dims: c.keep_num_dims != 0,
                asymmetric_quantize_inputs: c.asymmetric_quantize_inputs != 0,
            }),
            None => Op::FullyConnected(FullyConnectedOptions {
                activation: Activation::None,
                weights_format: 0,
                keep_num_dims: false,
                asymmetric_quantize_inputs: false,
            }),
        },
        b::TRANSPOSE_CONV => {
            let c = p!(abi::TransposeConvParams).ok_or_else(missing)?;
            Op::TransposeConv(TransposeConvOptions {
                padding: padding(c.padding)?,
                stride_w: c.stride_width,
                stride_h: c.stride_height,
                activation: activation(c.activation)?,
            })
        }
        b::ADD => Op::Add(act(p!(abi::ActivationParams))?),
        b::SUB => Op::Sub(act(p!(abi::ActivationParams))?),
        b::MUL => Op::Mul(act(p!(abi::ActivationParams))?),
        b::DIV => Op::Div(act(p!(abi::ActivationParams))?),
        b::MAXIMUM => Op::Maximum,
        b::MINIMUM => Op::Minimum,
        b::SQUARED_DIFFERENCE => Op::SquaredDifference,
        b::RELU => Op::Relu,
        b::RELU6 => Op::Relu6,
        b::RELU_N1_TO_1 => Op::ReluN1To1,
        b::LEAKY_RELU => Op::LeakyRelu {
            alpha: p!(abi::FloatParam).map_or(0.0, |f| f.value),
        },
        b::PRELU => Op::Prelu,
        b::LOGISTIC => Op::Logistic,
        b::TANH => Op::Tanh,
        b::HARD_SWISH => Op::HardSwish,
        b::EXP => Op::Exp,
        b::RSQRT => Op::Rsqrt,
        b::SQRT => Op::Sqrt,
        b::ABS => Op::Abs,
        b::SOFTMAX => Op::Softmax {
            beta: p!(abi::FloatParam).ok_or_else(missing)?.value,
        },
        b::MAX_POOL_2D | b::AVERAGE_POOL_2D => {
            let c = p!(abi::PoolParams).ok_or_else(missing)?;
            let o = Pool2DOptions {
                padding: padding(c.padding)?,
                stride_w: c.stride_width,
                stride_h: c.stride_height,
                filter_w: c.filter_width,
                filter_h: c.filter_height,
                activation: activation(c.activation)?,
            };
            if reg.builtin_code == b::MAX_POOL_2D {
                Op::MaxPool2D(o)
            } else {
                Op::AveragePool2D(o)
            }
        }
        b::MEAN | b::SUM | b::REDUCE_MAX => {
            let keep_dims = p!(abi::ReducerParams).is_some_and(|r| r.keep_dims != 0);
            match reg.builtin_code {
                b::MEAN => Op::Mean { keep_dims },
                b::SUM => Op::Sum { keep_dims },
                _ => Op::ReduceMax { keep_dims },
            }
        }
        b::PAD => Op::Pad,
        b::PADV2 => Op::PadV2,
        b::MIRROR_PAD => match p!(abi::OneInt).ok_or_else(missing)?.a {
            1 => Op::MirrorPad(MirrorPadMode::Reflect),
            2 => Op::MirrorPad(MirrorPadMode::Symmetric),
            m => return Err(format!("{name}: unknown mode {m}")),
        },
        b::CONCATENATION => {
            let c = p!(abi::ConcatenationParams).ok_or_else(missing)?;
            Op::Concatenation {
                axis: c.axis,
                activation: activation(c.activation)?,
            }
        }
        b::RESHAPE => Op::Reshape,
        b::SQUEEZE => Op::Squeeze {
            dims: match p!(abi::SqueezeParams) {
                Some(s) => {
                    let n = usize::try_from(s.num_squeeze_dims)
                        .ok()
                        .filter(|&n| n <= 8)
                        .ok_or_else(|| {
                            format!("{name}: num_squeeze_dims {}", s.num_squeeze_dims)
                        })?;
                    s.squeeze_dims[..n].to_vec()
                }
                None => Vec::new(),
            },
        },
        b::TRANSPOSE => Op::Transpose,
        b::STRIDED_SLICE => Op::StridedSlice(match p!(abi::StridedSliceParams) {
            Some(s) => StridedSliceOptions {
                begin_mask: s.begin_mask,
                end_mask: s.end_mask,
                ellipsis_mask: s.ellipsis_mask,
                new_axis_mask: s.new_axis_mask,
                shrink_axis_mask: s.shrink_axis_mask,
                offset: s.offset != 0,
            },
            None => StridedSliceOptions::default(),
        }),
        b::SLICE => Op::Slice,
        b::SPLIT => Op::Split {
            num_splits: p!(abi::OneInt).ok_or_else(missing)?.a,
        },
        b::SPLIT_V => Op::SplitV {
            num_splits: p!(abi::OneInt).ok_or_else(missing)?.a,
        },
        b::PACK => {
            let c = p!(abi::TwoInts).ok_or_else(missing)?;
            Op::Pack {
                values_count: c.a,
                axis: c.b,
            }
        }
        b::UNPACK => {
            let c = p!(abi::TwoInts).ok_or_else(missing)?;
            Op::Unpack {
                num: c.a,
                axis: c.b,
            }
        }
        b::GATHER => {
            let c = p!(abi::TwoInts).unwrap_or(abi::TwoInts { a: 0, b: 0 });
            Op::Gather {
                axis: c.a,
                batch_dims: c.b,
            }
        }
        b::RESIZE_BILINEAR | b::RESIZE_NEAREST_NEIGHBOR => {
            let r = p!(abi::ResizeParams).ok_or_else(missing)?;
            let o = ResizeOptions {
                align_corners: r.align_corners != 0,
                half_pixel_centers: r.half_pixel_centers != 0,
            };
            if reg.builtin_code == b::RESIZE_BILINEAR {
                Op::ResizeBilinear(o)
            } else {
                Op::ResizeNearestNeighbor(o)
            }
        }
        b::DEPTH_TO_SPACE => Op::DepthToSpace {
            block_size: p!(abi::OneInt).ok_or_else(missing)?.a,
        },
        b::SPACE_TO_DEPTH => Op::SpaceToDepth {
            block_size: p!(abi::OneInt).ok_or_else(missing)?.a,
        },
        b::DEQUANTIZE => Op::Dequantize,
        b::DENSIFY => Op::Densify,
        b::CAST => Op::Cast,
        b::SHAPE => Op::Shape,
        b::CUSTOM if custom.as_deref() == Some(CONV_TRANSPOSE_BIAS) => {
            let len = usize::try_from(node.custom_initial_data_size).unwrap_or(0);
            if node.custom_initial_data.is_null() || len < 12 {
                return Err(format!(
                    "{name}: custom options are {len} bytes, expected 12 (padding, stride_w, stride_h)"
                ));
            }
            // SAFETY: non-null, and the runtime says it holds `len >= 12` bytes.
            let raw =
                unsafe { std::slice::from_raw_parts(node.custom_initial_data as *const u8, 12) };
            let word = |i: usize| {
                i32::from_le_bytes([raw[4 * i], raw[4 * i + 1], raw[4 * i + 2], raw[4 * i + 3]])
            };
            Op::Conv2DTransposeBias {
                padding: padding(word(0))?,
                stride_w: word(1),
                stride_h: word(2),
            }
        }
        _ => Op::Unsupported { name },
    })
}
