// Helpers shared by every halfgpu kernel. The host prepends, per precision:
//   T: the storage type of activations, weights and biases (f32 or f16)
//   A: the arithmetic type (f32, or f16 in F16 mode)
// Reductions (softmax sums, means) always accumulate in f32.

// Fused activation codes (TFLite's ActivationFunctionType): 0 none, 1 relu, 2 relu_n1_to_1,
// 3 relu6. A fused TANH runs as a dispatch of its own: a case for it here made every kernel
// that stores through these two to three times slower for lavapipe to compile.
// NaN stays NaN, as in TFLite's kernels: a comparison with NaN is false, so it is never
// replaced by a bound (WGSL's max/clamp may return the bound).
fn activate(x: A, act: u32) -> A {
    let lo = A(select(0.0, -1.0, act == 2u));
    let hi = A(select(6.0, 1.0, act == 2u));
    let r = select(x, lo, x < lo && act != 0u);
    return select(r, hi, r > hi && act >= 2u);
}

fn activate4(x: vec4<A>, act: u32) -> vec4<A> {
    let lo = vec4<A>(A(select(0.0, -1.0, act == 2u)));
    let hi = vec4<A>(A(select(6.0, 1.0, act == 2u)));
    let r = select(x, lo, (x < lo) & vec4<bool>(act != 0u));
    return select(r, hi, (r > hi) & vec4<bool>(act >= 2u));
}

// Flattens a 2-D dispatch (x: 64-wide workgroups) into one index; the host sets row = groups_x * 64.
fn flat_index(gid: vec3<u32>, row: u32) -> u32 {
    return gid.x + gid.y * row;
}
