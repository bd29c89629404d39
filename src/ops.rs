//! Which operators run where: the table in `docs/ops.md`, generated from the code.
//!
//! [`support_table`] builds one node per case (typical shapes and options, plus the option
//! values and inputs that are declined), asks the CPU ([`crate::cpu::check_supported`]) and the
//! GPU lowering ([`crate::gpu::support::check`]) and writes their answers, reasons included, as
//! Markdown. `tests/ops_table.rs` fails when the committed `docs/ops.md` differs.

use crate::cpu::{self, ShapeIn};
use crate::delegate::{NodeView, TensorView};
use crate::gpu::{support, Precision};
use crate::graph::{ConstData, Node, Op};
use crate::model::{
    Activation, Conv2DOptions, DepthwiseConv2DOptions, FullyConnectedOptions, MirrorPadMode,
    Padding, Pool2DOptions, ResizeOptions, StridedSliceOptions, TensorType, TransposeConvOptions,
};

/// One tensor of a case.
#[derive(Clone)]
struct T {
    shape: Vec<usize>,
    dtype: TensorType,
    data: Option<ConstData>,
    /// A FLOAT16 constant behind a DEQUANTIZE that planning folds: the CPU sees f32 values,
    /// the GPU the f16 tensor.
    folded_f16: bool,
}

/// A float32 tensor fed at run time.
fn x(shape: &[usize]) -> T {
    T {
        shape: shape.to_vec(),
        dtype: TensorType::Float32,
        data: None,
        folded_f16: false,
    }
}

/// A tensor of `dtype` fed at run time.
fn xt(shape: &[usize], dtype: TensorType) -> T {
    T { dtype, ..x(shape) }
}

/// A float32 constant (zeros).
fn w(shape: &[usize]) -> T {
    let n: usize = shape.iter().product();
    T {
        data: Some(ConstData::from_slice(&vec![0f32; n])),
        ..x(shape)
    }
}

/// FLOAT16 weights reached through a folded constant DEQUANTIZE.
fn w16(shape: &[usize]) -> T {
    T {
        folded_f16: true,
        ..w(shape)
    }
}

/// An int32 constant.
fn i(shape: &[usize], values: &[i32]) -> T {
    T {
        shape: shape.to_vec(),
        dtype: TensorType::Int32,
        data: Some(ConstData::from_slice(values)),
        folded_f16: false,
    }
}

struct Case {
    op: Op,
    what: &'static str,
    inputs: Vec<Option<T>>,
    outputs: Vec<T>,
}

fn case(op: Op, what: &'static str, inputs: Vec<T>, outputs: Vec<T>) -> Case {
    Case {
        op,
        what,
        inputs: inputs.into_iter().map(Some).collect(),
        outputs,
    }
}

fn conv(stride: i32, dilation: i32, padding: Padding, activation: Activation) -> Conv2DOptions {
    Conv2DOptions {
        padding,
        stride_w: stride,
        stride_h: stride,
        activation,
        dilation_w: dilation,
        dilation_h: dilation,
    }
}

fn dw(multiplier: i32) -> DepthwiseConv2DOptions {
    DepthwiseConv2DOptions {
        padding: Padding::Same,
        stride_w: 1,
        stride_h: 1,
        depth_multiplier: multiplier,
        activation: Activation::None,
        dilation_w: 1,
        dilation_h: 1,
    }
}

fn fc(weights_format: i8, keep_num_dims: bool) -> FullyConnectedOptions {
    FullyConnectedOptions {
        activation: Activation::None,
        weights_format,
        keep_num_dims,
        asymmetric_quantize_inputs: false,
    }
}

fn pool2() -> Pool2DOptions {
    Pool2DOptions {
        padding: Padding::Valid,
        stride_w: 2,
        stride_h: 2,
        filter_w: 2,
        filter_h: 2,
        activation: Activation::None,
    }
}

fn resize(align_corners: bool, half_pixel_centers: bool) -> ResizeOptions {
    ResizeOptions {
        align_corners,
        half_pixel_centers,
    }
}

/// The cases of the table, in the order of [`Op`]'s variants.
fn cases() -> Vec<Case> {
    use Op::*;
    let img = [1, 8, 8, 4];
    let unary_ops: [(Op, &str); 11] = [
        (Relu, "[1,8,8,4]"),
        (Relu6, "[1,8,8,4]"),
        (ReluN1To1, "[1,8,8,4]"),
        (LeakyRelu { alpha: 0.2 }, "alpha 0.2"),
        (Logistic, "[1,8,8,4]"),
        (Tanh, "[1,8,8,4]"),
        (HardSwish, "[1,8,8,4]"),
        (Exp, "[1,8,8,4]"),
        (Rsqrt, "[1,8,8,4]"),
        (Sqrt, "[1,8,8,4]"),
        (Abs, "[1,8,8,4]"),
    ];
    let mut c = vec![
        case(
            Conv2D(conv(1, 1, Padding::Same, Activation::Relu6)),
            "3x3, stride 1, SAME, f32 weights, bias, fused RELU6",
            vec![x(&img), w(&[8, 3, 3, 4]), w(&[8])],
            vec![x(&[1, 8, 8, 8])],
        ),
        case(
            Conv2D(conv(1, 1, Padding::Same, Activation::None)),
            "FLOAT16 weights (constant DEQUANTIZE folded)",
            vec![x(&img), w16(&[8, 3, 3, 4]), w16(&[8])],
            vec![x(&[1, 8, 8, 8])],
        ),
        case(
            Conv2D(conv(2, 2, Padding::Valid, Activation::None)),
            "stride 2, dilation 2, VALID",
            vec![x(&[1, 9, 9, 4]), w(&[8, 3, 3, 4]), w(&[8])],
            vec![x(&[1, 3, 3, 8])],
        ),
        case(
            Conv2D(conv(1, 1, Padding::Same, Activation::None)),
            "filter fed at run time",
            vec![x(&img), x(&[8, 3, 3, 4]), w(&[8])],
            vec![x(&[1, 8, 8, 8])],
        ),
        case(
            Conv2D(conv(1, 1, Padding::Same, Activation::SignBit)),
            "fused SIGN_BIT activation",
            vec![x(&img), w(&[8, 3, 3, 4]), w(&[8])],
            vec![x(&[1, 8, 8, 8])],
        ),
        case(
            Conv2D(conv(1, 1, Padding::Same, Activation::None)),
            "int8 (quantized) input",
            vec![xt(&img, TensorType::Int8), w(&[8, 3, 3, 4]), w(&[8])],
            vec![x(&[1, 8, 8, 8])],
        ),
        case(
            DepthwiseConv2D(dw(1)),
            "3x3, multiplier 1, SAME",
            vec![x(&img), w(&[1, 3, 3, 4]), w(&[4])],
            vec![x(&img)],
        ),
        case(
            DepthwiseConv2D(dw(2)),
            "depth multiplier 2",
            vec![x(&img), w(&[1, 3, 3, 8]), w(&[8])],
            vec![x(&[1, 8, 8, 8])],
        ),
        case(
            DepthwiseConv2D(dw(1)),
            "filter fed at run time",
            vec![x(&img), x(&[1, 3, 3, 4]), w(&[4])],
            vec![x(&img)],
        ),
        case(
            FullyConnected(fc(0, false)),
            "[1,16] x [10,16]^T + bias",
            vec![x(&[1, 16]), w(&[10, 16]), w(&[10])],
            vec![x(&[1, 10])],
        ),
        case(
            FullyConnected(fc(0, true)),
            "rank-3 input, keep_num_dims",
            vec![x(&[1, 4, 16]), w(&[10, 16]), w(&[10])],
            vec![x(&[1, 4, 10])],
        ),
        case(
            FullyConnected(fc(0, false)),
            "weights fed at run time",
            vec![x(&[1, 16]), x(&[10, 16]), w(&[10])],
            vec![x(&[1, 10])],
        ),
        case(
            FullyConnected(fc(1, false)),
            "SHUFFLED4x16INT8 weights format",
            vec![x(&[1, 16]), w(&[10, 16]), w(&[10])],
            vec![x(&[1, 10])],
        ),
        case(
            TransposeConv(TransposeConvOptions {
                padding: Padding::Same,
                stride_w: 2,
                stride_h: 2,
                activation: Activation::None,
            }),
            "3x3, stride 2, SAME, bias",
            vec![
                i(&[4], &[1, 16, 16, 4]),
                w(&[4, 3, 3, 8]),
                x(&[1, 8, 8, 8]),
                w(&[4]),
            ],
            vec![x(&[1, 16, 16, 4])],
        ),
        case(
            Conv2DTransposeBias {
                padding: Padding::Same,
                stride_w: 2,
                stride_h: 2,
            },
            "MediaPipe custom op, 2x2, stride 2",
            vec![x(&[1, 8, 8, 8]), w(&[4, 2, 2, 8]), w(&[4])],
            vec![x(&[1, 16, 16, 4])],
        ),
        case(
            Add(Activation::None),
            "same shapes",
            vec![x(&img), x(&img)],
            vec![x(&img)],
        ),
        case(
            Add(Activation::Relu),
            "broadcast [1,8,8,4] + [4], fused RELU",
            vec![x(&img), w(&[4])],
            vec![x(&img)],
        ),
        case(
            Add(Activation::None),
            "rank-5 broadcast",
            vec![x(&[1, 2, 2, 2, 4]), x(&[4])],
            vec![x(&[1, 2, 2, 2, 4])],
        ),
        case(
            Add(Activation::None),
            "int32 operands",
            vec![xt(&[4], TensorType::Int32), xt(&[4], TensorType::Int32)],
            vec![xt(&[4], TensorType::Int32)],
        ),
        case(
            Sub(Activation::None),
            "same shapes",
            vec![x(&img), x(&img)],
            vec![x(&img)],
        ),
        case(
            Mul(Activation::None),
            "broadcast [1,8,8,4] * [1,1,1,4]",
            vec![x(&img), x(&[1, 1, 1, 4])],
            vec![x(&img)],
        ),
        case(
            Div(Activation::None),
            "same shapes",
            vec![x(&img), x(&img)],
            vec![x(&img)],
        ),
        case(
            Maximum,
            "same shapes",
            vec![x(&img), x(&img)],
            vec![x(&img)],
        ),
        case(
            Minimum,
            "same shapes",
            vec![x(&img), x(&img)],
            vec![x(&img)],
        ),
        case(
            SquaredDifference,
            "same shapes",
            vec![x(&img), x(&img)],
            vec![x(&img)],
        ),
        case(
            Prelu,
            "alpha [4] constant",
            vec![x(&img), w(&[4])],
            vec![x(&img)],
        ),
    ];
    for (op, what) in unary_ops {
        c.push(case(op, what, vec![x(&img)], vec![x(&img)]));
    }
    c.extend([
        case(
            Softmax { beta: 1.0 },
            "[1,1000], beta 1",
            vec![x(&[1, 1000])],
            vec![x(&[1, 1000])],
        ),
        case(
            MaxPool2D(pool2()),
            "2x2, stride 2",
            vec![x(&img)],
            vec![x(&[1, 4, 4, 4])],
        ),
        case(
            AveragePool2D(pool2()),
            "2x2, stride 2",
            vec![x(&img)],
            vec![x(&[1, 4, 4, 4])],
        ),
        case(
            Mean { keep_dims: false },
            "axes [1, 2] (global pooling)",
            vec![x(&img), i(&[2], &[1, 2])],
            vec![x(&[1, 4])],
        ),
        case(
            Mean { keep_dims: false },
            "axes [1, 3] (not contiguous)",
            vec![x(&img), i(&[2], &[1, 3])],
            vec![x(&[1, 8])],
        ),
        case(
            Mean { keep_dims: false },
            "axes fed at run time",
            vec![x(&img), xt(&[2], TensorType::Int32)],
            vec![x(&[1, 4])],
        ),
        case(
            Sum { keep_dims: false },
            "axes [1, 2]",
            vec![x(&img), i(&[2], &[1, 2])],
            vec![x(&[1, 4])],
        ),
        case(
            ReduceMax { keep_dims: false },
            "axes [1, 2]",
            vec![x(&img), i(&[2], &[1, 2])],
            vec![x(&[1, 4])],
        ),
        case(
            Pad,
            "constant paddings, spatial 1",
            vec![x(&img), i(&[4, 2], &[0, 0, 1, 1, 1, 1, 0, 0])],
            vec![x(&[1, 10, 10, 4])],
        ),
        case(
            Pad,
            "paddings fed at run time",
            vec![x(&img), xt(&[4, 2], TensorType::Int32)],
            vec![x(&[1, 10, 10, 4])],
        ),
        case(
            PadV2,
            "constant pad value",
            vec![
                x(&img),
                i(&[4, 2], &[0, 0, 1, 1, 1, 1, 0, 0]),
                T {
                    data: Some(ConstData::from_slice(&[1f32])),
                    ..x(&[1])
                },
            ],
            vec![x(&[1, 10, 10, 4])],
        ),
        case(
            MirrorPad(MirrorPadMode::Reflect),
            "REFLECT, spatial 1",
            vec![x(&img), i(&[4, 2], &[0, 0, 1, 1, 1, 1, 0, 0])],
            vec![x(&[1, 10, 10, 4])],
        ),
        case(
            Concatenation {
                axis: 3,
                activation: Activation::None,
            },
            "two inputs, channel axis",
            vec![x(&img), x(&img)],
            vec![x(&[1, 8, 8, 8])],
        ),
        case(
            Concatenation {
                axis: 3,
                activation: Activation::Relu,
            },
            "fused RELU",
            vec![x(&img), x(&img)],
            vec![x(&[1, 8, 8, 8])],
        ),
        case(
            Reshape,
            "[1,8,8,4] -> [1,256]",
            vec![x(&img), i(&[2], &[1, 256])],
            vec![x(&[1, 256])],
        ),
        case(
            Reshape,
            "of a constant",
            vec![w(&img), i(&[2], &[1, 256])],
            vec![x(&[1, 256])],
        ),
        case(
            Squeeze { dims: vec![1, 2] },
            "[1,1,1,4] -> [1,4]",
            vec![x(&[1, 1, 1, 4])],
            vec![x(&[1, 4])],
        ),
        case(
            Transpose,
            "perm [0, 3, 1, 2]",
            vec![x(&img), i(&[4], &[0, 3, 1, 2])],
            vec![x(&[1, 4, 8, 8])],
        ),
        case(
            StridedSlice(StridedSliceOptions::default()),
            "constant begin/end/strides",
            vec![
                x(&img),
                i(&[4], &[0, 2, 2, 0]),
                i(&[4], &[1, 6, 6, 4]),
                i(&[4], &[1, 1, 1, 1]),
            ],
            vec![x(&[1, 4, 4, 4])],
        ),
        case(
            StridedSlice(StridedSliceOptions {
                ellipsis_mask: 1,
                ..StridedSliceOptions::default()
            }),
            "ellipsis_mask set",
            vec![
                x(&img),
                i(&[4], &[0, 2, 2, 0]),
                i(&[4], &[1, 6, 6, 4]),
                i(&[4], &[1, 1, 1, 1]),
            ],
            vec![x(&[1, 4, 4, 4])],
        ),
        case(
            Slice,
            "constant begin/size",
            vec![x(&img), i(&[4], &[0, 2, 2, 0]), i(&[4], &[1, 4, 4, 4])],
            vec![x(&[1, 4, 4, 4])],
        ),
        case(
            Split { num_splits: 2 },
            "2 ways along channels",
            vec![i(&[], &[3]), x(&img)],
            vec![x(&[1, 8, 8, 2]), x(&[1, 8, 8, 2])],
        ),
        case(
            SplitV { num_splits: 2 },
            "sizes [1, 3] along channels",
            vec![x(&img), i(&[2], &[1, 3]), i(&[], &[3])],
            vec![x(&[1, 8, 8, 1]), x(&[1, 8, 8, 3])],
        ),
        case(
            Pack {
                axis: 0,
                values_count: 2,
            },
            "two [8,4] -> [2,8,4]",
            vec![x(&[8, 4]), x(&[8, 4])],
            vec![x(&[2, 8, 4])],
        ),
        case(
            Unpack { axis: 0, num: 2 },
            "[2,8,4] -> two [8,4]",
            vec![x(&[2, 8, 4])],
            vec![x(&[8, 4]), x(&[8, 4])],
        ),
        case(
            Gather {
                axis: 0,
                batch_dims: 0,
            },
            "rows of a [10,4] table",
            vec![x(&[10, 4]), i(&[3], &[0, 5, 9])],
            vec![x(&[3, 4])],
        ),
        case(
            ResizeBilinear(resize(false, false)),
            "8x8 -> 16x16",
            vec![x(&img), i(&[2], &[16, 16])],
            vec![x(&[1, 16, 16, 4])],
        ),
        case(
            ResizeBilinear(resize(false, true)),
            "half_pixel_centers",
            vec![x(&img), i(&[2], &[16, 16])],
            vec![x(&[1, 16, 16, 4])],
        ),
        case(
            ResizeBilinear(resize(true, false)),
            "align_corners",
            vec![x(&img), i(&[2], &[16, 16])],
            vec![x(&[1, 16, 16, 4])],
        ),
        case(
            ResizeBilinear(resize(true, true)),
            "align_corners together with half_pixel_centers",
            vec![x(&img), i(&[2], &[16, 16])],
            vec![x(&[1, 16, 16, 4])],
        ),
        case(
            ResizeNearestNeighbor(resize(false, false)),
            "8x8 -> 16x16",
            vec![x(&img), i(&[2], &[16, 16])],
            vec![x(&[1, 16, 16, 4])],
        ),
        case(
            DepthToSpace { block_size: 2 },
            "block 2",
            vec![x(&[1, 4, 4, 16])],
            vec![x(&img)],
        ),
        case(
            SpaceToDepth { block_size: 2 },
            "block 2",
            vec![x(&img)],
            vec![x(&[1, 4, 4, 16])],
        ),
        case(
            Dequantize,
            "int8 input fed at run time",
            vec![xt(&img, TensorType::Int8)],
            vec![x(&img)],
        ),
        case(
            Cast,
            "int32 -> float32",
            vec![xt(&[4], TensorType::Int32)],
            vec![x(&[4])],
        ),
        case(
            Shape,
            "of a [1,8,8,4] tensor",
            vec![x(&img)],
            vec![xt(&[4], TensorType::Int32)],
        ),
        case(
            Unsupported {
                name: "MY_CUSTOM_OP".into(),
            },
            "a custom operator the IR does not know",
            vec![x(&img)],
            vec![x(&img)],
        ),
    ]);
    c
}

/// The CPU's and the GPU's answer for one case.
struct Row {
    op: String,
    what: &'static str,
    cpu: Result<(), String>,
    gpu: Result<(), String>,
}

fn evaluate(case: &Case) -> Row {
    // Tensor ids: inputs first, then outputs, as in a one-node graph.
    let n_in = case.inputs.len();
    let cpu_inputs: Vec<Option<ShapeIn<'_>>> = case
        .inputs
        .iter()
        .map(|t| {
            t.as_ref().map(|t| ShapeIn {
                shape: &t.shape,
                dtype: t.dtype,
                values: t.data.as_ref().map(ConstData::bytes),
            })
        })
        .collect();
    let cpu = cpu::check_supported(&case.op, &cpu_inputs);

    // The GPU sees folded FLOAT16 constants as FLOAT16 tensors with f16 bytes.
    let gpu_data: Vec<Option<ConstData>> = case
        .inputs
        .iter()
        .map(|t| match t {
            Some(t) if t.folded_f16 => {
                let n: usize = t.shape.iter().product();
                Some(ConstData::from_slice(&vec![half::f16::ZERO; n]))
            }
            Some(t) => t.data.clone(),
            None => None,
        })
        .collect();
    let node = Node {
        op: case.op.clone(),
        inputs: case
            .inputs
            .iter()
            .enumerate()
            .map(|(k, t)| t.as_ref().map(|_| k))
            .collect(),
        outputs: (n_in..n_in + case.outputs.len()).collect(),
        index: 0,
    };
    let names: Vec<String> = (0..n_in + case.outputs.len())
        .map(|k| format!("t{k}"))
        .collect();
    let view = NodeView {
        node: &node,
        inputs: case
            .inputs
            .iter()
            .enumerate()
            .map(|(k, t)| {
                t.as_ref().map(|t| TensorView {
                    id: k,
                    name: &names[k],
                    shape: &t.shape,
                    dtype: if t.folded_f16 {
                        TensorType::Float16
                    } else {
                        t.dtype
                    },
                    constant: gpu_data[k].as_ref(),
                })
            })
            .collect(),
        outputs: case
            .outputs
            .iter()
            .enumerate()
            .map(|(k, t)| TensorView {
                id: n_in + k,
                name: &names[n_in + k],
                shape: &t.shape,
                dtype: t.dtype,
                constant: None,
            })
            .collect(),
    };
    let gpu = support::check(&view, Precision::F16);
    Row {
        op: case.op.name().to_string(),
        what: case.what,
        cpu,
        gpu,
    }
}

fn cell(r: &Result<(), String>) -> String {
    match r {
        Ok(()) => "yes".into(),
        Err(why) => format!("no: {}", why.replace('|', "\\|")),
    }
}

/// The Markdown of `docs/ops.md`: for each case, whether the CPU runs it and whether the GPU
/// delegate claims it, with the reason when not.
pub fn support_table() -> String {
    let mut s = String::new();
    s.push_str("# Operator support\n\n");
    s.push_str(
        "Generated from the code by `halfgpu::ops::support_table()`; do not edit by hand. \
         `tests/ops_table.rs` fails when this file is stale, and \
         `HALFGPU_BLESS=1 cargo test --release --test ops_table` rewrites it.\n\n",
    );
    s.push_str(
        "Each row is one node with typical shapes and options. **CPU** is \
         `cpu::check_supported`; **GPU** is the GPU delegate's lowering (`gpu::support::check`, \
         the same code that decides `GpuDelegate::supports` and compiles partitions), under \
         wgpu's default limits and in F16 (the modes differ only in bytes per element, which \
         matters for the 128 MiB binding limit). A \"no\" carries the reason the code gives, as \
         the delegation report would show it.\n\n",
    );
    s.push_str(
        "Planning folds some nodes before any backend sees them: a DEQUANTIZE of a constant \
         FLOAT16 tensor (its consumers on the GPU read the f16 weights directly, on the CPU the \
         f32 values computed once), DENSIFY of a constant sparse tensor, and SHAPE of a \
         statically shaped tensor. The GPU column of those ops therefore rarely matters. \
         Quantized (int8/uint8/int16) tensors are not supported anywhere yet.\n\n",
    );
    s.push_str("| op | case | CPU | GPU |\n|---|---|---|---|\n");
    for row in cases().iter().map(evaluate) {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            row.op,
            row.what,
            cell(&row.cpu),
            cell(&row.gpu)
        ));
    }
    s
}
