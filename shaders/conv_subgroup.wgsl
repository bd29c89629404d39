// Convolution kernels that broadcast filter values across a subgroup, written as loops (the
// unrolled ones are generated into conv_subgroup_unrolled.wgsl). Appended to conv.wgsl (its
// `Conv` parameters, bindings and helpers); compiled only on devices with subgroups of at
// least 8 lanes.

// Any convolution: 4 neighbouring output pixels (along x) x 16 output channels per invocation.
// Per filter tap and input channel, lane j loads output channels j and j + 8's weights and
// broadcasts them (two loads where conv2d_tiled makes sixteen). The pixel blocks of all rows are
// numbered in one sequence across the lanes (x), so narrow images still fill the lanes.
// grid: x = out_h * ceil(out_w / 4), y = ceil(out_c / 16), z = batch; workgroup 64 x 1 x 1.
@compute @workgroup_size(64, 1, 1)
fn conv2d_tiled_sg(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
    conv2d_tiled_sg_body(gid, sid, 0u);
}

// conv2d_tiled_sg with a PRELU folded in (see `EPI_PRELU`).
@compute @workgroup_size(64, 1, 1)
fn conv2d_tiled_sg_prelu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
    conv2d_tiled_sg_body(gid, sid, EPI_PRELU);
}

fn conv2d_tiled_sg_body(gid: vec3<u32>, sid: u32, epi: u32) {
    let xblocks = (p.out_w + 3u) / 4u;
    let blocks = p.out_h * xblocks;
    let co = gid.y * 16u;
    let n = gid.z;
    if (co >= p.out_c || n >= p.batch || (gid.x & ~7u) >= blocks) { return; }
    let block = min(gid.x, blocks - 1u);
    let oy = block / xblocks;
    let ox0 = (block % xblocks) * 4u;
    let ks = p.k_h * p.k_w * p.in_c;
    let wj = min(co + sid % 8u, p.out_c - 1u) * ks;
    let wk = min(co + 8u + sid % 8u, p.out_c - 1u) * ks;
    let b0 = vec4<f32>(bias4(co)); let b1 = vec4<f32>(bias4(co + 4u));
    let b2 = vec4<f32>(bias4(co + 8u)); let b3 = vec4<f32>(bias4(co + 12u));
    var a0_0 = b0; var a1_0 = b0; var a2_0 = b0; var a3_0 = b0;
    var a0_1 = b1; var a1_1 = b1; var a2_1 = b1; var a3_1 = b1;
    var a0_2 = b2; var a1_2 = b2; var a2_2 = b2; var a3_2 = b2;
    var a0_3 = b3; var a1_3 = b3; var a2_3 = b3; var a3_3 = b3;
    let step = i32(p.stride_w);
    let wmax = i32(p.in_w) - 1;
    for (var ky = 0u; ky < p.k_h; ky++) {
        let iy = i32(oy * p.stride_h + ky * p.dil_h) - p.pad_top;
        let rin = iy >= 0 && iy < i32(p.in_h);
        let row = (n * p.in_h + u32(clamp(iy, 0, i32(p.in_h) - 1))) * p.in_w;
        for (var kx = 0u; kx < p.k_w; kx++) {
            let ix = i32(ox0 * p.stride_w + kx * p.dil_w) - p.pad_left;
            let in0 = rin && ix >= 0 && ix <= wmax;
            let in1 = rin && ix + step >= 0 && ix + step <= wmax;
            let in2 = rin && ix + 2 * step >= 0 && ix + 2 * step <= wmax;
            let in3 = rin && ix + 3 * step >= 0 && ix + 3 * step <= wmax;
            let x0 = (row + u32(clamp(ix, 0, wmax))) * p.in_c;
            let x1 = (row + u32(clamp(ix + step, 0, wmax))) * p.in_c;
            let x2 = (row + u32(clamp(ix + 2 * step, 0, wmax))) * p.in_c;
            let x3 = (row + u32(clamp(ix + 3 * step, 0, wmax))) * p.in_c;
            let kb = (ky * p.k_w + kx) * p.in_c;
            for (var ci = 0u; ci < p.in_c; ci++) {
                let s = f32(w[wj + kb + ci]);
                let t = f32(w[wk + kb + ci]);
                let w0 = vec4<A>(A(subgroupBroadcast(s, 0u)), A(subgroupBroadcast(s, 1u)),
                                 A(subgroupBroadcast(s, 2u)), A(subgroupBroadcast(s, 3u)));
                let w1 = vec4<A>(A(subgroupBroadcast(s, 4u)), A(subgroupBroadcast(s, 5u)),
                                 A(subgroupBroadcast(s, 6u)), A(subgroupBroadcast(s, 7u)));
                let w2 = vec4<A>(A(subgroupBroadcast(t, 0u)), A(subgroupBroadcast(t, 1u)),
                                 A(subgroupBroadcast(t, 2u)), A(subgroupBroadcast(t, 3u)));
                let w3 = vec4<A>(A(subgroupBroadcast(t, 4u)), A(subgroupBroadcast(t, 5u)),
                                 A(subgroupBroadcast(t, 6u)), A(subgroupBroadcast(t, 7u)));
                let v0 = select(A(0.0), A(x[x0 + ci]), in0);
                let v1 = select(A(0.0), A(x[x1 + ci]), in1);
                let v2 = select(A(0.0), A(x[x2 + ci]), in2);
                let v3 = select(A(0.0), A(x[x3 + ci]), in3);
                a0_0 += vec4<f32>(v0 * w0); a0_1 += vec4<f32>(v0 * w1); a0_2 += vec4<f32>(v0 * w2); a0_3 += vec4<f32>(v0 * w3);
                a1_0 += vec4<f32>(v1 * w0); a1_1 += vec4<f32>(v1 * w1); a1_2 += vec4<f32>(v1 * w2); a1_3 += vec4<f32>(v1 * w3);
                a2_0 += vec4<f32>(v2 * w0); a2_1 += vec4<f32>(v2 * w1); a2_2 += vec4<f32>(v2 * w2); a2_3 += vec4<f32>(v2 * w3);
                a3_0 += vec4<f32>(v3 * w0); a3_1 += vec4<f32>(v3 * w1); a3_2 += vec4<f32>(v3 * w2); a3_3 += vec4<f32>(v3 * w3);
            }
        }
    }
    if (gid.x >= blocks) { return; }
    let base = (n * p.out_h + oy) * p.out_w + ox0;
    store_tiled16(base, co, a0_0, a0_1, a0_2, a0_3, epi);
    if (ox0 + 1u < p.out_w) { store_tiled16(base + 1u, co, a1_0, a1_1, a1_2, a1_3, epi); }
    if (ox0 + 2u < p.out_w) { store_tiled16(base + 2u, co, a2_0, a2_1, a2_2, a2_3, epi); }
    if (ox0 + 3u < p.out_w) { store_tiled16(base + 3u, co, a3_0, a3_1, a3_2, a3_3, epi); }
}

// The 16 channels from co of pixel px, those below out_c, with the `epi` bits.
fn store_tiled16(px: u32, co: u32, a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32>, epi: u32) {
    store4_1x1(px, co, vec4<A>(a), epi);
    if (co + 4u < p.out_c) { store4_1x1(px, co + 4u, vec4<A>(b), epi); }
    if (co + 8u < p.out_c) { store4_1x1(px, co + 8u, vec4<A>(c), epi); }
    if (co + 12u < p.out_c) { store4_1x1(px, co + 12u, vec4<A>(d), epi); }
}
