//! The GPU delegate's counters and memory on the builder's MobileNetV2 and real models
//! (face_detection_short_range, and palm_detection_lite for its PRELU folds): one queue
//! submission per partition per invoke, no more dispatches per invoke than GPU ops, activation
//! memory within 1.1x of the lower bound given by tensor lifetimes, f16 weights half the bytes
//! of f32 weights, and outputs that still agree with the CPU, with the kernels of either
//! inference preference (those for a fast single answer fewer and smaller). Also each fold of a
//! node into a convolution, against the CPU.

mod common;

use halfgpu::delegate::PartitionReport;
use halfgpu::gpu::{
    GpuDelegate, GpuDelegateOptions, InferencePreference, MemoryReport, PipelineStats, Precision,
};
use halfgpu::graph::{Graph, Op};
use halfgpu::model::schema::builtin;
use halfgpu::model::{
    builder::mobilenet_v2, read_model_file, Activation, BuiltinOptions, Conv2DOptions,
    DepthwiseConv2DOptions, Model, ModelBuilder, Padding,
};
use halfgpu::runtime::Interpreter;

/// What one interpreter on the GPU reported and counted.
struct Counted {
    memory: MemoryReport,
    partitions: usize,
    gpu_ops: usize,
    /// ADD, PAD and RELU nodes the graph pattern says are folded into a convolution.
    fused_nodes: usize,
    submits_per_invoke: f64,
    outputs: Vec<Vec<f32>>,
    /// The device's pipeline counters after the build (each delegate here opens its own).
    pipelines: PipelineStats,
}

/// Seeded inputs in [0, 1), the same for every run of a model.
fn fill_inputs(it: &mut Interpreter) {
    let mut state = 0x2545_f491_u32;
    for i in 0..it.input_count() {
        for v in it.input_mut::<f32>(i).unwrap() {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *v = (state >> 8) as f32 / (1u32 << 24) as f32;
        }
    }
}

fn outputs(it: &Interpreter) -> Vec<Vec<f32>> {
    (0..it.output_count())
        .map(|i| it.output::<f32>(i).unwrap().to_vec())
        .collect()
}

/// The largest |cpu - gpu| and the scale it is judged against, max(1, max |cpu|).
fn max_difference(cpu: &[f32], gpu: &[f32]) -> (f32, f32) {
    let scale = cpu.iter().fold(1f32, |s, x| s.max(x.abs()));
    let worst = cpu
        .iter()
        .zip(gpu)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    (worst, scale)
}

/// The modes the fold tests run in: F32 and F16, with and without subgroups, with the kernels
/// of either inference preference (for a fast single answer, the general kernels and the 1x1
/// kernels that read from their uniforms whether to add a residual).
fn modes() -> impl Iterator<Item = (Precision, bool, InferencePreference)> {
    [Precision::F32, Precision::F16]
        .into_iter()
        .flat_map(|p| [(p, true), (p, false)])
        .flat_map(|(p, subgroups)| {
            [
                InferencePreference::SustainedSpeed,
                InferencePreference::FastSingleAnswer,
            ]
            .map(|q| (p, subgroups, q))
        })
}

/// Builds `model` on `gpu` (everything must be delegated), invokes it `invokes` times and counts.
fn count(model: &Model, gpu: GpuDelegate, invokes: u64) -> Counted {
    let memory = gpu.memory_handle();
    let ctx = gpu.context().clone();
    let mut it = Interpreter::builder(model).delegate(gpu).build().unwrap();
    let report = it.delegation_report().clone();
    assert!(report.cpu_nodes.is_empty(), "{}", report.to_text());
    assert!(report.compile_failures.is_empty(), "{}", report.to_text());
    // GPU ops after fusion: each delegated node is one op (activations the file fused into an
    // op stay inside it; RESHAPE-like nodes count although they dispatch nothing), less the
    // residual ADDs folded into the 1x1 convolution producing one of their operands (and the
    // PADs of the other operand folded with them), standalone RELUs and PRELUs folded into the
    // convolution or ADD before them, and spatial PADs folded into the convolution after them.
    let fused_nodes = folded_nodes(model, &report.partitions);
    // Every pipeline was dispatched once at creation on the scratch buffers, with the uniforms
    // of one of its dispatches (so a driver that compiles on first dispatch does not do it
    // inside the first invoke).
    let pipelines = ctx.pipeline_stats();
    assert_eq!(
        pipelines.warm_up_dispatches, pipelines.pipelines_created,
        "{pipelines:?}"
    );
    let gpu_ops = report.delegated_nodes() - fused_nodes;
    fill_inputs(&mut it);
    let before = ctx.submissions();
    for _ in 0..invokes {
        it.invoke().unwrap();
    }
    let submits = ctx.submissions() - before;
    let memory = memory.lock().unwrap().clone();
    Counted {
        memory,
        partitions: report.partitions.len(),
        gpu_ops,
        fused_nodes,
        submits_per_invoke: submits as f64 / invokes as f64,
        outputs: outputs(&it),
        pipelines,
    }
}

/// The nodes of `model` the GPU delegate folds into a convolution, found from the graph
/// pattern: each `y = ADD(c, r)` where `c` is the output of a pointwise CONV_2D (1x1 filter,
/// stride 1, the input's height and width) in the same partition, read by nothing else and not
/// a model output, and `c`, `r` and `y` have one shape; the PAD computing `r` when it is in
/// that partition, read only by the ADD, not a model output, and pads only the channels at
/// their end, where the kernel can read its input (the vector kernels, for input and output
/// channels multiples of 4, need its channels a multiple of 4 too); and a RELU, RELU6 or
/// RELU_N1_TO_1 in the partition that alone reads the output (not a model output) of such an
/// ADD or of a CONV_2D / DEPTHWISE_CONV_2D, neither having an activation of its own; a PRELU
/// with constant slopes (FLOAT16 ones dequantized at plan time included), one per channel, in the partition, that alone reads the output (not a
/// model output) of such an ADD (when no RELU was folded into it) or of a CONV_2D;
/// and a PAD of only the height and width, with zeros, in the partition, read only by CONV_2D
/// or DEPTHWISE_CONV_2D nodes that are not pointwise, its output not a model output. Nothing
/// is folded into a convolution or ADD with a fused TANH (a second dispatch runs it).
fn folded_nodes(model: &Model, partitions: &[PartitionReport]) -> usize {
    let graph = Graph::from_model(model).unwrap();
    let producers = graph.producers();
    let consumers = graph.consumers();
    let partition_of = |n: usize| {
        let index = graph.nodes[n].index;
        partitions.iter().position(|p| p.nodes.contains(&index))
    };
    let shape = |t: usize| &graph.tensors[t].shape;
    // The input and output channels of a pointwise convolution.
    let pointwise = |n: usize| {
        let node = &graph.nodes[n];
        let Op::Conv2D(o) = &node.op else {
            return None;
        };
        let (x, w, y) = (
            shape(node.input(0)?),
            shape(node.input(1)?),
            shape(node.outputs[0]),
        );
        (o.activation != Activation::Tanh
            && w.len() == 4
            && w[1..3] == [1, 1]
            && o.stride_h == 1
            && o.stride_w == 1
            && x.len() == 4
            && y.len() == 4
            && x[1..3] == y[1..3])
            .then_some((x[3], y[3]))
    };
    // A convolution with a fused TANH, which runs as a second dispatch after it, so nothing
    // is folded into it.
    let tanh_fused = |n: usize| match &graph.nodes[n].op {
        Op::Conv2D(o) => o.activation == Activation::Tanh,
        Op::DepthwiseConv2D(o) => o.activation == Activation::Tanh,
        _ => false,
    };
    // The channels of the input of a PAD of only the channels at their end.
    let channel_pad = |n: usize| {
        let node = &graph.nodes[n];
        let (Op::Pad, Some(x), Some(p)) = (&node.op, node.input(0), node.input(1)) else {
            return None;
        };
        let p = graph.tensors[p].data.as_ref()?.as_slice::<i32>()?;
        let (x, y) = (shape(x), shape(node.outputs[0]));
        (p.len() == 8 && p[..7].iter().all(|&v| v == 0) && x.len() == 4 && x[..3] == y[..3])
            .then_some(x[3])
    };
    // A RELU-like node in partition `part` that alone reads `t`, which is not a model output.
    let relu_after = |t: usize, part: Option<usize>| {
        let [n] = consumers[t].as_slice() else {
            return false;
        };
        matches!(graph.nodes[*n].op, Op::Relu | Op::Relu6 | Op::ReluN1To1)
            && partition_of(*n) == part
            && !graph.outputs.contains(&t)
    };
    // A PRELU in partition `part` that alone reads `t`, which is not a model output, with
    // constant slopes, one per channel.
    let prelu_after = |t: usize, part: Option<usize>| {
        let [n] = consumers[t].as_slice() else {
            return false;
        };
        let node = &graph.nodes[*n];
        let (Op::Prelu, Some(alpha)) = (&node.op, node.input(1)) else {
            return false;
        };
        let a = &graph.tensors[alpha];
        // Constant, or made constant at plan time (a DEQUANTIZE of FLOAT16 constants).
        let constant = a.data.is_some()
            || producers[alpha].is_some_and(|d| {
                let d = &graph.nodes[d];
                matches!(d.op, Op::Dequantize)
                    && d.input(0).is_some_and(|i| graph.tensors[i].data.is_some())
            });
        let per_channel = constant
            && a.shape.split_last().is_some_and(|(&c, rest)| {
                Some(&c) == shape(t).last() && rest.iter().all(|&d| d == 1)
            });
        per_channel && partition_of(*n) == part && !graph.outputs.contains(&t)
    };
    // A PAD of only the height and width with zeros whose output is not a model output and is
    // read only by convolutions that pad (not pointwise), all in the PAD's partition, each
    // reading it as its input.
    let spatial_pad = |p: usize| {
        let node = &graph.nodes[p];
        let (Op::Pad, Some(pads)) = (&node.op, node.input(1)) else {
            return false;
        };
        let Some(v) = graph.tensors[pads]
            .data
            .as_ref()
            .and_then(|d| d.as_slice::<i32>())
        else {
            return false;
        };
        let t = node.outputs[0];
        let padding_conv = |n: usize| {
            let reader = &graph.nodes[n];
            matches!(reader.op, Op::Conv2D(_) | Op::DepthwiseConv2D(_))
                && !tanh_fused(n)
                && pointwise(n).is_none()
                && reader.input(0) == Some(t)
                && partition_of(n) == partition_of(p)
        };
        v.len() == 8
            && [v[0], v[1], v[6], v[7]] == [0; 4]
            && v[2..6].iter().all(|&x| x >= 0)
            && partition_of(p).is_some()
            && !consumers[t].is_empty()
            && consumers[t].iter().all(|&n| padding_conv(n))
            && !graph.outputs.contains(&t)
    };
    let mut folded = 0;
    // Spatial PADs in front of convolutions whose kernels pad (all but the 1x1 ones).
    folded += (0..graph.nodes.len()).filter(|&p| spatial_pad(p)).count();
    for (n, node) in graph.nodes.iter().enumerate() {
        // A standalone activation after a convolution without one.
        let linear = match &node.op {
            Op::Conv2D(o) => o.activation == Activation::None,
            Op::DepthwiseConv2D(o) => o.activation == Activation::None,
            _ => false,
        };
        if linear && partition_of(n).is_some() && relu_after(node.outputs[0], partition_of(n)) {
            folded += 1;
        }
        // A PRELU after a CONV_2D (every kernel it lowers to has a PRELU epilogue).
        if matches!(node.op, Op::Conv2D(_))
            && !tanh_fused(n)
            && partition_of(n).is_some()
            && prelu_after(node.outputs[0], partition_of(n))
        {
            folded += 1;
        }
    }
    for (add, node) in graph.nodes.iter().enumerate() {
        let (Op::Add(act), [Some(a), Some(b)], [y]) =
            (&node.op, node.inputs.as_slice(), node.outputs.as_slice())
        else {
            continue;
        };
        let part = partition_of(add);
        let only_for_add = |t: usize| consumers[t] == [add] && !graph.outputs.contains(&t);
        if a == b
            || shape(*a) != shape(*y)
            || shape(*b) != shape(*y)
            || part.is_none()
            || *act == Activation::Tanh
        {
            continue;
        }
        let conv = [(*a, *b), (*b, *a)].into_iter().find_map(|(c, r)| {
            let conv = producers[c]?;
            let channels = pointwise(conv)?;
            (partition_of(conv) == part && only_for_add(c)).then_some((channels, r))
        });
        let Some(((in_c, out_c), r)) = conv else {
            continue;
        };
        folded += 1;
        // A RELU after an ADD without activation, or else a PRELU after the sum.
        if (*act == Activation::None && relu_after(*y, part)) || prelu_after(*y, part) {
            folded += 1;
        }
        let vector = in_c % 4 == 0 && out_c % 4 == 0;
        let pad = producers[r]
            .filter(|&p| partition_of(p) == part && only_for_add(r))
            .and_then(channel_pad);
        if pad.is_some_and(|c| !vector || c % 4 == 0) {
            folded += 1;
        }
    }
    folded
}

fn cpu_outputs(model: &Model) -> Vec<Vec<f32>> {
    let mut it = Interpreter::builder(model).build().unwrap();
    fill_inputs(&mut it);
    it.invoke().unwrap();
    outputs(&it)
}

/// Checks target 3 (one submit per partition, dispatches <= GPU ops) and target 4 (activation
/// bytes within 1.1x of the lifetime bound; F16 and F32F16 weights 0.50x of F32) on `model`,
/// and that the F32 outputs agree with the CPU's within 1e-4 * max(1, max|cpu|).
fn check(name: &str, model: &Model) {
    let cpu = cpu_outputs(model);
    let mut runs = Vec::new();
    for preference in [
        InferencePreference::SustainedSpeed,
        InferencePreference::FastSingleAnswer,
    ] {
        let options = GpuDelegateOptions::default()
            .precision(Precision::F32)
            .inference_preference(preference);
        let Some(gpu) = common::gpu_delegate_with(options) else {
            return;
        };
        let run = count(model, gpu, 3);
        let m = &run.memory;
        eprintln!(
            "{name} F32 {preference}: {} partition(s), {} GPU ops ({} ADD / PAD / RELU / PRELU nodes \
             folded), {} dispatches and {} submits per invoke; activations {} bytes, lower bound \
             {} ({:.3}x); weights {} bytes; {} pipelines from {} bytes of WGSL",
            run.partitions,
            run.gpu_ops,
            run.fused_nodes,
            m.dispatches_per_invoke,
            run.submits_per_invoke,
            m.activation_bytes,
            m.activation_lower_bound_bytes,
            m.activation_bytes as f64 / m.activation_lower_bound_bytes as f64,
            m.weight_bytes,
            run.pipelines.pipelines_created,
            run.pipelines.wgsl_bytes,
        );
        assert!(run.partitions >= 1);
        assert_eq!(
            run.submits_per_invoke, run.partitions as f64,
            "{name} {preference}: submits per invoke"
        );
        assert!(m.dispatches_per_invoke > 0);
        assert!(
            m.dispatches_per_invoke <= run.gpu_ops,
            "{name} {preference}: {} dispatches per invoke for {} GPU ops",
            m.dispatches_per_invoke,
            run.gpu_ops
        );
        assert!(m.activation_lower_bound_bytes > 0);
        assert!(m.activation_bytes >= m.activation_lower_bound_bytes);
        assert!(
            m.activation_bytes as f64 <= 1.1 * m.activation_lower_bound_bytes as f64,
            "{name} {preference}: activations {} bytes, bound {}",
            m.activation_bytes,
            m.activation_lower_bound_bytes
        );
        assert_eq!(cpu.len(), run.outputs.len());
        for (k, (c, g)) in cpu.iter().zip(&run.outputs).enumerate() {
            assert_eq!(c.len(), g.len());
            let (worst, scale) = max_difference(c, g);
            assert!(
                worst <= 1e-4 * scale,
                "{name} {preference} output {k}: GPU differs from CPU by {worst} (scale {scale})"
            );
        }
        runs.push(run);
    }
    // Every model checked here has specialised kernels (a 3x3 or 5x5 depthwise, an RGB stem,
    // 1x1 layers of more than 16 channels) that a fast single answer replaces with general
    // ones or smaller blocks: no more pipelines, less code.
    let [sustained, fast] = [&runs[0].pipelines, &runs[1].pipelines];
    assert!(
        fast.pipelines_created <= sustained.pipelines_created
            && fast.wgsl_bytes < sustained.wgsl_bytes,
        "{name}: fast single answer {fast:?}, sustained speed {sustained:?}"
    );
    let m = &runs[0].memory;

    for p in [Precision::F16, Precision::F32F16] {
        let Some(gpu) = common::gpu_delegate(p) else {
            return;
        };
        if gpu.effective_precision() != p {
            assert!(!common::under_ci(), "{p} not available under CI");
            eprintln!("skipped {p}: {:?}", gpu.precision_note());
            continue;
        }
        let run = count(model, gpu, 2);
        let h = &run.memory;
        let ratio = h.weight_bytes as f64 / m.weight_bytes as f64;
        eprintln!(
            "{name} {p}: weights {} bytes ({ratio:.4}x F32); activations {} bytes, bound {}",
            h.weight_bytes, h.activation_bytes, h.activation_lower_bound_bytes
        );
        // Each weight buffer is padded to 4 bytes: within 2 bytes per buffer of exactly half.
        let slack = 2 * h.f32_constants_narrowed as u64 + 2 * h.f16_constants_uploaded_raw as u64;
        assert!(
            (2 * h.weight_bytes).abs_diff(m.weight_bytes) <= 2 * slack,
            "{name} {p}: weights {} bytes, F32 {}",
            h.weight_bytes,
            m.weight_bytes
        );
        assert!((0.495..=0.505).contains(&ratio), "{name} {p}: {ratio}");
        assert_eq!(
            run.submits_per_invoke, run.partitions as f64,
            "{name} {p}: submits"
        );
        assert!(h.dispatches_per_invoke <= run.gpu_ops, "{name} {p}");
        assert!(
            h.activation_bytes as f64 <= 1.1 * h.activation_lower_bound_bytes as f64,
            "{name} {p}: activations {} bytes, bound {}",
            h.activation_bytes,
            h.activation_lower_bound_bytes
        );
    }
}

#[test]
fn mobilenet_v2_counters_and_memory() {
    let model = mobilenet_v2(7);
    // Its ten inverted residual blocks with a shortcut end in 1x1 projection + ADD.
    let partitions = [PartitionReport {
        delegate: "all".into(),
        nodes: (0..model.subgraphs[0].operators.len()).collect(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        detail: None,
    }];
    assert_eq!(folded_nodes(&model, &partitions), 10);
    check("mobilenet_v2 (builder)", &model);
}

/// A pseudo-random value in [-1, 1) for index `i` of stream `seed`.
fn uniform(seed: u32, i: usize) -> f32 {
    let mut v = (i as u32).wrapping_mul(0x9e37_79b9) ^ seed.wrapping_mul(0x85eb_ca6b);
    v ^= v >> 15;
    v = v.wrapping_mul(0x2c1b_3c6d);
    v ^= v >> 12;
    (v >> 8) as f32 / (1u32 << 23) as f32 - 1.0
}

/// Appends a CONV_2D (`k` x `k`, `stride`, SAME padding, seeded filter and bias, `activation`)
/// of `x` ([1, h, w, c]) to `oc` channels and returns its output.
fn seeded_conv(
    b: &mut ModelBuilder,
    x: i32,
    [h, w, c]: [i32; 3],
    oc: i32,
    k: i32,
    stride: i32,
    activation: Activation,
) -> i32 {
    let scale = 2.0 / ((c * k * k) as f32).sqrt();
    let filter: Vec<f32> = (0..(oc * k * k * c) as usize)
        .map(|i| scale * uniform(1, i))
        .collect();
    let bias: Vec<f32> = (0..oc as usize).map(|i| uniform(2, i)).collect();
    let filter = b.const_f32("filter", &[oc, k, k, c], &filter).unwrap();
    let bias = b.const_f32("bias", &[oc], &bias).unwrap();
    let (oh, ow) = ((h + stride - 1) / stride, (w + stride - 1) / stride);
    let y = b.activation("conv", &[1, oh, ow, oc]);
    let options = Conv2DOptions {
        padding: Padding::Same,
        stride_w: stride,
        stride_h: stride,
        activation,
        dilation_w: 1,
        dilation_h: 1,
    };
    b.op(
        builtin::CONV_2D,
        &[x, filter, bias],
        &[y],
        BuiltinOptions::Conv2D(options),
    )
    .unwrap();
    y
}

/// One residual block for [`residual_model`].
#[derive(Debug, Clone, Copy)]
struct Block {
    /// Input height, width, channels.
    shape: [i32; 3],
    /// Output channels of the convolution (more than the input's: the residual is padded).
    out_c: i32,
    conv_act: Activation,
    add_act: Activation,
    /// `ADD(t, r)` rather than `ADD(r, t)`.
    conv_first: bool,
    /// The convolution's output is a model output too.
    t_is_output: bool,
    /// The residual is `LOGISTIC(input)`, computed after the convolution.
    late: bool,
    /// A standalone RELU reads the sum (the model's output is the RELU's).
    relu: bool,
    /// A PRELU with one slope per channel, some negative, reads the sum (or the RELU's output);
    /// the model's output is the PRELU's.
    prelu: bool,
}

/// `input [1, h, w, c] -> CONV_2D 1x1 (c -> out_c, bias, conv_act) -> t; y = ADD(t, r)` with
/// `add_act`, where `r` is the input (or `LOGISTIC(input)`, see [`Block`]), PADded with zero
/// channels at their end to `out_c`; outputs `y`, `RELU(y)`, `PRELU(y)` or `PRELU(RELU(y))`
/// (and `t`).
fn residual_model(k: Block) -> Model {
    let [h, w, c] = k.shape;
    let oc = k.out_c;
    let mut b = ModelBuilder::new();
    let input = b.input("input", &[1, h, w, c]);
    let t = seeded_conv(&mut b, input, [h, w, c], oc, 1, 1, k.conv_act);
    let mut r = input;
    if k.late {
        r = b.activation("logistic", &[1, h, w, c]);
        b.op(builtin::LOGISTIC, &[input], &[r], BuiltinOptions::None)
            .unwrap();
    }
    if oc != c {
        let pads = b
            .const_i32("paddings", &[4, 2], &[0, 0, 0, 0, 0, 0, 0, oc - c])
            .unwrap();
        let padded = b.activation("padded", &[1, h, w, oc]);
        b.op(builtin::PAD, &[r, pads], &[padded], BuiltinOptions::None)
            .unwrap();
        r = padded;
    }
    let y = b.activation("sum", &[1, h, w, oc]);
    let operands = if k.conv_first { [t, r] } else { [r, t] };
    let add = BuiltinOptions::Add {
        activation: k.add_act,
        pot_scale_int16: false,
    };
    b.op(builtin::ADD, &operands, &[y], add).unwrap();
    let y = if k.relu {
        let out = b.activation("relu", &[1, h, w, oc]);
        b.op(builtin::RELU, &[y], &[out], BuiltinOptions::None)
            .unwrap();
        out
    } else {
        y
    };
    let y = if k.prelu {
        prelu(&mut b, y, [h, w, oc], &[1, 1, oc])
    } else {
        y
    };
    b.add_output(y).unwrap();
    if k.t_is_output {
        b.add_output(t).unwrap();
    }
    b.build()
}

/// A residual ADD after a 1x1 convolution runs in the convolution's dispatch (one dispatch for
/// both, for every 1x1 kernel with and without subgroups: channels a multiple of 16, of 4,
/// neither) and agrees with the CPU in F32 and F16; the convolution's activation comes before the sum, the ADD's after it.
/// Also folded when the residual is computed after the convolution (the sum runs in the ADD's
/// place), and with a PAD of the residual's channels (folded as well); not folded where the
/// convolution's output is also a model output.
#[test]
fn a_residual_add_is_folded_into_the_1x1_convolution() {
    use Activation::{None as Linear, Relu, Relu6};
    let block = |shape: [i32; 3], conv_act, add_act| Block {
        shape,
        out_c: shape[2],
        conv_act,
        add_act,
        conv_first: true,
        t_is_output: false,
        late: false,
        relu: false,
        prelu: false,
    };
    let cases = [
        block([5, 7, 16], Relu6, Linear),
        Block {
            conv_first: false,
            ..block([5, 7, 16], Linear, Relu)
        },
        block([3, 11, 8], Relu, Relu6),
        Block {
            conv_first: false,
            ..block([4, 5, 6], Relu6, Relu)
        },
        block([4, 5, 6], Linear, Linear),
        Block {
            late: true,
            ..block([3, 11, 8], Linear, Relu)
        },
        Block {
            t_is_output: true,
            ..block([5, 7, 16], Relu6, Relu)
        },
        // Padded residuals: 8 -> 16 channels (vector kernels: 8 x 16 without subgroups, 4 x 16
        // with), 4 -> 12 (8 x 8 / 4 x 16), 6 -> 7 (scalar), and a padded residual computed
        // after the convolution.
        Block {
            out_c: 16,
            ..block([5, 7, 8], Linear, Relu)
        },
        Block {
            out_c: 12,
            conv_first: false,
            ..block([3, 5, 4], Relu6, Linear)
        },
        Block {
            out_c: 7,
            ..block([4, 5, 6], Linear, Relu6)
        },
        Block {
            out_c: 16,
            late: true,
            ..block([5, 7, 8], Linear, Relu)
        },
        // A standalone RELU after the sum becomes the ADD's activation (not when the ADD has
        // one; the convolution's comes before the sum regardless).
        Block {
            out_c: 16,
            relu: true,
            ..block([5, 7, 8], Relu6, Linear)
        },
        Block {
            relu: true,
            ..block([4, 5, 6], Linear, Linear)
        },
        Block {
            relu: true,
            ..block([5, 7, 16], Linear, Relu6)
        },
        // A PRELU after the sum is folded as well: after a 4 x 32 block with a partial last
        // block (40 channels), 16 channels, a padded residual, the scalar kernel (6 channels),
        // an ADD with an activation; not after a RELU that was folded.
        Block {
            prelu: true,
            ..block([3, 5, 40], Linear, Linear)
        },
        Block {
            prelu: true,
            ..block([5, 7, 16], Relu6, Linear)
        },
        Block {
            out_c: 16,
            prelu: true,
            ..block([5, 7, 8], Linear, Linear)
        },
        Block {
            prelu: true,
            conv_first: false,
            ..block([4, 5, 6], Linear, Relu)
        },
        Block {
            relu: true,
            prelu: true,
            ..block([3, 11, 8], Linear, Linear)
        },
    ];
    for (precision, subgroups, preference) in modes() {
        for k in cases {
            let name = format!("{precision} subgroups {subgroups} {preference} {k:?}");
            let model = residual_model(k);
            let Some(gpu) = common::gpu_delegate_with(
                GpuDelegateOptions::default()
                    .precision(precision)
                    .request_subgroups(subgroups)
                    .inference_preference(preference),
            ) else {
                return;
            };
            if gpu.effective_precision() != precision {
                assert!(!common::under_ci(), "{precision} not available under CI");
                eprintln!("skipped {precision}: {:?}", gpu.precision_note());
                continue;
            }
            let run = count(&model, gpu, 1);
            let padded = k.out_c != k.shape[2];
            // Nodes: CONV_2D, ADD, LOGISTIC when late, PAD when padded, RELU, PRELU; ADD and
            // PAD are folded, RELU when the ADD has no activation, PRELU when no RELU is.
            let relu_folds = k.relu && k.add_act == Linear;
            let prelu_folds = k.prelu && !k.relu;
            let nodes = 2
                + usize::from(k.late)
                + usize::from(padded)
                + usize::from(k.relu)
                + usize::from(k.prelu);
            let folded = if k.t_is_output {
                0
            } else {
                1 + usize::from(padded) + usize::from(relu_folds) + usize::from(prelu_folds)
            };
            assert_eq!(run.fused_nodes, folded, "{name}");
            assert_eq!(
                run.memory.dispatches_per_invoke,
                nodes - folded,
                "{name}: dispatches"
            );
            let cpu = close_to_cpu(&name, &model, precision, &run.outputs);
            // The ADD's activation matters: some sums are clamped, some not (the input is in
            // [0, 1), so only sums with an unclamped convolution go negative).
            if (k.conv_act, k.add_act, k.relu) == (Linear, Relu, false) {
                let clamped = cpu[0].iter().filter(|&&v| v == 0.0).count();
                assert!(
                    clamped > 0 && clamped < cpu[0].len(),
                    "{name}: {clamped} clamped"
                );
            }
        }
    }
}

/// Appends `PRELU(x)` (`x` of shape [1, h, w, c]) with constant slopes of shape `alpha`,
/// between -1 and 1, and returns its output.
fn prelu(b: &mut ModelBuilder, x: i32, [h, w, c]: [i32; 3], alpha: &[i32]) -> i32 {
    let n = alpha.iter().product::<i32>() as usize;
    let slopes: Vec<f32> = (0..n).map(|i| uniform(4, i)).collect();
    let alpha = b.const_f32("alpha", alpha, &slopes).unwrap();
    let y = b.activation("prelu", &[1, h, w, c]);
    b.op(builtin::PRELU, &[x, alpha], &[y], BuiltinOptions::None)
        .unwrap();
    y
}

/// A PRELU with one slope per channel after a convolution is applied by the convolution's
/// dispatch (one dispatch, the CPU's result in F32 and F16, with and without subgroups) for
/// every 1x1 kernel (40 channels: 4 x 32 blocks with subgroups, 8 x 8 without; 16; 6, the
/// scalar kernel), the general one (3x3, with a partial block of channels; 5x5 at stride 2)
/// and the RGB one (16 channels, and 8 for its 8-channel subgroup block), after the
/// convolution's own activation; not when the slopes differ per pixel or the convolution's
/// output is also a model output.
#[test]
fn a_prelu_is_folded_into_the_convolution_before_it() {
    use Activation::{None as Linear, ReluN1To1};
    // (kernel, stride, in channels, out channels, activation, slopes per pixel, conv output is
    // an output)
    let cases = [
        (1, 1, 8, 40, Linear, false, false),
        (1, 1, 16, 16, ReluN1To1, false, false),
        (1, 1, 4, 6, Linear, false, false),
        (3, 1, 8, 12, Linear, false, false),
        (5, 2, 5, 20, ReluN1To1, false, false),
        (3, 1, 3, 16, Linear, false, false),
        (3, 2, 3, 8, ReluN1To1, false, false),
        (1, 1, 8, 16, Linear, true, false),
        (3, 1, 8, 16, Linear, false, true),
    ];
    let (h, w) = (5, 7);
    for (precision, subgroups, preference) in modes() {
        for (k, stride, c, oc, activation, per_pixel, t_is_output) in cases {
            let name = format!(
                "{precision} subgroups {subgroups} {preference} {k}x{k}/{stride} {c}->{oc} {activation:?} \
                 per pixel {per_pixel} output {t_is_output}"
            );
            let mut b = ModelBuilder::new();
            let x = b.input("input", &[1, h, w, c]);
            let t = seeded_conv(&mut b, x, [h, w, c], oc, k, stride, activation);
            let (oh, ow) = ((h + stride - 1) / stride, (w + stride - 1) / stride);
            let alpha = if per_pixel { [oh, ow, oc] } else { [1, 1, oc] };
            let y = prelu(&mut b, t, [oh, ow, oc], &alpha);
            b.add_output(y).unwrap();
            if t_is_output {
                b.add_output(t).unwrap();
            }
            let model = b.build();
            let Some(gpu) = common::gpu_delegate_with(
                GpuDelegateOptions::default()
                    .precision(precision)
                    .request_subgroups(subgroups)
                    .inference_preference(preference),
            ) else {
                return;
            };
            let folded = usize::from(!per_pixel && !t_is_output);
            let Some(cpu) = two_nodes_folded(&name, &model, gpu, precision, folded) else {
                continue;
            };
            let negative = cpu[0].iter().filter(|&&v| v < 0.0).count();
            assert!(negative > 0, "{name}: the slopes were never used");
        }
    }
}

#[test]
fn face_detection_short_range_counters_and_memory() {
    let Some(assets) = common::assets() else {
        return;
    };
    let path = assets
        .join("models")
        .join("face_detection_short_range.tflite");
    let model = read_model_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    check("face_detection_short_range", &model);
}

/// BlazePalm: residual blocks ending in PRELU, folded into the 1x1 convolutions.
#[test]
fn palm_detection_lite_counters_and_memory() {
    let Some(assets) = common::assets() else {
        return;
    };
    let path = assets.join("models").join("palm_detection_lite.tflite");
    let model = read_model_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    check("palm_detection_lite", &model);
}

/// A 3x3 CONV_2D or DEPTHWISE_CONV_2D (multiplier 1) with seeded weights and a bias, for the
/// fold tests.
struct Conv3x3 {
    /// Input and output channels (equal for depthwise).
    channels: [i32; 2],
    depthwise: bool,
    stride: i32,
    padding: Padding,
    activation: Activation,
    /// Seeds of the filter values (and, plus one, of the bias).
    seed: u32,
}

impl Conv3x3 {
    /// Adds the convolution of `x` (an `h` x `w` image) to `b`; returns its output.
    fn add(&self, b: &mut ModelBuilder, x: i32, [h, w]: [i32; 2]) -> i32 {
        let [ic, oc] = self.channels;
        let (filter_shape, n) = if self.depthwise {
            ([1, 3, 3, oc], (9 * oc) as usize)
        } else {
            ([oc, 3, 3, ic], (9 * oc * ic) as usize)
        };
        let filter: Vec<f32> = (0..n).map(|i| 0.5 * uniform(self.seed, i)).collect();
        let bias: Vec<f32> = (0..oc as usize)
            .map(|i| uniform(self.seed + 1, i))
            .collect();
        let filter = b.const_f32("filter", &filter_shape, &filter).unwrap();
        let bias = b.const_f32("bias", &[oc], &bias).unwrap();
        let (s, p) = (self.stride, self.padding);
        let out = |size: i32| match p {
            Padding::Same => (size + s - 1) / s,
            Padding::Valid => (size - 3) / s + 1,
        };
        let y = b.activation("conv", &[1, out(h), out(w), oc]);
        let (code, options) = if self.depthwise {
            (
                builtin::DEPTHWISE_CONV_2D,
                BuiltinOptions::DepthwiseConv2D(DepthwiseConv2DOptions {
                    padding: p,
                    stride_w: s,
                    stride_h: s,
                    depth_multiplier: 1,
                    activation: self.activation,
                    dilation_w: 1,
                    dilation_h: 1,
                }),
            )
        } else {
            (
                builtin::CONV_2D,
                BuiltinOptions::Conv2D(Conv2DOptions {
                    padding: p,
                    stride_w: s,
                    stride_h: s,
                    activation: self.activation,
                    dilation_w: 1,
                    dilation_h: 1,
                }),
            )
        };
        b.op(code, &[x, filter, bias], &[y], options).unwrap();
        y
    }
}

/// A standalone RELU6 / RELU after a convolution (3x3, depthwise) without activation becomes
/// its activation: one dispatch, the CPU's result in F32 and F16; not when the convolution's
/// output is a model output too.
#[test]
fn a_standalone_relu_is_folded_into_the_convolution_before_it() {
    for precision in [Precision::F32, Precision::F16] {
        for (depthwise, relu6, t_is_output) in [
            (false, true, false),
            (true, false, false),
            (false, false, true),
        ] {
            let name = format!("{precision} depthwise {depthwise} relu6 {relu6} {t_is_output}");
            let (h, w, c) = (6, 5, 8);
            let mut b = ModelBuilder::new();
            let x = b.input("input", &[1, h, w, c]);
            let conv = Conv3x3 {
                channels: [c, c],
                depthwise,
                stride: 1,
                padding: Padding::Same,
                activation: Activation::None,
                seed: 3,
            };
            let t = conv.add(&mut b, x, [h, w]);
            let y = b.activation("relu", &[1, h, w, c]);
            let relu = if relu6 { builtin::RELU6 } else { builtin::RELU };
            b.op(relu, &[t], &[y], BuiltinOptions::None).unwrap();
            b.add_output(y).unwrap();
            if t_is_output {
                b.add_output(t).unwrap();
            }
            let model = b.build();
            let Some(gpu) = common::gpu_delegate(precision) else {
                return;
            };
            let folded = usize::from(!t_is_output);
            let Some(cpu) = two_nodes_folded(&name, &model, gpu, precision, folded) else {
                continue;
            };
            let clamped = cpu[0].iter().filter(|&&v| v == 0.0).count();
            assert!(
                clamped > 0 && clamped < cpu[0].len(),
                "{name}: {clamped} clamped"
            );
        }
    }
}

/// A fused TANH (which the kernels' shared activation does not handle: it only clamps) runs as a
/// second dispatch, in place on the op's output, after a general, depthwise or 1x1
/// convolution, and after an ADD, which is then not folded into the 1x1 convolution before it;
/// F32 and F16, against the CPU.
#[test]
fn a_fused_tanh_runs_in_a_dispatch_of_its_own_after_the_op() {
    let (h, w, c) = (6, 5, 8);
    // (name, the model's nodes, dispatches per invoke)
    let cases: [(&str, usize, usize); 4] = [
        ("general 3x3", 1, 2),
        ("depthwise 3x3", 1, 2),
        ("1x1", 1, 2),
        ("1x1 then ADD with TANH", 2, 3),
    ];
    for precision in [Precision::F32, Precision::F16] {
        for (case, (label, nodes, dispatches)) in cases.into_iter().enumerate() {
            let name = format!("{precision} {label}");
            let mut b = ModelBuilder::new();
            let x = b.input("input", &[1, h, w, c]);
            let y = match case {
                0 | 1 => Conv3x3 {
                    channels: [c, c],
                    depthwise: case == 1,
                    stride: 1,
                    padding: Padding::Same,
                    activation: Activation::Tanh,
                    seed: 5,
                }
                .add(&mut b, x, [h, w]),
                2 => seeded_conv(&mut b, x, [h, w, c], 2 * c, 1, 1, Activation::Tanh),
                _ => {
                    let t = seeded_conv(&mut b, x, [h, w, c], c, 1, 1, Activation::None);
                    let y = b.activation("sum", &[1, h, w, c]);
                    let add = BuiltinOptions::Add {
                        activation: Activation::Tanh,
                        pot_scale_int16: false,
                    };
                    b.op(builtin::ADD, &[t, x], &[y], add).unwrap();
                    y
                }
            };
            b.add_output(y).unwrap();
            let model = b.build();
            assert_eq!(model.subgraphs[0].operators.len(), nodes, "{name}");
            let Some(gpu) = common::gpu_delegate(precision) else {
                return;
            };
            let Some(cpu) = folded_and_dispatched(&name, &model, gpu, precision, 0, dispatches)
            else {
                continue;
            };
            // TANH's range, not a clamp's: values inside (-1, 1) other than 0.
            let inside = cpu[0]
                .iter()
                .filter(|v| v.abs() > 0.05 && v.abs() < 0.95)
                .count();
            assert!(
                inside > cpu[0].len() / 4,
                "{name}: {inside} values inside (-1, 1)"
            );
        }
    }
}

/// Runs a two-node `model` (one invoke) where `folded` of the nodes are expected to fold into
/// the other: checks the folded-node count, the dispatches, and the outputs against the CPU
/// ([`close_to_cpu`]). Returns the CPU's outputs, or `None` when the adapter cannot run
/// `precision` (outside CI only).
fn two_nodes_folded(
    name: &str,
    model: &Model,
    gpu: GpuDelegate,
    precision: Precision,
    folded: usize,
) -> Option<Vec<Vec<f32>>> {
    folded_and_dispatched(name, model, gpu, precision, folded, 2 - folded)
}

/// Runs `model` (one invoke) and checks that `folded` of its nodes were folded, that it
/// dispatched `dispatches` times, and its outputs against the CPU ([`close_to_cpu`]). Returns
/// the CPU's outputs, or `None` when the adapter cannot run `precision` (outside CI only).
fn folded_and_dispatched(
    name: &str,
    model: &Model,
    gpu: GpuDelegate,
    precision: Precision,
    folded: usize,
    dispatches: usize,
) -> Option<Vec<Vec<f32>>> {
    if gpu.effective_precision() != precision {
        assert!(!common::under_ci(), "{precision} not available under CI");
        return None;
    }
    let run = count(model, gpu, 1);
    assert_eq!(run.fused_nodes, folded, "{name}");
    assert_eq!(run.memory.dispatches_per_invoke, dispatches, "{name}");
    Some(close_to_cpu(name, model, precision, &run.outputs))
}

/// Checks `gpu` (the outputs of `model` on the GPU in `precision`) against the CPU's outputs,
/// 1e-5 relative in F32 and 1e-2 in the f16 modes, and returns the CPU's outputs.
fn close_to_cpu(
    name: &str,
    model: &Model,
    precision: Precision,
    gpu: &[Vec<f32>],
) -> Vec<Vec<f32>> {
    let tolerance = match precision {
        Precision::F32 => 1e-5,
        _ => 1e-2,
    };
    let cpu = cpu_outputs(model);
    for (o, (c, g)) in cpu.iter().zip(gpu).enumerate() {
        let (worst, scale) = max_difference(c, g);
        assert!(
            worst <= tolerance * scale,
            "{name} output {o}: GPU differs from CPU by {worst} (scale {scale})"
        );
    }
    cpu
}

/// A zero PAD of height and width read by several convolutions becomes each one's own padding
/// (the PAD dispatches nothing; pose_detection pads once for two depthwise branches), F32 and
/// F16, with and without subgroups; not when one reader cannot pad (a 1x1 convolution) or is
/// not a convolution.
#[test]
fn a_spatial_pad_read_by_several_convolutions_is_folded_into_each() {
    // (name, the second reader: 0 a 3x3 convolution, 1 a 1x1 convolution, 2 a RELU)
    let cases = [
        ("depthwise and general", 0),
        ("depthwise and 1x1", 1),
        ("depthwise and RELU", 2),
    ];
    for (precision, subgroups, preference) in modes() {
        for (label, second) in cases {
            let name = format!("{precision} subgroups {subgroups} {preference} {label}");
            let (h, w, c) = (6, 7, 8);
            let (ph, pw) = (h + 2, w + 2);
            let mut b = ModelBuilder::new();
            let x = b.input("input", &[1, h, w, c]);
            let paddings = b
                .const_i32("paddings", &[4, 2], &[0, 0, 1, 1, 1, 1, 0, 0])
                .unwrap();
            let padded = b.activation("padded", &[1, ph, pw, c]);
            b.op(builtin::PAD, &[x, paddings], &[padded], BuiltinOptions::Pad)
                .unwrap();
            let conv = |depthwise, seed| Conv3x3 {
                channels: [c, c],
                depthwise,
                stride: 1,
                padding: Padding::Valid,
                activation: Activation::None,
                seed,
            };
            let y0 = conv(true, 7).add(&mut b, padded, [ph, pw]);
            let y1 = match second {
                0 => conv(false, 8).add(&mut b, padded, [ph, pw]),
                1 => seeded_conv(&mut b, padded, [ph, pw, c], c, 1, 1, Activation::None),
                _ => {
                    let y = b.activation("relu", &[1, ph, pw, c]);
                    b.op(builtin::RELU, &[padded], &[y], BuiltinOptions::None)
                        .unwrap();
                    y
                }
            };
            b.add_output(y0).unwrap();
            b.add_output(y1).unwrap();
            let model = b.build();
            let Some(gpu) = common::gpu_delegate_with(
                GpuDelegateOptions::default()
                    .precision(precision)
                    .request_subgroups(subgroups)
                    .inference_preference(preference),
            ) else {
                return;
            };
            if gpu.effective_precision() != precision {
                assert!(!common::under_ci(), "{precision} not available under CI");
                continue;
            }
            let run = count(&model, gpu, 1);
            let folded = usize::from(second == 0);
            assert_eq!(run.fused_nodes, folded, "{name}");
            assert_eq!(run.memory.dispatches_per_invoke, 3 - folded, "{name}");
            close_to_cpu(&name, &model, precision, &run.outputs);
        }
    }
}

/// A zero PAD of height and width in front of a convolution becomes the convolution's own
/// padding (one dispatch, the PAD's output never stored) for the kernels that pad: the general
/// one, the RGB one and the depthwise ones, with and without subgroups; not when the padded
/// tensor is also a model output.
#[test]
fn a_spatial_pad_is_folded_into_the_convolution_after_it() {
    // (name, in channels, out channels, depthwise, stride, padded tensor is an output)
    let cases = [
        ("conv 8->8 stride 1", 8, 8, false, 1, false),
        ("conv rgb 3->16 stride 2", 3, 16, false, 2, false),
        ("depthwise 8 stride 2", 8, 8, true, 2, false),
        ("depthwise 12 stride 1", 12, 12, true, 1, false),
        (
            "depthwise 8 stride 2, pad is an output",
            8,
            8,
            true,
            2,
            true,
        ),
    ];
    for (precision, subgroups, preference) in modes() {
        for (label, ic, oc, depthwise, s, padded_is_output) in cases {
            let name = format!("{precision} subgroups {subgroups} {preference} {label}");
            let (h, w) = (9, 7);
            let [top, bottom, left, right] = [1, 2, 2, 1];
            let (ph, pw) = (h + top + bottom, w + left + right);
            let mut b = ModelBuilder::new();
            let x = b.input("input", &[1, h, w, ic]);
            let paddings = b
                .const_i32("paddings", &[4, 2], &[0, 0, top, bottom, left, right, 0, 0])
                .unwrap();
            let padded = b.activation("padded", &[1, ph, pw, ic]);
            b.op(builtin::PAD, &[x, paddings], &[padded], BuiltinOptions::Pad)
                .unwrap();
            let conv = Conv3x3 {
                channels: [ic, oc],
                depthwise,
                stride: s,
                padding: Padding::Valid,
                activation: Activation::Relu6,
                seed: 5,
            };
            let y = conv.add(&mut b, padded, [ph, pw]);
            b.add_output(y).unwrap();
            if padded_is_output {
                b.add_output(padded).unwrap();
            }
            let model = b.build();
            let Some(gpu) = common::gpu_delegate_with(
                GpuDelegateOptions::default()
                    .precision(precision)
                    .request_subgroups(subgroups)
                    .inference_preference(preference),
            ) else {
                return;
            };
            let folded = usize::from(!padded_is_output);
            two_nodes_folded(&name, &model, gpu, precision, folded);
        }
    }
}
