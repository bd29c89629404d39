// Convolutions: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV. NHWC activations;
// filters OHWI (CONV_2D, TRANSPOSE_CONV), [1, H, W, C] (DEPTHWISE), [out, in] (FULLY_CONNECTED).
// Bias and the fused activation are applied in the same pass; the 1x1 kernels can also add a
// residual operand (an ADD folded into the convolution, see `Conv.res`).
// Products are summed in A over short runs (one filter tap, or 16 input channels), and the runs
// are added in f32: in F16 mode most arithmetic stays f16 while long reductions do not lose
// precision with their length.

struct Conv {
    in_h: u32, in_w: u32, in_c: u32, batch: u32,
    out_h: u32, out_w: u32, out_c: u32, depth_mult: u32,
    k_h: u32, k_w: u32, stride_h: u32, stride_w: u32,
    dil_h: u32, dil_w: u32, pad_top: i32, pad_left: i32,
    act: u32, has_bias: u32, co_groups: u32,
    // The 1x1 kernels' `_res` entry points: 1 + the activation code of a residual ADD folded
    // into the convolution (its other operand is `resid`, read at the output's index).
    res: u32,
}

@group(0) @binding(0) var<uniform> p: Conv;
@group(0) @binding(1) var<storage, read_write> x: array<T>;
@group(0) @binding(2) var<storage, read_write> w: array<T>;
@group(0) @binding(3) var<storage, read_write> bias: array<T>;
@group(0) @binding(4) var<storage, read_write> y: array<T>;
// The same input and filter seen as vectors of four channels (kernels that need in_c % 4 == 0).
@group(0) @binding(1) var<storage, read_write> x4: array<vec4<T>>;
@group(0) @binding(2) var<storage, read_write> w4: array<vec4<T>>;
@group(0) @binding(3) var<storage, read_write> bias4v: array<vec4<T>>;
@group(0) @binding(4) var<storage, read_write> y4: array<vec4<T>>;
// The residual operand of a folded ADD (the output's shape); a placeholder for the 1x1
// kernels without one.
@group(0) @binding(5) var<storage, read_write> resid: array<T>;
@group(0) @binding(5) var<storage, read_write> resid4: array<vec4<T>>;

// Four output channels from the vector views (out_c % 4 == 0); c4 = channel / 4.
fn bias_v4(c4: u32) -> vec4<f32> {
    if (p.has_bias == 0u) { return vec4<f32>(0.0); }
    return vec4<f32>(bias4v[c4]);
}

// Stores four channels of the pixel whose first vector is at `at`, activated.
fn store_v4(at: u32, v: vec4<f32>) {
    y4[at] = vec4<T>(activate4(vec4<A>(v), p.act));
}

// A 1x1 convolution's activated output `r` at pixel `px`, channels from 4 * `c4` (or channel
// `c`), with the residual ADD folded in: `r` rounded to the storage type as the separate ADD
// would have read it, plus the residual operand, then the ADD's activation. The residual has
// `p.res >> 4` channels, zero past them (a PAD of its channels folded in as well).
fn residual4(px: u32, c4: u32, r: vec4<A>) -> vec4<A> {
    let rc4 = (p.res >> 4u) / 4u;
    let s = select(vec4<A>(A(0.0)), vec4<A>(resid4[px * rc4 + min(c4, rc4 - 1u)]), c4 < rc4);
    return activate4(vec4<A>(vec4<T>(r)) + s, (p.res & 15u) - 1u);
}

fn residual1(px: u32, c: u32, r: A) -> A {
    let rc = p.res >> 4u;
    let s = select(A(0.0), A(resid[px * rc + min(c, rc - 1u)]), c < rc);
    return activate(A(T(r)) + s, (p.res & 15u) - 1u);
}

// store_v4 for the 1x1 kernels (`at` = px * out_c / 4 + c4), with the residual ADD when `res`
// (a constant in each entry point: the kernels without a residual keep no branch for it).
fn store_1x1_v4(at: u32, px: u32, c4: u32, v: vec4<f32>, res: bool) {
    var r = activate4(vec4<A>(v), p.act);
    if (res) { r = residual4(px, c4, r); }
    y4[at] = vec4<T>(r);
}

// store4 for the 1x1 kernels: channels co.. of pixel px, with the residual ADD when `res` (as in
// store_1x1_v4).
fn store4_1x1(px: u32, co: u32, v: vec4<A>, res: bool) {
    let r = activate4(v, p.act);
    let base = px * p.out_c;
    for (var j = 0u; j < 4u; j++) {
        if (co + j < p.out_c) {
            var o = r[j];
            if (res) { o = residual1(px, co + j, o); }
            y[base + co + j] = T(o);
        }
    }
}

fn bias4(co: u32) -> vec4<A> {
    var b = vec4<A>(A(0.0));
    if (p.has_bias != 0u) {
        for (var j = 0u; j < 4u; j++) {
            if (co + j < p.out_c) { b[j] = A(bias[co + j]); }
        }
    }
    return b;
}

fn store4(base: u32, co: u32, v: vec4<A>) {
    let r = activate4(v, p.act);
    for (var j = 0u; j < 4u; j++) {
        if (co + j < p.out_c) { y[base + co + j] = T(r[j]); }
    }
}

// One invocation: one output pixel, four output channels (channel = in_channel * mult + m).
// grid: x = out_w, y = out_h, z = batch * co_groups.
@compute @workgroup_size(8, 8, 1)
fn depthwise_conv2d(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ox = gid.x;
    let oy = gid.y;
    if (ox >= p.out_w || oy >= p.out_h || gid.z >= p.batch * p.co_groups) { return; }
    let n = gid.z / p.co_groups;
    let co = (gid.z % p.co_groups) * 4u;
    var acc = vec4<f32>(bias4(co));
    var ci = vec4<u32>(0u);
    for (var j = 0u; j < 4u; j++) { ci[j] = min(co + j, p.out_c - 1u) / p.depth_mult; }
    for (var ky = 0u; ky < p.k_h; ky++) {
        let iy = i32(oy * p.stride_h + ky * p.dil_h) - p.pad_top;
        if (iy < 0 || iy >= i32(p.in_h)) { continue; }
        for (var kx = 0u; kx < p.k_w; kx++) {
            let ix = i32(ox * p.stride_w + kx * p.dil_w) - p.pad_left;
            if (ix < 0 || ix >= i32(p.in_w)) { continue; }
            let xb = ((n * p.in_h + u32(iy)) * p.in_w + u32(ix)) * p.in_c;
            let wb = (ky * p.k_w + kx) * p.out_c;
            var xv = vec4<A>(A(x[xb + ci.x]), A(x[xb + ci.y]), A(x[xb + ci.z]), A(x[xb + ci.w]));
            var wv = vec4<A>(A(0.0));
            for (var j = 0u; j < 4u; j++) { wv[j] = A(w[wb + min(co + j, p.out_c - 1u)]); }
            acc += vec4<f32>(xv * wv);
        }
    }
    store4(((n * p.out_h + oy) * p.out_w + ox) * p.out_c, co, vec4<A>(acc));
}

// Any depthwise convolution with depth multiplier 1 and channels % 4 == 0 (any kernel, stride,
// dilation, padding): 4 neighbouring output pixels (along x) x four channels per invocation,
// channel vectors across lanes; one filter vector load per tap serves the 4 pixels.
// grid: x = channels / 4, y = ceil(out_w / 4), z = batch * out_h.
@compute @workgroup_size(8, 8, 1)
fn depthwise_v4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c4 = gid.x;
    let ox0 = gid.y * 4u;
    let n = gid.z / p.out_h;
    let oy = gid.z % p.out_h;
    if (c4 >= p.co_groups || ox0 >= p.out_w || n >= p.batch) { return; }
    let C4 = p.co_groups;
    let b = bias_v4(c4);
    var a0 = b; var a1 = b; var a2 = b; var a3 = b;
    let sx = i32(p.stride_w);
    let x0 = i32(ox0) * sx - p.pad_left;
    for (var ky = 0u; ky < p.k_h; ky++) {
        let iy = i32(oy * p.stride_h + ky * p.dil_h) - p.pad_top;
        if (iy < 0 || iy >= i32(p.in_h)) { continue; }
        let row = (n * p.in_h + u32(iy)) * p.in_w;
        for (var kx = 0u; kx < p.k_w; kx++) {
            let k = vec4<A>(w4[(ky * p.k_w + kx) * C4 + c4]);
            let ix = x0 + i32(kx * p.dil_w);
            a0 += vec4<f32>(column_v4(row, ix, c4) * k);
            a1 += vec4<f32>(column_v4(row, ix + sx, c4) * k);
            a2 += vec4<f32>(column_v4(row, ix + 2 * sx, c4) * k);
            a3 += vec4<f32>(column_v4(row, ix + 3 * sx, c4) * k);
        }
    }
    store_row_v4(n, oy, ox0, c4, a0, a1, a2, a3);
}

// transpose_conv reading four input channels per vector load (in_c % 4 == 0); the filters of
// output channels past out_c are not loaded (one output channel, as a segmentation mask, reads
// only its own). grid: x = out_w, y = out_h, z = batch * co_groups.
@compute @workgroup_size(8, 8, 1)
fn transpose_conv_v4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ox = gid.x;
    let oy = gid.y;
    if (ox >= p.out_w || oy >= p.out_h || gid.z >= p.batch * p.co_groups) { return; }
    let n = gid.z / p.co_groups;
    let co = (gid.z % p.co_groups) * 4u;
    let live = p.out_c - co;
    var acc = vec4<f32>(bias4(co));
    let k4 = p.in_c / 4u;
    let kstride = p.k_h * p.k_w * k4;
    let w0 = co * kstride;
    let w1 = min(co + 1u, p.out_c - 1u) * kstride;
    let w2 = min(co + 2u, p.out_c - 1u) * kstride;
    let w3 = min(co + 3u, p.out_c - 1u) * kstride;
    // Only the taps that land on an input pixel: ky = ty0 mod stride, then every stride-th one
    // (the same in every lane of a row, so lanes do not diverge over the loops).
    let ty0 = i32(oy) + p.pad_top;
    let tx0 = i32(ox) + p.pad_left;
    if (ty0 >= 0 && tx0 >= 0) {
        for (var ky = u32(ty0) % p.stride_h; ky < p.k_h && i32(ky) <= ty0; ky += p.stride_h) {
            let iy = (u32(ty0) - ky) / p.stride_h;
            if (iy >= p.in_h) { continue; }
            for (var kx = u32(tx0) % p.stride_w; kx < p.k_w && i32(kx) <= tx0; kx += p.stride_w) {
                let ix = (u32(tx0) - kx) / p.stride_w;
                if (ix >= p.in_w) { continue; }
                let xb = ((n * p.in_h + iy) * p.in_w + ix) * k4;
                let wb = (ky * p.k_w + kx) * k4;
                var part = vec4<A>(A(0.0));
                for (var c = 0u; c < k4; c++) {
                    let v = vec4<A>(x4[xb + c]);
                    part.x += dot(v, vec4<A>(w4[w0 + wb + c]));
                    if (live > 1u) { part.y += dot(v, vec4<A>(w4[w1 + wb + c])); }
                    if (live > 2u) { part.z += dot(v, vec4<A>(w4[w2 + wb + c])); }
                    if (live > 3u) { part.w += dot(v, vec4<A>(w4[w3 + wb + c])); }
                }
                acc += vec4<f32>(part);
            }
        }
    }
    store4(((n * p.out_h + oy) * p.out_w + ox) * p.out_c, co, vec4<A>(acc));
}

// fully_connected reading four inputs per vector load (in_c % 4 == 0, out_c % 4 == 0).
// grid: x = co_groups, y = batch.
@compute @workgroup_size(64, 1, 1)
fn fully_connected_v4(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x >= p.co_groups || gid.y >= p.batch) { return; }
    let k = p.in_c / 4u;
    let xr = gid.y * k;
    let co = gid.x * 4u;
    let w0 = co * k;
    let w1 = w0 + k;
    let w2 = w1 + k;
    let w3 = w2 + k;
    var acc = bias_v4(gid.x);
    for (var i0 = 0u; i0 < k; i0 += 4u) {
        var part = vec4<A>(A(0.0));
        for (var i = i0; i < min(i0 + 4u, k); i++) {
            let m = mat4x4<A>(vec4<A>(w4[w0 + i]), vec4<A>(w4[w1 + i]), vec4<A>(w4[w2 + i]),
                              vec4<A>(w4[w3 + i]));
            part += vec4<A>(x4[xr + i]) * m;
        }
        acc += vec4<f32>(part);
    }
    store_v4(gid.y * p.co_groups + gid.x, acc);
}

// out[b, o] = sum_i x[b, i] * w[o, i] + bias[o]; in_c = inputs per row, out_c = outputs,
// batch = rows. One invocation: one row, four outputs. grid: x = co_groups, y = batch.
@compute @workgroup_size(64, 1, 1)
fn fully_connected(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x >= p.co_groups || gid.y >= p.batch) { return; }
    let row = gid.y;
    let co = gid.x * 4u;
    var acc = vec4<f32>(bias4(co));
    let c1 = min(co + 1u, p.out_c - 1u);
    let c2 = min(co + 2u, p.out_c - 1u);
    let c3 = min(co + 3u, p.out_c - 1u);
    for (var i0 = 0u; i0 < p.in_c; i0 += 16u) {
        var part = vec4<A>(A(0.0));
        for (var i = i0; i < min(i0 + 16u, p.in_c); i++) {
            let v = A(x[row * p.in_c + i]);
            part += v * vec4<A>(A(w[co * p.in_c + i]), A(w[c1 * p.in_c + i]),
                                A(w[c2 * p.in_c + i]), A(w[c3 * p.in_c + i]));
        }
        acc += vec4<f32>(part);
    }
    store4(row * p.out_c, co, vec4<A>(acc));
}

// Transposed convolution as a gather: out[oy, ox, o] = sum over (ky, kx, i) with
// oy = iy * stride + ky - pad_top of x[iy, ix, i] * w[o, ky, kx, i].
// grid: x = out_w, y = out_h, z = batch * co_groups.
@compute @workgroup_size(8, 8, 1)
fn transpose_conv(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ox = gid.x;
    let oy = gid.y;
    if (ox >= p.out_w || oy >= p.out_h || gid.z >= p.batch * p.co_groups) { return; }
    let n = gid.z / p.co_groups;
    let co = (gid.z % p.co_groups) * 4u;
    var acc = vec4<f32>(bias4(co));
    let kstride = p.k_h * p.k_w * p.in_c;
    let c1 = min(co + 1u, p.out_c - 1u);
    let c2 = min(co + 2u, p.out_c - 1u);
    let c3 = min(co + 3u, p.out_c - 1u);
    for (var ky = 0u; ky < p.k_h; ky++) {
        let ty = i32(oy) + p.pad_top - i32(ky);
        if (ty < 0 || ty % i32(p.stride_h) != 0) { continue; }
        let iy = u32(ty) / p.stride_h;
        if (iy >= p.in_h) { continue; }
        for (var kx = 0u; kx < p.k_w; kx++) {
            let tx = i32(ox) + p.pad_left - i32(kx);
            if (tx < 0 || tx % i32(p.stride_w) != 0) { continue; }
            let ix = u32(tx) / p.stride_w;
            if (ix >= p.in_w) { continue; }
            let xb = ((n * p.in_h + iy) * p.in_w + ix) * p.in_c;
            let wb = (ky * p.k_w + kx) * p.in_c;
            for (var c0 = 0u; c0 < p.in_c; c0 += 16u) {
                var part = vec4<A>(A(0.0));
                for (var ci = c0; ci < min(c0 + 16u, p.in_c); ci++) {
                    let v = A(x[xb + ci]);
                    let k = wb + ci;
                    part += v * vec4<A>(A(w[co * kstride + k]), A(w[c1 * kstride + k]),
                                        A(w[c2 * kstride + k]), A(w[c3 * kstride + k]));
                }
                acc += vec4<f32>(part);
            }
        }
    }
    store4(((n * p.out_h + oy) * p.out_w + ox) * p.out_c, co, vec4<A>(acc));
}

// 1x1 convolution as a tiled matrix product: one invocation computes 8 pixels x 8 output
// channels, so each element loaded feeds 8 multiply-adds (register blocking: on a software GPU
// every load costs about as much as several multiply-adds). Products are formed in A and
// accumulated in f32. grid: x = ceil(pixels / 8), y = ceil(out_c / 8).
@compute @workgroup_size(64, 1, 1)
fn conv2d_1x1_tiled(@builtin(global_invocation_id) gid: vec3<u32>) {
    conv2d_1x1_tiled_body(gid, false);
}

// conv2d_1x1_tiled with a residual ADD folded in (see `Conv.res`).
@compute @workgroup_size(64, 1, 1)
fn conv2d_1x1_tiled_res(@builtin(global_invocation_id) gid: vec3<u32>) {
    conv2d_1x1_tiled_body(gid, true);
}

fn conv2d_1x1_tiled_body(gid: vec3<u32>, res: bool) {
    let pixels = p.batch * p.out_h * p.out_w;
    let p0 = gid.x * 8u;
    let co = gid.y * 8u;
    if (p0 >= pixels || co >= p.out_c) { return; }
    let k = p.in_c;
    let last = pixels - 1u;
    let x0 = p0 * k;
    let x1 = min(p0 + 1u, last) * k;
    let x2 = min(p0 + 2u, last) * k;
    let x3 = min(p0 + 3u, last) * k;
    let x4 = min(p0 + 4u, last) * k;
    let x5 = min(p0 + 5u, last) * k;
    let x6 = min(p0 + 6u, last) * k;
    let x7 = min(p0 + 7u, last) * k;
    let lc = p.out_c - 1u;
    let w0 = co * k;
    let w1 = min(co + 1u, lc) * k;
    let w2 = min(co + 2u, lc) * k;
    let w3 = min(co + 3u, lc) * k;
    let w4 = min(co + 4u, lc) * k;
    let w5 = min(co + 5u, lc) * k;
    let w6 = min(co + 6u, lc) * k;
    let w7 = min(co + 7u, lc) * k;
    let blo = vec4<f32>(bias4(co));
    let bhi = vec4<f32>(bias4(co + 4u));
    var l0 = blo; var l1 = blo; var l2 = blo; var l3 = blo;
    var l4 = blo; var l5 = blo; var l6 = blo; var l7 = blo;
    var h0 = bhi; var h1 = bhi; var h2 = bhi; var h3 = bhi;
    var h4 = bhi; var h5 = bhi; var h6 = bhi; var h7 = bhi;
    for (var ci = 0u; ci < k; ci++) {
        let wl = vec4<A>(A(w[w0 + ci]), A(w[w1 + ci]), A(w[w2 + ci]), A(w[w3 + ci]));
        let wh = vec4<A>(A(w[w4 + ci]), A(w[w5 + ci]), A(w[w6 + ci]), A(w[w7 + ci]));
        let v0 = A(x[x0 + ci]); let v1 = A(x[x1 + ci]); let v2 = A(x[x2 + ci]); let v3 = A(x[x3 + ci]);
        let v4 = A(x[x4 + ci]); let v5 = A(x[x5 + ci]); let v6 = A(x[x6 + ci]); let v7 = A(x[x7 + ci]);
        l0 += vec4<f32>(v0 * wl); h0 += vec4<f32>(v0 * wh);
        l1 += vec4<f32>(v1 * wl); h1 += vec4<f32>(v1 * wh);
        l2 += vec4<f32>(v2 * wl); h2 += vec4<f32>(v2 * wh);
        l3 += vec4<f32>(v3 * wl); h3 += vec4<f32>(v3 * wh);
        l4 += vec4<f32>(v4 * wl); h4 += vec4<f32>(v4 * wh);
        l5 += vec4<f32>(v5 * wl); h5 += vec4<f32>(v5 * wh);
        l6 += vec4<f32>(v6 * wl); h6 += vec4<f32>(v6 * wh);
        l7 += vec4<f32>(v7 * wl); h7 += vec4<f32>(v7 * wh);
    }
    store_pair(p0, pixels, co, l0, h0, res);
    store_pair(p0 + 1u, pixels, co, l1, h1, res);
    store_pair(p0 + 2u, pixels, co, l2, h2, res);
    store_pair(p0 + 3u, pixels, co, l3, h3, res);
    store_pair(p0 + 4u, pixels, co, l4, h4, res);
    store_pair(p0 + 5u, pixels, co, l5, h5, res);
    store_pair(p0 + 6u, pixels, co, l6, h6, res);
    store_pair(p0 + 7u, pixels, co, l7, h7, res);
}

fn store_pair(px: u32, pixels: u32, co: u32, lo: vec4<f32>, hi: vec4<f32>, res: bool) {
    if (px < pixels) {
        store4_1x1(px, co, vec4<A>(lo), res);
        if (co + 4u < p.out_c) { store4_1x1(px, co + 4u, vec4<A>(hi), res); }
    }
}

// Four channels of input column `ix` in row `row` (zero outside the image).
fn column(row: u32, ix: i32, c: vec4<u32>) -> vec4<A> {
    if (ix < 0 || ix >= i32(p.in_w)) { return vec4<A>(A(0.0)); }
    let b = (row + u32(ix)) * p.in_c;
    return vec4<A>(A(x[b + c.x]), A(x[b + c.y]), A(x[b + c.z]), A(x[b + c.w]));
}

fn taps(wb: u32, c: vec4<u32>) -> vec4<A> {
    return vec4<A>(A(w[wb + c.x]), A(w[wb + c.y]), A(w[wb + c.z]), A(w[wb + c.w]));
}

// 3x3 depthwise convolution (multiplier 1, no dilation): one invocation computes four
// neighbouring output pixels of four channels; every input column is loaded once per row and
// reused by each pixel and tap that reads it. grid: x = ceil(out_w / 4), y = out_h,
// z = batch * co_groups.
// Stride 1 computes two output rows at once: the four input rows they need are each loaded once.
// grid: x = ceil(out_w / 4), y = ceil(out_h / 2), z = batch * co_groups.
@compute @workgroup_size(8, 8, 1)
fn depthwise3x3_s1(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ox0 = gid.x * 4u;
    let oy = gid.y * 2u;
    if (ox0 >= p.out_w || oy >= p.out_h || gid.z >= p.batch * p.co_groups) { return; }
    let n = gid.z / p.co_groups;
    let co = (gid.z % p.co_groups) * 4u;
    let lc = p.out_c - 1u;
    let c = vec4<u32>(co, min(co + 1u, lc), min(co + 2u, lc), min(co + 3u, lc));
    let C = p.out_c;
    let k0 = taps(0u, c); let k1 = taps(C, c); let k2 = taps(2u * C, c);
    let k3 = taps(3u * C, c); let k4 = taps(4u * C, c); let k5 = taps(5u * C, c);
    let k6 = taps(6u * C, c); let k7 = taps(7u * C, c); let k8 = taps(8u * C, c);
    let b = vec4<f32>(bias4(co));
    var a0 = b; var a1 = b; var a2 = b; var a3 = b;
    var d0 = b; var d1 = b; var d2 = b; var d3 = b;
    let ix = i32(ox0) - p.pad_left;
    for (var r = 0u; r < 4u; r++) {
        let iy = i32(oy + r) - p.pad_top;
        if (iy < 0 || iy >= i32(p.in_h)) { continue; }
        let row = (n * p.in_h + u32(iy)) * p.in_w;
        let c0 = column(row, ix, c); let c1 = column(row, ix + 1, c); let c2 = column(row, ix + 2, c);
        let c3 = column(row, ix + 3, c); let c4 = column(row, ix + 4, c); let c5 = column(row, ix + 5, c);
        // Output row oy uses input rows r = 0, 1, 2 with kernel row r; row oy + 1 uses
        // r = 1, 2, 3 with kernel row r - 1.
        if (r < 3u) {
            var t0 = k0; var t1 = k1; var t2 = k2;
            if (r == 1u) { t0 = k3; t1 = k4; t2 = k5; }
            if (r == 2u) { t0 = k6; t1 = k7; t2 = k8; }
            a0 += vec4<f32>(c0 * t0 + c1 * t1 + c2 * t2);
            a1 += vec4<f32>(c1 * t0 + c2 * t1 + c3 * t2);
            a2 += vec4<f32>(c2 * t0 + c3 * t1 + c4 * t2);
            a3 += vec4<f32>(c3 * t0 + c4 * t1 + c5 * t2);
        }
        if (r > 0u) {
            var t0 = k0; var t1 = k1; var t2 = k2;
            if (r == 2u) { t0 = k3; t1 = k4; t2 = k5; }
            if (r == 3u) { t0 = k6; t1 = k7; t2 = k8; }
            d0 += vec4<f32>(c0 * t0 + c1 * t1 + c2 * t2);
            d1 += vec4<f32>(c1 * t0 + c2 * t1 + c3 * t2);
            d2 += vec4<f32>(c2 * t0 + c3 * t1 + c4 * t2);
            d3 += vec4<f32>(c3 * t0 + c4 * t1 + c5 * t2);
        }
    }
    store_row4(n, oy, ox0, co, a0, a1, a2, a3);
    if (oy + 1u < p.out_h) { store_row4(n, oy + 1u, ox0, co, d0, d1, d2, d3); }
}

fn store_row4(n: u32, oy: u32, ox0: u32, co: u32, a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>) {
    let base = (n * p.out_h + oy) * p.out_w;
    store4((base + ox0) * p.out_c, co, vec4<A>(a0));
    if (ox0 + 1u < p.out_w) { store4((base + ox0 + 1u) * p.out_c, co, vec4<A>(a1)); }
    if (ox0 + 2u < p.out_w) { store4((base + ox0 + 2u) * p.out_c, co, vec4<A>(a2)); }
    if (ox0 + 3u < p.out_w) { store4((base + ox0 + 3u) * p.out_c, co, vec4<A>(a3)); }
}

@compute @workgroup_size(8, 8, 1)
fn depthwise3x3_s2(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ox0 = gid.x * 4u;
    let oy = gid.y;
    if (ox0 >= p.out_w || oy >= p.out_h || gid.z >= p.batch * p.co_groups) { return; }
    let n = gid.z / p.co_groups;
    let co = (gid.z % p.co_groups) * 4u;
    let lc = p.out_c - 1u;
    let c = vec4<u32>(co, min(co + 1u, lc), min(co + 2u, lc), min(co + 3u, lc));
    let b = vec4<f32>(bias4(co));
    var a0 = b; var a1 = b; var a2 = b; var a3 = b;
    let ix = i32(ox0 * 2u) - p.pad_left;
    for (var ky = 0u; ky < 3u; ky++) {
        let iy = i32(oy * 2u + ky) - p.pad_top;
        if (iy < 0 || iy >= i32(p.in_h)) { continue; }
        let row = (n * p.in_h + u32(iy)) * p.in_w;
        let c0 = column(row, ix, c); let c1 = column(row, ix + 1, c); let c2 = column(row, ix + 2, c);
        let c3 = column(row, ix + 3, c); let c4 = column(row, ix + 4, c); let c5 = column(row, ix + 5, c);
        let c6 = column(row, ix + 6, c); let c7 = column(row, ix + 7, c); let c8 = column(row, ix + 8, c);
        let k0 = taps(ky * 3u * p.out_c, c);
        let k1 = taps((ky * 3u + 1u) * p.out_c, c);
        let k2 = taps((ky * 3u + 2u) * p.out_c, c);
        a0 += vec4<f32>(c0 * k0 + c1 * k1 + c2 * k2);
        a1 += vec4<f32>(c2 * k0 + c3 * k1 + c4 * k2);
        a2 += vec4<f32>(c4 * k0 + c5 * k1 + c6 * k2);
        a3 += vec4<f32>(c6 * k0 + c7 * k1 + c8 * k2);
    }
    let base = (n * p.out_h + oy) * p.out_w;
    store4((base + ox0) * p.out_c, co, vec4<A>(a0));
    if (ox0 + 1u < p.out_w) { store4((base + ox0 + 1u) * p.out_c, co, vec4<A>(a1)); }
    if (ox0 + 2u < p.out_w) { store4((base + ox0 + 2u) * p.out_c, co, vec4<A>(a2)); }
    if (ox0 + 3u < p.out_w) { store4((base + ox0 + 3u) * p.out_c, co, vec4<A>(a3)); }
}

// The input value at (iy row base, ix) for channel ci, zero outside the image.
fn at_x(row: u32, ix: i32, ci: u32) -> A {
    if (ix < 0 || ix >= i32(p.in_w)) { return A(0.0); }
    return A(x[(row + u32(ix)) * p.in_c + ci]);
}

// General convolution, register-blocked: one invocation computes four neighbouring output
// pixels (along x) of eight output channels, so each weight loaded feeds four pixels and each
// input value eight channels. grid: x = ceil(out_w / 4), y = out_h, z = batch * ceil(out_c / 8).
@compute @workgroup_size(8, 8, 1)
fn conv2d_tiled(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ox0 = gid.x * 4u;
    let oy = gid.y;
    let groups8 = (p.out_c + 7u) / 8u;
    if (ox0 >= p.out_w || oy >= p.out_h || gid.z >= p.batch * groups8) { return; }
    let n = gid.z / groups8;
    let co = (gid.z % groups8) * 8u;
    let lc = p.out_c - 1u;
    let ks = p.k_h * p.k_w * p.in_c;
    let w0 = co * ks;
    let w1 = min(co + 1u, lc) * ks;
    let w2 = min(co + 2u, lc) * ks;
    let w3 = min(co + 3u, lc) * ks;
    let w4 = min(co + 4u, lc) * ks;
    let w5 = min(co + 5u, lc) * ks;
    let w6 = min(co + 6u, lc) * ks;
    let w7 = min(co + 7u, lc) * ks;
    let blo = vec4<f32>(bias4(co));
    let bhi = vec4<f32>(bias4(co + 4u));
    var l0 = blo; var l1 = blo; var l2 = blo; var l3 = blo;
    var h0 = bhi; var h1 = bhi; var h2 = bhi; var h3 = bhi;
    let step = i32(p.stride_w);
    for (var ky = 0u; ky < p.k_h; ky++) {
        let iy = i32(oy * p.stride_h + ky * p.dil_h) - p.pad_top;
        if (iy < 0 || iy >= i32(p.in_h)) { continue; }
        let row = (n * p.in_h + u32(iy)) * p.in_w;
        for (var kx = 0u; kx < p.k_w; kx++) {
            let ix = i32(ox0 * p.stride_w + kx * p.dil_w) - p.pad_left;
            let kb = (ky * p.k_w + kx) * p.in_c;
            for (var ci = 0u; ci < p.in_c; ci++) {
                let k = kb + ci;
                let wl = vec4<A>(A(w[w0 + k]), A(w[w1 + k]), A(w[w2 + k]), A(w[w3 + k]));
                let wh = vec4<A>(A(w[w4 + k]), A(w[w5 + k]), A(w[w6 + k]), A(w[w7 + k]));
                let v0 = at_x(row, ix, ci);
                let v1 = at_x(row, ix + step, ci);
                let v2 = at_x(row, ix + 2 * step, ci);
                let v3 = at_x(row, ix + 3 * step, ci);
                l0 += vec4<f32>(v0 * wl); h0 += vec4<f32>(v0 * wh);
                l1 += vec4<f32>(v1 * wl); h1 += vec4<f32>(v1 * wh);
                l2 += vec4<f32>(v2 * wl); h2 += vec4<f32>(v2 * wh);
                l3 += vec4<f32>(v3 * wl); h3 += vec4<f32>(v3 * wh);
            }
        }
    }
    let base = (n * p.out_h + oy) * p.out_w + ox0;
    for (var j = 0u; j < 4u; j++) {
        if (ox0 + j >= p.out_w) { break; }
        var lo = l0; var hi = h0;
        if (j == 1u) { lo = l1; hi = h1; }
        if (j == 2u) { lo = l2; hi = h2; }
        if (j == 3u) { lo = l3; hi = h3; }
        store4((base + j) * p.out_c, co, vec4<A>(lo));
        if (co + 4u < p.out_c) { store4((base + j) * p.out_c, co + 4u, vec4<A>(hi)); }
    }
}

// Four channels of input column `ix` in row `row` from the vector view (zero outside the image).
// Branch-free: the column is clamped into the image and the value masked, so lanes do not
// diverge at the borders.
fn column_v4(row: u32, ix: i32, c4: u32) -> vec4<A> {
    let inside = ix >= 0 && ix < i32(p.in_w);
    let cx = u32(clamp(ix, 0, i32(p.in_w) - 1));
    return select(vec4<A>(A(0.0)), vec4<A>(x4[(row + cx) * (p.in_c / 4u) + c4]), inside);
}

// depthwise3x3_s1 reading and writing four channels as one vector (channels % 4 == 0).
// grid: x = channels / 4, y = ceil(out_w / 4), z = batch * ceil(out_h / 2).
@compute @workgroup_size(8, 8, 1)
fn depthwise3x3_s1_v4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let rows = (p.out_h + 1u) / 2u;
    let c4 = gid.x;
    let ox0 = gid.y * 4u;
    let n = gid.z / rows;
    let oy = (gid.z % rows) * 2u;
    if (c4 >= p.co_groups || ox0 >= p.out_w || n >= p.batch) { return; }
    let C4 = p.co_groups;
    let k0 = vec4<A>(w4[c4]); let k1 = vec4<A>(w4[C4 + c4]); let k2 = vec4<A>(w4[2u * C4 + c4]);
    let k3 = vec4<A>(w4[3u * C4 + c4]); let k4 = vec4<A>(w4[4u * C4 + c4]); let k5 = vec4<A>(w4[5u * C4 + c4]);
    let k6 = vec4<A>(w4[6u * C4 + c4]); let k7 = vec4<A>(w4[7u * C4 + c4]); let k8 = vec4<A>(w4[8u * C4 + c4]);
    let b = bias_v4(c4);
    var a0 = b; var a1 = b; var a2 = b; var a3 = b;
    var d0 = b; var d1 = b; var d2 = b; var d3 = b;
    let ix = i32(ox0) - p.pad_left;
    for (var r = 0u; r < 4u; r++) {
        let iy = i32(oy + r) - p.pad_top;
        if (iy < 0 || iy >= i32(p.in_h)) { continue; }
        let row = (n * p.in_h + u32(iy)) * p.in_w;
        let c0 = column_v4(row, ix, c4); let c1 = column_v4(row, ix + 1, c4);
        let c2 = column_v4(row, ix + 2, c4); let c3 = column_v4(row, ix + 3, c4);
        let c4_ = column_v4(row, ix + 4, c4); let c5 = column_v4(row, ix + 5, c4);
        if (r < 3u) {
            var t0 = k0; var t1 = k1; var t2 = k2;
            if (r == 1u) { t0 = k3; t1 = k4; t2 = k5; }
            if (r == 2u) { t0 = k6; t1 = k7; t2 = k8; }
            a0 += vec4<f32>(c0 * t0 + c1 * t1 + c2 * t2);
            a1 += vec4<f32>(c1 * t0 + c2 * t1 + c3 * t2);
            a2 += vec4<f32>(c2 * t0 + c3 * t1 + c4_ * t2);
            a3 += vec4<f32>(c3 * t0 + c4_ * t1 + c5 * t2);
        }
        if (r > 0u) {
            var t0 = k0; var t1 = k1; var t2 = k2;
            if (r == 2u) { t0 = k3; t1 = k4; t2 = k5; }
            if (r == 3u) { t0 = k6; t1 = k7; t2 = k8; }
            d0 += vec4<f32>(c0 * t0 + c1 * t1 + c2 * t2);
            d1 += vec4<f32>(c1 * t0 + c2 * t1 + c3 * t2);
            d2 += vec4<f32>(c2 * t0 + c3 * t1 + c4_ * t2);
            d3 += vec4<f32>(c3 * t0 + c4_ * t1 + c5 * t2);
        }
    }
    store_row_v4(n, oy, ox0, c4, a0, a1, a2, a3);
    if (oy + 1u < p.out_h) { store_row_v4(n, oy + 1u, ox0, c4, d0, d1, d2, d3); }
}

fn store_row_v4(n: u32, oy: u32, ox0: u32, c4: u32, a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>) {
    let C4 = p.co_groups;
    let at = ((n * p.out_h + oy) * p.out_w + ox0) * C4 + c4;
    store_v4(at, a0);
    if (ox0 + 1u < p.out_w) { store_v4(at + C4, a1); }
    if (ox0 + 2u < p.out_w) { store_v4(at + 2u * C4, a2); }
    if (ox0 + 3u < p.out_w) { store_v4(at + 3u * C4, a3); }
}

// depthwise3x3_s2 with vector loads and stores (channels % 4 == 0).
// grid: x = channels / 4, y = ceil(out_w / 4), z = batch * out_h.
@compute @workgroup_size(8, 8, 1)
fn depthwise3x3_s2_v4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c4 = gid.x;
    let ox0 = gid.y * 4u;
    let n = gid.z / p.out_h;
    let oy = gid.z % p.out_h;
    if (c4 >= p.co_groups || ox0 >= p.out_w || n >= p.batch) { return; }
    let C4 = p.co_groups;
    let b = bias_v4(c4);
    var a0 = b; var a1 = b; var a2 = b; var a3 = b;
    let ix = i32(ox0 * 2u) - p.pad_left;
    for (var ky = 0u; ky < 3u; ky++) {
        let iy = i32(oy * 2u + ky) - p.pad_top;
        if (iy < 0 || iy >= i32(p.in_h)) { continue; }
        let row = (n * p.in_h + u32(iy)) * p.in_w;
        let c0 = column_v4(row, ix, c4); let c1 = column_v4(row, ix + 1, c4);
        let c2 = column_v4(row, ix + 2, c4); let c3 = column_v4(row, ix + 3, c4);
        let c4_ = column_v4(row, ix + 4, c4); let c5 = column_v4(row, ix + 5, c4);
        let c6 = column_v4(row, ix + 6, c4); let c7 = column_v4(row, ix + 7, c4);
        let c8 = column_v4(row, ix + 8, c4);
        let k0 = vec4<A>(w4[ky * 3u * C4 + c4]);
        let k1 = vec4<A>(w4[(ky * 3u + 1u) * C4 + c4]);
        let k2 = vec4<A>(w4[(ky * 3u + 2u) * C4 + c4]);
        a0 += vec4<f32>(c0 * k0 + c1 * k1 + c2 * k2);
        a1 += vec4<f32>(c2 * k0 + c3 * k1 + c4_ * k2);
        a2 += vec4<f32>(c4_ * k0 + c5 * k1 + c6 * k2);
        a3 += vec4<f32>(c6 * k0 + c7 * k1 + c8 * k2);
    }
    store_row_v4(n, oy, ox0, c4, a0, a1, a2, a3);
}

// 1x1 convolution, 8 pixels x 8 output channels per invocation, four input channels per
// step read as vectors (in_c % 4 == 0, out_c % 4 == 0). grid: x = ceil(pixels / 8),
// y = ceil(out_c / 8).
@compute @workgroup_size(64, 1, 1)
fn conv2d_1x1_v4_8x8(@builtin(global_invocation_id) gid: vec3<u32>) {
    conv2d_1x1_v4_8x8_body(gid, false);
}

// conv2d_1x1_v4_8x8 with a residual ADD folded in (see `Conv.res`).
@compute @workgroup_size(64, 1, 1)
fn conv2d_1x1_v4_8x8_res(@builtin(global_invocation_id) gid: vec3<u32>) {
    conv2d_1x1_v4_8x8_body(gid, true);
}

fn conv2d_1x1_v4_8x8_body(gid: vec3<u32>, res: bool) {
    let pixels = p.batch * p.out_h * p.out_w;
    let p0 = gid.x * 8u;
    let co = gid.y * 8u;
    if (p0 >= pixels || co >= p.out_c) { return; }
    let k = p.in_c / 4u;
    let last = pixels - 1u;
    let lc = p.out_c - 1u;
    let xa0 = min(p0 + 0u, last) * k;
    let xa1 = min(p0 + 1u, last) * k;
    let xa2 = min(p0 + 2u, last) * k;
    let xa3 = min(p0 + 3u, last) * k;
    let xa4 = min(p0 + 4u, last) * k;
    let xa5 = min(p0 + 5u, last) * k;
    let xa6 = min(p0 + 6u, last) * k;
    let xa7 = min(p0 + 7u, last) * k;
    let wa0 = min(co + 0u, lc) * k;
    let wa1 = min(co + 1u, lc) * k;
    let wa2 = min(co + 2u, lc) * k;
    let wa3 = min(co + 3u, lc) * k;
    let wa4 = min(co + 4u, lc) * k;
    let wa5 = min(co + 5u, lc) * k;
    let wa6 = min(co + 6u, lc) * k;
    let wa7 = min(co + 7u, lc) * k;
    let c4 = co / 4u;
    let lg = lc / 4u;
    let b0 = bias_v4(min(c4 + 0u, lg));
    let b1 = bias_v4(min(c4 + 1u, lg));
    var a0_0 = b0; var a0_1 = b1;
    var a1_0 = b0; var a1_1 = b1;
    var a2_0 = b0; var a2_1 = b1;
    var a3_0 = b0; var a3_1 = b1;
    var a4_0 = b0; var a4_1 = b1;
    var a5_0 = b0; var a5_1 = b1;
    var a6_0 = b0; var a6_1 = b1;
    var a7_0 = b0; var a7_1 = b1;
    for (var c = 0u; c < k; c++) {
        let m0 = mat4x4<A>(vec4<A>(w4[wa0 + c]), vec4<A>(w4[wa1 + c]), vec4<A>(w4[wa2 + c]), vec4<A>(w4[wa3 + c]));
        let m1 = mat4x4<A>(vec4<A>(w4[wa4 + c]), vec4<A>(w4[wa5 + c]), vec4<A>(w4[wa6 + c]), vec4<A>(w4[wa7 + c]));
        let v0 = vec4<A>(x4[xa0 + c]);
        a0_0 += vec4<f32>(v0 * m0); a0_1 += vec4<f32>(v0 * m1);
        let v1 = vec4<A>(x4[xa1 + c]);
        a1_0 += vec4<f32>(v1 * m0); a1_1 += vec4<f32>(v1 * m1);
        let v2 = vec4<A>(x4[xa2 + c]);
        a2_0 += vec4<f32>(v2 * m0); a2_1 += vec4<f32>(v2 * m1);
        let v3 = vec4<A>(x4[xa3 + c]);
        a3_0 += vec4<f32>(v3 * m0); a3_1 += vec4<f32>(v3 * m1);
        let v4 = vec4<A>(x4[xa4 + c]);
        a4_0 += vec4<f32>(v4 * m0); a4_1 += vec4<f32>(v4 * m1);
        let v5 = vec4<A>(x4[xa5 + c]);
        a5_0 += vec4<f32>(v5 * m0); a5_1 += vec4<f32>(v5 * m1);
        let v6 = vec4<A>(x4[xa6 + c]);
        a6_0 += vec4<f32>(v6 * m0); a6_1 += vec4<f32>(v6 * m1);
        let v7 = vec4<A>(x4[xa7 + c]);
        a7_0 += vec4<f32>(v7 * m0); a7_1 += vec4<f32>(v7 * m1);
    }
    let oc4 = p.out_c / 4u;
    if (p0 + 0u < pixels) {
        let at = (p0 + 0u) * oc4 + c4;
        store_1x1_v4(at, p0 + 0u, c4, a0_0, res);
        if (c4 + 1u < oc4) { store_1x1_v4(at + 1u, p0 + 0u, c4 + 1u, a0_1, res); }
    }
    if (p0 + 1u < pixels) {
        let at = (p0 + 1u) * oc4 + c4;
        store_1x1_v4(at, p0 + 1u, c4, a1_0, res);
        if (c4 + 1u < oc4) { store_1x1_v4(at + 1u, p0 + 1u, c4 + 1u, a1_1, res); }
    }
    if (p0 + 2u < pixels) {
        let at = (p0 + 2u) * oc4 + c4;
        store_1x1_v4(at, p0 + 2u, c4, a2_0, res);
        if (c4 + 1u < oc4) { store_1x1_v4(at + 1u, p0 + 2u, c4 + 1u, a2_1, res); }
    }
    if (p0 + 3u < pixels) {
        let at = (p0 + 3u) * oc4 + c4;
        store_1x1_v4(at, p0 + 3u, c4, a3_0, res);
        if (c4 + 1u < oc4) { store_1x1_v4(at + 1u, p0 + 3u, c4 + 1u, a3_1, res); }
    }
    if (p0 + 4u < pixels) {
        let at = (p0 + 4u) * oc4 + c4;
        store_1x1_v4(at, p0 + 4u, c4, a4_0, res);
        if (c4 + 1u < oc4) { store_1x1_v4(at + 1u, p0 + 4u, c4 + 1u, a4_1, res); }
    }
    if (p0 + 5u < pixels) {
        let at = (p0 + 5u) * oc4 + c4;
        store_1x1_v4(at, p0 + 5u, c4, a5_0, res);
        if (c4 + 1u < oc4) { store_1x1_v4(at + 1u, p0 + 5u, c4 + 1u, a5_1, res); }
    }
    if (p0 + 6u < pixels) {
        let at = (p0 + 6u) * oc4 + c4;
        store_1x1_v4(at, p0 + 6u, c4, a6_0, res);
        if (c4 + 1u < oc4) { store_1x1_v4(at + 1u, p0 + 6u, c4 + 1u, a6_1, res); }
    }
    if (p0 + 7u < pixels) {
        let at = (p0 + 7u) * oc4 + c4;
        store_1x1_v4(at, p0 + 7u, c4, a7_0, res);
        if (c4 + 1u < oc4) { store_1x1_v4(at + 1u, p0 + 7u, c4 + 1u, a7_1, res); }
    }
}

// 1x1 convolution, 8 pixels x 16 output channels per invocation, four input channels per
// step read as vectors (in_c % 4 == 0, out_c % 4 == 0). grid: x = ceil(pixels / 8),
// y = ceil(out_c / 16).
@compute @workgroup_size(64, 1, 1)
fn conv2d_1x1_v4_8x16(@builtin(global_invocation_id) gid: vec3<u32>) {
    conv2d_1x1_v4_8x16_body(gid, false);
}

// conv2d_1x1_v4_8x16 with a residual ADD folded in (see `Conv.res`).
@compute @workgroup_size(64, 1, 1)
fn conv2d_1x1_v4_8x16_res(@builtin(global_invocation_id) gid: vec3<u32>) {
    conv2d_1x1_v4_8x16_body(gid, true);
}

fn conv2d_1x1_v4_8x16_body(gid: vec3<u32>, res: bool) {
    let pixels = p.batch * p.out_h * p.out_w;
    let p0 = gid.x * 8u;
    let co = gid.y * 16u;
    if (p0 >= pixels || co >= p.out_c) { return; }
    let k = p.in_c / 4u;
    let last = pixels - 1u;
    let lc = p.out_c - 1u;
    let xa0 = min(p0 + 0u, last) * k;
    let xa1 = min(p0 + 1u, last) * k;
    let xa2 = min(p0 + 2u, last) * k;
    let xa3 = min(p0 + 3u, last) * k;
    let xa4 = min(p0 + 4u, last) * k;
    let xa5 = min(p0 + 5u, last) * k;
    let xa6 = min(p0 + 6u, last) * k;
    let xa7 = min(p0 + 7u, last) * k;
    let wa0 = min(co + 0u, lc) * k;
    let wa1 = min(co + 1u, lc) * k;
    let wa2 = min(co + 2u, lc) * k;
    let wa3 = min(co + 3u, lc) * k;
    let wa4 = min(co + 4u, lc) * k;
    let wa5 = min(co + 5u, lc) * k;
    let wa6 = min(co + 6u, lc) * k;
    let wa7 = min(co + 7u, lc) * k;
    let wa8 = min(co + 8u, lc) * k;
    let wa9 = min(co + 9u, lc) * k;
    let wa10 = min(co + 10u, lc) * k;
    let wa11 = min(co + 11u, lc) * k;
    let wa12 = min(co + 12u, lc) * k;
    let wa13 = min(co + 13u, lc) * k;
    let wa14 = min(co + 14u, lc) * k;
    let wa15 = min(co + 15u, lc) * k;
    let c4 = co / 4u;
    let lg = lc / 4u;
    let b0 = bias_v4(min(c4 + 0u, lg));
    let b1 = bias_v4(min(c4 + 1u, lg));
    let b2 = bias_v4(min(c4 + 2u, lg));
    let b3 = bias_v4(min(c4 + 3u, lg));
    var a0_0 = b0; var a0_1 = b1; var a0_2 = b2; var a0_3 = b3;
    var a1_0 = b0; var a1_1 = b1; var a1_2 = b2; var a1_3 = b3;
    var a2_0 = b0; var a2_1 = b1; var a2_2 = b2; var a2_3 = b3;
    var a3_0 = b0; var a3_1 = b1; var a3_2 = b2; var a3_3 = b3;
    var a4_0 = b0; var a4_1 = b1; var a4_2 = b2; var a4_3 = b3;
    var a5_0 = b0; var a5_1 = b1; var a5_2 = b2; var a5_3 = b3;
    var a6_0 = b0; var a6_1 = b1; var a6_2 = b2; var a6_3 = b3;
    var a7_0 = b0; var a7_1 = b1; var a7_2 = b2; var a7_3 = b3;
    for (var c = 0u; c < k; c++) {
        let m0 = mat4x4<A>(vec4<A>(w4[wa0 + c]), vec4<A>(w4[wa1 + c]), vec4<A>(w4[wa2 + c]), vec4<A>(w4[wa3 + c]));
        let m1 = mat4x4<A>(vec4<A>(w4[wa4 + c]), vec4<A>(w4[wa5 + c]), vec4<A>(w4[wa6 + c]), vec4<A>(w4[wa7 + c]));
        let m2 = mat4x4<A>(vec4<A>(w4[wa8 + c]), vec4<A>(w4[wa9 + c]), vec4<A>(w4[wa10 + c]), vec4<A>(w4[wa11 + c]));
        let m3 = mat4x4<A>(vec4<A>(w4[wa12 + c]), vec4<A>(w4[wa13 + c]), vec4<A>(w4[wa14 + c]), vec4<A>(w4[wa15 + c]));
        let v0 = vec4<A>(x4[xa0 + c]);
        a0_0 += vec4<f32>(v0 * m0); a0_1 += vec4<f32>(v0 * m1); a0_2 += vec4<f32>(v0 * m2); a0_3 += vec4<f32>(v0 * m3);
        let v1 = vec4<A>(x4[xa1 + c]);
        a1_0 += vec4<f32>(v1 * m0); a1_1 += vec4<f32>(v1 * m1); a1_2 += vec4<f32>(v1 * m2); a1_3 += vec4<f32>(v1 * m3);
        let v2 = vec4<A>(x4[xa2 + c]);
        a2_0 += vec4<f32>(v2 * m0); a2_1 += vec4<f32>(v2 * m1); a2_2 += vec4<f32>(v2 * m2); a2_3 += vec4<f32>(v2 * m3);
        let v3 = vec4<A>(x4[xa3 + c]);
        a3_0 += vec4<f32>(v3 * m0); a3_1 += vec4<f32>(v3 * m1); a3_2 += vec4<f32>(v3 * m2); a3_3 += vec4<f32>(v3 * m3);
        let v4 = vec4<A>(x4[xa4 + c]);
        a4_0 += vec4<f32>(v4 * m0); a4_1 += vec4<f32>(v4 * m1); a4_2 += vec4<f32>(v4 * m2); a4_3 += vec4<f32>(v4 * m3);
        let v5 = vec4<A>(x4[xa5 + c]);
        a5_0 += vec4<f32>(v5 * m0); a5_1 += vec4<f32>(v5 * m1); a5_2 += vec4<f32>(v5 * m2); a5_3 += vec4<f32>(v5 * m3);
        let v6 = vec4<A>(x4[xa6 + c]);
        a6_0 += vec4<f32>(v6 * m0); a6_1 += vec4<f32>(v6 * m1); a6_2 += vec4<f32>(v6 * m2); a6_3 += vec4<f32>(v6 * m3);
        let v7 = vec4<A>(x4[xa7 + c]);
        a7_0 += vec4<f32>(v7 * m0); a7_1 += vec4<f32>(v7 * m1); a7_2 += vec4<f32>(v7 * m2); a7_3 += vec4<f32>(v7 * m3);
    }
    let oc4 = p.out_c / 4u;
    if (p0 + 0u < pixels) {
        let at = (p0 + 0u) * oc4 + c4;
        store_1x1_v4(at, p0 + 0u, c4, a0_0, res);
        if (c4 + 1u < oc4) { store_1x1_v4(at + 1u, p0 + 0u, c4 + 1u, a0_1, res); }
        if (c4 + 2u < oc4) { store_1x1_v4(at + 2u, p0 + 0u, c4 + 2u, a0_2, res); }
        if (c4 + 3u < oc4) { store_1x1_v4(at + 3u, p0 + 0u, c4 + 3u, a0_3, res); }
    }
    if (p0 + 1u < pixels) {
        let at = (p0 + 1u) * oc4 + c4;
        store_1x1_v4(at, p0 + 1u, c4, a1_0, res);
        if (c4 + 1u < oc4) { store_1x1_v4(at + 1u, p0 + 1u, c4 + 1u, a1_1, res); }
        if (c4 + 2u < oc4) { store_1x1_v4(at + 2u, p0 + 1u, c4 + 2u, a1_2, res); }
        if (c4 + 3u < oc4) { store_1x1_v4(at + 3u, p0 + 1u, c4 + 3u, a1_3, res); }
    }
    if (p0 + 2u < pixels) {
        let at = (p0 + 2u) * oc4 + c4;
        store_1x1_v4(at, p0 + 2u, c4, a2_0, res);
        if (c4 + 1u < oc4) { store_1x1_v4(at + 1u, p0 + 2u, c4 + 1u, a2_1, res); }
        if (c4 + 2u < oc4) { store_1x1_v4(at + 2u, p0 + 2u, c4 + 2u, a2_2, res); }
        if (c4 + 3u < oc4) { store_1x1_v4(at + 3u, p0 + 2u, c4 + 3u, a2_3, res); }
    }
    if (p0 + 3u < pixels) {
        let at = (p0 + 3u) * oc4 + c4;
        store_1x1_v4(at, p0 + 3u, c4, a3_0, res);
        if (c4 + 1u < oc4) { store_1x1_v4(at + 1u, p0 + 3u, c4 + 1u, a3_1, res); }
        if (c4 + 2u < oc4) { store_1x1_v4(at + 2u, p0 + 3u, c4 + 2u, a3_2, res); }
        if (c4 + 3u < oc4) { store_1x1_v4(at + 3u, p0 + 3u, c4 + 3u, a3_3, res); }
    }
    if (p0 + 4u < pixels) {
        let at = (p0 + 4u) * oc4 + c4;
        store_1x1_v4(at, p0 + 4u, c4, a4_0, res);
        if (c4 + 1u < oc4) { store_1x1_v4(at + 1u, p0 + 4u, c4 + 1u, a4_1, res); }
        if (c4 + 2u < oc4) { store_1x1_v4(at + 2u, p0 + 4u, c4 + 2u, a4_2, res); }
        if (c4 + 3u < oc4) { store_1x1_v4(at + 3u, p0 + 4u, c4 + 3u, a4_3, res); }
    }
    if (p0 + 5u < pixels) {
        let at = (p0 + 5u) * oc4 + c4;
        store_1x1_v4(at, p0 + 5u, c4, a5_0, res);
        if (c4 + 1u < oc4) { store_1x1_v4(at + 1u, p0 + 5u, c4 + 1u, a5_1, res); }
        if (c4 + 2u < oc4) { store_1x1_v4(at + 2u, p0 + 5u, c4 + 2u, a5_2, res); }
        if (c4 + 3u < oc4) { store_1x1_v4(at + 3u, p0 + 5u, c4 + 3u, a5_3, res); }
    }
    if (p0 + 6u < pixels) {
        let at = (p0 + 6u) * oc4 + c4;
        store_1x1_v4(at, p0 + 6u, c4, a6_0, res);
        if (c4 + 1u < oc4) { store_1x1_v4(at + 1u, p0 + 6u, c4 + 1u, a6_1, res); }
        if (c4 + 2u < oc4) { store_1x1_v4(at + 2u, p0 + 6u, c4 + 2u, a6_2, res); }
        if (c4 + 3u < oc4) { store_1x1_v4(at + 3u, p0 + 6u, c4 + 3u, a6_3, res); }
    }
    if (p0 + 7u < pixels) {
        let at = (p0 + 7u) * oc4 + c4;
        store_1x1_v4(at, p0 + 7u, c4, a7_0, res);
        if (c4 + 1u < oc4) { store_1x1_v4(at + 1u, p0 + 7u, c4 + 1u, a7_1, res); }
        if (c4 + 2u < oc4) { store_1x1_v4(at + 2u, p0 + 7u, c4 + 2u, a7_2, res); }
        if (c4 + 3u < oc4) { store_1x1_v4(at + 3u, p0 + 7u, c4 + 3u, a7_3, res); }
    }
}

// 3x3 convolution of a three-channel input (an RGB image), dilation 1: one invocation computes
// 4 neighbouring output pixels (along x) of 8 output channels. The 8 filters (8 x 27 values,
// contiguous in OHWI) are read as 54 vectors; input values are read once per pixel and tap,
// clamped into the image and masked (no branches at the borders). Needs out_c % 8 == 0.
// grid: x = ceil(out_w / 4), y = out_h, z = batch * out_c / 8.
@compute @workgroup_size(8, 8, 1)
fn conv2d_3x3_c3(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ox0 = gid.x * 4u;
    let oy = gid.y;
    let blocks = p.out_c / 8u;
    if (ox0 >= p.out_w || oy >= p.out_h || gid.z >= p.batch * blocks) { return; }
    let n = gid.z / blocks;
    let co = (gid.z % blocks) * 8u;
    let wb = co * 27u / 4u;
    let q0 = vec4<A>(w4[wb + 0u]);
    let q1 = vec4<A>(w4[wb + 1u]);
    let q2 = vec4<A>(w4[wb + 2u]);
    let q3 = vec4<A>(w4[wb + 3u]);
    let q4 = vec4<A>(w4[wb + 4u]);
    let q5 = vec4<A>(w4[wb + 5u]);
    let q6 = vec4<A>(w4[wb + 6u]);
    let q7 = vec4<A>(w4[wb + 7u]);
    let q8 = vec4<A>(w4[wb + 8u]);
    let q9 = vec4<A>(w4[wb + 9u]);
    let q10 = vec4<A>(w4[wb + 10u]);
    let q11 = vec4<A>(w4[wb + 11u]);
    let q12 = vec4<A>(w4[wb + 12u]);
    let q13 = vec4<A>(w4[wb + 13u]);
    let q14 = vec4<A>(w4[wb + 14u]);
    let q15 = vec4<A>(w4[wb + 15u]);
    let q16 = vec4<A>(w4[wb + 16u]);
    let q17 = vec4<A>(w4[wb + 17u]);
    let q18 = vec4<A>(w4[wb + 18u]);
    let q19 = vec4<A>(w4[wb + 19u]);
    let q20 = vec4<A>(w4[wb + 20u]);
    let q21 = vec4<A>(w4[wb + 21u]);
    let q22 = vec4<A>(w4[wb + 22u]);
    let q23 = vec4<A>(w4[wb + 23u]);
    let q24 = vec4<A>(w4[wb + 24u]);
    let q25 = vec4<A>(w4[wb + 25u]);
    let q26 = vec4<A>(w4[wb + 26u]);
    let q27 = vec4<A>(w4[wb + 27u]);
    let q28 = vec4<A>(w4[wb + 28u]);
    let q29 = vec4<A>(w4[wb + 29u]);
    let q30 = vec4<A>(w4[wb + 30u]);
    let q31 = vec4<A>(w4[wb + 31u]);
    let q32 = vec4<A>(w4[wb + 32u]);
    let q33 = vec4<A>(w4[wb + 33u]);
    let q34 = vec4<A>(w4[wb + 34u]);
    let q35 = vec4<A>(w4[wb + 35u]);
    let q36 = vec4<A>(w4[wb + 36u]);
    let q37 = vec4<A>(w4[wb + 37u]);
    let q38 = vec4<A>(w4[wb + 38u]);
    let q39 = vec4<A>(w4[wb + 39u]);
    let q40 = vec4<A>(w4[wb + 40u]);
    let q41 = vec4<A>(w4[wb + 41u]);
    let q42 = vec4<A>(w4[wb + 42u]);
    let q43 = vec4<A>(w4[wb + 43u]);
    let q44 = vec4<A>(w4[wb + 44u]);
    let q45 = vec4<A>(w4[wb + 45u]);
    let q46 = vec4<A>(w4[wb + 46u]);
    let q47 = vec4<A>(w4[wb + 47u]);
    let q48 = vec4<A>(w4[wb + 48u]);
    let q49 = vec4<A>(w4[wb + 49u]);
    let q50 = vec4<A>(w4[wb + 50u]);
    let q51 = vec4<A>(w4[wb + 51u]);
    let q52 = vec4<A>(w4[wb + 52u]);
    let q53 = vec4<A>(w4[wb + 53u]);
    let c4 = co / 4u;
    let b0 = bias_v4(c4 + 0u);
    let b1 = bias_v4(c4 + 1u);
    var a0_0 = b0; var a0_1 = b1;
    var a1_0 = b0; var a1_1 = b1;
    var a2_0 = b0; var a2_1 = b1;
    var a3_0 = b0; var a3_1 = b1;
    let sx = i32(p.stride_w);
    let x0 = i32(ox0) * sx - p.pad_left;
    let wmax = i32(p.in_w) - 1;
    let iy0 = i32(oy * p.stride_h + 0u) - p.pad_top;
    let rin0 = iy0 >= 0 && iy0 < i32(p.in_h);
    let row0 = (n * p.in_h + u32(clamp(iy0, 0, i32(p.in_h) - 1))) * p.in_w;
    let iy1 = i32(oy * p.stride_h + 1u) - p.pad_top;
    let rin1 = iy1 >= 0 && iy1 < i32(p.in_h);
    let row1 = (n * p.in_h + u32(clamp(iy1, 0, i32(p.in_h) - 1))) * p.in_w;
    let iy2 = i32(oy * p.stride_h + 2u) - p.pad_top;
    let rin2 = iy2 >= 0 && iy2 < i32(p.in_h);
    let row2 = (n * p.in_h + u32(clamp(iy2, 0, i32(p.in_h) - 1))) * p.in_w;
    { let ix = x0 + 0 * sx + 0; let ok = rin0 && ix >= 0 && ix <= wmax;
      let at = (row0 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a0_0 += vec4<f32>(v0 * vec4<A>(q0.x, q6.w, q13.z, q20.y));
      a0_1 += vec4<f32>(v0 * vec4<A>(q27.x, q33.w, q40.z, q47.y));
      a0_0 += vec4<f32>(v1 * vec4<A>(q0.y, q7.x, q13.w, q20.z));
      a0_1 += vec4<f32>(v1 * vec4<A>(q27.y, q34.x, q40.w, q47.z));
      a0_0 += vec4<f32>(v2 * vec4<A>(q0.z, q7.y, q14.x, q20.w));
      a0_1 += vec4<f32>(v2 * vec4<A>(q27.z, q34.y, q41.x, q47.w));
    }
    { let ix = x0 + 1 * sx + 0; let ok = rin0 && ix >= 0 && ix <= wmax;
      let at = (row0 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a1_0 += vec4<f32>(v0 * vec4<A>(q0.x, q6.w, q13.z, q20.y));
      a1_1 += vec4<f32>(v0 * vec4<A>(q27.x, q33.w, q40.z, q47.y));
      a1_0 += vec4<f32>(v1 * vec4<A>(q0.y, q7.x, q13.w, q20.z));
      a1_1 += vec4<f32>(v1 * vec4<A>(q27.y, q34.x, q40.w, q47.z));
      a1_0 += vec4<f32>(v2 * vec4<A>(q0.z, q7.y, q14.x, q20.w));
      a1_1 += vec4<f32>(v2 * vec4<A>(q27.z, q34.y, q41.x, q47.w));
    }
    { let ix = x0 + 2 * sx + 0; let ok = rin0 && ix >= 0 && ix <= wmax;
      let at = (row0 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a2_0 += vec4<f32>(v0 * vec4<A>(q0.x, q6.w, q13.z, q20.y));
      a2_1 += vec4<f32>(v0 * vec4<A>(q27.x, q33.w, q40.z, q47.y));
      a2_0 += vec4<f32>(v1 * vec4<A>(q0.y, q7.x, q13.w, q20.z));
      a2_1 += vec4<f32>(v1 * vec4<A>(q27.y, q34.x, q40.w, q47.z));
      a2_0 += vec4<f32>(v2 * vec4<A>(q0.z, q7.y, q14.x, q20.w));
      a2_1 += vec4<f32>(v2 * vec4<A>(q27.z, q34.y, q41.x, q47.w));
    }
    { let ix = x0 + 3 * sx + 0; let ok = rin0 && ix >= 0 && ix <= wmax;
      let at = (row0 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a3_0 += vec4<f32>(v0 * vec4<A>(q0.x, q6.w, q13.z, q20.y));
      a3_1 += vec4<f32>(v0 * vec4<A>(q27.x, q33.w, q40.z, q47.y));
      a3_0 += vec4<f32>(v1 * vec4<A>(q0.y, q7.x, q13.w, q20.z));
      a3_1 += vec4<f32>(v1 * vec4<A>(q27.y, q34.x, q40.w, q47.z));
      a3_0 += vec4<f32>(v2 * vec4<A>(q0.z, q7.y, q14.x, q20.w));
      a3_1 += vec4<f32>(v2 * vec4<A>(q27.z, q34.y, q41.x, q47.w));
    }
    { let ix = x0 + 0 * sx + 1; let ok = rin0 && ix >= 0 && ix <= wmax;
      let at = (row0 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a0_0 += vec4<f32>(v0 * vec4<A>(q0.w, q7.z, q14.y, q21.x));
      a0_1 += vec4<f32>(v0 * vec4<A>(q27.w, q34.z, q41.y, q48.x));
      a0_0 += vec4<f32>(v1 * vec4<A>(q1.x, q7.w, q14.z, q21.y));
      a0_1 += vec4<f32>(v1 * vec4<A>(q28.x, q34.w, q41.z, q48.y));
      a0_0 += vec4<f32>(v2 * vec4<A>(q1.y, q8.x, q14.w, q21.z));
      a0_1 += vec4<f32>(v2 * vec4<A>(q28.y, q35.x, q41.w, q48.z));
    }
    { let ix = x0 + 1 * sx + 1; let ok = rin0 && ix >= 0 && ix <= wmax;
      let at = (row0 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a1_0 += vec4<f32>(v0 * vec4<A>(q0.w, q7.z, q14.y, q21.x));
      a1_1 += vec4<f32>(v0 * vec4<A>(q27.w, q34.z, q41.y, q48.x));
      a1_0 += vec4<f32>(v1 * vec4<A>(q1.x, q7.w, q14.z, q21.y));
      a1_1 += vec4<f32>(v1 * vec4<A>(q28.x, q34.w, q41.z, q48.y));
      a1_0 += vec4<f32>(v2 * vec4<A>(q1.y, q8.x, q14.w, q21.z));
      a1_1 += vec4<f32>(v2 * vec4<A>(q28.y, q35.x, q41.w, q48.z));
    }
    { let ix = x0 + 2 * sx + 1; let ok = rin0 && ix >= 0 && ix <= wmax;
      let at = (row0 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a2_0 += vec4<f32>(v0 * vec4<A>(q0.w, q7.z, q14.y, q21.x));
      a2_1 += vec4<f32>(v0 * vec4<A>(q27.w, q34.z, q41.y, q48.x));
      a2_0 += vec4<f32>(v1 * vec4<A>(q1.x, q7.w, q14.z, q21.y));
      a2_1 += vec4<f32>(v1 * vec4<A>(q28.x, q34.w, q41.z, q48.y));
      a2_0 += vec4<f32>(v2 * vec4<A>(q1.y, q8.x, q14.w, q21.z));
      a2_1 += vec4<f32>(v2 * vec4<A>(q28.y, q35.x, q41.w, q48.z));
    }
    { let ix = x0 + 3 * sx + 1; let ok = rin0 && ix >= 0 && ix <= wmax;
      let at = (row0 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a3_0 += vec4<f32>(v0 * vec4<A>(q0.w, q7.z, q14.y, q21.x));
      a3_1 += vec4<f32>(v0 * vec4<A>(q27.w, q34.z, q41.y, q48.x));
      a3_0 += vec4<f32>(v1 * vec4<A>(q1.x, q7.w, q14.z, q21.y));
      a3_1 += vec4<f32>(v1 * vec4<A>(q28.x, q34.w, q41.z, q48.y));
      a3_0 += vec4<f32>(v2 * vec4<A>(q1.y, q8.x, q14.w, q21.z));
      a3_1 += vec4<f32>(v2 * vec4<A>(q28.y, q35.x, q41.w, q48.z));
    }
    { let ix = x0 + 0 * sx + 2; let ok = rin0 && ix >= 0 && ix <= wmax;
      let at = (row0 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a0_0 += vec4<f32>(v0 * vec4<A>(q1.z, q8.y, q15.x, q21.w));
      a0_1 += vec4<f32>(v0 * vec4<A>(q28.z, q35.y, q42.x, q48.w));
      a0_0 += vec4<f32>(v1 * vec4<A>(q1.w, q8.z, q15.y, q22.x));
      a0_1 += vec4<f32>(v1 * vec4<A>(q28.w, q35.z, q42.y, q49.x));
      a0_0 += vec4<f32>(v2 * vec4<A>(q2.x, q8.w, q15.z, q22.y));
      a0_1 += vec4<f32>(v2 * vec4<A>(q29.x, q35.w, q42.z, q49.y));
    }
    { let ix = x0 + 1 * sx + 2; let ok = rin0 && ix >= 0 && ix <= wmax;
      let at = (row0 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a1_0 += vec4<f32>(v0 * vec4<A>(q1.z, q8.y, q15.x, q21.w));
      a1_1 += vec4<f32>(v0 * vec4<A>(q28.z, q35.y, q42.x, q48.w));
      a1_0 += vec4<f32>(v1 * vec4<A>(q1.w, q8.z, q15.y, q22.x));
      a1_1 += vec4<f32>(v1 * vec4<A>(q28.w, q35.z, q42.y, q49.x));
      a1_0 += vec4<f32>(v2 * vec4<A>(q2.x, q8.w, q15.z, q22.y));
      a1_1 += vec4<f32>(v2 * vec4<A>(q29.x, q35.w, q42.z, q49.y));
    }
    { let ix = x0 + 2 * sx + 2; let ok = rin0 && ix >= 0 && ix <= wmax;
      let at = (row0 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a2_0 += vec4<f32>(v0 * vec4<A>(q1.z, q8.y, q15.x, q21.w));
      a2_1 += vec4<f32>(v0 * vec4<A>(q28.z, q35.y, q42.x, q48.w));
      a2_0 += vec4<f32>(v1 * vec4<A>(q1.w, q8.z, q15.y, q22.x));
      a2_1 += vec4<f32>(v1 * vec4<A>(q28.w, q35.z, q42.y, q49.x));
      a2_0 += vec4<f32>(v2 * vec4<A>(q2.x, q8.w, q15.z, q22.y));
      a2_1 += vec4<f32>(v2 * vec4<A>(q29.x, q35.w, q42.z, q49.y));
    }
    { let ix = x0 + 3 * sx + 2; let ok = rin0 && ix >= 0 && ix <= wmax;
      let at = (row0 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a3_0 += vec4<f32>(v0 * vec4<A>(q1.z, q8.y, q15.x, q21.w));
      a3_1 += vec4<f32>(v0 * vec4<A>(q28.z, q35.y, q42.x, q48.w));
      a3_0 += vec4<f32>(v1 * vec4<A>(q1.w, q8.z, q15.y, q22.x));
      a3_1 += vec4<f32>(v1 * vec4<A>(q28.w, q35.z, q42.y, q49.x));
      a3_0 += vec4<f32>(v2 * vec4<A>(q2.x, q8.w, q15.z, q22.y));
      a3_1 += vec4<f32>(v2 * vec4<A>(q29.x, q35.w, q42.z, q49.y));
    }
    { let ix = x0 + 0 * sx + 0; let ok = rin1 && ix >= 0 && ix <= wmax;
      let at = (row1 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a0_0 += vec4<f32>(v0 * vec4<A>(q2.y, q9.x, q15.w, q22.z));
      a0_1 += vec4<f32>(v0 * vec4<A>(q29.y, q36.x, q42.w, q49.z));
      a0_0 += vec4<f32>(v1 * vec4<A>(q2.z, q9.y, q16.x, q22.w));
      a0_1 += vec4<f32>(v1 * vec4<A>(q29.z, q36.y, q43.x, q49.w));
      a0_0 += vec4<f32>(v2 * vec4<A>(q2.w, q9.z, q16.y, q23.x));
      a0_1 += vec4<f32>(v2 * vec4<A>(q29.w, q36.z, q43.y, q50.x));
    }
    { let ix = x0 + 1 * sx + 0; let ok = rin1 && ix >= 0 && ix <= wmax;
      let at = (row1 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a1_0 += vec4<f32>(v0 * vec4<A>(q2.y, q9.x, q15.w, q22.z));
      a1_1 += vec4<f32>(v0 * vec4<A>(q29.y, q36.x, q42.w, q49.z));
      a1_0 += vec4<f32>(v1 * vec4<A>(q2.z, q9.y, q16.x, q22.w));
      a1_1 += vec4<f32>(v1 * vec4<A>(q29.z, q36.y, q43.x, q49.w));
      a1_0 += vec4<f32>(v2 * vec4<A>(q2.w, q9.z, q16.y, q23.x));
      a1_1 += vec4<f32>(v2 * vec4<A>(q29.w, q36.z, q43.y, q50.x));
    }
    { let ix = x0 + 2 * sx + 0; let ok = rin1 && ix >= 0 && ix <= wmax;
      let at = (row1 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a2_0 += vec4<f32>(v0 * vec4<A>(q2.y, q9.x, q15.w, q22.z));
      a2_1 += vec4<f32>(v0 * vec4<A>(q29.y, q36.x, q42.w, q49.z));
      a2_0 += vec4<f32>(v1 * vec4<A>(q2.z, q9.y, q16.x, q22.w));
      a2_1 += vec4<f32>(v1 * vec4<A>(q29.z, q36.y, q43.x, q49.w));
      a2_0 += vec4<f32>(v2 * vec4<A>(q2.w, q9.z, q16.y, q23.x));
      a2_1 += vec4<f32>(v2 * vec4<A>(q29.w, q36.z, q43.y, q50.x));
    }
    { let ix = x0 + 3 * sx + 0; let ok = rin1 && ix >= 0 && ix <= wmax;
      let at = (row1 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a3_0 += vec4<f32>(v0 * vec4<A>(q2.y, q9.x, q15.w, q22.z));
      a3_1 += vec4<f32>(v0 * vec4<A>(q29.y, q36.x, q42.w, q49.z));
      a3_0 += vec4<f32>(v1 * vec4<A>(q2.z, q9.y, q16.x, q22.w));
      a3_1 += vec4<f32>(v1 * vec4<A>(q29.z, q36.y, q43.x, q49.w));
      a3_0 += vec4<f32>(v2 * vec4<A>(q2.w, q9.z, q16.y, q23.x));
      a3_1 += vec4<f32>(v2 * vec4<A>(q29.w, q36.z, q43.y, q50.x));
    }
    { let ix = x0 + 0 * sx + 1; let ok = rin1 && ix >= 0 && ix <= wmax;
      let at = (row1 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a0_0 += vec4<f32>(v0 * vec4<A>(q3.x, q9.w, q16.z, q23.y));
      a0_1 += vec4<f32>(v0 * vec4<A>(q30.x, q36.w, q43.z, q50.y));
      a0_0 += vec4<f32>(v1 * vec4<A>(q3.y, q10.x, q16.w, q23.z));
      a0_1 += vec4<f32>(v1 * vec4<A>(q30.y, q37.x, q43.w, q50.z));
      a0_0 += vec4<f32>(v2 * vec4<A>(q3.z, q10.y, q17.x, q23.w));
      a0_1 += vec4<f32>(v2 * vec4<A>(q30.z, q37.y, q44.x, q50.w));
    }
    { let ix = x0 + 1 * sx + 1; let ok = rin1 && ix >= 0 && ix <= wmax;
      let at = (row1 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a1_0 += vec4<f32>(v0 * vec4<A>(q3.x, q9.w, q16.z, q23.y));
      a1_1 += vec4<f32>(v0 * vec4<A>(q30.x, q36.w, q43.z, q50.y));
      a1_0 += vec4<f32>(v1 * vec4<A>(q3.y, q10.x, q16.w, q23.z));
      a1_1 += vec4<f32>(v1 * vec4<A>(q30.y, q37.x, q43.w, q50.z));
      a1_0 += vec4<f32>(v2 * vec4<A>(q3.z, q10.y, q17.x, q23.w));
      a1_1 += vec4<f32>(v2 * vec4<A>(q30.z, q37.y, q44.x, q50.w));
    }
    { let ix = x0 + 2 * sx + 1; let ok = rin1 && ix >= 0 && ix <= wmax;
      let at = (row1 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a2_0 += vec4<f32>(v0 * vec4<A>(q3.x, q9.w, q16.z, q23.y));
      a2_1 += vec4<f32>(v0 * vec4<A>(q30.x, q36.w, q43.z, q50.y));
      a2_0 += vec4<f32>(v1 * vec4<A>(q3.y, q10.x, q16.w, q23.z));
      a2_1 += vec4<f32>(v1 * vec4<A>(q30.y, q37.x, q43.w, q50.z));
      a2_0 += vec4<f32>(v2 * vec4<A>(q3.z, q10.y, q17.x, q23.w));
      a2_1 += vec4<f32>(v2 * vec4<A>(q30.z, q37.y, q44.x, q50.w));
    }
    { let ix = x0 + 3 * sx + 1; let ok = rin1 && ix >= 0 && ix <= wmax;
      let at = (row1 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a3_0 += vec4<f32>(v0 * vec4<A>(q3.x, q9.w, q16.z, q23.y));
      a3_1 += vec4<f32>(v0 * vec4<A>(q30.x, q36.w, q43.z, q50.y));
      a3_0 += vec4<f32>(v1 * vec4<A>(q3.y, q10.x, q16.w, q23.z));
      a3_1 += vec4<f32>(v1 * vec4<A>(q30.y, q37.x, q43.w, q50.z));
      a3_0 += vec4<f32>(v2 * vec4<A>(q3.z, q10.y, q17.x, q23.w));
      a3_1 += vec4<f32>(v2 * vec4<A>(q30.z, q37.y, q44.x, q50.w));
    }
    { let ix = x0 + 0 * sx + 2; let ok = rin1 && ix >= 0 && ix <= wmax;
      let at = (row1 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a0_0 += vec4<f32>(v0 * vec4<A>(q3.w, q10.z, q17.y, q24.x));
      a0_1 += vec4<f32>(v0 * vec4<A>(q30.w, q37.z, q44.y, q51.x));
      a0_0 += vec4<f32>(v1 * vec4<A>(q4.x, q10.w, q17.z, q24.y));
      a0_1 += vec4<f32>(v1 * vec4<A>(q31.x, q37.w, q44.z, q51.y));
      a0_0 += vec4<f32>(v2 * vec4<A>(q4.y, q11.x, q17.w, q24.z));
      a0_1 += vec4<f32>(v2 * vec4<A>(q31.y, q38.x, q44.w, q51.z));
    }
    { let ix = x0 + 1 * sx + 2; let ok = rin1 && ix >= 0 && ix <= wmax;
      let at = (row1 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a1_0 += vec4<f32>(v0 * vec4<A>(q3.w, q10.z, q17.y, q24.x));
      a1_1 += vec4<f32>(v0 * vec4<A>(q30.w, q37.z, q44.y, q51.x));
      a1_0 += vec4<f32>(v1 * vec4<A>(q4.x, q10.w, q17.z, q24.y));
      a1_1 += vec4<f32>(v1 * vec4<A>(q31.x, q37.w, q44.z, q51.y));
      a1_0 += vec4<f32>(v2 * vec4<A>(q4.y, q11.x, q17.w, q24.z));
      a1_1 += vec4<f32>(v2 * vec4<A>(q31.y, q38.x, q44.w, q51.z));
    }
    { let ix = x0 + 2 * sx + 2; let ok = rin1 && ix >= 0 && ix <= wmax;
      let at = (row1 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a2_0 += vec4<f32>(v0 * vec4<A>(q3.w, q10.z, q17.y, q24.x));
      a2_1 += vec4<f32>(v0 * vec4<A>(q30.w, q37.z, q44.y, q51.x));
      a2_0 += vec4<f32>(v1 * vec4<A>(q4.x, q10.w, q17.z, q24.y));
      a2_1 += vec4<f32>(v1 * vec4<A>(q31.x, q37.w, q44.z, q51.y));
      a2_0 += vec4<f32>(v2 * vec4<A>(q4.y, q11.x, q17.w, q24.z));
      a2_1 += vec4<f32>(v2 * vec4<A>(q31.y, q38.x, q44.w, q51.z));
    }
    { let ix = x0 + 3 * sx + 2; let ok = rin1 && ix >= 0 && ix <= wmax;
      let at = (row1 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a3_0 += vec4<f32>(v0 * vec4<A>(q3.w, q10.z, q17.y, q24.x));
      a3_1 += vec4<f32>(v0 * vec4<A>(q30.w, q37.z, q44.y, q51.x));
      a3_0 += vec4<f32>(v1 * vec4<A>(q4.x, q10.w, q17.z, q24.y));
      a3_1 += vec4<f32>(v1 * vec4<A>(q31.x, q37.w, q44.z, q51.y));
      a3_0 += vec4<f32>(v2 * vec4<A>(q4.y, q11.x, q17.w, q24.z));
      a3_1 += vec4<f32>(v2 * vec4<A>(q31.y, q38.x, q44.w, q51.z));
    }
    { let ix = x0 + 0 * sx + 0; let ok = rin2 && ix >= 0 && ix <= wmax;
      let at = (row2 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a0_0 += vec4<f32>(v0 * vec4<A>(q4.z, q11.y, q18.x, q24.w));
      a0_1 += vec4<f32>(v0 * vec4<A>(q31.z, q38.y, q45.x, q51.w));
      a0_0 += vec4<f32>(v1 * vec4<A>(q4.w, q11.z, q18.y, q25.x));
      a0_1 += vec4<f32>(v1 * vec4<A>(q31.w, q38.z, q45.y, q52.x));
      a0_0 += vec4<f32>(v2 * vec4<A>(q5.x, q11.w, q18.z, q25.y));
      a0_1 += vec4<f32>(v2 * vec4<A>(q32.x, q38.w, q45.z, q52.y));
    }
    { let ix = x0 + 1 * sx + 0; let ok = rin2 && ix >= 0 && ix <= wmax;
      let at = (row2 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a1_0 += vec4<f32>(v0 * vec4<A>(q4.z, q11.y, q18.x, q24.w));
      a1_1 += vec4<f32>(v0 * vec4<A>(q31.z, q38.y, q45.x, q51.w));
      a1_0 += vec4<f32>(v1 * vec4<A>(q4.w, q11.z, q18.y, q25.x));
      a1_1 += vec4<f32>(v1 * vec4<A>(q31.w, q38.z, q45.y, q52.x));
      a1_0 += vec4<f32>(v2 * vec4<A>(q5.x, q11.w, q18.z, q25.y));
      a1_1 += vec4<f32>(v2 * vec4<A>(q32.x, q38.w, q45.z, q52.y));
    }
    { let ix = x0 + 2 * sx + 0; let ok = rin2 && ix >= 0 && ix <= wmax;
      let at = (row2 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a2_0 += vec4<f32>(v0 * vec4<A>(q4.z, q11.y, q18.x, q24.w));
      a2_1 += vec4<f32>(v0 * vec4<A>(q31.z, q38.y, q45.x, q51.w));
      a2_0 += vec4<f32>(v1 * vec4<A>(q4.w, q11.z, q18.y, q25.x));
      a2_1 += vec4<f32>(v1 * vec4<A>(q31.w, q38.z, q45.y, q52.x));
      a2_0 += vec4<f32>(v2 * vec4<A>(q5.x, q11.w, q18.z, q25.y));
      a2_1 += vec4<f32>(v2 * vec4<A>(q32.x, q38.w, q45.z, q52.y));
    }
    { let ix = x0 + 3 * sx + 0; let ok = rin2 && ix >= 0 && ix <= wmax;
      let at = (row2 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a3_0 += vec4<f32>(v0 * vec4<A>(q4.z, q11.y, q18.x, q24.w));
      a3_1 += vec4<f32>(v0 * vec4<A>(q31.z, q38.y, q45.x, q51.w));
      a3_0 += vec4<f32>(v1 * vec4<A>(q4.w, q11.z, q18.y, q25.x));
      a3_1 += vec4<f32>(v1 * vec4<A>(q31.w, q38.z, q45.y, q52.x));
      a3_0 += vec4<f32>(v2 * vec4<A>(q5.x, q11.w, q18.z, q25.y));
      a3_1 += vec4<f32>(v2 * vec4<A>(q32.x, q38.w, q45.z, q52.y));
    }
    { let ix = x0 + 0 * sx + 1; let ok = rin2 && ix >= 0 && ix <= wmax;
      let at = (row2 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a0_0 += vec4<f32>(v0 * vec4<A>(q5.y, q12.x, q18.w, q25.z));
      a0_1 += vec4<f32>(v0 * vec4<A>(q32.y, q39.x, q45.w, q52.z));
      a0_0 += vec4<f32>(v1 * vec4<A>(q5.z, q12.y, q19.x, q25.w));
      a0_1 += vec4<f32>(v1 * vec4<A>(q32.z, q39.y, q46.x, q52.w));
      a0_0 += vec4<f32>(v2 * vec4<A>(q5.w, q12.z, q19.y, q26.x));
      a0_1 += vec4<f32>(v2 * vec4<A>(q32.w, q39.z, q46.y, q53.x));
    }
    { let ix = x0 + 1 * sx + 1; let ok = rin2 && ix >= 0 && ix <= wmax;
      let at = (row2 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a1_0 += vec4<f32>(v0 * vec4<A>(q5.y, q12.x, q18.w, q25.z));
      a1_1 += vec4<f32>(v0 * vec4<A>(q32.y, q39.x, q45.w, q52.z));
      a1_0 += vec4<f32>(v1 * vec4<A>(q5.z, q12.y, q19.x, q25.w));
      a1_1 += vec4<f32>(v1 * vec4<A>(q32.z, q39.y, q46.x, q52.w));
      a1_0 += vec4<f32>(v2 * vec4<A>(q5.w, q12.z, q19.y, q26.x));
      a1_1 += vec4<f32>(v2 * vec4<A>(q32.w, q39.z, q46.y, q53.x));
    }
    { let ix = x0 + 2 * sx + 1; let ok = rin2 && ix >= 0 && ix <= wmax;
      let at = (row2 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a2_0 += vec4<f32>(v0 * vec4<A>(q5.y, q12.x, q18.w, q25.z));
      a2_1 += vec4<f32>(v0 * vec4<A>(q32.y, q39.x, q45.w, q52.z));
      a2_0 += vec4<f32>(v1 * vec4<A>(q5.z, q12.y, q19.x, q25.w));
      a2_1 += vec4<f32>(v1 * vec4<A>(q32.z, q39.y, q46.x, q52.w));
      a2_0 += vec4<f32>(v2 * vec4<A>(q5.w, q12.z, q19.y, q26.x));
      a2_1 += vec4<f32>(v2 * vec4<A>(q32.w, q39.z, q46.y, q53.x));
    }
    { let ix = x0 + 3 * sx + 1; let ok = rin2 && ix >= 0 && ix <= wmax;
      let at = (row2 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a3_0 += vec4<f32>(v0 * vec4<A>(q5.y, q12.x, q18.w, q25.z));
      a3_1 += vec4<f32>(v0 * vec4<A>(q32.y, q39.x, q45.w, q52.z));
      a3_0 += vec4<f32>(v1 * vec4<A>(q5.z, q12.y, q19.x, q25.w));
      a3_1 += vec4<f32>(v1 * vec4<A>(q32.z, q39.y, q46.x, q52.w));
      a3_0 += vec4<f32>(v2 * vec4<A>(q5.w, q12.z, q19.y, q26.x));
      a3_1 += vec4<f32>(v2 * vec4<A>(q32.w, q39.z, q46.y, q53.x));
    }
    { let ix = x0 + 0 * sx + 2; let ok = rin2 && ix >= 0 && ix <= wmax;
      let at = (row2 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a0_0 += vec4<f32>(v0 * vec4<A>(q6.x, q12.w, q19.z, q26.y));
      a0_1 += vec4<f32>(v0 * vec4<A>(q33.x, q39.w, q46.z, q53.y));
      a0_0 += vec4<f32>(v1 * vec4<A>(q6.y, q13.x, q19.w, q26.z));
      a0_1 += vec4<f32>(v1 * vec4<A>(q33.y, q40.x, q46.w, q53.z));
      a0_0 += vec4<f32>(v2 * vec4<A>(q6.z, q13.y, q20.x, q26.w));
      a0_1 += vec4<f32>(v2 * vec4<A>(q33.z, q40.y, q47.x, q53.w));
    }
    { let ix = x0 + 1 * sx + 2; let ok = rin2 && ix >= 0 && ix <= wmax;
      let at = (row2 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a1_0 += vec4<f32>(v0 * vec4<A>(q6.x, q12.w, q19.z, q26.y));
      a1_1 += vec4<f32>(v0 * vec4<A>(q33.x, q39.w, q46.z, q53.y));
      a1_0 += vec4<f32>(v1 * vec4<A>(q6.y, q13.x, q19.w, q26.z));
      a1_1 += vec4<f32>(v1 * vec4<A>(q33.y, q40.x, q46.w, q53.z));
      a1_0 += vec4<f32>(v2 * vec4<A>(q6.z, q13.y, q20.x, q26.w));
      a1_1 += vec4<f32>(v2 * vec4<A>(q33.z, q40.y, q47.x, q53.w));
    }
    { let ix = x0 + 2 * sx + 2; let ok = rin2 && ix >= 0 && ix <= wmax;
      let at = (row2 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a2_0 += vec4<f32>(v0 * vec4<A>(q6.x, q12.w, q19.z, q26.y));
      a2_1 += vec4<f32>(v0 * vec4<A>(q33.x, q39.w, q46.z, q53.y));
      a2_0 += vec4<f32>(v1 * vec4<A>(q6.y, q13.x, q19.w, q26.z));
      a2_1 += vec4<f32>(v1 * vec4<A>(q33.y, q40.x, q46.w, q53.z));
      a2_0 += vec4<f32>(v2 * vec4<A>(q6.z, q13.y, q20.x, q26.w));
      a2_1 += vec4<f32>(v2 * vec4<A>(q33.z, q40.y, q47.x, q53.w));
    }
    { let ix = x0 + 3 * sx + 2; let ok = rin2 && ix >= 0 && ix <= wmax;
      let at = (row2 + u32(clamp(ix, 0, wmax))) * 3u;
      let v0 = select(A(0.0), A(x[at + 0u]), ok);
      let v1 = select(A(0.0), A(x[at + 1u]), ok);
      let v2 = select(A(0.0), A(x[at + 2u]), ok);
      a3_0 += vec4<f32>(v0 * vec4<A>(q6.x, q12.w, q19.z, q26.y));
      a3_1 += vec4<f32>(v0 * vec4<A>(q33.x, q39.w, q46.z, q53.y));
      a3_0 += vec4<f32>(v1 * vec4<A>(q6.y, q13.x, q19.w, q26.z));
      a3_1 += vec4<f32>(v1 * vec4<A>(q33.y, q40.x, q46.w, q53.z));
      a3_0 += vec4<f32>(v2 * vec4<A>(q6.z, q13.y, q20.x, q26.w));
      a3_1 += vec4<f32>(v2 * vec4<A>(q33.z, q40.y, q47.x, q53.w));
    }
    let oc4 = p.out_c / 4u;
    let base = ((n * p.out_h + oy) * p.out_w + ox0) * oc4 + c4;
    if (ox0 + 0u < p.out_w) {
        store_v4(base + 0u * oc4 + 0u, a0_0);
        store_v4(base + 0u * oc4 + 1u, a0_1);
    }
    if (ox0 + 1u < p.out_w) {
        store_v4(base + 1u * oc4 + 0u, a1_0);
        store_v4(base + 1u * oc4 + 1u, a1_1);
    }
    if (ox0 + 2u < p.out_w) {
        store_v4(base + 2u * oc4 + 0u, a2_0);
        store_v4(base + 2u * oc4 + 1u, a2_1);
    }
    if (ox0 + 3u < p.out_w) {
        store_v4(base + 3u * oc4 + 0u, a3_0);
        store_v4(base + 3u * oc4 + 1u, a3_1);
    }
}
