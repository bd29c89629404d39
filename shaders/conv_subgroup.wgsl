// Convolution kernels that broadcast filter values across a subgroup, written as loops (the
// unrolled ones are generated into conv_subgroup_unrolled.wgsl). Appended to conv.wgsl (its
// `Conv` parameters, bindings and helpers); compiled only on devices with subgroups of at
// least 8 lanes.

// Any convolution: 4 neighbouring output pixels (along x) x 8 output channels per invocation.
// Per filter tap and input channel, lane j loads output channel j's weight and broadcasts it (one
// load where conv2d_tiled makes eight). The pixel blocks of all rows are numbered in one sequence
// across the lanes (x), so narrow images still fill the lanes.
// grid: x = out_h * ceil(out_w / 4), y = ceil(out_c / 8), z = batch; workgroup 64 x 1 x 1.
@compute @workgroup_size(64, 1, 1)
fn conv2d_tiled_sg(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
    let xblocks = (p.out_w + 3u) / 4u;
    let blocks = p.out_h * xblocks;
    let co = gid.y * 8u;
    let n = gid.z;
    if (co >= p.out_c || n >= p.batch || (gid.x & ~7u) >= blocks) { return; }
    let block = min(gid.x, blocks - 1u);
    let oy = block / xblocks;
    let ox0 = (block % xblocks) * 4u;
    let ks = p.k_h * p.k_w * p.in_c;
    let wj = min(co + sid % 8u, p.out_c - 1u) * ks;
    let blo = vec4<f32>(bias4(co));
    let bhi = vec4<f32>(bias4(co + 4u));
    var l0 = blo; var l1 = blo; var l2 = blo; var l3 = blo;
    var h0 = bhi; var h1 = bhi; var h2 = bhi; var h3 = bhi;
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
                let wl = vec4<A>(A(subgroupBroadcast(s, 0u)), A(subgroupBroadcast(s, 1u)),
                                 A(subgroupBroadcast(s, 2u)), A(subgroupBroadcast(s, 3u)));
                let wh = vec4<A>(A(subgroupBroadcast(s, 4u)), A(subgroupBroadcast(s, 5u)),
                                 A(subgroupBroadcast(s, 6u)), A(subgroupBroadcast(s, 7u)));
                let v0 = select(A(0.0), A(x[x0 + ci]), in0);
                let v1 = select(A(0.0), A(x[x1 + ci]), in1);
                let v2 = select(A(0.0), A(x[x2 + ci]), in2);
                let v3 = select(A(0.0), A(x[x3 + ci]), in3);
                l0 += vec4<f32>(v0 * wl); h0 += vec4<f32>(v0 * wh);
                l1 += vec4<f32>(v1 * wl); h1 += vec4<f32>(v1 * wh);
                l2 += vec4<f32>(v2 * wl); h2 += vec4<f32>(v2 * wh);
                l3 += vec4<f32>(v3 * wl); h3 += vec4<f32>(v3 * wh);
            }
        }
    }
    let base = (n * p.out_h + oy) * p.out_w + ox0;
    if (gid.x >= blocks) { return; }
    store4(base * p.out_c, co, vec4<A>(l0));
    if (co + 4u < p.out_c) { store4(base * p.out_c, co + 4u, vec4<A>(h0)); }
    if (ox0 + 1u < p.out_w) {
        store4((base + 1u) * p.out_c, co, vec4<A>(l1));
        if (co + 4u < p.out_c) { store4((base + 1u) * p.out_c, co + 4u, vec4<A>(h1)); }
    }
    if (ox0 + 2u < p.out_w) {
        store4((base + 2u) * p.out_c, co, vec4<A>(l2));
        if (co + 4u < p.out_c) { store4((base + 2u) * p.out_c, co + 4u, vec4<A>(h2)); }
    }
    if (ox0 + 3u < p.out_w) {
        store4((base + 3u) * p.out_c, co, vec4<A>(l3));
        if (co + 4u < p.out_c) { store4((base + 3u) * p.out_c, co + 4u, vec4<A>(h3)); }
    }
}
