// Unary activations and math: RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU, LOGISTIC, TANH,
// HARD_SWISH, EXP, ABS, SQRT, RSQRT.

struct Unary {
    total: u32, op: u32, row: u32, _pad: u32,
    alpha: f32, _p1: f32, _p2: f32, _p3: f32,
}

@group(0) @binding(0) var<uniform> p: Unary;
@group(0) @binding(1) var<storage, read_write> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;
// The same buffers as vectors of four (unary_v4: the element count % 4 == 0).
@group(0) @binding(1) var<storage, read_write> x4: array<vec4<T>>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<T>>;

fn apply_unary(v: A, op: u32) -> A {
    switch op {
        case 0u: { return activate(v, 1u); }
        case 1u: { return activate(v, 3u); }
        case 2u: { return activate(v, 2u); }
        case 3u: { return select(v * A(p.alpha), v, v >= A(0.0)); }
        case 4u: { return A(1.0) / (A(1.0) + exp(-v)); }
        case 5u: { return tanh(v); }
        case 6u: { return v * clamp(v + A(3.0), A(0.0), A(6.0)) / A(6.0); }
        case 7u: { return exp(v); }
        case 8u: { return abs(v); }
        case 9u: { return sqrt(v); }
        case 10u: { return inverseSqrt(v); }
        default: { return v; }
    }
}

@compute @workgroup_size(64, 1, 1)
fn unary(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = flat_index(gid, p.row);
    if (i >= p.total) { return; }
    y[i] = T(apply_unary(A(x[i]), p.op));
}

// unary four elements at a time (the element count % 4 == 0); `total` counts vectors.
@compute @workgroup_size(64, 1, 1)
fn unary_v4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = flat_index(gid, p.row);
    if (i >= p.total) { return; }
    let v = vec4<A>(x4[i]);
    let r = vec4<A>(apply_unary(v.x, p.op), apply_unary(v.y, p.op), apply_unary(v.z, p.op),
                    apply_unary(v.w, p.op));
    y4[i] = vec4<T>(r);
}
