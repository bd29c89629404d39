// Smoke test for half precision: y = x * 2 + 1, read, computed and written as f16.
// The host pads both arrays to a whole number of 32-bit words, so their lengths match.

enable f16;

@group(0) @binding(0) var<storage, read> xs: array<f16>;
@group(0) @binding(1) var<storage, read_write> ys: array<f16>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= arrayLength(&ys)) {
        return;
    }
    let two = f16(2.0);
    let one = f16(1.0);
    ys[i] = xs[i] * two + one;
}
