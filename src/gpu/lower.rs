//! Lowering one node to GPU dispatches. The same code decides support: a node is supported
//! exactly when it lowers, so "what the GPU claims" and "what the GPU runs" cannot disagree.

use crate::delegate::{NodeView, TensorView};
use crate::graph::{ConstData, Op, TensorId};
use crate::model::{Activation, Padding, TensorType};

use super::delegate::InferencePreference;
use super::shaders::ShaderFile;

/// One compute dispatch of a lowered node.
#[derive(Debug, Clone)]
pub(crate) struct DispatchSpec {
    pub file: ShaderFile,
    pub entry: &'static str,
    /// Uniform parameters (little-endian words, the shader's params struct).
    pub params: Vec<u32>,
    /// Storage bindings 1.. in order.
    pub bindings: Vec<Binding>,
    /// Invocations in x, y, z (the host divides by the workgroup size).
    pub invocations: [u32; 3],
    /// Workgroup size of the entry point.
    pub workgroup: [u32; 3],
    /// For 1-D dispatches: the index of the params word that receives the row length when the
    /// host folds a long dispatch into two dimensions.
    pub row_slot: Option<usize>,
}

/// What a storage binding refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binding {
    Tensor(TensorId),
    /// A constant filter, uploaded in the element order its kernel reads.
    Filter(TensorId, FilterOrder),
    /// A one-element placeholder (e.g. for an absent bias).
    Dummy,
}

/// An element order a kernel reads its filter in, other than the file's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FilterOrder {
    /// An OHWI filter of 27 values per output channel (3x3, three input channels) regrouped
    /// per block of this many output channels: for each block, tap by tap and input channel by
    /// input channel, the block's output channels side by side, so four neighbouring output
    /// channels of one tap and input channel are one vector.
    RgbBlocks(u32),
}

impl FilterOrder {
    /// `src` (OHWI, `element` bytes per value) in this order, or `None` when its size does
    /// not fit.
    pub(crate) fn arrange(self, src: &[u8], element: usize) -> Option<Vec<u8>> {
        match self {
            FilterOrder::RgbBlocks(block) => {
                let block = block as usize;
                let per_channel = 27 * element;
                if block == 0 || !src.len().is_multiple_of(per_channel * block) {
                    return None;
                }
                let channels = src.len() / per_channel;
                let mut out = vec![0u8; src.len()];
                for o in 0..channels {
                    let (b, lane) = (o / block, o % block);
                    for tap in 0..27 {
                        let from = (o * 27 + tap) * element;
                        let to = ((b * 27 + tap) * block + lane) * element;
                        out[to..to + element].copy_from_slice(&src[from..from + element]);
                    }
                }
                Some(out)
            }
        }
    }
}

/// How a node runs on the GPU.
#[derive(Debug, Clone)]
pub(crate) enum Lowered {
    /// Dispatches, in order.
    Dispatches(Vec<DispatchSpec>),
    /// The output shares the input's buffer (RESHAPE, SQUEEZE).
    Alias { input: TensorId, output: TensorId },
}

/// Limits the lowering respects.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LowerLimits {
    pub element_bytes: usize,
    pub max_binding_bytes: u64,
    pub max_workgroups: u32,
    /// The device runs the subgroup kernels (`GpuContext::has_subgroup_kernels`).
    pub subgroups: bool,
    /// Pick the kernels that compile fastest rather than those that run fastest
    /// ([`InferencePreference::FastSingleAnswer`]): the general convolution and depthwise
    /// kernels instead of the specialised 3x3, 5x5 and RGB ones, and the smaller register
    /// blocks of the 1x1 convolution. On lavapipe 22.3 (LLVM's JIT of each kernel at its first
    /// dispatch, serial): depthwise 3x3 stride 1 and 2 vectors 122 and 134 ms -> one general
    /// kernel 63-66 ms; RGB stem 175 ms and general convolution with subgroups 198 ms -> 98 ms;
    /// 1x1 4 x 32 with subgroups 162 ms (200 with a residual) -> 4 x 16, 89-107 (142), and
    /// without subgroups 8 x 16, 259 ms -> 8 x 8, 123 ms.
    pub quick_compile: bool,
}

impl LowerLimits {
    /// The limits of `ctx`'s device for kernels in `precision`, chosen for `preference`.
    pub fn of_device(
        ctx: &super::GpuContext,
        precision: super::Precision,
        preference: InferencePreference,
    ) -> LowerLimits {
        let l = ctx.limits();
        LowerLimits {
            element_bytes: precision.element_bytes(),
            max_binding_bytes: l.max_storage_buffer_binding_size,
            max_workgroups: l.max_workgroups_per_dimension,
            subgroups: ctx.has_subgroup_kernels(),
            quick_compile: preference == InferencePreference::FastSingleAnswer,
        }
    }

    /// The module the convolutions' kernels come from: with subgroups, the one that has the
    /// subgroup kernels (conv.wgsl is part of it), so that a model compiles one convolution
    /// module rather than two.
    pub fn conv_file(&self) -> ShaderFile {
        if self.subgroups {
            ShaderFile::ConvSubgroup
        } else {
            ShaderFile::Conv
        }
    }
}

type R<T> = Result<T, String>;

fn op_err<T>(view: &NodeView<'_>, msg: impl std::fmt::Display) -> R<T> {
    Err(format!("{}: {msg}", view.node.op.name()))
}

fn input<'v>(view: &'v NodeView<'_>, i: usize) -> R<&'v TensorView<'v>> {
    view.input(i)
        .ok_or_else(|| format!("{}: input {i} is missing", view.node.op.name()))
}

fn output<'v>(view: &'v NodeView<'_>, i: usize) -> R<&'v TensorView<'v>> {
    view.outputs
        .get(i)
        .ok_or_else(|| format!("{}: output {i} is missing", view.node.op.name()))
}

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Values of a constant int32/int64 tensor.
fn const_ints(t: &TensorView<'_>) -> Option<Vec<i64>> {
    int_values(t.dtype, t.constant?)
}

/// The values of constant bytes `c` of type `dtype` when it is int32 or int64.
pub(super) fn int_values(dtype: TensorType, c: &ConstData) -> Option<Vec<i64>> {
    match dtype {
        TensorType::Int32 => Some(c.as_slice::<i32>()?.iter().map(|&v| v as i64).collect()),
        TensorType::Int64 => Some(c.as_slice::<i64>()?.to_vec()),
        _ => None,
    }
}

fn const_f32_scalar(t: &TensorView<'_>) -> Option<f32> {
    let c = t.constant?;
    match t.dtype {
        TensorType::Float32 => c.as_slice::<f32>()?.first().copied(),
        TensorType::Float16 => c.as_slice::<half::f16>()?.first().map(|v| v.to_f32()),
        _ => None,
    }
}

/// The shaders' code for an activation they apply (`activate4` in common.wgsl: they only
/// clamp), `None` for the others.
fn clamp_code(a: Activation) -> Option<u32> {
    match a {
        Activation::None => Some(0),
        Activation::Relu => Some(1),
        Activation::ReluN1To1 => Some(2),
        Activation::Relu6 => Some(3),
        Activation::Tanh | Activation::SignBit => None,
    }
}

/// The kernels' activation code for a fused activation ([`clamp_code`]); a fused TANH gets
/// code 0 here and its own dispatch from [`lower`].
fn act_code(view: &NodeView<'_>, a: Activation) -> R<u32> {
    match (a, clamp_code(a)) {
        (_, Some(code)) => Ok(code),
        (Activation::Tanh, None) => Ok(0),
        _ => op_err(view, "fused activation SIGN_BIT is not supported"),
    }
}

/// Checks that every float tensor the node binds is f32 at run time or a float constant, and fits
/// a storage binding.
fn check_tensors(view: &NodeView<'_>, limits: &LowerLimits, bound: &[&TensorView<'_>]) -> R<()> {
    for t in bound {
        match (t.dtype, t.constant.is_some()) {
            (TensorType::Float32, _) | (TensorType::Float16, true) => {}
            (dt, false) => {
                return op_err(
                    view,
                    format!("tensor {:?} is {dt}; the GPU runs float32 tensors", t.name),
                )
            }
            (dt, true) => {
                return op_err(
                    view,
                    format!(
                        "constant {:?} is {dt}; the GPU reads float constants",
                        t.name
                    ),
                )
            }
        }
        if t.shape.len() > 6 {
            return op_err(
                view,
                format!("tensor {:?} has rank {} (at most 6)", t.name, t.shape.len()),
            );
        }
        let bytes = (numel(t.shape) * limits.element_bytes) as u64;
        if bytes > limits.max_binding_bytes {
            return op_err(
                view,
                format!(
                    "tensor {:?} needs {bytes} bytes, over the adapter's storage binding limit of {}",
                    t.name, limits.max_binding_bytes
                ),
            );
        }
    }
    Ok(())
}

/// Checks the tensors of an op with weights (input, filter, optional bias, output) and returns
/// its storage bindings in that order, a placeholder standing in for an absent bias.
fn weighted_bindings(
    view: &NodeView<'_>,
    limits: &LowerLimits,
    x: &TensorView<'_>,
    w: &TensorView<'_>,
    b: Option<&TensorView<'_>>,
    y: &TensorView<'_>,
) -> R<Vec<Binding>> {
    check_tensors(view, limits, &[x, w, y])?;
    if let Some(b) = b {
        check_tensors(view, limits, &[b])?;
    }
    Ok(vec![
        Binding::Tensor(x.id),
        Binding::Tensor(w.id),
        b.map_or(Binding::Dummy, |b| Binding::Tensor(b.id)),
        Binding::Tensor(y.id),
    ])
}

/// NHWC dims of a rank-4 tensor.
fn nhwc(view: &NodeView<'_>, t: &TensorView<'_>) -> R<[u32; 4]> {
    if t.shape.len() != 4 {
        return op_err(
            view,
            format!(
                "tensor {:?} has rank {}, expected 4 (NHWC)",
                t.name,
                t.shape.len()
            ),
        );
    }
    let mut d = [0u32; 4];
    for (k, &s) in t.shape.iter().enumerate() {
        d[k] = u32::try_from(s)
            .map_err(|_| format!("{}: dimension too large", view.node.op.name()))?;
    }
    Ok(d)
}

/// TFLite's padding before the first element for a window of `k` (dilated size) sliding with
/// `stride` from `input` to `output` elements.
fn pad_before(padding: Padding, input: u32, output: u32, stride: u32, k_eff: u32) -> i32 {
    match padding {
        Padding::Valid => 0,
        Padding::Same => {
            let needed = (output as i64 - 1) * stride as i64 + k_eff as i64 - input as i64;
            (needed.max(0) / 2) as i32
        }
    }
}

/// Geometry of a windowed op (CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV) and the uniform
/// parameters its shaders share.
struct Window {
    n: u32,
    ih: u32,
    iw: u32,
    ic: u32,
    oh: u32,
    ow: u32,
    oc: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    dh: u32,
    dw: u32,
    /// Padding before the first row and column (SAME splits it, extra after).
    pt: i32,
    pl: i32,
}

impl Window {
    fn new(
        padding: Padding,
        [stride_h, stride_w, dilation_h, dilation_w]: [i32; 4],
        [n, ih, iw, ic]: [u32; 4],
        [oh, ow, oc]: [u32; 3],
        [kh, kw]: [u32; 2],
    ) -> Self {
        let (sh, sw) = (stride_h.max(1) as u32, stride_w.max(1) as u32);
        let (dh, dw) = (dilation_h.max(1) as u32, dilation_w.max(1) as u32);
        Window {
            n,
            ih,
            iw,
            ic,
            oh,
            ow,
            oc,
            kh,
            kw,
            sh,
            sw,
            dh,
            dw,
            pt: pad_before(padding, ih, oh, sh, (kh - 1) * dh + 1),
            pl: pad_before(padding, iw, ow, sw, (kw - 1) * dw + 1),
        }
    }

    /// The shaders' parameter block: shapes, `multiplier` (output channels per input
    /// channel), kernel, strides, dilations, paddings, activation, bias flag, channel groups
    /// of four, and a slot the caller may set (0 here).
    fn params(&self, multiplier: u32, activation: u32, has_bias: bool) -> Vec<u32> {
        vec![
            self.ih,
            self.iw,
            self.ic,
            self.n,
            self.oh,
            self.ow,
            self.oc,
            multiplier,
            self.kh,
            self.kw,
            self.sh,
            self.sw,
            self.dh,
            self.dw,
            self.pt as u32,
            self.pl as u32,
            activation,
            has_bias as u32,
            self.oc.div_ceil(4),
            0,
        ]
    }
}

fn wg_1d(total: usize) -> [u32; 3] {
    [total as u32, 1, 1]
}

fn flat_dispatch(
    file: ShaderFile,
    entry: &'static str,
    params: Vec<u32>,
    bindings: Vec<Binding>,
    total: usize,
) -> DispatchSpec {
    let row_slot = match entry {
        "binary" | "binary_same_shape" | "binary_same_shape_v4" | "binary_channels_v4" => 14,
        "unary" | "unary_v4" => 2,
        "mean" | "softmax" => 3,
        _ => 27,
    };
    DispatchSpec {
        file,
        entry,
        params,
        bindings,
        invocations: wg_1d(total),
        workgroup: [64, 1, 1],
        row_slot: Some(row_slot),
    }
}

fn f(x: f32) -> u32 {
    x.to_bits()
}

/// Lowers `view` for the GPU, or says why it cannot run there.
pub(crate) fn lower(view: &NodeView<'_>, limits: &LowerLimits) -> R<Lowered> {
    let lowered = lower_op(view, limits)?;
    let tanh = view.node.op.fused_activation() == Some(Activation::Tanh);
    match lowered {
        // The shared activation clamps only (a TANH case in it made every convolution kernel
        // two to three times slower to compile on lavapipe, and its invokes ~10% slower),
        // so a fused TANH runs after the op, in place on its output.
        Lowered::Dispatches(mut dispatches) if tanh => {
            let y = output(view, 0)?;
            dispatches.push(unary_on(view, limits, 5, 0.0, y, y)?);
            Ok(Lowered::Dispatches(dispatches))
        }
        lowered => Ok(lowered),
    }
}

/// The dispatches of one node, its fused activation clamped ([`act_code`]).
fn lower_op(view: &NodeView<'_>, limits: &LowerLimits) -> R<Lowered> {
    let op = &view.node.op;
    match op {
        Op::Conv2D(o) => {
            let (x, w, y) = (input(view, 0)?, input(view, 1)?, output(view, 0)?);
            let b = view.input(2);
            let bindings = weighted_bindings(view, limits, x, w, b, y)?;
            if w.constant.is_none() {
                return op_err(view, "the filter must be constant");
            }
            let [n, ih, iw, ic] = nhwc(view, x)?;
            let [oc, kh, kw, wc] = nhwc(view, w)?;
            let [_, oh, ow, yc] = nhwc(view, y)?;
            if wc != ic || yc != oc {
                return op_err(
                    view,
                    format!(
                        "filter {:?} does not fit input {:?} / output {:?}",
                        w.shape, x.shape, y.shape
                    ),
                );
            }
            let win = Window::new(
                o.padding,
                [o.stride_h, o.stride_w, o.dilation_h, o.dilation_w],
                [n, ih, iw, ic],
                [oh, ow, oc],
                [kh, kw],
            );
            let (sh, sw, dh, dw, pt, pl) = (win.sh, win.sw, win.dh, win.dw, win.pt, win.pl);
            let params = win.params(1, act_code(view, o.activation)?, b.is_some());
            let pointwise = kh == 1
                && kw == 1
                && sh == 1
                && sw == 1
                && pt == 0
                && pl == 0
                && oh == ih
                && ow == iw;
            let spec = if pointwise {
                // Register blocks measured on lavapipe (MobileNetV2's 1x1 layers). With
                // subgroups, 4 pixels x 32 channels, whose last block may be partial (a
                // layer of 24 or 144 channels runs no slower than with 8 x 8 or 8 x 16 blocks,
                // and one kernel compiles faster than three), or 4 x 16 up to 16 channels;
                // about 30% less time than the kernels without subgroups. Without them, 8 x 16
                // (about 8% less CPU than 8 x 8; 16 x 8, 4 x 16, 12 x 8 and 16 x 16 were no
                // better). Four input channels are read per vector load. The per-lane unrolled
                // kernels exist only in the module without subgroups. With `quick_compile`,
                // the smaller blocks only (4 x 16, 8 x 8).
                let pixels = n * oh * ow;
                let wide = !limits.quick_compile;
                let (file, entry, tp, tc) = match (ic % 4, oc % 16, oc % 4) {
                    (0, _, 0) if limits.subgroups && oc > 16 && wide => {
                        (ShaderFile::ConvSubgroup, "conv2d_1x1_sg_4x32", 4, 32)
                    }
                    (0, _, 0) if limits.subgroups => {
                        (ShaderFile::ConvSubgroup, "conv2d_1x1_sg_4x16", 4, 16)
                    }
                    (0, 0, _) if wide => (ShaderFile::Conv, "conv2d_1x1_v4_8x16", 8, 16),
                    (0, _, 0) => (ShaderFile::Conv, "conv2d_1x1_v4_8x8", 8, 8),
                    _ => (limits.conv_file(), "conv2d_1x1_tiled", 8, 8),
                };
                // For a fast single answer, the variant that adds a residual operand when the
                // uniforms have one: one kernel for the layers with and without a folded ADD.
                let entry = if limits.quick_compile {
                    any_residual(entry)
                } else {
                    entry
                };
                // Bindings 5 and 6, the residual operand of a folded ADD and the slopes of a
                // folded PRELU: none until [`fold_residual_add`] and [`fold_prelu`] give them.
                let mut bindings = bindings;
                bindings.extend([Binding::Dummy, Binding::Dummy]);
                DispatchSpec {
                    file,
                    entry,
                    params,
                    bindings,
                    invocations: [pixels.div_ceil(tp), oc.div_ceil(tc), 1],
                    workgroup: [64, 1, 1],
                    row_slot: None,
                }
            } else if kh == 3
                && kw == 3
                && ic == 3
                && dh == 1
                && dw == 1
                && oc % 8 == 0
                && !limits.quick_compile
            {
                // An RGB input layer: the filters are read as whole vectors; with subgroups each
                // lane loads a share of them and broadcasts it (lavapipe, MobileNetV2's stem:
                // 4.0 -> 1.6 ms for 16 channels per invocation, JIT 0.70 -> 0.53 s).
                let (file, entry, tc) = match (limits.subgroups, oc % 16) {
                    (true, 0) => (ShaderFile::ConvSubgroup, "conv2d_3x3_c3_sg_16", 16),
                    (true, _) => (ShaderFile::ConvSubgroup, "conv2d_3x3_c3_sg_8", 8),
                    (false, _) => (ShaderFile::Conv, "conv2d_3x3_c3", 8),
                };
                // The filter regrouped per block of `tc` output channels (see
                // [`FilterOrder::RgbBlocks`]): each product is then of whole filter vectors,
                // not of values gathered from four (JIT 650 -> 470 ms on lavapipe 22.3).
                // Bindings 5 and 6 as for the 1x1 kernels, whose stores these share: only a
                // PRELU is ever folded in ([`fold_prelu`]).
                let mut bindings = bindings;
                bindings[1] = Binding::Filter(w.id, FilterOrder::RgbBlocks(tc));
                bindings.extend([Binding::Dummy, Binding::Dummy]);
                DispatchSpec {
                    file,
                    entry,
                    params,
                    bindings,
                    invocations: [ow.div_ceil(4), oh, n * (oc / tc)],
                    workgroup: if file == ShaderFile::ConvSubgroup {
                        [32, 1, 1]
                    } else {
                        [8, 8, 1]
                    },
                    row_slot: None,
                }
            } else if limits.subgroups && !limits.quick_compile {
                // 16 output channels per invocation, two filter values loaded per lane and step
                // (palm_detection's 5x5 stem: 4.3 ms with 8 channels, 2.9 ms with 16). Bindings
                // 5 and 6 as for the RGB kernels above.
                let mut bindings = bindings;
                bindings.extend([Binding::Dummy, Binding::Dummy]);
                DispatchSpec {
                    file: ShaderFile::ConvSubgroup,
                    entry: "conv2d_tiled_sg",
                    params,
                    bindings,
                    invocations: [oh * ow.div_ceil(4), oc.div_ceil(16), n],
                    workgroup: [64, 1, 1],
                    row_slot: None,
                }
            } else {
                let mut bindings = bindings;
                bindings.extend([Binding::Dummy, Binding::Dummy]);
                DispatchSpec {
                    file: limits.conv_file(),
                    entry: "conv2d_tiled",
                    params,
                    bindings,
                    invocations: [ow.div_ceil(4), oh, n * oc.div_ceil(8)],
                    workgroup: [8, 8, 1],
                    row_slot: None,
                }
            };
            Ok(Lowered::Dispatches(vec![spec]))
        }
        Op::DepthwiseConv2D(o) => {
            let (x, w, y) = (input(view, 0)?, input(view, 1)?, output(view, 0)?);
            let b = view.input(2);
            let bindings = weighted_bindings(view, limits, x, w, b, y)?;
            if w.constant.is_none() {
                return op_err(view, "the filter must be constant");
            }
            let [n, ih, iw, ic] = nhwc(view, x)?;
            let [one, kh, kw, wc] = nhwc(view, w)?;
            let [_, oh, ow, oc] = nhwc(view, y)?;
            if one != 1 || wc != oc || ic == 0 || oc % ic != 0 {
                return op_err(
                    view,
                    format!(
                        "filter {:?} does not fit input {:?} / output {:?}",
                        w.shape, x.shape, y.shape
                    ),
                );
            }
            let win = Window::new(
                o.padding,
                [o.stride_h, o.stride_w, o.dilation_h, o.dilation_w],
                [n, ih, iw, ic],
                [oh, ow, oc],
                [kh, kw],
            );
            let (sh, sw, dh, dw) = (win.sh, win.sw, win.dh, win.dw);
            let groups = oc.div_ceil(4);
            let params = win.params(oc / ic, act_code(view, o.activation)?, b.is_some());
            let three = kh == 3
                && kw == 3
                && dh == 1
                && dw == 1
                && oc == ic
                && sh == sw
                && (sh == 1 || sh == 2);
            // 5x5 at stride 1 or 2, dilation 1: the kernels that load each input column once.
            let five = kh == 5 && kw == 5 && sh == sw && dh == 1 && dw == 1;
            // With `quick_compile`, only the general kernels.
            let (three, five) = (
                three && !limits.quick_compile,
                five && !limits.quick_compile,
            );
            // Whole vectors of four channels: one vector load costs about one scalar load. The
            // vector kernels put channel vectors across lanes (x), so the 7x7 and 14x14 layers
            // keep every lane busy (with columns across lanes, a 7-wide row left 6 of 8 idle).
            let v4 = oc % 4 == 0;
            let (entry, invocations) = match (three, sh) {
                (true, 1) if v4 => (
                    "depthwise3x3_s1_v4",
                    [groups, ow.div_ceil(4), n * oh.div_ceil(2)],
                ),
                (true, _) if v4 => (
                    "depthwise3x3_s2_v4",
                    [groups, ow.div_ceil(4), n * oh.div_ceil(2)],
                ),
                (true, 1) => (
                    "depthwise3x3_s1",
                    [ow.div_ceil(4), oh.div_ceil(2), n * groups],
                ),
                (true, _) => ("depthwise3x3_s2", [ow.div_ceil(4), oh, n * groups]),
                _ if v4 && oc == ic && five && sh == 1 => (
                    "depthwise5x5_s1_v4",
                    [groups, ow.div_ceil(4), n * oh.div_ceil(2)],
                ),
                _ if v4 && oc == ic && five && sh == 2 => (
                    "depthwise5x5_s2_v4",
                    [groups, ow.div_ceil(4), n * oh.div_ceil(2)],
                ),
                _ if v4 && oc == ic => ("depthwise_v4", [groups, ow.div_ceil(4), n * oh]),
                _ => ("depthwise_conv2d", [ow, oh, n * groups]),
            };
            Ok(Lowered::Dispatches(vec![DispatchSpec {
                file: limits.conv_file(),
                entry,
                params,
                bindings,
                invocations,
                workgroup: [8, 8, 1],
                row_slot: None,
            }]))
        }
        Op::FullyConnected(o) => {
            let (x, w, y) = (input(view, 0)?, input(view, 1)?, output(view, 0)?);
            let b = view.input(2);
            let bindings = weighted_bindings(view, limits, x, w, b, y)?;
            if o.weights_format != 0 {
                return op_err(view, "only the DEFAULT weights format is supported");
            }
            if w.constant.is_none() || w.shape.len() != 2 {
                return op_err(view, "weights must be a constant [out, in] matrix");
            }
            let (out, inn) = (w.shape[0] as u32, w.shape[1] as u32);
            if inn == 0 || !numel(x.shape).is_multiple_of(inn as usize) {
                return op_err(
                    view,
                    format!("input {:?} is not a whole number of rows of {inn}", x.shape),
                );
            }
            let rows = (numel(x.shape) / inn as usize) as u32;
            if numel(y.shape) != (rows * out) as usize {
                return op_err(
                    view,
                    format!("output {:?} does not hold {rows} x {out}", y.shape),
                );
            }
            let groups = out.div_ceil(4);
            let params = vec![
                1,
                1,
                inn,
                rows,
                1,
                1,
                out,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                0,
                0,
                act_code(view, o.activation)?,
                b.is_some() as u32,
                groups,
                0,
            ];
            Ok(Lowered::Dispatches(vec![DispatchSpec {
                file: limits.conv_file(),
                entry: if inn % 4 == 0 && out % 4 == 0 {
                    "fully_connected_v4"
                } else {
                    "fully_connected"
                },
                params,
                bindings,
                invocations: [groups, rows, 1],
                workgroup: [64, 1, 1],
                row_slot: None,
            }]))
        }
        Op::TransposeConv(_) | Op::Conv2DTransposeBias { .. } => {
            let (x, w, b, padding, sh, sw, act) = match op {
                Op::TransposeConv(o) => (
                    input(view, 2)?,
                    input(view, 1)?,
                    view.input(3),
                    o.padding,
                    o.stride_h,
                    o.stride_w,
                    o.activation,
                ),
                Op::Conv2DTransposeBias {
                    padding,
                    stride_w,
                    stride_h,
                } => (
                    input(view, 0)?,
                    input(view, 1)?,
                    view.input(2),
                    *padding,
                    *stride_h,
                    *stride_w,
                    Activation::None,
                ),
                _ => unreachable!("matched above"),
            };
            let y = output(view, 0)?;
            let bindings = weighted_bindings(view, limits, x, w, b, y)?;
            if w.constant.is_none() {
                return op_err(view, "the filter must be constant");
            }
            let [n, ih, iw, ic] = nhwc(view, x)?;
            let [oc, kh, kw, wc] = nhwc(view, w)?;
            let [_, oh, ow, yc] = nhwc(view, y)?;
            if wc != ic || yc != oc {
                return op_err(
                    view,
                    format!(
                        "filter {:?} does not fit input {:?} / output {:?}",
                        w.shape, x.shape, y.shape
                    ),
                );
            }
            let (sh, sw) = (sh.max(1) as u32, sw.max(1) as u32);
            // Padding as TFLite computes it: a forward convolution from the output to the input.
            let pt = if padding == Padding::Same {
                pad_before(padding, oh, ih, sh, kh)
            } else {
                0
            };
            let pl = if padding == Padding::Same {
                pad_before(padding, ow, iw, sw, kw)
            } else {
                0
            };
            let groups = oc.div_ceil(4);
            let win = Window {
                n,
                ih,
                iw,
                ic,
                oh,
                ow,
                oc,
                kh,
                kw,
                sh,
                sw,
                dh: 1,
                dw: 1,
                pt,
                pl,
            };
            let params = win.params(1, act_code(view, act)?, b.is_some());
            Ok(Lowered::Dispatches(vec![DispatchSpec {
                file: limits.conv_file(),
                // Four input channels per load where they allow.
                entry: if ic % 4 == 0 {
                    "transpose_conv_v4"
                } else {
                    "transpose_conv"
                },
                params,
                bindings,
                invocations: [ow, oh, n * groups],
                workgroup: [8, 8, 1],
                row_slot: None,
            }]))
        }
        Op::Add(a) | Op::Sub(a) | Op::Mul(a) | Op::Div(a) => {
            let code = match op {
                Op::Add(_) => 0,
                Op::Sub(_) => 1,
                Op::Mul(_) => 2,
                _ => 3,
            };
            binary(view, limits, code, act_code(view, *a)?)
        }
        Op::Maximum => binary(view, limits, 4, 0),
        Op::Minimum => binary(view, limits, 5, 0),
        Op::SquaredDifference => binary(view, limits, 6, 0),
        Op::Prelu => binary(view, limits, 7, 0),
        Op::Relu => unary(view, limits, 0, 0.0),
        Op::Relu6 => unary(view, limits, 1, 0.0),
        Op::ReluN1To1 => unary(view, limits, 2, 0.0),
        Op::LeakyRelu { alpha } => unary(view, limits, 3, *alpha),
        Op::Logistic => unary(view, limits, 4, 0.0),
        Op::Tanh => unary(view, limits, 5, 0.0),
        Op::HardSwish => unary(view, limits, 6, 0.0),
        Op::Exp => unary(view, limits, 7, 0.0),
        Op::Abs => unary(view, limits, 8, 0.0),
        Op::Sqrt => unary(view, limits, 9, 0.0),
        Op::Rsqrt => unary(view, limits, 10, 0.0),
        Op::MaxPool2D(o) | Op::AveragePool2D(o) => {
            let (x, y) = (input(view, 0)?, output(view, 0)?);
            check_tensors(view, limits, &[x, y])?;
            let [n, ih, iw, c] = nhwc(view, x)?;
            let [_, oh, ow, yc] = nhwc(view, y)?;
            if yc != c {
                return op_err(view, "pooling changes the channel count");
            }
            let (kh, kw, sh, sw) = (
                o.filter_h.max(1) as u32,
                o.filter_w.max(1) as u32,
                o.stride_h.max(1) as u32,
                o.stride_w.max(1) as u32,
            );
            let pt = pad_before(o.padding, ih, oh, sh, kh);
            let pl = pad_before(o.padding, iw, ow, sw, kw);
            let params = vec![
                ih,
                iw,
                c,
                n,
                oh,
                ow,
                kh,
                kw,
                sh,
                sw,
                pt as u32,
                pl as u32,
                act_code(view, o.activation)?,
                0,
                0,
                0,
            ];
            // Vectors of four channels across the lanes where the channels allow.
            let max = matches!(op, Op::MaxPool2D(_));
            let (entry, invocations) = match (c % 4, max) {
                (0, true) => ("max_pool_v4", [c / 4, ow, n * oh]),
                (0, false) => ("avg_pool_v4", [c / 4, ow, n * oh]),
                (_, true) => ("max_pool", [ow, oh, n * c]),
                (_, false) => ("avg_pool", [ow, oh, n * c]),
            };
            Ok(Lowered::Dispatches(vec![DispatchSpec {
                file: ShaderFile::Pool,
                entry,
                params,
                bindings: vec![Binding::Tensor(x.id), Binding::Tensor(y.id)],
                invocations,
                workgroup: [8, 8, 1],
                row_slot: None,
            }]))
        }
        Op::Mean { .. } => {
            let (x, axes, y) = (input(view, 0)?, input(view, 1)?, output(view, 0)?);
            check_tensors(view, limits, &[x, y])?;
            let Some(axes) = const_ints(axes) else {
                return op_err(view, "axes must be a constant int32 tensor");
            };
            let rank = x.shape.len() as i64;
            let mut axes: Vec<usize> = axes
                .iter()
                .map(|&a| if a < 0 { a + rank } else { a })
                .filter(|&a| (0..rank).contains(&a))
                .map(|a| a as usize)
                .collect();
            axes.sort_unstable();
            axes.dedup();
            if axes.is_empty() || axes.windows(2).any(|w| w[1] != w[0] + 1) {
                return op_err(view, format!("axes {axes:?} are not one contiguous block"));
            }
            let outer: usize = x.shape[..axes[0]].iter().product();
            let reduced: usize = axes.iter().map(|&a| x.shape[a]).product();
            let inner: usize = x.shape[axes[axes.len() - 1] + 1..].iter().product();
            if numel(y.shape) != outer * inner || reduced == 0 {
                return op_err(
                    view,
                    format!(
                        "output {:?} does not match reducing {:?} over {axes:?}",
                        y.shape, x.shape
                    ),
                );
            }
            Ok(Lowered::Dispatches(vec![flat_dispatch(
                ShaderFile::Reduce,
                "mean",
                vec![
                    outer as u32,
                    reduced as u32,
                    inner as u32,
                    0,
                    f(0.0),
                    0,
                    0,
                    0,
                ],
                vec![Binding::Tensor(x.id), Binding::Tensor(y.id)],
                outer * inner,
            )]))
        }
        Op::Softmax { beta } => {
            let (x, y) = (input(view, 0)?, output(view, 0)?);
            check_tensors(view, limits, &[x, y])?;
            let last = *x.shape.last().unwrap_or(&1);
            if last == 0 {
                return op_err(view, "empty last axis");
            }
            let outer = numel(x.shape) / last;
            Ok(Lowered::Dispatches(vec![flat_dispatch(
                ShaderFile::Reduce,
                "softmax",
                vec![outer as u32, last as u32, 1, 0, f(*beta), 0, 0, 0],
                vec![Binding::Tensor(x.id), Binding::Tensor(y.id)],
                outer,
            )]))
        }
        Op::Reshape | Op::Squeeze { .. } => {
            let (x, y) = (input(view, 0)?, output(view, 0)?);
            check_tensors(view, limits, &[x, y])?;
            if numel(x.shape) != numel(y.shape) {
                return op_err(view, "element counts differ");
            }
            if x.constant.is_some() {
                return op_err(view, "reshaping a constant is folded on the CPU");
            }
            Ok(Lowered::Alias {
                input: x.id,
                output: y.id,
            })
        }
        Op::Concatenation { axis, activation } => {
            if *activation != Activation::None {
                return op_err(view, "a fused activation on CONCATENATION is not supported");
            }
            let y = output(view, 0)?;
            let rank = y.shape.len();
            let axis = if *axis < 0 {
                *axis + rank as i32
            } else {
                *axis
            };
            if axis < 0 || axis as usize >= rank {
                return op_err(view, format!("axis {axis} out of range for rank {rank}"));
            }
            let axis = axis as usize;
            let dst = contiguous_strides(y.shape);
            let mut offset = 0usize;
            let mut dispatches = Vec::new();
            for t in view.inputs.iter().flatten() {
                check_tensors(view, limits, &[t, y])?;
                if t.shape.len() != rank {
                    return op_err(view, "inputs differ in rank");
                }
                let src = contiguous_strides(t.shape);
                let dims: Vec<usize> = t.shape.to_vec();
                dispatches.push(copy_spec(
                    &dims,
                    &src,
                    0,
                    &dst,
                    (offset * dst[axis]) as i64,
                    t.id,
                    y.id,
                ));
                offset += t.shape[axis];
            }
            if offset != y.shape[axis] {
                return op_err(
                    view,
                    "input sizes along the axis do not add up to the output",
                );
            }
            Ok(Lowered::Dispatches(dispatches))
        }
        Op::Pad | Op::PadV2 => {
            let (x, pads, y) = (input(view, 0)?, input(view, 1)?, output(view, 0)?);
            check_tensors(view, limits, &[x, y])?;
            let Some(p) = const_ints(pads) else {
                return op_err(view, "paddings must be constant");
            };
            let rank = x.shape.len();
            if p.len() != 2 * rank || y.shape.len() != rank {
                return op_err(view, "paddings do not match the input's rank");
            }
            let value = match (op, view.input(2)) {
                (Op::PadV2, Some(v)) => match const_f32_scalar(v) {
                    Some(v) => v,
                    None => return op_err(view, "the pad value must be a float constant"),
                },
                _ => 0.0,
            };
            let lead = 6 - rank.min(6);
            let mut d = [1u32; 8];
            let mut before = [0u32; 8];
            let mut src = [1u32; 8];
            for k in 0..rank {
                if p[2 * k] < 0
                    || p[2 * k + 1] < 0
                    || x.shape[k] as i64 + p[2 * k] + p[2 * k + 1] != y.shape[k] as i64
                {
                    return op_err(view, "paddings do not match the output shape");
                }
                d[lead + k] = y.shape[k] as u32;
                before[lead + k] = p[2 * k] as u32;
                src[lead + k] = x.shape[k] as u32;
            }
            if rank > 6 {
                return op_err(view, "rank above 6");
            }
            let total = numel(y.shape);
            let mut params = Vec::with_capacity(28);
            params.extend_from_slice(&d);
            params.extend_from_slice(&before);
            params.extend_from_slice(&src);
            params.extend_from_slice(&[total as u32, 0, f(value), 0]);
            let mut spec = flat_dispatch(
                ShaderFile::Copy,
                "pad",
                params,
                vec![Binding::Tensor(x.id), Binding::Tensor(y.id)],
                total,
            );
            spec.row_slot = Some(25);
            Ok(Lowered::Dispatches(vec![spec]))
        }
        Op::Transpose => {
            let (x, perm, y) = (input(view, 0)?, input(view, 1)?, output(view, 0)?);
            check_tensors(view, limits, &[x, y])?;
            let Some(perm) = const_ints(perm) else {
                return op_err(view, "the permutation must be constant");
            };
            let rank = x.shape.len();
            let mut seen = vec![false; rank];
            if perm.len() != rank
                || perm.iter().any(|&a| {
                    a < 0 || a as usize >= rank || std::mem::replace(&mut seen[a as usize], true)
                })
            {
                return op_err(view, format!("invalid permutation {perm:?}"));
            }
            let src = contiguous_strides(x.shape);
            let dims: Vec<usize> = perm.iter().map(|&a| x.shape[a as usize]).collect();
            if dims != y.shape {
                return op_err(view, "output shape does not match the permutation");
            }
            let sstr: Vec<usize> = perm.iter().map(|&a| src[a as usize]).collect();
            Ok(Lowered::Dispatches(vec![copy_spec(
                &dims,
                &sstr,
                0,
                &contiguous_strides(y.shape),
                0,
                x.id,
                y.id,
            )]))
        }
        Op::Slice => {
            let (x, begin, size, y) = (
                input(view, 0)?,
                input(view, 1)?,
                input(view, 2)?,
                output(view, 0)?,
            );
            check_tensors(view, limits, &[x, y])?;
            let (Some(b), Some(s)) = (const_ints(begin), const_ints(size)) else {
                return op_err(view, "begin and size must be constant");
            };
            let rank = x.shape.len();
            if b.len() != rank || s.len() != rank {
                return op_err(view, "begin/size do not match the input's rank");
            }
            let mut dims = Vec::with_capacity(rank);
            let mut base = 0i64;
            let src = contiguous_strides(x.shape);
            for k in 0..rank {
                let len = if s[k] < 0 {
                    x.shape[k] as i64 - b[k]
                } else {
                    s[k]
                };
                if b[k] < 0 || len < 0 || b[k] + len > x.shape[k] as i64 {
                    return op_err(view, "slice out of range");
                }
                dims.push(len as usize);
                base += b[k] * src[k] as i64;
            }
            if dims != y.shape {
                return op_err(view, "output shape does not match the slice");
            }
            let sstr: Vec<i64> = src.iter().map(|&s| s as i64).collect();
            Ok(Lowered::Dispatches(vec![copy_spec_signed(
                &dims,
                &sstr,
                base,
                &contiguous_strides(y.shape),
                0,
                x.id,
                y.id,
            )]))
        }
        Op::StridedSlice(o) => {
            let (x, begin, end, strides, y) = (
                input(view, 0)?,
                input(view, 1)?,
                input(view, 2)?,
                input(view, 3)?,
                output(view, 0)?,
            );
            check_tensors(view, limits, &[x, y])?;
            if o.ellipsis_mask != 0 || o.new_axis_mask != 0 {
                return op_err(view, "ellipsis and new-axis masks are not supported");
            }
            let (Some(b), Some(e), Some(s)) =
                (const_ints(begin), const_ints(end), const_ints(strides))
            else {
                return op_err(view, "begin, end and strides must be constant");
            };
            let rank = x.shape.len();
            if b.len() != rank || e.len() != rank || s.len() != rank {
                return op_err(view, "begin/end/strides do not match the input's rank");
            }
            let src = contiguous_strides(x.shape);
            let mut dims = Vec::with_capacity(rank);
            let mut sstr = Vec::with_capacity(rank);
            let mut base = 0i64;
            for k in 0..rank {
                let dim = x.shape[k] as i64;
                let st = s[k];
                if st == 0 {
                    return op_err(view, "a stride is zero");
                }
                let bit = |m: i32| m & (1 << k) != 0;
                let norm = |v: i64| if v < 0 { v + dim } else { v };
                let start = if bit(o.begin_mask) {
                    if st > 0 {
                        0
                    } else {
                        dim - 1
                    }
                } else if st > 0 {
                    norm(b[k]).clamp(0, dim)
                } else {
                    norm(b[k]).clamp(-1, dim - 1)
                };
                let mut stop = if bit(o.end_mask) {
                    if st > 0 {
                        dim
                    } else {
                        -1
                    }
                } else if o.offset {
                    start + e[k]
                } else if st > 0 {
                    norm(e[k]).clamp(0, dim)
                } else {
                    norm(e[k]).clamp(-1, dim - 1)
                };
                if bit(o.shrink_axis_mask) {
                    stop = start + 1;
                }
                let count = if st > 0 {
                    (stop - start + st - 1).div_euclid(st).max(0)
                } else {
                    (start - stop + (-st) - 1).div_euclid(-st).max(0)
                };
                dims.push(count as usize);
                sstr.push(st * src[k] as i64);
                base += start.max(0) * src[k] as i64;
            }
            if numel(&dims) != numel(y.shape) {
                return op_err(
                    view,
                    format!(
                        "the slice has {} elements, the output {:?}",
                        numel(&dims),
                        y.shape
                    ),
                );
            }
            Ok(Lowered::Dispatches(vec![copy_spec_signed(
                &dims,
                &sstr,
                base,
                &contiguous_strides(&dims),
                0,
                x.id,
                y.id,
            )]))
        }
        Op::ResizeBilinear(r) | Op::ResizeNearestNeighbor(r) => {
            let (x, y) = (input(view, 0)?, output(view, 0)?);
            check_tensors(view, limits, &[x, y])?;
            let bilinear = matches!(op, Op::ResizeBilinear(_));
            if bilinear && r.align_corners && r.half_pixel_centers {
                return op_err(
                    view,
                    "align_corners together with half_pixel_centers is not supported",
                );
            }
            let [n, ih, iw, c] = nhwc(view, x)?;
            let [_, oh, ow, yc] = nhwc(view, y)?;
            if yc != c {
                return op_err(view, "resizing changes the channel count");
            }
            let scale = |i: u32, o: u32| {
                if r.align_corners && o > 1 {
                    (i as f32 - 1.0) / (o as f32 - 1.0)
                } else {
                    i as f32 / o as f32
                }
            };
            let params = vec![
                ih,
                iw,
                c,
                n,
                oh,
                ow,
                r.align_corners as u32,
                r.half_pixel_centers as u32,
                f(scale(ih, oh)),
                f(scale(iw, ow)),
                0,
                0,
            ];
            // Vectors of four channels across the lanes where the channels allow.
            let (entry, invocations) = match (c % 4, bilinear) {
                (0, true) => ("bilinear_v4", [c / 4, ow, n * oh]),
                (0, false) => ("nearest_v4", [c / 4, ow, n * oh]),
                (_, true) => ("bilinear", [ow, oh, n * c]),
                (_, false) => ("nearest", [ow, oh, n * c]),
            };
            Ok(Lowered::Dispatches(vec![DispatchSpec {
                file: ShaderFile::Resize,
                entry,
                params,
                bindings: vec![Binding::Tensor(x.id), Binding::Tensor(y.id)],
                invocations,
                workgroup: [8, 8, 1],
                row_slot: None,
            }]))
        }
        Op::DepthToSpace { block_size } => {
            let (x, y) = (input(view, 0)?, output(view, 0)?);
            check_tensors(view, limits, &[x, y])?;
            let [n, h, w, c] = nhwc(view, x)?;
            let b = (*block_size).max(1) as u32;
            if c % (b * b) != 0 {
                return op_err(view, "channels are not a multiple of block_size^2");
            }
            let oc = c / (b * b);
            if y.shape != [n as usize, (h * b) as usize, (w * b) as usize, oc as usize] {
                return op_err(view, "output shape does not match block_size");
            }
            let (n, h, w, b, oc) = (n as usize, h as usize, w as usize, b as usize, oc as usize);
            let dims = [n, h, w, b, b, oc];
            let src = contiguous_strides(&dims);
            let (ow, oh) = (w * b, h * b);
            let dst = [oh * ow * oc, b * ow * oc, b * oc, ow * oc, oc, 1];
            Ok(Lowered::Dispatches(vec![copy_spec(
                &dims, &src, 0, &dst, 0, x.id, y.id,
            )]))
        }
        other => Err(format!("{} has no GPU kernel", other.name())),
    }
}

/// The 1x1, general and RGB convolution kernels and their variants with an epilogue, by the
/// bits of the shaders' `EPI_RESIDUAL` (1: adds a residual operand, binding 5 and params word
/// 19) and `EPI_PRELU` (2: applies PRELU slopes, binding 6); "" where there is no such variant.
/// Each is a separate entry point, so the kernels without an epilogue keep no branch for it in
/// their stores; except the 1x1 kernels' `_any` ones (for a fast single answer), which read
/// from params word 19 whether to add the residual, so one kernel serves both kinds of layer.
const EPILOGUE_ENTRIES: [[&str; 4]; 15] = [
    [
        "conv2d_1x1_sg_4x32",
        "conv2d_1x1_sg_4x32_res",
        "conv2d_1x1_sg_4x32_prelu",
        "conv2d_1x1_sg_4x32_res_prelu",
    ],
    [
        "conv2d_1x1_sg_4x16",
        "conv2d_1x1_sg_4x16_res",
        "conv2d_1x1_sg_4x16_prelu",
        "conv2d_1x1_sg_4x16_res_prelu",
    ],
    [
        "conv2d_1x1_v4_8x16",
        "conv2d_1x1_v4_8x16_res",
        "conv2d_1x1_v4_8x16_prelu",
        "conv2d_1x1_v4_8x16_res_prelu",
    ],
    [
        "conv2d_1x1_v4_8x8",
        "conv2d_1x1_v4_8x8_res",
        "conv2d_1x1_v4_8x8_prelu",
        "conv2d_1x1_v4_8x8_res_prelu",
    ],
    [
        "conv2d_1x1_tiled",
        "conv2d_1x1_tiled_res",
        "conv2d_1x1_tiled_prelu",
        "conv2d_1x1_tiled_res_prelu",
    ],
    [
        "conv2d_1x1_sg_4x32_any",
        "conv2d_1x1_sg_4x32_any",
        "conv2d_1x1_sg_4x32_any_prelu",
        "conv2d_1x1_sg_4x32_any_prelu",
    ],
    [
        "conv2d_1x1_sg_4x16_any",
        "conv2d_1x1_sg_4x16_any",
        "conv2d_1x1_sg_4x16_any_prelu",
        "conv2d_1x1_sg_4x16_any_prelu",
    ],
    [
        "conv2d_1x1_v4_8x16_any",
        "conv2d_1x1_v4_8x16_any",
        "conv2d_1x1_v4_8x16_any_prelu",
        "conv2d_1x1_v4_8x16_any_prelu",
    ],
    [
        "conv2d_1x1_v4_8x8_any",
        "conv2d_1x1_v4_8x8_any",
        "conv2d_1x1_v4_8x8_any_prelu",
        "conv2d_1x1_v4_8x8_any_prelu",
    ],
    [
        "conv2d_1x1_tiled_any",
        "conv2d_1x1_tiled_any",
        "conv2d_1x1_tiled_any_prelu",
        "conv2d_1x1_tiled_any_prelu",
    ],
    ["conv2d_tiled_sg", "", "conv2d_tiled_sg_prelu", ""],
    ["conv2d_tiled", "", "conv2d_tiled_prelu", ""],
    ["conv2d_3x3_c3_sg_16", "", "conv2d_3x3_c3_sg_16_prelu", ""],
    ["conv2d_3x3_c3_sg_8", "", "conv2d_3x3_c3_sg_8_prelu", ""],
    ["conv2d_3x3_c3", "", "conv2d_3x3_c3_prelu", ""],
];

/// The `_any` variant of the 1x1 kernel `entry` (see [`EPILOGUE_ENTRIES`]); `entry` itself
/// when it has none.
fn any_residual(entry: &'static str) -> &'static str {
    EPILOGUE_ENTRIES
        .iter()
        .find(|row| row[0].strip_suffix("_any") == Some(entry))
        .map_or(entry, |row| row[0])
}

/// Bit of [`EPILOGUE_ENTRIES`]' index: the residual ADD.
const EPI_RESIDUAL: usize = 1;
/// Bit of [`EPILOGUE_ENTRIES`]' index: the PRELU.
const EPI_PRELU: usize = 2;

/// Switches the 1x1 kernel `conv` to its variant that also does `epilogue` (a bit of
/// [`EPILOGUE_ENTRIES`]' index), keeping what it did before; false when it has no such variant
/// or already does it.
fn add_epilogue(conv: &mut DispatchSpec, epilogue: usize) -> bool {
    let found = EPILOGUE_ENTRIES.iter().find_map(|row| {
        let i = row.iter().position(|e| *e == conv.entry)?;
        (i & epilogue == 0 && !row[i | epilogue].is_empty()).then(|| row[i | epilogue])
    });
    match found {
        Some(entry) if conv.bindings.len() == 6 => {
            conv.entry = entry;
            true
        }
        _ => false,
    }
}

/// Index of the residual word in the convolutions' params: 1 + the ADD's activation code in
/// bits 0..4, the residual operand's channel count above.
const RESIDUAL_PARAM: usize = 19;

/// Folds `y = add(conv, residual)` (same shapes, the ADD's fused activation `act`) into the
/// lowered convolution `conv`: it then writes `y` and adds `residual` (read at the output's
/// index) after its own activation, then applies `act`. With `channels`, `residual` has only
/// that many channels (a PAD of its channels at their end, with zeros, folded in: the channels
/// past them add zero). Returns false, leaving `conv` as it was, when its kernel has no
/// residual epilogue or cannot read such a residual (the vector kernels need a multiple of 4
/// channels).
pub(crate) fn fold_residual_add(
    conv: &mut DispatchSpec,
    residual: TensorId,
    channels: Option<usize>,
    y: TensorId,
    act: Activation,
) -> bool {
    let Some(code) = clamp_code(act) else {
        return false;
    };
    // The output's channel count (params word 6).
    let Some(&out_c) = conv.params.get(6) else {
        return false;
    };
    let channels = match channels.map(u32::try_from) {
        None => out_c,
        Some(Ok(c)) => c,
        Some(Err(_)) => return false,
    };
    let vector = !conv.entry.starts_with("conv2d_1x1_tiled");
    if !matches!(conv.file, ShaderFile::Conv | ShaderFile::ConvSubgroup)
        || conv.params.get(RESIDUAL_PARAM) != Some(&0)
        || channels == 0
        || channels > out_c
        || channels >= 1 << 27
        || (vector && channels % 4 != 0)
        || !add_epilogue(conv, EPI_RESIDUAL)
    {
        return false;
    }
    conv.params[RESIDUAL_PARAM] = (1 + code) | channels << 4;
    conv.bindings[3] = Binding::Tensor(y);
    conv.bindings[4] = Binding::Tensor(residual);
    true
}

/// Folds `y = PRELU(x, alpha)`, where the lowered convolution `conv` (1x1, general or RGB)
/// writes `x` (its own output or a folded ADD's) and `alpha` holds one slope per output
/// channel (`channels` of them, broadcast over the pixels), into `conv`: it then writes `y`,
/// applying the PRELU after everything it did before. Returns false, leaving `conv` as it was, when its kernel has no
/// PRELU epilogue or the slopes are not one per channel.
pub(crate) fn fold_prelu(
    conv: &mut DispatchSpec,
    alpha: TensorId,
    channels: usize,
    y: TensorId,
) -> bool {
    let out_c = conv.params.get(6).map(|&c| c as usize);
    if out_c != Some(channels) || !add_epilogue(conv, EPI_PRELU) {
        return false;
    }
    conv.bindings[3] = Binding::Tensor(y);
    conv.bindings[5] = Binding::Tensor(alpha);
    true
}

/// The convolution kernels that read their input through `Conv`'s padding (zeros outside the
/// input, offset by `pad_top` / `pad_left`): everything but the 1x1 and transposed kernels.
const PADDING_ENTRIES: [&str; 13] = [
    "conv2d_tiled",
    "conv2d_tiled_sg",
    "conv2d_3x3_c3",
    "conv2d_3x3_c3_sg_8",
    "conv2d_3x3_c3_sg_16",
    "depthwise_conv2d",
    "depthwise_v4",
    "depthwise5x5_s1_v4",
    "depthwise5x5_s2_v4",
    "depthwise3x3_s1",
    "depthwise3x3_s2",
    "depthwise3x3_s1_v4",
    "depthwise3x3_s2_v4",
];

/// Folds a zero PAD of the height and width of the lowered convolution's input (`top` and
/// `left` rows and columns before, any number after) into `conv`: it then reads the PAD's input
/// `x`, `h` x `w` pixels, with its own padding grown by `top` and `left`, and the zeros past
/// `x`'s edges are the ones the PAD would have written. Returns false, leaving `conv` as it
/// was, when its kernel does not pad (the 1x1 kernels) or the padding does not fit.
pub(crate) fn fold_spatial_pad(
    conv: &mut DispatchSpec,
    x: TensorId,
    [h, w]: [usize; 2],
    [top, left]: [usize; 2],
) -> bool {
    let grown = |word: usize, by: usize| {
        let old = conv.params.get(word).map(|&v| v as i32)?;
        let by = i32::try_from(by).ok()?;
        old.checked_add(by).filter(|v| *v < 1 << 24)
    };
    let (Some(pt), Some(pl)) = (grown(PAD_TOP_PARAM, top), grown(PAD_TOP_PARAM + 1, left)) else {
        return false;
    };
    let (Ok(h), Ok(w)) = (u32::try_from(h), u32::try_from(w)) else {
        return false;
    };
    if !PADDING_ENTRIES.contains(&conv.entry) || conv.bindings.is_empty() {
        return false;
    }
    conv.params[0] = h;
    conv.params[1] = w;
    conv.params[PAD_TOP_PARAM] = pt as u32;
    conv.params[PAD_TOP_PARAM + 1] = pl as u32;
    conv.bindings[0] = Binding::Tensor(x);
    true
}

/// Index of `pad_top` in the convolutions' params (`pad_left` follows).
const PAD_TOP_PARAM: usize = 14;

/// Folds a standalone activation `act` that reads the output of the lowered convolution or
/// depthwise convolution `conv` (which has none) into it: it then applies `act` and writes the
/// activation's output `y`. Returns false, leaving `conv` as it was, when it is not such a
/// dispatch or has an activation already.
pub(crate) fn fold_activation(conv: &mut DispatchSpec, y: TensorId, act: Activation) -> bool {
    let Some(code) = clamp_code(act).filter(|&code| code != 0) else {
        return false;
    };
    let convolution = conv.entry.starts_with("conv2d_") || conv.entry.starts_with("depthwise");
    if !matches!(conv.file, ShaderFile::Conv | ShaderFile::ConvSubgroup)
        || !convolution
        || conv.bindings.len() < 4
        || conv.params.get(ACT_PARAM) != Some(&0)
    {
        return false;
    }
    conv.params[ACT_PARAM] = code;
    conv.bindings[3] = Binding::Tensor(y);
    true
}

/// Index of the fused activation's code in the convolutions' params.
const ACT_PARAM: usize = 16;

fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for k in (0..shape.len().saturating_sub(1)).rev() {
        s[k] = s[k + 1] * shape[k + 1];
    }
    s
}

fn copy_spec(
    dims: &[usize],
    src: &[usize],
    src_base: i64,
    dst: &[usize],
    dst_base: i64,
    from: TensorId,
    to: TensorId,
) -> DispatchSpec {
    let s: Vec<i64> = src.iter().map(|&v| v as i64).collect();
    let t: Vec<i64> = dst.iter().map(|&v| v as i64).collect();
    copy_spec_full(dims, &s, src_base, &t, dst_base, from, to)
}

fn copy_spec_signed(
    dims: &[usize],
    src: &[i64],
    src_base: i64,
    dst: &[usize],
    dst_base: i64,
    from: TensorId,
    to: TensorId,
) -> DispatchSpec {
    let t: Vec<i64> = dst.iter().map(|&v| v as i64).collect();
    copy_spec_full(dims, src, src_base, &t, dst_base, from, to)
}

/// The strided copy over up to six dimensions (leading dimensions padded with size 1).
fn copy_spec_full(
    dims: &[usize],
    src: &[i64],
    src_base: i64,
    dst: &[i64],
    dst_base: i64,
    from: TensorId,
    to: TensorId,
) -> DispatchSpec {
    let pad = 6 - dims.len().min(6);
    let mut d = [1u32; 8];
    let mut s = [0i32; 8];
    let mut t = [0i32; 8];
    for k in 0..dims.len().min(6) {
        d[pad + k] = dims[k] as u32;
        s[pad + k] = src[k] as i32;
        t[pad + k] = dst[k] as i32;
    }
    let mut params = Vec::with_capacity(28);
    params.extend_from_slice(&d);
    params.extend(s.iter().map(|&v| v as u32));
    params.extend(t.iter().map(|&v| v as u32));
    let total: usize = dims.iter().product();
    params.extend_from_slice(&[
        src_base as i32 as u32,
        dst_base as i32 as u32,
        total as u32,
        0,
    ]);
    flat_dispatch(
        ShaderFile::Copy,
        "strided_copy",
        params,
        vec![Binding::Tensor(from), Binding::Tensor(to)],
        total,
    )
}

fn padded4(shape: &[usize]) -> [usize; 4] {
    let mut d = [1usize; 4];
    let pad = 4 - shape.len();
    d[pad..].copy_from_slice(shape);
    d
}

/// Strides of `shape` broadcast to `out` (rank 4), 0 along broadcast dimensions.
fn broadcast_strides(shape: [usize; 4], out: [usize; 4]) -> Option<[u32; 4]> {
    let mut st = [0u32; 4];
    let mut acc = 1usize;
    for k in (0..4).rev() {
        if shape[k] == out[k] {
            st[k] = if shape[k] == 1 { 0 } else { acc as u32 };
        } else if shape[k] == 1 {
            st[k] = 0;
        } else {
            return None;
        }
        acc *= shape[k];
    }
    Some(st)
}

fn binary(view: &NodeView<'_>, limits: &LowerLimits, code: u32, act: u32) -> R<Lowered> {
    let (a, b, y) = (input(view, 0)?, input(view, 1)?, output(view, 0)?);
    check_tensors(view, limits, &[a, b, y])?;
    if a.shape.len() > 4 || b.shape.len() > 4 || y.shape.len() > 4 {
        return op_err(view, "broadcasting is supported up to rank 4");
    }
    let total = numel(y.shape);
    let last = y.shape.last().copied().unwrap_or(1);
    // Without index arithmetic where `a` has the output's shape and `b` has it too or holds one
    // value per channel of the last dimension; vectors of four along that dimension where it
    // allows (one load per four values: on lavapipe a vector access costs about a scalar one).
    let channels_only = numel(b.shape) == last && b.shape.last() == Some(&last);
    let direct = match (b.shape == y.shape, channels_only, last % 4) {
        (true, _, 0) => Some(("binary_same_shape_v4", total / 4)),
        (false, true, 0) => Some(("binary_channels_v4", total / 4)),
        (true, _, _) => Some(("binary_same_shape", total)),
        _ => None,
    };
    if let (true, Some((entry, items))) = (a.shape == y.shape, direct) {
        let mut params = vec![0u32; 16];
        params[..4].copy_from_slice(&[1, 1, last as u32, items as u32]);
        params[12] = code;
        params[13] = act;
        return Ok(Lowered::Dispatches(vec![flat_dispatch(
            ShaderFile::Elementwise,
            entry,
            params,
            vec![
                Binding::Tensor(a.id),
                Binding::Tensor(b.id),
                Binding::Tensor(y.id),
            ],
            items,
        )]));
    }
    let out = padded4(y.shape);
    let (Some(sa), Some(sb)) = (
        broadcast_strides(padded4(a.shape), out),
        broadcast_strides(padded4(b.shape), out),
    ) else {
        return op_err(
            view,
            format!(
                "shapes {:?} and {:?} do not broadcast to {:?}",
                a.shape, b.shape, y.shape
            ),
        );
    };
    Ok(Lowered::Dispatches(vec![flat_dispatch(
        ShaderFile::Elementwise,
        "binary",
        vec![
            out[1] as u32,
            out[2] as u32,
            out[3] as u32,
            total as u32,
            sa[0],
            sa[1],
            sa[2],
            sa[3],
            sb[0],
            sb[1],
            sb[2],
            sb[3],
            code,
            act,
            0,
            0,
        ],
        vec![
            Binding::Tensor(a.id),
            Binding::Tensor(b.id),
            Binding::Tensor(y.id),
        ],
        total,
    )]))
}

fn unary(view: &NodeView<'_>, limits: &LowerLimits, code: u32, alpha: f32) -> R<Lowered> {
    let dispatch = unary_on(view, limits, code, alpha, input(view, 0)?, output(view, 0)?)?;
    Ok(Lowered::Dispatches(vec![dispatch]))
}

/// The unary op `code` from `x` to `y` (the same tensor for one in place).
fn unary_on(
    view: &NodeView<'_>,
    limits: &LowerLimits,
    code: u32,
    alpha: f32,
    x: &TensorView<'_>,
    y: &TensorView<'_>,
) -> R<DispatchSpec> {
    check_tensors(view, limits, &[x, y])?;
    if numel(x.shape) != numel(y.shape) {
        return op_err(view, "input and output sizes differ");
    }
    let total = numel(y.shape);
    // Four elements per access where the count allows.
    let (entry, items) = if total.is_multiple_of(4) {
        ("unary_v4", total / 4)
    } else {
        ("unary", total)
    };
    Ok(flat_dispatch(
        ShaderFile::Unary,
        entry,
        vec![items as u32, code, 0, 0, f(alpha), 0, 0, 0],
        vec![Binding::Tensor(x.id), Binding::Tensor(y.id)],
        items,
    ))
}

#[cfg(test)]
mod tests {
    use super::{any_residual, FilterOrder, EPILOGUE_ENTRIES};
    use crate::gpu::shaders::ShaderFile;

    #[test]
    fn every_1x1_kernel_has_an_any_variant_in_its_files() {
        let defined = |e: &str| {
            [ShaderFile::Conv, ShaderFile::ConvSubgroup]
                .iter()
                .any(|f| f.entries().contains(&e))
        };
        let plain: Vec<&str> = EPILOGUE_ENTRIES
            .iter()
            .map(|row| row[0])
            .filter(|e| e.starts_with("conv2d_1x1_") && !e.ends_with("_any"))
            .collect();
        assert_eq!(plain.len(), 5, "{plain:?}");
        for entry in plain {
            let any = any_residual(entry);
            assert_eq!(any, format!("{entry}_any"));
            assert!(defined(any) && defined(&format!("{any}_prelu")), "{any}");
        }
        // The other kernels have none.
        assert_eq!(any_residual("conv2d_tiled"), "conv2d_tiled");
    }

    #[test]
    fn rgb_blocks_put_a_blocks_output_channels_side_by_side() {
        // 16 output channels x 27 values, value = 100 * channel + tap, as 4-byte elements.
        let src: Vec<u8> = (0..16u32)
            .flat_map(|o| (0..27u32).map(move |t| 100 * o + t))
            .flat_map(u32::to_le_bytes)
            .collect();
        let out = FilterOrder::RgbBlocks(8).arrange(&src, 4).expect("fits");
        let value = |i: usize| u32::from_le_bytes(out[4 * i..4 * i + 4].try_into().unwrap());
        for o in 0..16 {
            for t in 0..27 {
                let (block, lane) = (o / 8, o % 8);
                assert_eq!(value((block * 27 + t) * 8 + lane), (100 * o + t) as u32);
            }
        }
        // Two-byte elements move as a whole.
        let halves: Vec<u8> = (0..8 * 27u16).flat_map(u16::to_le_bytes).collect();
        let out = FilterOrder::RgbBlocks(8).arrange(&halves, 2).expect("fits");
        assert_eq!(&out[2..4], &(27u16).to_le_bytes(), "tap 0 of channel 1");
        // Sizes that are not whole blocks are refused.
        assert!(FilterOrder::RgbBlocks(8)
            .arrange(&src[..4 * 27 * 12], 4)
            .is_none());
        assert!(FilterOrder::RgbBlocks(0).arrange(&src, 4).is_none());
    }
}
