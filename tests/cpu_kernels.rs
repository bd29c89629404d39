//! Per-op tests of the CPU kernels against naive loops written here, or hand-derived values.

use halfgpu::cpu::{self, CpuContext, KernelError, ShapeIn, TensorIn, TensorOut};
use halfgpu::graph::Op;
use halfgpu::model::{
    Activation, Conv2DOptions, DepthwiseConv2DOptions, DimensionMetadata, FullyConnectedOptions,
    IndexVector, MirrorPadMode, Padding, Pool2DOptions, ResizeOptions, Sparsity,
    StridedSliceOptions, TensorType, TransposeConvOptions,
};

type Binary = fn(f32, f32) -> f32;
type Unary = fn(f32) -> f32;
/// (h, w, c, o, k, stride, dilation, batch, padding)
type ConvCase = (
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    Padding,
);

/// A test tensor whose bytes live in 16-byte aligned storage.
#[derive(Clone, Debug)]
struct T {
    shape: Vec<usize>,
    dtype: TensorType,
    words: Vec<u128>,
    len: usize,
}

impl T {
    fn from_bytes(shape: &[usize], dtype: TensorType, bytes: &[u8]) -> T {
        let mut words = vec![0u128; bytes.len().div_ceil(16)];
        bytemuck::cast_slice_mut::<u128, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        T {
            shape: shape.to_vec(),
            dtype,
            words,
            len: bytes.len(),
        }
    }
    fn zeros(shape: &[usize], dtype: TensorType) -> T {
        let n: usize = shape.iter().product();
        T::from_bytes(shape, dtype, &vec![0u8; n * dtype.size_bytes().unwrap()])
    }
    fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u128, u8>(&self.words)[..self.len]
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut bytemuck::cast_slice_mut::<u128, u8>(&mut self.words)[..self.len]
    }
    fn f32s(&self) -> Vec<f32> {
        bytemuck::cast_slice(self.bytes()).to_vec()
    }
    fn i32s(&self) -> Vec<i32> {
        bytemuck::cast_slice(self.bytes()).to_vec()
    }
    fn i64s(&self) -> Vec<i64> {
        bytemuck::cast_slice(self.bytes()).to_vec()
    }
    fn shape_in(&self) -> ShapeIn<'_> {
        ShapeIn {
            shape: &self.shape,
            dtype: self.dtype,
            values: Some(self.bytes()),
        }
    }
}

fn f(shape: &[usize], v: &[f32]) -> T {
    assert_eq!(shape.iter().product::<usize>(), v.len());
    T::from_bytes(shape, TensorType::Float32, bytemuck::cast_slice(v))
}
fn i32t(shape: &[usize], v: &[i32]) -> T {
    T::from_bytes(shape, TensorType::Int32, bytemuck::cast_slice(v))
}
fn i64t(shape: &[usize], v: &[i64]) -> T {
    T::from_bytes(shape, TensorType::Int64, bytemuck::cast_slice(v))
}

/// Deterministic pseudo-random values in [-1, 1).
fn rnd(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}
fn rt(shape: &[usize], seed: u64) -> T {
    f(shape, &rnd(shape.iter().product(), seed))
}

/// Runs `op` with outputs of the given dtypes, shapes from `infer_shapes`.
fn run_ctx(
    ctx: &CpuContext,
    op: &Op,
    inputs: &[Option<&T>],
    out_types: &[TensorType],
) -> Result<Vec<T>, KernelError> {
    run_with_shapes(ctx, op, inputs, out_types, None)
}

/// [`run_ctx`] with output shapes given (as a runtime does when the file fixes them).
fn run_with_shapes(
    ctx: &CpuContext,
    op: &Op,
    inputs: &[Option<&T>],
    out_types: &[TensorType],
    shapes: Option<Vec<Vec<usize>>>,
) -> Result<Vec<T>, KernelError> {
    let si: Vec<Option<ShapeIn>> = inputs.iter().map(|t| t.map(|t| t.shape_in())).collect();
    let shapes = match shapes {
        Some(s) => s,
        None => cpu::infer_shapes(op, &si)?,
    };
    let mut outs: Vec<T> = shapes
        .iter()
        .enumerate()
        .map(|(i, s)| T::zeros(s, *out_types.get(i).unwrap_or(&out_types[0])))
        .collect();
    let tin: Vec<Option<TensorIn>> = inputs
        .iter()
        .map(|t| {
            t.map(|t| TensorIn {
                shape: &t.shape,
                dtype: t.dtype,
                bytes: t.bytes(),
            })
        })
        .collect();
    {
        let shapes: Vec<Vec<usize>> = outs.iter().map(|o| o.shape.clone()).collect();
        let mut tout: Vec<TensorOut> = outs
            .iter_mut()
            .zip(&shapes)
            .map(|(o, s)| {
                let dtype = o.dtype;
                TensorOut {
                    shape: s,
                    dtype,
                    bytes: o.bytes_mut(),
                }
            })
            .collect();
        cpu::execute(ctx, op, &tin, &mut tout)?;
    }
    Ok(outs)
}

fn run(op: &Op, inputs: &[Option<&T>], out_types: &[TensorType]) -> Result<Vec<T>, KernelError> {
    run_ctx(&CpuContext::new(1), op, inputs, out_types)
}

/// Runs an op with one f32 output.
fn run1(op: &Op, inputs: &[&T]) -> T {
    let ins: Vec<Option<&T>> = inputs.iter().map(|t| Some(*t)).collect();
    run(op, &ins, &[TensorType::Float32])
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0)
}

fn assert_close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs();
        assert!(
            err <= tol * (1.0 + w.abs()),
            "element {i}: got {g}, want {w} (diff {err})"
        );
    }
}

/// TFLite's output size and leading padding, computed independently of the crate.
fn out_pad(padding: Padding, input: usize, k: usize, s: usize, d: usize) -> (usize, usize) {
    let eff = (k - 1) * d + 1;
    let out = match padding {
        Padding::Same => input.div_ceil(s),
        Padding::Valid => (input - eff + s) / s,
    };
    let total = ((out - 1) * s + eff) as i64 - input as i64;
    (out, (total.max(0) / 2) as usize)
}

fn act(v: f32, a: Activation) -> f32 {
    match a {
        Activation::None => v,
        Activation::Relu => v.max(0.0),
        Activation::Relu6 => v.clamp(0.0, 6.0),
        Activation::ReluN1To1 => v.clamp(-1.0, 1.0),
        Activation::Tanh => v.tanh(),
        Activation::SignBit => unreachable!(),
    }
}

#[allow(clippy::too_many_arguments)]
fn naive_conv(
    x: &T,
    w: &T,
    b: Option<&T>,
    padding: Padding,
    (sh, sw): (usize, usize),
    (dh, dw): (usize, usize),
    a: Activation,
) -> (Vec<usize>, Vec<f32>) {
    let (n, h, wd, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
    let (o, kh, kw) = (w.shape[0], w.shape[1], w.shape[2]);
    let (oh, ph) = out_pad(padding, h, kh, sh, dh);
    let (ow, pw) = out_pad(padding, wd, kw, sw, dw);
    let (xv, wv) = (x.f32s(), w.f32s());
    let bv = b.map(|b| b.f32s());
    let mut out = vec![0f32; n * oh * ow * o];
    for bi in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                for oc in 0..o {
                    let mut s = bv.as_ref().map_or(0.0, |b| b[oc]);
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let iy = (oy * sh + ky * dh) as i64 - ph as i64;
                            let ix = (ox * sw + kx * dw) as i64 - pw as i64;
                            if iy < 0 || ix < 0 || iy >= h as i64 || ix >= wd as i64 {
                                continue;
                            }
                            for ic in 0..c {
                                s += xv[((bi * h + iy as usize) * wd + ix as usize) * c + ic]
                                    * wv[((oc * kh + ky) * kw + kx) * c + ic];
                            }
                        }
                    }
                    out[((bi * oh + oy) * ow + ox) * o + oc] = act(s, a);
                }
            }
        }
    }
    (vec![n, oh, ow, o], out)
}

#[test]
fn conv2d_matches_naive_loops() {
    let cases: &[ConvCase] = &[
        // (h, w, c, o, k, stride, dilation, batch, padding)
        (5, 5, 1, 1, 3, 1, 1, 1, Padding::Same),
        (7, 6, 3, 5, 3, 2, 1, 2, Padding::Same),
        (7, 7, 5, 17, 3, 2, 1, 1, Padding::Valid),
        (9, 8, 3, 4, 3, 1, 2, 1, Padding::Same),
        (9, 9, 17, 3, 3, 1, 2, 1, Padding::Valid),
        (6, 6, 5, 3, 1, 1, 1, 2, Padding::Same),
        (6, 7, 3, 5, 1, 2, 1, 1, Padding::Valid),
        (8, 8, 3, 4, 5, 2, 1, 1, Padding::Same),
        (4, 6, 2, 3, 2, 1, 1, 1, Padding::Same),
    ];
    for (i, &(h, w, c, o, k, s, d, n, padding)) in cases.iter().enumerate() {
        for (j, a) in [Activation::None, Activation::Relu6]
            .into_iter()
            .enumerate()
        {
            let x = rt(&[n, h, w, c], i as u64);
            let wt = rt(&[o, k, k, c], 100 + i as u64);
            let b = rt(&[o], 200 + i as u64);
            let op = Op::Conv2D(Conv2DOptions {
                padding,
                stride_w: s as i32,
                stride_h: s as i32,
                activation: a,
                dilation_w: d as i32,
                dilation_h: d as i32,
            });
            let bias = (j == 0).then_some(&b);
            let (shape, want) = naive_conv(&x, &wt, bias, padding, (s, s), (d, d), a);
            let mut ins = vec![Some(&x), Some(&wt)];
            if let Some(b) = bias {
                ins.push(Some(b));
            }
            for threads in [1, 2] {
                let got = run_ctx(&CpuContext::new(threads), &op, &ins, &[TensorType::Float32])
                    .unwrap()
                    .remove(0);
                assert_eq!(got.shape, shape, "case {i}");
                assert_close(&got.f32s(), &want, 1e-5);
            }
        }
    }
}

#[test]
fn conv2d_large_enough_to_thread() {
    let x = rt(&[1, 20, 20, 8], 1);
    let w = rt(&[16, 3, 3, 8], 2);
    let b = rt(&[16], 3);
    let op = Op::Conv2D(Conv2DOptions {
        padding: Padding::Same,
        stride_w: 1,
        stride_h: 1,
        activation: Activation::Relu,
        dilation_w: 1,
        dilation_h: 1,
    });
    let (_, want) = naive_conv(
        &x,
        &w,
        Some(&b),
        Padding::Same,
        (1, 1),
        (1, 1),
        Activation::Relu,
    );
    let got = run_ctx(
        &CpuContext::new(2),
        &op,
        &[Some(&x), Some(&w), Some(&b)],
        &[TensorType::Float32],
    )
    .unwrap();
    assert_close(&got[0].f32s(), &want, 1e-5);
}

#[test]
fn conv2d_rejects_channel_mismatch() {
    let x = rt(&[1, 4, 4, 5], 1);
    let w = rt(&[2, 3, 3, 3], 2);
    let op = Op::Conv2D(Conv2DOptions {
        padding: Padding::Same,
        stride_w: 1,
        stride_h: 1,
        activation: Activation::None,
        dilation_w: 1,
        dilation_h: 1,
    });
    let err = cpu::infer_shapes(&op, &[Some(x.shape_in()), Some(w.shape_in())]).unwrap_err();
    assert!(
        err.to_string()
            .contains("filter has 3 input channels, input has 5"),
        "{err}"
    );
    let sign = Op::Conv2D(Conv2DOptions {
        padding: Padding::Same,
        stride_w: 1,
        stride_h: 1,
        activation: Activation::SignBit,
        dilation_w: 1,
        dilation_h: 1,
    });
    let w3 = rt(&[2, 3, 3, 5], 2);
    assert!(cpu::check_supported(&sign, &[Some(x.shape_in()), Some(w3.shape_in())]).is_err());
    let q = T::zeros(&[1, 4, 4, 5], TensorType::Int8);
    let msg = cpu::check_supported(&op, &[Some(q.shape_in()), Some(w3.shape_in())]).unwrap_err();
    assert!(
        msg.contains("int8-quantized tensors are not supported"),
        "{msg}"
    );
}

#[test]
fn depthwise_matches_naive_loops() {
    // (h, w, c, mult, k, stride, dilation, padding)
    let cases = [
        (5, 5, 1, 1, 3, 1, 1, Padding::Same),
        (7, 6, 3, 2, 3, 2, 1, Padding::Same),
        (8, 8, 5, 1, 3, 1, 2, Padding::Valid),
        (9, 7, 17, 1, 5, 2, 1, Padding::Same),
        (6, 6, 3, 2, 3, 1, 2, Padding::Same),
    ];
    for (i, &(h, w, c, m, k, s, d, padding)) in cases.iter().enumerate() {
        let o = c * m;
        let x = rt(&[2, h, w, c], i as u64);
        let wt = rt(&[1, k, k, o], 50 + i as u64);
        let b = rt(&[o], 90 + i as u64);
        let op = Op::DepthwiseConv2D(DepthwiseConv2DOptions {
            padding,
            stride_w: s,
            stride_h: s,
            depth_multiplier: m as i32,
            activation: Activation::ReluN1To1,
            dilation_w: d,
            dilation_h: d,
        });
        let (oh, ph) = out_pad(padding, h, k, s as usize, d as usize);
        let (ow, pw) = out_pad(padding, w, k, s as usize, d as usize);
        let (xv, wv, bv) = (x.f32s(), wt.f32s(), b.f32s());
        let mut want = vec![0f32; 2 * oh * ow * o];
        for n in 0..2 {
            for oy in 0..oh {
                for ox in 0..ow {
                    for ic in 0..c {
                        for mm in 0..m {
                            let oc = ic * m + mm;
                            let mut sum = bv[oc];
                            for ky in 0..k {
                                for kx in 0..k {
                                    let iy = (oy * s as usize + ky * d as usize) as i64 - ph as i64;
                                    let ix = (ox * s as usize + kx * d as usize) as i64 - pw as i64;
                                    if iy < 0 || ix < 0 || iy >= h as i64 || ix >= w as i64 {
                                        continue;
                                    }
                                    sum += xv[((n * h + iy as usize) * w + ix as usize) * c + ic]
                                        * wv[(ky * k + kx) * o + oc];
                                }
                            }
                            want[((n * oh + oy) * ow + ox) * o + oc] = sum.clamp(-1.0, 1.0);
                        }
                    }
                }
            }
        }
        let got = run1(&op, &[&x, &wt, &b]);
        assert_eq!(got.shape, vec![2, oh, ow, o]);
        assert_close(&got.f32s(), &want, 1e-5);
    }
}

#[test]
fn fully_connected_matches_naive() {
    for (batch, depth, units, keep) in [
        (1, 17, 5, false),
        (3, 5, 1, false),
        (4, 3, 17, true),
        (1, 300, 300, false),
    ] {
        let x = rt(&[batch, 1, depth], 1);
        let w = rt(&[units, depth], 2);
        let b = rt(&[units], 3);
        let op = Op::FullyConnected(FullyConnectedOptions {
            activation: Activation::Relu,
            weights_format: 0,
            keep_num_dims: keep,
            asymmetric_quantize_inputs: false,
        });
        let (xv, wv, bv) = (x.f32s(), w.f32s(), b.f32s());
        let mut want = vec![0f32; batch * units];
        for r in 0..batch {
            for u in 0..units {
                let s: f32 = (0..depth)
                    .map(|k| xv[r * depth + k] * wv[u * depth + k])
                    .sum();
                want[r * units + u] = (s + bv[u]).max(0.0);
            }
        }
        for threads in [1, 2] {
            let got = run_ctx(
                &CpuContext::new(threads),
                &op,
                &[Some(&x), Some(&w), Some(&b)],
                &[TensorType::Float32],
            )
            .unwrap()
            .remove(0);
            let shape = if keep {
                vec![batch, 1, units]
            } else {
                vec![batch, units]
            };
            assert_eq!(got.shape, shape);
            assert_close(&got.f32s(), &want, 1e-4);
        }
    }
}

/// Transposed convolution by scattering every input pixel, with TFLite's padding rule.
#[allow(clippy::too_many_arguments)]
fn naive_tconv(
    x: &T,
    w: &T,
    b: Option<&T>,
    oh: usize,
    ow: usize,
    s: usize,
    padding: Padding,
) -> Vec<f32> {
    let (n, h, wd, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
    let (o, kh, kw) = (w.shape[0], w.shape[1], w.shape[2]);
    let pad = |out: usize, k: usize| match padding {
        Padding::Valid => 0,
        Padding::Same => {
            let fwd = out.div_ceil(s);
            (((fwd - 1) * s + k) as i64 - out as i64).max(0) as usize / 2
        }
    };
    let (ph, pw) = (pad(oh, kh), pad(ow, kw));
    let (xv, wv) = (x.f32s(), w.f32s());
    let mut out = vec![0f32; n * oh * ow * o];
    for bi in 0..n {
        for iy in 0..h {
            for ix in 0..wd {
                for ky in 0..kh {
                    for kx in 0..kw {
                        let oy = (iy * s + ky) as i64 - ph as i64;
                        let ox = (ix * s + kx) as i64 - pw as i64;
                        if oy < 0 || ox < 0 || oy >= oh as i64 || ox >= ow as i64 {
                            continue;
                        }
                        for oc in 0..o {
                            for ic in 0..c {
                                out[((bi * oh + oy as usize) * ow + ox as usize) * o + oc] += xv
                                    [((bi * h + iy) * wd + ix) * c + ic]
                                    * wv[((oc * kh + ky) * kw + kx) * c + ic];
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some(b) = b {
        let bv = b.f32s();
        for (i, v) in out.iter_mut().enumerate() {
            *v += bv[i % o];
        }
    }
    out
}

#[test]
fn transpose_conv_matches_scatter() {
    // (h, w, c, o, k, stride, padding)
    let cases = [
        (3, 3, 1, 1, 3, 2, Padding::Same),
        (4, 3, 3, 5, 3, 2, Padding::Valid),
        (4, 4, 5, 3, 4, 2, Padding::Same),
        (3, 5, 2, 17, 2, 1, Padding::Same),
        (2, 2, 3, 2, 3, 3, Padding::Valid),
    ];
    for (i, &(h, w, c, o, k, s, padding)) in cases.iter().enumerate() {
        let x = rt(&[1, h, w, c], i as u64);
        let wt = rt(&[o, k, k, c], 10 + i as u64);
        let b = rt(&[o], 20 + i as u64);
        let (oh, ow) = match padding {
            Padding::Same => (h * s, w * s),
            Padding::Valid => ((h - 1) * s + k, (w - 1) * s + k),
        };
        let want = naive_tconv(&x, &wt, Some(&b), oh, ow, s, padding);
        // TRANSPOSE_CONV: output_shape, weights, input, bias.
        let os = i32t(&[4], &[1, oh as i32, ow as i32, o as i32]);
        let op = Op::TransposeConv(TransposeConvOptions {
            padding,
            stride_w: s as i32,
            stride_h: s as i32,
            activation: Activation::None,
        });
        let got = run1(&op, &[&os, &wt, &x, &b]);
        assert_eq!(got.shape, vec![1, oh, ow, o]);
        assert_close(&got.f32s(), &want, 1e-5);
        // MediaPipe's Convolution2DTransposeBias: input, weights, bias.
        let op = Op::Conv2DTransposeBias {
            padding,
            stride_w: s as i32,
            stride_h: s as i32,
        };
        let got = run1(&op, &[&x, &wt, &b]);
        assert_eq!(got.shape, vec![1, oh, ow, o]);
        assert_close(&got.f32s(), &want, 1e-5);
    }
    // An odd output size: SAME with output 7 from input 4 and stride 2 (padding total 0 + 1 extra).
    let x = rt(&[1, 4, 4, 3], 7);
    let wt = rt(&[2, 3, 3, 3], 8);
    let want = naive_tconv(&x, &wt, None, 7, 7, 2, Padding::Same);
    let os = i32t(&[4], &[1, 7, 7, 2]);
    let op = Op::TransposeConv(TransposeConvOptions {
        padding: Padding::Same,
        stride_w: 2,
        stride_h: 2,
        activation: Activation::None,
    });
    let got = run(
        &op,
        &[Some(&os), Some(&wt), Some(&x), None],
        &[TensorType::Float32],
    )
    .unwrap();
    assert_close(&got[0].f32s(), &want, 1e-5);
}

/// Unravels `i` in `shape` and reads `v` (of shape `vs`, broadcast against `shape`).
fn bcast_get(v: &[f32], vs: &[usize], shape: &[usize], mut i: usize) -> f32 {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = i % shape[d];
        i /= shape[d];
    }
    let off = shape.len() - vs.len();
    let mut flat = 0;
    for d in 0..vs.len() {
        let j = if vs[d] == 1 { 0 } else { idx[d + off] };
        flat = flat * vs[d] + j;
    }
    v[flat]
}

#[test]
fn binary_ops_broadcast() {
    let shapes: &[(&[usize], &[usize])] = &[
        (&[2, 3, 4, 5], &[2, 3, 4, 5]),
        (&[2, 3, 4, 5], &[5]),
        (&[5], &[2, 3, 4, 5]),
        (&[2, 3, 4, 5], &[1]),
        (&[2, 1, 4, 1], &[3, 1, 5]),
        (&[1, 3, 1, 5], &[2, 1, 4, 1]),
        (&[2, 3, 4, 5], &[3, 1, 1]),
        (&[], &[2, 3]),
        (&[1, 2, 1, 3, 1, 2], &[2, 1, 2, 1, 3, 1]),
    ];
    let ops: Vec<(Op, Binary)> = vec![
        (Op::Add(Activation::None), |a, b| a + b),
        (Op::Sub(Activation::None), |a, b| a - b),
        (Op::Mul(Activation::None), |a, b| a * b),
        (Op::Div(Activation::None), |a, b| a / b),
        (Op::Maximum, f32::max),
        (Op::Minimum, f32::min),
        (Op::SquaredDifference, |a, b| (a - b) * (a - b)),
        (Op::Prelu, |a, b| if a >= 0.0 { a } else { a * b }),
        (Op::Add(Activation::Relu), |a, b| (a + b).max(0.0)),
        (Op::Mul(Activation::Relu6), |a, b| (a * b).clamp(0.0, 6.0)),
    ];
    for (sa, sb) in shapes {
        let a = rt(sa, 1);
        let mut b = rt(sb, 2);
        // Keep divisors away from zero.
        let bv: Vec<f32> = b
            .f32s()
            .iter()
            .map(|v| v + 3.0 * v.signum() + 0.1)
            .collect();
        b = f(sb, &bv);
        for (op, g) in &ops {
            let got = run1(op, &[&a, &b]);
            let rank = sa.len().max(sb.len());
            let mut shape = vec![1; rank];
            for (i, s) in shape.iter_mut().enumerate() {
                let da = if i + sa.len() >= rank {
                    sa[i + sa.len() - rank]
                } else {
                    1
                };
                let db = if i + sb.len() >= rank {
                    sb[i + sb.len() - rank]
                } else {
                    1
                };
                *s = da.max(db);
            }
            assert_eq!(got.shape, shape, "{op:?} {sa:?} {sb:?}");
            let (av, bv) = (a.f32s(), b.f32s());
            let want: Vec<f32> = (0..shape.iter().product())
                .map(|i| g(bcast_get(&av, sa, &shape, i), bcast_get(&bv, sb, &shape, i)))
                .collect();
            assert_close(&got.f32s(), &want, 1e-6);
        }
    }
    let a = rt(&[2, 3], 1);
    let b = rt(&[4], 1);
    assert!(cpu::infer_shapes(
        &Op::Add(Activation::None),
        &[Some(a.shape_in()), Some(b.shape_in())]
    )
    .is_err());
}

#[test]
fn binary_int32() {
    let a = i32t(&[2, 2], &[1, -2, 3, 4]);
    let b = i32t(&[2], &[10, 20]);
    let got = run(
        &Op::Mul(Activation::None),
        &[Some(&a), Some(&b)],
        &[TensorType::Int32],
    )
    .unwrap();
    assert_eq!(got[0].i32s(), vec![10, -40, 30, 80]);
    let got = run(
        &Op::Add(Activation::Relu),
        &[Some(&a), Some(&b)],
        &[TensorType::Int32],
    )
    .unwrap();
    assert_eq!(got[0].i32s(), vec![11, 18, 13, 24]);
    assert!(cpu::check_supported(&Op::Abs, &[Some(a.shape_in())]).is_ok());
    let got = run(&Op::Abs, &[Some(&a)], &[TensorType::Int32]).unwrap();
    assert_eq!(got[0].i32s(), vec![1, 2, 3, 4]);
}

#[test]
fn unary_ops() {
    let xs = [-4.0f32, -2.5, -1.0, -0.5, 0.0, 0.25, 1.0, 2.0, 3.5, 7.0];
    let x = f(&[2, 5], &xs);
    let cases: Vec<(Op, Unary)> = vec![
        (Op::Relu, |v| v.max(0.0)),
        (Op::Relu6, |v| v.clamp(0.0, 6.0)),
        (Op::ReluN1To1, |v| v.clamp(-1.0, 1.0)),
        (Op::LeakyRelu { alpha: 0.2 }, |v| {
            if v > 0.0 {
                v
            } else {
                0.2 * v
            }
        }),
        (Op::Logistic, |v| 1.0 / (1.0 + (-v).exp())),
        (Op::Tanh, f32::tanh),
        (Op::HardSwish, |v| v * (v + 3.0).clamp(0.0, 6.0) / 6.0),
        (Op::Exp, f32::exp),
        (Op::Abs, f32::abs),
    ];
    for (op, g) in cases {
        let got = run1(&op, &[&x]);
        let want: Vec<f32> = xs.iter().map(|v| g(*v)).collect();
        assert_close(&got.f32s(), &want, 1e-6);
    }
    let pos = f(&[4], &[0.25, 1.0, 4.0, 9.0]);
    assert_close(
        &run1(&Op::Sqrt, &[&pos]).f32s(),
        &[0.5, 1.0, 2.0, 3.0],
        1e-6,
    );
    assert_close(
        &run1(&Op::Rsqrt, &[&pos]).f32s(),
        &[2.0, 1.0, 0.5, 1.0 / 3.0],
        1e-6,
    );
    // Hand values of HARD_SWISH.
    let hs = run1(&Op::HardSwish, &[&f(&[4], &[-3.0, 0.0, 1.0, 3.0])]);
    assert_close(&hs.f32s(), &[0.0, 0.0, 4.0 / 6.0, 3.0], 1e-6);
}

#[test]
fn softmax_rows() {
    let x = f(&[2, 3], &[1.0, 2.0, 3.0, 0.0, 0.0, 1000.0]);
    let got = run1(&Op::Softmax { beta: 1.0 }, &[&x]).f32s();
    let e: Vec<f32> = [1.0f32, 2.0, 3.0].iter().map(|v| (v - 3.0).exp()).collect();
    let s: f32 = e.iter().sum();
    assert_close(&got[..3], &[e[0] / s, e[1] / s, e[2] / s], 1e-6);
    assert_close(&got[3..], &[0.0, 0.0, 1.0], 1e-6);
    let got = run1(&Op::Softmax { beta: 0.5 }, &[&f(&[2], &[0.0, 2.0])]).f32s();
    let e1 = (1.0f32).exp();
    assert_close(&got, &[1.0 / (1.0 + e1), e1 / (1.0 + e1)], 1e-6);
}

#[test]
fn pools_match_naive() {
    // (h, w, c, filter, stride, padding)
    let cases = [
        (5, 5, 1, 2, 2, Padding::Same),
        (7, 6, 3, 3, 2, Padding::Same),
        (6, 6, 5, 3, 1, Padding::Valid),
        (8, 7, 17, 3, 2, Padding::Valid),
        (4, 4, 3, 4, 4, Padding::Same),
    ];
    for (i, &(h, w, c, k, s, padding)) in cases.iter().enumerate() {
        let x = rt(&[2, h, w, c], i as u64);
        let xv = x.f32s();
        let (oh, ph) = out_pad(padding, h, k, s, 1);
        let (ow, pw) = out_pad(padding, w, k, s, 1);
        for is_max in [true, false] {
            let o = Pool2DOptions {
                padding,
                stride_w: s as i32,
                stride_h: s as i32,
                filter_w: k as i32,
                filter_h: k as i32,
                activation: Activation::None,
            };
            let op = if is_max {
                Op::MaxPool2D(o)
            } else {
                Op::AveragePool2D(o)
            };
            let mut want = Vec::new();
            for n in 0..2 {
                for oy in 0..oh {
                    for ox in 0..ow {
                        for ch in 0..c {
                            let (mut m, mut sum, mut cnt) = (f32::NEG_INFINITY, 0.0f32, 0);
                            for ky in 0..k {
                                for kx in 0..k {
                                    let iy = (oy * s + ky) as i64 - ph as i64;
                                    let ix = (ox * s + kx) as i64 - pw as i64;
                                    if iy < 0 || ix < 0 || iy >= h as i64 || ix >= w as i64 {
                                        continue;
                                    }
                                    let v = xv[((n * h + iy as usize) * w + ix as usize) * c + ch];
                                    m = m.max(v);
                                    sum += v;
                                    cnt += 1;
                                }
                            }
                            want.push(if is_max { m } else { sum / cnt as f32 });
                        }
                    }
                }
            }
            let got = run1(&op, &[&x]);
            assert_eq!(got.shape, vec![2, oh, ow, c]);
            assert_close(&got.f32s(), &want, 1e-6);
        }
    }
}

#[test]
fn reductions() {
    let x = rt(&[2, 3, 4, 5], 3);
    let xv = x.f32s();
    let at = |a: usize, b: usize, c: usize, d: usize| xv[((a * 3 + b) * 4 + c) * 5 + d];
    // MEAN over H, W keeping dims (global average pool).
    let axes = i32t(&[2], &[1, 2]);
    let got = run1(&Op::Mean { keep_dims: true }, &[&x, &axes]);
    assert_eq!(got.shape, vec![2, 1, 1, 5]);
    let mut want = vec![];
    for a in 0..2 {
        for d in 0..5 {
            let mut s = 0.0;
            for b in 0..3 {
                for c in 0..4 {
                    s += at(a, b, c, d);
                }
            }
            want.push(s / 12.0);
        }
    }
    assert_close(&got.f32s(), &want, 1e-5);
    // SUM over the last and first axes with negative axis, no keep_dims.
    let axes = i32t(&[2], &[-1, 0]);
    let got = run1(&Op::Sum { keep_dims: false }, &[&x, &axes]);
    assert_eq!(got.shape, vec![3, 4]);
    let mut want = vec![];
    for b in 0..3 {
        for c in 0..4 {
            let mut s = 0.0;
            for a in 0..2 {
                for d in 0..5 {
                    s += at(a, b, c, d);
                }
            }
            want.push(s);
        }
    }
    assert_close(&got.f32s(), &want, 1e-5);
    // REDUCE_MAX over axis 2.
    let axes = i32t(&[1], &[2]);
    let got = run1(&Op::ReduceMax { keep_dims: false }, &[&x, &axes]);
    assert_eq!(got.shape, vec![2, 3, 5]);
    let mut want = vec![];
    for a in 0..2 {
        for b in 0..3 {
            for d in 0..5 {
                want.push(
                    (0..4)
                        .map(|c| at(a, b, c, d))
                        .fold(f32::NEG_INFINITY, f32::max),
                );
            }
        }
    }
    assert_close(&got.f32s(), &want, 0.0);
    let bad = i32t(&[1], &[4]);
    assert!(cpu::infer_shapes(
        &Op::Sum { keep_dims: false },
        &[Some(x.shape_in()), Some(bad.shape_in())]
    )
    .is_err());
}

#[test]
fn pad_and_mirror_pad() {
    let x = f(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let p = i32t(&[2, 2], &[1, 0, 0, 2]);
    let got = run1(&Op::Pad, &[&x, &p]);
    assert_eq!(got.shape, vec![3, 5]);
    assert_eq!(
        got.f32s(),
        vec![0., 0., 0., 0., 0., 1., 2., 3., 0., 0., 4., 5., 6., 0., 0.]
    );
    let c = f(&[], &[9.0]);
    let p64 = i64t(&[2, 2], &[0, 1, 1, 0]);
    let got = run1(&Op::PadV2, &[&x, &p64, &c]);
    assert_eq!(
        got.f32s(),
        vec![9., 1., 2., 3., 9., 4., 5., 6., 9., 9., 9., 9.]
    );
    let p = i32t(&[2, 2], &[1, 1, 2, 2]);
    let got = run1(&Op::MirrorPad(MirrorPadMode::Reflect), &[&x, &p]);
    assert_eq!(got.shape, vec![4, 7]);
    #[rustfmt::skip]
    let want = [
        6., 5., 4., 5., 6., 5., 4.,
        3., 2., 1., 2., 3., 2., 1.,
        6., 5., 4., 5., 6., 5., 4.,
        3., 2., 1., 2., 3., 2., 1.,
    ];
    assert_eq!(got.f32s(), want);
    let got = run1(&Op::MirrorPad(MirrorPadMode::Symmetric), &[&x, &p]);
    #[rustfmt::skip]
    let want = [
        2., 1., 1., 2., 3., 3., 2.,
        2., 1., 1., 2., 3., 3., 2.,
        5., 4., 4., 5., 6., 6., 5.,
        5., 4., 4., 5., 6., 6., 5.,
    ];
    assert_eq!(got.f32s(), want);
    // Int32 pad works by element size.
    let xi = i32t(&[2], &[7, 8]);
    let p = i32t(&[1, 2], &[1, 1]);
    let got = run(&Op::Pad, &[Some(&xi), Some(&p)], &[TensorType::Int32]).unwrap();
    assert_eq!(got[0].i32s(), vec![0, 7, 8, 0]);
}

#[test]
fn concat_reshape_squeeze_transpose() {
    let a = f(&[2, 1, 2], &[1., 2., 3., 4.]);
    let b = f(&[2, 2, 2], &[5., 6., 7., 8., 9., 10., 11., 12.]);
    let op = Op::Concatenation {
        axis: -2,
        activation: Activation::None,
    };
    let got = run1(&op, &[&a, &b]);
    assert_eq!(got.shape, vec![2, 3, 2]);
    assert_eq!(
        got.f32s(),
        vec![1., 2., 5., 6., 7., 8., 3., 4., 9., 10., 11., 12.]
    );
    let op = Op::Concatenation {
        axis: 0,
        activation: Activation::Relu,
    };
    let got = run1(&op, &[&f(&[1], &[-1.0]), &f(&[2], &[2.0, -3.0])]);
    assert_eq!(got.f32s(), vec![0.0, 2.0, 0.0]);

    let s = i32t(&[3], &[2, -1, 2]);
    let got = run1(&Op::Reshape, &[&b, &s]);
    assert_eq!(got.shape, vec![2, 2, 2]);
    let sq = run1(&Op::Squeeze { dims: vec![1] }, &[&a]);
    assert_eq!(sq.shape, vec![2, 2]);
    assert_eq!(sq.f32s(), a.f32s());
    let sq = run1(
        &Op::Squeeze { dims: vec![] },
        &[&f(&[1, 3, 1], &[1., 2., 3.])],
    );
    assert_eq!(sq.shape, vec![3]);

    let x = rt(&[2, 3, 4, 5], 9);
    let perm = i32t(&[4], &[0, 3, 1, 2]);
    let got = run1(&Op::Transpose, &[&x, &perm]);
    assert_eq!(got.shape, vec![2, 5, 3, 4]);
    let (xv, gv) = (x.f32s(), got.f32s());
    for a in 0..2 {
        for b in 0..3 {
            for c in 0..4 {
                for d in 0..5 {
                    assert_eq!(
                        gv[((a * 5 + d) * 3 + b) * 4 + c],
                        xv[((a * 3 + b) * 4 + c) * 5 + d]
                    );
                }
            }
        }
    }
    // Transpose of bytes (uint8) by element size.
    let u = T::from_bytes(&[2, 3], TensorType::UInt8, &[1, 2, 3, 4, 5, 6]);
    let perm = i32t(&[2], &[1, 0]);
    let got = run(
        &Op::Transpose,
        &[Some(&u), Some(&perm)],
        &[TensorType::UInt8],
    )
    .unwrap();
    assert_eq!(got[0].bytes(), &[1, 4, 2, 5, 3, 6]);
}

fn ss(begin_mask: i32, end_mask: i32, ellipsis: i32, new_axis: i32, shrink: i32) -> Op {
    Op::StridedSlice(StridedSliceOptions {
        begin_mask,
        end_mask,
        ellipsis_mask: ellipsis,
        new_axis_mask: new_axis,
        shrink_axis_mask: shrink,
        offset: false,
    })
}

#[test]
fn strided_slice_masks() {
    // x[i, j, k] = 100 i + 10 j + k, shape [2, 3, 4]
    let mut v = vec![];
    for i in 0..2 {
        for j in 0..3 {
            for k in 0..4 {
                v.push((100 * i + 10 * j + k) as f32);
            }
        }
    }
    let x = f(&[2, 3, 4], &v);
    let t = |b: &[i32], e: &[i32], s: &[i32]| {
        (
            i32t(&[b.len()], b),
            i32t(&[e.len()], e),
            i32t(&[s.len()], s),
        )
    };
    let go = |op: Op, b: &[i32], e: &[i32], s: &[i32]| {
        let (b, e, s) = t(b, e, s);
        run1(&op, &[&x, &b, &e, &s])
    };
    // x[:, 1:3, ::2]
    let got = go(ss(1, 0b101, 0, 0, 0), &[0, 1, 0], &[0, 3, 0], &[1, 1, 2]);
    assert_eq!(got.shape, vec![2, 2, 2]);
    assert_eq!(got.f32s(), vec![10., 12., 20., 22., 110., 112., 120., 122.]);
    // x[1, :, ::-1] (shrink axis 0, negative stride)
    let got = go(
        ss(0b110, 0b110, 0, 0, 1),
        &[1, 0, 0],
        &[2, 0, 0],
        &[1, 1, -1],
    );
    assert_eq!(got.shape, vec![3, 4]);
    assert_eq!(&got.f32s()[..4], &[103., 102., 101., 100.]);
    // x[..., 1] (ellipsis then shrink)
    let got = go(ss(0, 0, 1, 0, 0b10), &[0, 1], &[0, 2], &[1, 1]);
    assert_eq!(got.shape, vec![2, 3]);
    assert_eq!(got.f32s(), vec![1., 11., 21., 101., 111., 121.]);
    // x[:, tf.newaxis, -1] → shape [2, 1, 4]
    let got = go(
        ss(1, 1, 0, 0b10, 0b100),
        &[0, 0, -1],
        &[0, 0, 0],
        &[1, 1, 1],
    );
    assert_eq!(got.shape, vec![2, 1, 4]);
    assert_eq!(got.f32s(), vec![20., 21., 22., 23., 120., 121., 122., 123.]);
    // x[-1:, -2:-5:-1, 1:] with negative indices and clamping
    let got = go(ss(0, 0, 0, 0, 0), &[-1, -2, 1], &[10, -5, 100], &[1, -1, 1]);
    assert_eq!(got.shape, vec![1, 2, 3]);
    assert_eq!(got.f32s(), vec![111., 112., 113., 101., 102., 103.]);
    // Fewer entries than dims: x[1:] keeps the rest.
    let got = go(ss(0, 0, 0, 0, 0), &[1], &[2], &[1]);
    assert_eq!(got.shape, vec![1, 3, 4]);
    // Offset: end is relative to begin.
    let mut op = ss(0, 0, 0, 0, 0);
    if let Op::StridedSlice(o) = &mut op {
        o.offset = true;
    }
    let got = go(op, &[0, 1, 1], &[2, 1, 2], &[1, 1, 1]);
    assert_eq!(got.shape, vec![2, 1, 2]);
    assert_eq!(got.f32s(), vec![11., 12., 111., 112.]);
    // Empty result.
    let got = go(ss(0, 0, 0, 0, 0), &[0, 2, 0], &[2, 1, 4], &[1, 1, 1]);
    assert_eq!(got.shape, vec![2, 0, 4]);
    // Out-of-range shrink index is an error.
    let (b, e, s) = t(&[5], &[6], &[1]);
    assert!(run(
        &ss(0, 0, 0, 0, 1),
        &[Some(&x), Some(&b), Some(&e), Some(&s)],
        &[TensorType::Float32]
    )
    .is_err());
}

#[test]
fn slice_split_pack_unpack() {
    let x = f(&[2, 3, 2], &(0..12).map(|v| v as f32).collect::<Vec<_>>());
    let b = i64t(&[3], &[1, 1, 0]);
    let s = i32t(&[3], &[-1, 2, 1]);
    let got = run1(&Op::Slice, &[&x, &i32t(&[3], &[1, 1, 0]), &s]);
    assert_eq!(got.shape, vec![1, 2, 1]);
    assert_eq!(got.f32s(), vec![8., 10.]);
    let got = run1(&Op::Slice, &[&x, &b, &s]);
    assert_eq!(got.f32s(), vec![8., 10.]);

    // SPLIT: inputs axis, value.
    let axis = i32t(&[], &[1]);
    let outs = run(
        &Op::Split { num_splits: 3 },
        &[Some(&axis), Some(&x)],
        &[TensorType::Float32],
    )
    .unwrap();
    assert_eq!(outs.len(), 3);
    assert_eq!(outs[1].shape, vec![2, 1, 2]);
    assert_eq!(outs[1].f32s(), vec![2., 3., 8., 9.]);
    // SPLIT_V: value, size_splits, axis.
    let sizes = i32t(&[2], &[-1, 2]);
    let axis = i32t(&[1], &[-2]);
    let outs = run(
        &Op::SplitV { num_splits: 2 },
        &[Some(&x), Some(&sizes), Some(&axis)],
        &[TensorType::Float32],
    )
    .unwrap();
    assert_eq!(outs[0].shape, vec![2, 1, 2]);
    assert_eq!(outs[1].shape, vec![2, 2, 2]);
    assert_eq!(outs[1].f32s(), vec![2., 3., 4., 5., 8., 9., 10., 11.]);

    let a = f(&[2], &[1., 2.]);
    let b = f(&[2], &[3., 4.]);
    let got = run1(
        &Op::Pack {
            axis: 1,
            values_count: 2,
        },
        &[&a, &b],
    );
    assert_eq!(got.shape, vec![2, 2]);
    assert_eq!(got.f32s(), vec![1., 3., 2., 4.]);
    let outs = run(
        &Op::Unpack { axis: -1, num: 2 },
        &[Some(&x)],
        &[TensorType::Float32],
    )
    .unwrap();
    assert_eq!(outs.len(), 2);
    assert_eq!(outs[1].shape, vec![2, 3]);
    assert_eq!(outs[1].f32s(), vec![1., 3., 5., 7., 9., 11.]);
}

#[test]
fn gather_axes_and_batch_dims() {
    let x = f(&[2, 3, 2], &(0..12).map(|v| v as f32).collect::<Vec<_>>());
    let idx = i32t(&[2, 2], &[2, 0, 1, 1]);
    let got = run1(
        &Op::Gather {
            axis: 1,
            batch_dims: 0,
        },
        &[&x, &idx],
    );
    assert_eq!(got.shape, vec![2, 2, 2, 2]);
    #[rustfmt::skip]
    assert_eq!(got.f32s(), vec![4., 5., 0., 1., 2., 3., 2., 3., 10., 11., 6., 7., 8., 9., 8., 9.]);
    let idx = i64t(&[2], &[1, 0]);
    let got = run1(
        &Op::Gather {
            axis: -1,
            batch_dims: 0,
        },
        &[&x, &idx],
    );
    assert_eq!(got.shape, vec![2, 3, 2]);
    assert_eq!(&got.f32s()[..4], &[1., 0., 3., 2.]);
    // batch_dims = 1: per batch, its own indices along axis 1.
    let idx = i32t(&[2, 1], &[2, 0]);
    let got = run1(
        &Op::Gather {
            axis: 1,
            batch_dims: 1,
        },
        &[&x, &idx],
    );
    assert_eq!(got.shape, vec![2, 1, 2]);
    assert_eq!(got.f32s(), vec![4., 5., 6., 7.]);
    let bad = i32t(&[1], &[3]);
    let err = run(
        &Op::Gather {
            axis: 1,
            batch_dims: 0,
        },
        &[Some(&x), Some(&bad)],
        &[TensorType::Float32],
    );
    assert!(err.is_err());
}

#[test]
fn depth_space_round_trip() {
    let x = f(
        &[1, 1, 2, 8],
        &(0..16).map(|v| v as f32).collect::<Vec<_>>(),
    );
    let got = run1(&Op::DepthToSpace { block_size: 2 }, &[&x]);
    assert_eq!(got.shape, vec![1, 2, 4, 2]);
    // Row 0: (x0: ch 0-1, ch 2-3), (x1: ch 8-9, ch 10-11); row 1: ch 4-7, ch 12-15.
    assert_eq!(
        got.f32s(),
        vec![0., 1., 2., 3., 8., 9., 10., 11., 4., 5., 6., 7., 12., 13., 14., 15.]
    );
    let back = run1(&Op::SpaceToDepth { block_size: 2 }, &[&got]);
    assert_eq!(back.shape, x.shape);
    assert_eq!(back.f32s(), x.f32s());
}

fn resize_op(bilinear: bool, align_corners: bool, half_pixel_centers: bool) -> Op {
    let o = ResizeOptions {
        align_corners,
        half_pixel_centers,
    };
    if bilinear {
        Op::ResizeBilinear(o)
    } else {
        Op::ResizeNearestNeighbor(o)
    }
}

#[test]
fn resize_bilinear_modes() {
    let x = f(&[1, 2, 2, 1], &[0.0, 1.0, 2.0, 3.0]);
    let size = i32t(&[2], &[4, 4]);
    // Default: source = dst * 0.5.
    let got = run1(&resize_op(true, false, false), &[&x, &size]);
    assert_eq!(got.shape, vec![1, 4, 4, 1]);
    #[rustfmt::skip]
    assert_close(&got.f32s(), &[
        0.0, 0.5, 1.0, 1.0,
        1.0, 1.5, 2.0, 2.0,
        2.0, 2.5, 3.0, 3.0,
        2.0, 2.5, 3.0, 3.0,
    ], 1e-6);
    // align_corners: source = dst * 1/3.
    let got = run1(&resize_op(true, true, false), &[&x, &size]);
    let r = [0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0];
    let want: Vec<f32> = (0..16).map(|i| 2.0 * r[i / 4] + r[i % 4]).collect();
    assert_close(&got.f32s(), &want, 1e-6);
    // half_pixel_centers: source = (dst + 0.5) * 0.5 - 0.5 → -0.25, 0.25, 0.75, 1.25 (clamped).
    let got = run1(&resize_op(true, false, true), &[&x, &size]);
    let r = [0.0, 0.25, 0.75, 1.0];
    let want: Vec<f32> = (0..16).map(|i| 2.0 * r[i / 4] + r[i % 4]).collect();
    assert_close(&got.f32s(), &want, 1e-6);
    // Two channels, non-square and downscale.
    let x = f(
        &[1, 3, 2, 2],
        &[0., 10., 1., 11., 2., 12., 3., 13., 4., 14., 5., 15.],
    );
    let size = i32t(&[2], &[2, 1]);
    let got = run1(&resize_op(true, false, false), &[&x, &size]);
    // sy = 1.5: rows 0 and 1.5; sx = 2: col 0.
    assert_close(&got.f32s(), &[0., 10., 3., 13.], 1e-6);
}

#[test]
fn resize_nearest_modes() {
    let x = f(&[1, 1, 3, 1], &[10.0, 20.0, 30.0]);
    let size = i32t(&[2], &[1, 5]);
    // scale 0.6: floor(0, 0.6, 1.2, 1.8, 2.4) = 0 0 1 1 2
    let got = run1(&resize_op(false, false, false), &[&x, &size]);
    assert_eq!(got.f32s(), vec![10., 10., 20., 20., 30.]);
    // align_corners: scale 0.5, round(0, .5, 1, 1.5, 2) = 0 1 1 2 2 (half away from zero)
    let got = run1(&resize_op(false, true, false), &[&x, &size]);
    assert_eq!(got.f32s(), vec![10., 20., 20., 30., 30.]);
    // half_pixel_centers: floor((i + .5) * .6) = floor(.3, .9, 1.5, 2.1, 2.7) = 0 0 1 2 2
    let got = run1(&resize_op(false, false, true), &[&x, &size]);
    assert_eq!(got.f32s(), vec![10., 10., 20., 30., 30.]);
    // Downscale 4 → 2 with half pixel: floor((0.5)*2)=1, floor(1.5*2)=3
    let x = f(&[1, 1, 4, 1], &[1., 2., 3., 4.]);
    let got = run1(&resize_op(false, false, true), &[&x, &i32t(&[2], &[1, 2])]);
    assert_eq!(got.f32s(), vec![2., 4.]);
}

#[test]
fn dequantize_cast_shape() {
    let h: Vec<half::f16> = [1.5f32, -2.0, 0.1]
        .iter()
        .map(|v| half::f16::from_f32(*v))
        .collect();
    let x = T::from_bytes(&[3], TensorType::Float16, bytemuck::cast_slice(&h));
    let got = run1(&Op::Dequantize, &[&x]);
    assert_eq!(
        got.f32s(),
        vec![1.5, -2.0, half::f16::from_f32(0.1).to_f32()]
    );

    let x = f(&[4], &[1.7, -2.7, 0.0, 300.0]);
    let got = run(&Op::Cast, &[Some(&x)], &[TensorType::Int32]).unwrap();
    assert_eq!(got[0].i32s(), vec![1, -2, 0, 300]);
    let got = run(&Op::Cast, &[Some(&x)], &[TensorType::Bool]).unwrap();
    assert_eq!(got[0].bytes(), &[1, 1, 0, 1]);
    let i = i64t(&[2], &[5, -3]);
    let got = run(&Op::Cast, &[Some(&i)], &[TensorType::Float32]).unwrap();
    assert_eq!(got[0].f32s(), vec![5.0, -3.0]);

    let x = rt(&[2, 3, 4], 1);
    let got = run(&Op::Shape, &[Some(&x)], &[TensorType::Int32]).unwrap();
    assert_eq!(got[0].i32s(), vec![2, 3, 4]);
    let got = run(&Op::Shape, &[Some(&x)], &[TensorType::Int64]).unwrap();
    assert_eq!(got[0].i64s(), vec![2, 3, 4]);
}

fn dense_meta(n: i32) -> DimensionMetadata {
    DimensionMetadata {
        sparse: false,
        dense_size: n,
        array_segments: None,
        array_indices: None,
    }
}

#[test]
fn densify_csr_and_blocks() {
    // 3x4 matrix, row-major CSR:
    // [1 0 0 2]
    // [0 0 0 0]
    // [0 3 0 0]
    let sp = Sparsity {
        traversal_order: vec![0, 1],
        block_map: vec![],
        dim_metadata: vec![
            dense_meta(3),
            DimensionMetadata {
                sparse: true,
                dense_size: 0,
                array_segments: Some(IndexVector::I32(vec![0, 2, 2, 3])),
                array_indices: Some(IndexVector::U8(vec![0, 3, 1])),
            },
        ],
    };
    let vals = [1.0f32, 2.0, 3.0];
    let d = cpu::densify(&sp, &[3, 4], 4, bytemuck::cast_slice(&vals)).unwrap();
    let d: &[f32] = bytemuck::cast_slice(&d);
    assert_eq!(d, &[1., 0., 0., 2., 0., 0., 0., 0., 0., 3., 0., 0.]);

    // 4x4 with 2x2 blocks; block rows dense, block cols CSR; only blocks (0,1) and (1,0) stored.
    let sp = Sparsity {
        traversal_order: vec![0, 1, 2, 3],
        block_map: vec![0, 1],
        dim_metadata: vec![
            dense_meta(2),
            DimensionMetadata {
                sparse: true,
                dense_size: 0,
                array_segments: Some(IndexVector::U16(vec![0, 1, 2])),
                array_indices: Some(IndexVector::U16(vec![1, 0])),
            },
            dense_meta(2),
            dense_meta(2),
        ],
    };
    let vals: Vec<f32> = (1..=8).map(|v| v as f32).collect();
    let d = cpu::densify(&sp, &[4, 4], 4, bytemuck::cast_slice(&vals)).unwrap();
    let d: &[f32] = bytemuck::cast_slice(&d);
    #[rustfmt::skip]
    assert_eq!(d, &[
        0., 0., 1., 2.,
        0., 0., 3., 4.,
        5., 6., 0., 0.,
        7., 8., 0., 0.,
    ]);
    // Too few values is an error, not a panic.
    assert!(cpu::densify(&sp, &[4, 4], 4, &[0u8; 8]).is_err());
}

#[test]
fn check_supported_reasons() {
    let x = rt(&[1, 4], 1);
    let e = cpu::check_supported(
        &Op::Unsupported { name: "FOO".into() },
        &[Some(x.shape_in())],
    )
    .unwrap_err();
    assert!(e.contains("FOO"), "{e}");
    let q = T::zeros(&[1, 4], TensorType::UInt8);
    let e = cpu::check_supported(&Op::Softmax { beta: 1.0 }, &[Some(q.shape_in())]).unwrap_err();
    assert!(e.starts_with("SOFTMAX"), "{e}");
    assert!(cpu::check_supported(&Op::Relu, &[Some(x.shape_in())]).is_ok());
    // A reshape whose shape is only known at run time is still supported.
    let s = ShapeIn {
        shape: &[2],
        dtype: TensorType::Int32,
        values: None,
    };
    assert!(cpu::check_supported(&Op::Reshape, &[Some(x.shape_in()), Some(s)]).is_ok());
    assert!(cpu::infer_shapes(&Op::Reshape, &[Some(x.shape_in()), Some(s)]).is_err());
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let ctx = CpuContext::new(1);
    let x = rt(&[1, 4, 4, 3], 1);
    let w = rt(&[2, 3, 3, 3], 1);
    let op = Op::Conv2D(Conv2DOptions {
        padding: Padding::Valid,
        stride_w: 1,
        stride_h: 1,
        activation: Activation::None,
        dilation_w: 1,
        dilation_h: 1,
    });
    // Output buffer of the wrong size.
    let mut buf = vec![0f32; 3];
    let mut outs = [TensorOut {
        shape: &[1, 2, 2, 2],
        dtype: TensorType::Float32,
        bytes: bytemuck::cast_slice_mut(&mut buf),
    }];
    let ins = [
        Some(TensorIn {
            shape: &x.shape,
            dtype: x.dtype,
            bytes: x.bytes(),
        }),
        Some(TensorIn {
            shape: &w.shape,
            dtype: w.dtype,
            bytes: w.bytes(),
        }),
    ];
    assert!(cpu::execute(&ctx, &op, &ins, &mut outs).is_err());
    // Input bytes that do not match the shape.
    let short = TensorIn {
        shape: &x.shape,
        dtype: x.dtype,
        bytes: &x.bytes()[..8],
    };
    assert!(cpu::execute(&ctx, &op, &[Some(short), ins[1]], &mut outs).is_err());
    // Missing input.
    assert!(cpu::execute(&ctx, &op, &[ins[0]], &mut outs).is_err());
    // VALID window larger than the input.
    let big = rt(&[2, 5, 5, 3], 1);
    assert!(cpu::infer_shapes(&op, &[Some(x.shape_in()), Some(big.shape_in())]).is_err());
}

/// Timing of typical layers; run with `cargo test --release --test cpu_kernels -- --ignored`.
#[test]
#[ignore]
fn bench_layers() {
    let conv = |s: i32| {
        Op::Conv2D(Conv2DOptions {
            padding: Padding::Same,
            stride_w: s,
            stride_h: s,
            activation: Activation::Relu6,
            dilation_w: 1,
            dilation_h: 1,
        })
    };
    let dw = Op::DepthwiseConv2D(DepthwiseConv2DOptions {
        padding: Padding::Same,
        stride_w: 1,
        stride_h: 1,
        depth_multiplier: 1,
        activation: Activation::Relu6,
        dilation_w: 1,
        dilation_h: 1,
    });
    let fc = Op::FullyConnected(FullyConnectedOptions {
        activation: Activation::None,
        weights_format: 0,
        keep_num_dims: false,
        asymmetric_quantize_inputs: false,
    });
    let cases: Vec<(&str, Op, Vec<T>, f64)> = vec![
        (
            "dw3x3 96x96x16",
            dw.clone(),
            vec![rt(&[1, 96, 96, 16], 1), rt(&[1, 3, 3, 16], 2), rt(&[16], 3)],
            96.0 * 96.0 * 16.0 * 9.0,
        ),
        (
            "dw3x3 24x24x64",
            dw.clone(),
            vec![rt(&[1, 24, 24, 64], 1), rt(&[1, 3, 3, 64], 2), rt(&[64], 3)],
            24.0 * 24.0 * 64.0 * 9.0,
        ),
        (
            "conv1x1 112x112x16->64",
            conv(1),
            vec![
                rt(&[1, 112, 112, 16], 1),
                rt(&[64, 1, 1, 16], 2),
                rt(&[64], 3),
            ],
            112.0 * 112.0 * 16.0 * 64.0,
        ),
        (
            "conv1x1 56x56x24->144",
            conv(1),
            vec![
                rt(&[1, 56, 56, 24], 1),
                rt(&[144, 1, 1, 24], 2),
                rt(&[144], 3),
            ],
            56.0 * 56.0 * 24.0 * 144.0,
        ),
        (
            "conv1x1 96x96x16->32",
            conv(1),
            vec![
                rt(&[1, 96, 96, 16], 1),
                rt(&[32, 1, 1, 16], 2),
                rt(&[32], 3),
            ],
            96.0 * 96.0 * 16.0 * 32.0,
        ),
        (
            "conv3x3s2 224x224x3->32",
            conv(2),
            vec![
                rt(&[1, 224, 224, 3], 1),
                rt(&[32, 3, 3, 3], 2),
                rt(&[32], 3),
            ],
            112.0 * 112.0 * 32.0 * 27.0,
        ),
        (
            "conv1x1 56x56x128->128",
            conv(1),
            vec![
                rt(&[1, 56, 56, 128], 1),
                rt(&[128, 1, 1, 128], 2),
                rt(&[128], 3),
            ],
            56.0 * 56.0 * 128.0 * 128.0,
        ),
        (
            "conv3x3 56x56x64->64",
            conv(1),
            vec![
                rt(&[1, 56, 56, 64], 1),
                rt(&[64, 3, 3, 64], 2),
                rt(&[64], 3),
            ],
            56.0 * 56.0 * 64.0 * 576.0,
        ),
        (
            "dw3x3 56x56x128",
            dw,
            vec![
                rt(&[1, 56, 56, 128], 1),
                rt(&[1, 3, 3, 128], 2),
                rt(&[128], 3),
            ],
            56.0 * 56.0 * 128.0 * 9.0,
        ),
        (
            "fc 1024->1000",
            fc,
            vec![rt(&[1, 1024], 1), rt(&[1000, 1024], 2), rt(&[1000], 3)],
            1024.0 * 1000.0,
        ),
    ];
    for threads in [1, 2] {
        let ctx = CpuContext::new(threads);
        for (name, op, ins, macs) in &cases {
            let si: Vec<Option<ShapeIn>> = ins.iter().map(|t| Some(t.shape_in())).collect();
            let shape = cpu::infer_shapes(op, &si).unwrap().remove(0);
            let mut out = T::zeros(&shape, TensorType::Float32);
            let tin: Vec<Option<TensorIn>> = ins
                .iter()
                .map(|t| {
                    Some(TensorIn {
                        shape: &t.shape,
                        dtype: t.dtype,
                        bytes: t.bytes(),
                    })
                })
                .collect();
            let mut go = || {
                let mut outs = [TensorOut {
                    shape: &shape,
                    dtype: TensorType::Float32,
                    bytes: out.bytes_mut(),
                }];
                cpu::execute(&ctx, op, &tin, &mut outs).unwrap();
            };
            go();
            let iters = 20;
            let t = std::time::Instant::now();
            for _ in 0..iters {
                go();
            }
            let dt = t.elapsed().as_secs_f64() / iters as f64;
            println!(
                "{threads}T {name}: {:.3} ms, {:.1} GFLOP/s",
                dt * 1e3,
                2.0 * macs / dt / 1e9
            );
            assert!(out.f32s().iter().all(|v| v.is_finite()), "{name}");
        }
    }
}

#[test]
fn context_is_send_and_reports_threads() {
    fn send<X: Send>(_: &X) {}
    let ctx = CpuContext::new(3);
    send(&ctx);
    assert_eq!(ctx.threads(), 3);
    assert_eq!(CpuContext::new(0).threads(), 1);
}

#[test]
fn reshape_without_shape_input_keeps_bytes() {
    let x = rt(&[2, 3], 4);
    let ctx = CpuContext::new(1);
    let mut buf = vec![0f32; 6];
    let mut outs = [TensorOut {
        shape: &[3, 2],
        dtype: TensorType::Float32,
        bytes: bytemuck::cast_slice_mut(&mut buf),
    }];
    let ins = [Some(TensorIn {
        shape: &x.shape,
        dtype: x.dtype,
        bytes: x.bytes(),
    })];
    cpu::execute(&ctx, &Op::Reshape, &ins, &mut outs).unwrap();
    assert_eq!(buf, x.f32s());
}

#[test]
fn fused_tanh_and_relu_on_convs() {
    let x = rt(&[1, 5, 4, 3], 11);
    let w = rt(&[5, 3, 3, 3], 12);
    let b = rt(&[5], 13);
    let op = Op::Conv2D(Conv2DOptions {
        padding: Padding::Same,
        stride_w: 2,
        stride_h: 1,
        activation: Activation::Tanh,
        dilation_w: 1,
        dilation_h: 1,
    });
    let (_, want) = naive_conv(
        &x,
        &w,
        Some(&b),
        Padding::Same,
        (1, 2),
        (1, 1),
        Activation::Tanh,
    );
    assert_close(&run1(&op, &[&x, &w, &b]).f32s(), &want, 1e-5);

    let os = i32t(&[4], &[1, 10, 8, 5]);
    let op = Op::TransposeConv(TransposeConvOptions {
        padding: Padding::Same,
        stride_w: 2,
        stride_h: 2,
        activation: Activation::Relu,
    });
    let wt = rt(&[5, 3, 3, 3], 14);
    let want: Vec<f32> = naive_tconv(&x, &wt, Some(&b), 10, 8, 2, Padding::Same)
        .into_iter()
        .map(|v| v.max(0.0))
        .collect();
    assert_close(&run1(&op, &[&os, &wt, &x, &b]).f32s(), &want, 1e-5);

    let dw = Op::DepthwiseConv2D(DepthwiseConv2DOptions {
        padding: Padding::Valid,
        stride_w: 1,
        stride_h: 1,
        depth_multiplier: 1,
        activation: Activation::Tanh,
        dilation_w: 1,
        dilation_h: 1,
    });
    let k = f(&[1, 1, 1, 3], &[1.0, 2.0, -3.0]);
    let got = run1(&dw, &[&x, &k]);
    let want: Vec<f32> = x
        .f32s()
        .iter()
        .enumerate()
        .map(|(i, v)| (v * [1.0, 2.0, -3.0][i % 3]).tanh())
        .collect();
    assert_close(&got.f32s(), &want, 1e-6);
}

#[test]
fn option_and_dtype_rejections() {
    let x = rt(&[1, 2, 2, 1], 1);
    let size = i32t(&[2], &[4, 4]);
    let both = resize_op(true, true, true);
    let e = cpu::check_supported(&both, &[Some(x.shape_in()), Some(size.shape_in())]).unwrap_err();
    assert!(e.contains("half_pixel_centers"), "{e}");
    let fc = Op::FullyConnected(FullyConnectedOptions {
        activation: Activation::None,
        weights_format: 1,
        keep_num_dims: false,
        asymmetric_quantize_inputs: false,
    });
    let w = rt(&[3, 4], 1);
    assert!(cpu::check_supported(&fc, &[Some(x.shape_in()), Some(w.shape_in())]).is_err());
    let q = T::zeros(&[4], TensorType::Int8);
    let e = cpu::check_supported(&Op::Dequantize, &[Some(q.shape_in())]).unwrap_err();
    assert!(e.starts_with("DEQUANTIZE"), "{e}");
    let fi = f(&[1], &[0.0]);
    let e = cpu::check_supported(
        &Op::Gather {
            axis: 0,
            batch_dims: 0,
        },
        &[Some(x.shape_in()), Some(fi.shape_in())],
    )
    .unwrap_err();
    assert!(e.contains("indices"), "{e}");
    // Quantized int8 data may still move through data-movement ops unchanged.
    let perm = i32t(&[4], &[0, 2, 1, 3]);
    let q4 = T::zeros(&[1, 2, 2, 1], TensorType::Int8);
    assert!(cpu::check_supported(
        &Op::Transpose,
        &[Some(q4.shape_in()), Some(perm.shape_in())]
    )
    .is_ok());
}

#[test]
fn movement_ops_on_other_dtypes() {
    // STRIDED_SLICE of int32: reverse the last axis.
    let x = i32t(&[2, 3], &[1, 2, 3, 4, 5, 6]);
    let (b, e, s) = (
        i32t(&[2], &[0, 0]),
        i32t(&[2], &[0, 0]),
        i32t(&[2], &[1, -1]),
    );
    let got = run(
        &ss(0b11, 0b11, 0, 0, 0),
        &[Some(&x), Some(&b), Some(&e), Some(&s)],
        &[TensorType::Int32],
    )
    .unwrap();
    assert_eq!(got[0].i32s(), vec![3, 2, 1, 6, 5, 4]);
    // CONCATENATION of int64.
    let a = i64t(&[1, 2], &[1, 2]);
    let c = i64t(&[1, 1], &[3]);
    let op = Op::Concatenation {
        axis: 1,
        activation: Activation::None,
    };
    let got = run(&op, &[Some(&a), Some(&c)], &[TensorType::Int64]).unwrap();
    assert_eq!(got[0].i64s(), vec![1, 2, 3]);
    // PACK of int8 (quantized bytes move unchanged).
    let p = T::from_bytes(&[2], TensorType::Int8, &[1, 2]);
    let q = T::from_bytes(&[2], TensorType::Int8, &[3, 4]);
    let got = run(
        &Op::Pack {
            axis: 0,
            values_count: 2,
        },
        &[Some(&p), Some(&q)],
        &[TensorType::Int8],
    )
    .unwrap();
    assert_eq!(got[0].bytes(), &[1, 2, 3, 4]);
    // SPLIT of int32 along axis 0.
    let axis = i32t(&[], &[0]);
    let got = run(
        &Op::Split { num_splits: 2 },
        &[Some(&axis), Some(&x)],
        &[TensorType::Int32],
    )
    .unwrap();
    assert_eq!(got[1].i32s(), vec![4, 5, 6]);
    // GATHER of int64 values with int64 indices.
    let v = i64t(&[3], &[10, 20, 30]);
    let idx = i64t(&[2], &[2, 0]);
    let got = run(
        &Op::Gather {
            axis: 0,
            batch_dims: 0,
        },
        &[Some(&v), Some(&idx)],
        &[TensorType::Int64],
    )
    .unwrap();
    assert_eq!(got[0].i64s(), vec![30, 10]);
}

#[test]
fn cast_round_trips_and_mean_without_keep_dims() {
    let x = f(&[3], &[0.5, -1.25, 65504.0]);
    let h = run(&Op::Cast, &[Some(&x)], &[TensorType::Float16])
        .unwrap()
        .remove(0);
    let back = run(&Op::Cast, &[Some(&h)], &[TensorType::Float32]).unwrap();
    assert_eq!(back[0].f32s(), x.f32s());
    let u = T::from_bytes(&[2], TensorType::UInt8, &[0, 255]);
    let got = run(&Op::Cast, &[Some(&u)], &[TensorType::Float32]).unwrap();
    assert_eq!(got[0].f32s(), vec![0.0, 255.0]);

    let x = rt(&[2, 2, 3, 5], 8);
    let axes = i64t(&[2], &[2, 1]);
    let got = run1(&Op::Mean { keep_dims: false }, &[&x, &axes]);
    assert_eq!(got.shape, vec![2, 5]);
    let xv = x.f32s();
    let want: Vec<f32> = (0..10)
        .map(|i| {
            let (n, c) = (i / 5, i % 5);
            (0..6).map(|p| xv[(n * 6 + p) * 5 + c]).sum::<f32>() / 6.0
        })
        .collect();
    assert_close(&got.f32s(), &want, 1e-5);
}

/// Constants of a model (dense ones; sparse ones are expanded by its DENSIFY nodes).
fn model_state(g: &halfgpu::graph::Graph) -> Vec<Option<T>> {
    g.tensors
        .iter()
        .map(|t| {
            t.data
                .as_ref()
                .filter(|_| t.sparsity.is_none())
                .map(|d| T::from_bytes(&t.shape, t.dtype, d.bytes()))
        })
        .collect()
}

/// Runs every node of a model on the CPU kernels alone, returning its outputs. `vals` holds the
/// tensors between runs, so that outputs are written in place as a runtime's arena would be.
fn run_model(
    ctx: &CpuContext,
    g: &halfgpu::graph::Graph,
    vals: &mut [Option<T>],
    inputs: &[T],
    profile: &mut std::collections::BTreeMap<String, f64>,
) -> Result<Vec<T>, String> {
    for (&id, x) in g.inputs.iter().zip(inputs) {
        vals[id] = Some(x.clone());
    }
    for node in &g.nodes {
        let err =
            |e: &dyn std::fmt::Display| format!("node {} ({}): {e}", node.index, node.op.name());
        if let Op::Densify = node.op {
            let src = &g.tensors[node.input(0).ok_or("densify input")?];
            let sp = src.sparsity.as_ref().ok_or("densify of a dense tensor")?;
            let es = src.dtype.size_bytes().ok_or("densify dtype")?;
            let data = src.data.as_ref().ok_or("densify of a non-constant")?;
            let dense = cpu::densify(sp, &src.shape, es, data.bytes()).map_err(|e| err(&e))?;
            let out = node.outputs[0];
            vals[out] = Some(T::from_bytes(&g.tensors[out].shape, src.dtype, &dense));
            continue;
        }
        let mut outs: Vec<T> = Vec::new();
        let shapes = {
            let ins: Vec<Option<&T>> = node
                .inputs
                .iter()
                .map(|i| i.and_then(|i| vals[i].as_ref()))
                .collect();
            if node
                .inputs
                .iter()
                .zip(&ins)
                .any(|(i, v)| i.is_some() && v.is_none())
            {
                return Err(err(&"an input has no value"));
            }
            let si: Vec<Option<ShapeIn>> = ins.iter().map(|t| t.map(|t| t.shape_in())).collect();
            cpu::check_supported(&node.op, &si).map_err(|e| err(&e))?;
            // Output shapes from shape inference, or from the file where it needs unknown values.
            cpu::infer_shapes(&node.op, &si).unwrap_or_else(|_| {
                node.outputs
                    .iter()
                    .map(|&o| g.tensors[o].shape.clone())
                    .collect()
            })
        };
        for (&o, s) in node.outputs.iter().zip(&shapes) {
            let dtype = g.tensors[o].dtype;
            outs.push(match vals[o].take() {
                Some(t) if t.shape == *s && t.dtype == dtype => t,
                _ => T::zeros(s, dtype),
            });
        }
        let ins: Vec<Option<TensorIn>> = node
            .inputs
            .iter()
            .map(|i| {
                i.and_then(|i| vals[i].as_ref()).map(|t| TensorIn {
                    shape: &t.shape,
                    dtype: t.dtype,
                    bytes: t.bytes(),
                })
            })
            .collect();
        let t0 = std::time::Instant::now();
        {
            let mut touts: Vec<TensorOut> = outs
                .iter_mut()
                .zip(&shapes)
                .map(|(o, s)| {
                    let dtype = o.dtype;
                    TensorOut {
                        shape: s,
                        dtype,
                        bytes: o.bytes_mut(),
                    }
                })
                .collect();
            cpu::execute(ctx, &node.op, &ins, &mut touts).map_err(|e| err(&e))?;
        }
        *profile.entry(node.op.name().to_string()).or_default() += t0.elapsed().as_secs_f64();
        drop(ins);
        for (&o, t) in node.outputs.iter().zip(outs) {
            vals[o] = Some(t);
        }
    }
    g.outputs
        .iter()
        .map(|&o| {
            vals[o]
                .clone()
                .ok_or_else(|| format!("output {o} was not computed"))
        })
        .collect()
}

/// Whole models from `target/test-assets` against the outputs the reference runtime recorded
/// (`scripts/reference.py`). Run with `cargo test --release --test cpu_kernels -- --ignored`.
#[test]
#[ignore]
fn real_models_match_reference() {
    let assets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-assets");
    check_models_in(&assets);
    // More cases laid out the same way (models/NAME.tflite, reference/NAME.*.npz).
    if let Some(dir) = std::env::var_os("HALFGPU_OP_CASES") {
        check_models_in(std::path::Path::new(&dir));
    }
}

/// Runs every model under `root/models` and compares with `root/reference`.
fn check_models_in(root: &std::path::Path) {
    let Ok(dir) = std::fs::read_dir(root.join("models")) else {
        eprintln!(
            "no models under {}; run scripts/fetch-test-assets.sh",
            root.display()
        );
        return;
    };
    let mut names: Vec<String> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".tflite")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    let mut failures = vec![];
    for name in names {
        let refdir = root.join("reference");
        let (Ok(mut ins), Ok(mut outs)) = (
            npyz::npz::NpzArchive::open(refdir.join(format!("{name}.inputs.npz"))),
            npyz::npz::NpzArchive::open(refdir.join(format!("{name}.outputs.npz"))),
        ) else {
            eprintln!("{name}: no reference outputs");
            continue;
        };
        let model =
            halfgpu::model::read_model_file(root.join(format!("models/{name}.tflite"))).unwrap();
        let g = halfgpu::graph::Graph::from_model(&model).unwrap();
        let read = |npz: &mut npyz::npz::NpzArchive<_>, i: usize| -> (Vec<usize>, Vec<f32>) {
            let a = npz.by_name(&i.to_string()).unwrap().unwrap();
            let shape = a.shape().iter().map(|&d| d as usize).collect();
            (shape, a.into_vec::<f32>().unwrap())
        };
        let inputs: Vec<T> = (0..g.inputs.len())
            .map(|i| {
                let (s, v) = read(&mut ins, i);
                f(&s, &v)
            })
            .collect();
        for threads in [1, 2] {
            let ctx = CpuContext::new(threads);
            let t = std::time::Instant::now();
            let mut prof = std::collections::BTreeMap::new();
            let mut state = model_state(&g);
            let got = match run_model(&ctx, &g, &mut state, &inputs, &mut prof) {
                Ok(v) => v,
                Err(e) => {
                    failures.push(format!("{name}: {e}"));
                    break;
                }
            };
            let first = t.elapsed();
            let t = std::time::Instant::now();
            let reps = 5;
            prof.clear();
            for _ in 0..reps {
                run_model(&ctx, &g, &mut state, &inputs, &mut prof).unwrap();
            }
            let dt = t.elapsed() / reps;
            let mut p: Vec<_> = prof.iter().collect();
            p.sort_by(|a, b| b.1.total_cmp(a.1));
            let p: Vec<String> = p
                .iter()
                .take(6)
                .map(|(k, v)| format!("{k} {:.2}", *v * 1e3 / reps as f64))
                .collect();
            println!("{name} [{threads}T] ms by op: {}", p.join(", "));
            for (i, o) in got.iter().enumerate() {
                let (_, want) = read(&mut outs, i);
                let gv = o.f32s();
                let scale = want.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
                let err = gv
                    .iter()
                    .zip(&want)
                    .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
                println!(
                    "{name} [{threads}T] output {i}: max abs err {err:.3e} (max |ref| {scale:.3e}), {:.2} ms/run (first {:.2} ms)",
                    dt.as_secs_f64() * 1e3,
                    first.as_secs_f64() * 1e3
                );
                if gv.len() != want.len() || err > 1e-3 * scale.max(1.0) {
                    failures.push(format!("{name} output {i}: error {err} vs scale {scale}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Python's `slice(b, e, s).indices(n)` expanded into the selected indices.
fn py_slice(b: Option<i64>, e: Option<i64>, s: i64, n: i64) -> Vec<i64> {
    let (lo, hi) = if s > 0 { (0, n) } else { (-1, n - 1) };
    let fix = |v: i64| {
        let v = if v < 0 { v + n } else { v };
        v.clamp(lo, hi)
    };
    let start = b.map_or(if s > 0 { 0 } else { n - 1 }, fix);
    let stop = e.map_or(if s > 0 { n } else { -1 }, fix);
    let mut out = vec![];
    let mut i = start;
    while (s > 0 && i < stop) || (s < 0 && i > stop) {
        out.push(i);
        i += s;
    }
    out
}

#[test]
fn strided_slice_matches_python_slicing() {
    let mut seed = 12345u64;
    let mut next = |m: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % m
    };
    for _ in 0..300 {
        let rank = 1 + next(4) as usize;
        let shape: Vec<usize> = (0..rank).map(|_| 1 + next(5) as usize).collect();
        let n: usize = shape.iter().product();
        let x = f(&shape, &(0..n).map(|v| v as f32).collect::<Vec<_>>());
        let (mut b, mut e, mut s) = (vec![], vec![], vec![]);
        let (mut bm, mut em, mut sm) = (0, 0, 0);
        let mut picks: Vec<Vec<i64>> = vec![];
        let mut out_shape = vec![];
        for (d, &dim) in shape.iter().enumerate() {
            let dim = dim as i64;
            let stride = [-3, -2, -1, 1, 2, 3][next(6) as usize];
            let bv = next(15) as i64 - 7;
            let ev = next(15) as i64 - 7;
            let (bmask, emask) = (next(4) == 0, next(4) == 0);
            if next(5) == 0 {
                // Shrink: a valid (possibly negative) index.
                let i = next(2 * dim as u64) as i64 - dim;
                b.push(i as i32);
                e.push(0);
                s.push(1);
                sm |= 1 << d;
                picks.push(vec![if i < 0 { i + dim } else { i }]);
                continue;
            }
            b.push(bv as i32);
            e.push(ev as i32);
            s.push(stride as i32);
            if bmask {
                bm |= 1 << d;
            }
            if emask {
                em |= 1 << d;
            }
            let p = py_slice((!bmask).then_some(bv), (!emask).then_some(ev), stride, dim);
            out_shape.push(p.len());
            picks.push(p);
        }
        let strides: Vec<usize> = (0..rank).map(|d| shape[d + 1..].iter().product()).collect();
        let mut want = vec![];
        let total: usize = picks.iter().map(|p| p.len()).product();
        for mut k in 0..total {
            let mut off = 0;
            for d in (0..rank).rev() {
                let p = &picks[d];
                off += p[k % p.len()] as usize * strides[d];
                k /= p.len();
            }
            want.push(off as f32);
        }
        let (bt, et, st) = (i32t(&[rank], &b), i32t(&[rank], &e), i32t(&[rank], &s));
        let got = run1(&ss(bm, em, 0, 0, sm), &[&x, &bt, &et, &st]);
        assert_eq!(
            got.shape, out_shape,
            "shape {shape:?} b {b:?} e {e:?} s {s:?} masks {bm} {em} {sm}"
        );
        assert_eq!(
            got.f32s(),
            want,
            "shape {shape:?} b {b:?} e {e:?} s {s:?} masks {bm} {em} {sm}"
        );
    }
}
