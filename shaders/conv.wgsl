// Convolutions: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV. NHWC activations;
// filters OHWI (CONV_2D, TRANSPOSE_CONV), [1, H, W, C] (DEPTHWISE), [out, in] (FULLY_CONNECTED).
// Bias and the fused activation are applied in the same pass.
// Products are summed in A over short runs (one filter tap, or 16 input channels), and the runs
// are added in f32: in F16 mode most arithmetic stays f16 while long reductions do not lose
// precision with their length.

struct Conv {
    in_h: u32, in_w: u32, in_c: u32, batch: u32,
    out_h: u32, out_w: u32, out_c: u32, depth_mult: u32,
    k_h: u32, k_w: u32, stride_h: u32, stride_w: u32,
    dil_h: u32, dil_w: u32, pad_top: i32, pad_left: i32,
    act: u32, has_bias: u32, co_groups: u32, _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Conv;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> w: array<T>;
@group(0) @binding(3) var<storage, read> bias: array<T>;
@group(0) @binding(4) var<storage, read_write> y: array<T>;

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

// One invocation: one output pixel, four output channels.
// grid: x = out_w, y = out_h, z = batch * co_groups.
@compute @workgroup_size(8, 8, 1)
fn conv2d(@builtin(global_invocation_id) gid: vec3<u32>) {
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
        let iy = i32(oy * p.stride_h + ky * p.dil_h) - p.pad_top;
        if (iy < 0 || iy >= i32(p.in_h)) { continue; }
        for (var kx = 0u; kx < p.k_w; kx++) {
            let ix = i32(ox * p.stride_w + kx * p.dil_w) - p.pad_left;
            if (ix < 0 || ix >= i32(p.in_w)) { continue; }
            let xb = ((n * p.in_h + u32(iy)) * p.in_w + u32(ix)) * p.in_c;
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

// 1x1, stride 1, no padding: a matrix product [pixels, in_c] x [out_c, in_c]^T.
// One invocation: four consecutive pixels, four output channels.
// grid: x = ceil(pixels / 4), y = co_groups.
@compute @workgroup_size(64, 1, 1)
fn conv2d_1x1(@builtin(global_invocation_id) gid: vec3<u32>) {
    let pixels = p.batch * p.out_h * p.out_w;
    let p0 = gid.x * 4u;
    if (p0 >= pixels || gid.y >= p.co_groups) { return; }
    let co = gid.y * 4u;
    let b = vec4<f32>(bias4(co));
    var a0 = b; var a1 = b; var a2 = b; var a3 = b;
    let q1 = min(p0 + 1u, pixels - 1u);
    let q2 = min(p0 + 2u, pixels - 1u);
    let q3 = min(p0 + 3u, pixels - 1u);
    let c1 = min(co + 1u, p.out_c - 1u);
    let c2 = min(co + 2u, p.out_c - 1u);
    let c3 = min(co + 3u, p.out_c - 1u);
    for (var c0 = 0u; c0 < p.in_c; c0 += 16u) {
        var s0 = vec4<A>(A(0.0)); var s1 = s0; var s2 = s0; var s3 = s0;
        for (var ci = c0; ci < min(c0 + 16u, p.in_c); ci++) {
            let wv = vec4<A>(A(w[co * p.in_c + ci]), A(w[c1 * p.in_c + ci]),
                             A(w[c2 * p.in_c + ci]), A(w[c3 * p.in_c + ci]));
            s0 += A(x[p0 * p.in_c + ci]) * wv;
            s1 += A(x[q1 * p.in_c + ci]) * wv;
            s2 += A(x[q2 * p.in_c + ci]) * wv;
            s3 += A(x[q3 * p.in_c + ci]) * wv;
        }
        a0 += vec4<f32>(s0); a1 += vec4<f32>(s1); a2 += vec4<f32>(s2); a3 += vec4<f32>(s3);
    }
    store4(p0 * p.out_c, co, vec4<A>(a0));
    if (p0 + 1u < pixels) { store4(q1 * p.out_c, co, vec4<A>(a1)); }
    if (p0 + 2u < pixels) { store4(q2 * p.out_c, co, vec4<A>(a2)); }
    if (p0 + 3u < pixels) { store4(q3 * p.out_c, co, vec4<A>(a3)); }
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
