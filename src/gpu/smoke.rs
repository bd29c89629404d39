//! A tiny end-to-end check of the half-precision path: upload f16 values, compute
//! `y = x * 2 + 1` in f16 on the GPU, read the result back.
//!
//! It proves that the device accepts `enable f16;`, that f16 storage buffers round-trip,
//! and that submission, polling and buffer mapping work on this machine.

use std::sync::mpsc;
use std::time::Duration;

use half::f16;

use super::device::{GpuContext, GpuError};

/// The WGSL source of the smoke shader (`shaders/smoke.wgsl`).
pub const SMOKE_WGSL: &str = include_str!("../../shaders/smoke.wgsl");

/// The shader's `@workgroup_size` in x.
pub const SMOKE_WORKGROUP_SIZE: u32 = 64;

/// How long to wait for the GPU before giving up with [`GpuError::Poll`].
pub(crate) const WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// What the shader computes for one element, done in f16 on the host.
pub fn smoke_reference(x: f16) -> f16 {
    x * f16::from_f32(2.0) + f16::ONE
}

/// Runs the smoke shader over `input` and returns `x * 2 + 1` for every element.
///
/// # Errors
/// [`GpuError::MissingFeature`] when the device was opened without `SHADER_F16`,
/// [`GpuError::LimitExceeded`] when `input` is too long for one binding or one dispatch,
/// [`GpuError::Operation`] when wgpu rejects a step, [`GpuError::Poll`] or
/// [`GpuError::Map`] when the result cannot be read back, [`GpuError::DeviceLost`] when the
/// device is gone.
pub fn run_f16_smoke(ctx: &GpuContext, input: &[f16]) -> Result<Vec<f16>, GpuError> {
    if !ctx.has_shader_f16() {
        return Err(GpuError::MissingFeature {
            adapter: ctx.adapter_name().to_owned(),
            feature: "SHADER_F16",
        });
    }
    fail_if_lost(ctx)?;
    if input.is_empty() {
        return Ok(Vec::new());
    }

    // Buffer sizes and copies go in whole 4-byte words: pad to an even number of halves.
    let padded = input.len().next_multiple_of(2);
    let size = padded as u64 * 2;
    let limits = ctx.limits();
    if size > limits.max_storage_buffer_binding_size {
        return Err(GpuError::LimitExceeded {
            what: "f16 smoke input (bytes in one storage binding)",
            requested: size,
            limit: limits.max_storage_buffer_binding_size,
        });
    }
    let groups = (padded as u64).div_ceil(u64::from(SMOKE_WORKGROUP_SIZE));
    if groups > u64::from(limits.max_workgroups_per_dimension) {
        return Err(GpuError::LimitExceeded {
            what: "f16 smoke input (workgroups in one dispatch)",
            requested: groups,
            limit: u64::from(limits.max_workgroups_per_dimension),
        });
    }
    let mut data = input.to_vec();
    data.resize(padded, f16::ZERO);

    let device = ctx.device();
    let queue = ctx.queue();
    let scopes = Scopes::push(device);

    let new_buffer = |label: &'static str, usage: wgpu::BufferUsages| {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage,
            mapped_at_creation: false,
        })
    };
    let xs = new_buffer(
        "smoke xs",
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
    );
    let ys = new_buffer(
        "smoke ys",
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    );
    let staging = new_buffer(
        "smoke staging",
        wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
    );
    queue.write_buffer(&xs, 0, bytemuck::cast_slice(&data));

    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("smoke.wgsl"),
        source: wgpu::ShaderSource::Wgsl(SMOKE_WGSL.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("smoke"),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("smoke"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: xs.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: ys.as_entire_binding(),
            },
        ],
    });

    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("smoke"),
    });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("smoke"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        // `groups` fits: it is at most max_workgroups_per_dimension, a u32.
        pass.dispatch_workgroups(groups as u32, 1, 1);
    }
    encoder.copy_buffer_to_buffer(&ys, 0, &staging, 0, size);
    let submission = queue.submit([encoder.finish()]);
    scopes.pop("running the f16 smoke shader")?;

    let out = read_back(ctx, &staging, submission, "smoke staging")?;
    let mut out: Vec<f16> = bytemuck::pod_collect_to_vec(&out);
    out.truncate(input.len());
    Ok(out)
}

/// Maps `buffer` after `submission` has finished and copies its bytes out.
fn read_back(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    submission: wgpu::SubmissionIndex,
    label: &str,
) -> Result<Vec<u8>, GpuError> {
    let (tx, rx) = mpsc::channel();
    buffer.map_async(wgpu::MapMode::Read, .., move |result| {
        // The receiver only goes away once we stopped waiting; nothing to report then.
        let _ = tx.send(result);
    });
    let waited = ctx.device().poll(wgpu::PollType::Wait {
        submission_index: Some(submission),
        timeout: Some(WAIT_TIMEOUT),
    });
    fail_if_lost(ctx)?;
    waited?;
    let mapped = match rx.try_recv() {
        Ok(result) => result,
        // Polling until the submission finished should have run the callback; make sure.
        Err(_) => {
            ctx.device().poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: Some(WAIT_TIMEOUT),
            })?;
            rx.try_recv().map_err(|_| GpuError::Map {
                label: label.to_owned(),
                message: "the map callback never ran".to_owned(),
            })?
        }
    };
    mapped.map_err(|e| GpuError::Map {
        label: label.to_owned(),
        message: e.to_string(),
    })?;
    let bytes = {
        let view = buffer.get_mapped_range(..).map_err(|e| GpuError::Map {
            label: label.to_owned(),
            message: e.to_string(),
        })?;
        view.to_vec()
    };
    buffer.unmap();
    Ok(bytes)
}

pub(crate) fn fail_if_lost(ctx: &GpuContext) -> Result<(), GpuError> {
    if ctx.is_lost() {
        ctx.check()?;
    }
    Ok(())
}

/// Error scopes around a group of operations, so their errors come back as [`GpuError`]
/// instead of reaching the uncaptured-error handler.
pub(crate) struct Scopes {
    // Declared innermost first: fields drop in declaration order, and wgpu panics unless
    // scopes are popped in reverse order of their pushes, so a `Scopes` dropped without `pop`
    // (an early return between push and pop) must drop `internal` first.
    internal: wgpu::ErrorScopeGuard,
    out_of_memory: wgpu::ErrorScopeGuard,
    validation: wgpu::ErrorScopeGuard,
}

impl Scopes {
    pub(crate) fn push(device: &wgpu::Device) -> Self {
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out_of_memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let internal = device.push_error_scope(wgpu::ErrorFilter::Internal);
        Self {
            validation,
            out_of_memory,
            internal,
        }
    }

    /// Pops the scopes (innermost first) and returns the first error any of them caught.
    pub(crate) fn pop(self, context: &str) -> Result<(), GpuError> {
        let internal = pollster::block_on(self.internal.pop());
        let out_of_memory = pollster::block_on(self.out_of_memory.pop());
        let validation = pollster::block_on(self.validation.pop());
        match validation.or(out_of_memory).or(internal) {
            None => Ok(()),
            Some(error) => Err(GpuError::Operation {
                context: context.to_owned(),
                message: error.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoke_shader_validates_with_naga() {
        crate::gpu::shader::validate_wgsl("smoke.wgsl", SMOKE_WGSL).expect("smoke.wgsl is valid");
    }

    #[test]
    fn smoke_shader_declares_the_workgroup_size_the_host_assumes() {
        let module = naga::front::wgsl::parse_str(SMOKE_WGSL).expect("parses");
        let main = module
            .entry_points
            .iter()
            .find(|e| e.name == "main")
            .expect("has main");
        assert_eq!(main.workgroup_size, [SMOKE_WORKGROUP_SIZE, 1, 1]);
    }

    /// An early return between push and pop drops the guards; wgpu panics unless they go in
    /// reverse order of the pushes.
    #[test]
    fn scopes_dropped_without_pop_do_not_panic() {
        let ctx = match crate::gpu::GpuContext::new(&crate::gpu::GpuOptions::default()) {
            Ok(ctx) => ctx,
            Err(e) => {
                assert!(std::env::var("CI").is_err(), "no GPU under CI: {e}");
                eprintln!("skipped: {e}");
                return;
            }
        };
        drop(Scopes::push(ctx.device()));
        let outer = Scopes::push(ctx.device());
        drop(Scopes::push(ctx.device()));
        assert!(outer.pop("outer scope after a dropped inner one").is_ok());
    }

    #[test]
    fn reference_is_exact_for_small_values() {
        for (x, y) in [
            (0.0, 1.0),
            (1.0, 3.0),
            (-0.5, 0.0),
            (1.5, 4.0),
            (-3.0, -5.0),
        ] {
            assert_eq!(smoke_reference(f16::from_f32(x)), f16::from_f32(y));
        }
    }
}
