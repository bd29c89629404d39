//! Opens whatever GPU this machine has (a software Vulkan device is fine) and runs the f16
//! smoke shader on it.
//!
//! Without any adapter the GPU test is skipped locally, but fails when `CI` is set, since CI
//! is expected to provide at least Mesa's lavapipe. An adapter without `SHADER_F16` is
//! reported; it fails the test only under CI with `HALFGPU_REQUIRE_F16` set.

use std::io::Write;

use half::f16;
use halfgpu::gpu::smoke::{run_f16_smoke, smoke_reference, SMOKE_WGSL};
use halfgpu::gpu::{GpuContext, GpuError, GpuOptions};

fn env_flag(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

/// Writes straight to stderr, past the test harness's output capture, so CI logs show
/// which device the GPU tests ran on.
fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "gpu_smoke: {line}");
}

/// Inputs whose results `x * 2 + 1` are exact in f16, with an odd count so the host's
/// padding to whole words is exercised, and more than one workgroup.
fn smoke_inputs() -> Vec<f16> {
    let mut xs: Vec<f16> = [
        0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 0.25, 1.5, 3.0, -3.0, 100.0, -100.0, 1000.0, 1023.0,
        -1024.0, 0.125, 0.0625,
    ]
    .iter()
    .map(|&v| f16::from_f32(v))
    .collect();
    // Every half-integer in [-64, 64): exact in f16, and so is 2x+1.
    xs.extend((-128..128).map(|i| f16::from_f32(i as f32 * 0.5)));
    // f16 subnormal and the smallest normal: 2x + 1 rounds to 1 exactly as the host does.
    xs.push(f16::from_bits(0x0001));
    xs.push(f16::MIN_POSITIVE);
    xs
}

#[test]
fn f16_smoke_on_the_gpu() {
    let ci = env_flag("CI");
    let options = GpuOptions::default().with_env();
    let ctx = match GpuContext::new(&options) {
        Ok(ctx) => ctx,
        Err(e @ (GpuError::NoAdapter { .. } | GpuError::AdapterNotFound { .. })) => {
            if ci {
                panic!(
                    "CI is set but no GPU adapter could be opened: {e}\n\
                     CI needs at least a software Vulkan device \
                     (Debian/Ubuntu: apt-get install mesa-vulkan-drivers libvulkan1)"
                );
            }
            report(&format!(
                "skipped: no GPU adapter (install mesa-vulkan-drivers). Details: {e}"
            ));
            return;
        }
        Err(e) => panic!("opening the GPU failed: {e}"),
    };

    let info = ctx.adapter_info();
    let limits = ctx.limits();
    report(&format!(
        "adapter {:?}, backend {}, type {:?}, driver {:?}, driver info {:?}, SHADER_F16: {}",
        info.name,
        info.backend,
        info.device_type,
        info.driver,
        info.driver_info,
        if ctx.has_shader_f16() { "yes" } else { "no" },
    ));
    report(&format!(
        "limits: storage binding {} B, buffer {} B, workgroup size {:?}, \
         invocations/workgroup {}, workgroups/dimension {}",
        limits.max_storage_buffer_binding_size,
        limits.max_buffer_size,
        limits.max_workgroup_size,
        limits.max_invocations_per_workgroup,
        limits.max_workgroups_per_dimension,
    ));

    if !ctx.has_shader_f16() {
        let msg = format!(
            "adapter {:?} lacks SHADER_F16; the f16 smoke shader was not run",
            ctx.adapter_name()
        );
        if ci && env_flag("HALFGPU_REQUIRE_F16") {
            panic!("{msg} (HALFGPU_REQUIRE_F16 is set)");
        }
        report(&msg);
        // Asking for f16 must fail cleanly, not panic.
        let err = run_f16_smoke(&ctx, &[f16::ONE]).expect_err("needs SHADER_F16");
        assert!(matches!(err, GpuError::MissingFeature { .. }), "{err}");
        return;
    }

    let xs = smoke_inputs();
    let ys = run_f16_smoke(&ctx, &xs).unwrap_or_else(|e| panic!("f16 smoke failed: {e}"));
    assert_eq!(ys.len(), xs.len());
    let mut mismatches = Vec::new();
    for (i, (&x, &y)) in xs.iter().zip(&ys).enumerate() {
        let want = smoke_reference(x);
        if y.to_bits() != want.to_bits() {
            mismatches.push(format!("[{i}] x={x} got {y} want {want}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "f16 smoke results differ:\n{}",
        mismatches.join("\n")
    );

    // An odd single element and an empty input go through the padding/early-out paths.
    let one = run_f16_smoke(&ctx, &[f16::from_f32(7.0)]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(one, vec![f16::from_f32(15.0)]);
    assert_eq!(
        run_f16_smoke(&ctx, &[]).unwrap_or_else(|e| panic!("{e}")),
        vec![]
    );

    if let Err(e) = ctx.check() {
        panic!("the device reported an error during the smoke test: {e}");
    }
    report(&format!("f16 smoke passed on {}", ctx.summary()));
}

#[test]
fn smoke_shader_is_valid_wgsl_without_a_gpu() {
    let module = naga::front::wgsl::parse_str(SMOKE_WGSL)
        .unwrap_or_else(|e| panic!("{}", e.emit_to_string(SMOKE_WGSL)));
    let mut validator = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all() | naga::valid::Capabilities::SHADER_FLOAT16,
    );
    validator
        .validate(&module)
        .unwrap_or_else(|e| panic!("{}", e.emit_to_string(SMOKE_WGSL)));

    // Without the f16 capability the same module must be rejected: the shader really is f16.
    let mut without_f16 = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all() - naga::valid::Capabilities::SHADER_FLOAT16,
    );
    assert!(without_f16.validate(&module).is_err());
}

#[test]
fn f16_smoke_without_shader_f16_fails_cleanly() {
    // Open the device without SHADER_F16 even where the adapter has it.
    let options = GpuOptions::default().with_env().request_shader_f16(false);
    let Ok(ctx) = GpuContext::new(&options) else {
        // No adapter: f16_smoke_on_the_gpu reports (or, under CI, fails) for that.
        return;
    };
    assert!(!ctx.has_shader_f16());
    match run_f16_smoke(&ctx, &[f16::ONE]) {
        Err(GpuError::MissingFeature { feature, .. }) => assert_eq!(feature, "SHADER_F16"),
        other => panic!("expected MissingFeature, got {other:?}"),
    }
}
