//! The examples' shared code (`examples/common`) run on a real photograph: face boxes land on
//! the face, the segmentation mask covers the person, classification returns a sorted top-5.

mod common;

#[path = "../examples/common/mod.rs"]
mod vision;

use halfgpu::gpu::Precision;
use halfgpu::runtime::Interpreter;

/// The face of the astronaut in `images/astronaut.png` (512x512), in pixels: determined once by
/// looking at the picture (forehead to chin about y 60..185, ear to ear about x 170..285) and
/// widened by ~15 px on each side.
const FACE_REGION: [f32; 4] = [155.0, 45.0, 300.0, 200.0];

fn photo(assets: &std::path::Path) -> image::RgbImage {
    vision::load_rgb(&assets.join("images/astronaut.png")).expect("astronaut.png decodes")
}

fn out_dir() -> std::path::PathBuf {
    let d = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("examples");
    std::fs::create_dir_all(&d).expect("create output dir");
    d
}

#[test]
fn face_box_lies_on_the_face() {
    let Some(assets) = common::assets() else {
        return;
    };
    let Some(gpu) = common::gpu_delegate(Precision::F16) else {
        return;
    };
    let image = photo(&assets);
    let model = assets.join("models/face_detection_short_range.tflite");
    let mut interp = vision::interpreter(&model, Some(gpu)).expect("interpreter");
    let faces = vision::detect_faces(&mut interp, &image).expect("detect");
    println!("{faces:?}");
    assert_eq!(faces.len(), 1, "one face expected, got {faces:?}");
    let f = &faces[0];
    let (cx, cy) = f.center();
    let [x0, y0, x1, y1] = FACE_REGION;
    assert!(
        (x0..x1).contains(&cx) && (y0..y1).contains(&cy),
        "face centre ({cx}, {cy}) is outside {FACE_REGION:?}"
    );
    let (w, h) = (f.rect[2] - f.rect[0], f.rect[3] - f.rect[1]);
    assert!(
        (50.0..200.0).contains(&w) && (50.0..200.0).contains(&h),
        "box size {w}x{h}"
    );
    assert!(f.score >= 0.5 && f.score <= 1.0);
    assert_eq!(f.keypoints.len(), 6);

    let path = out_dir().join("faces.png");
    vision::draw_faces(&image, &faces)
        .save(&path)
        .expect("write png");
    let back = image::open(&path).expect("png decodes");
    assert_eq!((back.width(), back.height()), (512, 512));
}

#[test]
fn mask_covers_the_person_not_the_corners() {
    let Some(assets) = common::assets() else {
        return;
    };
    let Some(gpu) = common::gpu_delegate(Precision::F16) else {
        return;
    };
    let image = photo(&assets);
    let model = assets.join("models/selfie_segmentation.tflite");
    let mut interp = vision::interpreter(&model, Some(gpu)).expect("interpreter");
    let mask = vision::segment(&mut interp, &image).expect("segment");
    assert_eq!(mask.len(), 512 * 512);
    let mean = |x0: usize, y0: usize, x1: usize, y1: usize| {
        let mut s = 0.0;
        for y in y0..y1 {
            for x in x0..x1 {
                s += mask[y * 512 + x];
            }
        }
        s / ((x1 - x0) * (y1 - y0)) as f32
    };
    let face = mean(180, 80, 270, 170);
    let chest = mean(60, 300, 260, 480);
    // Top corners are backdrop (top right: backdrop beside the shuttle model).
    let corner_left = mean(0, 0, 40, 40);
    let corner_right = mean(470, 0, 512, 40);
    println!("face {face} chest {chest} corners {corner_left} {corner_right}");
    assert!(
        face > 0.8 && chest > 0.8,
        "person region: face {face}, chest {chest}"
    );
    assert!(
        corner_left < 0.2 && corner_right < 0.2,
        "corners: {corner_left}, {corner_right}"
    );

    let path = out_dir().join("person.png");
    vision::imaging::overlay(&image, &mask, image::Rgb([0, 255, 0]), 0.6)
        .save(&path)
        .expect("write png");
    let back = image::open(&path).expect("png decodes");
    assert_eq!((back.width(), back.height()), (512, 512));
}

#[test]
fn classify_returns_sorted_top5() {
    // CPU on purpose: MobileNetV2 at 224x224 is the slowest of the three on a software GPU, and
    // the GPU path of the same model is covered by the demo and gpu_models tests.
    let model = halfgpu::model::builder::mobilenet_v2(7);
    let mut interp = Interpreter::builder(&model).build().expect("interpreter");
    let image = match common::assets() {
        Some(a) => photo(&a),
        None => vision::synthetic_image(300, 200),
    };
    let top = vision::classify(&mut interp, &image, vision::Range::ZeroOne, 5).expect("classify");
    println!("{top:?}");
    assert_eq!(top.len(), 5);
    assert!(
        top.windows(2).all(|w| w[0].1 >= w[1].1),
        "not sorted: {top:?}"
    );
    assert!(top.iter().all(|&(c, p)| c < 1000 && p > 0.0 && p <= 1.0));
    let sum: f32 = top.iter().map(|t| t.1).sum();
    assert!(sum <= 1.0 + 1e-5, "top-5 sums to {sum}");
    let mut classes: Vec<usize> = top.iter().map(|t| t.0).collect();
    classes.dedup();
    assert_eq!(classes.len(), 5);
}

#[test]
fn anchors_decode_a_synthetic_box() {
    let anchors = vision::anchors::face_short_range_anchors();
    let mut reg = vec![0.0f32; 896 * 16];
    let mut logits = vec![-10.0f32; 896];
    // Anchor 600 sits in the 8x8 grid: cell (600 - 512) / 6 = 14 -> x 6, y 1.
    let a = anchors[600];
    assert_eq!((a.cx, a.cy), (6.5 / 8.0, 1.5 / 8.0));
    reg[600 * 16..600 * 16 + 4].copy_from_slice(&[12.8, -6.4, 32.0, 64.0]);
    logits[600] = 3.0;
    logits[601] = 2.0; // same anchor centre, zero box: merged or kept, never a panic
    let dets = vision::anchors::decode(&reg, &logits, &anchors, 128.0, 0.5).expect("decode");
    assert_eq!(dets.len(), 2);
    let d = &dets[0];
    assert!((d.xmin - (a.cx + 0.1 - 0.125)).abs() < 1e-6);
    assert!((d.ymax - (a.cy - 0.05 + 0.25)).abs() < 1e-6);
    assert!((d.score - 1.0 / (1.0 + (-3.0f32).exp())).abs() < 1e-6);
    let merged = vision::anchors::weighted_nms(dets, 0.3);
    assert_eq!(merged.len(), 2, "a zero-area box overlaps nothing");
    assert!(vision::anchors::decode(&reg[1..], &logits, &anchors, 128.0, 0.5).is_err());
}
