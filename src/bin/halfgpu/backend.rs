//! The options every command shares for choosing where a model runs.

use halfgpu::gpu::{GpuDelegate, GpuDelegateOptions, InferencePreference, Precision};
use halfgpu::model::Model;
use halfgpu::runtime::Interpreter;
use std::time::Instant;

/// Where to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DelegateKind {
    /// The CPU kernels only.
    Cpu,
    /// The GPU delegate, with CPU fallback for what it does not support.
    Gpu,
}

/// Options for the backend, shared by `run`, `inspect`, `bench` and `profile`.
#[derive(Clone, Debug, clap::Args)]
pub struct BackendArgs {
    /// Run on the CPU or with the GPU delegate.
    #[arg(long, value_enum, default_value_t = DelegateKind::Cpu)]
    pub delegate: DelegateKind,
    /// GPU precision: f32, f32f16 (f16 storage, f32 math) or f16. Default: f32, or f16 with
    /// --precision-loss-allowed.
    #[arg(long, value_parser = parse_precision)]
    pub precision: Option<Precision>,
    /// Allow f16 on the GPU (TFLite's is_precision_loss_allowed).
    #[arg(long)]
    pub precision_loss_allowed: bool,
    /// Use the first GPU adapter whose name contains this text.
    #[arg(long)]
    pub adapter: Option<String>,
    /// Keep the GPU's persistent pipeline cache in this directory (created if missing; used
    /// where the adapter offers a pipeline cache, i.e. Vulkan).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<std::path::PathBuf>,
    /// Delegate at most this many partitions (the largest).
    #[arg(long)]
    pub max_partitions: Option<usize>,
    /// CPU threads for the nodes that run on the CPU.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// What the GPU kernels are chosen for: fast-single-answer (those that compile fastest,
    /// for the shortest build plus first invoke) or sustained-speed (the fastest ones).
    /// Default: fast-single-answer for `run`, which invokes once; sustained-speed for the
    /// other commands.
    #[arg(long, value_parser = parse_preference)]
    pub preference: Option<InferencePreference>,
}

fn parse_precision(s: &str) -> Result<Precision, String> {
    Precision::parse(s).ok_or_else(|| format!("unknown precision {s:?}: use f32, f32f16 or f16"))
}

fn parse_preference(s: &str) -> Result<InferencePreference, String> {
    InferencePreference::parse(s).ok_or_else(|| {
        format!("unknown preference {s:?}: use fast-single-answer or sustained-speed")
    })
}

/// What the GPU side reports after building.
pub struct GpuInfo {
    pub adapter: String,
    pub precision: Precision,
    pub preference: InferencePreference,
    pub note: Option<String>,
    pub memory: std::sync::Arc<std::sync::Mutex<halfgpu::gpu::MemoryReport>>,
    /// The device, to count queue submissions.
    pub context: std::sync::Arc<halfgpu::gpu::GpuContext>,
    /// Milliseconds spent opening the device (`GpuDelegate::new`).
    pub device_ms: f64,
}

/// Wall-clock milliseconds of [`BackendArgs::load`].
pub struct LoadTimes {
    /// Reading and parsing the model file and building its graph (the weights decoded).
    pub parse_ms: f64,
    /// Planning and compiling, after both the model and the device were ready.
    pub build_ms: f64,
    /// From the start to a built interpreter: parsing and opening the device overlap.
    pub total_ms: f64,
}

/// The opened GPU delegate and what it reports, before any model is built with it.
type OpenedGpu = (GpuDelegate, GpuInfo);

impl BackendArgs {
    /// These options with `preference` where none was given.
    pub fn preferring(&self, preference: InferencePreference) -> BackendArgs {
        BackendArgs {
            preference: Some(self.preference.unwrap_or(preference)),
            ..self.clone()
        }
    }

    /// Reads the model at `path` and builds its interpreter, opening the GPU device on a second
    /// thread meanwhile: reading the model and building its graph do not need the device, and
    /// opening a Vulkan device takes about as long.
    pub fn load(
        &self,
        path: &std::path::Path,
    ) -> Result<(Interpreter, Option<GpuInfo>, LoadTimes), Box<dyn std::error::Error>> {
        let started = Instant::now();
        let (builder, gpu) = std::thread::scope(|scope| {
            let gpu = scope.spawn(|| self.open_gpu());
            let builder = halfgpu::model::read_model_file(path)
                .map(|model| Interpreter::builder(&model).threads(self.threads));
            let parse_ms = started.elapsed().as_secs_f64() * 1e3;
            let gpu = gpu
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (builder.map(|b| (b, parse_ms)), gpu)
        });
        let (builder, parse_ms) = builder?;
        let gpu = gpu?;
        let build_started = Instant::now();
        let (it, info) = match gpu {
            None => (builder.build()?, None),
            Some((gpu, info)) => (builder.delegate(gpu).build()?, Some(info)),
        };
        let times = LoadTimes {
            parse_ms,
            build_ms: build_started.elapsed().as_secs_f64() * 1e3,
            total_ms: started.elapsed().as_secs_f64() * 1e3,
        };
        Ok((it, info, times))
    }

    /// Builds the interpreter these options describe.
    pub fn build(
        &self,
        model: &Model,
    ) -> Result<(Interpreter, Option<GpuInfo>), Box<dyn std::error::Error>> {
        let gpu = self.open_gpu()?;
        self.build_with(model, gpu)
    }

    /// Opens the GPU delegate when these options ask for one.
    fn open_gpu(&self) -> Result<Option<OpenedGpu>, halfgpu::gpu::GpuError> {
        if self.delegate == DelegateKind::Cpu {
            return Ok(None);
        }
        let mut options = GpuDelegateOptions::default()
            .precision_loss_allowed(self.precision_loss_allowed)
            .max_delegated_partitions(self.max_partitions);
        options.precision = self.precision;
        if let Some(a) = &self.adapter {
            options = options.adapter(a.clone());
        }
        if let Some(dir) = &self.cache_dir {
            options = options.cache_dir(dir.clone());
        }
        if let Some(preference) = self.preference {
            options = options.inference_preference(preference);
        }
        let preference = options.inference_preference;
        let started = Instant::now();
        let gpu = GpuDelegate::new(options)?;
        let info = GpuInfo {
            adapter: gpu.context().summary(),
            precision: gpu.effective_precision(),
            preference,
            note: gpu.precision_note().map(str::to_string),
            memory: gpu.memory_handle(),
            context: gpu.context().clone(),
            device_ms: started.elapsed().as_secs_f64() * 1e3,
        };
        Ok(Some((gpu, info)))
    }

    fn build_with(
        &self,
        model: &Model,
        gpu: Option<OpenedGpu>,
    ) -> Result<(Interpreter, Option<GpuInfo>), Box<dyn std::error::Error>> {
        let builder = Interpreter::builder(model).threads(self.threads);
        match gpu {
            None => Ok((builder.build()?, None)),
            Some((gpu, info)) => Ok((builder.delegate(gpu).build()?, Some(info))),
        }
    }
}
