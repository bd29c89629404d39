//! GPU faults, each with its documented outcome (docs/reliability.md): no adapter, no
//! SHADER_F16, a tensor over the storage binding limit, a partition over the buffer size limit,
//! the device lost during a run; and bad inputs, NaN and Inf on a GPU-delegated interpreter.

mod common;

use std::sync::Arc;

use halfgpu::gpu::{GpuContext, GpuDelegate, GpuDelegateOptions, GpuError, Precision};
use halfgpu::model::schema::builtin;
use halfgpu::model::{builder, Activation, Conv2DOptions, FullyConnectedOptions, Model, Padding};
use halfgpu::runtime::Interpreter;

fn conv_model() -> Model {
    let opts = Conv2DOptions {
        padding: Padding::Same,
        stride_w: 1,
        stride_h: 1,
        activation: Activation::Relu,
        dilation_w: 1,
        dilation_h: 1,
    };
    builder::conv2d([1, 8, 8, 4], [8, 3, 3, 4], opts, true, 7).unwrap()
}

fn fc_model(depth: i32, units: i32) -> Model {
    let opts = FullyConnectedOptions {
        activation: Activation::None,
        weights_format: 0,
        keep_num_dims: false,
        asymmetric_quantize_inputs: false,
    };
    builder::fully_connected(&[1, depth], units, opts, true, 3).unwrap()
}

fn ramp(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
        .collect()
}

/// Runs `it` on `x` and returns output 0.
fn run(it: &mut Interpreter, x: &[f32]) -> Vec<f32> {
    it.set_input(0, x).unwrap();
    it.invoke().unwrap();
    it.output::<f32>(0).unwrap().to_vec()
}

fn cpu(model: &Model, x: &[f32]) -> Vec<f32> {
    run(&mut Interpreter::builder(model).build().unwrap(), x)
}

fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= tol * (1.0 + y.abs())
        })
}

/// Opens the default adapter with `limits` edited, shared as a context (adapter chosen as the
/// delegate would: Vulkan first, high performance).
fn device_with_limits(edit: impl FnOnce(&mut wgpu::Limits)) -> Option<Arc<GpuContext>> {
    common::gpu_delegate(Precision::F32)?;
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: halfgpu::gpu::GpuOptions::default().backends,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        ..Default::default()
    }))
    .ok()?;
    let mut limits = adapter.limits();
    edit(&mut limits);
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("reliability test"),
        required_limits: limits,
        ..Default::default()
    }))
    .unwrap();
    let ctx = GpuContext::from_existing(device, queue);
    ctx.install_error_handlers();
    Some(Arc::new(ctx))
}

#[test]
fn no_matching_adapter_is_a_clear_error_and_the_cpu_still_runs() {
    common::gpu_delegate(Precision::F32); // sets XDG_RUNTIME_DIR
    let wanted = "no-such-adapter-7f3a";
    let err = match GpuDelegate::new(GpuDelegateOptions::default().adapter(wanted)) {
        Err(e) => e,
        Ok(_) => panic!("an adapter matched {wanted:?}"),
    };
    assert!(
        matches!(
            err,
            GpuError::AdapterNotFound { .. } | GpuError::NoAdapter { .. }
        ),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("no GPU adapter"), "{msg}");
    let model = conv_model();
    let x = ramp(8 * 8 * 4);
    let mut it = Interpreter::builder(&model).build().unwrap();
    assert_eq!(run(&mut it, &x).len(), 8 * 8 * 8);
}

#[test]
fn without_shader_f16_f16_resolves_to_f32_with_the_reason_in_the_report() {
    let Some(_) = common::gpu_delegate(Precision::F32) else {
        return;
    };
    let gpu = GpuDelegate::new(
        GpuDelegateOptions::default()
            .precision(Precision::F16)
            .request_shader_f16(false),
    )
    .unwrap();
    assert!(!gpu.context().has_shader_f16());
    assert_eq!(gpu.effective_precision(), Precision::F32);
    let note = gpu.precision_note().unwrap().to_string();
    assert!(
        note.contains("SHADER_F16") && note.contains("F32") && note.contains("request_shader_f16"),
        "{note}"
    );
    let model = conv_model();
    let x = ramp(8 * 8 * 4);
    let mut it = Interpreter::builder(&model).delegate(gpu).build().unwrap();
    let report = it.delegation_report().to_text();
    assert!(report.contains("SHADER_F16"), "{report}");
    assert_eq!(it.delegation_report().partitions.len(), 1);
    // F32 on the GPU: close to the CPU, not just f16-close.
    assert!(close(&run(&mut it, &x), &cpu(&model, &x), 1e-4));
}

#[test]
fn a_tensor_over_the_binding_limit_runs_on_the_cpu_with_the_reason() {
    let Some(ctx) = device_with_limits(|l| l.max_storage_buffer_binding_size = 1 << 20) else {
        return;
    };
    // 512 x 1024 f32 weights: 2 MiB, over the 1 MiB binding limit.
    let model = fc_model(1024, 512);
    let gpu = GpuDelegate::new(GpuDelegateOptions::default().context(ctx)).unwrap();
    let mut it = Interpreter::builder(&model).delegate(gpu).build().unwrap();
    let report = it.delegation_report().clone();
    assert!(report.partitions.is_empty(), "{}", report.to_text());
    let node = &report.cpu_nodes[0];
    assert_eq!(node.op, "FULLY_CONNECTED");
    assert!(
        node.reason.contains("storage binding limit"),
        "{}",
        node.reason
    );
    let x = ramp(1024);
    assert_eq!(run(&mut it, &x), cpu(&model, &x));
}

#[test]
fn a_partition_over_the_buffer_size_limit_fails_to_compile_and_runs_on_the_cpu() {
    // Bindings may be large but no buffer over 64 KiB may be created: the RELU's 128 KiB
    // tensors pass the support check and fail when the partition's buffers are made.
    let Some(ctx) = device_with_limits(|l| l.max_buffer_size = 64 << 10) else {
        return;
    };
    let model = builder::unary(builtin::RELU, &[1, 64, 64, 8]).unwrap();
    let gpu = GpuDelegate::new(GpuDelegateOptions::default().context(ctx)).unwrap();
    let mut it = Interpreter::builder(&model).delegate(gpu).build().unwrap();
    let report = it.delegation_report().clone();
    assert!(report.partitions.is_empty(), "{}", report.to_text());
    assert_eq!(report.compile_failures.len(), 1);
    let why = &report.compile_failures[0];
    assert!(
        why.contains("activation buffer") && why.contains("65536"),
        "{why}"
    );
    assert_eq!(report.cpu_nodes[0].reason, *why);
    let x = ramp(64 * 64 * 8);
    assert_eq!(run(&mut it, &x), cpu(&model, &x));
}

#[test]
fn activations_too_large_for_one_buffer_are_split_over_several_arenas() {
    // Each 128 KiB tensor fits a 160 KiB buffer, but the RELU's input and output are alive
    // together: one arena cannot hold both, so the partition gets two and still computes.
    let Some(ctx) = device_with_limits(|l| {
        l.max_buffer_size = 160 << 10;
        l.max_storage_buffer_binding_size = l.max_storage_buffer_binding_size.min(160 << 10);
    }) else {
        return;
    };
    let model = builder::unary(builtin::RELU, &[1, 64, 64, 8]).unwrap();
    let gpu = GpuDelegate::new(GpuDelegateOptions::default().context(ctx)).unwrap();
    let memory = gpu.memory_handle();
    let mut it = Interpreter::builder(&model).delegate(gpu).build().unwrap();
    let report = it.delegation_report().clone();
    assert_eq!(report.partitions.len(), 1, "{}", report.to_text());
    let detail = report.partitions[0].detail.clone().unwrap_or_default();
    assert!(detail.contains("in 2 arena buffer(s)"), "{detail}");
    let m = memory.lock().unwrap().clone();
    assert_eq!(m.activation_bytes, 2 * (128 << 10));
    assert_eq!(m.activation_lower_bound_bytes, 2 * (128 << 10));
    let x = ramp(64 * 64 * 8);
    assert_eq!(run(&mut it, &x), cpu(&model, &x));
}

#[test]
fn a_lost_device_fails_that_invoke_and_the_next_one_runs_on_a_new_device() {
    let Some(gpu) = common::gpu_delegate(Precision::F32) else {
        return;
    };
    let ctx = gpu.context().clone();
    let model = conv_model();
    let x = ramp(8 * 8 * 4);
    let mut it = Interpreter::builder(&model).delegate(gpu).build().unwrap();
    assert_eq!(it.delegation_report().partitions.len(), 1);
    let before = run(&mut it, &x);

    ctx.device().destroy();
    it.set_input(0, &x).unwrap();
    match it.invoke() {
        // The loss is noticed while waiting for this invoke's work.
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains("lost"), "{msg}");
        }
        // Or it was already recorded, and the invoke ran on the replacement at once.
        Ok(()) => assert_eq!(it.output::<f32>(0).unwrap(), before),
    }
    assert!(ctx.is_lost());
    for _ in 0..3 {
        assert_eq!(run(&mut it, &x), before);
    }
    let replacement = ctx.recover().unwrap();
    assert!(!replacement.is_lost());
    assert!(!Arc::ptr_eq(&replacement, &ctx));
}

#[test]
fn a_device_lost_while_invoking_in_a_loop_never_panics_or_hangs_and_recovers() {
    let Some(gpu) = common::gpu_delegate(Precision::F32) else {
        return;
    };
    let ctx = gpu.context().clone();
    let model = conv_model();
    let x = ramp(8 * 8 * 4);
    let mut it = Interpreter::builder(&model).delegate(gpu).build().unwrap();
    let expected = run(&mut it, &x);
    let killer = {
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(30));
            ctx.device().destroy();
        })
    };
    let (mut ok, mut failed) = (0, 0);
    let start = std::time::Instant::now();
    while !(ctx.is_lost() && ok > 0 && failed + ok > 20) {
        assert!(start.elapsed().as_secs() < 60, "no recovery after 60 s");
        it.set_input(0, &x).unwrap();
        match it.invoke() {
            Ok(()) => {
                assert_eq!(it.output::<f32>(0).unwrap(), expected);
                ok += 1;
            }
            Err(e) => {
                assert!(!e.to_string().is_empty());
                failed += 1;
            }
        }
    }
    killer.join().unwrap();
    eprintln!("device destroyed mid-loop: {ok} invokes ok, {failed} failed");
    assert!(failed <= 2, "{failed} invokes failed around one loss");
    assert_eq!(run(&mut it, &x), expected);
}

#[test]
fn interpreters_sharing_a_lost_device_move_to_one_replacement() {
    let Some(gpu) = common::gpu_delegate(Precision::F32) else {
        return;
    };
    let ctx = gpu.context().clone();
    let model = conv_model();
    let x = ramp(8 * 8 * 4);
    let mut a = Interpreter::builder(&model).delegate(gpu).build().unwrap();
    let shared = GpuDelegate::new(GpuDelegateOptions::default().context(ctx.clone())).unwrap();
    let mut b = Interpreter::builder(&model)
        .delegate(shared)
        .build()
        .unwrap();
    let expected = run(&mut a, &x);
    ctx.device().destroy();
    for it in [&mut a, &mut b] {
        it.set_input(0, &x).unwrap();
        let _ = it.invoke();
    }
    assert_eq!(run(&mut a, &x), expected);
    assert_eq!(run(&mut b, &x), expected);
    let first = ctx.recover().unwrap();
    assert!(Arc::ptr_eq(&first, &ctx.recover().unwrap()));
}

#[test]
fn an_adopted_device_that_is_lost_reports_it_cannot_be_reopened() {
    let Some(ctx) = device_with_limits(|_| {}) else {
        return;
    };
    let model = conv_model();
    let x = ramp(8 * 8 * 4);
    let gpu = GpuDelegate::new(GpuDelegateOptions::default().context(ctx.clone())).unwrap();
    let mut it = Interpreter::builder(&model).delegate(gpu).build().unwrap();
    run(&mut it, &x);
    ctx.device().destroy();
    for _ in 0..3 {
        it.set_input(0, &x).unwrap();
        let e = it.invoke().unwrap_err().to_string();
        assert!(e.contains("lost"), "{e}");
    }
    let e = ctx.recover().unwrap_err().to_string();
    assert!(e.contains("cannot be reopened"), "{e}");
}

#[test]
fn bad_inputs_on_a_gpu_interpreter_are_the_same_clear_errors() {
    let Some(gpu) = common::gpu_delegate(Precision::F32) else {
        return;
    };
    let model = builder::unary(builtin::RELU, &[1, 4, 4, 3]).unwrap();
    let mut it = Interpreter::builder(&model).delegate(gpu).build().unwrap();
    assert_eq!(it.delegation_report().partitions.len(), 1);
    let mut cpu_it = Interpreter::builder(&model).build().unwrap();
    let pairs = [
        (
            it.set_input::<f32>(0, &[1.0; 5]).unwrap_err().to_string(),
            cpu_it
                .set_input::<f32>(0, &[1.0; 5])
                .unwrap_err()
                .to_string(),
        ),
        (
            it.set_input::<i32>(0, &[1; 48]).unwrap_err().to_string(),
            cpu_it
                .set_input::<i32>(0, &[1; 48])
                .unwrap_err()
                .to_string(),
        ),
        (
            it.set_input_by_name::<f32>("nope", &[0.0; 48])
                .unwrap_err()
                .to_string(),
            cpu_it
                .set_input_by_name::<f32>("nope", &[0.0; 48])
                .unwrap_err()
                .to_string(),
        ),
        (
            it.resize_input(0, &[2, 4, 4, 3]).unwrap_err().to_string(),
            cpu_it
                .resize_input(0, &[2, 4, 4, 3])
                .unwrap_err()
                .to_string(),
        ),
        (
            it.output::<i32>(0).unwrap_err().to_string(),
            cpu_it.output::<i32>(0).unwrap_err().to_string(),
        ),
    ];
    for (gpu_err, cpu_err) in pairs {
        assert_eq!(gpu_err, cpu_err);
    }
    // After the refusals the interpreter still works.
    let x = ramp(48);
    assert_eq!(run(&mut it, &x), run(&mut cpu_it, &x));
}

/// NaN and ±Inf at chosen places of `x`, run on the CPU and on the GPU in `precision`: the
/// GPU's non-finite outputs are where the CPU's are, and the finite ones close.
fn non_finite_agree(model: &Model, n: usize, precision: Precision, tol: f32) {
    let Some(gpu) = common::gpu_delegate(precision) else {
        return;
    };
    let mut x = ramp(n);
    x[0] = f32::NAN;
    x[n / 3] = f32::INFINITY;
    x[n / 2] = f32::NEG_INFINITY;
    let expected = cpu(model, &x);
    let mut it = Interpreter::builder(model).delegate(gpu).build().unwrap();
    assert!(!it.delegation_report().partitions.is_empty());
    let got = run(&mut it, &x);
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        let same = (g.is_nan() && e.is_nan())
            || (g.is_infinite() && g == e)
            || (g.is_finite() && e.is_finite() && (g - e).abs() <= tol * (1.0 + e.abs()));
        assert!(same, "{precision}: element {i}: gpu {g}, cpu {e}");
    }
}

#[test]
fn nan_and_inf_propagate_on_the_gpu_as_on_the_cpu() {
    let relu = builder::unary(builtin::RELU, &[1, 4, 4, 3]).unwrap();
    let softmax = builder::softmax(&[2, 24], 1.0).unwrap();
    for precision in [Precision::F32, Precision::F16] {
        let tol = if precision == Precision::F32 {
            1e-4
        } else {
            1e-2
        };
        non_finite_agree(&relu, 48, precision, tol);
        non_finite_agree(&softmax, 48, precision, tol);
        // CONV_2D with a fused RELU: NaN inputs reach 32 outputs, which stay NaN on the GPU as
        // on the CPU and in TFLite (the shaders' clamps keep NaN explicitly).
        non_finite_agree(&conv_model(), 8 * 8 * 4, precision, tol * 10.0);
    }
}

/// A fresh directory under the system temp dir for one test.
fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("halfgpu-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Builds `model` with a delegate using `cache_dir`, checks the output against the CPU and
/// returns the device's pipeline counters.
fn build_with_cache(model: &Model, dir: &std::path::Path) -> halfgpu::gpu::PipelineStats {
    let gpu = GpuDelegate::new(
        GpuDelegateOptions::default()
            .precision(Precision::F32)
            .cache_dir(dir),
    )
    .unwrap();
    let ctx = gpu.context().clone();
    let mut it = Interpreter::builder(model).delegate(gpu).build().unwrap();
    assert_eq!(
        it.delegation_report().partitions.len(),
        1,
        "the GPU compiled it"
    );
    let x = ramp(8 * 8 * 4);
    let (got, want) = (run(&mut it, &x), cpu(model, &x));
    assert!(close(&got, &want, 1e-4), "GPU {got:?} vs CPU {want:?}");
    ctx.pipeline_stats()
}

#[test]
fn the_pipeline_cache_dir_is_created_and_reused_and_a_damaged_file_only_costs_the_cache() {
    let Some(probe) = common::gpu_delegate(Precision::F32) else {
        return;
    };
    let has_cache = probe
        .context()
        .device()
        .features()
        .contains(wgpu::Features::PIPELINE_CACHE);
    drop(probe);
    let model = conv_model();
    let root = scratch_dir("pipeline-cache");
    let dir = root.join("nested").join("cache");

    let first = build_with_cache(&model, &dir);
    if !has_cache {
        // Metal, DX12: the option is accepted and unused (the log says so).
        assert_eq!(first.cache_file, None);
        let _ = std::fs::remove_dir_all(&root);
        return;
    }
    assert!(dir.is_dir(), "cache_dir is created");
    let file = first.cache_file.clone().expect("a cache file in use");
    assert!(file.starts_with(&dir), "{file:?}");
    assert_eq!(
        first.cache_loaded_bytes, 0,
        "nothing to load the first time"
    );
    assert!(file.is_file(), "saved after compiling");
    assert!(first.cache_saved_bytes > 0);

    let second = build_with_cache(&model, &dir);
    assert_eq!(second.cache_file.as_ref(), Some(&file));
    assert_eq!(second.cache_loaded_bytes, first.cache_saved_bytes, "reused");

    // A damaged file (one byte of the driver data flipped), then one that is not a cache at
    // all: each build still works, loads nothing, and writes a good file again.
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x5a;
    for damaged in [bytes, b"not a pipeline cache".to_vec()] {
        std::fs::write(&file, damaged).unwrap();
        let after = build_with_cache(&model, &dir);
        assert_eq!(after.cache_loaded_bytes, 0, "a damaged file is not loaded");
        assert_eq!(
            build_with_cache(&model, &dir).cache_loaded_bytes,
            first.cache_saved_bytes
        );
    }

    // A file whose checksum is right but whose wgpu header names another driver build (as after
    // a driver update): wgpu falls back to an empty cache and the build works.
    let mut bytes = std::fs::read(&file).unwrap();
    // halfgpu's header: magic (8 bytes), data length (u64), CRC-32 of the data (u32).
    const HEADER: usize = 20;
    bytes[HEADER + 32] ^= 0xff; // wgpu's header: the driver's cache UUID (validation key)
    let checksum = crc32fast::hash(&bytes[HEADER..]);
    bytes[16..HEADER].copy_from_slice(&checksum.to_le_bytes());
    std::fs::write(&file, &bytes).unwrap();
    build_with_cache(&model, &dir);

    // A cache_dir that cannot be created (a path below a regular file): the build works
    // without a cache.
    let blocker = root.join("a-file");
    std::fs::write(&blocker, b"x").unwrap();
    let unusable = build_with_cache(&model, &blocker.join("cache"));
    assert_eq!(unusable.cache_file, None);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn identical_pipelines_are_created_once_per_device_across_partitions_and_delegates() {
    let Some(first) = common::gpu_delegate(Precision::F32) else {
        return;
    };
    let ctx = first.context().clone();
    let model = conv_model();
    let x = ramp(8 * 8 * 4);
    let mut a = Interpreter::builder(&model)
        .delegate(first)
        .build()
        .unwrap();
    let after_first = ctx.pipeline_stats();
    assert!(after_first.pipelines_created >= 1);
    assert_eq!(
        after_first.shader_modules, after_first.pipelines_created,
        "one shader module (the entry point's part of its file) per pipeline"
    );
    assert_eq!(
        after_first.warm_up_dispatches, after_first.pipelines_created,
        "every new pipeline dispatched once on the scratch buffers"
    );
    // A second delegate on the same device compiles its own partition of the same model.
    let second = GpuDelegate::new(
        GpuDelegateOptions::default()
            .precision(Precision::F32)
            .context(ctx.clone()),
    )
    .unwrap();
    let mut b = Interpreter::builder(&model)
        .delegate(second)
        .build()
        .unwrap();
    let after_second = ctx.pipeline_stats();
    assert_eq!(
        after_second.pipelines_created,
        after_first.pipelines_created
    );
    assert_eq!(after_second.shader_modules, after_first.shader_modules);
    assert_eq!(
        after_second.warm_up_dispatches,
        after_first.warm_up_dispatches
    );
    assert!(after_second.pipelines_reused > after_first.pipelines_reused);
    assert_eq!(run(&mut a, &x), run(&mut b, &x));
}
