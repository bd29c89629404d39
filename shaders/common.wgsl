// Helpers shared by every halfgpu kernel. The host prepends, per precision:
//   T: the storage type of activations, weights and biases (f32 or f16)
//   A: the arithmetic type (f32, or f16 in F16 mode)
// Reductions (softmax sums, means) always accumulate in f32.

// Fused activation codes (TFLite's ActivationFunctionType): 0 none, 1 relu, 2 relu_n1_to_1,
// 3 relu6, 4 tanh.
fn activate(x: A, act: u32) -> A {
    switch act {
        case 1u: { return max(x, A(0.0)); }
        case 2u: { return clamp(x, A(-1.0), A(1.0)); }
        case 3u: { return clamp(x, A(0.0), A(6.0)); }
        case 4u: { return tanh(x); }
        default: { return x; }
    }
}

fn activate4(x: vec4<A>, act: u32) -> vec4<A> {
    switch act {
        case 1u: { return max(x, vec4<A>(A(0.0))); }
        case 2u: { return clamp(x, vec4<A>(A(-1.0)), vec4<A>(A(1.0))); }
        case 3u: { return clamp(x, vec4<A>(A(0.0)), vec4<A>(A(6.0))); }
        case 4u: { return tanh(x); }
        default: { return x; }
    }
}

// Flattens a 2-D dispatch (x: 64-wide workgroups) into one index; the host sets row = groups_x * 64.
fn flat_index(gid: vec3<u32>, row: u32) -> u32 {
    return gid.x + gid.y * row;
}
