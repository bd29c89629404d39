//! The GPU delegate: options in TFLite's terms, precision resolution, support decisions (by
//! lowering, so claims and kernels agree) and compilation of partitions into GPU programs.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::delegate::{
    Delegate, DelegateError, DelegateKernel, NodeView, Partition, PartitionOptions,
};

use super::device::{GpuContext, GpuError, GpuOptions, DEFAULT_BACKENDS};
use super::guard::GuardedProgram;
use super::lower::{self, LowerLimits};
use super::pipelines::PipelineCache;
use super::precision::{self, Precision};
use super::program::{GpuProgram, MemoryReport};

/// Options of [`GpuDelegate`], with the meanings TFLite's GPU delegate gives them.
#[derive(Clone)]
pub struct GpuDelegateOptions {
    /// Allow f16 (TFLite's `is_precision_loss_allowed`); default false, as TFLite's C API.
    pub precision_loss_allowed: bool,
    /// An explicit mode, overriding `precision_loss_allowed`.
    pub precision: Option<Precision>,
    /// Keep at most this many partitions (the largest). `None` keeps all of them.
    pub max_delegated_partitions: Option<usize>,
    /// Partitions with fewer nodes stay on the CPU.
    pub min_partition_nodes: usize,
    /// Graphics APIs to look for adapters on (default Vulkan | Metal | DX12).
    pub backends: wgpu::Backends,
    /// Which adapter to prefer when no name is given.
    pub power_preference: wgpu::PowerPreference,
    /// Take the first adapter whose name contains this (case-insensitive).
    pub adapter: Option<String>,
    /// Use this device instead of opening one (apps that already render with wgpu).
    pub context: Option<Arc<GpuContext>>,
    /// A directory for the persistent pipeline cache (created if missing). Where the device
    /// has `wgpu::Features::PIPELINE_CACHE` (Vulkan), pipelines are created through a
    /// `wgpu::PipelineCache` loaded from a file in it named by the adapter
    /// (`wgpu::util::pipeline_cache_key`), and the file is rewritten after a compile that
    /// added pipelines. Elsewhere (Metal, DX12, a shared device without the feature) it is
    /// unused and the log says so. A missing, corrupt or unwritable file never fails the
    /// build: it is logged and pipelines are compiled without it. Default: none.
    pub cache_dir: Option<PathBuf>,
    /// In the f16 modes, re-run a partition in F32 (and keep it there) when it turns finite
    /// inputs into inf or NaN outputs. Default true.
    pub overflow_guard: bool,
    /// Enable `SHADER_F16` on the device when the adapter has it (default true). With false
    /// the device lacks f16 and F16/F32F16 resolve to F32, as on an adapter without it; see
    /// [`GpuDelegate::precision_note`]. Ignored when a shared `context` is given.
    pub request_shader_f16: bool,
    /// Enable `SUBGROUP` on the device when the adapter has it (default true): the 1x1
    /// convolutions then share weight loads across a subgroup (see
    /// [`GpuOptions::request_subgroups`]). Ignored when a shared `context` is given; the
    /// context's [`GpuContext::has_subgroup_kernels`] decides then.
    pub request_subgroups: bool,
    /// What the choice of kernels optimises (TFLite's `inference_preference`): the time of
    /// every invoke (default), or the time to the first answer, build included.
    pub inference_preference: InferencePreference,
}

/// What the GPU delegate optimises when it picks a kernel for an op (TFLite's
/// `TfLiteGpuInferencePreference`). Both preferences run every op the delegate supports, with
/// the same results within each precision's tolerance; they differ in how long the kernels
/// take to compile and to run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InferencePreference {
    /// The delegate serves one invoke, or a few: the kernels that compile fastest, so that
    /// building the model and its first invoke take the least time together. Drivers that
    /// compile kernels with a slow compiler and no cache yet (a software rasterizer on a fresh
    /// machine) gain most; each invoke runs slower (MobileNetV2 on lavapipe: cold build and
    /// first invoke 1.1 -> 0.6 s, steady invokes about 45% slower).
    FastSingleAnswer,
    /// The delegate serves many invokes: the fastest kernels, however long they take to
    /// compile (once per driver install where the driver caches its compiled kernels).
    #[default]
    SustainedSpeed,
}

impl InferencePreference {
    /// Parses `fast_single_answer` / `sustained_speed` (`-` for `_` allowed).
    pub fn parse(s: &str) -> Option<InferencePreference> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "fast_single_answer" => Some(InferencePreference::FastSingleAnswer),
            "sustained_speed" => Some(InferencePreference::SustainedSpeed),
            _ => None,
        }
    }
}

impl std::fmt::Display for InferencePreference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InferencePreference::FastSingleAnswer => "fast_single_answer",
            InferencePreference::SustainedSpeed => "sustained_speed",
        })
    }
}

impl Default for GpuDelegateOptions {
    fn default() -> Self {
        GpuDelegateOptions {
            precision_loss_allowed: false,
            precision: None,
            max_delegated_partitions: None,
            min_partition_nodes: 1,
            backends: DEFAULT_BACKENDS,
            power_preference: wgpu::PowerPreference::HighPerformance,
            adapter: None,
            context: None,
            cache_dir: None,
            overflow_guard: true,
            request_shader_f16: true,
            request_subgroups: true,
            inference_preference: InferencePreference::default(),
        }
    }
}

impl GpuDelegateOptions {
    /// Sets `precision_loss_allowed`.
    pub fn precision_loss_allowed(mut self, allowed: bool) -> Self {
        self.precision_loss_allowed = allowed;
        self
    }
    /// Sets an explicit precision.
    pub fn precision(mut self, precision: Precision) -> Self {
        self.precision = Some(precision);
        self
    }
    /// Sets `max_delegated_partitions`.
    pub fn max_delegated_partitions(mut self, max: Option<usize>) -> Self {
        self.max_delegated_partitions = max;
        self
    }
    /// Picks the adapter by name substring.
    pub fn adapter(mut self, name: impl Into<String>) -> Self {
        self.adapter = Some(name.into());
        self
    }
    /// Turns the FP16 overflow guard on or off.
    pub fn overflow_guard(mut self, on: bool) -> Self {
        self.overflow_guard = on;
        self
    }

    /// Shares an existing device.
    pub fn context(mut self, ctx: Arc<GpuContext>) -> Self {
        self.context = Some(ctx);
        self
    }
    /// Sets `request_shader_f16`.
    pub fn request_shader_f16(mut self, request: bool) -> Self {
        self.request_shader_f16 = request;
        self
    }
    /// Sets `request_subgroups`.
    pub fn request_subgroups(mut self, request: bool) -> Self {
        self.request_subgroups = request;
        self
    }
    /// Sets `cache_dir`, the directory of the persistent pipeline cache.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }
    /// Sets `inference_preference`.
    pub fn inference_preference(mut self, preference: InferencePreference) -> Self {
        self.inference_preference = preference;
        self
    }
}

/// Runs the partitions it claims on a wgpu device.
///
/// ```no_run
/// use halfgpu::gpu::{GpuDelegate, GpuDelegateOptions};
/// use halfgpu::runtime::Interpreter;
///
/// let model = halfgpu::model::read_model_file("model.tflite")?;
/// let gpu = GpuDelegate::new(GpuDelegateOptions::default().precision_loss_allowed(true))?;
/// let mut interpreter = Interpreter::builder(&model).delegate(gpu).build()?;
/// interpreter.input_mut::<f32>(0)?.fill(0.5);
/// interpreter.invoke()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct GpuDelegate {
    ctx: Arc<GpuContext>,
    precision: Precision,
    precision_note: Option<String>,
    options: GpuDelegateOptions,
    pipelines: Arc<PipelineCache>,
    f32_pipelines: Arc<PipelineCache>,
    memory: Arc<Mutex<MemoryReport>>,
}

impl GpuDelegate {
    /// Opens (or adopts) a device and resolves the precision.
    pub fn new(options: GpuDelegateOptions) -> Result<GpuDelegate, GpuError> {
        let ctx = match &options.context {
            Some(c) => c.clone(),
            None => {
                let mut o = GpuOptions::default()
                    .backends(options.backends)
                    .power_preference(options.power_preference)
                    .request_shader_f16(options.request_shader_f16)
                    .request_subgroups(options.request_subgroups);
                if let Some(name) = &options.adapter {
                    o = o.adapter_name(name.clone());
                }
                Arc::new(GpuContext::new(&o)?)
            }
        };
        if let Some(dir) = &options.cache_dir {
            ctx.use_pipeline_cache_dir(dir);
        }
        let (precision, note) = precision::resolve(
            options.precision_loss_allowed,
            options.precision,
            ctx.has_shader_f16(),
        );
        let note = note.map(|n| {
            if options.request_shader_f16 || options.context.is_some() {
                n
            } else {
                format!("{n} (the device was opened with request_shader_f16 = false)")
            }
        });
        if let Some(n) = &note {
            log::warn!("{n}");
        }
        Ok(GpuDelegate {
            ctx,
            precision,
            precision_note: note,
            pipelines: Arc::new(PipelineCache::new(precision)),
            f32_pipelines: Arc::new(PipelineCache::new(Precision::F32)),
            options,
            memory: Arc::default(),
        })
    }

    /// The precision partitions run in, after degradation.
    pub fn effective_precision(&self) -> Precision {
        self.precision
    }

    /// Why the effective precision differs from the requested one, if it does.
    pub fn precision_note(&self) -> Option<&str> {
        self.precision_note.as_deref()
    }

    /// The device in use. After a device loss, partitions compiled earlier move to
    /// [`GpuContext::recover`]'s replacement on their next invoke; this stays the device the
    /// delegate opened until it compiles again.
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// A handle to the memory report, which stays readable after the delegate has been moved
    /// into an interpreter.
    pub fn memory_handle(&self) -> Arc<Mutex<MemoryReport>> {
        self.memory.clone()
    }

    /// GPU memory and upload counts of everything compiled so far.
    pub fn memory_report(&self) -> MemoryReport {
        self.memory.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn limits(&self) -> LowerLimits {
        LowerLimits::of_device(&self.ctx, self.precision, self.options.inference_preference)
    }
}

impl Delegate for GpuDelegate {
    fn name(&self) -> &str {
        "gpu"
    }

    fn supports(&self, node: &NodeView<'_>) -> Result<(), String> {
        lower::lower(node, &self.limits()).map(|_| ())
    }

    fn partition_options(&self) -> PartitionOptions {
        PartitionOptions {
            max_delegated_partitions: self.options.max_delegated_partitions,
            min_partition_nodes: self.options.min_partition_nodes,
        }
    }

    fn compile(&mut self, partition: &Partition) -> Result<Box<dyn DelegateKernel>, DelegateError> {
        if self.ctx.is_lost() {
            self.ctx = self.ctx.recover()?;
            self.pipelines = Arc::new(PipelineCache::new(self.precision));
        }
        let mut report = MemoryReport::default();
        let mut program = GpuProgram::compile(
            self.ctx.clone(),
            self.precision,
            self.options.inference_preference,
            &self.pipelines,
            partition,
            &mut report,
        )?;
        self.ctx.save_pipeline_cache();
        if let Some(note) = &self.precision_note {
            program.add_note(note);
        }
        if let Ok(mut m) = self.memory.lock() {
            m.add(&report);
        }
        if self.options.overflow_guard && self.precision.stores_f16() {
            return Ok(Box::new(GuardedProgram::new(
                program,
                partition.clone(),
                self.ctx.clone(),
                self.f32_pipelines.clone(),
                self.memory.clone(),
            )));
        }
        Ok(Box::new(program))
    }
}
