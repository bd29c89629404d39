//! Separates a person from the background with MediaPipe's selfie segmentation model, on the
//! GPU in f16, and writes the mask as a green overlay.
//!
//! ```text
//! cargo run --release --example segment -- IMAGE OUT.png [--model selfie_segmentation.tflite]
//! cargo run --release --example segment -- target/test-assets/images/astronaut.png person.png
//! ```
//!
//! The model takes 256x256 RGB in `[0, 1]` and returns a 256x256 person probability; the mask
//! is scaled back to the image's size. Without a GPU adapter it runs on the CPU.

mod common;

use std::path::PathBuf;

fn main() -> common::Result<()> {
    let mut positional = Vec::new();
    let mut model = common::asset_model("selfie_segmentation.tflite");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--model" => model = PathBuf::from(args.next().ok_or("--model needs a path")?),
            "-h" | "--help" => {
                println!("usage: segment IMAGE OUT.png [--model MODEL.tflite]");
                return Ok(());
            }
            _ => positional.push(PathBuf::from(a)),
        }
    }
    let [image_path, out_path] = positional.as_slice() else {
        return Err("usage: segment IMAGE OUT.png [--model MODEL.tflite]".into());
    };

    let image = common::load_rgb(image_path)?;
    let mut interp = common::interpreter(&model, common::gpu_or_cpu())?;
    let mask = common::segment(&mut interp, &image)?;
    let person = mask.iter().filter(|&&m| m > 0.5).count() as f64 / mask.len().max(1) as f64;
    println!("person covers {:.1}% of the image", 100.0 * person);
    common::imaging::overlay(&image, &mask, image::Rgb([0, 255, 0]), 0.6).save(out_path)?;
    println!("wrote {}", out_path.display());
    Ok(())
}
