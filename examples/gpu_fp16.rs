//! The ten lines a new user copies: load a model, run it on the GPU in f16, print the outputs.
//!
//! `cargo run --release --example gpu_fp16 -- model.tflite`

use halfgpu::gpu::{GpuDelegate, GpuDelegateOptions};
use halfgpu::runtime::Interpreter;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: gpu_fp16 MODEL.tflite")?;
    let model = halfgpu::model::read_model_file(&path)?;
    let gpu = GpuDelegate::new(GpuDelegateOptions::default().precision_loss_allowed(true))?;
    let mut interpreter = Interpreter::builder(&model).delegate(gpu).build()?;
    interpreter.input_mut::<f32>(0)?.fill(0.5);
    interpreter.invoke()?;
    for i in 0..interpreter.output_count() {
        let (name, shape, _) = interpreter.output_info(i)?;
        let (name, shape) = (name.to_string(), shape.to_vec());
        let values = interpreter.output::<f32>(i)?;
        println!("{name} {shape:?}: {:?}", &values[..values.len().min(8)]);
    }
    print!("{}", interpreter.delegation_report().to_text());
    Ok(())
}
