// Reductions over one contiguous block of axes, the tensor seen as [outer, reduced, inner]:
// MEAN (and SOFTMAX over the last axis, inner = 1). Sums accumulate in f32 in every precision.

struct Reduce {
    outer: u32, reduced: u32, inner: u32, row: u32,
    beta: f32, _p0: f32, _p1: f32, _p2: f32,
}

@group(0) @binding(0) var<uniform> p: Reduce;
@group(0) @binding(1) var<storage, read_write> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;

@compute @workgroup_size(64, 1, 1)
fn mean(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = flat_index(gid, p.row);
    if (i >= p.outer * p.inner) { return; }
    let o = i / p.inner;
    let k = i % p.inner;
    var sum = 0.0f;
    for (var r = 0u; r < p.reduced; r++) {
        sum += f32(x[(o * p.reduced + r) * p.inner + k]);
    }
    y[i] = T(sum / f32(p.reduced));
}

// One invocation per row of `reduced` elements: subtract the max, exponentiate, normalise.
@compute @workgroup_size(64, 1, 1)
fn softmax(@builtin(global_invocation_id) gid: vec3<u32>) {
    let o = flat_index(gid, p.row);
    if (o >= p.outer) { return; }
    let base = o * p.reduced;
    var m = f32(x[base]);
    for (var r = 1u; r < p.reduced; r++) { m = max(m, f32(x[base + r])); }
    var sum = 0.0f;
    for (var r = 0u; r < p.reduced; r++) { sum += exp((f32(x[base + r]) - m) * p.beta); }
    for (var r = 0u; r < p.reduced; r++) {
        y[base + r] = T(exp((f32(x[base + r]) - m) * p.beta) / sum);
    }
}
