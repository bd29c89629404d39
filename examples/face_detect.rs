//! Finds faces in a photograph with MediaPipe's short-range face detector, on the GPU in f16.
//!
//! ```text
//! cargo run --release --example face_detect -- IMAGE OUT.png [--model face_detection_short_range.tflite]
//! cargo run --release --example face_detect -- target/test-assets/images/astronaut.png faces.png
//! ```
//!
//! The model defaults to `target/test-assets/models/face_detection_short_range.tflite` (fetched
//! by `scripts/fetch-test-assets.sh`). Without a GPU adapter it runs on the CPU and says why.

mod common;

use std::path::PathBuf;

fn main() -> common::Result<()> {
    let mut positional = Vec::new();
    let mut model = common::asset_model("face_detection_short_range.tflite");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--model" => model = PathBuf::from(args.next().ok_or("--model needs a path")?),
            "-h" | "--help" => {
                println!("usage: face_detect IMAGE OUT.png [--model MODEL.tflite]");
                return Ok(());
            }
            _ => positional.push(PathBuf::from(a)),
        }
    }
    let [image_path, out_path] = positional.as_slice() else {
        return Err("usage: face_detect IMAGE OUT.png [--model MODEL.tflite]".into());
    };

    let image = common::load_rgb(image_path)?;
    let mut interp = common::interpreter(&model, common::gpu_or_cpu())?;
    let start = std::time::Instant::now();
    let faces = common::detect_faces(&mut interp, &image)?;
    let ms = start.elapsed().as_secs_f64() * 1e3;

    println!(
        "{} face(s) in {} ({ms:.1} ms):",
        faces.len(),
        image_path.display()
    );
    for f in &faces {
        let [x0, y0, x1, y1] = f.rect;
        println!(
            "  score {:.3}  box ({x0:.0}, {y0:.0}) - ({x1:.0}, {y1:.0})",
            f.score
        );
    }
    common::draw_faces(&image, &faces).save(out_path)?;
    println!("wrote {}", out_path.display());
    Ok(())
}
