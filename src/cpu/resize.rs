//! RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR with TFLite's coordinate rules
//! (align_corners, half_pixel_centers), computed in f32 as the reference kernels do.

use super::util::{arg, f32_in, f32_out, ints, invalid, out0, prod, Dims, Res};
use super::{ShapeIn, TensorOut};
use crate::model::ResizeOptions;

pub(super) fn resize_shape(op: &str, inputs: &[Option<ShapeIn<'_>>]) -> Res<Dims> {
    let s = arg(op, inputs, 0)?.shape;
    let [n, _, _, c] = <[usize; 4]>::try_from(s)
        .map_err(|_| invalid(op, format!("input must be 4-D, has shape {s:?}")))?;
    let size = ints(op, &arg(op, inputs, 1)?, "size")?;
    match size.as_slice() {
        &[h, w] if h > 0 && w > 0 => Ok(smallvec::smallvec![n, h as usize, w as usize, c]),
        _ => Err(invalid(
            op,
            format!("size must be two positive values, is {size:?}"),
        )),
    }
}

fn scale(align_corners: bool, input: usize, output: usize) -> f32 {
    if align_corners && output > 1 {
        (input - 1) as f32 / (output - 1) as f32
    } else {
        input as f32 / output as f32
    }
}

/// Bilinear source coordinate of output `o`: (exact coordinate, lower index, upper index).
fn bilinear_src(o: usize, scale: f32, half_pixel: bool, size: usize) -> (f32, usize, usize) {
    let v = if half_pixel {
        (o as f32 + 0.5) * scale - 0.5
    } else {
        o as f32 * scale
    };
    let lo = (v.floor() as i64).max(0) as usize;
    let hi = (v.ceil() as i64).min(size as i64 - 1).max(0) as usize;
    (v, lo, hi)
}

/// Nearest-neighbour source index of output `o`.
fn nearest_src(o: usize, scale: f32, align_corners: bool, half_pixel: bool, size: usize) -> usize {
    let offset = if half_pixel { 0.5 } else { 0.0 };
    let v = (o as f32 + offset) * scale;
    let i = if align_corners { v.round() } else { v.floor() } as i64;
    i.min(size as i64 - 1).max(0) as usize
}

pub(super) fn resize(
    op: &str,
    o: &ResizeOptions,
    bilinear: bool,
    inputs: &[Option<ShapeIn<'_>>],
    out_shape: &[usize],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let a = arg(op, inputs, 0)?;
    let x = f32_in(op, &a, "input")?;
    let out = f32_out(op, out0(op, outputs)?, prod(out_shape))?;
    let [n, h, w, c] =
        <[usize; 4]>::try_from(a.shape).map_err(|_| invalid(op, "input must be 4-D"))?;
    let (oh, ow) = (out_shape[1], out_shape[2]);
    if h == 0 || w == 0 || c == 0 {
        out.fill(0.0);
        return Ok(());
    }
    let sy = scale(o.align_corners, h, oh);
    let sx = scale(o.align_corners, w, ow);
    let mut pixels = out.chunks_exact_mut(c);
    if bilinear {
        for b in 0..n {
            let img = &x[b * h * w * c..(b + 1) * h * w * c];
            for (fy, y0, y1) in (0..oh).map(|y| bilinear_src(y, sy, o.half_pixel_centers, h)) {
                let dy = fy - y0 as f32;
                for (fx, x0, x1) in (0..ow).map(|x| bilinear_src(x, sx, o.half_pixel_centers, w)) {
                    let dx = fx - x0 as f32;
                    let p = |yy: usize, xx: usize| &img[(yy * w + xx) * c..(yy * w + xx + 1) * c];
                    let (p00, p01, p10, p11) = (p(y0, x0), p(y0, x1), p(y1, x0), p(y1, x1));
                    let Some(dst) = pixels.next() else {
                        return Err(invalid(op, "output smaller than its shape"));
                    };
                    for k in 0..c {
                        dst[k] = p00[k] * (1.0 - dy) * (1.0 - dx)
                            + p10[k] * dy * (1.0 - dx)
                            + p01[k] * (1.0 - dy) * dx
                            + p11[k] * dy * dx;
                    }
                }
            }
        }
    } else {
        let (align, half) = (o.align_corners, o.half_pixel_centers);
        for b in 0..n {
            let img = &x[b * h * w * c..(b + 1) * h * w * c];
            for y in (0..oh).map(|y| nearest_src(y, sy, align, half, h)) {
                for xx in (0..ow).map(|x| nearest_src(x, sx, align, half, w)) {
                    let Some(dst) = pixels.next() else {
                        return Err(invalid(op, "output smaller than its shape"));
                    };
                    dst.copy_from_slice(&img[(y * w + xx) * c..(y * w + xx + 1) * c]);
                }
            }
        }
    }
    Ok(())
}
