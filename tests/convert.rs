//! The float16 converter (`halfgpu::convert`, `halfgpu convert`), checked on the builder's
//! MobileNetV2 and the fetched float32 real models, against the reference runtime
//! (ai-edge-litert in `target/test-assets/venv`, through `scripts/run_reference.py`).

mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use halfgpu::convert::{convert_fp16, ConvertError, ConvertOptions, ConvertReport};
use halfgpu::inspect::ModelSummary;
use halfgpu::model::builder::mobilenet_v2;
use halfgpu::model::schema::builtin;
use halfgpu::model::*;
use halfgpu::runtime::Interpreter;

/// Largest relative rounding error of a value in float16's normal range: half a unit in the
/// last place of an 11-bit significand.
const F16_UNIT_ROUNDOFF: f64 = 1.0 / 2048.0;

/// Bound on `max |converted - original|` for one output.
///
/// Rounding a weight `w` to float16 perturbs it by at most `u |w|` (`u = 2^-11`; values below
/// float16's normal range move by at most `2^-25`, negligible here), so a layer `y = sum w x`
/// moves by at most `u sum |w x|`, i.e. by about `u` relative to the scale of its output in
/// networks whose layers keep activations of order one. Those perturbations add up along the
/// network, at worst once per layer that reads converted weights, giving a relative error of
/// `layers * u`; `max(1, max |ref|)` turns it into an absolute bound for outputs of any scale
/// (probabilities and normalised coordinates are small, landmark pixels large). MobileNetV2
/// (53 such layers) gets 2.6e-2; the measured errors (printed) were 5 to 600 times smaller.
fn f16_bound(layers: usize, max_abs_ref: f64) -> f64 {
    layers as f64 * F16_UNIT_ROUNDOFF * max_abs_ref.max(1.0)
}

/// Allowance in bytes, per DEQUANTIZE added, for the graph the converter adds: the float32
/// tensor table (shape, name), the operator table, their offsets and the 16-byte alignment
/// of the new float16 buffer.
fn overhead_allowance(model: &Model, report: &ConvertReport) -> usize {
    let names: usize = model
        .subgraphs
        .iter()
        .flat_map(|g| &g.tensors)
        .filter(|t| t.name.ends_with(halfgpu::convert::DEQUANTIZED_SUFFIX))
        .map(|t| t.name.len())
        .sum();
    report.dequantize_added * 112 + names
}

fn python() -> Option<PathBuf> {
    let assets = common::assets()?;
    let p = assets.join("venv/bin/python");
    assert!(p.exists(), "{} missing", p.display());
    Some(p)
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/run_reference.py")
}

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("convert-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn convert(model: &Model) -> (Model, ConvertReport) {
    convert_fp16(model, &ConvertOptions::default()).expect("convert")
}

fn dequantize_count(model: &Model) -> usize {
    model.subgraphs[0]
        .operators
        .iter()
        .filter(|op| {
            model.operator_codes[op.opcode_index as usize].builtin_code == builtin::DEQUANTIZE
        })
        .count()
}

fn has_float32_constants(model: &Model) -> bool {
    model.subgraphs[0].tensors.iter().any(|t| {
        t.dtype == TensorType::Float32 && !model.buffers[t.buffer as usize].data.is_empty()
    })
}

/// Bytes of float32 constant data.
fn float32_constant_bytes(model: &Model) -> usize {
    model.subgraphs[0]
        .tensors
        .iter()
        .filter(|t| t.dtype == TensorType::Float32)
        .map(|t| model.buffers[t.buffer as usize].data.len())
        .sum()
}

/// Operators that read the output of a DEQUANTIZE of a FLOAT16 constant.
fn layers_reading_converted(model: &Model) -> usize {
    let sg = &model.subgraphs[0];
    let dequantized: HashSet<i32> = sg
        .operators
        .iter()
        .filter(|op| {
            model.operator_codes[op.opcode_index as usize].builtin_code == builtin::DEQUANTIZE
        })
        .flat_map(|op| op.outputs.iter().copied())
        .collect();
    sg.operators
        .iter()
        .filter(|op| op.inputs.iter().any(|t| dequantized.contains(t)))
        .count()
}

/// The fetched models with float32 constants: (name, file bytes, model). `None` when the
/// assets are missing outside CI.
fn float32_real_models() -> Option<Vec<(String, Vec<u8>, Model)>> {
    let assets = common::assets()?;
    let mut out = Vec::new();
    for name in common::model_names(&assets) {
        let bytes = std::fs::read(assets.join("models").join(format!("{name}.tflite")))
            .expect("read model");
        let model = read_model(&bytes).expect("parse model");
        if has_float32_constants(&model) {
            out.push((name, bytes, model));
        }
    }
    assert!(
        out.len() >= 4,
        "expected the 4 float32 real models, found {}",
        out.len()
    );
    Some(out)
}

/// Structural checks every converted model must pass.
fn check_structure(name: &str, original: &Model, converted: &Model, report: &ConvertReport) {
    let (a, b) = (&original.subgraphs[0], &converted.subgraphs[0]);
    assert_eq!(a.inputs, b.inputs, "{name}: inputs");
    assert_eq!(a.outputs, b.outputs, "{name}: outputs");
    for &t in a.inputs.iter().chain(&a.outputs) {
        // Buffer indices may be renumbered; the tensor and its data may not change.
        let (x, y) = (&a.tensors[t as usize], &b.tensors[t as usize]);
        let unnumbered = |t: &Tensor| Tensor {
            buffer: 0,
            ..t.clone()
        };
        assert_eq!(unnumbered(x), unnumbered(y), "{name}: io tensor {t}");
        assert_eq!(
            original.buffers[x.buffer as usize], converted.buffers[y.buffer as usize],
            "{name}: io tensor {t}"
        );
    }
    assert_eq!(
        original.signature_defs, converted.signature_defs,
        "{name}: signatures"
    );
    assert_eq!(
        dequantize_count(converted),
        dequantize_count(original) + report.tensors_converted,
        "{name}: DEQUANTIZE count"
    );
    assert_eq!(report.dequantize_added, report.tensors_converted, "{name}");
    assert_eq!(
        read_model(&write_model(converted).expect("write")).expect("read back"),
        *converted,
        "{name}: round trip"
    );

    // Execution order: every input exists before the operator that reads it.
    let mut ready: HashSet<i32> = b.inputs.iter().copied().collect();
    for (i, t) in b.tensors.iter().enumerate() {
        if !converted.buffers[t.buffer as usize].data.is_empty() {
            ready.insert(i as i32);
        }
    }
    for (k, op) in b.operators.iter().enumerate() {
        for t in &op.inputs {
            assert!(
                *t == -1 || ready.contains(t),
                "{name}: operator {k} reads {t} before it exists"
            );
        }
        ready.extend(op.outputs.iter().copied());
    }

    // No float32 constant is left for an operator other than DEQUANTIZE to read, every added
    // DEQUANTIZE turns a FLOAT16 constant into a float32 tensor of the same shape, and each
    // FLOAT16 constant has one DEQUANTIZE.
    let mut dequantized = HashSet::new();
    for op in &b.operators {
        let code = converted.operator_codes[op.opcode_index as usize].builtin_code;
        if code == builtin::DEQUANTIZE {
            let (i, o) = (
                &b.tensors[op.inputs[0] as usize],
                &b.tensors[op.outputs[0] as usize],
            );
            assert_eq!(
                (i.dtype, o.dtype),
                (TensorType::Float16, TensorType::Float32),
                "{name}"
            );
            assert_eq!(i.shape, o.shape, "{name}: {}", i.name);
            assert!(
                dequantized.insert(op.inputs[0]),
                "{name}: {} dequantized twice",
                i.name
            );
            continue;
        }
        for &t in op.inputs.iter().filter(|&&t| t >= 0) {
            let t = &b.tensors[t as usize];
            let constant = !converted.buffers[t.buffer as usize].data.is_empty();
            assert!(
                !(constant && t.dtype == TensorType::Float32),
                "{name}: {} is still a float32 constant operand",
                t.name
            );
        }
    }

    // Float32 bytes are gone: the FLOAT16 data is half of them and no buffer is orphaned.
    let f16_bytes: usize = b
        .tensors
        .iter()
        .filter(|t| t.dtype == TensorType::Float16)
        .map(|t| converted.buffers[t.buffer as usize].data.len())
        .sum();
    let f16_before: usize = a
        .tensors
        .iter()
        .filter(|t| t.dtype == TensorType::Float16)
        .map(|t| original.buffers[t.buffer as usize].data.len())
        .sum();
    assert_eq!(
        f16_bytes - f16_before,
        report.parameters_converted * 2,
        "{name}"
    );
    assert_eq!(
        float32_constant_bytes(converted),
        0,
        "{name}: float32 constants left"
    );
    let mut used: HashSet<u32> = b.tensors.iter().map(|t| t.buffer).collect();
    used.extend(converted.metadata.iter().map(|m| m.buffer));
    used.extend(converted.metadata_buffer.iter().map(|&i| i as u32));
    for (i, buf) in converted.buffers.iter().enumerate().skip(1) {
        assert!(
            used.contains(&(i as u32)) || buf.data.is_empty(),
            "{name}: buffer {i} ({} bytes) is referenced by nothing",
            buf.data.len()
        );
    }
    // Metadata keeps its bytes through the buffer renumbering.
    assert_eq!(original.metadata.len(), converted.metadata.len(), "{name}");
    for (m, n) in original.metadata.iter().zip(&converted.metadata) {
        assert_eq!(m.name, n.name, "{name}");
        assert_eq!(
            original.buffers[m.buffer as usize], converted.buffers[n.buffer as usize],
            "{name}: metadata {} changed",
            m.name
        );
    }
    assert_eq!(
        original.metadata_buffer.len(),
        converted.metadata_buffer.len(),
        "{name}"
    );
    for (&m, &n) in original
        .metadata_buffer
        .iter()
        .zip(&converted.metadata_buffer)
    {
        assert_eq!(
            original.buffers[m as usize], converted.buffers[n as usize],
            "{name}"
        );
    }
}

#[test]
fn mobilenet_v2_halves_and_keeps_its_structure() {
    let model = mobilenet_v2(7);
    let before = write_model(&model).expect("write").len();
    let (converted, report) = convert(&model);
    let after = write_model(&converted).expect("write").len();
    eprintln!(
        "MobileNetV2: {before} -> {after} bytes, ratio {:.4}, {} tensors, {} parameters, \
         max relative rounding error {:.3e} (normal range {:.3e}), {} flushed to zero",
        report.ratio,
        report.tensors_converted,
        report.parameters_converted,
        report.max_relative_rounding_error,
        report.max_relative_rounding_error_normal,
        report.values_flushed_to_zero
    );
    assert_eq!((report.size_before, report.size_after), (before, after));
    assert!(
        after as f64 <= 0.505 * before as f64,
        "ratio {}",
        report.ratio
    );
    // 52 convolutions and the classifier, each with weights and bias.
    assert_eq!(report.tensors_converted, 2 * 53);
    assert!(report.max_relative_rounding_error_normal <= F16_UNIT_ROUNDOFF);
    assert!(report.overflow.is_empty());
    check_structure("MobileNetV2", &model, &converted, &report);
}

#[test]
fn mobilenet_v2_runs_close_on_the_cpu() {
    use rand::{Rng, SeedableRng};
    let model = mobilenet_v2(7);
    let (converted, _) = convert(&model);
    let layers = layers_reading_converted(&converted);
    assert_eq!(layers, 53);
    let mut a = Interpreter::builder(&model)
        .threads(2)
        .build()
        .expect("build");
    let mut b = Interpreter::builder(&converted)
        .threads(2)
        .build()
        .expect("build");
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    for _ in 0..3 {
        let x: Vec<f32> = (0..224 * 224 * 3).map(|_| rng.random::<f32>()).collect();
        a.set_input::<f32>(0, &x).expect("input");
        b.set_input::<f32>(0, &x).expect("input");
        a.invoke().expect("invoke");
        b.invoke().expect("invoke");
        let (p, q) = (
            a.output::<f32>(0).expect("out"),
            b.output::<f32>(0).expect("out"),
        );
        let diff = p
            .iter()
            .zip(q)
            .map(|(x, y)| (x - y).abs() as f64)
            .fold(0.0, f64::max);
        let max_ref = p.iter().map(|x| x.abs() as f64).fold(0.0, f64::max);
        let argmax =
            |v: &[f32]| (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best });
        eprintln!("halfgpu CPU: max |diff| {diff:.3e}, max |ref| {max_ref:.3e}");
        assert!(diff <= f16_bound(layers, max_ref), "max |diff| {diff}");
        assert_eq!(argmax(p), argmax(q));
    }
}

#[test]
fn real_float32_models_shrink() {
    let Some(models) = float32_real_models() else {
        return;
    };
    for (name, bytes, model) in &models {
        let (converted, report) = convert(model);
        let written = write_model(&converted).expect("write");
        // The float32 constants can at best halve; the rest of the file (graph, names) stays.
        let halved = report.size_before - float32_constant_bytes(model) / 2;
        let allowance = overhead_allowance(&converted, &report);
        eprintln!(
            "{name}: file {} bytes, written {} -> {} bytes, ratio {:.4} (vs file {:.4}); \
             ideal ratio {:.4}; {} tensors, {} parameters, graph overhead {} bytes \
             (allowance {allowance}); max relative rounding error {:.3e} (normal range {:.3e}), \
             {} flushed to zero",
            bytes.len(),
            report.size_before,
            report.size_after,
            report.ratio,
            written.len() as f64 / bytes.len() as f64,
            halved as f64 / report.size_before as f64,
            report.tensors_converted,
            report.parameters_converted,
            report.size_after as i64 - halved as i64,
            report.max_relative_rounding_error,
            report.max_relative_rounding_error_normal,
            report.values_flushed_to_zero,
        );
        assert_eq!(written.len(), report.size_after, "{name}");
        assert!(
            report.size_after <= halved + allowance,
            "{name}: {} bytes",
            report.size_after
        );
        assert!(report.tensors_converted > 0, "{name}");
        assert!(
            report.max_relative_rounding_error_normal <= F16_UNIT_ROUNDOFF,
            "{name}"
        );
        check_structure(name, model, &converted, &report);
        // Where the weights are most of the file the ratio approaches one half.
        if float32_constant_bytes(model) as f64 > 0.95 * report.size_before as f64 {
            assert!(report.ratio < 0.52, "{name}: ratio {}", report.ratio);
        }
    }
}

#[test]
fn fp16_models_are_left_unchanged() {
    let Some(assets) = common::assets() else {
        return;
    };
    let mut checked = 0;
    for name in common::model_names(&assets) {
        let model = read_model_file(assets.join("models").join(format!("{name}.tflite")))
            .expect("read model");
        if has_float32_constants(&model) {
            continue;
        }
        let (converted, report) = convert(&model);
        assert_eq!(converted, model, "{name}");
        assert_eq!(
            (report.tensors_converted, report.dequantize_added),
            (0, 0),
            "{name}"
        );
        assert_eq!(report.size_before, report.size_after, "{name}");
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} float16 models");
}

#[test]
fn converting_twice_is_byte_identical() {
    let mut models = vec![("MobileNetV2".to_string(), mobilenet_v2(3))];
    if let Some(real) = float32_real_models() {
        models.extend(real.into_iter().map(|(n, _, m)| (n, m)));
    }
    for (name, model) in &models {
        let (once, _) = convert(model);
        let (twice, report) = convert(&once);
        assert_eq!(report.tensors_converted, 0, "{name}");
        assert_eq!(
            write_model(&once).expect("write"),
            write_model(&twice).expect("write"),
            "{name}"
        );
    }
}

/// input x [1, 4] -> ADD(x, w) -> MUL(., w) -> RESHAPE(., shape) -> out; also a float32
/// constant that is a graph output, and a quantized float32 constant read by an ADD.
fn small_model(w: &[f32]) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input("x", &[1, 4]);
    let relu = b.activation("relu", &[1, 4]);
    b.op(builtin::RELU, &[x], &[relu], BuiltinOptions::None)
        .expect("op");
    let w = b.const_f32("w", &[4], w).expect("const");
    let q = b.const_f32("q", &[4], &[1.0; 4]).expect("const");
    let kept = b
        .const_f32("kept_output", &[2], &[3.0, 4.0])
        .expect("const");
    let shape = b.const_i32("shape", &[2], &[2, 2]).expect("const");
    let add = BuiltinOptions::Add {
        activation: Activation::None,
        pot_scale_int16: true,
    };
    let mul = BuiltinOptions::Mul {
        activation: Activation::None,
    };
    let (s, p, p2, r, y) = (
        b.activation("sum", &[1, 4]),
        b.activation("product", &[1, 4]),
        b.activation("shifted", &[1, 4]),
        b.activation("reshaped", &[2, 2]),
        b.activation("y", &[2, 2]),
    );
    b.op(builtin::ADD, &[relu, w], &[s], add.clone())
        .expect("op");
    b.op(builtin::MUL, &[s, w], &[p], mul).expect("op");
    b.op(builtin::ADD, &[p, q], &[p2], add.clone()).expect("op");
    let reshape = BuiltinOptions::Reshape { new_shape: None };
    b.op(builtin::RESHAPE, &[p2, shape], &[r], reshape)
        .expect("op");
    b.op(builtin::ADD, &[r, r], &[y], add).expect("op");
    b.set_outputs(&[y, kept]).expect("outputs");
    let mut m = b.build();
    let sg = &mut m.subgraphs[0];
    sg.tensors[q as usize].quantization = Some(Quantization {
        scale: vec![0.5],
        zero_point: vec![0],
        ..Default::default()
    });
    // Metadata after the weights, so dropping the float32 buffer renumbers it.
    m.buffers.push(Buffer {
        data: b"metadata bytes".to_vec(),
    });
    m.metadata.push(Metadata {
        name: "note".into(),
        buffer: (m.buffers.len() - 1) as u32,
    });
    m
}

#[test]
fn shared_constant_gets_one_dequantize_before_its_first_reader() {
    let model = small_model(&[0.1, -0.2, 0.3, 1.0 / 3.0]);
    let (converted, report) = convert(&model);
    assert_eq!(report.tensors_converted, 1, "{report:?}");
    // The graph output, the quantized float and the int32 shape stay.
    assert_eq!(report.float32_constants_kept, 2);
    assert_eq!(report.parameters_converted, 4);
    let sg = &converted.subgraphs[0];
    let names: Vec<String> = sg
        .operators
        .iter()
        .map(|op| converted.op_name(op))
        .collect();
    assert_eq!(
        names,
        ["RELU", "DEQUANTIZE", "ADD", "MUL", "ADD", "RESHAPE", "ADD"]
    );
    let w = sg.tensors.iter().position(|t| t.name == "w").expect("w") as i32;
    let wd = sg
        .tensors
        .iter()
        .position(|t| t.name == "w/dequantize")
        .expect("w/dequantize") as i32;
    assert_eq!(sg.operators[1].inputs, [w]);
    assert_eq!(sg.operators[1].outputs, [wd]);
    assert_eq!(sg.operators[2].inputs[1], wd);
    assert_eq!(sg.operators[3].inputs[1], wd);
    let t = |name: &str| sg.tensors.iter().find(|t| t.name == name).expect(name);
    assert_eq!(t("w").dtype, TensorType::Float16);
    assert_eq!(t("q").dtype, TensorType::Float32);
    assert_eq!(t("kept_output").dtype, TensorType::Float32);
    assert_eq!(t("shape").dtype, TensorType::Int32);
    let data = &converted.buffers[t("w").buffer as usize].data;
    let halves: Vec<f32> = data
        .chunks_exact(2)
        .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
        .collect();
    assert_eq!(
        halves,
        [0.1, -0.2, 0.3, 1.0 / 3.0].map(|x: f32| half::f16::from_f32(x).to_f32())
    );
    assert_eq!(
        converted.buffers.len(),
        model.buffers.len(),
        "one buffer added, one dropped"
    );
    let note = &converted.metadata[0];
    assert_eq!(
        converted.buffers[note.buffer as usize].data,
        b"metadata bytes"
    );
    assert!(report.max_relative_rounding_error > 0.0);
    assert!(report.max_relative_rounding_error <= F16_UNIT_ROUNDOFF);

    // Both run on the CPU and agree to float16 precision.
    let run = |m: &Model| {
        let mut it = Interpreter::builder(m).threads(1).build().expect("build");
        it.set_input::<f32>(0, &[0.5, 0.25, 1.0, 2.0])
            .expect("input");
        it.invoke().expect("invoke");
        it.output::<f32>(0).expect("output").to_vec()
    };
    let (a, b) = (run(&model), run(&converted));
    for (x, y) in a.iter().zip(&b) {
        assert!(
            ((x - y).abs() as f64) <= f16_bound(2, x.abs() as f64),
            "{a:?} vs {b:?}"
        );
    }
}

#[test]
fn overflow_is_refused_unless_allowed() {
    let model = small_model(&[0.5, 1e6, -7e4, 1.0]);
    match convert_fp16(&model, &ConvertOptions::default()) {
        Err(ConvertError::Overflow(list)) => {
            assert_eq!(list.len(), 1);
            assert_eq!(
                (list[0].name.as_str(), list[0].count, list[0].max_abs),
                ("w", 2, 1e6)
            );
            let msg = ConvertError::Overflow(list).to_string();
            assert!(
                msg.contains("\"w\"") && msg.contains("allow overflow"),
                "{msg}"
            );
        }
        other => panic!("expected an overflow error, got {other:?}"),
    }
    let calls = std::cell::Cell::new(0);
    let progress = |done: usize, total: usize| {
        assert!(done <= total);
        calls.set(calls.get() + 1);
    };
    let options = ConvertOptions {
        allow_overflow: true,
        progress: Some(&progress),
    };
    let (converted, report) = convert_fp16(&model, &options).expect("allowed");
    assert_eq!(calls.get(), 1, "one progress call per tensor");
    assert_eq!(report.overflow.len(), 1);
    assert_eq!(report.overflow[0].name, "w");
    let sg = &converted.subgraphs[0];
    let w = sg.tensors.iter().find(|t| t.name == "w").expect("w");
    let data = &converted.buffers[w.buffer as usize].data;
    let x = half::f16::from_le_bytes([data[2], data[3]]);
    assert!(x.is_infinite() && x.is_sign_positive());
    assert!(report.to_text().contains("\"w\""));
}

/// Operator histogram and io from `ModelSummary` in the form `run_reference.py describe`
/// prints them.
fn summary_view(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).expect("read");
    let s = ModelSummary::new(&read_model(&bytes).expect("parse"), bytes.len());
    let io = |list: &[halfgpu::inspect::IoTensor]| {
        list.iter()
            .map(|t| serde_json::json!({"name": t.name, "shape": t.shape, "dtype": t.dtype}))
            .collect::<Vec<_>>()
    };
    serde_json::json!({"ops": s.op_counts, "inputs": io(&s.inputs), "outputs": io(&s.outputs)})
}

fn run_script(python: &Path, args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(python)
        .arg(script())
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "run_reference.py failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Converted MobileNetV2 and float32 real models written to `dir`: (name, original, converted).
fn write_pairs(dir: &Path) -> Vec<(String, PathBuf, PathBuf, usize)> {
    let mut models = vec![("mobilenet_v2".to_string(), mobilenet_v2(7))];
    models.extend(
        float32_real_models()
            .unwrap_or_default()
            .into_iter()
            .map(|(n, _, m)| (n, m)),
    );
    models
        .into_iter()
        .map(|(name, model)| {
            let (converted, _) = convert(&model);
            let a = dir.join(format!("{name}.tflite"));
            let b = dir.join(format!("{name}_fp16.tflite"));
            std::fs::write(&a, write_model(&model).expect("write")).expect("save");
            std::fs::write(&b, write_model(&converted).expect("write")).expect("save");
            (name, a, b, layers_reading_converted(&converted))
        })
        .collect()
}

#[test]
fn reference_runtime_sees_what_inspect_sees() {
    let Some(python) = python() else {
        return;
    };
    let dir = scratch("describe");
    let pairs = write_pairs(&dir);
    let paths: Vec<&std::ffi::OsStr> = pairs.iter().map(|p| p.2.as_os_str()).collect();
    let mut args = vec![std::ffi::OsStr::new("describe")];
    args.extend(paths);
    let stdout = run_script(&python, &args);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), pairs.len(), "{stdout}");
    for ((name, _, path, _), line) in pairs.iter().zip(lines) {
        let mut reference: serde_json::Value = serde_json::from_str(line).expect("json");
        let ours = summary_view(path);
        for key in ["ops", "inputs", "outputs"] {
            assert_eq!(ours[key], reference[key].take(), "{name}: {key}");
        }
        eprintln!("{name}: reference runtime agrees: {}", ours["ops"]);
    }
}

fn diff(python: &Path, a: &Path, b: &Path, inputs: &Path, batch: bool) -> serde_json::Value {
    let mut args = vec![std::ffi::OsStr::new("diff")];
    if batch {
        args.push("--batch".as_ref());
    }
    args.extend([a.as_os_str(), b.as_os_str(), inputs.as_os_str()]);
    serde_json::from_str(&run_script(python, &args)).expect("json")
}

/// Writes `n` seeded inputs (uniform in [0, 1), StdRng) of `shape` as one batched array "0".
fn seeded_batch(path: &Path, n: usize, shape: &[usize], seed: u64) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let count = n * shape.iter().product::<usize>();
    let bytes = (0..count)
        .flat_map(|_| rng.random::<f32>().to_le_bytes())
        .collect();
    let mut full = vec![n];
    full.extend(shape);
    let arr = halfgpu::npz::NpArray {
        shape: full,
        dtype: TensorType::Float32,
        bytes,
    };
    halfgpu::npz::write_npz(path, &[("0".to_string(), arr)]).expect("write npz");
}

#[test]
fn reference_runtime_outputs_stay_within_f16_bound() {
    let Some(python) = python() else {
        return;
    };
    let assets = common::assets().expect("assets");
    let dir = scratch("accuracy");
    for (name, a, b, layers) in write_pairs(&dir) {
        let mut inputs = Vec::new();
        if name == "mobilenet_v2" {
            let p = dir.join("mobilenet_v2.inputs.npz");
            seeded_batch(&p, 1, &[1, 224, 224, 3], 0);
            inputs.push(("seeded", p, true));
        } else {
            for kind in ["", ".image"] {
                let p = assets
                    .join("reference")
                    .join(format!("{name}{kind}.inputs.npz"));
                if p.exists() {
                    inputs.push((if kind.is_empty() { "seeded" } else { "image" }, p, false));
                }
            }
        }
        assert!(!inputs.is_empty(), "{name}: no inputs");
        for (kind, p, batch) in inputs {
            let report = diff(&python, &a, &b, &p, batch);
            for (i, o) in report["outputs"]
                .as_array()
                .expect("outputs")
                .iter()
                .enumerate()
            {
                let d = o["max_abs_diff"].as_f64().expect("diff");
                let r = o["max_abs_ref"].as_f64().expect("ref");
                let bound = f16_bound(layers, r);
                eprintln!(
                    "{name} ({kind} inputs) output {i}: max |diff| {d:.3e}, max |ref| {r:.3e}, \
                     relative {:.3e}, bound {bound:.3e} ({layers} layers)",
                    d / r.max(f64::MIN_POSITIVE)
                );
                assert!(d <= bound, "{name} output {i}: max |diff| {d} > {bound}");
                assert!(
                    d > 0.0,
                    "{name} output {i}: identical outputs, was anything converted?"
                );
            }
        }
    }
}

#[test]
fn mobilenet_v2_argmax_unchanged_on_100_inputs() {
    let Some(python) = python() else {
        return;
    };
    let dir = scratch("argmax");
    let model = mobilenet_v2(7);
    let (converted, _) = convert(&model);
    let layers = layers_reading_converted(&converted);
    let (a, b, p) = (
        dir.join("a.tflite"),
        dir.join("b.tflite"),
        dir.join("inputs.npz"),
    );
    std::fs::write(&a, write_model(&model).expect("write")).expect("save");
    std::fs::write(&b, write_model(&converted).expect("write")).expect("save");
    seeded_batch(&p, 100, &[1, 224, 224, 3], 100);
    let report = diff(&python, &a, &b, &p, true);
    assert_eq!(report["samples"], 100);
    let out = &report["outputs"][0];
    let (ra, rb) = (&out["argmax_ref"], &out["argmax_other"]);
    let classes: BTreeMap<i64, usize> =
        ra.as_array()
            .expect("argmax")
            .iter()
            .fold(BTreeMap::new(), |mut m, c| {
                *m.entry(c.as_i64().expect("class")).or_insert(0) += 1;
                m
            });
    let d = out["max_abs_diff"].as_f64().expect("diff");
    let r = out["max_abs_ref"].as_f64().expect("ref");
    eprintln!(
        "MobileNetV2, 100 inputs: max |diff| {d:.3e} (max |ref| {r:.3e}, bound {:.3e}); \
         top classes {classes:?}",
        f16_bound(layers, r)
    );
    assert_eq!(ra, rb, "argmax changed");
    assert!(d <= f16_bound(layers, r));
}

#[test]
fn cli_json_matches_the_library() {
    let dir = scratch("cli");
    let model = mobilenet_v2(7);
    let input = dir.join("mobilenet_v2.tflite");
    let output = dir.join("mobilenet_v2_fp16.tflite");
    std::fs::write(&input, write_model(&model).expect("write")).expect("save");
    let out = Command::new(env!("CARGO_BIN_EXE_halfgpu"))
        .arg("convert")
        .args([&input, &output])
        .args(["--fp16", "--json", "--verify"])
        .output()
        .expect("run halfgpu");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let (converted, report) = convert(&model);
    let lib = serde_json::to_value(&report).expect("serialize");
    for (key, value) in lib.as_object().expect("object") {
        assert_eq!(&json[key], value, "{key}");
    }
    for key in [
        "size_before",
        "size_after",
        "ratio",
        "tensors_converted",
        "max_relative_rounding_error",
        "dequantize_added",
    ] {
        assert!(json[key].is_number(), "{key} missing");
    }
    assert_eq!(
        std::fs::read(&output).expect("output"),
        write_model(&converted).expect("write")
    );
    let verify = json["verify"].as_array().expect("verify");
    assert_eq!(verify.len(), 1);
    let d = verify[0]["max_abs_diff"].as_f64().expect("diff");
    let r = verify[0]["max_abs_reference"].as_f64().expect("ref");
    eprintln!("CLI verify: {}", verify[0]);
    assert!(d > 0.0 && d <= f16_bound(layers_reading_converted(&converted), r));
    assert!((verify[0]["max_rel_diff"].as_f64().expect("rel") - d / r).abs() < 1e-12);
}

#[test]
fn cli_refuses_overflow_with_a_hint() {
    let dir = scratch("cli-overflow");
    let input = dir.join("overflow.tflite");
    let output = dir.join("overflow_fp16.tflite");
    std::fs::write(
        &input,
        write_model(&small_model(&[1e6, 0.0, 0.0, 0.0])).expect("write"),
    )
    .expect("save");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_halfgpu"))
            .arg("convert")
            .args([&input, &output])
            .arg("--fp16")
            .args(extra)
            .output()
            .expect("run halfgpu")
    };
    let refused = run(&[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("\"w\"") && stderr.contains("--allow-overflow"),
        "{stderr}"
    );
    assert!(!output.exists(), "nothing written on error");
    let allowed = run(&["--allow-overflow", "--json"]);
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&allowed.stdout).expect("json");
    assert_eq!(json["overflow"][0]["name"], "w");
    assert!(output.exists());
}
