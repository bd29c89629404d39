//! The command line's JSON contracts: `halfgpu demo --json` and `halfgpu bench --json`, checked
//! on models whose numbers are known.

mod common;

use halfgpu::model::schema::builtin;
use halfgpu::model::{Activation, BuiltinOptions, Conv2DOptions, ModelBuilder, Padding};

fn halfgpu(args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_halfgpu"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "halfgpu {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn has_gpu() -> bool {
    common::gpu_delegate(halfgpu::gpu::Precision::F32).is_some()
}

#[test]
fn demo_numbers_are_sane() {
    let v = halfgpu(&["demo", "--json", "--inputs", "4", "--runs", "2"]);
    let ratio = v["fp16_ratio"].as_f64().unwrap();
    assert!(ratio <= 0.505, "fp16 size ratio {ratio}");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows[0]["name"], "CPU f32");
    if !has_gpu() {
        assert!(v["no_gpu_reason"].is_string());
        return;
    }
    assert_eq!(rows.len(), 4, "{v}");
    for row in &rows[1..] {
        let name = row["name"].as_str().unwrap();
        assert_eq!(row["argmax_agreement"].as_f64(), Some(1.0), "{name}");
        let err = row["max_abs_error"].as_f64().unwrap();
        // Outputs are softmax probabilities (at most 1): F32 agrees to float rounding, the f16
        // modes to f16 weight and activation rounding.
        let bound = if name.starts_with("GPU F32 ") || name == "GPU F32" {
            1e-5
        } else {
            5e-3
        };
        assert!(err <= bound, "{name}: max |err| {err} > {bound}");
        assert!(row["median_ms"].as_f64().unwrap() > 0.0);
    }
    let f32_weights = rows[1]["gpu_weight_bytes"].as_f64().unwrap();
    let f16_weights = rows[3]["gpu_weight_bytes"].as_f64().unwrap();
    assert!(
        (f16_weights / f32_weights - 0.5).abs() < 0.005,
        "{f16_weights} / {f32_weights}"
    );
}

#[test]
fn bench_counts_dispatches_and_submits() {
    // conv -> relu -> reshape -> softmax: two dispatches (the relu is folded into the conv,
    // the reshape shares its input's buffer), one partition, one submit.
    let mut b = ModelBuilder::new();
    let x = b.input("x", &[1, 8, 8, 3]);
    let w = b.const_f32("w", &[4, 3, 3, 3], &[0.1; 108]).unwrap();
    let bias = b.const_f32("b", &[4], &[0.0; 4]).unwrap();
    let c = b.activation("c", &[1, 8, 8, 4]);
    let r = b.activation("r", &[1, 8, 8, 4]);
    let flat = b.activation("flat", &[1, 256]);
    let shape = b.const_i32("shape", &[2], &[1, 256]).unwrap();
    let y = b.activation("y", &[1, 256]);
    let conv = Conv2DOptions {
        padding: Padding::Same,
        stride_w: 1,
        stride_h: 1,
        activation: Activation::None,
        dilation_w: 1,
        dilation_h: 1,
    };
    b.op(
        builtin::CONV_2D,
        &[x, w, bias],
        &[c],
        BuiltinOptions::Conv2D(conv),
    )
    .unwrap();
    b.op(builtin::RELU, &[c], &[r], BuiltinOptions::None)
        .unwrap();
    b.op(
        builtin::RESHAPE,
        &[r, shape],
        &[flat],
        BuiltinOptions::Reshape { new_shape: None },
    )
    .unwrap();
    b.op(
        builtin::SOFTMAX,
        &[flat],
        &[y],
        BuiltinOptions::Softmax { beta: 1.0 },
    )
    .unwrap();
    b.set_outputs(&[y]).unwrap();
    let dir = std::env::temp_dir().join(format!("halfgpu-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("four_ops.tflite");
    std::fs::write(&path, halfgpu::model::write_model(&b.build()).unwrap()).unwrap();
    let p = path.to_str().unwrap();

    let cpu = halfgpu(&["bench", p, "--json", "--runs", "3", "--warmup", "0"]);
    assert_eq!(cpu["dispatches_per_invoke"], 0);
    assert_eq!(cpu["submits_per_invoke"], 0);
    assert!(cpu["median_ms"].as_f64().unwrap() > 0.0);
    assert!(cpu["p90_ms"].as_f64().unwrap() >= cpu["median_ms"].as_f64().unwrap());
    if !has_gpu() {
        return;
    }
    // `bench --json` of the model on the GPU, with `extra` options.
    let bench_gpu = |extra: &[&str]| {
        let mut args = vec![
            "bench",
            p,
            "--json",
            "--runs",
            "3",
            "--warmup",
            "0",
            "--delegate",
            "gpu",
        ];
        args.extend_from_slice(extra);
        halfgpu(&args)
    };
    for precision in ["f32", "f16"] {
        let gpu = bench_gpu(&["--precision", precision]);
        assert_eq!(gpu["dispatches_per_invoke"], 2, "{gpu}");
        assert_eq!(gpu["submits_per_invoke"], 1, "{gpu}");
        assert_eq!(gpu["cpu_nodes"], 0, "{gpu}");
        assert_eq!(gpu["effective_precision"], precision.to_uppercase());
        let weights = gpu["gpu_weight_bytes"].as_u64().unwrap();
        let elem = if precision == "f32" { 4 } else { 2 };
        assert_eq!(weights, ((108 + 4) * elem) as u64, "{gpu}");
        for key in [
            "init_ms",
            "median_ms",
            "p90_ms",
            "gpu_activation_bytes",
            "adapter",
        ] {
            assert!(!gpu[key].is_null(), "missing {key}");
        }
        assert_eq!(gpu["preference"], "sustained_speed", "{gpu}");
    }
    // The kernels for a fast single answer: the same dispatches and results; `run` (one
    // invoke) picks them unless told otherwise.
    let fast = bench_gpu(&["--preference", "fast-single-answer"]);
    assert_eq!(fast["preference"], "fast_single_answer", "{fast}");
    assert_eq!(fast["dispatches_per_invoke"], 2, "{fast}");
    assert_eq!(fast["submits_per_invoke"], 1, "{fast}");
    let run = halfgpu(&["run", p, "--json", "--delegate", "gpu"]);
    assert_eq!(run["preference"], "fast_single_answer", "{run}");
    let run = halfgpu(&[
        "run",
        p,
        "--json",
        "--delegate",
        "gpu",
        "--preference",
        "sustained-speed",
    ]);
    assert_eq!(run["preference"], "sustained_speed", "{run}");
}
