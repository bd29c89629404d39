//! The `.tflite` writer and the model builder, checked against the reader and against the
//! reference runtime (ai-edge-litert in `target/test-assets/venv`).

use std::path::{Path, PathBuf};
use std::process::Command;

use halfgpu::model::builder::{self, mobilenet_v2};
use halfgpu::model::schema::builtin;
use halfgpu::model::*;

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-assets")
}

/// `Some(path)` if `path` exists. Otherwise fails when `CI` is set, else says "skipped".
fn require(path: PathBuf, test: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{test}: {} is missing (run scripts/fetch-test-assets.sh)",
            path.display()
        );
    }
    eprintln!("{test}: skipped ({} is missing)", path.display());
    None
}

fn real_models(test: &str) -> Option<Vec<PathBuf>> {
    let dir = require(assets().join("models"), test)?;
    let mut models = std::fs::read_dir(&dir)
        .expect("list models")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "tflite"))
        .collect::<Vec<_>>();
    models.sort();
    assert!(!models.is_empty(), "no .tflite files in {}", dir.display());
    Some(models)
}

fn python(test: &str) -> Option<PathBuf> {
    require(assets().join("venv/bin/python"), test)
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/compare_outputs.py")
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("writer-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .expect("file stem")
        .to_string_lossy()
        .into_owned()
}

/// The file offsets at which each buffer's data starts (for buffers with data).
fn buffer_data_offsets(bytes: &[u8]) -> Vec<usize> {
    let u32_at = |p: usize| u32::from_le_bytes(bytes[p..p + 4].try_into().unwrap()) as usize;
    let field = |table: usize, slot: usize| -> Option<usize> {
        let vtable = (table as i64
            - i32::from_le_bytes(bytes[table..table + 4].try_into().unwrap()) as i64)
            as usize;
        let vt_len = u16::from_le_bytes([bytes[vtable], bytes[vtable + 1]]) as usize;
        let at = 4 + 2 * slot;
        if at + 2 > vt_len {
            return None;
        }
        let off = u16::from_le_bytes([bytes[vtable + at], bytes[vtable + at + 1]]) as usize;
        (off != 0).then_some(table + off)
    };
    let deref = |p: usize| p + u32_at(p);
    let root = deref(0);
    let buffers = deref(field(root, 4).expect("model has buffers"));
    (0..u32_at(buffers))
        .filter_map(|i| {
            let buffer = deref(buffers + 4 + 4 * i);
            field(buffer, 0).map(|f| deref(f) + 4)
        })
        .collect()
}

#[test]
fn real_models_round_trip() {
    let Some(models) = real_models("real_models_round_trip") else {
        return;
    };
    for path in models {
        let name = stem(&path);
        let original = std::fs::read(&path).expect("read model");
        let model = read_model(&original).unwrap_or_else(|e| panic!("{name}: read: {e}"));
        let written = write_model(&model).unwrap_or_else(|e| panic!("{name}: write: {e}"));
        let again = read_model(&written).unwrap_or_else(|e| panic!("{name}: re-read: {e}"));
        assert!(
            again == model,
            "{name}: the re-read model differs from the original"
        );
        let twice = write_model(&again).unwrap_or_else(|e| panic!("{name}: write again: {e}"));
        assert!(
            twice == written,
            "{name}: writing twice gave different bytes"
        );
        assert_eq!(&written[4..8], b"TFL3", "{name}: file identifier");
        let offsets = buffer_data_offsets(&written);
        let with_data = model.buffers.iter().filter(|b| !b.data.is_empty()).count();
        assert_eq!(offsets.len(), with_data, "{name}: buffers with data");
        for o in offsets {
            assert_eq!(
                o % 16,
                0,
                "{name}: buffer data at offset {o} is not 16-byte aligned"
            );
        }
        assert!(
            model.buffers[0].data.is_empty(),
            "{name}: buffer 0 is not empty"
        );
        eprintln!(
            "{name}: {} -> {} bytes, {} buffers",
            original.len(),
            written.len(),
            model.buffers.len()
        );
    }
}

#[test]
fn real_models_run_bit_identical_after_rewrite() {
    let test = "real_models_run_bit_identical_after_rewrite";
    let (Some(models), Some(python)) = (real_models(test), python(test)) else {
        return;
    };
    let dir = scratch(test);
    for path in models {
        let name = stem(&path);
        let Some(inputs) = require(assets().join(format!("reference/{name}.inputs.npz")), test)
        else {
            return;
        };
        let model = read_model(&std::fs::read(&path).expect("read")).expect("read model");
        let rewritten = dir.join(format!("{name}.tflite"));
        std::fs::write(&rewritten, write_model(&model).expect("write model")).expect("save");
        let out = Command::new(&python)
            .arg(script())
            .arg("compare")
            .arg(&path)
            .arg(&rewritten)
            .arg(&inputs)
            .output()
            .expect("run compare_outputs.py");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{name}: outputs differ after rewriting ({}):\n{stdout}\n{stderr}",
            out.status
        );
        assert!(
            stdout.contains("identical"),
            "{name}: no outputs compared:\n{stdout}"
        );
        eprint!("{name}: {stdout}");
    }
}

#[test]
fn undecoded_options_are_refused() {
    let mut model = halfgpu::model::builder::softmax(&[1, 4], 1.0).expect("softmax model");
    model.subgraphs[0].operators[0].builtin_options = BuiltinOptions::Other(120);
    match write_model(&model) {
        Err(ModelError::Unwritable(msg)) => assert!(msg.contains("120"), "{msg}"),
        other => panic!("expected Unwritable, got {other:?}"),
    }
}

/// Elements of all constant tensors (the parameter count).
fn param_count(model: &Model) -> usize {
    model.subgraphs[0]
        .tensors
        .iter()
        .filter(|t| !model.buffers[t.buffer as usize].data.is_empty())
        .map(|t| t.shape.iter().map(|&d| d as usize).product::<usize>())
        .sum()
}

/// Runs `compare_outputs.py run` on `models`; returns one JSON report per model.
fn run_reference(python: &Path, models: &[PathBuf], tensors: bool) -> Vec<serde_json::Value> {
    let mut cmd = Command::new(python);
    cmd.arg(script()).arg("run");
    if tensors {
        cmd.arg("--tensors");
    }
    let out = cmd.args(models).output().expect("run compare_outputs.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let reports = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON report"))
        .collect::<Vec<_>>();
    assert_eq!(
        reports.len(),
        models.len(),
        "one report per model expected:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for r in &reports {
        assert_eq!(r["ok"], true, "reference runtime failed: {r}");
    }
    assert!(
        out.status.success(),
        "compare_outputs.py run: {}",
        out.status
    );
    reports
}

/// The declared shape of the model's outputs.
fn output_shapes(model: &Model) -> Vec<Vec<i64>> {
    let sg = &model.subgraphs[0];
    sg.outputs
        .iter()
        .map(|&o| {
            sg.tensors[o as usize]
                .shape
                .iter()
                .map(|&d| d as i64)
                .collect()
        })
        .collect()
}

fn conv_opts(
    padding: Padding,
    stride: i32,
    dilation: i32,
    activation: Activation,
) -> Conv2DOptions {
    Conv2DOptions {
        padding,
        stride_w: stride,
        stride_h: stride,
        activation,
        dilation_w: dilation,
        dilation_h: dilation,
    }
}

fn dw_opts(padding: Padding, stride: i32, multiplier: i32) -> DepthwiseConv2DOptions {
    DepthwiseConv2DOptions {
        padding,
        stride_w: stride,
        stride_h: stride,
        depth_multiplier: multiplier,
        activation: Activation::Relu6,
        dilation_w: 1,
        dilation_h: 1,
    }
}

fn pool_opts(padding: Padding, k: i32, stride: i32) -> Pool2DOptions {
    Pool2DOptions {
        padding,
        stride_w: stride,
        stride_h: stride,
        filter_w: k,
        filter_h: k,
        activation: Activation::None,
    }
}

fn fc_opts(keep_num_dims: bool) -> FullyConnectedOptions {
    FullyConnectedOptions {
        activation: Activation::Relu,
        weights_format: 0,
        keep_num_dims,
        asymmetric_quantize_inputs: false,
    }
}

/// A hand-built model: float16 weights behind DEQUANTIZE, added to the input.
fn f16_add_model() -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input("x", &[1, 4, 4, 3]);
    let w = b
        .const_f16_dequantized("w", &[3], &[0.5, -1.25, 2.0])
        .expect("f16 constant");
    let y = b.activation("y", &[1, 4, 4, 3]);
    let add = BuiltinOptions::Add {
        activation: Activation::None,
        pot_scale_int16: true,
    };
    b.op(builtin::ADD, &[x, w], &[y], add).expect("add");
    b.add_output(y).expect("output");
    b.build()
}

/// Single-operator models covering the builder's helpers.
fn op_sweep() -> Vec<(String, Model)> {
    use Padding::{Same, Valid};
    let resize = |align_corners, half_pixel_centers| ResizeOptions {
        align_corners,
        half_pixel_centers,
    };
    let tconv = |padding, stride| TransposeConvOptions {
        padding,
        stride_w: stride,
        stride_h: stride,
        activation: Activation::None,
    };
    let cases: Vec<(&str, Result<Model, ModelError>)> = vec![
        (
            "conv_same_s1",
            builder::conv2d(
                [1, 9, 9, 5],
                [7, 3, 3, 5],
                conv_opts(Same, 1, 1, Activation::None),
                true,
                1,
            ),
        ),
        (
            "conv_same_s2_relu6",
            builder::conv2d(
                [1, 10, 11, 4],
                [8, 3, 3, 4],
                conv_opts(Same, 2, 1, Activation::Relu6),
                true,
                2,
            ),
        ),
        (
            "conv_valid_batch2",
            builder::conv2d(
                [2, 8, 8, 3],
                [4, 2, 3, 3],
                conv_opts(Valid, 1, 1, Activation::Relu),
                true,
                3,
            ),
        ),
        (
            "conv_dilated",
            builder::conv2d(
                [1, 12, 12, 2],
                [3, 3, 3, 2],
                conv_opts(Same, 1, 2, Activation::None),
                true,
                4,
            ),
        ),
        (
            "conv_1x1",
            builder::conv2d(
                [1, 7, 7, 16],
                [24, 1, 1, 16],
                conv_opts(Valid, 1, 1, Activation::None),
                true,
                5,
            ),
        ),
        (
            "dw_same_s1",
            builder::depthwise_conv2d([1, 9, 9, 8], [3, 3], dw_opts(Same, 1, 1), true, 6),
        ),
        (
            "dw_same_s2",
            builder::depthwise_conv2d([1, 10, 10, 6], [3, 3], dw_opts(Same, 2, 1), true, 7),
        ),
        (
            "dw_valid_mult2",
            builder::depthwise_conv2d([1, 8, 8, 3], [5, 5], dw_opts(Valid, 1, 2), true, 8),
        ),
        (
            "fc",
            builder::fully_connected(&[2, 20], 10, fc_opts(false), true, 9),
        ),
        (
            "fc_keep_dims",
            builder::fully_connected(&[1, 3, 4, 8], 5, fc_opts(true), false, 10),
        ),
        ("add_broadcast", builder::add(&[1, 4, 4, 3], &[3])),
        ("mul_broadcast", builder::mul(&[2, 1, 5], &[1, 3, 1])),
        ("sub", builder::sub(&[1, 6], &[1, 6])),
        ("div", builder::div(&[4, 1], &[1, 4])),
        (
            "maximum",
            builder::binary(builtin::MAXIMUM, &[3, 4], &[4], Activation::None),
        ),
        (
            "squared_difference",
            builder::binary(
                builtin::SQUARED_DIFFERENCE,
                &[2, 3],
                &[2, 3],
                Activation::None,
            ),
        ),
        (
            "add_relu6",
            builder::binary(builtin::ADD, &[1, 8], &[1, 8], Activation::Relu6),
        ),
        ("relu", builder::unary(builtin::RELU, &[1, 5, 5, 2])),
        ("relu6", builder::unary(builtin::RELU6, &[10])),
        ("logistic", builder::unary(builtin::LOGISTIC, &[2, 7])),
        ("tanh", builder::unary(builtin::TANH, &[3, 3])),
        (
            "hard_swish",
            builder::unary(builtin::HARD_SWISH, &[1, 4, 4, 4]),
        ),
        ("exp", builder::unary(builtin::EXP, &[6])),
        ("abs", builder::unary(builtin::ABS, &[6])),
        ("leaky_relu", builder::leaky_relu(&[2, 8], 0.2)),
        (
            "max_pool_same",
            builder::pool(builtin::MAX_POOL_2D, [1, 9, 9, 4], pool_opts(Same, 3, 2)),
        ),
        (
            "avg_pool_valid",
            builder::pool(
                builtin::AVERAGE_POOL_2D,
                [1, 8, 8, 3],
                pool_opts(Valid, 2, 2),
            ),
        ),
        (
            "avg_pool_global",
            builder::pool(
                builtin::AVERAGE_POOL_2D,
                [1, 7, 7, 32],
                pool_opts(Valid, 7, 1),
            ),
        ),
        ("softmax", builder::softmax(&[2, 10], 1.0)),
        ("softmax_beta", builder::softmax(&[1, 1, 1, 7], 0.5)),
        (
            "concat_channels",
            builder::concat(&[vec![1, 4, 4, 3], vec![1, 4, 4, 5]], 3),
        ),
        (
            "concat_negative_axis",
            builder::concat(&[vec![2, 3], vec![2, 1], vec![2, 4]], -1),
        ),
        ("reshape", builder::reshape(&[1, 4, 4, 3], &[1, -1])),
        ("reshape_4d", builder::reshape(&[2, 12], &[2, 2, 3, 2])),
        (
            "pad",
            builder::pad(&[1, 5, 5, 2], &[[0, 0], [1, 2], [2, 1], [0, 0]]),
        ),
        ("mean_hw", builder::mean(&[1, 6, 6, 8], &[1, 2], false)),
        ("mean_keep", builder::mean(&[1, 6, 6, 8], &[1, 2], true)),
        ("mean_last", builder::mean(&[3, 5], &[-1], false)),
        (
            "resize_up",
            builder::resize_bilinear([1, 4, 4, 3], [8, 8], resize(false, false)),
        ),
        (
            "resize_half_pixel",
            builder::resize_bilinear([1, 5, 3, 2], [7, 9], resize(false, true)),
        ),
        (
            "resize_align",
            builder::resize_bilinear([1, 4, 4, 1], [7, 7], resize(true, false)),
        ),
        (
            "strided_slice",
            builder::strided_slice(
                &[1, 8, 8, 4],
                &[0, 1, 0, 0],
                &[1, 7, 8, 4],
                &[1, 2, 3, 1],
                StridedSliceOptions::default(),
            ),
        ),
        (
            "strided_slice_masks",
            builder::strided_slice(
                &[4, 6],
                &[1, 0],
                &[0, -1],
                &[1, 1],
                StridedSliceOptions {
                    begin_mask: 0,
                    end_mask: 1,
                    shrink_axis_mask: 0,
                    ..Default::default()
                },
            ),
        ),
        (
            "strided_slice_shrink",
            builder::strided_slice(
                &[3, 5, 2],
                &[1, 0, 0],
                &[2, 5, 2],
                &[1, 2, 1],
                StridedSliceOptions {
                    shrink_axis_mask: 1,
                    ..Default::default()
                },
            ),
        ),
        (
            "strided_slice_reverse",
            builder::strided_slice(
                &[6, 2],
                &[-1, 0],
                &[0, 2],
                &[-2, 1],
                StridedSliceOptions {
                    end_mask: 1,
                    ..Default::default()
                },
            ),
        ),
        (
            "transpose",
            builder::transpose(&[1, 2, 3, 4], &[0, 3, 1, 2]),
        ),
        ("transpose_2d", builder::transpose(&[5, 3], &[1, 0])),
        (
            "transpose_conv_same",
            builder::transpose_conv([1, 4, 4, 6], [3, 3, 3, 6], tconv(Same, 2), true, 11),
        ),
        (
            "transpose_conv_valid",
            builder::transpose_conv([1, 3, 5, 2], [4, 2, 2, 2], tconv(Valid, 2), false, 12),
        ),
        ("f16_dequantize_add", Ok(f16_add_model())),
    ];
    cases
        .into_iter()
        .map(|(name, m)| {
            (
                name.to_string(),
                m.unwrap_or_else(|e| panic!("{name}: {e}")),
            )
        })
        .collect()
}

#[test]
fn single_op_models_run_in_reference_runtime() {
    let test = "single_op_models_run_in_reference_runtime";
    let Some(python) = python(test) else {
        return;
    };
    let dir = scratch(test);
    let sweep = op_sweep();
    let mut paths = Vec::new();
    for (name, model) in &sweep {
        let bytes = write_model(model).unwrap_or_else(|e| panic!("{name}: write: {e}"));
        let back = read_model(&bytes).unwrap_or_else(|e| panic!("{name}: read: {e}"));
        assert!(&back == model, "{name}: round trip changed the model");
        let path = dir.join(format!("{name}.tflite"));
        std::fs::write(&path, bytes).expect("save model");
        paths.push(path);
    }
    let reports = run_reference(&python, &paths, false);
    for ((name, model), report) in sweep.iter().zip(&reports) {
        let outputs = report["outputs"].as_array().expect("outputs");
        let declared = output_shapes(model);
        assert_eq!(outputs.len(), declared.len(), "{name}: output count");
        for (o, shape) in outputs.iter().zip(&declared) {
            let got = o["shape"]
                .as_array()
                .expect("shape")
                .iter()
                .map(|d| d.as_i64().expect("dim"))
                .collect::<Vec<_>>();
            assert_eq!(
                &got, shape,
                "{name}: the runtime's output shape differs from the builder's"
            );
            assert_eq!(o["dtype"], "float32", "{name}: output type");
            assert_eq!(o["finite"], true, "{name}: output not finite: {o}");
            let (min, max) = (
                o["min"].as_f64().expect("min"),
                o["max"].as_f64().expect("max"),
            );
            assert!(min.abs() + max.abs() > 0.0, "{name}: output is all zeros");
            assert!(
                max.abs() < 1e4 && min.abs() < 1e4,
                "{name}: output out of scale: {o}"
            );
        }
        eprintln!("{name}: ok {}", report["outputs"]);
    }
}

#[test]
fn mobilenet_v2_runs_in_reference_runtime() {
    let model = mobilenet_v2(7);
    let params = param_count(&model);
    let bytes = write_model(&model).expect("write MobileNetV2");
    eprintln!(
        "MobileNetV2: {params} parameters, {} bytes, {} operators, {} tensors",
        bytes.len(),
        model.subgraphs[0].operators.len(),
        model.subgraphs[0].tensors.len()
    );
    assert!(
        (3_300_000..=3_700_000).contains(&params),
        "{params} parameters"
    );
    let lower = params * 4;
    assert!(
        (lower..lower + lower / 50).contains(&bytes.len()),
        "file size {} for {params} float32 parameters",
        bytes.len()
    );
    assert_eq!(read_model(&bytes).expect("read back"), model, "round trip");
    assert_eq!(
        write_model(&mobilenet_v2(7)).expect("write"),
        bytes,
        "same seed, same bytes"
    );
    assert_ne!(mobilenet_v2(8), model, "another seed gives other weights");
    let count = |code: i32| {
        let sg = &model.subgraphs[0];
        sg.operators
            .iter()
            .filter(|op| model.operator_codes[op.opcode_index as usize].builtin_code == code)
            .count()
    };
    assert_eq!(count(builtin::CONV_2D), 1 + 16 + 17 + 1, "CONV_2D count");
    assert_eq!(
        count(builtin::DEPTHWISE_CONV_2D),
        17,
        "DEPTHWISE_CONV_2D count"
    );
    assert_eq!(count(builtin::ADD), 10, "residual ADD count");
    assert_eq!(model.operator_codes.len(), 6, "operator codes are shared");

    let test = "mobilenet_v2_runs_in_reference_runtime";
    let Some(python) = python(test) else {
        return;
    };
    let dir = scratch(test);
    let models = [(7, model), (8, mobilenet_v2(8))];
    let paths = models
        .iter()
        .map(|(seed, m)| {
            let path = dir.join(format!("mobilenet_v2_seed{seed}.tflite"));
            std::fs::write(&path, write_model(m).expect("write")).expect("save");
            path
        })
        .collect::<Vec<_>>();
    let reports = run_reference(&python, &paths, true);
    for ((seed, model), report) in models.iter().zip(&reports) {
        let out = &report["outputs"][0];
        eprintln!("MobileNetV2 seed {seed} output: {out}");
        assert_eq!(out["shape"], serde_json::json!([1, 1000]));
        assert_eq!(out["finite"], true, "{out}");
        let f = |k: &str| out[k].as_f64().expect("number");
        assert!(
            (f("mean") * 1000.0 - 1.0).abs() < 1e-3,
            "probabilities sum to one: {out}"
        );
        assert!(
            f("min") > 0.0 && f("max") < 0.5,
            "no class dominates: {out}"
        );
        assert!(f("max") / f("min") > 3.0, "classes are told apart: {out}");

        // Activations (tensors without data) stay of order one all the way through.
        let sg = &model.subgraphs[0];
        let stats = report["tensors"].as_object().expect("tensor stats");
        let mut checked = 0;
        let mut range = (f64::MAX, 0f64);
        for (i, t) in sg.tensors.iter().enumerate() {
            if t.buffer != 0 || sg.outputs.contains(&(i as i32)) || t.name == "input" {
                continue;
            }
            let s = stats
                .get(&i.to_string())
                .unwrap_or_else(|| panic!("no stats for {}", t.name));
            let (rms, max_abs) = (s[0].as_f64().expect("rms"), s[1].as_f64().expect("max"));
            assert!(
                (0.1..10.0).contains(&rms) && max_abs < 60.0,
                "seed {seed}: activation {} has rms {rms}, max |x| {max_abs}",
                t.name
            );
            range = (range.0.min(rms), range.1.max(rms));
            checked += 1;
        }
        assert!(checked > 60, "only {checked} activations checked");
        eprintln!(
            "seed {seed}: {checked} activations, rms {:.3}..{:.3}",
            range.0, range.1
        );
    }
}

#[test]
fn builder_shares_codes_and_checks_arguments() {
    let mut b = ModelBuilder::new();
    let x = b.input("x", &[1, 4]);
    let y = b.activation("y", &[1, 4]);
    let z = b.activation("z", &[1, 4]);
    b.op(builtin::RELU, &[x], &[y], BuiltinOptions::None)
        .expect("relu");
    b.op(builtin::RELU, &[y], &[z], BuiltinOptions::None)
        .expect("relu");
    let c = b
        .custom_op("MyOp", &[z, -1], &[y], vec![1, 2, 3])
        .expect("custom");
    assert_eq!(c, 2);
    assert!(
        b.op(builtin::RELU, &[99], &[y], BuiltinOptions::None)
            .is_err(),
        "bad input index"
    );
    assert!(
        b.op(builtin::RELU, &[x], &[-1], BuiltinOptions::None)
            .is_err(),
        "absent output"
    );
    assert!(
        b.op(builtin::CUSTOM, &[x], &[y], BuiltinOptions::None)
            .is_err(),
        "CUSTOM via op"
    );
    assert!(
        b.op(builtin::RELU, &[x], &[y], BuiltinOptions::Other(3))
            .is_err(),
        "Other options"
    );
    assert!(
        b.const_f32("w", &[2, 3], &[0.0; 5]).is_err(),
        "wrong constant length"
    );
    assert!(b.const_i32("w", &[-1], &[]).is_err(), "negative dimension");
    assert!(b.set_outputs(&[7]).is_err(), "bad output index");
    b.set_outputs(&[z]).expect("outputs");
    let model = b.build();
    assert_eq!(
        model.operator_codes.len(),
        2,
        "RELU shared, custom op separate"
    );
    assert_eq!(model.operator_codes[1].custom_code.as_deref(), Some("MyOp"));
    assert_eq!(model.operator_codes[1].builtin_code, builtin::CUSTOM);
    assert!(model.buffers[0].data.is_empty());
    let back = read_model(&write_model(&model).expect("write")).expect("read");
    assert_eq!(back, model);
    assert_eq!(
        back.subgraphs[0].operators[2].custom_options,
        Some(vec![1, 2, 3])
    );

    assert!(builder::conv2d(
        [1, 4, 4, 3],
        [2, 3, 3, 4],
        conv_opts(Padding::Same, 1, 1, Activation::None),
        true,
        0
    )
    .is_err());
    assert!(builder::conv2d(
        [1, 2, 2, 3],
        [2, 3, 3, 3],
        conv_opts(Padding::Valid, 1, 1, Activation::None),
        true,
        0
    )
    .is_err());
    assert!(builder::add(&[2, 3], &[4]).is_err());
    let slice = StridedSliceOptions::default();
    assert!(builder::strided_slice(&[-2], &[0], &[1], &[1], slice).is_err());
    assert!(builder::mean(&[-2, 3], &[0], false).is_err());
    assert!(builder::reshape(&[2, 3], &[4, -1]).is_err());
    assert!(builder::transpose(&[2, 3], &[0, 0]).is_err());
    assert!(builder::mean(&[2, 3], &[2], false).is_err());
    assert!(builder::concat(&[vec![1, 2], vec![2, 2]], 1).is_err());
    assert!(builder::pad(&[2, 3], &[[0, -1], [0, 0]]).is_err());
    assert!(
        builder::strided_slice(&[4], &[0], &[4], &[0], StridedSliceOptions::default()).is_err()
    );
    assert!(builder::conv2d(
        [1, 4, 4, 3],
        [i32::MAX, i32::MAX, 3, 3],
        conv_opts(Padding::Same, 1, 1, Activation::None),
        true,
        0
    )
    .is_err());
}

#[test]
fn writer_covers_every_option_variant() {
    // Every typed options value, with non-default fields, survives write -> read.
    let all = vec![
        BuiltinOptions::None,
        BuiltinOptions::Conv2D(conv_opts(Padding::Valid, 2, 3, Activation::Tanh)),
        BuiltinOptions::DepthwiseConv2D(dw_opts(Padding::Valid, 3, 4)),
        BuiltinOptions::Pool2D(pool_opts(Padding::Valid, 5, 2)),
        BuiltinOptions::FullyConnected(FullyConnectedOptions {
            activation: Activation::ReluN1To1,
            weights_format: 1,
            keep_num_dims: true,
            asymmetric_quantize_inputs: true,
        }),
        BuiltinOptions::Softmax { beta: 0.25 },
        BuiltinOptions::Concatenation {
            axis: -2,
            activation: Activation::SignBit,
        },
        BuiltinOptions::Add {
            activation: Activation::Relu,
            pot_scale_int16: false,
        },
        BuiltinOptions::Sub {
            activation: Activation::Relu6,
            pot_scale_int16: true,
        },
        BuiltinOptions::Mul {
            activation: Activation::Relu,
        },
        BuiltinOptions::Div {
            activation: Activation::Relu6,
        },
        BuiltinOptions::Reshape {
            new_shape: Some(vec![1, -1, 3]),
        },
        BuiltinOptions::Reshape {
            new_shape: Some(vec![]),
        },
        BuiltinOptions::Reshape { new_shape: None },
        BuiltinOptions::ResizeBilinear(ResizeOptions {
            align_corners: true,
            half_pixel_centers: false,
        }),
        BuiltinOptions::ResizeNearestNeighbor(ResizeOptions {
            align_corners: false,
            half_pixel_centers: true,
        }),
        BuiltinOptions::StridedSlice(StridedSliceOptions {
            begin_mask: 1,
            end_mask: 2,
            ellipsis_mask: 4,
            new_axis_mask: 8,
            shrink_axis_mask: 16,
            offset: true,
        }),
        BuiltinOptions::Reducer { keep_dims: true },
        BuiltinOptions::Pad,
        BuiltinOptions::PadV2,
        BuiltinOptions::MirrorPad {
            mode: MirrorPadMode::Symmetric,
        },
        BuiltinOptions::MirrorPad {
            mode: MirrorPadMode::Reflect,
        },
        BuiltinOptions::LeakyRelu { alpha: 0.1 },
        BuiltinOptions::Squeeze {
            squeeze_dims: vec![0, 2],
        },
        BuiltinOptions::Transpose,
        BuiltinOptions::Gather {
            axis: 1,
            batch_dims: 2,
        },
        BuiltinOptions::Split { num_splits: 3 },
        BuiltinOptions::SplitV { num_splits: 4 },
        BuiltinOptions::Pack {
            values_count: 2,
            axis: -1,
        },
        BuiltinOptions::Unpack { num: 5, axis: 1 },
        BuiltinOptions::DepthToSpace { block_size: 2 },
        BuiltinOptions::SpaceToDepth { block_size: 4 },
        BuiltinOptions::TransposeConv(TransposeConvOptions {
            padding: Padding::Valid,
            stride_w: 2,
            stride_h: 3,
            activation: Activation::Relu,
        }),
        BuiltinOptions::Cast {
            in_type: 1,
            out_type: 9,
        },
        BuiltinOptions::Shape { out_type: 4 },
        BuiltinOptions::Shape { out_type: 2 },
        BuiltinOptions::Shape { out_type: 0 },
        BuiltinOptions::Slice,
        BuiltinOptions::Dequantize,
        BuiltinOptions::Densify,
        BuiltinOptions::HardSwish,
        BuiltinOptions::Exp,
        BuiltinOptions::Abs,
        BuiltinOptions::MaximumMinimum,
        BuiltinOptions::SquaredDifference,
    ];
    let mut b = ModelBuilder::new();
    let x = b.input("x", &[1]);
    for (i, o) in all.iter().enumerate() {
        let y = b.activation(&format!("t{i}"), &[1]);
        b.op(100 + i as i32, &[x], &[y], o.clone()).expect("op");
    }
    let mut model = b.build();
    // Fields the builder never sets: quantization, sparsity, signatures, metadata, ...
    let sg = &mut model.subgraphs[0];
    sg.tensors[0].quantization = Some(Quantization {
        min: vec![-1.0],
        max: vec![1.0],
        scale: vec![0.5, 0.25],
        zero_point: vec![3, -4],
        quantized_dimension: 1,
        has_details: false,
    });
    sg.tensors[1].quantization = Some(Quantization::default());
    sg.tensors[1].sparsity = Some(Sparsity {
        traversal_order: vec![0, 1, 2],
        block_map: vec![1],
        dim_metadata: vec![
            DimensionMetadata {
                sparse: false,
                dense_size: 4,
                array_segments: None,
                array_indices: None,
            },
            DimensionMetadata {
                sparse: true,
                dense_size: 0,
                array_segments: Some(IndexVector::I32(vec![0, 2, 3])),
                array_indices: Some(IndexVector::U16(vec![1, 3, 0])),
            },
            DimensionMetadata {
                sparse: true,
                dense_size: 0,
                array_segments: Some(IndexVector::U8(vec![0, 1])),
                array_indices: Some(IndexVector::U8(vec![])),
            },
        ],
    });
    sg.tensors[2].is_variable = true;
    sg.tensors[2].has_rank = true;
    sg.tensors[2].shape_signature = Some(vec![-1]);
    sg.tensors[3].dtype = TensorType::Unknown(77);
    sg.tensors[3].shape = vec![];
    sg.operators[0].intermediates = vec![1, 2];
    sg.operators[1].custom_options = Some(vec![]);
    sg.name = None;
    model.description = None;
    model.buffers.push(Buffer { data: vec![9; 33] });
    model.metadata_buffer = vec![1, 0];
    model.metadata = vec![Metadata {
        name: "min_runtime_version".into(),
        buffer: 1,
    }];
    model.signature_defs = vec![SignatureDef {
        key: "serving_default".into(),
        subgraph_index: 0,
        inputs: vec![("x".into(), 0)],
        outputs: vec![("t0".into(), 1), ("t1".into(), 2)],
    }];
    model.operator_codes.push(OperatorCode {
        builtin_code: 200,
        deprecated_builtin_code: 127,
        custom_code: None,
        version: 3,
    });
    let bytes = write_model(&model).expect("write");
    let back = read_model(&bytes).expect("read");
    assert_eq!(back, model);
    assert_eq!(write_model(&back).expect("write again"), bytes);
    for o in buffer_data_offsets(&bytes) {
        assert_eq!(o % 16, 0, "data at {o}");
    }

    let mut details = model.clone();
    details.subgraphs[0].tensors[0]
        .quantization
        .as_mut()
        .expect("q")
        .has_details = true;
    assert!(matches!(
        write_model(&details),
        Err(ModelError::Unwritable(_))
    ));
}
