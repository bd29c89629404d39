//! `#[repr(C)]` mirrors of the TensorFlow Lite runtime structures the delegate touches, written
//! from the layout facts in `shared/notes/tflite-delegate-abi.md` (x86-64 / aarch64 Linux, LP64).
//!
//! Every size and the offset of every field read is checked at compile time below, and against
//! the real runtime in `tests/ffi_layout.rs`. Fields the delegate never reads are kept as opaque
//! pointers so the layout stays right without giving them a type. C `bool` fields are read as
//! `u8` (any byte value is then valid Rust).

use std::ffi::{c_char, c_int, c_void};

/// `TfLiteStatus`.
pub type TfLiteStatus = c_int;
/// Success.
pub const STATUS_OK: TfLiteStatus = 0;
/// A general failure.
pub const STATUS_ERROR: TfLiteStatus = 1;
/// A failure inside a delegate.
pub const STATUS_DELEGATE_ERROR: TfLiteStatus = 2;

/// `TfLiteType` codes (runtime numbering, not the flatbuffer's).
pub mod dtype {
    /// No type.
    pub const NO_TYPE: i32 = 0;
    /// float32.
    pub const FLOAT32: i32 = 1;
    /// int32.
    pub const INT32: i32 = 2;
    /// uint8.
    pub const UINT8: i32 = 3;
    /// int64.
    pub const INT64: i32 = 4;
    /// Strings.
    pub const STRING: i32 = 5;
    /// bool.
    pub const BOOL: i32 = 6;
    /// int16.
    pub const INT16: i32 = 7;
    /// complex64.
    pub const COMPLEX64: i32 = 8;
    /// int8.
    pub const INT8: i32 = 9;
    /// float16.
    pub const FLOAT16: i32 = 10;
    /// float64.
    pub const FLOAT64: i32 = 11;
}

/// `TfLiteAllocationType`: read-only memory mapped from the model file (constant weights).
pub const ALLOCATION_MMAP_RO: c_int = 1;

/// `kTfLiteBuiltinDelegate`, the builtin code of a delegate kernel node.
pub const BUILTIN_DELEGATE: i32 = 51;

/// `TfLiteIntArray`: a count followed by that many ints.
#[repr(C)]
pub struct TfLiteIntArray {
    /// Number of elements in `data`.
    pub size: c_int,
    /// The elements (a flexible array member).
    pub data: [c_int; 0],
}

/// `TfLiteQuantizationParams` (per-tensor affine quantization).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TfLiteQuantizationParams {
    /// Scale.
    pub scale: f32,
    /// Zero point.
    pub zero_point: i32,
}

/// `TfLiteQuantization`: a kind and a pointer to kind-specific parameters.
#[repr(C)]
pub struct TfLiteQuantization {
    /// `TfLiteQuantizationType`.
    pub kind: c_int,
    /// Kind-specific parameters.
    pub params: *mut c_void,
}

/// `TfLiteDimensionMetadata`: how one traversed dimension of a sparse tensor is stored.
#[repr(C)]
pub struct TfLiteDimensionMetadata {
    /// `TfLiteDimensionType`: 0 dense, 1 sparse CSR.
    pub format: c_int,
    /// Size of a dense dimension.
    pub dense_size: c_int,
    /// CSR segments (sparse dimensions).
    pub array_segments: *const TfLiteIntArray,
    /// CSR indices (sparse dimensions).
    pub array_indices: *const TfLiteIntArray,
}

/// `TfLiteSparsity`.
#[repr(C)]
pub struct TfLiteSparsity {
    /// Traversal order of the dimensions.
    pub traversal_order: *const TfLiteIntArray,
    /// Which dimension each block dimension maps to.
    pub block_map: *const TfLiteIntArray,
    /// `dim_metadata_size` entries.
    pub dim_metadata: *const TfLiteDimensionMetadata,
    /// Entries of `dim_metadata`.
    pub dim_metadata_size: c_int,
}

/// `TfLiteTensor` (112 bytes).
#[repr(C)]
pub struct TfLiteTensor {
    /// `TfLiteType`.
    pub dtype: c_int,
    /// The CPU data (a union of typed pointers in C).
    pub data: *mut c_void,
    /// The current shape.
    pub dims: *mut TfLiteIntArray,
    /// Per-tensor quantization.
    pub params: TfLiteQuantizationParams,
    /// `TfLiteAllocationType`.
    pub allocation_type: c_int,
    /// Bytes of `data`.
    pub bytes: usize,
    /// The allocation owning the data (opaque).
    pub allocation: *const c_void,
    /// NUL-terminated name, possibly null.
    pub name: *const c_char,
    /// The delegate owning a buffer handle (unused here).
    pub delegate: *mut TfLiteDelegate,
    /// Buffer handle (unused here).
    pub buffer_handle: c_int,
    /// Whether `data` is stale (unused here).
    pub data_is_stale: u8,
    /// Whether the tensor is a variable.
    pub is_variable: u8,
    /// Full quantization description.
    pub quantization: TfLiteQuantization,
    /// Sparsity description, or null for dense tensors.
    pub sparsity: *const TfLiteSparsity,
    /// The declared shape signature (`-1` for dynamic dimensions), possibly null.
    pub dims_signature: *const TfLiteIntArray,
}

/// `TfLiteNode` (80 bytes).
#[repr(C)]
pub struct TfLiteNode {
    /// Input tensor indices (`-1` for an absent optional input).
    pub inputs: *mut TfLiteIntArray,
    /// Output tensor indices.
    pub outputs: *mut TfLiteIntArray,
    /// Intermediate tensors.
    pub intermediates: *mut TfLiteIntArray,
    /// Temporary tensors.
    pub temporaries: *mut TfLiteIntArray,
    /// What the kernel's `init` returned.
    pub user_data: *mut c_void,
    /// The builtin parameters struct, or null.
    pub builtin_data: *mut c_void,
    /// A custom op's raw options.
    pub custom_initial_data: *const c_void,
    /// Bytes of `custom_initial_data`.
    pub custom_initial_data_size: c_int,
    /// The delegate running this node, if any.
    pub delegate: *mut TfLiteDelegate,
    /// Whether the node may have side effects.
    pub might_have_side_effect: u8,
}

/// `init(context, buffer, length) -> user_data`.
pub type InitFn = unsafe extern "C" fn(*mut TfLiteContext, *const c_char, usize) -> *mut c_void;
/// `free(context, user_data)`.
pub type FreeFn = unsafe extern "C" fn(*mut TfLiteContext, *mut c_void);
/// `prepare(context, node)` and `invoke(context, node)`.
pub type NodeFn = unsafe extern "C" fn(*mut TfLiteContext, *mut TfLiteNode) -> TfLiteStatus;

/// `TfLiteRegistration` (88 bytes), passed by value to `ReplaceNodeSubsetsWithDelegateKernels`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct TfLiteRegistration {
    /// Called once per delegated partition with a `TfLiteDelegateParams*` as buffer.
    pub init: Option<InitFn>,
    /// Frees what `init` returned.
    pub free: Option<FreeFn>,
    /// Called when tensors are (re)allocated.
    pub prepare: Option<NodeFn>,
    /// Runs the node.
    pub invoke: Option<NodeFn>,
    /// Profiling string callback (unused).
    pub profiling_string: *const c_void,
    /// `TfLiteBuiltinOperator`.
    pub builtin_code: i32,
    /// The custom op name, for custom ops and delegate kernels.
    pub custom_name: *const c_char,
    /// Operator version.
    pub version: c_int,
    /// Opaque (must be null here).
    pub registration_external: *const c_void,
    /// Opaque (must be null here).
    pub async_kernel: *const c_void,
    /// In-place operation flags (0: none).
    pub inplace_operator: u64,
}

/// `TfLiteDelegateParams`: what `init` receives for one partition.
#[repr(C)]
pub struct TfLiteDelegateParams {
    /// The delegate this partition belongs to.
    pub delegate: *mut TfLiteDelegate,
    /// Node indices of the partition.
    pub nodes_to_replace: *mut TfLiteIntArray,
    /// Tensors the partition reads.
    pub input_tensors: *mut TfLiteIntArray,
    /// Tensors the partition writes that are needed outside it.
    pub output_tensors: *mut TfLiteIntArray,
}

/// `GetExecutionPlan(context, &plan)`.
pub type GetExecutionPlanFn =
    unsafe extern "C" fn(*mut TfLiteContext, *mut *mut TfLiteIntArray) -> TfLiteStatus;
/// `ReportError(context, format, ...)`.
pub type ReportErrorFn = unsafe extern "C" fn(*mut TfLiteContext, *const c_char, ...);
/// `GetNodeAndRegistration(context, index, &node, &registration)`.
pub type GetNodeAndRegistrationFn = unsafe extern "C" fn(
    *mut TfLiteContext,
    c_int,
    *mut *mut TfLiteNode,
    *mut *mut TfLiteRegistration,
) -> TfLiteStatus;
/// `ReplaceNodeSubsetsWithDelegateKernels(context, registration, nodes, delegate)`.
pub type ReplaceNodeSubsetsFn = unsafe extern "C" fn(
    *mut TfLiteContext,
    TfLiteRegistration,
    *const TfLiteIntArray,
    *mut TfLiteDelegate,
) -> TfLiteStatus;

/// `TfLiteContext` (200 bytes). Only the fields the delegate uses are typed.
#[repr(C)]
pub struct TfLiteContext {
    /// Number of tensors in `tensors`.
    pub tensors_size: usize,
    /// Fills in the execution plan (invalidated by the next call).
    pub get_execution_plan: Option<GetExecutionPlanFn>,
    /// The subgraph's tensors.
    pub tensors: *mut TfLiteTensor,
    /// Runtime internals.
    pub impl_: *mut c_void,
    /// `ResizeTensor` (unused).
    pub resize_tensor: *const c_void,
    /// Reports an error through the interpreter's reporter.
    pub report_error: Option<ReportErrorFn>,
    /// `AddTensors` (unused).
    pub add_tensors: *const c_void,
    /// Looks a node and its registration up by index.
    pub get_node_and_registration: Option<GetNodeAndRegistrationFn>,
    /// Replaces node subsets with delegate kernels.
    pub replace_node_subsets_with_delegate_kernels: Option<ReplaceNodeSubsetsFn>,
    /// Recommended number of threads.
    pub recommended_num_threads: c_int,
    /// `GetExternalContext` (unused).
    pub get_external_context: *const c_void,
    /// `SetExternalContext` (unused).
    pub set_external_context: *const c_void,
    /// Whether f32 may be computed in f16 (`SetAllowFp16PrecisionForFp32`).
    pub allow_fp32_relax_to_fp16: u8,
    /// The rest of the struct (profiler .. ReleaseSubgraphContext), untouched.
    pub rest: [*const c_void; 12],
}

/// `Prepare(context, delegate)`.
pub type DelegatePrepareFn =
    unsafe extern "C" fn(*mut TfLiteContext, *mut TfLiteDelegate) -> TfLiteStatus;

/// `TfLiteDelegate` (56 bytes), the legacy (non-opaque) form.
#[repr(C)]
pub struct TfLiteDelegate {
    /// Delegate-owned data.
    pub data: *mut c_void,
    /// Claims nodes of a graph.
    pub prepare: Option<DelegatePrepareFn>,
    /// Buffer-handle callbacks (unused, null).
    pub copy_from_buffer_handle: *const c_void,
    /// (unused, null)
    pub copy_to_buffer_handle: *const c_void,
    /// (unused, null)
    pub free_buffer_handle: *const c_void,
    /// `TfLiteDelegateFlags`.
    pub flags: i64,
    /// Must be null for a legacy delegate.
    pub opaque_delegate_builder: *const c_void,
}

/// TfLitePadding: Same.
pub const PADDING_SAME: c_int = 1;
/// TfLitePadding: Valid.
pub const PADDING_VALID: c_int = 2;

/// `TfLiteConvParams`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ConvParams {
    /// TfLitePadding.
    pub padding: c_int,
    /// Stride along the width.
    pub stride_width: c_int,
    /// Stride along the height.
    pub stride_height: c_int,
    /// TfLiteFusedActivation.
    pub activation: c_int,
    /// Dilation along the width.
    pub dilation_width_factor: c_int,
    /// Dilation along the height.
    pub dilation_height_factor: c_int,
}

/// `TfLiteDepthwiseConvParams`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DepthwiseConvParams {
    /// TfLitePadding.
    pub padding: c_int,
    /// Stride along the width.
    pub stride_width: c_int,
    /// Stride along the height.
    pub stride_height: c_int,
    /// Output channels per input channel.
    pub depth_multiplier: c_int,
    /// TfLiteFusedActivation.
    pub activation: c_int,
    /// Dilation along the width.
    pub dilation_width_factor: c_int,
    /// Dilation along the height.
    pub dilation_height_factor: c_int,
}

/// `TfLitePoolParams` (the leading fields; computed padding follows and is not read).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PoolParams {
    /// TfLitePadding.
    pub padding: c_int,
    /// Stride along the width.
    pub stride_width: c_int,
    /// Stride along the height.
    pub stride_height: c_int,
    /// Window width.
    pub filter_width: c_int,
    /// Window height.
    pub filter_height: c_int,
    /// TfLiteFusedActivation.
    pub activation: c_int,
}

/// `TfLiteTransposeConvParams` (leading fields).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TransposeConvParams {
    /// TfLitePadding.
    pub padding: c_int,
    /// Stride along the width.
    pub stride_width: c_int,
    /// Stride along the height.
    pub stride_height: c_int,
    /// TfLiteFusedActivation.
    pub activation: c_int,
}

/// `TfLiteFullyConnectedParams` (leading fields).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FullyConnectedParams {
    /// TfLiteFusedActivation.
    pub activation: c_int,
    /// Weights format (0 default).
    pub weights_format: c_int,
    /// Keep the input's leading dimensions.
    pub keep_num_dims: u8,
    /// Quantize inputs asymmetrically (hybrid models).
    pub asymmetric_quantize_inputs: u8,
}

/// Params whose first field is a fused activation (`TfLiteAddParams`, `Sub`, `Mul`, `Div`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ActivationParams {
    /// TfLiteFusedActivation.
    pub activation: c_int,
}

/// `TfLiteConcatenationParams`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ConcatenationParams {
    /// Axis (may be negative).
    pub axis: c_int,
    /// TfLiteFusedActivation.
    pub activation: c_int,
}

/// `TfLiteSoftmaxParams` and `TfLiteLeakyReluParams`: one float.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FloatParam {
    /// beta (softmax) or alpha (leaky relu).
    pub value: f32,
}

/// `TfLiteReducerParams`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ReducerParams {
    /// Keep reduced dimensions with size 1.
    pub keep_dims: u8,
}

/// `TfLiteResizeBilinearParams` and `TfLiteResizeNearestNeighborParams`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ResizeParams {
    /// Align corners.
    pub align_corners: u8,
    /// Half-pixel centers.
    pub half_pixel_centers: u8,
}

/// `TfLiteStridedSliceParams`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StridedSliceParams {
    /// Begin mask.
    pub begin_mask: c_int,
    /// End mask.
    pub end_mask: c_int,
    /// Ellipsis mask.
    pub ellipsis_mask: c_int,
    /// New-axis mask.
    pub new_axis_mask: c_int,
    /// Shrink-axis mask.
    pub shrink_axis_mask: c_int,
    /// `end` is an offset from `begin`.
    pub offset: u8,
}

/// `TfLiteSqueezeParams`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SqueezeParams {
    /// Axes to squeeze.
    pub squeeze_dims: [c_int; 8],
    /// How many of `squeeze_dims` are used.
    pub num_squeeze_dims: c_int,
}

/// Params made of two ints (`Pack`: values_count, axis; `Unpack`: num, axis; `Gather`: axis,
/// batch_dims).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TwoInts {
    /// First field.
    pub a: c_int,
    /// Second field.
    pub b: c_int,
}

/// Params made of one int (`Split`, `SplitV`: num_splits; `DepthToSpace`, `SpaceToDepth`:
/// block_size; `MirrorPad`: mode).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct OneInt {
    /// The field.
    pub a: c_int,
}

// Compile-time checks of the layout facts (LP64).
const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<TfLiteDelegate>() == 56);
    assert!(offset_of!(TfLiteDelegate, flags) == 40);
    assert!(offset_of!(TfLiteDelegate, opaque_delegate_builder) == 48);
    assert!(size_of::<TfLiteContext>() == 200);
    assert!(offset_of!(TfLiteContext, get_execution_plan) == 8);
    assert!(offset_of!(TfLiteContext, tensors) == 16);
    assert!(offset_of!(TfLiteContext, report_error) == 40);
    assert!(offset_of!(TfLiteContext, get_node_and_registration) == 56);
    assert!(offset_of!(TfLiteContext, replace_node_subsets_with_delegate_kernels) == 64);
    assert!(offset_of!(TfLiteContext, recommended_num_threads) == 72);
    assert!(offset_of!(TfLiteContext, allow_fp32_relax_to_fp16) == 96);
    assert!(offset_of!(TfLiteContext, rest) == 104);
    assert!(size_of::<TfLiteRegistration>() == 88);
    assert!(offset_of!(TfLiteRegistration, builtin_code) == 40);
    assert!(offset_of!(TfLiteRegistration, custom_name) == 48);
    assert!(offset_of!(TfLiteRegistration, version) == 56);
    assert!(offset_of!(TfLiteRegistration, registration_external) == 64);
    assert!(offset_of!(TfLiteRegistration, async_kernel) == 72);
    assert!(offset_of!(TfLiteRegistration, inplace_operator) == 80);
    assert!(size_of::<TfLiteDelegateParams>() == 32);
    assert!(offset_of!(TfLiteIntArray, data) == 4);
    assert!(size_of::<TfLiteNode>() == 80);
    assert!(offset_of!(TfLiteNode, user_data) == 32);
    assert!(offset_of!(TfLiteNode, builtin_data) == 40);
    assert!(offset_of!(TfLiteNode, custom_initial_data) == 48);
    assert!(offset_of!(TfLiteNode, custom_initial_data_size) == 56);
    assert!(offset_of!(TfLiteNode, delegate) == 64);
    assert!(offset_of!(TfLiteNode, might_have_side_effect) == 72);
    assert!(size_of::<TfLiteTensor>() == 112);
    assert!(offset_of!(TfLiteTensor, data) == 8);
    assert!(offset_of!(TfLiteTensor, dims) == 16);
    assert!(offset_of!(TfLiteTensor, params) == 24);
    assert!(offset_of!(TfLiteTensor, allocation_type) == 32);
    assert!(offset_of!(TfLiteTensor, bytes) == 40);
    assert!(offset_of!(TfLiteTensor, name) == 56);
    assert!(offset_of!(TfLiteTensor, buffer_handle) == 72);
    assert!(offset_of!(TfLiteTensor, data_is_stale) == 76);
    assert!(offset_of!(TfLiteTensor, is_variable) == 77);
    assert!(offset_of!(TfLiteTensor, quantization) == 80);
    assert!(offset_of!(TfLiteTensor, sparsity) == 96);
    assert!(offset_of!(TfLiteTensor, dims_signature) == 104);
    assert!(size_of::<TfLiteSparsity>() == 32);
    assert!(size_of::<TfLiteDimensionMetadata>() == 24);
    assert!(offset_of!(FullyConnectedParams, keep_num_dims) == 8);
    assert!(offset_of!(StridedSliceParams, offset) == 20);
    assert!(offset_of!(SqueezeParams, num_squeeze_dims) == 32);
};
