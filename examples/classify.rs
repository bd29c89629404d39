//! Top-5 classification with MobileNetV2.
//!
//! ```text
//! cargo run --release --example classify                         # built-in model, synthetic picture
//! cargo run --release --example classify -- - target/test-assets/images/astronaut.png
//! cargo run --release --example classify -- mobilenet_v2.tflite photo.jpg --minus-one-to-one
//! ```
//!
//! Without a model file (or with `-`) it uses `halfgpu::model::builder::mobilenet_v2(7)`, whose
//! weights are deterministic pseudo-random numbers: the class numbers it prints are
//! **meaningless**, the example shows the mechanics only. With a real classifier (input
//! `[1, H, W, 3]`, output `[1, classes]`) the classes are the model's; pass
//! `--minus-one-to-one` for models that expect pixels in `[-1, 1]` (Keras/TF-Hub MobileNets).

mod common;

use std::path::PathBuf;

use halfgpu::runtime::Interpreter;

fn main() -> common::Result<()> {
    let mut positional = Vec::new();
    let mut range = common::Range::ZeroOne;
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--minus-one-to-one" => range = common::Range::MinusOneOne,
            "-h" | "--help" => {
                println!("usage: classify [MODEL.tflite|-] [IMAGE] [--minus-one-to-one]");
                return Ok(());
            }
            _ => positional.push(a),
        }
    }
    let model_arg = positional.first().filter(|m| m.as_str() != "-");
    let model = match model_arg {
        Some(path) => halfgpu::model::read_model_file(path)?,
        None => {
            println!(
                "model: built-in MobileNetV2 with synthetic weights (classes are meaningless)"
            );
            halfgpu::model::builder::mobilenet_v2(7)
        }
    };
    let image = match positional.get(1) {
        Some(path) => common::load_rgb(&PathBuf::from(path))?,
        None => common::synthetic_image(224, 224),
    };

    let mut builder = Interpreter::builder(&model);
    if let Some(gpu) = common::gpu_or_cpu() {
        builder = builder.delegate(gpu);
    }
    let mut interp = builder.build()?;
    let top = common::classify(&mut interp, &image, range, 5)?;
    println!("top-5:");
    for (class, p) in top {
        println!("  class {class:4}  p = {p:.4}");
    }
    Ok(())
}
