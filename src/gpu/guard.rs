//! The FP16 overflow guard: a partition running with f16 storage that turns finite inputs into
//! infinite or NaN outputs is re-run in F32 for that invoke, and stays in F32 from then on.
//! TFLite's GPU delegate has no such check; its users see NaN and switch precision by hand.

use std::sync::{Arc, Mutex};

use crate::cpu::{TensorIn, TensorOut};
use crate::delegate::{DelegateError, DelegateKernel, OpTiming, Partition};

use super::device::GpuContext;
use super::pipelines::PipelineCache;
use super::precision::Precision;
use super::program::{GpuProgram, MemoryReport};

/// A compiled partition with its F32 fallback (compiled on first need).
pub(crate) struct GuardedProgram {
    primary: GpuProgram,
    fallback: Option<GpuProgram>,
    partition: Partition,
    ctx: Arc<GpuContext>,
    f32_pipelines: Arc<PipelineCache>,
    memory: Arc<Mutex<MemoryReport>>,
}

fn all_finite(bytes: &[u8]) -> bool {
    bytemuck::try_cast_slice::<u8, f32>(bytes).map_or(true, |v| v.iter().all(|x| x.is_finite()))
}

impl GuardedProgram {
    pub(crate) fn new(
        primary: GpuProgram,
        partition: Partition,
        ctx: Arc<GpuContext>,
        f32_pipelines: Arc<PipelineCache>,
        memory: Arc<Mutex<MemoryReport>>,
    ) -> Self {
        GuardedProgram {
            primary,
            fallback: None,
            partition,
            ctx,
            f32_pipelines,
            memory,
        }
    }

    /// Runs the F32 program (compiling it first if needed) on the same inputs.
    fn run_fallback(
        &mut self,
        inputs: &[TensorIn<'_>],
        outputs: &mut [TensorOut<'_>],
    ) -> Result<(), DelegateError> {
        if self.fallback.is_none() {
            let mut report = MemoryReport::default();
            let program = GpuProgram::compile(
                self.ctx.clone(),
                Precision::F32,
                self.primary.preference(),
                &self.f32_pipelines,
                &self.partition,
                &mut report,
            )?;
            self.ctx.save_pipeline_cache();
            if let Ok(mut m) = self.memory.lock() {
                m.overflow_fallbacks += 1;
                m.add_buffers(&report);
            }
            log::warn!(
                "a {} partition of {} node(s) produced inf/NaN from finite inputs (f16 overflow); \
                 re-running it in F32 and keeping it in F32",
                self.primary.precision(),
                self.partition.node_indices.len()
            );
            self.fallback = Some(program);
        }
        match &mut self.fallback {
            Some(f) => f.invoke(inputs, outputs),
            None => Err("the F32 fallback is missing".into()),
        }
    }
}

impl DelegateKernel for GuardedProgram {
    fn invoke(
        &mut self,
        inputs: &[TensorIn<'_>],
        outputs: &mut [TensorOut<'_>],
    ) -> Result<(), DelegateError> {
        if let Some(f) = &mut self.fallback {
            return f.invoke(inputs, outputs);
        }
        self.primary.invoke(inputs, outputs)?;
        let overflowed = self.primary.precision().stores_f16()
            && inputs.iter().all(|t| all_finite(t.bytes))
            && !outputs.iter().all(|t| all_finite(t.bytes));
        if overflowed {
            self.run_fallback(inputs, outputs)?;
        }
        Ok(())
    }

    fn invoke_profiled(
        &mut self,
        inputs: &[TensorIn<'_>],
        outputs: &mut [TensorOut<'_>],
    ) -> Result<Vec<OpTiming>, DelegateError> {
        match &mut self.fallback {
            Some(f) => f.invoke_profiled(inputs, outputs),
            None => self.primary.invoke_profiled(inputs, outputs),
        }
    }

    fn describe(&self) -> Option<String> {
        match &self.fallback {
            Some(f) => f
                .describe()
                .map(|d| format!("{d} (fell back from f16 after an overflow)")),
            None => self.primary.describe(),
        }
    }
}
