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

fn at(n: u32, iy: u32, ix: u32, c: u32) -> f32 {
    return f32(x[((n * p.in_h + iy) * p.in_w + ix) * p.channels + c]);
}

@compute @workgroup_size(8, 8, 1)
fn bilinear(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ox = gid.x;
    let oy = gid.y;
    if (ox >= p.out_w || oy >= p.out_h || gid.z >= p.batch * p.channels) { return; }
    let n = gid.z / p.channels;
    let c = gid.z % p.channels;
    var fy = f32(oy) * p.scale_h;
    var fx = f32(ox) * p.scale_w;
    if (p.half_pixel != 0u) {
        fy = (f32(oy) + 0.5) * p.scale_h - 0.5;
        fx = (f32(ox) + 0.5) * p.scale_w - 0.5;
    }
    let y0f = floor(fy);
    let x0f = floor(fx);
    let y0 = u32(max(y0f, 0.0));
    let x0 = u32(max(x0f, 0.0));
    let y1 = min(u32(max(ceil(fy), 0.0)), p.in_h - 1u);
    let x1 = min(u32(max(ceil(fx), 0.0)), p.in_w - 1u);
    let dy = fy - y0f;
    let dx = fx - x0f;
    let top = at(n, y0, x0, c) * (1.0 - dx) + at(n, y0, x1, c) * dx;
    let bottom = at(n, y1, x0, c) * (1.0 - dx) + at(n, y1, x1, c) * dx;
    y[((n * p.out_h + oy) * p.out_w + ox) * p.channels + c] = T(top * (1.0 - dy) + bottom * dy);
}

@compute @workgroup_size(8, 8, 1)
fn nearest(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ox = gid.x;
    let oy = gid.y;
    if (ox >= p.out_w || oy >= p.out_h || gid.z >= p.batch * p.channels) { return; }
    let n = gid.z / p.channels;
    let c = gid.z % p.channels;
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
    iy = min(iy, p.in_h - 1u);
    ix = min(ix, p.in_w - 1u);
    y[((n * p.out_h + oy) * p.out_w + ox) * p.channels + c] = T(at(n, iy, ix, c));
}
