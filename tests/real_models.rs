//! Every fetched real model reads, and what halfgpu sees in it equals what the reference
//! runtime (ai-edge-litert, recorded at asset-fetch time) sees.

mod common;

use std::collections::BTreeMap;

use halfgpu::graph::Graph;
use halfgpu::inspect::ModelSummary;
use halfgpu::model::read_model;

#[test]
fn real_models_match_the_reference_view() {
    let Some(assets) = common::assets() else {
        return;
    };
    for name in common::model_names(&assets) {
        let bytes = std::fs::read(assets.join("models").join(format!("{name}.tflite"))).unwrap();
        let model = read_model(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        Graph::from_model(&model).unwrap_or_else(|e| panic!("{name}: graph: {e}"));
        let ours = ModelSummary::new(&model, bytes.len());
        let reference = common::reference_json(&assets, &name);

        let ref_ops: BTreeMap<String, usize> =
            serde_json::from_value(reference["op_counts"].clone()).unwrap();
        assert_eq!(ours.op_counts, ref_ops, "{name}: operator histogram");
        assert_eq!(
            ours.operators as u64,
            reference["operators"].as_u64().unwrap(),
            "{name}"
        );
        for (kind, mine) in [("inputs", &ours.inputs), ("outputs", &ours.outputs)] {
            let theirs = reference[kind].as_array().unwrap();
            assert_eq!(mine.len(), theirs.len(), "{name}: number of {kind}");
            for (m, t) in mine.iter().zip(theirs) {
                assert_eq!(m.name, t["name"].as_str().unwrap(), "{name}: {kind} name");
                let shape: Vec<i32> = serde_json::from_value(t["shape"].clone()).unwrap();
                assert_eq!(m.shape, shape, "{name}: {kind} {} shape", m.name);
                assert_eq!(
                    m.dtype,
                    t["dtype"].as_str().unwrap(),
                    "{name}: {kind} {} dtype",
                    m.name
                );
            }
        }
    }
}

#[test]
fn inspect_json_counts_fp16_weights_of_face_detection() {
    let Some(assets) = common::assets() else {
        return;
    };
    let model = assets.join("models/face_detection_short_range.tflite");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_halfgpu"))
        .args(["inspect", "--json"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["dequantize_ops"], 74);
    assert_eq!(v["fp16_constants"], 74);
    assert_eq!(v["op_counts"]["DEQUANTIZE"], 74);
    assert_eq!(v["size_bytes"], std::fs::metadata(&model).unwrap().len());
    assert_eq!(v["inputs"][0]["dtype"], "float32");
    assert_eq!(v["inputs"][0]["shape"], serde_json::json!([1, 128, 128, 3]));
}

#[test]
fn inspect_reports_a_clear_error_for_a_non_model() {
    let dir = std::env::temp_dir().join(format!("halfgpu-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("not-a-model.tflite");
    std::fs::write(&path, b"this is not a flatbuffer at all").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_halfgpu"))
        .args(["inspect"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a TFLite model"), "{err}");
}
