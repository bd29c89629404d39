//! Image to tensor and back: letterboxing, normalisation, drawing boxes and mask overlays.

use image::{Rgb, RgbImage};

/// Where a letterboxed square input lies in the original image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// Side of the square model input, in pixels.
    pub size: u32,
    /// Original pixels to input pixels.
    pub scale: f32,
    /// Left padding in input pixels.
    pub pad_x: f32,
    /// Top padding in input pixels.
    pub pad_y: f32,
}

impl Letterbox {
    /// Maps a normalized `[0, 1]` input coordinate to original image pixels.
    pub fn to_image(self, x: f32, y: f32) -> (f32, f32) {
        let s = self.size as f32;
        (
            (x * s - self.pad_x) / self.scale,
            (y * s - self.pad_y) / self.scale,
        )
    }
}

fn normalize(image: &RgbImage, lo: f32, hi: f32, out: &mut [f32]) {
    for (dst, &p) in out.iter_mut().zip(image.as_raw()) {
        *dst = lo + (hi - lo) * p as f32 / 255.0;
    }
}

/// Scales `image` to fit a `size` x `size` square keeping its aspect ratio, pads the rest
/// (with `lo`) and returns NHWC values in `[lo, hi]` with the mapping back.
pub fn letterbox(image: &RgbImage, size: u32, lo: f32, hi: f32) -> (Vec<f32>, Letterbox) {
    let (w, h) = image.dimensions();
    let scale = size as f32 / w.max(h).max(1) as f32;
    let (sw, sh) = (
        ((w as f32 * scale).round() as u32).clamp(1, size),
        ((h as f32 * scale).round() as u32).clamp(1, size),
    );
    let resized = image::imageops::resize(image, sw, sh, image::imageops::FilterType::Triangle);
    let (px, py) = ((size - sw) / 2, (size - sh) / 2);
    let mut canvas = RgbImage::new(size, size);
    image::imageops::replace(&mut canvas, &resized, px as i64, py as i64);
    let mut values = vec![lo; (size * size * 3) as usize];
    normalize(&canvas, lo, hi, &mut values);
    // Padding is black, which normalises to `lo` already.
    let map = Letterbox {
        size,
        scale,
        pad_x: px as f32,
        pad_y: py as f32,
    };
    (values, map)
}

/// Stretches `image` to `w` x `h` and returns NHWC values in `[lo, hi]`.
pub fn stretch(image: &RgbImage, w: u32, h: u32, lo: f32, hi: f32) -> Vec<f32> {
    let resized = image::imageops::resize(image, w, h, image::imageops::FilterType::Triangle);
    let mut values = vec![0.0; (w * h * 3) as usize];
    normalize(&resized, lo, hi, &mut values);
    values
}

/// Draws the outline of a rectangle (clipped to the image), `thickness` pixels wide.
pub fn draw_rect(image: &mut RgbImage, rect: [f32; 4], color: Rgb<u8>, thickness: i64) {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let [x0, y0, x1, y1] = rect.map(|v| v.round() as i64);
    let mut put = |x: i64, y: i64| {
        if (0..w).contains(&x) && (0..h).contains(&y) {
            image.put_pixel(x as u32, y as u32, color);
        }
    };
    for t in 0..thickness {
        for x in x0..=x1 {
            put(x, y0 + t);
            put(x, y1 - t);
        }
        for y in y0..=y1 {
            put(x0 + t, y);
            put(x1 - t, y);
        }
    }
}

/// Draws a filled square of side `2 * radius + 1` centred on (x, y).
pub fn draw_dot(image: &mut RgbImage, x: f32, y: f32, radius: i64, color: Rgb<u8>) {
    let (cx, cy) = (x.round() as i64, y.round() as i64);
    for yy in cy - radius..=cy + radius {
        for xx in cx - radius..=cx + radius {
            if xx >= 0 && yy >= 0 && (xx as u32) < image.width() && (yy as u32) < image.height() {
                image.put_pixel(xx as u32, yy as u32, color);
            }
        }
    }
}

/// Samples a `mw` x `mh` mask bilinearly at the centre of every pixel of a `w` x `h` image.
pub fn resize_mask(mask: &[f32], mw: usize, mh: usize, w: u32, h: u32) -> Vec<f32> {
    if mw == 0 || mh == 0 {
        return vec![0.0; (w * h) as usize];
    }
    let at = |x: usize, y: usize| mask.get(y * mw + x).copied().unwrap_or(0.0);
    let mut out = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        let fy = ((y as f32 + 0.5) * mh as f32 / h as f32 - 0.5).clamp(0.0, (mh - 1) as f32);
        let (y0, ty) = (fy.floor() as usize, fy.fract());
        let y1 = (y0 + 1).min(mh - 1);
        for x in 0..w {
            let fx = ((x as f32 + 0.5) * mw as f32 / w as f32 - 0.5).clamp(0.0, (mw - 1) as f32);
            let (x0, tx) = (fx.floor() as usize, fx.fract());
            let x1 = (x0 + 1).min(mw - 1);
            let top = at(x0, y0) * (1.0 - tx) + at(x1, y0) * tx;
            let bottom = at(x0, y1) * (1.0 - tx) + at(x1, y1) * tx;
            out.push(top * (1.0 - ty) + bottom * ty);
        }
    }
    out
}

/// Blends `color` over `image` with opacity `alpha * mask` (mask values in `[0, 1]`, one per
/// pixel of the image).
pub fn overlay(image: &RgbImage, mask: &[f32], color: Rgb<u8>, alpha: f32) -> RgbImage {
    let mut out = image.clone();
    for (p, &m) in out.pixels_mut().zip(mask) {
        let a = (alpha * m).clamp(0.0, 1.0);
        for c in 0..3 {
            p.0[c] = (p.0[c] as f32 * (1.0 - a) + color.0[c] as f32 * a).round() as u8;
        }
    }
    out
}
