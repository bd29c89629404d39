//! The CPU path against the reference runtime: on every fetched real model, outputs on the
//! recorded seeded inputs equal ai-edge-litert's within 1e-4 * max(1, max|ref|) per output.

mod common;

use halfgpu::model::read_model_file;
use halfgpu::npz::read_npz;
use halfgpu::runtime::Interpreter;

#[test]
fn cpu_matches_the_reference_runtime_on_every_real_model() {
    let Some(assets) = common::assets() else {
        return;
    };
    let mut failures = Vec::new();
    for name in common::model_names(&assets) {
        let model = read_model_file(assets.join("models").join(format!("{name}.tflite"))).unwrap();
        let mut it = match Interpreter::builder(&model).threads(2).build() {
            Ok(it) => it,
            Err(e) => {
                failures.push(format!("{name}: build: {e}"));
                continue;
            }
        };
        let inputs = read_npz(assets.join("reference").join(format!("{name}.inputs.npz"))).unwrap();
        let outputs =
            read_npz(assets.join("reference").join(format!("{name}.outputs.npz"))).unwrap();
        for (key, arr) in &inputs {
            let i: usize = key.parse().unwrap();
            it.set_input::<f32>(i, &arr.as_f32().unwrap()).unwrap();
        }
        if let Err(e) = it.invoke() {
            failures.push(format!("{name}: invoke: {e}"));
            continue;
        }
        for (key, arr) in &outputs {
            let i: usize = key.parse().unwrap();
            let reference = arr.as_f32().unwrap();
            let ours = it.output::<f32>(i).unwrap();
            assert_eq!(ours.len(), reference.len(), "{name}: output {i} length");
            let scale = reference.iter().fold(1f32, |m, x| m.max(x.abs()));
            let worst = ours
                .iter()
                .zip(&reference)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            eprintln!("{name}: output {i}: max |diff| {worst:.3e} (scale {scale:.3})");
            if worst > 1e-4 * scale {
                failures.push(format!(
                    "{name}: output {i}: max |diff| {worst:e} > {:e}",
                    1e-4 * scale
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
