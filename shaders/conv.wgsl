// Convolutions: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV. NHWC activations;
// filters OHWI (CONV_2D, TRANSPOSE_CONV), [1, H, W, C] (DEPTHWISE), [out, in] (FULLY_CONNECTED).
// Bias and the fused activation are applied in the same pass; the 1x1 kernels can also add a
// residual operand (an ADD folded into the convolution, see `Conv.res`) and apply a PRELU
// (see `EPI_RESIDUAL`).
// Products are summed in A over short runs (one filter tap, or 16 input channels), and the runs
// are added in f32: in F16 mode most arithmetic stays f16 while long reductions do not lose
// precision with their length.
// The register-blocked, fully unrolled kernels are generated (src/gpu/gen_unrolled.rs) into
// conv_unrolled.wgsl and conv_subgroup_unrolled.wgsl; each module appends one of them to this
// file, which holds the parameters, bindings, helpers and the loop-based kernels.

struct Conv {
    in_h: u32, in_w: u32, in_c: u32, batch: u32,
    out_h: u32, out_w: u32, out_c: u32, depth_mult: u32,
    k_h: u32, k_w: u32, stride_h: u32, stride_w: u32,
    dil_h: u32, dil_w: u32, pad_top: i32, pad_left: i32,
    act: u32, has_bias: u32, co_groups: u32,
    // The 1x1 kernels' `_res` (and `_any`) entry points: 1 + the activation code of a
    // residual ADD folded into the convolution (its other operand is `resid`, read at the
    // output's index) in bits 0..4, its channel count above; 0 for none.
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
// The slopes of a PRELU folded into a convolution kernel (1x1, general, RGB), one per output
// channel; a placeholder for the entry points without one.
@group(0) @binding(6) var<storage, read_write> alpha: array<T>;
@group(0) @binding(6) var<storage, read_write> alpha4: array<vec4<T>>;

// What a 1x1, general or RGB convolution kernel does after its activation (the general and
// RGB ones only the PRELU): bits of a constant argument of its body (each entry point passes
// its own, so no kernel keeps a branch for what it does not do). Add the residual operand of a
// folded ADD, then apply a folded PRELU.
const EPI_RESIDUAL: u32 = 1u;
const EPI_PRELU: u32 = 2u;

// `EPI_RESIDUAL` when this dispatch adds a residual operand (`Conv.res`): the 1x1 kernels'
// `_any` entry points, which serve layers with and without a folded ADD.
fn residual_epi() -> u32 {
    return select(0u, EPI_RESIDUAL, p.res != 0u);
}

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

// A folded PRELU of channels 4 * `c4`.. (or channel `c`), applied to `r` rounded to the storage
// type as the separate PRELU would have read it.
fn prelu4(c4: u32, r: vec4<A>) -> vec4<A> {
    let u = vec4<A>(vec4<T>(r));
    return select(u * vec4<A>(alpha4[c4]), u, u >= vec4<A>(A(0.0)));
}

fn prelu1(c: u32, r: A) -> A {
    let u = A(T(r));
    return select(u * A(alpha[c]), u, u >= A(0.0));
}

// store_v4 for the 1x1 kernels (`at` = px * out_c / 4 + c4), with the `epi` bits (`EPI_RESIDUAL`, `EPI_PRELU`).
fn store_1x1_v4(at: u32, px: u32, c4: u32, v: vec4<f32>, epi: u32) {
    var r = activate4(vec4<A>(v), p.act);
    if ((epi & EPI_RESIDUAL) != 0u) { r = residual4(px, c4, r); }
    if ((epi & EPI_PRELU) != 0u) { r = prelu4(c4, r); }
    y4[at] = vec4<T>(r);
}

// store4 for the 1x1 and general kernels: channels co.. of pixel px, with the `epi` bits
// (`EPI_RESIDUAL`, `EPI_PRELU`).
fn store4_1x1(px: u32, co: u32, v: vec4<A>, epi: u32) {
    let r = activate4(v, p.act);
    let base = px * p.out_c;
    // A trip count the compiler cannot unroll: unrolled, the stores of the 8 x 8 and 4 x 16
    // blocks (16 calls) made lavapipe's pipeline creation twice as slow.
    let count = min(4u, p.out_c - min(co, p.out_c));
    for (var j = 0u; j < count; j++) {
        var o = r[j];
        if ((epi & EPI_RESIDUAL) != 0u) { o = residual1(px, co + j, o); }
        if ((epi & EPI_PRELU) != 0u) { o = prelu1(co + j, o); }
        y[base + co + j] = T(o);
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

// Where an invocation of the depthwise vector kernels writes: channel vector c4 (x), the block
// of 4 columns from ox0 (y), and `rows` rows from oy of image n (z); live unless past the end.
struct RowBlock { c4: u32, ox0: u32, n: u32, oy: u32, live: bool }

fn row_block(gid: vec3<u32>, rows: u32) -> RowBlock {
    let blocks = (p.out_h + rows - 1u) / rows;
    var b: RowBlock;
    b.c4 = gid.x;
    b.ox0 = gid.y * 4u;
    b.n = gid.z / blocks;
    b.oy = (gid.z % blocks) * rows;
    b.live = b.c4 < p.co_groups && b.ox0 < p.out_w && b.n < p.batch;
    return b;
}

// One row of a 5x5 depthwise filter, four channels per vector.
struct Row5 { k0: vec4<A>, k1: vec4<A>, k2: vec4<A>, k3: vec4<A>, k4: vec4<A> }

// Row r of the 5x5 depthwise filter for channels 4 * c4..; zero past the last row, so a row
// that a step does not use adds nothing.
fn filter_row5(r: u32, c4: u32) -> Row5 {
    var k: Row5;
    if (r < 5u) {
        let C4 = p.co_groups;
        let wb = r * 5u * C4 + c4;
        k = Row5(vec4<A>(w4[wb]), vec4<A>(w4[wb + C4]), vec4<A>(w4[wb + 2u * C4]),
                 vec4<A>(w4[wb + 3u * C4]), vec4<A>(w4[wb + 4u * C4]));
    }
    return k;
}

// The five taps of filter row `k` over input columns a..e.
fn taps5(a: vec4<A>, b: vec4<A>, c: vec4<A>, d: vec4<A>, e: vec4<A>, k: Row5) -> vec4<f32> {
    return vec4<f32>(a * k.k0 + b * k.k1 + c * k.k2 + d * k.k3 + e * k.k4);
}

// A 5x5 depthwise convolution at stride 1, dilation 1 (multiplier 1, channels % 4 == 0): 2
// output rows x 4 neighbouring pixels (along x) x four channels per invocation, channel vectors
// across lanes; each of the 6 input rows' 8 columns is loaded once for the pixels' taps, and
// each filter row once (kept for the second output row in the next step).
// grid: x = channels / 4, y = ceil(out_w / 4), z = batch * ceil(out_h / 2).
@compute @workgroup_size(8, 8, 1)
fn depthwise5x5_s1_v4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let at = row_block(gid, 2u);
    if (!at.live) { return; }
    let c4 = at.c4; let ox0 = at.ox0; let n = at.n; let oy = at.oy;
    let b = bias_v4(c4);
    var a0 = b; var a1 = b; var a2 = b; var a3 = b;
    var d0 = b; var d1 = b; var d2 = b; var d3 = b;
    // Filter row r - 1, for the second output row.
    var q: Row5;
    let ix = i32(ox0) - p.pad_left;
    for (var r = 0u; r < 6u; r++) {
        let k = filter_row5(r, c4);
        let iy = i32(oy + r) - p.pad_top;
        if (iy >= 0 && iy < i32(p.in_h)) {
            let row = (n * p.in_h + u32(iy)) * p.in_w;
            let v0 = column_v4(row, ix, c4); let v1 = column_v4(row, ix + 1, c4);
            let v2 = column_v4(row, ix + 2, c4); let v3 = column_v4(row, ix + 3, c4);
            let v4 = column_v4(row, ix + 4, c4); let v5 = column_v4(row, ix + 5, c4);
            let v6 = column_v4(row, ix + 6, c4); let v7 = column_v4(row, ix + 7, c4);
            if (r < 5u) {
                a0 += taps5(v0, v1, v2, v3, v4, k); a1 += taps5(v1, v2, v3, v4, v5, k);
                a2 += taps5(v2, v3, v4, v5, v6, k); a3 += taps5(v3, v4, v5, v6, v7, k);
            }
            if (r > 0u) {
                d0 += taps5(v0, v1, v2, v3, v4, q); d1 += taps5(v1, v2, v3, v4, v5, q);
                d2 += taps5(v2, v3, v4, v5, v6, q); d3 += taps5(v3, v4, v5, v6, v7, q);
            }
        }
        q = k;
    }
    store_row_v4(n, oy, ox0, c4, a0, a1, a2, a3);
    if (oy + 1u < p.out_h) { store_row_v4(n, oy + 1u, ox0, c4, d0, d1, d2, d3); }
}

// depthwise5x5_s1_v4 at stride 2: 2 output rows x 4 pixels per invocation; each of the 7
// input rows' 11 columns is loaded once for both rows' taps, and each filter row once (kept two
// steps for the second output row).
// grid: x = channels / 4, y = ceil(out_w / 4), z = batch * ceil(out_h / 2).
@compute @workgroup_size(8, 8, 1)
fn depthwise5x5_s2_v4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let at = row_block(gid, 2u);
    if (!at.live) { return; }
    let c4 = at.c4; let ox0 = at.ox0; let n = at.n; let oy = at.oy;
    let b = bias_v4(c4);
    var a0 = b; var a1 = b; var a2 = b; var a3 = b;
    var d0 = b; var d1 = b; var d2 = b; var d3 = b;
    // Filter rows r - 1 and r - 2; the second output row uses r - 2.
    var q: Row5;
    var u: Row5;
    let ix = i32(ox0 * 2u) - p.pad_left;
    for (var r = 0u; r < 7u; r++) {
        let k = filter_row5(r, c4);
        let iy = i32(oy * 2u + r) - p.pad_top;
        if (iy >= 0 && iy < i32(p.in_h)) {
            let row = (n * p.in_h + u32(iy)) * p.in_w;
            let v0 = column_v4(row, ix, c4); let v1 = column_v4(row, ix + 1, c4);
            let v2 = column_v4(row, ix + 2, c4); let v3 = column_v4(row, ix + 3, c4);
            let v4 = column_v4(row, ix + 4, c4); let v5 = column_v4(row, ix + 5, c4);
            let v6 = column_v4(row, ix + 6, c4); let v7 = column_v4(row, ix + 7, c4);
            let v8 = column_v4(row, ix + 8, c4); let v9 = column_v4(row, ix + 9, c4);
            let v10 = column_v4(row, ix + 10, c4);
            if (r < 5u) {
                a0 += taps5(v0, v1, v2, v3, v4, k); a1 += taps5(v2, v3, v4, v5, v6, k);
                a2 += taps5(v4, v5, v6, v7, v8, k); a3 += taps5(v6, v7, v8, v9, v10, k);
            }
            if (r >= 2u) {
                d0 += taps5(v0, v1, v2, v3, v4, u); d1 += taps5(v2, v3, v4, v5, v6, u);
                d2 += taps5(v4, v5, v6, v7, v8, u); d3 += taps5(v6, v7, v8, v9, v10, u);
            }
        }
        u = q;
        q = k;
    }
    store_row_v4(n, oy, ox0, c4, a0, a1, a2, a3);
    if (oy + 1u < p.out_h) { store_row_v4(n, oy + 1u, ox0, c4, d0, d1, d2, d3); }
}

// Any depthwise convolution with depth multiplier 1 and channels % 4 == 0 (any kernel, stride,
// dilation, padding): 4 neighbouring output pixels (along x) x four channels per invocation,
// channel vectors across lanes; one filter vector load per tap serves the 4 pixels.
// grid: x = channels / 4, y = ceil(out_w / 4), z = batch * out_h.
@compute @workgroup_size(8, 8, 1)
fn depthwise_v4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let at = row_block(gid, 1u);
    if (!at.live) { return; }
    let c4 = at.c4; let ox0 = at.ox0; let n = at.n; let oy = at.oy;
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
    conv2d_1x1_tiled_body(gid, 0u);
}

// conv2d_1x1_tiled with a residual ADD, a PRELU or both folded in (see `EPI_RESIDUAL`).
@compute @workgroup_size(64, 1, 1)
fn conv2d_1x1_tiled_res(@builtin(global_invocation_id) gid: vec3<u32>) {
    conv2d_1x1_tiled_body(gid, EPI_RESIDUAL);
}

@compute @workgroup_size(64, 1, 1)
fn conv2d_1x1_tiled_prelu(@builtin(global_invocation_id) gid: vec3<u32>) {
    conv2d_1x1_tiled_body(gid, EPI_PRELU);
}

@compute @workgroup_size(64, 1, 1)
fn conv2d_1x1_tiled_res_prelu(@builtin(global_invocation_id) gid: vec3<u32>) {
    conv2d_1x1_tiled_body(gid, EPI_RESIDUAL | EPI_PRELU);
}

@compute @workgroup_size(64, 1, 1)
fn conv2d_1x1_tiled_any(@builtin(global_invocation_id) gid: vec3<u32>) {
    conv2d_1x1_tiled_body(gid, residual_epi());
}

@compute @workgroup_size(64, 1, 1)
fn conv2d_1x1_tiled_any_prelu(@builtin(global_invocation_id) gid: vec3<u32>) {
    conv2d_1x1_tiled_body(gid, residual_epi() | EPI_PRELU);
}

fn conv2d_1x1_tiled_body(gid: vec3<u32>, epi: u32) {
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
    store_pair(p0, pixels, co, l0, h0, epi);
    store_pair(p0 + 1u, pixels, co, l1, h1, epi);
    store_pair(p0 + 2u, pixels, co, l2, h2, epi);
    store_pair(p0 + 3u, pixels, co, l3, h3, epi);
    store_pair(p0 + 4u, pixels, co, l4, h4, epi);
    store_pair(p0 + 5u, pixels, co, l5, h5, epi);
    store_pair(p0 + 6u, pixels, co, l6, h6, epi);
    store_pair(p0 + 7u, pixels, co, l7, h7, epi);
}

fn store_pair(px: u32, pixels: u32, co: u32, lo: vec4<f32>, hi: vec4<f32>, epi: u32) {
    if (px < pixels) {
        store4_1x1(px, co, vec4<A>(lo), epi);
        if (co + 4u < p.out_c) { store4_1x1(px, co + 4u, vec4<A>(hi), epi); }
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
    conv2d_tiled_body(gid, 0u);
}

// conv2d_tiled with a PRELU folded in (see `EPI_PRELU`).
@compute @workgroup_size(8, 8, 1)
fn conv2d_tiled_prelu(@builtin(global_invocation_id) gid: vec3<u32>) {
    conv2d_tiled_body(gid, EPI_PRELU);
}

fn conv2d_tiled_body(gid: vec3<u32>, epi: u32) {
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
        store4_1x1(base + j, co, vec4<A>(lo), epi);
        if (co + 4u < p.out_c) { store4_1x1(base + j, co + 4u, vec4<A>(hi), epi); }
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
    let at = row_block(gid, 2u);
    if (!at.live) { return; }
    let c4 = at.c4; let ox0 = at.ox0; let n = at.n; let oy = at.oy;
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

// depthwise3x3_s2 with vector loads and stores (channels % 4 == 0), two output rows per
// invocation: the input row they share is loaded once, as is each filter row.
// grid: x = channels / 4, y = ceil(out_w / 4), z = batch * ceil(out_h / 2).
@compute @workgroup_size(8, 8, 1)
fn depthwise3x3_s2_v4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let at = row_block(gid, 2u);
    if (!at.live) { return; }
    let c4 = at.c4; let ox0 = at.ox0; let n = at.n; let oy = at.oy;
    let C4 = p.co_groups;
    let k0 = vec4<A>(w4[c4]); let k1 = vec4<A>(w4[C4 + c4]); let k2 = vec4<A>(w4[2u * C4 + c4]);
    let k3 = vec4<A>(w4[3u * C4 + c4]); let k4 = vec4<A>(w4[4u * C4 + c4]); let k5 = vec4<A>(w4[5u * C4 + c4]);
    let k6 = vec4<A>(w4[6u * C4 + c4]); let k7 = vec4<A>(w4[7u * C4 + c4]); let k8 = vec4<A>(w4[8u * C4 + c4]);
    let b = bias_v4(c4);
    var a0 = b; var a1 = b; var a2 = b; var a3 = b;
    var d0 = b; var d1 = b; var d2 = b; var d3 = b;
    let ix = i32(ox0 * 2u) - p.pad_left;
    // Input rows 2 * oy .. 2 * oy + 4: filter row r for the first output row, r - 2 for the
    // second.
    for (var r = 0u; r < 5u; r++) {
        let iy = i32(oy * 2u + r) - p.pad_top;
        if (iy < 0 || iy >= i32(p.in_h)) { continue; }
        let row = (n * p.in_h + u32(iy)) * p.in_w;
        let c0 = column_v4(row, ix, c4); let c1 = column_v4(row, ix + 1, c4);
        let c2 = column_v4(row, ix + 2, c4); let c3 = column_v4(row, ix + 3, c4);
        let c4_ = column_v4(row, ix + 4, c4); let c5 = column_v4(row, ix + 5, c4);
        let c6 = column_v4(row, ix + 6, c4); let c7 = column_v4(row, ix + 7, c4);
        let c8 = column_v4(row, ix + 8, c4);
        if (r < 3u) {
            var t0 = k0; var t1 = k1; var t2 = k2;
            if (r == 1u) { t0 = k3; t1 = k4; t2 = k5; }
            if (r == 2u) { t0 = k6; t1 = k7; t2 = k8; }
            a0 += vec4<f32>(c0 * t0 + c1 * t1 + c2 * t2);
            a1 += vec4<f32>(c2 * t0 + c3 * t1 + c4_ * t2);
            a2 += vec4<f32>(c4_ * t0 + c5 * t1 + c6 * t2);
            a3 += vec4<f32>(c6 * t0 + c7 * t1 + c8 * t2);
        }
        if (r >= 2u) {
            var t0 = k0; var t1 = k1; var t2 = k2;
            if (r == 3u) { t0 = k3; t1 = k4; t2 = k5; }
            if (r == 4u) { t0 = k6; t1 = k7; t2 = k8; }
            d0 += vec4<f32>(c0 * t0 + c1 * t1 + c2 * t2);
            d1 += vec4<f32>(c2 * t0 + c3 * t1 + c4_ * t2);
            d2 += vec4<f32>(c4_ * t0 + c5 * t1 + c6 * t2);
            d3 += vec4<f32>(c6 * t0 + c7 * t1 + c8 * t2);
        }
    }
    store_row_v4(n, oy, ox0, c4, a0, a1, a2, a3);
    if (oy + 1u < p.out_h) { store_row_v4(n, oy + 1u, ox0, c4, d0, d1, d2, d3); }
}
