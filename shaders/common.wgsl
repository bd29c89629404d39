// Helpers shared by every halfgpu kernel. The host prepends, per precision:
//   T: the storage type of activations, weights and biases (f32 or f16)
//   A: the arithmetic type (f32, or f16 in F16 mode)
// Reductions (softmax sums, means) always accumulate in f32.

// Fused activation codes (TFLite's ActivationFunctionType): 0 none, 1 relu, 2 relu_n1_to_1,
// 3 relu6, 4 tanh.
// NaN, tested on the bits: compilers may fold `x != x` to false (WGSL lets them assume no NaN).
fn is_nan(x: A) -> bool {
    return (bitcast<u32>(f32(x)) & 0x7fffffffu) > 0x7f800000u;
}

fn is_nan4(x: vec4<A>) -> vec4<bool> {
    return (bitcast<vec4<u32>>(vec4<f32>(x)) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
}

// The clamps keep NaN as NaN, as TFLite's kernels do: WGSL's max/clamp may return the bound.
fn activate(x: A, act: u32) -> A {
    let nan = is_nan(x);
    switch act {
        case 1u: { return select(max(x, A(0.0)), x, nan); }
        case 2u: { return select(clamp(x, A(-1.0), A(1.0)), x, nan); }
        case 3u: { return select(clamp(x, A(0.0), A(6.0)), x, nan); }
        case 4u: { return tanh(x); }
        default: { return x; }
    }
}

fn activate4(x: vec4<A>, act: u32) -> vec4<A> {
    let nan = is_nan4(x);
    switch act {
        case 1u: { return select(max(x, vec4<A>(A(0.0))), x, nan); }
        case 2u: { return select(clamp(x, vec4<A>(A(-1.0)), vec4<A>(A(1.0))), x, nan); }
        case 3u: { return select(clamp(x, vec4<A>(A(0.0)), vec4<A>(A(6.0))), x, nan); }
        case 4u: { return tanh(x); }
        default: { return x; }
    }
}

// Flattens a 2-D dispatch (x: 64-wide workgroups) into one index; the host sets row = groups_x * 64.
fn flat_index(gid: vec3<u32>, row: u32) -> u32 {
    return gid.x + gid.y * row;
}
