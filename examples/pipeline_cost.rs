//! What creating each kernel's pipeline costs on the default adapter, one at a time: WGSL
//! parsing of the entry point's part of its file (naga) and the driver's pipeline creation
//! (on lavapipe, most of it turning the SPIR-V into optimised NIR). The best of three per
//! kernel, F32; `conv.wgsl` holds the kernels shared by both convolution modules and the
//! per-lane unrolled ones of devices without subgroups.
//!
//! `cargo run --release --example pipeline_cost [-- [--dispatch] ENTRY...]`
//!
//! With `--dispatch`, each kernel is also dispatched once (one workgroup on zero-filled
//! storage buffers, every uniform word 16) and that first dispatch timed: where the driver
//! compiles on first dispatch (lavapipe's llvmpipe), that is its JIT with
//! `MESA_SHADER_CACHE_DISABLE=true`, or the load from its disk cache without. The uniforms
//! are not zero because lavapipe specialises a kernel on the uniforms its branches and loop
//! bounds read when that halves its code, which zeroed sizes (an early return) always do: the
//! time would be that of a dead kernel.
//!
//! halfgpu creates a model's pipelines on several threads, so their times in a build
//! (`RUST_LOG=halfgpu=debug halfgpu bench ...`) include contention; these do not.

use std::time::Instant;

use halfgpu::gpu::shaders::ShaderFile;
use halfgpu::gpu::{GpuContext, GpuOptions, Precision};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut only: Vec<String> = std::env::args().skip(1).collect();
    let dispatch = only.iter().any(|a| a == "--dispatch");
    only.retain(|a| a != "--dispatch");
    let ctx = GpuContext::new(&GpuOptions::default())?;
    let device = ctx.device();
    let mut rows = Vec::new();
    for file in ShaderFile::ALL {
        if file == ShaderFile::ConvSubgroup && !ctx.has_subgroup_kernels() {
            continue;
        }
        for &entry in file.entries() {
            if !only.is_empty() && !only.iter().any(|o| o == entry) {
                continue;
            }
            let source = file.entry_source(Precision::F32, entry);
            let (mut parse_ms, mut pipeline_ms) = (f64::MAX, f64::MAX);
            let mut dispatch_ms = None;
            for rep in 0..3 {
                let started = Instant::now();
                let module = naga::front::wgsl::parse_str(&source)
                    .map_err(|e| format!("{entry}: {}", e.emit_to_string(&source)))?;
                parse_ms = parse_ms.min(started.elapsed().as_secs_f64() * 1e3);
                let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(entry),
                    source: wgpu::ShaderSource::Naga(std::borrow::Cow::Owned(module)),
                });
                let started = Instant::now();
                let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(entry),
                    layout: None,
                    module: &shader,
                    entry_point: Some(entry),
                    compilation_options: Default::default(),
                    cache: None,
                });
                pipeline_ms = pipeline_ms.min(started.elapsed().as_secs_f64() * 1e3);
                if dispatch && rep == 0 {
                    dispatch_ms = Some(first_dispatch(&ctx, &source, entry, &pipeline)?);
                }
            }
            rows.push((
                pipeline_ms,
                parse_ms,
                dispatch_ms,
                source.len(),
                file.file_name(),
                entry,
            ));
        }
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("{}", ctx.summary());
    println!("pipeline ms  parse ms  first dispatch ms  WGSL bytes  kernel");
    for (pipeline_ms, parse_ms, dispatch_ms, bytes, file, entry) in rows {
        let dispatch_ms = dispatch_ms.map_or("-".to_owned(), |d| format!("{d:.1}"));
        println!(
            "{pipeline_ms:11.1}  {parse_ms:8.1}  {dispatch_ms:>17}  {bytes:10}  {file}:{entry}"
        );
    }
    Ok(())
}

/// Dispatches one workgroup of `pipeline` on buffers bound as its entry point uses them
/// (storage zero-filled, uniforms all 16) and waits: milliseconds from the submission to its
/// completion.
fn first_dispatch(
    ctx: &GpuContext,
    source: &str,
    entry: &str,
    pipeline: &wgpu::ComputePipeline,
) -> Result<f64, Box<dyn std::error::Error>> {
    let device = ctx.device();
    let module = naga::front::wgsl::parse_str(source).map_err(|e| e.emit_to_string(source))?;
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .map_err(|e| e.emit_to_string(source))?;
    let index = module
        .entry_points
        .iter()
        .position(|e| e.name == entry)
        .ok_or("no such entry point")?;
    let buffer = |size: u64, usage| {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size,
            usage,
            mapped_at_creation: false,
        })
    };
    let storage = buffer(1 << 16, wgpu::BufferUsages::STORAGE);
    let uniform = buffer(
        4 << 10,
        wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
    );
    ctx.queue()
        .write_buffer(&uniform, 0, bytemuck::cast_slice(&[16u32; 1024]));
    let entries: Vec<wgpu::BindGroupEntry> = module
        .global_variables
        .iter()
        .filter(|(handle, _)| !info.get_entry_point(index)[*handle].is_empty())
        .filter_map(|(_, var)| {
            let binding = var.binding.as_ref()?.binding;
            let resource = match var.space {
                naga::AddressSpace::Uniform => uniform.as_entire_binding(),
                _ => storage.as_entire_binding(),
            };
            Some(wgpu::BindGroupEntry { binding, resource })
        })
        .collect();
    let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    });
    let started = Instant::now();
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &group, &[]);
        pass.dispatch_workgroups(1, 1, 1);
    }
    ctx.queue().submit([encoder.finish()]);
    device.poll(wgpu::PollType::wait_indefinitely())?;
    Ok(started.elapsed().as_secs_f64() * 1e3)
}
