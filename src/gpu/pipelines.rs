//! Compute pipelines, made once per device, and the optional persistent pipeline cache.
//!
//! Every partition, every delegate and the FP16 overflow guard that share one [`GpuContext`]
//! share its [`PipelineStore`]: a pipeline is created once per (precision, shader file, entry
//! point), from a shader module of the part of the file its entry point needs (see
//! `wgsl_slice`; the convolution files hold dozens of large kernels and a model uses a few).
//! The key has everything that makes two pipelines differ today (no pipeline-overridable
//! constants are used); whatever is added later that changes the compiled code must join the
//! key.
//!
//! Each new pipeline is then dispatched once, one workgroup on a zero-filled scratch storage
//! buffer (its warm-up): drivers that compile a kernel on its first dispatch (lavapipe's
//! llvmpipe builds and loads its machine code then, even from its disk cache) do that work
//! while the other pipelines are still being created, rather than inside the model's first
//! invoke. The warm-up's uniforms are those of a dispatch of the model that uses the pipeline
//! ([`PipelineStore::prepare`]), because lavapipe decides at a kernel's first dispatch whether
//! to specialise it on the uniform values its branches and loop bounds read: zeros make every
//! kernel an early return, worth specialising, so the kernel itself was still compiled in the
//! first invoke (Mesa 22.3, MobileNetV2: first invoke 320 -> 75 ms on a cold shader cache).
//! Pipelines made on request ([`PipelineStore::get`]) warm up on zeroed uniforms. The shaders
//! are created with wgpu's runtime checks, so the indices past the scratch buffer that real
//! sizes give (and a division by a zero size) have defined results, as for any dispatch.
//!
//! With a cache directory ([`super::GpuDelegateOptions::cache_dir`]) and a device that has
//! [`wgpu::Features::PIPELINE_CACHE`] (Vulkan), pipelines are created through one
//! [`wgpu::PipelineCache`] per device whose data is loaded from, and saved to, a file named by
//! [`wgpu::util::pipeline_cache_key`] in that directory. Nothing about the cache can fail a
//! build: a missing, unreadable, corrupt or unwritable file is logged and the pipelines are
//! compiled without it.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::device::{GpuContext, GpuError};
use super::precision::Precision;
use super::shader::{buffer_uses, parse_wgsl, BufferUse};
use super::shaders::ShaderFile;
use super::smoke::Scopes;

/// What a device's pipeline store has done so far ([`GpuContext::pipeline_stats`]).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct PipelineStats {
    /// Shader modules created: one per pipeline, of the part of its file the entry point
    /// needs.
    pub shader_modules: usize,
    /// Distinct compute pipelines created.
    pub pipelines_created: usize,
    /// Bytes of WGSL the created pipelines were made from (each the part of its file its
    /// entry point needs): a rough measure of the code the driver compiles.
    pub wgsl_bytes: usize,
    /// Requests answered with a pipeline created earlier on this device.
    pub pipelines_reused: usize,
    /// Time spent parsing WGSL and creating shader modules, in milliseconds, summed over the
    /// threads that create them in parallel.
    pub shader_module_ms: f64,
    /// Time spent creating pipelines, in milliseconds, summed over the threads that create
    /// them in parallel (so it can exceed the wall time of a compile).
    pub pipeline_ms: f64,
    /// Warm-up dispatches submitted (one per new pipeline whose buffers the scratch buffers
    /// can stand in for).
    pub warm_up_dispatches: usize,
    /// The persistent pipeline cache file in use, if any.
    pub cache_file: Option<PathBuf>,
    /// Bytes of pipeline cache data read from `cache_file` that passed halfgpu's checks and
    /// were handed to wgpu (0: none were). wgpu still discards data made by another wgpu or
    /// driver version (starting from an empty cache), and a driver may ignore it.
    pub cache_loaded_bytes: usize,
    /// Bytes of pipeline cache data last written to `cache_file` by this device (0: none).
    pub cache_saved_bytes: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct PipelineKey {
    precision: Precision,
    file: ShaderFile,
    entry: &'static str,
}

/// The persistent cache of one device.
struct DiskCache {
    cache: wgpu::PipelineCache,
    path: PathBuf,
    /// The driver data last read from or written to `path`, to skip rewriting the same bytes.
    on_disk: Option<Vec<u8>>,
    /// Pipelines were created through `cache` since it was last saved.
    dirty: bool,
}

/// A value made once: the map's lock is held only to find the slot, the slot's lock while
/// making it, so different keys are made in parallel and one key never twice.
type Slot<T> = Arc<Mutex<Option<Arc<T>>>>;

/// The buffers a warm-up dispatch binds in place of a kernel's (zero-filled, never read back):
/// one storage buffer for every storage binding (halfgpu's kernels declare them all
/// `read_write`, which wgpu lets one buffer be bound as several times) and one uniform buffer.
struct Scratch {
    storage: wgpu::Buffer,
    uniform: wgpu::Buffer,
}

const SCRATCH_STORAGE_BYTES: u64 = 64 << 10;
const SCRATCH_UNIFORM_BYTES: u64 = 4 << 10;

/// The shader modules and pipelines of one device (see the module documentation).
#[derive(Default)]
pub(crate) struct PipelineStore {
    pipelines: Mutex<HashMap<PipelineKey, Slot<wgpu::ComputePipeline>>>,
    disk: Mutex<Option<DiskCache>>,
    scratch: Mutex<Option<Arc<Scratch>>>,
    stats: Mutex<PipelineStats>,
}

/// Runs `job` on every item, on as many threads as there are cores (at most one per item),
/// and returns the first error; after an error, threads take no new items.
fn in_parallel<T: Sync>(
    items: &[T],
    job: impl Fn(&T) -> Result<(), GpuError> + Sync,
) -> Result<(), GpuError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items.len());
    if threads <= 1 {
        return items.iter().try_for_each(job);
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let first_error: Mutex<Option<GpuError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                if lock(&first_error).is_some() {
                    break;
                }
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(item) = items.get(i) else {
                    break;
                };
                if let Err(e) = job(item) {
                    lock(&first_error).get_or_insert(e);
                    break;
                }
            });
        }
    });
    match first_error
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data behind these locks stays consistent even if a holder panicked.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl PipelineStore {
    /// The numbers so far.
    pub(crate) fn stats(&self) -> PipelineStats {
        lock(&self.stats).clone()
    }

    /// The cache directory in use, to carry over to a replacement device.
    pub(crate) fn cache_dir(&self) -> Option<PathBuf> {
        lock(&self.disk)
            .as_ref()
            .and_then(|d| d.path.parent().map(Path::to_path_buf))
    }

    /// Distinct pipelines of `precision` created on this device.
    pub(crate) fn count(&self, precision: Precision) -> usize {
        lock(&self.pipelines)
            .iter()
            .filter(|(k, slot)| k.precision == precision && lock(slot).is_some())
            .count()
    }

    /// Creates the pipelines of `wanted` (file, entry point, the uniforms of a dispatch that
    /// uses it) that do not exist yet, on several threads where there are several to create
    /// and more than one core (parsing is per pipeline, and drivers that compile at pipeline
    /// creation do that work in parallel), those with the most source first, so the biggest
    /// kernel is not compiled alone at the end; each warms up on the first uniforms given for
    /// it. The first error is returned.
    pub(crate) fn prepare<'p>(
        &self,
        ctx: &GpuContext,
        precision: Precision,
        wanted: impl IntoIterator<Item = (ShaderFile, &'static str, &'p [u32])>,
    ) -> Result<(), GpuError> {
        let mut missing: Vec<(ShaderFile, &'static str, &'p [u32])> = Vec::new();
        {
            let pipelines = lock(&self.pipelines);
            for (file, entry, params) in wanted {
                let key = PipelineKey {
                    precision,
                    file,
                    entry,
                };
                let made = pipelines.get(&key).is_some_and(|slot| lock(slot).is_some());
                if !made && !missing.iter().any(|m| (m.0, m.1) == (file, entry)) {
                    missing.push((file, entry, params));
                }
            }
        }
        let mut sources: Vec<(ShaderFile, &'static str, &[u32], String)> = missing
            .into_iter()
            .map(|(file, entry, params)| (file, entry, params, file.entry_source(precision, entry)))
            .collect();
        sources.sort_by_key(|(.., source)| std::cmp::Reverse(source.len()));
        in_parallel(&sources, |(file, entry, params, source)| {
            self.make(ctx, precision, *file, entry, Some(source), Some(params))
                .map(drop)
        })
    }

    /// The pipeline for `entry` of `file` in `precision`, created on first request.
    pub(crate) fn get(
        &self,
        ctx: &GpuContext,
        precision: Precision,
        file: ShaderFile,
        entry: &'static str,
    ) -> Result<Arc<wgpu::ComputePipeline>, GpuError> {
        let (pipeline, created) = self.make(ctx, precision, file, entry, None, None)?;
        if !created {
            lock(&self.stats).pipelines_reused += 1;
        }
        Ok(pipeline)
    }

    /// The pipeline, and whether this call created it (from `source`, the entry point's part
    /// of the file, when the caller has it already; its warm-up reads `params` as its
    /// uniforms, zeros without them).
    fn make(
        &self,
        ctx: &GpuContext,
        precision: Precision,
        file: ShaderFile,
        entry: &'static str,
        source: Option<&str>,
        params: Option<&[u32]>,
    ) -> Result<(Arc<wgpu::ComputePipeline>, bool), GpuError> {
        let key = PipelineKey {
            precision,
            file,
            entry,
        };
        let slot = lock(&self.pipelines).entry(key).or_default().clone();
        let mut slot = lock(&slot);
        if let Some(p) = slot.as_ref() {
            return Ok((p.clone(), false));
        }
        let device = ctx.device();
        let started = Instant::now();
        let sliced;
        let source = match source {
            Some(source) => source,
            None => {
                sliced = file.entry_source(precision, entry);
                &sliced
            }
        };
        let label = format!("{}:{entry} ({precision})", file.file_name());
        let parsed = parse_wgsl(&label, source)?;
        let buffers = buffer_uses(&parsed, entry);
        let scopes = Scopes::push(device);
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(&label),
            source: wgpu::ShaderSource::Naga(std::borrow::Cow::Owned(parsed)),
        });
        scopes.pop(&format!("compiling {label}"))?;
        let module_ms = started.elapsed().as_secs_f64() * 1e3;
        let started = Instant::now();
        let cache = lock(&self.disk).as_ref().map(|d| d.cache.clone());
        let scopes = Scopes::push(device);
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: None,
            module: &shader,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: cache.as_ref(),
        });
        scopes.pop(&format!("creating pipeline {label}"))?;
        if let Some(d) = lock(&self.disk).as_mut() {
            d.dirty = true;
        }
        let pipeline_ms = started.elapsed().as_secs_f64() * 1e3;
        let warmed = match buffers {
            Some(buffers) => self
                .warm_up(ctx, &pipeline, &buffers, params)
                .unwrap_or_else(|e| {
                    log::warn!(
                        "{label}: warm-up dispatch failed ({e}); the first invoke compiles it"
                    );
                    false
                }),
            None => false,
        };
        log::debug!(
            "{label}: {} bytes of WGSL, module {module_ms:.1} ms, pipeline {pipeline_ms:.1} ms{}",
            source.len(),
            if warmed { ", warm-up submitted" } else { "" }
        );
        {
            let mut stats = lock(&self.stats);
            stats.shader_modules += 1;
            stats.shader_module_ms += module_ms;
            stats.pipelines_created += 1;
            stats.wgsl_bytes += source.len();
            stats.pipeline_ms += pipeline_ms;
            stats.warm_up_dispatches += usize::from(warmed);
        }
        let pipeline = Arc::new(pipeline);
        *slot = Some(pipeline.clone());
        Ok((pipeline, true))
    }

    /// Submits one workgroup of `pipeline` on the scratch storage buffer, with `params` (or
    /// zeros) as its uniforms (see the module documentation). `Ok(false)` when the scratch
    /// buffers cannot stand in for `buffers`.
    fn warm_up(
        &self,
        ctx: &GpuContext,
        pipeline: &wgpu::ComputePipeline,
        buffers: &[BufferUse],
        params: Option<&[u32]>,
    ) -> Result<bool, GpuError> {
        let fits = |b: &BufferUse| {
            b.group == 0
                && b.min_size
                    <= if b.uniform {
                        SCRATCH_UNIFORM_BYTES
                    } else {
                        SCRATCH_STORAGE_BYTES
                    }
        };
        if !buffers.iter().all(fits) {
            return Ok(false);
        }
        let device = ctx.device();
        let scopes = Scopes::push(device);
        let scratch = lock(&self.scratch)
            .get_or_insert_with(|| {
                let buffer = |label, size, usage| {
                    device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some(label),
                        size,
                        usage,
                        mapped_at_creation: false,
                    })
                };
                Arc::new(Scratch {
                    storage: buffer(
                        "warm-up storage",
                        SCRATCH_STORAGE_BYTES,
                        wgpu::BufferUsages::STORAGE,
                    ),
                    uniform: buffer(
                        "warm-up uniforms",
                        SCRATCH_UNIFORM_BYTES,
                        wgpu::BufferUsages::UNIFORM,
                    ),
                })
            })
            .clone();
        let uniform_bytes = buffers
            .iter()
            .filter(|b| b.uniform)
            .map(|b| b.min_size)
            .max()
            .unwrap_or(0);
        let uniforms = params.map(|params| {
            let bytes: &[u8] = bytemuck::cast_slice(params);
            let size = (bytes.len() as u64)
                .max(uniform_bytes)
                .max(16)
                .next_multiple_of(16);
            let buffer = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("warm-up uniforms"),
                size,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            ctx.queue().write_buffer(&buffer, 0, bytes);
            buffer
        });
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .map(|b| wgpu::BindGroupEntry {
                binding: b.binding,
                resource: match (&uniforms, b.uniform) {
                    (Some(uniforms), true) => uniforms.as_entire_binding(),
                    (None, true) => scratch.uniform.as_entire_binding(),
                    (_, false) => scratch.storage.as_entire_binding(),
                },
            })
            .collect();
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("warm-up"),
        });
        let bind_group = (!entries.is_empty()).then(|| {
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("warm-up"),
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            })
        });
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(pipeline);
            if let Some(group) = &bind_group {
                pass.set_bind_group(0, group, &[]);
            }
            pass.dispatch_workgroups(1, 1, 1);
        }
        ctx.queue().submit([encoder.finish()]);
        scopes.pop("warming up a pipeline")?;
        Ok(true)
    }

    /// Creates this device's persistent pipeline cache from the file for its adapter in `dir`
    /// (an empty cache when there is no usable file). Logs and does nothing else when the
    /// device has no `PIPELINE_CACHE`, the backend has no cache key, the directory cannot be
    /// created, or a cache is already attached.
    pub(crate) fn attach_dir(&self, ctx: &GpuContext, dir: &Path) {
        let mut disk = lock(&self.disk);
        if disk.is_some() {
            return;
        }
        let device = ctx.device();
        let info = ctx.adapter_info();
        if !device.features().contains(wgpu::Features::PIPELINE_CACHE) {
            log::info!(
                "cache_dir {}: the {:?} device has no PIPELINE_CACHE feature, so no pipeline \
                 cache is kept (only the driver's own shader cache, if it has one, applies)",
                dir.display(),
                info.backend
            );
            return;
        }
        let Some(key) = wgpu::util::pipeline_cache_key(info) else {
            log::info!(
                "cache_dir {}: wgpu keeps no pipeline cache for the {:?} backend",
                dir.display(),
                info.backend
            );
            return;
        };
        if let Err(e) = std::fs::create_dir_all(dir) {
            log::warn!(
                "cache_dir {}: cannot create it ({e}); compiling pipelines without a cache",
                dir.display()
            );
            return;
        }
        let path = dir.join(format!("{key}.halfgpu"));
        let data = match std::fs::read(&path) {
            Ok(bytes) => match unwrap_blob(&bytes) {
                Ok(data) => Some(data.to_vec()),
                Err(why) => {
                    log::warn!(
                        "pipeline cache {}: ignored ({why}); it will be rewritten",
                        path.display()
                    );
                    None
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                log::warn!("pipeline cache {}: cannot read it ({e})", path.display());
                None
            }
        };
        let scopes = Scopes::push(device);
        // SAFETY: `data` is exactly what `PipelineCache::get_data` returned on a device with
        // the same `pipeline_cache_key` (the file is named by that key): `unwrap_blob` accepts
        // only bytes this module wrote, under a checksum of the whole driver data. wgpu checks
        // its own header (wgpu version, adapter, driver's cache UUID) and, with `fallback`,
        // starts from an empty cache when that does not match.
        let cache = unsafe {
            device.create_pipeline_cache(&wgpu::PipelineCacheDescriptor {
                label: Some("halfgpu pipeline cache"),
                data: data.as_deref(),
                fallback: true,
            })
        };
        if let Err(e) = scopes.pop("creating the pipeline cache") {
            log::warn!(
                "pipeline cache {}: not used ({e}); compiling pipelines without it",
                path.display()
            );
            return;
        }
        let loaded = data.as_ref().map_or(0, Vec::len);
        log::info!(
            "pipeline cache {}: {}",
            path.display(),
            if loaded > 0 {
                format!("loaded {loaded} bytes")
            } else {
                "starting empty".to_string()
            }
        );
        {
            let mut stats = lock(&self.stats);
            stats.cache_file = Some(path.clone());
            stats.cache_loaded_bytes = loaded;
        }
        *disk = Some(DiskCache {
            cache,
            path,
            on_disk: data,
            dirty: false,
        });
    }

    /// Writes the persistent cache when pipelines were created since the last save and the
    /// driver's data differs from what the file holds. Failures are logged, never returned.
    pub(crate) fn save(&self) {
        let mut disk = lock(&self.disk);
        let Some(d) = disk.as_mut().filter(|d| d.dirty) else {
            return;
        };
        d.dirty = false;
        let Some(data) = d.cache.get_data() else {
            log::debug!(
                "pipeline cache {}: the driver returned no data",
                d.path.display()
            );
            return;
        };
        if d.on_disk.as_deref() == Some(&data[..]) {
            return;
        }
        match write_atomically(&d.path, &wrap_blob(&data)) {
            Ok(()) => {
                log::debug!(
                    "pipeline cache {}: saved {} bytes",
                    d.path.display(),
                    data.len()
                );
                lock(&self.stats).cache_saved_bytes = data.len();
                d.on_disk = Some(data);
            }
            Err(e) => log::warn!(
                "pipeline cache {}: cannot save it ({e}); the next run compiles without it",
                d.path.display()
            ),
        }
    }
}

impl Drop for PipelineStore {
    fn drop(&mut self) {
        // Pipelines created after the last compile (the overflow guard's F32 fallback, say).
        self.save();
    }
}

/// The file format: this magic, the driver data's length (little-endian u64) and CRC-32
/// (little-endian u32), then the data wgpu returned. The checksum guards against truncated or
/// damaged files, which wgpu's own header (no checksum of the data) does not catch.
const MAGIC: &[u8; 8] = b"HGPUPC02";
const HEADER_BYTES: usize = 20;

fn wrap_blob(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(data.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    out.extend_from_slice(data);
    out
}

fn unwrap_blob(file: &[u8]) -> Result<&[u8], String> {
    if file.len() < HEADER_BYTES || &file[..8] != MAGIC {
        return Err("not a halfgpu pipeline cache file".into());
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&file[8..16]);
    let len = u64::from_le_bytes(len);
    let mut crc = [0u8; 4];
    crc.copy_from_slice(&file[16..20]);
    let data = &file[HEADER_BYTES..];
    if len != data.len() as u64 {
        return Err(format!(
            "{} bytes of data where the header says {len}",
            data.len()
        ));
    }
    if u32::from_le_bytes(crc) != crc32fast::hash(data) {
        return Err("checksum mismatch".into());
    }
    Ok(data)
}

/// Writes `bytes` to a temporary file next to `path`, then renames it over `path`, so a
/// reader never sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The pipelines of one precision, as the compiler of a partition asks for them.
pub(crate) struct PipelineCache {
    precision: Precision,
}

impl PipelineCache {
    pub(crate) fn new(precision: Precision) -> Self {
        PipelineCache { precision }
    }

    /// Number of distinct pipelines of this precision on `ctx`'s device.
    pub(crate) fn len(&self, ctx: &GpuContext) -> usize {
        ctx.pipeline_store().count(self.precision)
    }

    /// Creates, in parallel where it can, the pipelines of `wanted` not made yet on `ctx`'s
    /// device (see [`PipelineStore::prepare`]).
    pub(crate) fn prepare<'p>(
        &self,
        ctx: &GpuContext,
        wanted: impl IntoIterator<Item = (ShaderFile, &'static str, &'p [u32])>,
    ) -> Result<(), GpuError> {
        ctx.pipeline_store().prepare(ctx, self.precision, wanted)
    }

    /// The pipeline for `entry` of `file`, shared by everything on `ctx`'s device.
    pub(crate) fn get(
        &self,
        ctx: &GpuContext,
        file: ShaderFile,
        entry: &'static str,
    ) -> Result<Arc<wgpu::ComputePipeline>, GpuError> {
        ctx.pipeline_store().get(ctx, self.precision, file, entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_point_slices_validates_and_fits_the_warm_up_buffers() {
        for file in ShaderFile::ALL {
            for precision in Precision::ALL {
                let full = file.source(precision);
                for &entry in file.entries() {
                    let label = format!("{}:{entry} ({precision})", file.file_name());
                    let part = crate::gpu::wgsl_slice::slice(&full, &[entry])
                        .unwrap_or_else(|| panic!("{label}: does not slice"));
                    assert_eq!(part, file.entry_source(precision, entry), "{label}");
                    crate::gpu::shader::validate_wgsl(&label, &part)
                        .unwrap_or_else(|e| panic!("{e}"));
                    let module = parse_wgsl(&label, &part).expect("validated");
                    let names: Vec<&str> = module
                        .entry_points
                        .iter()
                        .map(|e| e.name.as_str())
                        .collect();
                    assert_eq!(names, [entry], "{label}");
                    assert_eq!(
                        part.contains("enable f16;"),
                        precision.stores_f16(),
                        "{label}"
                    );
                    let buffers = buffer_uses(&module, entry)
                        .unwrap_or_else(|| panic!("{label}: binds something else than buffers"));
                    assert!(!buffers.is_empty(), "{label}");
                    for b in buffers {
                        let room = if b.uniform {
                            SCRATCH_UNIFORM_BYTES
                        } else {
                            SCRATCH_STORAGE_BYTES
                        };
                        assert!(b.group == 0 && b.min_size <= room, "{label}: {b:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn blobs_round_trip_and_damage_is_refused() {
        let data: Vec<u8> = (0..200u32).map(|i| (i * 7) as u8).collect();
        let file = wrap_blob(&data);
        assert_eq!(unwrap_blob(&file), Ok(&data[..]));
        assert_eq!(unwrap_blob(&wrap_blob(&[])), Ok(&[][..]));
        assert!(unwrap_blob(&file[..file.len() - 1]).is_err(), "truncated");
        assert!(unwrap_blob(&file[..10]).is_err(), "shorter than the header");
        assert!(unwrap_blob(b"").is_err());
        let mut flipped = file.clone();
        flipped[HEADER_BYTES + 50] ^= 1;
        assert_eq!(unwrap_blob(&flipped), Err("checksum mismatch".into()));
        let mut longer = file.clone();
        longer.push(0);
        assert!(unwrap_blob(&longer).is_err(), "extended");
        let mut magic = file;
        magic[0] = b'X';
        assert!(unwrap_blob(&magic).is_err());
    }

    #[test]
    fn atomic_write_replaces_the_file() {
        let dir = std::env::temp_dir().join(format!("halfgpu-pc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.halfgpu");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two!").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two!");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary left"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
