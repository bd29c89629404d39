//! Code shared by the examples (and run by `tests/examples.rs`): picking a delegate, running
//! the face detector, the selfie segmenter and a classifier on an image.
#![allow(dead_code)]

pub mod anchors;
pub mod imaging;

use std::error::Error;
use std::path::{Path, PathBuf};

use halfgpu::gpu::{GpuDelegate, GpuDelegateOptions, InferencePreference};
use halfgpu::runtime::Interpreter;
use image::RgbImage;

/// Errors of the examples.
pub type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Where `scripts/fetch-test-assets.sh` puts a model (`target/test-assets/models/NAME`).
pub fn asset_model(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/test-assets/models")
        .join(name)
}

/// A GPU delegate in f16 (TFLite's `precision_loss_allowed`) with the kernels for a fast single
/// answer, or `None` with the reason printed
/// when there is no usable adapter: the caller then runs on the CPU.
pub fn gpu_or_cpu() -> Option<GpuDelegate> {
    // Mesa's Vulkan loader complains when XDG_RUNTIME_DIR is unset (headless machines, CI);
    // a private directory silences it, as the `halfgpu` CLI does.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        let dir = std::env::temp_dir().join("halfgpu-xdg-runtime");
        if std::fs::create_dir_all(&dir).is_ok() {
            // Set before any GPU thread exists.
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
        }
    }
    // One image, one invoke: the kernels that compile fastest (see `InferencePreference`).
    let options = GpuDelegateOptions::default()
        .precision_loss_allowed(true)
        .inference_preference(InferencePreference::FastSingleAnswer);
    match GpuDelegate::new(options) {
        Ok(gpu) => {
            let info = gpu.context().adapter_info();
            eprintln!(
                "running on the GPU ({}, {:?}) in {}",
                info.name,
                info.backend,
                gpu.effective_precision()
            );
            if let Some(note) = gpu.precision_note() {
                eprintln!("note: {note}");
            }
            Some(gpu)
        }
        Err(e) => {
            eprintln!("no GPU, running on the CPU: {e}");
            None
        }
    }
}

/// An interpreter for the model at `path`, with `gpu` if given.
pub fn interpreter(path: &Path, gpu: Option<GpuDelegate>) -> Result<Interpreter> {
    let model = halfgpu::model::read_model_file(path)?;
    let mut builder = Interpreter::builder(&model);
    if let Some(gpu) = gpu {
        builder = builder.delegate(gpu);
    }
    Ok(builder.build()?)
}

/// Height and width of input 0, which must be `[1, H, W, 3]`.
fn input_hw(interp: &Interpreter) -> Result<(u32, u32)> {
    let (name, shape, _) = interp.input_info(0)?;
    match shape {
        [1, h, w, 3] => Ok((u32::try_from(*h)?, u32::try_from(*w)?)),
        _ => Err(format!("input {name:?} has shape {shape:?}, expected [1, H, W, 3]").into()),
    }
}

/// Reads an image file (PNG or JPEG) as RGB.
pub fn load_rgb(path: &Path) -> Result<RgbImage> {
    let img = image::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(img.to_rgb8())
}

/// A face found in an image, in the image's pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Face {
    /// Left, top, right, bottom.
    pub rect: [f32; 4],
    /// Probability.
    pub score: f32,
    /// Right eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion.
    pub keypoints: Vec<(f32, f32)>,
}

impl Face {
    /// The box centre.
    pub fn center(&self) -> (f32, f32) {
        let [x0, y0, x1, y1] = self.rect;
        ((x0 + x1) / 2.0, (y0 + y1) / 2.0)
    }
}

/// Runs the short-range face detector on `image`: letterbox to 128x128 in `[-1, 1]`, invoke,
/// decode the 896 anchors, keep scores >= 0.5, weighted NMS at IoU 0.3.
pub fn detect_faces(interp: &mut Interpreter, image: &RgbImage) -> Result<Vec<Face>> {
    let (h, w) = input_hw(interp)?;
    if h != w {
        return Err(format!("expected a square input, the model has {w}x{h}").into());
    }
    let (values, map) = imaging::letterbox(image, w, -1.0, 1.0);
    interp.set_input::<f32>(0, &values)?;
    interp.invoke()?;
    let regressors = interp.output_by_name::<f32>("regressors")?;
    let logits = interp.output_by_name::<f32>("classificators")?;
    let anchors = anchors::face_short_range_anchors();
    let raw = anchors::decode(regressors, logits, &anchors, w as f32, 0.5)?;
    let faces = anchors::weighted_nms(raw, 0.3)
        .into_iter()
        .map(|d| {
            let (x0, y0) = map.to_image(d.xmin, d.ymin);
            let (x1, y1) = map.to_image(d.xmax, d.ymax);
            Face {
                rect: [x0, y0, x1, y1],
                score: d.score,
                keypoints: d
                    .keypoints
                    .iter()
                    .map(|&(x, y)| map.to_image(x, y))
                    .collect(),
            }
        })
        .collect();
    Ok(faces)
}

/// Draws `faces` (boxes and keypoints) onto a copy of `image`.
pub fn draw_faces(image: &RgbImage, faces: &[Face]) -> RgbImage {
    let mut out = image.clone();
    let thickness = (image.width().max(image.height()) / 200).max(2) as i64;
    for f in faces {
        imaging::draw_rect(&mut out, f.rect, image::Rgb([0, 255, 0]), thickness);
        for &(x, y) in &f.keypoints {
            imaging::draw_dot(&mut out, x, y, thickness, image::Rgb([255, 0, 0]));
        }
    }
    out
}

/// Runs the selfie segmenter on `image` (stretched to the model's input, values in `[0, 1]`)
/// and returns the person probability of every pixel of `image`, row by row.
pub fn segment(interp: &mut Interpreter, image: &RgbImage) -> Result<Vec<f32>> {
    let (h, w) = input_hw(interp)?;
    let values = imaging::stretch(image, w, h, 0.0, 1.0);
    interp.set_input::<f32>(0, &values)?;
    interp.invoke()?;
    let (_, shape, _) = interp.output_info(0)?;
    let (mh, mw) = match shape {
        [1, mh, mw, 1] => (*mh, *mw),
        _ => return Err(format!("mask output has shape {shape:?}, expected [1, H, W, 1]").into()),
    };
    let mask = interp.output::<f32>(0)?;
    Ok(imaging::resize_mask(
        mask,
        mw,
        mh,
        image.width(),
        image.height(),
    ))
}

/// How to scale pixel values for a classifier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Range {
    /// `[0, 1]` (halfgpu's built-in MobileNetV2).
    ZeroOne,
    /// `[-1, 1]` (Keras / TF-Hub MobileNets).
    MinusOneOne,
}

/// Runs a classifier with a `[1, H, W, 3]` input and a `[1, classes]` output on `image` and
/// returns the `k` best classes with their probabilities, best first. Outputs that are not
/// already probabilities (negative values or a sum far from 1) go through a softmax first.
pub fn classify(
    interp: &mut Interpreter,
    image: &RgbImage,
    range: Range,
    k: usize,
) -> Result<Vec<(usize, f32)>> {
    let (h, w) = input_hw(interp)?;
    let (lo, hi) = match range {
        Range::ZeroOne => (0.0, 1.0),
        Range::MinusOneOne => (-1.0, 1.0),
    };
    let values = imaging::stretch(image, w, h, lo, hi);
    interp.set_input::<f32>(0, &values)?;
    interp.invoke()?;
    let out = interp.output::<f32>(0)?;
    let sum: f32 = out.iter().sum();
    let probs: Vec<f32> =
        if out.iter().all(|&p| (0.0..=1.0).contains(&p)) && (sum - 1.0).abs() < 1e-2 {
            out.to_vec()
        } else {
            let max = out.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let e: Vec<f32> = out.iter().map(|&v| (v - max).exp()).collect();
            let total: f32 = e.iter().sum();
            e.iter().map(|v| v / total).collect()
        };
    let mut ranked: Vec<(usize, f32)> = probs.into_iter().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(k);
    Ok(ranked)
}

/// A synthetic test picture (a bright disc on a gradient) for when no image is given.
pub fn synthetic_image(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 - w as f32 / 2.0, y as f32 - h as f32 / 2.0);
        if dx * dx + dy * dy < (w.min(h) as f32 / 4.0).powi(2) {
            image::Rgb([240, 200, 60])
        } else {
            image::Rgb([(255 * x / w.max(1)) as u8, (255 * y / h.max(1)) as u8, 128])
        }
    })
}
