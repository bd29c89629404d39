//! MAX_POOL_2D and AVERAGE_POOL_2D (the average counts only the window's elements inside the
//! input, as TFLite does).

use super::util::{
    apply_activation, arg, conv_geometry, f32_in, f32_out, invalid, out0, prod, Dims, Res,
};
use super::{ShapeIn, TensorOut};
use crate::model::Pool2DOptions;

struct PoolGeom {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    oh: usize,
    ow: usize,
    ph: usize,
    pw: usize,
}

fn geom(op: &str, o: &Pool2DOptions, inputs: &[Option<ShapeIn<'_>>]) -> Res<PoolGeom> {
    let s = arg(op, inputs, 0)?.shape;
    let [n, h, w, c] = <[usize; 4]>::try_from(s)
        .map_err(|_| invalid(op, format!("input must be 4-D, has shape {s:?}")))?;
    if o.filter_h <= 0 || o.filter_w <= 0 {
        return Err(invalid(
            op,
            format!("filter {}x{} must be positive", o.filter_h, o.filter_w),
        ));
    }
    let (oh, ph) = conv_geometry(op, o.padding, h, o.filter_h as usize, o.stride_h, 1)?;
    let (ow, pw) = conv_geometry(op, o.padding, w, o.filter_w as usize, o.stride_w, 1)?;
    Ok(PoolGeom {
        n,
        h,
        w,
        c,
        oh,
        ow,
        ph,
        pw,
    })
}

pub(super) fn pool_shape(op: &str, o: &Pool2DOptions, inputs: &[Option<ShapeIn<'_>>]) -> Res<Dims> {
    let g = geom(op, o, inputs)?;
    Ok(smallvec::smallvec![g.n, g.oh, g.ow, g.c])
}

/// Clipped window `[start, end)` of output coordinate `o` in an input of `size`.
fn window(o: usize, stride: usize, pad: usize, k: usize, size: usize) -> (usize, usize) {
    let start = (o * stride) as isize - pad as isize;
    let end = (start + k as isize).min(size as isize);
    let s = start.max(0) as usize;
    (s, (end.max(0) as usize).max(s))
}

pub(super) fn pool(
    op: &str,
    o: &Pool2DOptions,
    is_max: bool,
    inputs: &[Option<ShapeIn<'_>>],
    out_shape: &[usize],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let g = geom(op, o, inputs)?;
    let input = f32_in(op, &arg(op, inputs, 0)?, "input")?;
    let out = f32_out(op, out0(op, outputs)?, prod(out_shape))?;
    let (sh, sw) = (o.stride_h as usize, o.stride_w as usize);
    let (fh, fw) = (o.filter_h as usize, o.filter_w as usize);
    if g.c == 0 {
        return Ok(());
    }
    let mut pixels = out.chunks_exact_mut(g.c);
    for n in 0..g.n {
        let img = &input[n * g.h * g.w * g.c..(n + 1) * g.h * g.w * g.c];
        for oy in 0..g.oh {
            let (y0, y1) = window(oy, sh, g.ph, fh, g.h);
            for ox in 0..g.ow {
                let (x0, x1) = window(ox, sw, g.pw, fw, g.w);
                let Some(acc) = pixels.next() else {
                    return Err(invalid(op, "output smaller than its shape"));
                };
                acc.fill(if is_max { f32::NEG_INFINITY } else { 0.0 });
                for y in y0..y1 {
                    for x in x0..x1 {
                        let px = &img[(y * g.w + x) * g.c..(y * g.w + x + 1) * g.c];
                        if is_max {
                            for (a, v) in acc.iter_mut().zip(px) {
                                *a = a.max(*v);
                            }
                        } else {
                            for (a, v) in acc.iter_mut().zip(px) {
                                *a += v;
                            }
                        }
                    }
                }
                if !is_max {
                    let count = ((y1 - y0) * (x1 - x0)) as f32;
                    if count > 0.0 {
                        acc.iter_mut().for_each(|a| *a /= count);
                    }
                }
            }
        }
    }
    apply_activation(o.activation, out);
    Ok(())
}
