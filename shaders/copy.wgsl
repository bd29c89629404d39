// Data movement as one strided copy over up to six dimensions: CONCATENATION (one dispatch per
// input), TRANSPOSE, SLICE, STRIDED_SLICE, DEPTH_TO_SPACE, and
// RESHAPE when it cannot share its input's buffer.
// Element c (coordinates c0..c5 of the iteration shape d0..d5) moves from
// src[src_base + sum c_k * s_k] to dst[dst_base + sum c_k * t_k]; strides may be negative.

struct Copy {
    d: array<vec4<u32>, 2>,
    s: array<vec4<i32>, 2>,
    t: array<vec4<i32>, 2>,
    src_base: i32, dst_base: i32, total: u32, row: u32,
}

@group(0) @binding(0) var<uniform> p: Copy;
@group(0) @binding(1) var<storage, read_write> src: array<T>;
@group(0) @binding(2) var<storage, read_write> dst: array<T>;

fn dim(k: u32) -> u32 { return p.d[k / 4u][k % 4u]; }
fn sstride(k: u32) -> i32 { return p.s[k / 4u][k % 4u]; }
fn tstride(k: u32) -> i32 { return p.t[k / 4u][k % 4u]; }

@compute @workgroup_size(64, 1, 1)
fn strided_copy(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = flat_index(gid, p.row);
    if (i >= p.total) { return; }
    var rest = i;
    var si = p.src_base;
    var ti = p.dst_base;
    for (var k = 5; k >= 0; k--) {
        let n = dim(u32(k));
        let c = i32(rest % n);
        rest = rest / n;
        si += c * sstride(u32(k));
        ti += c * tstride(u32(k));
    }
    dst[u32(ti)] = src[u32(si)];
}

// PAD / PADV2 in one pass over the output: each element reads its source element, or takes the
// pad value where it lies in the border. Shapes are padded to six dimensions by the host.
struct Pad {
    d: array<vec4<u32>, 2>,
    before: array<vec4<u32>, 2>,
    src: array<vec4<u32>, 2>,
    total: u32, row: u32, value: f32, _p0: u32,
}

@group(0) @binding(0) var<uniform> q: Pad;

@compute @workgroup_size(64, 1, 1)
fn pad(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = flat_index(gid, q.row);
    if (i >= q.total) { return; }
    var rest = i;
    var si = 0u;
    var scale = 1u;
    var inside = true;
    for (var k = 5; k >= 0; k--) {
        let kk = u32(k);
        let n = q.d[kk / 4u][kk % 4u];
        let c = rest % n;
        rest = rest / n;
        let b = q.before[kk / 4u][kk % 4u];
        let m = q.src[kk / 4u][kk % 4u];
        if (c < b || c - b >= m) {
            inside = false;
        } else {
            si += (c - b) * scale;
        }
        scale *= m;
    }
    if (inside) {
        dst[i] = src[si];
    } else {
        dst[i] = T(q.value);
    }
}
