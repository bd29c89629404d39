// RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR over NHWC with TFLite's coordinate rules:
// scale = (in - 1) / (out - 1) with align_corners, else in / out; half_pixel_centers samples
// at (o + 0.5) * scale - 0.5 (bilinear, clamped at 0) or floor((o + 0.5) * scale) (nearest).
// grid: x = out_w, y = out_h, z = batch * channels.

struct Resize {
    in_h: u32, in_w: u32, channels: u32, batch: u32,
    out_h: u32, out_w: u32, align_corners: u32, half_pixel: u32,
    scale_h: f32, scale_w: f32, _p0: f32, _p1: f32,
}

@group(0) @binding(0) var<uniform> p: Resize;
@group(0) @binding(1) var<storage, read_write> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;

// The same buffers as vectors of four channels (the _v4 kernels: channels % 4 == 0).
@group(0) @binding(1) var<storage, read_write> x4: array<vec4<T>>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<T>>;

fn at(n: u32, iy: u32, ix: u32, c: u32) -> f32 {
    return f32(x[((n * p.in_h + iy) * p.in_w + ix) * p.channels + c]);
}

fn at4(n: u32, iy: u32, ix: u32, c4: u32) -> vec4<f32> {
    return vec4<f32>(x4[((n * p.in_h + iy) * p.in_w + ix) * (p.channels / 4u) + c4]);
}

// Where output pixel (oy, ox) samples the input for bilinear resizing: rows y0, y1 and columns
// x0, x1 with the weights dy, dx of the second ones.
struct Taps { y0: u32, y1: u32, x0: u32, x1: u32, dy: f32, dx: f32 }

fn bilinear_taps(oy: u32, ox: u32) -> Taps {
    var fy = f32(oy) * p.scale_h;
    var fx = f32(ox) * p.scale_w;
    if (p.half_pixel != 0u) {
        fy = (f32(oy) + 0.5) * p.scale_h - 0.5;
        fx = (f32(ox) + 0.5) * p.scale_w - 0.5;
    }
    let y0f = floor(fy);
    let x0f = floor(fx);
    var t: Taps;
    t.y0 = u32(max(y0f, 0.0));
    t.x0 = u32(max(x0f, 0.0));
    t.y1 = min(u32(max(ceil(fy), 0.0)), p.in_h - 1u);
    t.x1 = min(u32(max(ceil(fx), 0.0)), p.in_w - 1u);
    t.dy = fy - y0f;
    t.dx = fx - x0f;
    return t;
}

// The input pixel (row, column) that output pixel (oy, ox) copies for nearest-neighbour resizing.
fn nearest_source(oy: u32, ox: u32) -> vec2<u32> {
    var fy = f32(oy) * p.scale_h;
    var fx = f32(ox) * p.scale_w;
    if (p.half_pixel != 0u) {
        fy = (f32(oy) + 0.5) * p.scale_h;
        fx = (f32(ox) + 0.5) * p.scale_w;
    }
    var iy: u32;
    var ix: u32;
    if (p.align_corners != 0u) {
        // TFLite rounds halves away from zero (std::round); WGSL's round() goes to even.
        // The coordinates are never negative here, so floor(v + 0.5) is std::round.
        iy = u32(floor(fy + 0.5));
        ix = u32(floor(fx + 0.5));
    } else {
        iy = u32(floor(fy));
        ix = u32(floor(fx));
    }
    return vec2<u32>(min(iy, p.in_h - 1u), min(ix, p.in_w - 1u));
}

@compute @workgroup_size(8, 8, 1)
fn bilinear(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ox = gid.x;
    let oy = gid.y;
    if (ox >= p.out_w || oy >= p.out_h || gid.z >= p.batch * p.channels) { return; }
    let n = gid.z / p.channels;
    let c = gid.z % p.channels;
    let t = bilinear_taps(oy, ox);
    let top = at(n, t.y0, t.x0, c) * (1.0 - t.dx) + at(n, t.y0, t.x1, c) * t.dx;
    let bottom = at(n, t.y1, t.x0, c) * (1.0 - t.dx) + at(n, t.y1, t.x1, c) * t.dx;
    y[((n * p.out_h + oy) * p.out_w + ox) * p.channels + c] = T(top * (1.0 - t.dy) + bottom * t.dy);
}

@compute @workgroup_size(8, 8, 1)
fn nearest(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ox = gid.x;
    let oy = gid.y;
    if (ox >= p.out_w || oy >= p.out_h || gid.z >= p.batch * p.channels) { return; }
    let n = gid.z / p.channels;
    let c = gid.z % p.channels;
    let s = nearest_source(oy, ox);
    y[((n * p.out_h + oy) * p.out_w + ox) * p.channels + c] = T(at(n, s.x, s.y, c));
}

// bilinear and nearest over four channels per invocation, channel vectors across lanes.
// grid: x = channels / 4, y = out_w, z = batch * out_h.
@compute @workgroup_size(8, 8, 1)
fn bilinear_v4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c4 = gid.x;
    let ox = gid.y;
    let n = gid.z / p.out_h;
    let oy = gid.z % p.out_h;
    if (c4 >= p.channels / 4u || ox >= p.out_w || n >= p.batch) { return; }
    let t = bilinear_taps(oy, ox);
    let top = at4(n, t.y0, t.x0, c4) * (1.0 - t.dx) + at4(n, t.y0, t.x1, c4) * t.dx;
    let bottom = at4(n, t.y1, t.x0, c4) * (1.0 - t.dx) + at4(n, t.y1, t.x1, c4) * t.dx;
    y4[((n * p.out_h + oy) * p.out_w + ox) * (p.channels / 4u) + c4] =
        vec4<T>(top * (1.0 - t.dy) + bottom * t.dy);
}

@compute @workgroup_size(8, 8, 1)
fn nearest_v4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c4 = gid.x;
    let ox = gid.y;
    let n = gid.z / p.out_h;
    let oy = gid.z % p.out_h;
    if (c4 >= p.channels / 4u || ox >= p.out_w || n >= p.batch) { return; }
    let s = nearest_source(oy, ox);
    y4[((n * p.out_h + oy) * p.out_w + ox) * (p.channels / 4u) + c4] = vec4<T>(at4(n, s.x, s.y, c4));
}
