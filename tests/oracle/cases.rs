//! The conformance cases: one single-operator model per parameter combination, built with
//! `halfgpu::model::builder` over sweeps of each operator's parameters. Cases are plain data; the
//! runners in `runners.rs` and the checks in `../oracle.rs` know nothing about how they were made.

use halfgpu::model::builder;
use halfgpu::model::schema::builtin;
use halfgpu::model::{
    Activation, Conv2DOptions, DepthwiseConv2DOptions, FullyConnectedOptions, Model, Padding,
    Pool2DOptions, ResizeOptions, StridedSliceOptions, TransposeConvOptions,
};

/// How a case's outputs may deviate from exact arithmetic, which decides its tolerances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tolerance {
    /// Outputs are input values moved or selected (copies, max/min, ReLU clamps): no arithmetic.
    Movement,
    /// A fixed, short computation per output element (binary arithmetic, transcendental
    /// activations, bilinear interpolation of four values).
    Elementwise,
    /// Each output sums `k` terms (convolutions, fully connected, pooling averages, means,
    /// softmax normalisation).
    Reduction { k: usize },
}

/// One conformance case.
pub struct OpCase {
    /// Unique, file-name safe.
    pub name: String,
    /// The operator's schema name, for grouping in summaries.
    pub op: &'static str,
    pub model: Model,
    pub tolerance: Tolerance,
    /// The half-open interval each graph input is drawn from, by input index; inputs beyond the
    /// list use `[-1, 1)`.
    pub ranges: Vec<[f32; 2]>,
}

impl OpCase {
    fn new(name: String, op: &'static str, model: Model, tolerance: Tolerance) -> Self {
        OpCase {
            name,
            op,
            model,
            tolerance,
            ranges: Vec::new(),
        }
    }

    fn ranges(mut self, ranges: &[[f32; 2]]) -> Self {
        self.ranges = ranges.to_vec();
        self
    }

    /// The interval graph input `i` is drawn from.
    pub fn range(&self, i: usize) -> [f32; 2] {
        self.ranges.get(i).copied().unwrap_or([-1.0, 1.0])
    }
}

fn pad_name(p: Padding) -> &'static str {
    match p {
        Padding::Same => "same",
        Padding::Valid => "valid",
    }
}

fn act_name(a: Activation) -> String {
    a.name().to_ascii_lowercase()
}

const ACTS: [Activation; 3] = [Activation::None, Activation::Relu, Activation::Relu6];

/// Every case, in a stable order with unique names.
pub fn all() -> Vec<OpCase> {
    let mut cases = Vec::new();
    conv2d(&mut cases);
    depthwise(&mut cases);
    fully_connected(&mut cases);
    transpose_conv(&mut cases);
    binary(&mut cases);
    unary(&mut cases);
    softmax(&mut cases);
    pool(&mut cases);
    asymmetric_pool(&mut cases);
    mean(&mut cases);
    movement(&mut cases);
    resize(&mut cases);
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    let twice: Vec<&[&str]> = names.windows(2).filter(|w| w[0] == w[1]).collect();
    assert!(twice.is_empty(), "case names must be unique: {twice:?}");
    cases
}

/// CONV_2D geometry: kernel, stride, dilation, padding.
type Geometry = (i32, i32, i32, Padding);

fn geometries() -> Vec<Geometry> {
    let mut g = Vec::new();
    for k in [1, 3, 5] {
        for s in [1, 2] {
            for d in [1, 2] {
                for p in [Padding::Same, Padding::Valid] {
                    g.push((k, s, d, p));
                }
            }
        }
    }
    g
}

#[allow(clippy::too_many_arguments)]
fn conv_case(
    out: &mut Vec<OpCase>,
    batch: i32,
    ic: i32,
    oc: i32,
    (k, s, d, p): Geometry,
    act: Activation,
    bias: bool,
    seed: u64,
) {
    let opts = Conv2DOptions {
        padding: p,
        stride_w: s,
        stride_h: s,
        activation: act,
        dilation_w: d,
        dilation_h: d,
    };
    let name = format!(
        "conv2d_n{batch}_i{ic}_o{oc}_k{k}_s{s}_d{d}_{}_{}{}",
        pad_name(p),
        act_name(act),
        if bias { "" } else { "_nobias" }
    );
    let model = builder::conv2d([batch, 9, 10, ic], [oc, k, k, ic], opts, bias, seed)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let k_terms = (k * k * ic) as usize;
    out.push(OpCase::new(
        name,
        "CONV_2D",
        model,
        Tolerance::Reduction { k: k_terms },
    ));
}

/// CONV_2D: every geometry on one channel pair, every channel pair on one geometry, and a
/// rotating selection of geometries over mixed channel pairs.
fn conv2d(out: &mut Vec<OpCase>) {
    let channels = [1, 3, 5, 8, 17, 32];
    let geoms = geometries();
    for (i, &g) in geoms.iter().enumerate() {
        conv_case(out, 1, 3, 5, g, ACTS[i % 3], true, i as u64);
    }
    for (i, &ic) in channels.iter().enumerate() {
        for (j, &oc) in channels.iter().enumerate() {
            let act = ACTS[(i + j) % 3];
            conv_case(
                out,
                1,
                ic,
                oc,
                (3, 1, 1, Padding::Same),
                act,
                true,
                100 + i as u64,
            );
        }
    }
    let pairs = [
        (1, 8),
        (8, 17),
        (17, 5),
        (32, 32),
        (5, 32),
        (32, 1),
        (8, 8),
        (17, 3),
    ];
    for (pi, &(ic, oc)) in pairs.iter().enumerate() {
        for (gi, &g) in geoms.iter().enumerate() {
            // The channel sweep above already has 3x3 / stride 1 / SAME for every pair.
            if (gi + pi) % 3 == 0 && g != (3, 1, 1, Padding::Same) {
                let seed = 200 + (pi * 100 + gi) as u64;
                conv_case(out, 1, ic, oc, g, ACTS[(gi / 3) % 3], true, seed);
            }
        }
    }
    conv_case(
        out,
        2,
        3,
        8,
        (3, 2, 1, Padding::Same),
        Activation::Relu6,
        true,
        900,
    );
    conv_case(
        out,
        2,
        8,
        5,
        (1, 1, 1, Padding::Valid),
        Activation::None,
        true,
        901,
    );
    asymmetric_conv(out);
    pointwise(out);
    rgb_stem(out);
    // Without a bias: legal in the schema, refused by the reference runtime, so these are
    // checked against halfgpu's CPU path only.
    conv_case(
        out,
        1,
        3,
        5,
        (3, 1, 1, Padding::Same),
        Activation::None,
        false,
        902,
    );
    conv_case(
        out,
        1,
        8,
        4,
        (1, 1, 1, Padding::Same),
        Activation::Relu,
        false,
        903,
    );
}

/// 1x1 convolutions over every register block of the GPU's 1x1 kernels (with subgroups 4 x 32,
/// also with a partial last block of channels, and 4 x 16; without, 8 x 16, 8 x 8 and the
/// scalar fallback), on pixel counts that leave partial blocks and partial groups of lanes.
fn pointwise(out: &mut Vec<OpCase>) {
    // (batch, height, width, in channels, out channels)
    let shapes = [
        (1, 9, 10, 16, 32),
        (1, 3, 3, 36, 96),
        (1, 33, 35, 12, 16),
        (1, 7, 7, 20, 48),
        (2, 5, 3, 4, 24),
        (1, 33, 31, 8, 8),
        (1, 1, 1, 32, 64),
        (1, 6, 7, 4, 12),
        (1, 5, 9, 6, 16),
    ];
    for (i, &(batch, h, w, ic, oc)) in shapes.iter().enumerate() {
        let act = ACTS[i % 3];
        let opts = Conv2DOptions {
            padding: Padding::Same,
            stride_w: 1,
            stride_h: 1,
            activation: act,
            dilation_w: 1,
            dilation_h: 1,
        };
        let name = format!("conv2d_1x1_n{batch}_{h}x{w}_i{ic}_o{oc}_{}", act_name(act));
        let model = builder::conv2d(
            [batch, h, w, ic],
            [oc, 1, 1, ic],
            opts,
            true,
            1000 + i as u64,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push(OpCase::new(
            name,
            "CONV_2D",
            model,
            Tolerance::Reduction { k: ic as usize },
        ));
    }
}

/// 3x3 convolutions of three-channel images (the GPU's RGB kernels: 8 or 16 output channels
/// per invocation, four pixels along x, rows wider than one group of lanes).
fn rgb_stem(out: &mut Vec<OpCase>) {
    // (batch, height, width, out channels, stride, padding)
    let shapes = [
        (1, 9, 70, 16, 2, Padding::Same),
        (2, 7, 37, 24, 1, Padding::Valid),
        (1, 40, 35, 32, 2, Padding::Valid),
        (1, 5, 5, 8, 2, Padding::Same),
    ];
    for (i, &(batch, h, w, oc, s, p)) in shapes.iter().enumerate() {
        let act = ACTS[i % 3];
        let opts = Conv2DOptions {
            padding: p,
            stride_w: s,
            stride_h: s,
            activation: act,
            dilation_w: 1,
            dilation_h: 1,
        };
        let name = format!(
            "conv2d_rgb_n{batch}_{h}x{w}_o{oc}_s{s}_{}_{}",
            pad_name(p),
            act_name(act)
        );
        let model = builder::conv2d([batch, h, w, 3], [oc, 3, 3, 3], opts, true, 1100 + i as u64)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push(OpCase::new(
            name,
            "CONV_2D",
            model,
            Tolerance::Reduction { k: 27 },
        ));
    }
}

/// Kernel, stride and dilation that differ between height and width: `[kh, kw]`, `[sh, sw]`,
/// `[dh, dw]`.
type Asymmetric = ([i32; 2], [i32; 2], [i32; 2]);

const ASYMMETRIC: [Asymmetric; 6] = [
    ([1, 3], [1, 1], [1, 1]),
    ([3, 1], [1, 2], [1, 1]),
    ([1, 7], [2, 1], [1, 1]),
    ([2, 5], [1, 2], [2, 1]),
    ([3, 2], [2, 1], [1, 2]),
    ([5, 3], [2, 2], [1, 2]),
];

fn asym_name(([kh, kw], [sh, sw], [dh, dw]): Asymmetric) -> String {
    format!("k{kh}x{kw}_s{sh}x{sw}_d{dh}x{dw}")
}

/// CONV_2D with kernels, strides and dilations that differ between height and width.
fn asymmetric_conv(out: &mut Vec<OpCase>) {
    for (i, g) in ASYMMETRIC.into_iter().enumerate() {
        let ([kh, kw], [sh, sw], [dh, dw]) = g;
        for p in [Padding::Same, Padding::Valid] {
            let (ic, oc) = [(3, 8), (17, 5)][i % 2];
            let opts = Conv2DOptions {
                padding: p,
                stride_w: sw,
                stride_h: sh,
                activation: ACTS[i % 3],
                dilation_w: dw,
                dilation_h: dh,
            };
            let name = format!("conv2d_i{ic}_o{oc}_{}_{}", asym_name(g), pad_name(p));
            let model =
                builder::conv2d([1, 9, 10, ic], [oc, kh, kw, ic], opts, true, 700 + i as u64)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            let k = (kh * kw * ic) as usize;
            out.push(OpCase::new(
                name,
                "CONV_2D",
                model,
                Tolerance::Reduction { k },
            ));
        }
    }
}

/// DEPTHWISE_CONV_2D: every geometry (3x3 and 5x5) on 5 channels, then channel counts and depth
/// multipliers on one geometry.
fn depthwise(out: &mut Vec<OpCase>) {
    let mut push = |c: i32, mult: i32, (k, s, d, p): Geometry, act: Activation, seed: u64| {
        let opts = DepthwiseConv2DOptions {
            padding: p,
            stride_w: s,
            stride_h: s,
            depth_multiplier: mult,
            activation: act,
            dilation_w: d,
            dilation_h: d,
        };
        let name = format!(
            "depthwise_c{c}_m{mult}_k{k}_s{s}_d{d}_{}_{}",
            pad_name(p),
            act_name(act)
        );
        let model = builder::depthwise_conv2d([1, 9, 10, c], [k, k], opts, true, seed)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let k = (k * k) as usize;
        out.push(OpCase::new(
            name,
            "DEPTHWISE_CONV_2D",
            model,
            Tolerance::Reduction { k },
        ));
    };
    let mut i = 0u64;
    for (k, s, d, p) in geometries() {
        if k == 1 {
            continue;
        }
        for mult in [1, 2] {
            push(5, mult, (k, s, d, p), ACTS[i as usize % 3], 300 + i);
            i += 1;
        }
    }
    for c in [1, 3, 8, 17, 32] {
        for mult in [1, 2] {
            let act = ACTS[i as usize % 3];
            push(c, mult, (3, 1, 1, Padding::Same), act, 300 + i);
            i += 1;
        }
    }
    for (j, g) in ASYMMETRIC.into_iter().enumerate() {
        let ([kh, kw], [sh, sw], [dh, dw]) = g;
        let p = [Padding::Same, Padding::Valid][j % 2];
        let (c, mult) = [(5, 1), (3, 2), (8, 1)][j % 3];
        let opts = DepthwiseConv2DOptions {
            padding: p,
            stride_w: sw,
            stride_h: sh,
            depth_multiplier: mult,
            activation: ACTS[j % 3],
            dilation_w: dw,
            dilation_h: dh,
        };
        let name = format!("depthwise_c{c}_m{mult}_{}_{}", asym_name(g), pad_name(p));
        let model = builder::depthwise_conv2d([1, 9, 10, c], [kh, kw], opts, true, 800 + j as u64)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let k = (kh * kw) as usize;
        out.push(OpCase::new(
            name,
            "DEPTHWISE_CONV_2D",
            model,
            Tolerance::Reduction { k },
        ));
    }
    // The GPU's vector kernels (channels % 4 == 0, multiplier 1; channel vectors across lanes).
    // The general one and the 5x5 ones: 5x5 at strides 1 and 2 (rows in pairs at stride 1: odd
    // and even heights), dilation 2, a 2x2 filter, batch 2, partial column blocks. The 3x3 ones
    // (rows in pairs at stride 1): odd and even heights, batch 2.
    // (batch, height, width, channels, kernel, stride, dilation, padding)
    let mut shapes = vec![
        (1, 9, 10, 8, 5, 1, 1, Padding::Same),
        (2, 7, 11, 12, 5, 2, 1, Padding::Valid),
        (1, 8, 9, 16, 3, 1, 2, Padding::Same),
        (1, 6, 5, 4, 2, 2, 1, Padding::Valid),
        (2, 7, 9, 12, 5, 1, 1, Padding::Valid),
        (1, 9, 13, 8, 5, 2, 1, Padding::Same),
        (1, 8, 6, 4, 5, 1, 1, Padding::Same),
    ];
    for (batch, h, w, c) in [(1, 7, 7, 12), (2, 5, 6, 8), (1, 8, 13, 40), (2, 3, 1, 4)] {
        for (s, p) in [(1, Padding::Same), (2, Padding::Same), (2, Padding::Valid)] {
            if p == Padding::Same || (h >= 3 && w >= 3) {
                shapes.push((batch, h, w, c, 3, s, 1, p));
            }
        }
    }
    for (j, (batch, h, w, c, k, s, d, p)) in shapes.into_iter().enumerate() {
        let act = ACTS[j % 3];
        let opts = DepthwiseConv2DOptions {
            padding: p,
            stride_w: s,
            stride_h: s,
            depth_multiplier: 1,
            activation: act,
            dilation_w: d,
            dilation_h: d,
        };
        let name = format!(
            "depthwise_n{batch}_{h}x{w}_c{c}_k{k}_s{s}_d{d}_{}_{}",
            pad_name(p),
            act_name(act)
        );
        let model = builder::depthwise_conv2d([batch, h, w, c], [k, k], opts, true, 850 + j as u64)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push(OpCase::new(
            name,
            "DEPTHWISE_CONV_2D",
            model,
            Tolerance::Reduction {
                k: (k * k) as usize,
            },
        ));
    }
}

/// FULLY_CONNECTED: batch 1 and 3, rank-2 and rank-3 inputs with keep_num_dims false and true.
fn fully_connected(out: &mut Vec<OpCase>) {
    let inputs: [&[i32]; 6] = [
        &[1, 16],
        &[3, 16],
        &[1, 7],
        &[3, 33],
        &[3, 4, 7],
        &[1, 2, 3, 8],
    ];
    let mut i = 0u64;
    for input in inputs {
        for units in [1, 5, 16] {
            for keep in [false, true] {
                if keep && input.len() == 2 && units != 5 {
                    continue;
                }
                let act = ACTS[i as usize % 3];
                let opts = FullyConnectedOptions {
                    activation: act,
                    weights_format: 0,
                    keep_num_dims: keep,
                    asymmetric_quantize_inputs: false,
                };
                let dims: Vec<String> = input.iter().map(i32::to_string).collect();
                let name = format!(
                    "fully_connected_in{}_u{units}_keep{}_{}",
                    dims.join("x"),
                    keep as u8,
                    act_name(act)
                );
                let model = builder::fully_connected(input, units, opts, true, 400 + i)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                let k = *input.last().unwrap_or(&1) as usize;
                out.push(OpCase::new(
                    name,
                    "FULLY_CONNECTED",
                    model,
                    Tolerance::Reduction { k },
                ));
                i += 1;
            }
        }
    }
}

/// TRANSPOSE_CONV: stride 1 and 2, SAME and VALID, 2x2 and 3x3 kernels, with and without bias.
fn transpose_conv(out: &mut Vec<OpCase>) {
    let mut i = 0u64;
    for (ic, oc) in [(3, 5), (8, 4), (8, 1), (12, 6)] {
        for k in [2, 3] {
            for s in [1, 2] {
                for p in [Padding::Same, Padding::Valid] {
                    let bias = i.is_multiple_of(2);
                    // Fused activations (schema version 4 of the op) on the second pair only.
                    let act = if ic == 8 {
                        ACTS[(i / 2) as usize % 3]
                    } else {
                        Activation::None
                    };
                    let opts = TransposeConvOptions {
                        padding: p,
                        stride_w: s,
                        stride_h: s,
                        activation: act,
                    };
                    let name = format!(
                        "transpose_conv_i{ic}_o{oc}_k{k}_s{s}_{}_{}{}",
                        pad_name(p),
                        act_name(act),
                        if bias { "" } else { "_nobias" }
                    );
                    let model =
                        builder::transpose_conv([1, 5, 6, ic], [oc, k, k, ic], opts, bias, 500 + i)
                            .unwrap_or_else(|e| panic!("{name}: {e}"));
                    // Each output gathers at most ceil(k / s)^2 taps of all input channels.
                    let taps = (k + s - 1) / s;
                    let k = (taps * taps * ic) as usize;
                    out.push(OpCase::new(
                        name,
                        "TRANSPOSE_CONV",
                        model,
                        Tolerance::Reduction { k },
                    ));
                    i += 1;
                }
            }
        }
    }
}

const BINARY_OPS: [(i32, &str); 7] = [
    (builtin::ADD, "ADD"),
    (builtin::SUB, "SUB"),
    (builtin::MUL, "MUL"),
    (builtin::DIV, "DIV"),
    (builtin::MAXIMUM, "MAXIMUM"),
    (builtin::MINIMUM, "MINIMUM"),
    (builtin::SQUARED_DIFFERENCE, "SQUARED_DIFFERENCE"),
];

fn shape_name(s: &[i32]) -> String {
    let dims: Vec<String> = s.iter().map(i32::to_string).collect();
    dims.join("x")
}

/// Binary elementwise ops over broadcast shapes of rank 1 to 4, and the fused activations of
/// ADD, SUB, MUL and DIV.
fn binary(out: &mut Vec<OpCase>) {
    let x: &[i32] = &[1, 4, 5, 6];
    let shapes: [(&[i32], &[i32]); 12] = [
        (x, x),
        (x, &[6]),
        (x, &[1, 1, 1, 6]),
        (x, &[1, 4, 1, 1]),
        (x, &[1]),
        (&[6], x),
        (&[1], x),
        (&[2, 1, 5, 1], &[1, 4, 1, 6]),
        (&[4, 5, 6], &[5, 1]),
        (x, &[5, 6]),
        (&[3, 7], &[3, 7]),
        (&[7], &[7]),
    ];
    for (code, op) in BINARY_OPS {
        for (a, b) in shapes {
            push_binary(out, code, op, a, b, Activation::None);
        }
    }
    for (code, op) in &BINARY_OPS[..4] {
        for (i, act) in [Activation::Relu, Activation::Relu6, Activation::ReluN1To1]
            .into_iter()
            .enumerate()
        {
            let (a, b) = shapes[i * 2 + 1];
            push_binary(out, *code, op, a, b, act);
        }
    }
    // A last dimension of 8: the GPU's vector kernels (same shapes, and one value per channel
    // as PRELU's alpha or a per-channel scale), next to a broadcast they must not take.
    let x8: &[i32] = &[1, 3, 5, 8];
    let vector_shapes: [(&[i32], &[i32]); 4] =
        [(x8, x8), (x8, &[8]), (x8, &[1, 1, 8]), (x8, &[1, 3, 1, 8])];
    for (i, (code, op)) in BINARY_OPS.iter().enumerate() {
        for (j, (a, b)) in vector_shapes.into_iter().enumerate() {
            let act = [Activation::None, Activation::Relu, Activation::Relu6][(i + j) % 3];
            push_binary(out, *code, op, a, b, act);
        }
    }
}

fn push_binary(
    out: &mut Vec<OpCase>,
    code: i32,
    op: &'static str,
    a: &[i32],
    b: &[i32],
    act: Activation,
) {
    let name = format!(
        "{}_{}_{}_{}",
        op.to_ascii_lowercase(),
        shape_name(a),
        shape_name(b),
        act_name(act)
    );
    let model = builder::binary(code, a, b, act).unwrap_or_else(|e| panic!("{name}: {e}"));
    let tolerance = if matches!(code, builtin::MAXIMUM | builtin::MINIMUM) {
        Tolerance::Movement
    } else {
        Tolerance::Elementwise
    };
    let case = OpCase::new(name, op, model, tolerance);
    // Wider operands reach RELU6's upper clamp; divisors stay away from zero so quotients stay
    // of order one (and finite in f16).
    let case = match (code, act) {
        (builtin::DIV, _) => case.ranges(&[[-4.0, 4.0], [0.5, 2.0]]),
        (_, Activation::Relu6) => case.ranges(&[[-4.0, 4.0], [-4.0, 4.0]]),
        _ => case,
    };
    out.push(case);
}

/// Activations and unary math on rank 1 to 4 tensors, LEAKY_RELU and PRELU.
fn unary(out: &mut Vec<OpCase>) {
    let ops: [(i32, &str, Tolerance, [f32; 2]); 10] = [
        (builtin::RELU, "RELU", Tolerance::Movement, [-4.0, 4.0]),
        (builtin::RELU6, "RELU6", Tolerance::Movement, [-8.0, 8.0]),
        (
            builtin::RELU_N1_TO_1,
            "RELU_N1_TO_1",
            Tolerance::Movement,
            [-2.0, 2.0],
        ),
        (
            builtin::LOGISTIC,
            "LOGISTIC",
            Tolerance::Elementwise,
            [-8.0, 8.0],
        ),
        (builtin::TANH, "TANH", Tolerance::Elementwise, [-4.0, 4.0]),
        (
            builtin::HARD_SWISH,
            "HARD_SWISH",
            Tolerance::Elementwise,
            [-5.0, 5.0],
        ),
        (builtin::EXP, "EXP", Tolerance::Elementwise, [-2.0, 2.0]),
        (builtin::ABS, "ABS", Tolerance::Movement, [-2.0, 2.0]),
        // The square roots need positive inputs.
        (builtin::SQRT, "SQRT", Tolerance::Elementwise, [0.0, 4.0]),
        (builtin::RSQRT, "RSQRT", Tolerance::Elementwise, [0.25, 4.0]),
    ];
    // Element counts that are and are not multiples of 4 (the GPU's vector kernel).
    let shapes: [&[i32]; 4] = [&[1, 5, 6, 7], &[13], &[2, 3, 17], &[2, 3, 4, 6]];
    for (code, op, tolerance, range) in ops {
        for shape in shapes {
            let name = format!("{}_{}", op.to_ascii_lowercase(), shape_name(shape));
            let model = builder::unary(code, shape).unwrap_or_else(|e| panic!("{name}: {e}"));
            out.push(OpCase::new(name, op, model, tolerance).ranges(&[range]));
        }
    }
    for (alpha, shape) in [
        (0.2f32, &[1, 5, 6, 7][..]),
        (0.01, &[13][..]),
        (0.5, &[2, 3, 17][..]),
        (0.2, &[3, 9][..]),
        (0.3, &[3, 8][..]),
    ] {
        let name = format!("leaky_relu_a{}_{}", alpha * 100.0, shape_name(shape));
        let model = builder::leaky_relu(shape, alpha).unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push(
            OpCase::new(name, "LEAKY_RELU", model, Tolerance::Elementwise).ranges(&[[-4.0, 4.0]]),
        );
    }
    // Channel counts of 6 and of 8 (the GPU's vector kernel takes one alpha per channel when
    // the channels are a multiple of 4).
    let alphas: [(&[i32], &[i32]); 8] = [
        (&[1, 4, 5, 6], &[6]),
        (&[1, 4, 5, 6], &[1, 1, 6]),
        (&[1, 4, 5, 6], &[1, 1, 1, 6]),
        (&[1, 4, 5, 6], &[4, 5, 6]),
        (&[1, 4, 5, 6], &[5, 6]),
        (&[1, 4, 5, 8], &[8]),
        (&[1, 4, 5, 8], &[1, 1, 8]),
        (&[1, 4, 5, 8], &[5, 8]),
    ];
    for (i, (x, alpha)) in alphas.into_iter().enumerate() {
        let name = format!("prelu_{}_{}", shape_name(x), shape_name(alpha));
        let model =
            builder::prelu(x, alpha, 600 + i as u64).unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push(OpCase::new(name, "PRELU", model, Tolerance::Elementwise).ranges(&[[-4.0, 4.0]]));
    }
}

/// SOFTMAX with beta 1 and 0.5 over rows of several lengths.
fn softmax(out: &mut Vec<OpCase>) {
    let shapes: [&[i32]; 5] = [&[1, 10], &[2, 7], &[1, 3, 4, 9], &[5, 33], &[1, 1, 1, 1000]];
    for beta in [1.0f32, 0.5] {
        for shape in shapes {
            let name = format!("softmax_b{}_{}", beta * 10.0, shape_name(shape));
            let model = builder::softmax(shape, beta).unwrap_or_else(|e| panic!("{name}: {e}"));
            let k = *shape.last().unwrap_or(&1) as usize;
            out.push(
                OpCase::new(name, "SOFTMAX", model, Tolerance::Reduction { k })
                    .ranges(&[[-4.0, 4.0]]),
            );
        }
    }
}

/// MAX_POOL_2D and AVERAGE_POOL_2D: SAME / VALID, stride 1 / 2, 2x2 / 3x3, and fused activations.
fn pool(out: &mut Vec<OpCase>) {
    let mut i = 0usize;
    for (code, op) in [
        (builtin::MAX_POOL_2D, "MAX_POOL_2D"),
        (builtin::AVERAGE_POOL_2D, "AVERAGE_POOL_2D"),
    ] {
        for k in [2, 3] {
            for s in [1, 2] {
                for p in [Padding::Same, Padding::Valid] {
                    for (batch, act) in [(1, Activation::None), (2, ACTS[1 + i % 2])] {
                        if batch == 2 && (k == 2 || s == 1) {
                            continue;
                        }
                        let opts = Pool2DOptions {
                            padding: p,
                            stride_w: s,
                            stride_h: s,
                            filter_w: k,
                            filter_h: k,
                            activation: act,
                        };
                        // 5 channels, and 8 for the GPU's vector kernels, alternately.
                        let c = [5, 8][i % 2];
                        let name = format!(
                            "{}_n{batch}_c{c}_k{k}_s{s}_{}_{}",
                            op.to_ascii_lowercase(),
                            pad_name(p),
                            act_name(act)
                        );
                        let model = builder::pool(code, [batch, 9, 10, c], opts)
                            .unwrap_or_else(|e| panic!("{name}: {e}"));
                        let tolerance = if code == builtin::MAX_POOL_2D {
                            Tolerance::Movement
                        } else {
                            Tolerance::Reduction {
                                k: (k * k) as usize,
                            }
                        };
                        out.push(OpCase::new(name, op, model, tolerance).ranges(&[[-8.0, 8.0]]));
                        i += 1;
                    }
                }
            }
        }
    }
}

/// Pooling windows and strides that differ between height and width.
fn asymmetric_pool(out: &mut Vec<OpCase>) {
    let windows: [([i32; 2], [i32; 2], Padding); 3] = [
        ([2, 3], [1, 2], Padding::Same),
        ([3, 1], [2, 1], Padding::Valid),
        ([1, 4], [1, 3], Padding::Same),
    ];
    for (code, op) in [
        (builtin::MAX_POOL_2D, "MAX_POOL_2D"),
        (builtin::AVERAGE_POOL_2D, "AVERAGE_POOL_2D"),
    ] {
        for ([fh, fw], [sh, sw], p) in windows {
            let opts = Pool2DOptions {
                padding: p,
                stride_w: sw,
                stride_h: sh,
                filter_w: fw,
                filter_h: fh,
                activation: Activation::None,
            };
            let name = format!(
                "{}_k{fh}x{fw}_s{sh}x{sw}_{}",
                op.to_ascii_lowercase(),
                pad_name(p)
            );
            let model =
                builder::pool(code, [1, 9, 10, 5], opts).unwrap_or_else(|e| panic!("{name}: {e}"));
            let tolerance = if code == builtin::MAX_POOL_2D {
                Tolerance::Movement
            } else {
                Tolerance::Reduction {
                    k: (fh * fw) as usize,
                }
            };
            out.push(OpCase::new(name, op, model, tolerance).ranges(&[[-8.0, 8.0]]));
        }
    }
}

/// MEAN over spatial axes, channels, rows and the last axis, with and without keep_dims.
fn mean(out: &mut Vec<OpCase>) {
    let cases: [(&[i32], &[i32]); 9] = [
        (&[1, 6, 7, 5], &[1, 2]),
        (&[2, 6, 7, 5], &[1, 2]),
        (&[1, 6, 7, 5], &[3]),
        (&[1, 6, 7, 5], &[1]),
        (&[1, 6, 7, 5], &[2]),
        (&[2, 6, 7, 5], &[-1]),
        (&[3, 40], &[1]),
        (&[1, 6, 7, 5], &[1, 3]),
        (&[2, 6, 7, 5], &[0, 1, 2]),
    ];
    for (input, axes) in cases {
        for keep in [true, false] {
            let name = format!(
                "mean_{}_axes{}_keep{}",
                shape_name(input),
                shape_name(axes).replace('-', "m"),
                keep as u8
            );
            let model = builder::mean(input, axes, keep).unwrap_or_else(|e| panic!("{name}: {e}"));
            let rank = input.len() as i32;
            let k = axes
                .iter()
                .map(|&a| input[(if a < 0 { a + rank } else { a }) as usize] as usize)
                .product();
            out.push(OpCase::new(name, "MEAN", model, Tolerance::Reduction { k }));
        }
    }
}

/// Data movement: PAD, CONCATENATION, RESHAPE, TRANSPOSE, STRIDED_SLICE, SLICE, DEPTH_TO_SPACE.
fn movement(out: &mut Vec<OpCase>) {
    let mv = |name: String, op: &'static str, model: Result<Model, _>| {
        let model = model.unwrap_or_else(|e: halfgpu::model::ModelError| panic!("{name}: {e}"));
        OpCase::new(name, op, model, Tolerance::Movement)
    };
    let paddings: [(&[i32], &[[i32; 2]]); 5] = [
        (&[1, 4, 5, 3], &[[0, 0], [1, 1], [2, 2], [0, 0]]),
        (&[1, 4, 5, 3], &[[0, 0], [0, 2], [1, 0], [0, 0]]),
        (&[1, 4, 5, 3], &[[0, 0], [0, 0], [0, 0], [1, 3]]),
        (&[6, 7], &[[1, 2], [3, 0]]),
        (&[2, 3, 4], &[[1, 0], [0, 1], [2, 2]]),
    ];
    for (i, (input, p)) in paddings.into_iter().enumerate() {
        let name = format!("pad_{}_{i}", shape_name(input));
        out.push(mv(name, "PAD", builder::pad(input, p)));
    }
    let concats: [(&[&[i32]], i32); 7] = [
        (&[&[1, 4, 5, 3], &[1, 4, 5, 6]], 3),
        (&[&[1, 4, 5, 3], &[1, 4, 5, 1], &[1, 4, 5, 5]], 3),
        (&[&[1, 2, 5, 3], &[1, 4, 5, 3]], 1),
        (&[&[1, 4, 5, 3], &[1, 4, 5, 2]], -1),
        (&[&[1, 4, 2, 3], &[1, 4, 3, 3]], 2),
        (&[&[2, 4, 5, 3], &[1, 4, 5, 3]], 0),
        (&[&[3, 7], &[3, 2], &[3, 1]], -1),
    ];
    for (shapes, axis) in concats {
        let shapes: Vec<Vec<i32>> = shapes.iter().map(|s| s.to_vec()).collect();
        let names: Vec<String> = shapes.iter().map(|s| shape_name(s)).collect();
        let name = format!(
            "concatenation_axis{}_{}",
            axis.to_string().replace('-', "m"),
            names.join("_")
        );
        out.push(mv(name, "CONCATENATION", builder::concat(&shapes, axis)));
    }
    let reshapes: [(&[i32], &[i32]); 5] = [
        (&[1, 4, 5, 6], &[1, 120]),
        (&[1, 4, 5, 6], &[-1, 6]),
        (&[2, 3, 4], &[4, 3, 2]),
        (&[24], &[1, 2, 3, 4]),
        (&[1, 1, 1, 10], &[10]),
    ];
    for (input, shape) in reshapes {
        let name = format!(
            "reshape_{}_to_{}",
            shape_name(input),
            shape_name(shape).replace('-', "m")
        );
        out.push(mv(name, "RESHAPE", builder::reshape(input, shape)));
    }
    let transposes: [(&[i32], &[i32]); 7] = [
        (&[1, 4, 5, 6], &[0, 3, 1, 2]),
        (&[1, 4, 5, 6], &[0, 2, 3, 1]),
        (&[2, 4, 5, 6], &[3, 2, 1, 0]),
        (&[2, 4, 5, 6], &[0, 2, 1, 3]),
        (&[3, 4, 5], &[2, 0, 1]),
        (&[7, 9], &[1, 0]),
        (&[2, 3, 2, 2, 3], &[4, 0, 3, 1, 2]),
    ];
    for (input, perm) in transposes {
        let name = format!("transpose_{}_perm{}", shape_name(input), shape_name(perm));
        out.push(mv(name, "TRANSPOSE", builder::transpose(input, perm)));
    }
    let ss = |begin_mask, end_mask, shrink_axis_mask| StridedSliceOptions {
        begin_mask,
        end_mask,
        shrink_axis_mask,
        ..Default::default()
    };
    type Slice<'a> = (
        &'a [i32],
        &'a [i32],
        &'a [i32],
        &'a [i32],
        StridedSliceOptions,
    );
    let x: &[i32] = &[1, 6, 7, 5];
    let slices: [Slice<'_>; 9] = [
        (x, &[0, 1, 2, 0], &[1, 5, 6, 5], &[1, 1, 1, 1], ss(0, 0, 0)),
        (x, &[0, 0, 0, 1], &[1, 6, 7, 4], &[1, 2, 2, 1], ss(0, 0, 0)),
        (
            x,
            &[0, 3, 9, 0],
            &[0, 0, 0, 3],
            &[1, 1, 1, 1],
            ss(0b0111, 0b0110, 0),
        ),
        (
            x,
            &[0, -4, 1, 0],
            &[1, -1, 7, 5],
            &[1, 1, 3, 2],
            ss(0, 0, 0),
        ),
        (
            x,
            &[0, 2, 0, 0],
            &[1, 3, 7, 5],
            &[1, 1, 1, 1],
            ss(0, 0, 0b0011),
        ),
        (
            x,
            &[0, 0, 0, 4],
            &[1, 6, 7, 5],
            &[1, 1, 1, 1],
            ss(0, 0, 0b1001),
        ),
        (
            x,
            &[0, 5, 6, 0],
            &[1, 0, 0, 5],
            &[1, -1, -2, 1],
            ss(0, 0, 0),
        ),
        (&[9, 8], &[1, 0], &[8, 8], &[2, 3], ss(0b10, 0, 0)),
        (
            &[3, 4, 6],
            &[1, 0, 1],
            &[3, 4, 5],
            &[1, 2, 2],
            ss(0, 0b010, 0b001),
        ),
    ];
    for (i, (input, begin, end, strides, o)) in slices.into_iter().enumerate() {
        let name = format!("strided_slice_{}_{i}", shape_name(input));
        let model = builder::strided_slice(input, begin, end, strides, o);
        out.push(mv(name, "STRIDED_SLICE", model));
    }
    let plain: [(&[i32], &[i32], &[i32]); 5] = [
        (x, &[0, 1, 2, 0], &[1, 4, 3, 5]),
        (x, &[0, 0, 0, 2], &[1, -1, -1, 3]),
        (x, &[0, 5, 6, 4], &[1, 1, 1, 1]),
        (&[9, 8], &[3, 1], &[4, -1]),
        (&[3, 4, 6], &[1, 0, 2], &[2, 4, 3]),
    ];
    for (i, (input, begin, size)) in plain.into_iter().enumerate() {
        let name = format!("slice_{}_{i}", shape_name(input));
        out.push(mv(name, "SLICE", builder::slice(input, begin, size)));
    }
    for (input, block) in [
        ([1, 3, 4, 4], 2),
        ([1, 3, 4, 8], 2),
        ([2, 2, 3, 12], 2),
        ([1, 2, 3, 18], 3),
    ] {
        let name = format!("depth_to_space_{}_b{block}", shape_name(&input));
        out.push(mv(
            name,
            "DEPTH_TO_SPACE",
            builder::depth_to_space(input, block),
        ));
    }
}

/// RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR: every align_corners / half_pixel_centers
/// combination, up- and down-sampling.
fn resize(out: &mut Vec<OpCase>) {
    let sizes: [([i32; 4], [i32; 2]); 4] = [
        ([1, 4, 5, 3], [8, 10]),
        ([1, 7, 9, 2], [3, 4]),
        ([2, 3, 3, 4], [7, 5]),
        ([1, 6, 4, 12], [11, 9]),
    ];
    for bilinear in [true, false] {
        for align_corners in [false, true] {
            for half_pixel_centers in [false, true] {
                for (input, size) in sizes {
                    let opts = ResizeOptions {
                        align_corners,
                        half_pixel_centers,
                    };
                    let op = if bilinear {
                        "RESIZE_BILINEAR"
                    } else {
                        "RESIZE_NEAREST_NEIGHBOR"
                    };
                    let name = format!(
                        "{}_{}_to_{}_align{}_half{}",
                        op.to_ascii_lowercase(),
                        shape_name(&input),
                        shape_name(&size),
                        align_corners as u8,
                        half_pixel_centers as u8
                    );
                    let (model, tolerance) = if bilinear {
                        let m = builder::resize_bilinear(input, size, opts);
                        (m, Tolerance::Elementwise)
                    } else {
                        let m = builder::resize_nearest_neighbor(input, size, opts);
                        (m, Tolerance::Movement)
                    };
                    let model = model.unwrap_or_else(|e| panic!("{name}: {e}"));
                    out.push(OpCase::new(name, op, model, tolerance));
                }
            }
        }
    }
}
