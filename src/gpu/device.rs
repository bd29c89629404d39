//! Opening (or adopting) a wgpu device, describing it, and keeping a record of what goes
//! wrong with it after creation (device loss, errors no error scope caught).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::pipelines::{PipelineStats, PipelineStore};

/// Backends tried when the options name none: the native desktop APIs.
pub const DEFAULT_BACKENDS: wgpu::Backends = wgpu::Backends::VULKAN
    .union(wgpu::Backends::METAL)
    .union(wgpu::Backends::DX12);

/// How many uncaptured error messages are kept before further ones are only counted.
const MAX_RECORDED_ERRORS: usize = 32;

/// How to pick and open a GPU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuOptions {
    /// Which graphics APIs to look for adapters on. Default: Vulkan, Metal and DX12.
    pub backends: wgpu::Backends,
    /// Which kind of adapter to prefer when no name is given. Default: high performance.
    pub power_preference: wgpu::PowerPreference,
    /// When set, enumerate the adapters and take the first whose name contains this text,
    /// compared case-insensitively (`power_preference` is then ignored).
    pub adapter_name: Option<String>,
    /// Whether to enable `SHADER_F16` on the device when the adapter offers it. Default: yes.
    /// A device without it still opens; [`GpuContext::has_shader_f16`] says which one you got.
    pub request_shader_f16: bool,
    /// Whether to enable `SUBGROUP` on the device when the adapter offers it with subgroups of
    /// at least [`SUBGROUP_KERNEL_LANES`] lanes. Default: yes. The 1x1 convolutions then share
    /// weight loads across a subgroup; without it they use kernels that need no subgroups.
    /// [`GpuContext::has_subgroup_kernels`] says which one you got.
    pub request_subgroups: bool,
}

/// Lanes that the subgroup kernels (`shaders/conv_subgroup*.wgsl`) share weight loads across:
/// they are used only on devices whose subgroups always have at least this many.
pub const SUBGROUP_KERNEL_LANES: u32 = 8;

impl Default for GpuOptions {
    fn default() -> Self {
        Self {
            backends: DEFAULT_BACKENDS,
            power_preference: wgpu::PowerPreference::HighPerformance,
            adapter_name: None,
            request_shader_f16: true,
            request_subgroups: true,
        }
    }
}

impl GpuOptions {
    /// Overrides fields from wgpu's usual environment variables, where they are set:
    /// `WGPU_BACKEND` (comma list such as `vulkan,metal`), `WGPU_POWER_PREF`
    /// (`low`, `high`, `none`) and `WGPU_ADAPTER_NAME` (name substring).
    #[must_use]
    pub fn with_env(mut self) -> Self {
        if let Some(backends) = wgpu::Backends::from_env() {
            self.backends = backends;
        }
        if let Some(pref) = wgpu::PowerPreference::from_env() {
            self.power_preference = pref;
        }
        if let Ok(name) = std::env::var("WGPU_ADAPTER_NAME") {
            if !name.trim().is_empty() {
                self.adapter_name = Some(name);
            }
        }
        self
    }

    /// Sets [`GpuOptions::backends`].
    #[must_use]
    pub fn backends(mut self, backends: wgpu::Backends) -> Self {
        self.backends = backends;
        self
    }

    /// Sets [`GpuOptions::power_preference`].
    #[must_use]
    pub fn power_preference(mut self, pref: wgpu::PowerPreference) -> Self {
        self.power_preference = pref;
        self
    }

    /// Sets [`GpuOptions::adapter_name`].
    #[must_use]
    pub fn adapter_name(mut self, name: impl Into<String>) -> Self {
        self.adapter_name = Some(name.into());
        self
    }

    /// Sets [`GpuOptions::request_shader_f16`].
    #[must_use]
    pub fn request_shader_f16(mut self, request: bool) -> Self {
        self.request_shader_f16 = request;
        self
    }

    /// Sets [`GpuOptions::request_subgroups`].
    #[must_use]
    pub fn request_subgroups(mut self, request: bool) -> Self {
        self.request_subgroups = request;
        self
    }
}

/// Everything that can go wrong on the GPU side.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GpuError {
    /// No adapter exists on the backends that were tried.
    #[error(
        "no GPU adapter found (tried backends: {}); {}",
        backend_list(*.tried),
        found_and_hint(.available)
    )]
    NoAdapter {
        /// The backends that were searched.
        tried: wgpu::Backends,
        /// Adapters that do exist on any backend this build supports, as `name (backend, type)`.
        available: Vec<String>,
    },
    /// Adapters exist, but none has a name containing the requested text.
    #[error(
        "no GPU adapter name contains {wanted:?} (tried backends: {}); {}",
        backend_list(*.tried),
        found_and_hint(.available)
    )]
    AdapterNotFound {
        /// The requested name substring.
        wanted: String,
        /// The backends that were searched.
        tried: wgpu::Backends,
        /// The adapters that were found, as `name (backend, type)`.
        available: Vec<String>,
    },
    /// The adapter refused to create a device.
    #[error("GPU adapter {adapter:?} refused to create a device: {source}")]
    RequestDevice {
        /// Name of the adapter.
        adapter: String,
        /// What wgpu reported.
        #[source]
        source: wgpu::RequestDeviceError,
    },
    /// The device lacks a feature the operation needs.
    #[error("GPU adapter {adapter:?} does not support {feature}")]
    MissingFeature {
        /// Name of the adapter.
        adapter: String,
        /// The wgpu feature, e.g. `SHADER_F16`.
        feature: &'static str,
    },
    /// A request is larger than the device allows.
    #[error("{what} needs {requested}, but the device allows at most {limit}")]
    LimitExceeded {
        /// What was being sized.
        what: &'static str,
        /// The size asked for.
        requested: u64,
        /// The device's limit.
        limit: u64,
    },
    /// A WGSL shader failed to parse or validate.
    #[error("shader {label}: {message}")]
    Shader {
        /// The shader's label (usually its file name).
        label: String,
        /// The diagnostic, with source location where known.
        message: String,
    },
    /// wgpu reported an error inside an error scope around an operation.
    #[error("GPU error while {context}: {message}")]
    Operation {
        /// What was being done.
        context: String,
        /// What wgpu reported.
        message: String,
    },
    /// The device was lost (driver reset, `destroy`, ...). It cannot be used any more.
    #[error("GPU device lost ({reason}): {message}")]
    DeviceLost {
        /// wgpu's reason, e.g. `Unknown` or `Destroyed`.
        reason: String,
        /// The driver's message.
        message: String,
    },
    /// wgpu reported errors that no error scope caught; the first is kept in full.
    #[error("uncaptured GPU error: {message}{}", more_errors(*.more))]
    Uncaptured {
        /// The first recorded error.
        message: String,
        /// How many more were recorded after it.
        more: usize,
    },
    /// Waiting for submitted GPU work failed or timed out.
    #[error("waiting for the GPU failed: {0}")]
    Poll(#[from] wgpu::PollError),
    /// A buffer could not be mapped for reading.
    #[error("mapping GPU buffer {label:?} failed: {message}")]
    Map {
        /// The buffer's label.
        label: String,
        /// What went wrong.
        message: String,
    },
}

fn backend_list(backends: wgpu::Backends) -> String {
    let names: Vec<String> = backends
        .iter_names()
        .map(|(name, _)| name.to_ascii_lowercase())
        .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn found_and_hint(available: &[String]) -> String {
    let mut text = if available.is_empty() {
        "no adapters were found at all".to_owned()
    } else {
        format!("adapters found: {}", available.join("; "))
    };
    let built = wgpu::Instance::enabled_backend_features();
    text.push_str(&format!(
        " (this build supports: {})",
        backend_list(built & !wgpu::Backends::NOOP)
    ));
    if available.is_empty() && cfg!(target_os = "linux") {
        text.push_str(
            ". On Linux without a GPU driver, install `mesa-vulkan-drivers` (and `libvulkan1`), \
             which provide a software Vulkan device (lavapipe)",
        );
    }
    text
}

fn more_errors(more: usize) -> String {
    if more == 0 {
        String::new()
    } else {
        format!(" (and {more} more)")
    }
}

/// Describes an adapter as `name (backend, type)` for listings and error messages.
pub fn describe_adapter(info: &wgpu::AdapterInfo) -> String {
    format!("{} ({}, {:?})", info.name, info.backend, info.device_type)
}

/// Index of the first name containing `wanted`, compared case-insensitively.
pub fn pick_adapter_by_name<S: AsRef<str>>(names: &[S], wanted: &str) -> Option<usize> {
    let wanted = wanted.trim().to_lowercase();
    names
        .iter()
        .position(|name| name.as_ref().to_lowercase().contains(&wanted))
}

/// The device limits halfgpu sizes its work by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpuLimits {
    /// Largest range of a buffer one storage binding may cover, in bytes.
    pub max_storage_buffer_binding_size: u64,
    /// Largest buffer that can be created, in bytes.
    pub max_buffer_size: u64,
    /// Storage bindings must start at a multiple of this many bytes.
    pub min_storage_buffer_offset_alignment: u32,
    /// Largest workgroup size in x, y and z.
    pub max_workgroup_size: [u32; 3],
    /// Most invocations in one workgroup (product of its sizes).
    pub max_invocations_per_workgroup: u32,
    /// Most workgroups one dispatch may have in each dimension.
    pub max_workgroups_per_dimension: u32,
    /// Most storage buffers one shader stage may bind.
    pub max_storage_buffers_per_shader_stage: u32,
    /// Most workgroup (shared) memory, in bytes.
    pub max_workgroup_storage_size: u32,
}

impl From<&wgpu::Limits> for GpuLimits {
    fn from(l: &wgpu::Limits) -> Self {
        Self {
            max_storage_buffer_binding_size: l.max_storage_buffer_binding_size,
            max_buffer_size: l.max_buffer_size,
            min_storage_buffer_offset_alignment: l.min_storage_buffer_offset_alignment,
            max_workgroup_size: [
                l.max_compute_workgroup_size_x,
                l.max_compute_workgroup_size_y,
                l.max_compute_workgroup_size_z,
            ],
            max_invocations_per_workgroup: l.max_compute_invocations_per_workgroup,
            max_workgroups_per_dimension: l.max_compute_workgroups_per_dimension,
            max_storage_buffers_per_shader_stage: l.max_storage_buffers_per_shader_stage,
            max_workgroup_storage_size: l.max_compute_workgroup_storage_size,
        }
    }
}

/// What the device-lost callback and the uncaptured-error handler recorded.
#[derive(Debug, Default)]
struct ErrorLog {
    lost: Mutex<Option<(String, String)>>,
    uncaptured: Mutex<(Vec<String>, usize)>,
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (the log stays usable).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ErrorLog {
    fn record_lost(&self, reason: wgpu::DeviceLostReason, message: String) {
        if reason == wgpu::DeviceLostReason::Destroyed {
            log::info!("GPU device destroyed: {message}");
        } else {
            log::error!("GPU device lost ({reason:?}): {message}");
        }
        let mut lost = lock(&self.lost);
        if lost.is_none() {
            *lost = Some((format!("{reason:?}"), message));
        }
    }

    fn record_uncaptured(&self, error: wgpu::Error) {
        let message = error.to_string();
        log::error!("uncaptured GPU error: {message}");
        let mut log = lock(&self.uncaptured);
        if log.0.len() < MAX_RECORDED_ERRORS {
            log.0.push(message);
        } else {
            log.1 += 1;
        }
    }
}

/// An open GPU: the wgpu instance, adapter, device and queue, plus what the device
/// has reported since it was opened.
///
/// ```no_run
/// use halfgpu::gpu::{GpuContext, GpuError, GpuOptions};
///
/// let options = GpuOptions::default().adapter_name("llvmpipe");
/// let ctx = match GpuContext::new(&options) {
///     Ok(ctx) => ctx,
///     Err(e @ GpuError::NoAdapter { .. }) => {
///         eprintln!("{e}");
///         return Ok(());
///     }
///     Err(e) => return Err(e),
/// };
/// println!("{}", ctx.summary());
/// assert!(ctx.limits().max_workgroup_size[0] >= 64);
/// # Ok::<(), GpuError>(())
/// ```
pub struct GpuContext {
    instance: Option<wgpu::Instance>,
    adapter: Option<wgpu::Adapter>,
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    errors: Arc<ErrorLog>,
    /// The device opened in place of this one after it was lost (see [`GpuContext::recover`]).
    replacement: Mutex<Option<Arc<GpuContext>>>,
    /// Command buffer submissions halfgpu made on this device (see [`GpuContext::submissions`]).
    submissions: AtomicU64,
    /// Shader modules and pipelines made on this device, shared by all its partitions.
    pipelines: PipelineStore,
}

impl fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.info.name)
            .field("backend", &self.info.backend)
            .field("driver", &self.info.driver)
            .field("driver_info", &self.info.driver_info)
            .field("device_type", &self.info.device_type)
            .field("shader_f16", &self.has_shader_f16())
            .field("subgroup_kernels", &self.has_subgroup_kernels())
            .finish_non_exhaustive()
    }
}

impl GpuContext {
    /// Opens an adapter and device as `options` say, blocking until done.
    ///
    /// # Errors
    /// [`GpuError::NoAdapter`] or [`GpuError::AdapterNotFound`] when no suitable adapter
    /// exists (the error lists the adapters that do), [`GpuError::RequestDevice`] when the
    /// adapter refuses to open a device.
    pub fn new(options: &GpuOptions) -> Result<Self, GpuError> {
        pollster::block_on(Self::new_async(options))
    }

    /// Async form of [`GpuContext::new`].
    ///
    /// # Errors
    /// As [`GpuContext::new`].
    pub async fn new_async(options: &GpuOptions) -> Result<Self, GpuError> {
        let tried = options.backends;
        if (tried & wgpu::Instance::enabled_backend_features()).is_empty() {
            // wgpu panics on an instance without any usable backend; report instead.
            return Err(GpuError::NoAdapter {
                tried,
                available: Self::adapter_descriptions_async().await,
            });
        }
        let started = std::time::Instant::now();
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: tried,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let instance_ms = started.elapsed().as_secs_f64() * 1e3;

        let adapter = match &options.adapter_name {
            Some(wanted) => {
                let adapters = instance.enumerate_adapters(tried).await;
                let infos: Vec<wgpu::AdapterInfo> = adapters.iter().map(|a| a.get_info()).collect();
                let names: Vec<&str> = infos.iter().map(|i| i.name.as_str()).collect();
                match pick_adapter_by_name(&names, wanted) {
                    Some(index) => adapters.into_iter().nth(index),
                    None if infos.is_empty() => {
                        return Err(GpuError::NoAdapter {
                            tried,
                            available: Self::adapter_descriptions_async().await,
                        })
                    }
                    None => {
                        return Err(GpuError::AdapterNotFound {
                            wanted: wanted.clone(),
                            tried,
                            available: infos.iter().map(describe_adapter).collect(),
                        })
                    }
                }
            }
            None => instance
                .request_adapter(&wgpu::RequestAdapterOptions {
                    power_preference: options.power_preference,
                    ..Default::default()
                })
                .await
                .ok(),
        };
        let Some(adapter) = adapter else {
            return Err(GpuError::NoAdapter {
                tried,
                available: Self::adapter_descriptions_async().await,
            });
        };
        let info = adapter.get_info();
        let adapter_ms = started.elapsed().as_secs_f64() * 1e3 - instance_ms;

        let mut required_features = wgpu::Features::empty();
        if options.request_shader_f16 && adapter.features().contains(wgpu::Features::SHADER_F16) {
            required_features |= wgpu::Features::SHADER_F16;
        }
        // A persistent pipeline cache for `cache_dir`, where the adapter offers one (Vulkan).
        if adapter.features().contains(wgpu::Features::PIPELINE_CACHE) {
            required_features |= wgpu::Features::PIPELINE_CACHE;
        }
        // GPU timestamps for `halfgpu profile`, where the adapter has them (no cost otherwise).
        if adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
            required_features |= wgpu::Features::TIMESTAMP_QUERY;
        }
        // Subgroup operations for the kernels that share weight loads across a subgroup.
        if options.request_subgroups
            && adapter.features().contains(wgpu::Features::SUBGROUP)
            && info.subgroup_min_size >= SUBGROUP_KERNEL_LANES
        {
            required_features |= wgpu::Features::SUBGROUP;
        }
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("halfgpu"),
                required_features,
                // Model weights need big storage buffers: take what the adapter offers.
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(|source| GpuError::RequestDevice {
                adapter: info.name.clone(),
                source,
            })?;
        log::debug!(
            "init: instance {instance_ms:.1} ms, adapter {adapter_ms:.1} ms, device {:.1} ms",
            started.elapsed().as_secs_f64() * 1e3 - instance_ms - adapter_ms
        );
        log::info!(
            "opened GPU {} (driver {} {}), shader f16: {}, subgroups: {}",
            describe_adapter(&info),
            info.driver,
            info.driver_info,
            device.features().contains(wgpu::Features::SHADER_F16),
            device.features().contains(wgpu::Features::SUBGROUP)
        );

        let ctx = Self {
            instance: Some(instance),
            adapter: Some(adapter),
            device,
            queue,
            info,
            errors: Arc::default(),
            replacement: Mutex::default(),
            submissions: AtomicU64::new(0),
            pipelines: PipelineStore::default(),
        };
        ctx.install_error_handlers();
        Ok(ctx)
    }

    /// Wraps a device and queue the application already has, so halfgpu can share them.
    /// The adapter description comes from [`wgpu::Device::adapter_info`].
    ///
    /// This does not install halfgpu's device-lost callback or uncaptured-error handler,
    /// since those would replace the application's own; call
    /// [`GpuContext::install_error_handlers`] to have [`GpuContext::check`] see them.
    pub fn from_existing(device: wgpu::Device, queue: wgpu::Queue) -> Self {
        let info = device.adapter_info();
        Self {
            instance: None,
            adapter: None,
            device,
            queue,
            info,
            errors: Arc::default(),
            replacement: Mutex::default(),
            submissions: AtomicU64::new(0),
            pipelines: PipelineStore::default(),
        }
    }

    /// Sets the device-lost callback and the uncaptured-error handler to record into this
    /// context (replacing any set before). [`GpuContext::new`] does this itself.
    pub fn install_error_handlers(&self) {
        let log = Arc::clone(&self.errors);
        self.device
            .set_device_lost_callback(move |reason, message| log.record_lost(reason, message));
        let log = Arc::clone(&self.errors);
        self.device
            .on_uncaptured_error(Arc::new(move |error| log.record_uncaptured(error)));
    }

    /// Lists the adapters on `backends` (only those this build supports are searched).
    pub fn list_adapters(backends: wgpu::Backends) -> Vec<wgpu::AdapterInfo> {
        pollster::block_on(Self::list_adapters_async(backends))
    }

    /// Async form of [`GpuContext::list_adapters`].
    pub async fn list_adapters_async(backends: wgpu::Backends) -> Vec<wgpu::AdapterInfo> {
        let backends = backends & wgpu::Instance::enabled_backend_features();
        if backends.is_empty() {
            return Vec::new();
        }
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        instance
            .enumerate_adapters(backends)
            .await
            .iter()
            .map(wgpu::Adapter::get_info)
            .collect()
    }

    async fn adapter_descriptions_async() -> Vec<String> {
        Self::list_adapters_async(wgpu::Backends::all() & !wgpu::Backends::NOOP)
            .await
            .iter()
            .map(describe_adapter)
            .collect()
    }

    /// The instance, when this context created it (not for [`GpuContext::from_existing`]).
    pub fn instance(&self) -> Option<&wgpu::Instance> {
        self.instance.as_ref()
    }

    /// The adapter, when this context created it (not for [`GpuContext::from_existing`]).
    pub fn adapter(&self) -> Option<&wgpu::Adapter> {
        self.adapter.as_ref()
    }

    /// The device.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The device's queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// Submits `buffers` on the queue and counts the submission (see
    /// [`GpuContext::submissions`]).
    pub(crate) fn submit(
        &self,
        buffers: impl IntoIterator<Item = wgpu::CommandBuffer>,
    ) -> wgpu::SubmissionIndex {
        self.submissions.fetch_add(1, Ordering::Relaxed);
        self.queue.submit(buffers)
    }

    /// How many times halfgpu's compiled partitions have submitted work to this device's
    /// queue (invokes and profiling runs; not the smoke tests, not an application's own
    /// submissions on a shared device). An invoke submits once per partition.
    pub fn submissions(&self) -> u64 {
        self.submissions.load(Ordering::Relaxed)
    }

    /// What the device's pipeline store has done: shader modules and pipelines created and
    /// reused (each distinct pipeline is created once per device, whatever the number of
    /// partitions and delegates on it), and the persistent pipeline cache in use.
    pub fn pipeline_stats(&self) -> PipelineStats {
        self.pipelines.stats()
    }

    /// The device's shader module and pipeline store.
    pub(crate) fn pipeline_store(&self) -> &PipelineStore {
        &self.pipelines
    }

    /// Loads (and from then on saves) a persistent pipeline cache in `dir`, where the device
    /// has `PIPELINE_CACHE`; otherwise logs why not. Never fails: see [`PipelineStats`].
    pub(crate) fn use_pipeline_cache_dir(&self, dir: &std::path::Path) {
        self.pipelines.attach_dir(self, dir);
    }

    /// Saves the persistent pipeline cache if pipelines were added since the last save.
    pub(crate) fn save_pipeline_cache(&self) {
        self.pipelines.save();
    }

    /// Everything wgpu says about the adapter.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// The adapter's name, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub fn adapter_name(&self) -> &str {
        &self.info.name
    }

    /// The graphics API in use.
    pub fn backend(&self) -> wgpu::Backend {
        self.info.backend
    }

    /// The driver's name (may be empty on some backends).
    pub fn driver(&self) -> &str {
        &self.info.driver
    }

    /// The driver's version text (may be empty on some backends).
    pub fn driver_info(&self) -> &str {
        &self.info.driver_info
    }

    /// Discrete, integrated, virtual, CPU or other.
    pub fn device_type(&self) -> wgpu::DeviceType {
        self.info.device_type
    }

    /// Whether the device was opened with `SHADER_F16`, i.e. WGSL `enable f16;` works.
    pub fn has_shader_f16(&self) -> bool {
        self.device.features().contains(wgpu::Features::SHADER_F16)
    }

    /// Whether the kernels that share weight loads across a subgroup can run here: the device
    /// has `SUBGROUP` and its subgroups have at least [`SUBGROUP_KERNEL_LANES`] lanes.
    pub fn has_subgroup_kernels(&self) -> bool {
        self.device.features().contains(wgpu::Features::SUBGROUP)
            && self.info.subgroup_min_size >= SUBGROUP_KERNEL_LANES
    }

    /// The device's limits that matter for compute work.
    pub fn limits(&self) -> GpuLimits {
        GpuLimits::from(&self.device.limits())
    }

    /// One line describing the device, for logs and test output.
    pub fn summary(&self) -> String {
        let driver = match (
            self.info.driver.is_empty(),
            self.info.driver_info.is_empty(),
        ) {
            (true, true) => "unknown".to_owned(),
            (false, true) => self.info.driver.clone(),
            (true, false) => self.info.driver_info.clone(),
            (false, false) => format!("{} {}", self.info.driver, self.info.driver_info),
        };
        format!(
            "{}, driver {}, shader f16: {}, subgroups: {}",
            describe_adapter(&self.info),
            driver,
            if self.has_shader_f16() { "yes" } else { "no" },
            if self.has_subgroup_kernels() {
                format!(
                    "{}-{}",
                    self.info.subgroup_min_size, self.info.subgroup_max_size
                )
            } else {
                "no".to_owned()
            }
        )
    }

    /// Whether the device-lost callback has fired.
    pub fn is_lost(&self) -> bool {
        lock(&self.errors.lost).is_some()
    }

    /// A usable device in place of this one: `self` while it is not lost; once it is lost, a
    /// new device on the same adapter with the same features and limits, opened by the first
    /// call and shared by every later call (so all holders of this context move to one
    /// replacement). Whatever lived on the lost device (buffers, pipelines) must be made again
    /// on the new one.
    ///
    /// # Errors
    /// [`GpuError::DeviceLost`] when the device is lost and this context cannot reopen it (it
    /// was adopted with [`GpuContext::from_existing`]), [`GpuError::RequestDevice`] when the
    /// adapter refuses a new device.
    pub fn recover(self: &Arc<Self>) -> Result<Arc<GpuContext>, GpuError> {
        if !self.is_lost() {
            return Ok(Arc::clone(self));
        }
        let mut slot = lock(&self.replacement);
        if let Some(next) = slot.clone() {
            drop(slot);
            return next.recover();
        }
        let lost = || {
            let (reason, message) = lock(&self.errors.lost).clone().unwrap_or_default();
            GpuError::DeviceLost {
                reason,
                message: format!("{message} (an adopted device cannot be reopened)"),
            }
        };
        let (Some(instance), Some(adapter)) = (&self.instance, &self.adapter) else {
            return Err(lost());
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("halfgpu (reopened after device loss)"),
            required_features: self.device.features(),
            required_limits: self.device.limits(),
            ..Default::default()
        }))
        .map_err(|source| GpuError::RequestDevice {
            adapter: self.info.name.clone(),
            source,
        })?;
        log::warn!("GPU device lost; reopened {}", self.info.name);
        let next = Arc::new(GpuContext {
            instance: Some(instance.clone()),
            adapter: Some(adapter.clone()),
            device,
            queue,
            info: self.info.clone(),
            errors: Arc::default(),
            replacement: Mutex::default(),
            submissions: AtomicU64::new(0),
            pipelines: PipelineStore::default(),
        });
        next.install_error_handlers();
        if let Some(dir) = self.pipelines.cache_dir() {
            next.use_pipeline_cache_dir(&dir);
        }
        *slot = Some(Arc::clone(&next));
        Ok(next)
    }

    /// Reports what the device has recorded: [`GpuError::DeviceLost`] when it was lost,
    /// otherwise [`GpuError::Uncaptured`] when errors reached the uncaptured-error handler
    /// since the last call (those are cleared by this call; device loss is permanent).
    ///
    /// # Errors
    /// As described above.
    pub fn check(&self) -> Result<(), GpuError> {
        if let Some((reason, message)) = lock(&self.errors.lost).clone() {
            return Err(GpuError::DeviceLost { reason, message });
        }
        let mut errors = self.take_uncaptured_errors().into_iter();
        match errors.next() {
            None => Ok(()),
            Some(message) => Err(GpuError::Uncaptured {
                message,
                more: errors.len(),
            }),
        }
    }

    /// Takes the messages the uncaptured-error handler recorded so far, oldest first; when more
    /// arrived than are kept, the last entry says how many were dropped.
    pub fn take_uncaptured_errors(&self) -> Vec<String> {
        let mut log = lock(&self.errors.uncaptured);
        let mut taken = std::mem::take(&mut log.0);
        if log.1 > 0 {
            taken.push(format!("... {} further errors not kept", log.1));
            log.1 = 0;
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_first_name_containing_text_ignoring_case() {
        let names = [
            "NVIDIA GeForce RTX 4090",
            "llvmpipe (LLVM 15.0.6, 256 bits)",
            "LLVMpipe again",
        ];
        assert_eq!(pick_adapter_by_name(&names, "LLVMPIPE"), Some(1));
        assert_eq!(pick_adapter_by_name(&names, " rtx "), Some(0));
        assert_eq!(pick_adapter_by_name(&names, "radeon"), None);
        assert_eq!(pick_adapter_by_name::<&str>(&[], "x"), None);
    }

    #[test]
    fn default_options_try_the_native_backends() {
        let o = GpuOptions::default();
        assert_eq!(
            o.backends,
            wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12
        );
        assert!(o.request_shader_f16);
        assert!(o.adapter_name.is_none());
    }

    #[test]
    fn no_adapter_message_names_backends_and_hint() {
        let e = GpuError::NoAdapter {
            tried: DEFAULT_BACKENDS,
            available: vec![],
        };
        let msg = e.to_string();
        assert!(msg.contains("vulkan, metal, dx12"), "{msg}");
        assert!(msg.contains("no adapters were found"), "{msg}");
        if cfg!(target_os = "linux") {
            assert!(msg.contains("mesa-vulkan-drivers"), "{msg}");
        }
        let e = GpuError::AdapterNotFound {
            wanted: "rtx".into(),
            tried: wgpu::Backends::VULKAN,
            available: vec!["llvmpipe (vulkan, Cpu)".into()],
        };
        let msg = e.to_string();
        assert!(msg.contains("\"rtx\""), "{msg}");
        assert!(
            msg.contains("adapters found: llvmpipe (vulkan, Cpu)"),
            "{msg}"
        );
    }

    #[test]
    fn unusable_backends_are_reported_not_panicked_on() {
        // No build supports only the browser backend natively.
        let opts = GpuOptions::default().backends(wgpu::Backends::BROWSER_WEBGPU);
        match GpuContext::new(&opts) {
            Err(GpuError::NoAdapter { tried, .. }) => {
                assert_eq!(tried, wgpu::Backends::BROWSER_WEBGPU)
            }
            other => panic!("expected NoAdapter, got {other:?}"),
        }
    }

    #[test]
    fn error_log_records_loss_and_caps_messages() {
        let log = ErrorLog::default();
        log.record_lost(wgpu::DeviceLostReason::Unknown, "reset".into());
        log.record_lost(wgpu::DeviceLostReason::Destroyed, "later".into());
        assert_eq!(
            lock(&log.lost).clone(),
            Some(("Unknown".to_owned(), "reset".to_owned()))
        );
        assert_eq!(more_errors(0), "");
        assert_eq!(more_errors(2), " (and 2 more)");
    }
}
