//! Convolutions: CONV_2D (im2col + GEMM), DEPTHWISE_CONV_2D (direct loops), FULLY_CONNECTED
//! (GEMM) and transposed convolutions (GEMM + gather).

use super::gemm::{has_fma, matmul, pack_weights, packed_len, Epilogue};
use super::util::{
    activation_range, apply_activation, arg, conv_geometry, f32_in, f32_out, ints, invalid,
    opt_arg, out0, prod, unsupported, Dims, Res,
};
use super::{CpuContext, ShapeIn, TensorOut};
use crate::graph::Op;
use crate::model::{
    Activation, Conv2DOptions, DepthwiseConv2DOptions, FullyConnectedOptions, Padding,
};

/// Work (multiply-adds) below which a kernel runs on one thread.
const PARALLEL_WORK: usize = 1 << 16;

/// Number of tasks worth splitting `work` multiply-adds over `rows` independent rows into.
fn task_count(ctx: &CpuContext, work: usize, rows: usize) -> usize {
    if work < PARALLEL_WORK {
        1
    } else {
        ctx.threads().min(rows).max(1)
    }
}

/// Fills each row of `out` (rows of `bias.len()` values) with `bias`, or zeros without one.
fn fill_bias(out: &mut [f32], bias: Option<&[f32]>, o: usize) {
    match bias {
        Some(b) if o > 0 => out.chunks_exact_mut(o).for_each(|r| r.copy_from_slice(b)),
        _ => out.iter_mut().for_each(|x| *x = 0.0),
    }
}

fn bias_of<'a>(
    op: &str,
    inputs: &[Option<ShapeIn<'a>>],
    i: usize,
    o: usize,
) -> Res<Option<&'a [f32]>> {
    match opt_arg(inputs, i) {
        None => Ok(None),
        Some(b) => {
            let v = f32_in(op, &b, "bias")?;
            if v.len() != o {
                return Err(invalid(
                    op,
                    format!("bias has {} elements, output has {o} channels", v.len()),
                ));
            }
            Ok(Some(v))
        }
    }
}

fn rank4(op: &str, what: &str, shape: &[usize]) -> Res<[usize; 4]> {
    <[usize; 4]>::try_from(shape)
        .map_err(|_| invalid(op, format!("{what} must be 4-D, has shape {shape:?}")))
}

fn check_bias_shape(op: &str, inputs: &[Option<ShapeIn<'_>>], i: usize, o: usize) -> Res<()> {
    if let Some(b) = opt_arg(inputs, i) {
        if prod(b.shape) != o {
            return Err(invalid(
                op,
                format!("bias has shape {:?}, output has {o} channels", b.shape),
            ));
        }
    }
    Ok(())
}

/// Geometry of a CONV_2D.
struct ConvGeom {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    oh: usize,
    ow: usize,
    o: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    dh: usize,
    dw: usize,
    ph: usize,
    pw: usize,
}

fn conv_geom(op: &str, o: &Conv2DOptions, inputs: &[Option<ShapeIn<'_>>]) -> Res<ConvGeom> {
    let [n, h, w, c] = rank4(op, "input", arg(op, inputs, 0)?.shape)?;
    let [oc, kh, kw, ic] = rank4(op, "filter", arg(op, inputs, 1)?.shape)?;
    if ic != c {
        return Err(invalid(
            op,
            format!("filter has {ic} input channels, input has {c}"),
        ));
    }
    check_bias_shape(op, inputs, 2, oc)?;
    let (oh, ph) = conv_geometry(op, o.padding, h, kh, o.stride_h, o.dilation_h)?;
    let (ow, pw) = conv_geometry(op, o.padding, w, kw, o.stride_w, o.dilation_w)?;
    Ok(ConvGeom {
        n,
        h,
        w,
        c,
        oh,
        ow,
        o: oc,
        kh,
        kw,
        sh: o.stride_h as usize,
        sw: o.stride_w as usize,
        dh: o.dilation_h as usize,
        dw: o.dilation_w as usize,
        ph,
        pw,
    })
}

pub(super) fn conv2d_shape(
    op: &str,
    o: &Conv2DOptions,
    inputs: &[Option<ShapeIn<'_>>],
) -> Res<Dims> {
    let g = conv_geom(op, o, inputs)?;
    Ok(smallvec::smallvec![g.n, g.oh, g.ow, g.o])
}

/// Copies the receptive fields of output rows `m0..m0 + rows` into `dst` (one row of
/// `kh*kw*c` values per output pixel, zeros where the window leaves the input).
fn im2col(g: &ConvGeom, input: &[f32], m0: usize, rows: usize, dst: &mut [f32]) {
    let k = g.kh * g.kw * g.c;
    let (mut n, rem) = (m0 / (g.oh * g.ow), m0 % (g.oh * g.ow));
    let (mut oy, mut ox) = (rem / g.ow, rem % g.ow);
    for row in dst.chunks_exact_mut(k).take(rows) {
        let img = &input[n * g.h * g.w * g.c..(n + 1) * g.h * g.w * g.c];
        let mut chunks = row.chunks_exact_mut(g.kw * g.c);
        for ky in 0..g.kh {
            let Some(dst_ky) = chunks.next() else { break };
            let iy = (oy * g.sh + ky * g.dh) as isize - g.ph as isize;
            if iy < 0 || iy as usize >= g.h {
                dst_ky.fill(0.0);
                continue;
            }
            let src_row = &img[iy as usize * g.w * g.c..(iy as usize + 1) * g.w * g.c];
            let x0 = (ox * g.sw) as isize - g.pw as isize;
            if g.dw == 1 && x0 >= 0 && x0 as usize + g.kw <= g.w {
                // The whole window row is inside the input and contiguous.
                let s = x0 as usize * g.c;
                copy_small(dst_ky, &src_row[s..s + g.kw * g.c]);
                continue;
            }
            for (kx, d) in dst_ky.chunks_exact_mut(g.c).enumerate() {
                let ix = x0 + (kx * g.dw) as isize;
                if ix < 0 || ix as usize >= g.w {
                    d.fill(0.0);
                } else {
                    copy_small(d, &src_row[ix as usize * g.c..(ix as usize + 1) * g.c]);
                }
            }
        }
        ox += 1;
        if ox == g.ow {
            ox = 0;
            oy += 1;
            if oy == g.oh {
                oy = 0;
                n += 1;
            }
        }
    }
}

/// Copies `src` into `dst` (same length), avoiding a `memcpy` call for short runs.
#[inline(always)]
fn copy_small(dst: &mut [f32], src: &[f32]) {
    if dst.len() <= 16 {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = *s;
        }
    } else {
        dst.copy_from_slice(src);
    }
}

/// A block of rows: first row, its output, its scratch.
type Block<'a> = (usize, &'a mut [f32], &'a mut [f32]);

/// Splits `out` (rows of `row_len` values) into `tasks` contiguous blocks and runs
/// `f(task, first_row, block, scratch_block)` on each, in parallel.
fn run_row_blocks(
    ctx: &CpuContext,
    out: &mut [f32],
    row_len: usize,
    rows: usize,
    tasks: usize,
    (scratch, scratch_per_task): (&mut [f32], usize),
    f: impl Fn(usize, &mut [f32], &mut [f32]) -> Res<()> + Sync + Send,
) -> Res<()> {
    let rows_per = rows.div_ceil(tasks.max(1)).max(1);
    // Inline storage: per-invoke calls stay allocation-free for up to 16 tasks.
    let mut blocks: smallvec::SmallVec<[Block<'_>; 16]> = smallvec::SmallVec::new();
    let mut rest = out;
    let mut srest = scratch;
    let mut r0 = 0;
    while r0 < rows {
        let nr = rows_per.min(rows - r0);
        let take = (nr * row_len).min(rest.len());
        let (a, b) = std::mem::take(&mut rest).split_at_mut(take);
        let stake = scratch_per_task.min(srest.len());
        let (sa, sb) = std::mem::take(&mut srest).split_at_mut(stake);
        blocks.push((r0, a, sa));
        rest = b;
        srest = sb;
        r0 += nr;
    }
    let results: smallvec::SmallVec<[std::sync::Mutex<Res<()>>; 16]> = (0..blocks.len())
        .map(|_| std::sync::Mutex::new(Ok(())))
        .collect();
    let blocks: smallvec::SmallVec<[std::sync::Mutex<Block<'_>>; 16]> =
        blocks.into_iter().map(std::sync::Mutex::new).collect();
    ctx.parallel_for(blocks.len(), |t| {
        let Ok(mut b) = blocks[t].lock() else { return };
        let (r0, ref mut o, ref mut s) = *b;
        let r = f(r0, o, s);
        if let Ok(mut slot) = results[t].lock() {
            *slot = r;
        }
    });
    for r in results {
        r.into_inner().unwrap_or(Ok(()))?;
    }
    Ok(())
}

/// Rows of im2col built per matrix product.
fn tile_rows(k: usize) -> usize {
    (32 * 1024 / k.max(1)).clamp(32, 512)
}

/// Floats of scratch needed to pack `n` weight rows of depth `k`: none when `prepared` already
/// is their packed form.
fn weight_scratch(prepared: Option<&[f32]>, n: usize, k: usize) -> usize {
    match prepared {
        Some(p) if p.len() == packed_len(n, k) => 0,
        _ => packed_len(n, k),
    }
}

/// The packed weights: `prepared`, or (when [`weight_scratch`] asked for room) `src` packed
/// into `scratch` with packed row `r` taken from source row `row_of(r)`.
fn packed_weights<'a>(
    prepared: Option<&'a [f32]>,
    src: &[f32],
    (n, k): (usize, usize),
    row_of: impl Fn(usize) -> usize,
    scratch: &'a mut [f32],
) -> &'a [f32] {
    match prepared {
        Some(p) if scratch.is_empty() => p,
        _ => {
            pack_weights(src, n, k, row_of, scratch);
            scratch
        }
    }
}

/// The packed weights of a CONV_2D whose filter is constant, for [`conv2d`]'s `prepared`.
pub(super) fn conv2d_prepack(inputs: &[Option<ShapeIn<'_>>]) -> Option<Vec<f32>> {
    let f = inputs.get(1).copied().flatten()?;
    let &[o, kh, kw, c] = f.shape else {
        return None;
    };
    let filter = f32_in("CONV_2D", &f, "filter").ok()?;
    let k = kh.checked_mul(kw)?.checked_mul(c)?;
    if filter.len() != o.checked_mul(k)? {
        return None;
    }
    let mut w = vec![0f32; packed_len(o, k)];
    pack_weights(filter, o, k, |r| r, &mut w);
    Some(w)
}

/// CONV_2D as a matrix product: 1x1 convolutions read the input in place, others through
/// im2col tiles. `prepared` is [`conv2d_prepack`]'s result, when the filter is constant.
pub(super) fn conv2d(
    ctx: &CpuContext,
    op: &str,
    o: &Conv2DOptions,
    inputs: &[Option<ShapeIn<'_>>],
    out_shape: &[usize],
    outputs: &mut [TensorOut<'_>],
    prepared: Option<&[f32]>,
) -> Res<()> {
    let g = conv_geom(op, o, inputs)?;
    let input = f32_in(op, &arg(op, inputs, 0)?, "input")?;
    let filter = f32_in(op, &arg(op, inputs, 1)?, "filter")?;
    let bias = bias_of(op, inputs, 2, g.o)?;
    let out = f32_out(op, out0(op, outputs)?, prod(out_shape))?;
    let m = g.n * g.oh * g.ow;
    let k = g.kh * g.kw * g.c;
    let tasks = task_count(ctx, m * k * g.o, m);
    let epi = Epilogue {
        bias,
        act: o.activation,
    };
    let direct = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
    let tile = tile_rows(k);
    let col_len = if direct { 0 } else { tile * k };
    let own = weight_scratch(prepared, g.o, k);
    ctx.with_scratch(own + col_len * tasks, |scratch| {
        let (wbuf, cols) = scratch.split_at_mut(own);
        let w = packed_weights(prepared, filter, (g.o, k), |r| r, wbuf);
        run_row_blocks(ctx, out, g.o, m, tasks, (cols, col_len), |r0, blk, col| {
            let rows = blk.len() / g.o.max(1);
            if direct {
                // 1x1 convolution: the input already is the [M, C] matrix.
                let a = &input[r0 * k..(r0 + rows) * k];
                return matmul(op, (rows, k, g.o), a, k, w, blk, g.o, epi);
            }
            let mut t0 = 0;
            while t0 < rows {
                let tr = tile.min(rows - t0);
                im2col(&g, input, r0 + t0, tr, col);
                let c = &mut blk[t0 * g.o..(t0 + tr) * g.o];
                matmul(op, (tr, k, g.o), col, k, w, c, g.o, epi)?;
                t0 += tr;
            }
            Ok(())
        })
    })
}

/// Geometry of a DEPTHWISE_CONV_2D.
struct DwGeom {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    oh: usize,
    ow: usize,
    o: usize,
    mult: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    dh: usize,
    dw: usize,
    ph: usize,
    pw: usize,
}

fn dw_geom(op: &str, o: &DepthwiseConv2DOptions, inputs: &[Option<ShapeIn<'_>>]) -> Res<DwGeom> {
    let [n, h, w, c] = rank4(op, "input", arg(op, inputs, 0)?.shape)?;
    let [one, kh, kw, oc] = rank4(op, "filter", arg(op, inputs, 1)?.shape)?;
    if one != 1 {
        return Err(invalid(
            op,
            format!("filter must be [1, H, W, C], has first dimension {one}"),
        ));
    }
    if c == 0 || oc % c != 0 {
        return Err(invalid(
            op,
            format!("filter has {oc} channels, not a multiple of the input's {c}"),
        ));
    }
    check_bias_shape(op, inputs, 2, oc)?;
    let (oh, ph) = conv_geometry(op, o.padding, h, kh, o.stride_h, o.dilation_h)?;
    let (ow, pw) = conv_geometry(op, o.padding, w, kw, o.stride_w, o.dilation_w)?;
    Ok(DwGeom {
        n,
        h,
        w,
        c,
        oh,
        ow,
        o: oc,
        mult: oc / c,
        kh,
        kw,
        sh: o.stride_h as usize,
        sw: o.stride_w as usize,
        dh: o.dilation_h as usize,
        dw: o.dilation_w as usize,
        ph,
        pw,
    })
}

pub(super) fn depthwise_shape(
    op: &str,
    o: &DepthwiseConv2DOptions,
    inputs: &[Option<ShapeIn<'_>>],
) -> Res<Dims> {
    let g = dw_geom(op, o, inputs)?;
    Ok(smallvec::smallvec![g.n, g.oh, g.ow, g.o])
}

pub(super) fn depthwise(
    ctx: &CpuContext,
    op: &str,
    o: &DepthwiseConv2DOptions,
    inputs: &[Option<ShapeIn<'_>>],
    out_shape: &[usize],
    outputs: &mut [TensorOut<'_>],
) -> Res<()> {
    let g = dw_geom(op, o, inputs)?;
    let input = f32_in(op, &arg(op, inputs, 0)?, "input")?;
    let filter = f32_in(op, &arg(op, inputs, 1)?, "filter")?;
    let bias = bias_of(op, inputs, 2, g.o)?;
    let out = f32_out(op, out0(op, outputs)?, prod(out_shape))?;
    let rows = g.n * g.oh;
    let row_len = g.ow * g.o;
    let tasks = task_count(ctx, out.len() * g.kh * g.kw, rows);
    let act = o.activation;
    let fma = has_fma();
    // Extent of the zero-padded input every window fits in.
    let hp = (g.h + g.ph).max((g.oh.max(1) - 1) * g.sh + (g.kh - 1) * g.dh + 1);
    let wp = (g.w + g.pw).max((g.ow.max(1) - 1) * g.sw + (g.kw - 1) * g.dw + 1);
    let taps: smallvec::SmallVec<[usize; 32]> = (0..g.kh * g.kw)
        .map(|t| ((t / g.kw) * g.dh * wp + (t % g.kw) * g.dw) * g.c)
        .collect();
    let run = |padded: &[f32], out: &mut [f32]| {
        run_row_blocks(
            ctx,
            out,
            row_len,
            rows,
            tasks,
            (&mut [], 0),
            |r0, blk, _| {
                let args = DwArgs {
                    g: &g,
                    input: padded,
                    hp,
                    wp,
                    taps: &taps,
                    filter,
                    bias,
                    act,
                };
                #[cfg(target_arch = "x86_64")]
                if fma {
                    // SAFETY: the CPU supports AVX2 and FMA (checked at run time by `has_fma`).
                    unsafe { dw_rows_fma(&args, r0, blk) };
                    return Ok(());
                }
                let _ = fma;
                dw_rows::<false>(&args, r0, blk);
                Ok(())
            },
        )
    };
    if hp == g.h && wp == g.w {
        return run(input, out);
    }
    let img = g.h * g.w * g.c;
    ctx.with_scratch(g.n * hp * wp * g.c, |padded| {
        padded.fill(0.0);
        for n in 0..g.n {
            for y in 0..g.h {
                let src = &input[n * img + y * g.w * g.c..n * img + (y + 1) * g.w * g.c];
                let d = ((n * hp + y + g.ph) * wp + g.pw) * g.c;
                padded[d..d + g.w * g.c].copy_from_slice(src);
            }
        }
        run(padded, out)
    })
}

/// Operands of the depthwise kernel; `input` is zero-padded to `hp` x `wp` per image so that
/// every window lies inside it, and `taps` holds each kernel tap's offset from a window's origin.
struct DwArgs<'a> {
    g: &'a DwGeom,
    input: &'a [f32],
    hp: usize,
    wp: usize,
    taps: &'a [usize],
    filter: &'a [f32],
    bias: Option<&'a [f32]>,
    act: Activation,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dw_rows_fma(a: &DwArgs<'_>, r0: usize, blk: &mut [f32]) {
    dw_rows::<true>(a, r0, blk)
}

/// Dot product of two equally long slices.
fn dot(fma: bool, a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if fma {
        // SAFETY: the CPU supports AVX2 and FMA (checked at run time by `has_fma`).
        return unsafe { dot_fma(a, b) };
    }
    let _ = fma;
    dot_impl::<false>(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_fma(a: &[f32], b: &[f32]) -> f32 {
    dot_impl::<true>(a, b)
}

#[inline(always)]
fn dot_impl<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    const L: usize = 32;
    let mut acc = [0f32; L];
    let (ca, cb) = (a.chunks_exact(L), b.chunks_exact(L));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..L {
            acc[l] = madd::<FMA>(acc[l], x[l], y[l]);
        }
    }
    let mut s = 0f32;
    for (x, y) in ra.iter().zip(rb) {
        s = madd::<FMA>(s, *x, *y);
    }
    acc.iter().sum::<f32>() + s
}

#[inline(always)]
fn madd<const FMA: bool>(acc: f32, x: f32, w: f32) -> f32 {
    if FMA {
        x.mul_add(w, acc)
    } else {
        acc + x * w
    }
}

/// Depthwise convolution of output rows `r0..` (each `ow * o` values) into `blk`.
#[inline(always)]
fn dw_rows<const FMA: bool>(a: &DwArgs<'_>, r0: usize, blk: &mut [f32]) {
    let g = a.g;
    let row_len = g.ow * g.o;
    let (lo, hi) = activation_range(a.act).unwrap_or((f32::NEG_INFINITY, f32::INFINITY));
    for (r, orow) in blk.chunks_exact_mut(row_len.max(1)).enumerate() {
        let (n, oy) = ((r0 + r) / g.oh, (r0 + r) % g.oh);
        let row_base = (n * a.hp + oy * g.sh) * a.wp * g.c;
        if g.mult == 1 {
            // Four output pixels at a time, so that each weight vector loaded serves four.
            let step = g.sw * g.c;
            let mut ox = 0;
            while ox < g.ow {
                if g.ow - ox >= 4 {
                    let bases = std::array::from_fn(|j| row_base + (ox + j) * step);
                    let outs = std::array::from_fn(|j| (ox + j) * g.o);
                    dw_channels::<FMA, 4>(a, bases, orow, outs, (lo, hi));
                    ox += 4;
                } else {
                    dw_channels::<FMA, 1>(a, [row_base + ox * step], orow, [ox * g.o], (lo, hi));
                    ox += 1;
                }
            }
        } else {
            for (ox, acc) in orow.chunks_exact_mut(g.o).enumerate() {
                let base = row_base + ox * g.sw * g.c;
                fill_bias(acc, a.bias, g.o);
                for (t, &to) in a.taps.iter().enumerate() {
                    let px = &a.input[base + to..base + to + g.c];
                    let wt = &a.filter[t * g.o..(t + 1) * g.o];
                    for ((acc, x), w) in acc
                        .chunks_exact_mut(g.mult)
                        .zip(px)
                        .zip(wt.chunks_exact(g.mult))
                    {
                        for (acc, w) in acc.iter_mut().zip(w) {
                            *acc = madd::<FMA>(*acc, *x, *w);
                        }
                    }
                }
                acc.iter_mut().for_each(|v| *v = v.clamp(lo, hi));
            }
        }
        if a.act == Activation::Tanh {
            apply_activation(a.act, orow);
        }
    }
}

/// All channels of `PX` output pixels of a depth-multiplier-1 depthwise convolution: pixel `j`
/// reads the window at input offset `bases[j]` and is stored at `outs[j]` in `out`. Channels
/// go in blocks of 16, then 8, then one at a time.
#[inline(always)]
fn dw_channels<const FMA: bool, const PX: usize>(
    a: &DwArgs<'_>,
    bases: [usize; PX],
    out: &mut [f32],
    outs: [usize; PX],
    range: (f32, f32),
) {
    let c = a.g.o;
    let mut cb = 0;
    while c - cb >= 16 {
        dw_block::<FMA, 16, PX>(a, bases, cb, out, outs, range);
        cb += 16;
    }
    if c - cb >= 8 {
        dw_block::<FMA, 8, PX>(a, bases, cb, out, outs, range);
        cb += 8;
    }
    while cb < c {
        dw_block::<FMA, 1, PX>(a, bases, cb, out, outs, range);
        cb += 1;
    }
}

/// Channels `cb..cb + L` of `PX` output pixels (see [`dw_channels`]), in registers across the
/// kernel taps.
#[inline(always)]
fn dw_block<const FMA: bool, const L: usize, const PX: usize>(
    a: &DwArgs<'_>,
    bases: [usize; PX],
    cb: usize,
    out: &mut [f32],
    outs: [usize; PX],
    (lo, hi): (f32, f32),
) {
    let o = a.g.o;
    let mut v = [[0f32; L]; PX];
    if let Some(b) = a.bias {
        for acc in v.iter_mut() {
            acc.copy_from_slice(&b[cb..cb + L]);
        }
    }
    for (t, &to) in a.taps.iter().enumerate() {
        let w = &a.filter[t * o + cb..t * o + cb + L];
        for (acc, &base) in v.iter_mut().zip(&bases) {
            let x = &a.input[base + to + cb..base + to + cb + L];
            for l in 0..L {
                acc[l] = madd::<FMA>(acc[l], x[l], w[l]);
            }
        }
    }
    for (acc, &at) in v.iter().zip(&outs) {
        for (d, s) in out[at + cb..at + cb + L].iter_mut().zip(acc) {
            *d = s.clamp(lo, hi);
        }
    }
}

fn fc_dims(op: &str, inputs: &[Option<ShapeIn<'_>>]) -> Res<(usize, usize, usize)> {
    let input = arg(op, inputs, 0)?;
    let w = arg(op, inputs, 1)?;
    let [units, depth] = <[usize; 2]>::try_from(w.shape)
        .map_err(|_| invalid(op, format!("weights must be 2-D, have shape {:?}", w.shape)))?;
    let total = prod(input.shape);
    if depth == 0 || !total.is_multiple_of(depth) {
        return Err(invalid(
            op,
            format!(
                "input of shape {:?} cannot be flattened to rows of {depth} (the weights' depth)",
                input.shape
            ),
        ));
    }
    check_bias_shape(op, inputs, 2, units)?;
    Ok((total / depth, depth, units))
}

pub(super) fn fc_shape(
    op: &str,
    o: &FullyConnectedOptions,
    inputs: &[Option<ShapeIn<'_>>],
) -> Res<Dims> {
    if o.weights_format != 0 {
        return Err(unsupported(op, "shuffled int8 weights are not supported"));
    }
    let (batch, depth, units) = fc_dims(op, inputs)?;
    let ishape = arg(op, inputs, 0)?.shape;
    if o.keep_num_dims {
        match ishape.split_last() {
            Some((&last, lead)) if last == depth => {
                let mut s = Dims::from_slice(lead);
                s.push(units);
                Ok(s)
            }
            _ => Err(invalid(
                op,
                format!("keep_num_dims needs the input's last dimension to be {depth}, shape is {ishape:?}"),
            )),
        }
    } else {
        Ok(smallvec::smallvec![batch, units])
    }
}

pub(super) fn fully_connected(
    ctx: &CpuContext,
    op: &str,
    o: &FullyConnectedOptions,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
    prepared: Option<&[f32]>,
) -> Res<()> {
    if o.weights_format != 0 {
        return Err(unsupported(op, "shuffled int8 weights are not supported"));
    }
    let (batch, depth, units) = fc_dims(op, inputs)?;
    let input = f32_in(op, &arg(op, inputs, 0)?, "input")?;
    let weights = f32_in(op, &arg(op, inputs, 1)?, "weights")?;
    let bias = bias_of(op, inputs, 2, units)?;
    let out = f32_out(op, out0(op, outputs)?, batch * units)?;
    let act = o.activation;
    let work = batch * depth * units;
    if batch < FC_DOT_BATCH {
        // Few rows: dot products straight from the weights (a GEMM would repack them each call).
        // The units are split over the threads; `out` is viewed as [units] blocks per row.
        let fma = has_fma();
        let tasks = task_count(ctx, work, units);
        for r in 0..batch {
            let x = &input[r * depth..(r + 1) * depth];
            let orow = &mut out[r * units..(r + 1) * units];
            run_row_blocks(ctx, orow, 1, units, tasks, (&mut [], 0), |u0, blk, _| {
                for (i, o) in blk.iter_mut().enumerate() {
                    let u = u0 + i;
                    let w = &weights[u * depth..(u + 1) * depth];
                    let d = dot(fma, x, w);
                    *o = d + bias.map_or(0.0, |b| b[u]);
                }
                apply_activation(act, blk);
                Ok(())
            })?;
        }
        return Ok(());
    }
    let tasks = task_count(ctx, work, batch);
    let epi = Epilogue { bias, act };
    let own = weight_scratch(prepared, units, depth);
    ctx.with_scratch(own, |wbuf| {
        let w = packed_weights(prepared, weights, (units, depth), |r| r, wbuf);
        run_row_blocks(ctx, out, units, batch, tasks, (&mut [], 0), |r0, blk, _| {
            let rows = blk.len() / units.max(1);
            let a = &input[r0 * depth..(r0 + rows) * depth];
            matmul(op, (rows, depth, units), a, depth, w, blk, units, epi)
        })
    })
}

/// Batches below this run FULLY_CONNECTED as dot products over the unpacked weights.
const FC_DOT_BATCH: usize = 4;

/// The packed weights of a FULLY_CONNECTED with constant weights and a batch large enough
/// for the matrix product, for [`fully_connected`]'s `prepared`.
pub(super) fn fc_prepack(inputs: &[Option<ShapeIn<'_>>]) -> Option<Vec<f32>> {
    let (batch, depth, units) = fc_dims("FULLY_CONNECTED", inputs).ok()?;
    let weights = f32_in(
        "FULLY_CONNECTED",
        &inputs.get(1).copied().flatten()?,
        "weights",
    )
    .ok()?;
    if batch < FC_DOT_BATCH || weights.len() != units.checked_mul(depth)? {
        return None;
    }
    let mut w = vec![0f32; packed_len(units, depth)];
    pack_weights(weights, units, depth, |r| r, &mut w);
    Some(w)
}

/// Geometry of a transposed convolution.
pub(super) struct TConvGeom {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    oh: usize,
    ow: usize,
    o: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    ph: usize,
    pw: usize,
    input: usize,
    weights: usize,
    bias: Option<usize>,
    activation: Activation,
}

impl TConvGeom {
    pub(super) fn out_shape(&self) -> [usize; 4] {
        [self.n, self.oh, self.ow, self.o]
    }
}

/// Leading padding of a transposed convolution producing `out` from a kernel of `k`: TFLite
/// pads as for the forward convolution whose input is this output.
fn tconv_pad(padding: Padding, out: usize, k: usize, s: usize) -> usize {
    match padding {
        Padding::Valid => 0,
        Padding::Same => {
            let fwd = out.div_ceil(s);
            ((fwd.max(1) - 1) * s + k).saturating_sub(out) / 2
        }
    }
}

pub(super) fn transpose_conv_shape(
    op: &str,
    node: &Op,
    inputs: &[Option<ShapeIn<'_>>],
) -> Res<TConvGeom> {
    let (padding, sh, sw, act, ii, wi, bi) = match node {
        Op::TransposeConv(o) => (o.padding, o.stride_h, o.stride_w, o.activation, 2, 1, 3),
        Op::Conv2DTransposeBias {
            padding,
            stride_w,
            stride_h,
        } => (*padding, *stride_h, *stride_w, Activation::None, 0, 1, 2),
        _ => return Err(invalid(op, "not a transposed convolution")),
    };
    if sh <= 0 || sw <= 0 {
        return Err(invalid(op, format!("strides {sh}x{sw} must be positive")));
    }
    let (sh, sw) = (sh as usize, sw as usize);
    let [n, h, w, c] = rank4(op, "input", arg(op, inputs, ii)?.shape)?;
    let [o, kh, kw, ic] = rank4(op, "weights", arg(op, inputs, wi)?.shape)?;
    if ic != c {
        return Err(invalid(
            op,
            format!("weights have {ic} input channels, input has {c}"),
        ));
    }
    if kh == 0 || kw == 0 {
        return Err(invalid(op, "weights have a zero spatial dimension"));
    }
    let bias = opt_arg(inputs, bi).map(|_| bi);
    check_bias_shape(op, inputs, bi, o)?;
    let (oh, ow) = match node {
        Op::TransposeConv(_) => {
            let os = ints(op, &arg(op, inputs, 0)?, "output_shape")?;
            let [on, oh, ow, oc] = <[i64; 4]>::try_from(os.as_slice())
                .map_err(|_| invalid(op, format!("output_shape must have 4 values, has {os:?}")))?;
            if on != n as i64 || oc != o as i64 || oh < 0 || ow < 0 {
                return Err(invalid(
                    op,
                    format!("output_shape {os:?} does not match input batch {n} and {o} output channels"),
                ));
            }
            (oh as usize, ow as usize)
        }
        _ => match padding {
            Padding::Same => (h * sh, w * sw),
            Padding::Valid => (h.saturating_sub(1) * sh + kh, w.saturating_sub(1) * sw + kw),
        },
    };
    Ok(TConvGeom {
        n,
        h,
        w,
        c,
        oh,
        ow,
        o,
        kh,
        kw,
        sh,
        sw,
        ph: tconv_pad(padding, oh, kh, sh),
        pw: tconv_pad(padding, ow, kw, sw),
        input: ii,
        weights: wi,
        bias,
        activation: act,
    })
}

/// The (kernel tap, input coordinate) pairs of a transposed convolution that reach output
/// coordinate `y`: input `i` reaches `i * s + t - pad`.
fn tconv_sources(
    y: usize,
    input: usize,
    k: usize,
    s: usize,
    pad: usize,
) -> impl Iterator<Item = (usize, usize)> {
    (0..k).filter_map(move |t| {
        let num = (y + pad).checked_sub(t)?;
        (num % s == 0 && num / s < input).then_some((t, num / s))
    })
}

/// Source weight row (`[O, KH, KW]` order) of packed row `r` (`[tap, O]` order).
fn tconv_row(g: &TConvGeom) -> impl Fn(usize) -> usize {
    let (o, taps) = (g.o.max(1), g.kh * g.kw);
    move |r| (r % o) * taps + r / o
}

/// The packed weights of a transposed convolution with constant weights, for
/// [`transpose_conv`]'s `prepared`.
pub(super) fn transpose_conv_prepack(
    node: &Op,
    inputs: &[Option<ShapeIn<'_>>],
) -> Option<Vec<f32>> {
    let g = transpose_conv_shape("TRANSPOSE_CONV", node, inputs).ok()?;
    let weights = f32_in(
        "TRANSPOSE_CONV",
        &inputs.get(g.weights).copied().flatten()?,
        "weights",
    )
    .ok()?;
    let cols = g.kh * g.kw * g.o;
    if weights.len() != cols.checked_mul(g.c)? {
        return None;
    }
    let mut w = vec![0f32; packed_len(cols, g.c)];
    pack_weights(weights, cols, g.c, tconv_row(&g), &mut w);
    Some(w)
}

/// A transposed convolution: one matrix product into per-tap columns, then each output
/// gathers the columns that reach it. `prepared` is [`transpose_conv_prepack`]'s result.
pub(super) fn transpose_conv(
    ctx: &CpuContext,
    op: &str,
    node: &Op,
    inputs: &[Option<ShapeIn<'_>>],
    outputs: &mut [TensorOut<'_>],
    prepared: Option<&[f32]>,
) -> Res<()> {
    let g = transpose_conv_shape(op, node, inputs)?;
    let input = f32_in(op, &arg(op, inputs, g.input)?, "input")?;
    let weights = f32_in(op, &arg(op, inputs, g.weights)?, "weights")?;
    let bias = match g.bias {
        Some(b) => bias_of(op, inputs, b, g.o)?,
        None => None,
    };
    let out = f32_out(op, out0(op, outputs)?, prod(&g.out_shape()))?;
    let taps = g.kh * g.kw;
    let cols = taps * g.o;
    let m = g.n * g.h * g.w;
    let tasks = task_count(ctx, m * cols * g.c, m);
    // The column matrix [M, tap * O] comes from weights packed in [tap, O] row order, so that
    // the columns of one tap are contiguous.
    let own = weight_scratch(prepared, cols, g.c);
    let act = g.activation;
    ctx.with_scratch(own + m * cols, |scratch| {
        let (wbuf, col) = scratch.split_at_mut(own);
        let wt = packed_weights(prepared, weights, (cols, g.c), tconv_row(&g), wbuf);
        let none = Epilogue {
            bias: None,
            act: Activation::None,
        };
        run_row_blocks(ctx, col, cols, m, tasks, (&mut [], 0), |r0, blk, _| {
            let rows = blk.len() / cols.max(1);
            let a = &input[r0 * g.c..(r0 + rows) * g.c];
            matmul(op, (rows, g.c, cols), a, g.c, wt, blk, cols, none)
        })?;
        let col = &*col;
        let out_rows = g.n * g.oh;
        let row_len = g.ow * g.o;
        let tasks = task_count(ctx, out.len() * taps, out_rows);
        run_row_blocks(
            ctx,
            out,
            row_len,
            out_rows,
            tasks,
            (&mut [], 0),
            |r0, blk, _| {
                for (r, orow) in blk.chunks_exact_mut(row_len.max(1)).enumerate() {
                    let (n, oy) = ((r0 + r) / g.oh, (r0 + r) % g.oh);
                    for (ox, acc) in orow.chunks_exact_mut(g.o).enumerate() {
                        fill_bias(acc, bias, g.o);
                        for (ky, iy) in tconv_sources(oy, g.h, g.kh, g.sh, g.ph) {
                            for (kx, ix) in tconv_sources(ox, g.w, g.kw, g.sw, g.pw) {
                                let base =
                                    ((n * g.h + iy) * g.w + ix) * cols + (ky * g.kw + kx) * g.o;
                                for (a, v) in acc.iter_mut().zip(&col[base..base + g.o]) {
                                    *a += v;
                                }
                            }
                        }
                    }
                    apply_activation(act, orow);
                }
                Ok(())
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TensorType;

    fn vals(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    /// The portable and the FMA variants of the hand-vectorized loops agree.
    #[test]
    fn portable_and_fma_paths_agree() {
        for (c, mult) in [(17usize, 1usize), (3, 2), (32, 1)] {
            let (h, w, o) = (5usize, 6usize, c * mult);
            let x = vals(h * w * c, 1);
            let f = vals(9 * o, 2);
            let b = vals(o, 3);
            let (xs, fs, bs) = ([1, h, w, c], [1, 3, 3, o], [o]);
            let ins = [
                Some(ShapeIn {
                    shape: &xs,
                    dtype: TensorType::Float32,
                    values: Some(bytemuck::cast_slice(&x)),
                }),
                Some(ShapeIn {
                    shape: &fs,
                    dtype: TensorType::Float32,
                    values: Some(bytemuck::cast_slice(&f)),
                }),
                Some(ShapeIn {
                    shape: &bs,
                    dtype: TensorType::Float32,
                    values: Some(bytemuck::cast_slice(&b)),
                }),
            ];
            let opts = DepthwiseConv2DOptions {
                padding: Padding::Same,
                stride_w: 2,
                stride_h: 1,
                depth_multiplier: mult as i32,
                activation: Activation::Relu6,
                dilation_w: 1,
                dilation_h: 1,
            };
            let g = dw_geom("DW", &opts, &ins).unwrap();
            // Pad by hand: one zero row below, one zero column either side (stride 2, SAME).
            let (hp, wp) = (h + 2, w + 2);
            let mut padded = vec![0f32; hp * wp * c];
            for y in 0..h {
                let d = ((y + g.ph) * wp + g.pw) * c;
                padded[d..d + w * c].copy_from_slice(&x[y * w * c..(y + 1) * w * c]);
            }
            let taps: Vec<usize> = (0..9).map(|t| ((t / 3) * wp + t % 3) * c).collect();
            let args = DwArgs {
                g: &g,
                input: &padded,
                hp,
                wp,
                taps: &taps,
                filter: &f,
                bias: Some(&b),
                act: Activation::Relu6,
            };
            let n = g.oh * g.ow * g.o;
            let (mut p, mut q) = (vec![0f32; n], vec![0f32; n]);
            dw_rows::<false>(&args, 0, &mut p);
            dw_rows::<true>(&args, 0, &mut q);
            for (a, b) in p.iter().zip(&q) {
                assert!((a - b).abs() < 1e-5, "{a} vs {b}");
            }
            assert!(p.iter().any(|v| *v != 0.0));
        }
        let (a, b) = (vals(101, 4), vals(101, 5));
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot_impl::<false>(&a, &b) - naive).abs() < 1e-4);
        assert!((dot_impl::<true>(&a, &b) - naive).abs() < 1e-4);
    }
}
