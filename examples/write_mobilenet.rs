//! Writes the builder's MobileNetV2 (deterministic weights) to a .tflite file.
//!
//! `cargo run --release --example write_mobilenet -- mobilenet_v2.tflite`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "mobilenet_v2.tflite".into());
    let model = halfgpu::model::builder::mobilenet_v2(7);
    let bytes = halfgpu::model::write_model(&model)?;
    std::fs::write(&path, &bytes)?;
    println!("wrote {path} ({} bytes)", bytes.len());
    Ok(())
}
