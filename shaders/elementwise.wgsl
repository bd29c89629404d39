// Elementwise ops: binary ops with numpy broadcasting (ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM,
// SQUARED_DIFFERENCE, PRELU) and unary activations. Shapes are padded to rank 4 by the host;
// a broadcast dimension has stride 0.

struct Binary {
    d1: u32, d2: u32, d3: u32, total: u32,
    a0: u32, a1: u32, a2: u32, a3: u32,
    b0: u32, b1: u32, b2: u32, b3: u32,
    op: u32, act: u32, row: u32, _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Binary;
@group(0) @binding(1) var<storage, read_write> a: array<T>;
@group(0) @binding(2) var<storage, read_write> b: array<T>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;
// The same buffers as vectors of four (the _v4 kernels: the output's last dimension % 4 == 0).
@group(0) @binding(1) var<storage, read_write> a4: array<vec4<T>>;
@group(0) @binding(2) var<storage, read_write> b4: array<vec4<T>>;
@group(0) @binding(3) var<storage, read_write> y4: array<vec4<T>>;

fn apply_binary4(u: vec4<A>, v: vec4<A>, op: u32) -> vec4<A> {
    switch op {
        case 0u: { return u + v; }
        case 1u: { return u - v; }
        case 2u: { return u * v; }
        case 3u: { return u / v; }
        case 4u: { return max(u, v); }
        case 5u: { return min(u, v); }
        case 6u: { return (u - v) * (u - v); }
        case 7u: { return select(u * v, u, u >= vec4<A>(A(0.0))); }
        default: { return u; }
    }
}

// One value: the vector form's first lane (the arithmetic is cheap next to the loads).
fn apply_binary(u: A, v: A, op: u32) -> A {
    return apply_binary4(vec4<A>(u), vec4<A>(v), op).x;
}

@compute @workgroup_size(64, 1, 1)
fn binary(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = flat_index(gid, p.row);
    if (i >= p.total) { return; }
    let c3 = i % p.d3;
    let r2 = i / p.d3;
    let c2 = r2 % p.d2;
    let r1 = r2 / p.d2;
    let c1 = r1 % p.d1;
    let c0 = r1 / p.d1;
    let ia = c0 * p.a0 + c1 * p.a1 + c2 * p.a2 + c3 * p.a3;
    let ib = c0 * p.b0 + c1 * p.b1 + c2 * p.b2 + c3 * p.b3;
    y[i] = T(activate(apply_binary(A(a[ia]), A(b[ib]), p.op), p.act));
}

// Both operands have the output's shape: no index arithmetic.
@compute @workgroup_size(64, 1, 1)
fn binary_same_shape(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = flat_index(gid, p.row);
    if (i >= p.total) { return; }
    y[i] = T(activate(apply_binary(A(a[i]), A(b[i]), p.op), p.act));
}

// binary_same_shape four elements at a time (total % 4 == 0); `total` counts vectors.
@compute @workgroup_size(64, 1, 1)
fn binary_same_shape_v4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = flat_index(gid, p.row);
    if (i >= p.total) { return; }
    y4[i] = vec4<T>(activate4(apply_binary4(vec4<A>(a4[i]), vec4<A>(b4[i]), p.op), p.act));
}

// `a` has the output's shape, `b` one value per channel of its last dimension (d3 / 4 vectors,
// d3 % 4 == 0), as PRELU's alpha or a per-channel scale; `total` counts vectors.
@compute @workgroup_size(64, 1, 1)
fn binary_channels_v4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = flat_index(gid, p.row);
    if (i >= p.total) { return; }
    let v = vec4<A>(b4[i % (p.d3 / 4u)]);
    y4[i] = vec4<T>(activate4(apply_binary4(vec4<A>(a4[i]), v, p.op), p.act));
}
