//! A compiled partition: weights uploaded once, activations placed at offsets in one arena
//! buffer (more only when the device's `max_buffer_size` requires) so that tensors alive at the
//! same time never overlap, one pipeline per distinct (shader, entry, precision), bind groups
//! made once; each invoke writes the inputs, records every dispatch in one compute pass, copies
//! the outputs into one staging buffer, submits once and reads back.
//!
//! When the device is lost, the invoke that meets the loss returns [`GpuError::DeviceLost`];
//! the next invoke compiles the partition again on a replacement device
//! ([`GpuContext::recover`]) and runs there.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};

use half::f16;

use crate::cpu::{TensorIn, TensorOut};
use crate::delegate::{DelegateError, DelegateKernel, NodeView, OpTiming, Partition, TensorView};
use crate::graph::{Graph, TensorId};
use crate::model::TensorType;

use crate::runtime::arena;

use super::delegate::InferencePreference;
use super::device::{GpuContext, GpuError};
use super::fuse::Folds;
use super::lower::{self, Binding, DispatchSpec, FilterOrder, LowerLimits, Lowered};
use super::pipelines::PipelineCache;
use super::precision::Precision;
use super::smoke::{fail_if_lost, Scopes, WAIT_TIMEOUT};

/// GPU memory and upload accounting, summed over the partitions a delegate compiled.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MemoryReport {
    /// Bytes of weight (constant) buffers.
    pub weight_bytes: u64,
    /// Bytes of activation buffers. Tensors sit at offsets in arena buffers, placed greedily by
    /// size (largest first, lowest offset free over its lifetime); a partition whose tensors
    /// need fewer bytes as whole buffers shared by lifetime uses those instead.
    pub activation_bytes: u64,
    /// The fewest activation bytes any assignment could use: the peak over dispatches of the
    /// bytes of the tensors alive together (each rounded up to 4).
    pub activation_lower_bound_bytes: u64,
    /// Bytes of the read-back staging buffers.
    pub staging_bytes: u64,
    /// FLOAT16 constants copied to the GPU as they are (raw f16 bytes).
    pub f16_constants_uploaded_raw: usize,
    /// FLOAT16 constants widened to f32 (only in F32 mode).
    pub f16_constants_widened: usize,
    /// f32 constants narrowed to f16 once at upload (F16 and F32F16 modes).
    pub f32_constants_narrowed: usize,
    /// f32 constants uploaded as f32 (F32 mode).
    pub f32_constants_uploaded: usize,
    /// Compiled partitions.
    pub partitions: usize,
    /// Compute dispatches recorded per invoke, all partitions together.
    pub dispatches_per_invoke: usize,
    /// Partitions the FP16 overflow guard moved to F32 after they produced inf/NaN.
    pub overflow_fallbacks: usize,
}

impl MemoryReport {
    /// Adds the buffer bytes of another compiled program (weights, activations and their lower
    /// bound, staging).
    pub(crate) fn add_buffers(&mut self, other: &MemoryReport) {
        self.weight_bytes += other.weight_bytes;
        self.activation_bytes += other.activation_bytes;
        self.activation_lower_bound_bytes += other.activation_lower_bound_bytes;
        self.staging_bytes += other.staging_bytes;
    }

    /// Adds every counter of another compiled program's report.
    pub(crate) fn add(&mut self, other: &MemoryReport) {
        self.add_buffers(other);
        self.f16_constants_uploaded_raw += other.f16_constants_uploaded_raw;
        self.f16_constants_widened += other.f16_constants_widened;
        self.f32_constants_narrowed += other.f32_constants_narrowed;
        self.f32_constants_uploaded += other.f32_constants_uploaded;
        self.partitions += other.partitions;
        self.dispatches_per_invoke += other.dispatches_per_invoke;
        self.overflow_fallbacks += other.overflow_fallbacks;
    }
}

struct CompiledDispatch {
    pipeline: Arc<wgpu::ComputePipeline>,
    bind_group: wgpu::BindGroup,
    groups: [u32; 3],
    /// The node it belongs to: (op name, file operator index, output shape).
    label: (String, usize, Vec<usize>),
}

struct BoundaryInput {
    buffer: usize,
    /// Byte offset of the tensor in its buffer (a multiple of 4).
    offset: u64,
    elements: usize,
}

struct BoundaryOutput {
    buffer: usize,
    /// Byte offset of the tensor in its buffer (a multiple of 4).
    offset: u64,
    elements: usize,
    staging_offset: u64,
    copy_bytes: u64,
}

/// A partition compiled for the GPU.
pub(crate) struct GpuProgram {
    ctx: Arc<GpuContext>,
    /// What was compiled, to compile it again on a new device after a loss.
    partition: Partition,
    precision: Precision,
    preference: InferencePreference,
    dispatches: Vec<CompiledDispatch>,
    buffers: Vec<wgpu::Buffer>,
    inputs: Vec<BoundaryInput>,
    outputs: Vec<BoundaryOutput>,
    staging: wgpu::Buffer,
    /// Where the staging buffer's map callback leaves its result (made once, so that an
    /// invoke allocates nothing of its own).
    mapped: Arc<Mutex<Option<Result<(), wgpu::BufferAsyncError>>>>,
    /// f16 scratch for converting inputs, sized once at compile time.
    scratch: Vec<f16>,
    /// Kept alive for the bind groups.
    _weights: Vec<wgpu::Buffer>,
    _uniforms: Vec<wgpu::Buffer>,
    _dummy: wgpu::Buffer,
    description: String,
}

/// The result a map callback left in `slot`, if it ran.
fn take_result<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    slot.lock().unwrap_or_else(PoisonError::into_inner).take()
}

fn padded4(bytes: u64) -> u64 {
    bytes.div_ceil(4) * 4
}

/// Bytes a runtime tensor of `elements` elements occupies and is bound with: rounded up to 4
/// (odd f16 counts), at least 4 (bindings cannot be empty).
fn binding_bytes(elements: usize, element_bytes: u64) -> u64 {
    padded4(elements as u64 * element_bytes).max(4)
}

/// What the lowering of one node needs to see of the partition graph.
fn node_view<'a>(graph: &'a Graph, n: usize) -> NodeView<'a> {
    let view = |t: TensorId| TensorView {
        id: t,
        name: &graph.tensors[t].name,
        shape: &graph.tensors[t].shape,
        dtype: graph.tensors[t].dtype,
        constant: graph.tensors[t].data.as_ref(),
    };
    let node = &graph.nodes[n];
    NodeView {
        node,
        inputs: node.inputs.iter().map(|t| t.map(view)).collect(),
        outputs: node.outputs.iter().map(|&t| view(t)).collect(),
    }
}

type Assignment = (HashMap<TensorId, usize>, Vec<u64>);

/// In order of first use: a tensor takes a free buffer that is already large enough (the
/// smallest such), else the largest free one, grown; else a new one.
fn assign_in_order(lifetimes: &[(TensorId, u64, usize, usize)]) -> Assignment {
    let mut order: Vec<usize> = (0..lifetimes.len()).collect();
    order.sort_by_key(|&i| (lifetimes[i].2, std::cmp::Reverse(lifetimes[i].1)));
    let mut sizes: Vec<u64> = Vec::new();
    let mut busy_until: Vec<usize> = Vec::new();
    let mut of = HashMap::new();
    for i in order {
        let (t, size, first, last) = lifetimes[i];
        let free: Vec<usize> = (0..sizes.len())
            .filter(|&b| busy_until[b] < first)
            .collect();
        let fit = free
            .iter()
            .copied()
            .filter(|&b| sizes[b] >= size)
            .min_by_key(|&b| sizes[b]);
        let b = match fit.or_else(|| free.iter().copied().max_by_key(|&b| sizes[b])) {
            Some(b) => {
                sizes[b] = sizes[b].max(size);
                b
            }
            None => {
                sizes.push(size);
                busy_until.push(0);
                sizes.len() - 1
            }
        };
        busy_until[b] = last;
        of.insert(t, b);
    }
    (of, sizes)
}

/// Largest first: a tensor goes into the first buffer none of whose tensors is alive at the
/// same time (buffers never grow: the first tensor in each is its largest).
fn assign_by_size(lifetimes: &[(TensorId, u64, usize, usize)]) -> Assignment {
    let mut order: Vec<usize> = (0..lifetimes.len()).collect();
    order.sort_by_key(|&i| {
        (
            std::cmp::Reverse(lifetimes[i].1),
            lifetimes[i].2,
            lifetimes[i].0,
        )
    });
    let mut sizes: Vec<u64> = Vec::new();
    let mut members: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut of = HashMap::new();
    for i in order {
        let (t, size, first, last) = lifetimes[i];
        let slot = members
            .iter()
            .position(|m| m.iter().all(|&(f, l)| l < first || last < f));
        let b = match slot {
            Some(b) => b,
            None => {
                sizes.push(size);
                members.push(Vec::new());
                sizes.len() - 1
            }
        };
        members[b].push((first, last));
        of.insert(t, b);
    }
    (of, sizes)
}

/// Where every runtime tensor (alias root) of a partition lives: a buffer and a byte offset.
struct Layout {
    slot_of: HashMap<TensorId, (usize, u64)>,
    /// Size of each activation buffer.
    sizes: Vec<u64>,
    /// What was used, for the description: "arena" or "per-buffer".
    scheme: &'static str,
}

/// Assigns tensors (by lifetime over dispatch positions, `(tensor, bytes, first, last)`) to
/// places in activation buffers. Preferred: greedy-by-size offsets in as few arenas as
/// `max_buffer_size` allows ([`arena::place_in_arenas`], offsets multiples of `align`). The
/// per-buffer scheme (each tensor a whole buffer shared with tensors of disjoint lifetimes,
/// the better of two greedy strategies) is used instead when it needs fewer bytes or the arena
/// cannot be built; the reason is logged. Returns the layout and the peak of live bytes (the
/// lower bound no assignment can beat).
fn assign_buffers(
    lifetimes: &[(TensorId, u64, usize, usize)],
    align: u64,
    max_buffer_size: u64,
) -> (Layout, u64) {
    // Sizes past usize (only on 32-bit targets) saturate: such a tensor cannot sit in an arena
    // (it exceeds any capacity) and the per-buffer scheme is used.
    let arena_lifetimes: Vec<arena::Lifetime> = lifetimes
        .iter()
        .map(|&(_, size, first, last)| arena::Lifetime {
            size: usize::try_from(size).unwrap_or(usize::MAX),
            first,
            last,
        })
        .collect();
    let lower_bound = arena::live_peak(&arena_lifetimes, 1) as u64;
    let a = assign_in_order(lifetimes);
    let b = assign_by_size(lifetimes);
    let (of, sizes) = if b.1.iter().sum::<u64>() < a.1.iter().sum::<u64>() {
        b
    } else {
        a
    };
    let per_buffer = Layout {
        slot_of: of.into_iter().map(|(t, b)| (t, (b, 0))).collect(),
        sizes,
        scheme: "per-buffer",
    };
    let capacity = usize::try_from(max_buffer_size).unwrap_or(usize::MAX);
    let placed = arena::place_in_arenas(
        &arena_lifetimes,
        usize::try_from(align).unwrap_or(256),
        capacity,
    );
    let arenas = match placed {
        Ok(a) => a,
        Err(e) => {
            log::warn!("activations: per-buffer assignment, the arena could not be built: {e}");
            return (per_buffer, lower_bound);
        }
    };
    let arena_total: u64 = arenas.arena_bytes.iter().map(|&b| b as u64).sum();
    let per_buffer_total: u64 = per_buffer.sizes.iter().sum();
    if per_buffer_total < arena_total {
        log::debug!(
            "activations: per-buffer assignment ({per_buffer_total} bytes) beats the arena \
             ({arena_total} bytes)"
        );
        return (per_buffer, lower_bound);
    }
    if arenas.arena_bytes.len() > 1 {
        log::info!(
            "activations: {} arenas, as one would exceed the device's max_buffer_size of \
             {max_buffer_size} bytes",
            arenas.arena_bytes.len()
        );
    }
    let layout = Layout {
        slot_of: lifetimes
            .iter()
            .zip(&arenas.slots)
            .map(|(l, s)| (l.0, (s.arena, s.offset as u64)))
            .collect(),
        sizes: arenas.arena_bytes.iter().map(|&b| b as u64).collect(),
        scheme: "arena",
    };
    (layout, lower_bound)
}

impl GpuProgram {
    /// The precision this program runs in.
    pub(crate) fn precision(&self) -> Precision {
        self.precision
    }

    /// What its kernels were chosen for.
    pub(crate) fn preference(&self) -> InferencePreference {
        self.preference
    }

    /// Compiles `partition` with the kernels `preference` picks; `report` receives the memory
    /// it uses.
    pub(crate) fn compile(
        ctx: Arc<GpuContext>,
        precision: Precision,
        preference: InferencePreference,
        pipelines: &PipelineCache,
        partition: &Partition,
        report: &mut MemoryReport,
    ) -> Result<GpuProgram, DelegateError> {
        fail_if_lost(&ctx)?;
        let started = std::time::Instant::now();
        let graph = &partition.graph;
        let limits = ctx.limits();
        let lower_limits = LowerLimits::of_device(&ctx, precision, preference);
        // Lower every node; aliases make the output share its input's buffer.
        let mut root: HashMap<TensorId, TensorId> = HashMap::new();
        let find = |root: &HashMap<TensorId, TensorId>, mut t: TensorId| {
            while let Some(&r) = root.get(&t) {
                t = r;
            }
            t
        };
        let mut specs: Vec<DispatchSpec> = Vec::new();
        let mut labels: Vec<(String, usize, Vec<usize>)> = Vec::new();
        // Residual ADDs (and channel PADs of their other operand) folded into the convolution
        // producing an operand, which writes the sum in the ADD's place; standalone RELUs
        // folded into the convolution before them.
        let mut folds = Folds::new(graph, |n| lower::lower(&node_view(graph, n), &lower_limits));
        for n in 0..graph.nodes.len() {
            if folds.skips(n) {
                continue;
            }
            let (lowered, label) = match folds.take(n) {
                Some((conv, suffix, d)) => (Lowered::Dispatches(vec![d]), Some((conv, suffix))),
                None => (lower::lower(&node_view(graph, n), &lower_limits)?, None),
            };
            match lowered {
                Lowered::Dispatches(d) => {
                    let (m, suffix) = label.unwrap_or((n, ""));
                    let node = &graph.nodes[m];
                    let shape = node
                        .outputs
                        .first()
                        .map(|&o| graph.tensors[o].shape.clone())
                        .unwrap_or_default();
                    let name = format!("{}{suffix}", node.op.name());
                    labels.extend(d.iter().map(|_| (name.clone(), node.index, shape.clone())));
                    specs.extend(d);
                }
                Lowered::Alias { input, output } => {
                    let r = find(&root, input);
                    root.insert(output, r);
                }
            }
        }
        let elem = precision.element_bytes() as u64;
        let numel = |t: TensorId| graph.tensors[t].shape.iter().product::<usize>();
        let is_const = |t: TensorId| graph.tensors[t].data.is_some();
        // Lifetimes of the runtime tensors' roots over dispatch positions.
        let last_pos = specs.len();
        let mut span: HashMap<TensorId, (usize, usize)> = HashMap::new();
        let touch = |t: TensorId, pos: usize, span: &mut HashMap<TensorId, (usize, usize)>| {
            let e = span.entry(t).or_insert((pos, pos));
            e.0 = e.0.min(pos);
            e.1 = e.1.max(pos);
        };
        for &t in &graph.inputs {
            touch(find(&root, t), 0, &mut span);
        }
        for (pos, s) in specs.iter().enumerate() {
            for b in &s.bindings {
                if let Binding::Tensor(t) = b {
                    if !is_const(*t) {
                        touch(find(&root, *t), pos, &mut span);
                    }
                }
            }
        }
        for &t in &graph.outputs {
            let r = find(&root, t);
            touch(r, last_pos, &mut span);
        }
        let mut lifetimes: Vec<(TensorId, u64, usize, usize)> = span
            .iter()
            .map(|(&t, &(a, b))| (t, binding_bytes(numel(t), elem), a, b))
            .collect();
        lifetimes.sort_unstable();
        for &(t, size, _, _) in &lifetimes {
            if size > limits.max_buffer_size {
                let e = GpuError::LimitExceeded {
                    what: "activation buffer",
                    requested: size,
                    limit: limits.max_buffer_size,
                };
                return Err(format!("tensor {:?}: {e}", graph.tensors[t].name).into());
            }
        }
        let (layout, lower_bound) = assign_buffers(
            &lifetimes,
            u64::from(limits.min_storage_buffer_offset_alignment).max(4),
            limits.max_buffer_size,
        );
        let sizes = &layout.sizes;
        // Where a runtime tensor lives (through its alias root), and how many bytes to bind.
        let slot = |t: TensorId| -> Result<(usize, u64, u64), DelegateError> {
            let r = find(&root, t);
            let &(buffer, offset) = layout
                .slot_of
                .get(&r)
                .ok_or_else(|| format!("tensor {:?} has no buffer", graph.tensors[t].name))?;
            let bytes = binding_bytes(numel(t), elem);
            if bytes > binding_bytes(numel(r), elem) {
                return Err(format!(
                    "tensor {:?} is larger than the tensor it aliases",
                    graph.tensors[t].name
                )
                .into());
            }
            Ok((buffer, offset, bytes))
        };
        let lowered_ms = started.elapsed().as_secs_f64() * 1e3;
        let device = ctx.device();
        let scopes = Scopes::push(device);
        let buffers: Vec<wgpu::Buffer> = sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(&format!("activations {i}")),
                    size: size.max(4),
                    usage: wgpu::BufferUsages::STORAGE
                        | wgpu::BufferUsages::COPY_DST
                        | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                })
            })
            .collect();
        // Constants: FLOAT16 bytes go up as they are in the f16 modes; nothing is widened there.
        let mut weights: Vec<wgpu::Buffer> = Vec::new();
        // Keyed by the tensor and the order a kernel reads it in (`None`: the file's).
        let mut weight_of: HashMap<(TensorId, Option<FilterOrder>), usize> = HashMap::new();
        for s in &specs {
            for b in &s.bindings {
                let key = match *b {
                    Binding::Tensor(t) if is_const(t) => (t, None),
                    Binding::Filter(t, order) if is_const(t) => (t, Some(order)),
                    Binding::Filter(..) => {
                        return Err("a filter to rearrange is not constant".into())
                    }
                    Binding::Tensor(_) | Binding::Dummy => continue,
                };
                if weight_of.contains_key(&key) {
                    continue;
                }
                let (t, order) = key;
                let info = &graph.tensors[t];
                let data = info.data.as_ref().ok_or("constant without data")?;
                // The bytes to upload: the constant's own where its dtype is the one stored
                // (no copy), else converted once.
                let (narrowed, widened): (Vec<f16>, Vec<f32>);
                let bytes: &[u8] = match (info.dtype, precision.stores_f16()) {
                    (TensorType::Float16, true) => {
                        report.f16_constants_uploaded_raw += 1;
                        data.bytes()
                    }
                    (TensorType::Float32, true) => {
                        report.f32_constants_narrowed += 1;
                        let src = data.as_slice::<f32>().ok_or("misaligned f32 constant")?;
                        narrowed = src.iter().map(|&x| f16::from_f32(x)).collect();
                        bytemuck::cast_slice(&narrowed)
                    }
                    (TensorType::Float16, false) => {
                        report.f16_constants_widened += 1;
                        let src = data.as_slice::<f16>().ok_or("misaligned f16 constant")?;
                        widened = src.iter().map(|x| x.to_f32()).collect();
                        bytemuck::cast_slice(&widened)
                    }
                    (TensorType::Float32, false) => {
                        report.f32_constants_uploaded += 1;
                        data.bytes()
                    }
                    (dt, _) => {
                        return Err(format!("constant {:?} has dtype {dt}", info.name).into())
                    }
                };
                let arranged;
                let bytes: &[u8] = match order {
                    None => bytes,
                    Some(order) => {
                        let element = if precision.stores_f16() { 2 } else { 4 };
                        arranged = order.arrange(bytes, element).ok_or_else(|| {
                            format!("filter {:?} does not fit {order:?}", info.name)
                        })?;
                        &arranged
                    }
                };
                let size = padded4(bytes.len() as u64).max(4);
                let buf = device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(&info.name),
                    size,
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                // write_buffer takes multiples of 4 bytes: an odd tail goes up zero-padded (the
                // buffer starts zeroed).
                let whole = bytes.len() / 4 * 4;
                if whole > 0 {
                    ctx.queue().write_buffer(&buf, 0, &bytes[..whole]);
                }
                if whole < bytes.len() {
                    let mut tail = [0u8; 4];
                    tail[..bytes.len() - whole].copy_from_slice(&bytes[whole..]);
                    ctx.queue().write_buffer(&buf, whole as u64, &tail);
                }
                report.weight_bytes += size;
                weight_of.insert(key, weights.len());
                weights.push(buf);
            }
        }
        let dummy = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("dummy"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let uploaded_ms = started.elapsed().as_secs_f64() * 1e3;
        // Each dispatch's grid and uniforms.
        let mut grids: Vec<([u32; 3], Vec<u32>)> = Vec::with_capacity(specs.len());
        for s in &specs {
            let mut params = s.params.clone();
            let mut groups: [u32; 3] =
                std::array::from_fn(|k| s.invocations[k].div_ceil(s.workgroup[k]).max(1));
            if let Some(slot) = s.row_slot {
                let max = lower_limits.max_workgroups.max(1);
                if groups[0] > max {
                    let gx = max.min(32768);
                    groups = [gx, groups[0].div_ceil(gx), 1];
                }
                if let Some(p) = params.get_mut(slot) {
                    *p = groups[0] * s.workgroup[0];
                }
            }
            if groups.iter().any(|&g| g > lower_limits.max_workgroups) {
                return Err(format!(
                    "{}: dispatch of {groups:?} workgroups exceeds the adapter's limit",
                    s.entry
                )
                .into());
            }
            while params.len() % 4 != 0 {
                params.push(0);
            }
            grids.push((groups, params));
        }
        let pipelines_before = ctx.pipeline_stats();
        pipelines.prepare(
            &ctx,
            specs
                .iter()
                .zip(&grids)
                .map(|(s, (_, params))| (s.file, s.entry, params.as_slice())),
        )?;
        let prepared_ms = started.elapsed().as_secs_f64() * 1e3;
        // Uniforms and bind groups, once.
        let mut uniforms = Vec::with_capacity(specs.len());
        let mut dispatches = Vec::with_capacity(specs.len());
        for ((s, label), (groups, params)) in specs.iter().zip(labels).zip(grids) {
            let pipeline = pipelines.get(&ctx, s.file, s.entry)?;
            let ubuf = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(s.entry),
                size: (params.len() * 4) as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            ctx.queue()
                .write_buffer(&ubuf, 0, bytemuck::cast_slice(&params));
            let mut entries = vec![wgpu::BindGroupEntry {
                binding: 0,
                resource: ubuf.as_entire_binding(),
            }];
            for (k, b) in s.bindings.iter().enumerate() {
                let resource = match *b {
                    Binding::Dummy => dummy.as_entire_binding(),
                    Binding::Tensor(t) if is_const(t) => weight_of
                        .get(&(t, None))
                        .map(|&w| weights[w].as_entire_binding())
                        .ok_or("a constant was not uploaded")?,
                    Binding::Filter(t, order) => weight_of
                        .get(&(t, Some(order)))
                        .map(|&w| weights[w].as_entire_binding())
                        .ok_or("a filter was not uploaded")?,
                    Binding::Tensor(t) => {
                        let (buffer, offset, bytes) = slot(t)?;
                        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: &buffers[buffer],
                            offset,
                            size: wgpu::BufferSize::new(bytes),
                        })
                    }
                };
                entries.push(wgpu::BindGroupEntry {
                    binding: 1 + k as u32,
                    resource,
                });
            }
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(s.entry),
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            });
            uniforms.push(ubuf);
            dispatches.push(CompiledDispatch {
                pipeline,
                bind_group,
                groups,
                label,
            });
        }
        let bound_ms = started.elapsed().as_secs_f64() * 1e3;
        let pipelines_after = ctx.pipeline_stats();
        // Boundary tensors and the staging buffer.
        let inputs: Vec<BoundaryInput> = graph
            .inputs
            .iter()
            .map(|&t| {
                let (buffer, offset, _) = slot(t)?;
                Ok(BoundaryInput {
                    buffer,
                    offset,
                    elements: numel(t),
                })
            })
            .collect::<Result<_, DelegateError>>()?;
        let mut staging_size = 0u64;
        let outputs: Vec<BoundaryOutput> = graph
            .outputs
            .iter()
            .map(|&t| {
                let (buffer, offset, _) = slot(t)?;
                let copy_bytes = padded4(numel(t) as u64 * elem);
                let o = BoundaryOutput {
                    buffer,
                    offset,
                    elements: numel(t),
                    staging_offset: staging_size,
                    copy_bytes,
                };
                staging_size += copy_bytes;
                Ok(o)
            })
            .collect::<Result<_, DelegateError>>()?;
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("staging"),
            size: staging_size.max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        scopes.pop("creating the partition's buffers and bind groups")?;
        let max_input = inputs.iter().map(|i| i.elements).max().unwrap_or(0);
        report.activation_bytes += sizes.iter().sum::<u64>();
        report.activation_lower_bound_bytes += lower_bound;
        report.staging_bytes += staging_size;
        report.partitions += 1;
        report.dispatches_per_invoke += dispatches.len();
        log::debug!(
            "compile ({precision}, {} dispatches): lowering and layout {lowered_ms:.1} ms, \
             buffers and weight upload {:.1} ms, shader modules and pipelines {:.1} ms ({} \
             modules, {} pipelines created), uniforms and bind groups {:.1} ms, total {:.1} ms",
            dispatches.len(),
            uploaded_ms - lowered_ms,
            prepared_ms - uploaded_ms,
            pipelines_after.shader_modules - pipelines_before.shader_modules,
            pipelines_after.pipelines_created - pipelines_before.pipelines_created,
            bound_ms - prepared_ms,
            started.elapsed().as_secs_f64() * 1e3
        );
        let description = format!(
            "{} on {}: {} dispatches, {} pipelines, activations {} bytes in {} {} buffer(s) \
             (lower bound {lower_bound}){}",
            precision,
            ctx.adapter_name(),
            dispatches.len(),
            pipelines.len(&ctx),
            sizes.iter().sum::<u64>(),
            buffers.len(),
            layout.scheme,
            match preference {
                InferencePreference::FastSingleAnswer => ", kernels for a fast single answer",
                InferencePreference::SustainedSpeed => "",
            }
        );
        Ok(GpuProgram {
            ctx,
            partition: partition.clone(),
            precision,
            preference,
            dispatches,
            buffers,
            inputs,
            outputs,
            staging,
            mapped: Arc::new(Mutex::new(None)),
            scratch: vec![
                f16::ZERO;
                if precision.stores_f16() {
                    max_input + 1
                } else {
                    0
                }
            ],
            _weights: weights,
            _uniforms: uniforms,
            _dummy: dummy,
            description,
        })
    }

    /// Adds `note` to the one-line description in the delegation report.
    pub(crate) fn add_note(&mut self, note: &str) {
        self.description.push_str(&format!(" ({note})"));
    }

    /// After a device loss, compiles this partition again on the replacement device (pipelines
    /// included: they belonged to the lost one). Does nothing while the device works.
    fn reopen_if_lost(&mut self) -> Result<(), GpuError> {
        if !self.ctx.is_lost() {
            return Ok(());
        }
        let ctx = self.ctx.recover()?;
        let pipelines = PipelineCache::new(self.precision);
        let fresh = GpuProgram::compile(
            ctx,
            self.precision,
            self.preference,
            &pipelines,
            &self.partition,
            &mut MemoryReport::default(),
        )
        .map_err(|e| GpuError::Operation {
            context: "compiling the partition again after a device loss".into(),
            message: e.to_string(),
        })?;
        *self = fresh;
        Ok(())
    }

    fn run(
        &mut self,
        inputs: &[TensorIn<'_>],
        outputs: &mut [TensorOut<'_>],
    ) -> Result<(), GpuError> {
        self.reopen_if_lost()?;
        let device = self.ctx.device();
        let queue = self.ctx.queue();
        if inputs.len() != self.inputs.len() || outputs.len() != self.outputs.len() {
            return Err(GpuError::Operation {
                context: "invoke".into(),
                message: format!(
                    "given {} inputs / {} outputs, compiled for {} / {}",
                    inputs.len(),
                    outputs.len(),
                    self.inputs.len(),
                    self.outputs.len()
                ),
            });
        }
        for (b, t) in self.inputs.iter().zip(inputs) {
            let values: &[f32] =
                bytemuck::try_cast_slice(t.bytes).map_err(|_| GpuError::Operation {
                    context: "invoke".into(),
                    message: "input bytes are not f32".into(),
                })?;
            if values.len() != b.elements {
                return Err(GpuError::Operation {
                    context: "invoke".into(),
                    message: format!(
                        "input has {} elements, expected {}",
                        values.len(),
                        b.elements
                    ),
                });
            }
            let buffer = &self.buffers[b.buffer];
            if self.precision.stores_f16() {
                let n = values.len();
                let dst = &mut self.scratch[..n.next_multiple_of(2)];
                for (d, &v) in dst.iter_mut().zip(values) {
                    *d = f16::from_f32(v);
                }
                queue.write_buffer(buffer, b.offset, bytemuck::cast_slice(dst));
            } else {
                queue.write_buffer(buffer, b.offset, bytemuck::cast_slice(values));
            }
        }
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("halfgpu invoke"),
        });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("halfgpu partition"),
                timestamp_writes: None,
            });
            for d in &self.dispatches {
                pass.set_pipeline(&d.pipeline);
                pass.set_bind_group(0, &d.bind_group, &[]);
                pass.dispatch_workgroups(d.groups[0], d.groups[1], d.groups[2]);
            }
        }
        for o in &self.outputs {
            encoder.copy_buffer_to_buffer(
                &self.buffers[o.buffer],
                o.offset,
                &self.staging,
                o.staging_offset,
                o.copy_bytes,
            );
        }
        let submission = self.ctx.submit([encoder.finish()]);
        let mapped = self.mapped.clone();
        take_result(&mapped);
        self.staging.map_async(wgpu::MapMode::Read, .., move |r| {
            *mapped.lock().unwrap_or_else(PoisonError::into_inner) = Some(r);
        });
        let waited = device.poll(wgpu::PollType::Wait {
            submission_index: Some(submission),
            timeout: Some(WAIT_TIMEOUT),
        });
        if waited.is_err() {
            // A failed wait returns before the device's upkeep, which is where wgpu reports a
            // loss (e.g. after `destroy`): run the upkeep so the loss is seen now.
            let _ = device.poll(wgpu::PollType::Poll);
        }
        fail_if_lost(&self.ctx)?;
        waited?;
        let mapped = match take_result(&self.mapped) {
            Some(r) => r,
            None => {
                device.poll(wgpu::PollType::Wait {
                    submission_index: None,
                    timeout: Some(WAIT_TIMEOUT),
                })?;
                take_result(&self.mapped).ok_or_else(|| GpuError::Map {
                    label: "staging".into(),
                    message: "the map callback never ran".into(),
                })?
            }
        };
        mapped.map_err(|e| GpuError::Map {
            label: "staging".into(),
            message: e.to_string(),
        })?;
        {
            let view = self
                .staging
                .get_mapped_range(..)
                .map_err(|e| GpuError::Map {
                    label: "staging".into(),
                    message: e.to_string(),
                })?;
            for (o, t) in self.outputs.iter().zip(outputs.iter_mut()) {
                let dst: &mut [f32] =
                    bytemuck::try_cast_slice_mut(t.bytes).map_err(|_| GpuError::Operation {
                        context: "invoke".into(),
                        message: "output bytes are not f32".into(),
                    })?;
                let src =
                    &view[o.staging_offset as usize..(o.staging_offset + o.copy_bytes) as usize];
                if self.precision.stores_f16() {
                    let src: &[f16] = bytemuck::cast_slice(src);
                    for (d, s) in dst.iter_mut().zip(&src[..o.elements]) {
                        *d = s.to_f32();
                    }
                } else {
                    dst.copy_from_slice(&bytemuck::cast_slice::<u8, f32>(src)[..o.elements]);
                }
            }
        }
        self.staging.unmap();
        Ok(())
    }
}

impl GpuProgram {
    /// Times each dispatch: with GPU timestamps (one compute pass per dispatch, its begin and
    /// end written to a query set) where the device has `TIMESTAMP_QUERY`, else with the wall
    /// time of a submission per dispatch, labelled as such.
    fn run_profiled(
        &mut self,
        inputs: &[TensorIn<'_>],
        outputs: &mut [TensorOut<'_>],
    ) -> Result<Vec<OpTiming>, GpuError> {
        // A full invoke first writes the inputs and checks that everything works.
        self.run(inputs, outputs)?;
        if self
            .ctx
            .device()
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
            && !self.dispatches.is_empty()
        {
            return self.timestamps();
        }
        let device = self.ctx.device();
        let mut timings = Vec::with_capacity(self.dispatches.len());
        let origin = std::time::Instant::now();
        for d in &self.dispatches {
            let t = std::time::Instant::now();
            let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("profile"),
            });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("profile"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(&d.pipeline);
                pass.set_bind_group(0, &d.bind_group, &[]);
                pass.dispatch_workgroups(d.groups[0], d.groups[1], d.groups[2]);
            }
            let submission = self.ctx.submit([encoder.finish()]);
            device.poll(wgpu::PollType::Wait {
                submission_index: Some(submission),
                timeout: Some(WAIT_TIMEOUT),
            })?;
            timings.push(OpTiming {
                op: d.label.0.clone(),
                node: Some(d.label.1),
                shape: d.label.2.clone(),
                device: "gpu".into(),
                source: "per-dispatch wall time".into(),
                start_ms: (t - origin).as_secs_f64() * 1e3,
                duration_ms: t.elapsed().as_secs_f64() * 1e3,
            });
        }
        fail_if_lost(&self.ctx)?;
        Ok(timings)
    }

    /// One submission with every dispatch in its own pass, bracketed by GPU timestamps.
    fn timestamps(&self) -> Result<Vec<OpTiming>, GpuError> {
        let device = self.ctx.device();
        let n = self.dispatches.len() as u32;
        let scopes = Scopes::push(device);
        let queries = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("profile timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: 2 * n,
        });
        let bytes = 16 * n as u64;
        let resolve = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("profile resolve"),
            size: bytes,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("profile read-back"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("profile"),
        });
        for (i, d) in self.dispatches.iter().enumerate() {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("profile"),
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: &queries,
                    beginning_of_pass_write_index: Some(2 * i as u32),
                    end_of_pass_write_index: Some(2 * i as u32 + 1),
                }),
            });
            pass.set_pipeline(&d.pipeline);
            pass.set_bind_group(0, &d.bind_group, &[]);
            pass.dispatch_workgroups(d.groups[0], d.groups[1], d.groups[2]);
        }
        encoder.resolve_query_set(&queries, 0..2 * n, &resolve, 0);
        encoder.copy_buffer_to_buffer(&resolve, 0, &readback, 0, bytes);
        let submission = self.ctx.submit([encoder.finish()]);
        scopes.pop("recording GPU timestamps")?;
        let (tx, rx) = mpsc::channel();
        readback.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        device.poll(wgpu::PollType::Wait {
            submission_index: Some(submission),
            timeout: Some(WAIT_TIMEOUT),
        })?;
        fail_if_lost(&self.ctx)?;
        rx.try_recv()
            .map_err(|_| GpuError::Map {
                label: "profile read-back".into(),
                message: "the map callback never ran".into(),
            })?
            .map_err(|e| GpuError::Map {
                label: "profile read-back".into(),
                message: e.to_string(),
            })?;
        let ticks: Vec<u64> = {
            let view = readback.get_mapped_range(..).map_err(|e| GpuError::Map {
                label: "profile read-back".into(),
                message: e.to_string(),
            })?;
            bytemuck::pod_collect_to_vec(&view[..])
        };
        readback.unmap();
        let period_ns = f64::from(self.ctx.queue().get_timestamp_period());
        let origin = ticks.first().copied().unwrap_or(0);
        let ms = |t: u64| t.saturating_sub(origin) as f64 * period_ns / 1e6;
        Ok(self
            .dispatches
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let (begin, end) = (ticks[2 * i], ticks[2 * i + 1]);
                OpTiming {
                    op: d.label.0.clone(),
                    node: Some(d.label.1),
                    shape: d.label.2.clone(),
                    device: "gpu".into(),
                    source: "gpu timestamp".into(),
                    start_ms: ms(begin),
                    duration_ms: end.saturating_sub(begin) as f64 * period_ns / 1e6,
                }
            })
            .collect())
    }
}

impl DelegateKernel for GpuProgram {
    fn invoke_profiled(
        &mut self,
        inputs: &[TensorIn<'_>],
        outputs: &mut [TensorOut<'_>],
    ) -> Result<Vec<OpTiming>, DelegateError> {
        self.run_profiled(inputs, outputs)
            .map_err(|e| Box::new(e) as DelegateError)
    }

    fn invoke(
        &mut self,
        inputs: &[TensorIn<'_>],
        outputs: &mut [TensorOut<'_>],
    ) -> Result<(), DelegateError> {
        self.run(inputs, outputs)
            .map_err(|e| Box::new(e) as DelegateError)
    }

    fn describe(&self) -> Option<String> {
        Some(self.description.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arena_reaches_the_lower_bound_on_a_chain_and_keeps_operands_apart() {
        // t0 -> t1 -> t2 -> t3, each dispatch reading one tensor and writing the next.
        let lifetimes = [
            (0, 512, 0, 1),
            (1, 1024, 1, 2),
            (2, 512, 2, 3),
            (3, 256, 3, 3),
        ];
        let (layout, bound) = assign_buffers(&lifetimes, 256, 1 << 20);
        assert_eq!(layout.scheme, "arena");
        assert_eq!(bound, 1536);
        assert_eq!(layout.sizes.iter().sum::<u64>(), 1536);
        let range = |t: TensorId| {
            let (b, o) = layout.slot_of[&t];
            (b, o, o + lifetimes[t].1)
        };
        for (a, b) in [(0, 1), (1, 2), (2, 3)] {
            let (ra, rb) = (range(a), range(b));
            assert!(
                ra.0 != rb.0 || ra.2 <= rb.1 || rb.2 <= ra.1,
                "{a} and {b} overlap"
            );
        }
        // Too small a max_buffer_size for two tensors side by side: several arenas.
        let (layout, _) = assign_buffers(&lifetimes, 256, 1200);
        assert_eq!(layout.scheme, "arena");
        assert!(layout.sizes.len() > 1 && layout.sizes.iter().all(|&s| s <= 1200));
    }
}
