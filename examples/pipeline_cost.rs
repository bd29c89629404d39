//! What creating each kernel's pipeline costs on the default adapter, one at a time: WGSL
//! parsing of the entry point's part of its file (naga) and the driver's pipeline creation
//! (on lavapipe, most of it turning the SPIR-V into optimised NIR). The best of three per
//! kernel, F32; `conv.wgsl` holds the kernels shared by both convolution modules and the
//! per-lane unrolled ones of devices without subgroups.
//!
//! `cargo run --release --example pipeline_cost [-- ENTRY...]`
//!
//! halfgpu creates a model's pipelines on several threads, so their times in a build
//! (`RUST_LOG=halfgpu=debug halfgpu bench ...`) include contention; these do not.

use std::time::Instant;

use halfgpu::gpu::shaders::ShaderFile;
use halfgpu::gpu::{GpuContext, GpuOptions, Precision};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let only: Vec<String> = std::env::args().skip(1).collect();
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
            for _ in 0..3 {
                let started = Instant::now();
                let module = naga::front::wgsl::parse_str(&source)
                    .map_err(|e| format!("{entry}: {}", e.emit_to_string(&source)))?;
                parse_ms = parse_ms.min(started.elapsed().as_secs_f64() * 1e3);
                let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(entry),
                    source: wgpu::ShaderSource::Naga(std::borrow::Cow::Owned(module)),
                });
                let started = Instant::now();
                let _pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(entry),
                    layout: None,
                    module: &shader,
                    entry_point: Some(entry),
                    compilation_options: Default::default(),
                    cache: None,
                });
                pipeline_ms = pipeline_ms.min(started.elapsed().as_secs_f64() * 1e3);
            }
            rows.push((pipeline_ms, parse_ms, source.len(), file.file_name(), entry));
        }
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("{}", ctx.summary());
    println!("pipeline ms  parse ms  WGSL bytes  kernel");
    for (pipeline_ms, parse_ms, bytes, file, entry) in rows {
        println!("{pipeline_ms:11.1}  {parse_ms:8.1}  {bytes:10}  {file}:{entry}");
    }
    Ok(())
}
