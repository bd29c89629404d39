// MAX_POOL_2D and AVERAGE_POOL_2D over NHWC; the average counts only elements inside the input,
// as TFLite does. grid: x = out_w, y = out_h, z = batch * channels.

struct Pool {
    in_h: u32, in_w: u32, channels: u32, batch: u32,
    out_h: u32, out_w: u32, k_h: u32, k_w: u32,
    stride_h: u32, stride_w: u32, pad_top: i32, pad_left: i32,
    act: u32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Pool;
@group(0) @binding(1) var<storage, read_write> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;
// The same buffers as vectors of four channels (the _v4 kernels: channels % 4 == 0).
@group(0) @binding(1) var<storage, read_write> x4: array<vec4<T>>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<T>>;

fn pool(gid: vec3<u32>, is_max: bool) {
    let ox = gid.x;
    let oy = gid.y;
    if (ox >= p.out_w || oy >= p.out_h || gid.z >= p.batch * p.channels) { return; }
    let n = gid.z / p.channels;
    let c = gid.z % p.channels;
    var best = A(-65504.0);
    var sum = 0.0f;
    var count = 0u;
    for (var ky = 0u; ky < p.k_h; ky++) {
        let iy = i32(oy * p.stride_h + ky) - p.pad_top;
        if (iy < 0 || iy >= i32(p.in_h)) { continue; }
        for (var kx = 0u; kx < p.k_w; kx++) {
            let ix = i32(ox * p.stride_w + kx) - p.pad_left;
            if (ix < 0 || ix >= i32(p.in_w)) { continue; }
            let v = x[((n * p.in_h + u32(iy)) * p.in_w + u32(ix)) * p.channels + c];
            if (count == 0u) { best = A(v); } else { best = max(best, A(v)); }
            sum += f32(v);
            count++;
        }
    }
    var r = best;
    if (!is_max) { r = A(sum / f32(max(count, 1u))); }
    y[((n * p.out_h + oy) * p.out_w + ox) * p.channels + c] = T(activate(r, p.act));
}

@compute @workgroup_size(8, 8, 1)
fn max_pool(@builtin(global_invocation_id) gid: vec3<u32>) { pool(gid, true); }

@compute @workgroup_size(8, 8, 1)
fn avg_pool(@builtin(global_invocation_id) gid: vec3<u32>) { pool(gid, false); }

// pool over four channels per invocation, channel vectors across lanes (channels % 4 == 0).
// grid: x = channels / 4, y = out_w, z = batch * out_h.
fn pool_v4(gid: vec3<u32>, is_max: bool) {
    let c4 = gid.x;
    let ox = gid.y;
    let n = gid.z / p.out_h;
    let oy = gid.z % p.out_h;
    let C4 = p.channels / 4u;
    if (c4 >= C4 || ox >= p.out_w || n >= p.batch) { return; }
    var best = vec4<A>(A(-65504.0));
    var sum = vec4<f32>(0.0);
    var count = 0u;
    for (var ky = 0u; ky < p.k_h; ky++) {
        let iy = i32(oy * p.stride_h + ky) - p.pad_top;
        if (iy < 0 || iy >= i32(p.in_h)) { continue; }
        for (var kx = 0u; kx < p.k_w; kx++) {
            let ix = i32(ox * p.stride_w + kx) - p.pad_left;
            if (ix < 0 || ix >= i32(p.in_w)) { continue; }
            let v = vec4<A>(x4[((n * p.in_h + u32(iy)) * p.in_w + u32(ix)) * C4 + c4]);
            if (count == 0u) { best = v; } else { best = max(best, v); }
            sum += vec4<f32>(v);
            count++;
        }
    }
    var r = best;
    if (!is_max) { r = vec4<A>(sum / f32(max(count, 1u))); }
    y4[((n * p.out_h + oy) * p.out_w + ox) * C4 + c4] = vec4<T>(activate4(r, p.act));
}

@compute @workgroup_size(8, 8, 1)
fn max_pool_v4(@builtin(global_invocation_id) gid: vec3<u32>) { pool_v4(gid, true); }

@compute @workgroup_size(8, 8, 1)
fn avg_pool_v4(@builtin(global_invocation_id) gid: vec3<u32>) { pool_v4(gid, false); }
