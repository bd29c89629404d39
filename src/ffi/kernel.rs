//! The delegate kernel: one per partition the runtime made of the claimed nodes. `init` builds
//! the partition's self-contained graph and compiles it; `invoke` copies the boundary inputs
//! out of the runtime's tensors, runs the GPU program and copies the outputs back.

use std::ffi::{c_char, c_void};

use half::f16;

use super::abi::{
    self, TfLiteContext, TfLiteDelegateParams, TfLiteNode, TfLiteRegistration, TfLiteStatus,
    TfLiteTensor,
};
use super::prepare::Prepared;
use super::{guard, lock, state_of, translate};
use crate::cpu::{TensorIn, TensorOut};
use crate::delegate::{Delegate, DelegateKernel, Partition};
use crate::graph::{Graph, TensorId, TensorRole};
use crate::model::TensorType;

/// The registration handed to `ReplaceNodeSubsetsWithDelegateKernels`.
pub(crate) fn registration() -> TfLiteRegistration {
    TfLiteRegistration {
        init: Some(kernel_init),
        free: Some(kernel_free),
        prepare: Some(kernel_prepare),
        invoke: Some(kernel_invoke),
        profiling_string: std::ptr::null(),
        builtin_code: abi::BUILTIN_DELEGATE,
        custom_name: c"halfgpu".as_ptr(),
        version: 1,
        registration_external: std::ptr::null(),
        async_kernel: std::ptr::null(),
        inplace_operator: 0,
    }
}

/// A boundary tensor: its runtime index and the shape and dtype compiled for.
struct Boundary {
    tensor: TensorId,
    shape: Vec<usize>,
    dtype: TensorType,
    bytes: usize,
}

/// One compiled partition.
struct Kernel {
    program: Option<Box<dyn DelegateKernel>>,
    inputs: Vec<Boundary>,
    outputs: Vec<Boundary>,
    /// Outputs computed once at init: FP16 DEQUANTIZEs whose result is needed outside.
    host_outputs: Vec<(Boundary, Vec<u8>)>,
    in_bufs: Vec<Vec<u128>>,
    out_bufs: Vec<Vec<u128>>,
}

fn boundary(p: &Prepared, t: TensorId) -> Result<Boundary, String> {
    let info = &p.tensors[t];
    let size = info.dtype.size_bytes().ok_or_else(|| {
        format!(
            "tensor {:?} has dtype {} without a size",
            info.name, info.dtype
        )
    })?;
    Ok(Boundary {
        tensor: t,
        shape: info.shape.clone(),
        dtype: info.dtype,
        bytes: info.num_elements() * size,
    })
}

/// Builds the partition made of `nodes` (runtime node indices) whose results `needed` are read
/// outside it, and compiles it.
fn build(
    p: &Prepared,
    gpu: &mut dyn Delegate,
    nodes: &[i32],
    needed: &[i32],
) -> Result<Kernel, String> {
    let mut members = Vec::with_capacity(nodes.len());
    let mut folded_out: Vec<TensorId> = Vec::new();
    for &ni in nodes {
        let node = p
            .nodes
            .iter()
            .find(|n| n.index as i64 == ni as i64)
            .ok_or_else(|| format!("node {ni} was not seen by Prepare"))?;
        if !p.claimed.contains(&node.index) {
            return Err(format!("node {ni} was not claimed"));
        }
        if p.folded.contains(&node.index) {
            if let [out] = node.outputs.as_slice() {
                folded_out.push(*out);
            }
            continue;
        }
        let mut rewired = node.clone();
        for t in rewired.inputs.iter_mut().flatten() {
            *t = p.view_of(*t);
        }
        members.push(rewired);
    }
    let n = p.tensors.len();
    let mut inside = vec![false; n];
    for m in &members {
        for &o in &m.outputs {
            inside[o] = true;
        }
    }
    let mut inputs: Vec<TensorId> = Vec::new();
    for m in &members {
        for &t in m.inputs.iter().flatten() {
            if p.constant(t).is_none() && !inside[t] && !inputs.contains(&t) {
                inputs.push(t);
            }
        }
    }
    let mut outputs: Vec<TensorId> = Vec::new();
    let mut host_outputs = Vec::new();
    for &t in needed {
        let t = usize::try_from(t)
            .ok()
            .filter(|&t| t < n)
            .ok_or_else(|| format!("output tensor index {t} out of range"))?;
        if inside[t] {
            if !outputs.contains(&t) {
                outputs.push(t);
            }
        } else if folded_out.contains(&t) {
            // A folded node's result is needed outside: write its value at every invoke.
            let bytes = match p.f16_source[t] {
                Some(src) => {
                    let values: Vec<f32> = p
                        .constant(src)
                        .and_then(|d| d.as_slice::<f16>())
                        .ok_or("FP16 constant without data")?
                        .iter()
                        .map(|v| v.to_f32())
                        .collect();
                    bytemuck::cast_slice::<f32, u8>(&values).to_vec()
                }
                None => p
                    .constant(t)
                    .ok_or("folded DENSIFY without a value")?
                    .bytes()
                    .to_vec(),
            };
            let b = boundary(p, t)?;
            if bytes.len() != b.bytes {
                return Err(format!("folded output {t} size mismatch"));
            }
            host_outputs.push((b, bytes));
        } else {
            return Err(format!(
                "output tensor {t} is not computed by the partition"
            ));
        }
    }
    let program = if members.is_empty() {
        None
    } else {
        let mut tensors = p.tensors.clone();
        for (t, info) in tensors.iter_mut().enumerate() {
            info.role = if inputs.contains(&t) {
                TensorRole::Input
            } else if outputs.contains(&t) {
                TensorRole::Output
            } else if info.sparsity.is_some() {
                // Sparse constants are only read by folded DENSIFYs, which are not here.
                info.data = None;
                info.sparsity = None;
                TensorRole::Activation
            } else if info.data.is_some() {
                TensorRole::Constant
            } else {
                TensorRole::Activation
            };
        }
        let node_indices = members.iter().map(|m| m.index).collect();
        let partition = Partition {
            graph: Graph {
                tensors,
                nodes: members,
                inputs: inputs.clone(),
                outputs: outputs.clone(),
            },
            node_indices,
        };
        Some(
            gpu.compile(&partition)
                .map_err(|e| format!("compiling a partition of {} node(s): {e}", nodes.len()))?,
        )
    };
    let inputs: Vec<Boundary> = inputs
        .iter()
        .map(|&t| boundary(p, t))
        .collect::<Result<_, _>>()?;
    let outputs: Vec<Boundary> = outputs
        .iter()
        .map(|&t| boundary(p, t))
        .collect::<Result<_, _>>()?;
    Ok(Kernel {
        program,
        in_bufs: inputs
            .iter()
            .map(|b| vec![0u128; b.bytes.div_ceil(16)])
            .collect(),
        out_bufs: outputs
            .iter()
            .map(|b| vec![0u128; b.bytes.div_ceil(16)])
            .collect(),
        inputs,
        outputs,
        host_outputs,
    })
}

/// The runtime tensor `b` refers to, checked against what was compiled: index in range, same
/// dtype and shape, and (with `need_data`; not yet at prepare time, before the arena exists)
/// data present and large enough.
///
/// # Safety
/// `ctx` must be the live, non-null context of the kernel's subgraph.
unsafe fn runtime_tensor<'a>(
    ctx: *mut TfLiteContext,
    b: &Boundary,
    need_data: bool,
) -> Result<&'a TfLiteTensor, String> {
    // SAFETY: non-null live context (caller).
    let c = unsafe { &*ctx };
    if b.tensor >= c.tensors_size || c.tensors.is_null() {
        return Err(format!(
            "tensor index {} out of range ({} tensors)",
            b.tensor, c.tensors_size
        ));
    }
    // SAFETY: index < tensors_size and tensors is non-null.
    let t = unsafe { &*c.tensors.add(b.tensor) };
    let dtype = translate::tensor_type(t.dtype);
    if dtype != b.dtype {
        return Err(format!(
            "tensor {} has dtype {dtype}, compiled for {}",
            b.tensor, b.dtype
        ));
    }
    // SAFETY: dims of a live tensor.
    let shape = unsafe { translate::tensor_shape(t) }?;
    if shape != b.shape {
        return Err(format!(
            "tensor {} has shape {shape:?}, compiled for {:?} (resizing delegated tensors is not supported: create the interpreter again)",
            b.tensor, b.shape
        ));
    }
    if need_data && b.bytes > 0 && (t.data.is_null() || t.bytes < b.bytes) {
        return Err(format!(
            "tensor {} has no data or fewer than {} bytes",
            b.tensor, b.bytes
        ));
    }
    Ok(t)
}

impl Kernel {
    /// # Safety
    /// `ctx` must be the live, non-null context of the kernel's subgraph.
    unsafe fn check(&self, ctx: *mut TfLiteContext) -> Result<(), String> {
        for b in self
            .inputs
            .iter()
            .chain(&self.outputs)
            .chain(self.host_outputs.iter().map(|(b, _)| b))
        {
            // SAFETY: forwarded.
            unsafe { runtime_tensor(ctx, b, false) }?;
        }
        Ok(())
    }

    /// # Safety
    /// `ctx` must be the live, non-null context of the kernel's subgraph.
    unsafe fn invoke(&mut self, ctx: *mut TfLiteContext) -> Result<(), String> {
        for (b, buf) in self.inputs.iter().zip(self.in_bufs.iter_mut()) {
            // SAFETY: forwarded.
            let t = unsafe { runtime_tensor(ctx, b, true) }?;
            if b.bytes > 0 {
                // SAFETY: runtime_tensor checked data non-null with at least b.bytes bytes; the
                // destination is our own buffer of at least b.bytes bytes, so they are disjoint.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        t.data as *const u8,
                        buf.as_mut_ptr() as *mut u8,
                        b.bytes,
                    )
                };
            }
        }
        if let Some(program) = self.program.as_mut() {
            let ins: Vec<TensorIn<'_>> = self
                .inputs
                .iter()
                .zip(&self.in_bufs)
                .map(|(b, buf)| TensorIn {
                    shape: &b.shape,
                    dtype: b.dtype,
                    bytes: &bytemuck::cast_slice::<u128, u8>(buf)[..b.bytes],
                })
                .collect();
            let mut outs: Vec<TensorOut<'_>> = self
                .outputs
                .iter()
                .zip(self.out_bufs.iter_mut())
                .map(|(b, buf)| TensorOut {
                    shape: &b.shape,
                    dtype: b.dtype,
                    bytes: &mut bytemuck::cast_slice_mut::<u128, u8>(buf)[..b.bytes],
                })
                .collect();
            program.invoke(&ins, &mut outs).map_err(|e| e.to_string())?;
        }
        let results = self
            .outputs
            .iter()
            .zip(
                self.out_bufs
                    .iter()
                    .map(|b| bytemuck::cast_slice::<u128, u8>(b)),
            )
            .chain(self.host_outputs.iter().map(|(b, v)| (b, v.as_slice())));
        for (b, bytes) in results {
            // SAFETY: forwarded.
            let t = unsafe { runtime_tensor(ctx, b, true) }?;
            if b.bytes > 0 {
                // SAFETY: data non-null with at least b.bytes bytes (checked); the source is our
                // own buffer of at least b.bytes bytes.
                unsafe {
                    std::ptr::copy_nonoverlapping(bytes.as_ptr(), t.data as *mut u8, b.bytes)
                };
            }
        }
        Ok(())
    }
}

/// `init`: `buffer` is a `TfLiteDelegateParams*` for one partition.
unsafe extern "C" fn kernel_init(
    ctx: *mut TfLiteContext,
    buffer: *const c_char,
    _length: usize,
) -> *mut c_void {
    let mut out: *mut c_void = std::ptr::null_mut();
    let status = guard(ctx, "kernel init", || {
        let params = buffer as *const TfLiteDelegateParams;
        if params.is_null() {
            return Err("no TfLiteDelegateParams".into());
        }
        // SAFETY: for delegate kernels the runtime passes a TfLiteDelegateParams* as buffer.
        let params = unsafe { &*params };
        let state = state_of(params.delegate).ok_or("params name an unknown delegate")?;
        // SAFETY: arrays of the runtime's params, valid during init (null refused).
        let nodes = unsafe { translate::int_array(params.nodes_to_replace) }?;
        // SAFETY: as above.
        let needed = unsafe { translate::int_array(params.output_tensors) }?;
        let prepared = lock(&state.current)
            .clone()
            .ok_or("init outside of the delegate's Prepare")?;
        let mut gpu = lock(&state.gpu);
        let gpu = gpu.as_mut().ok_or("no GPU device")?;
        let kernel = build(&prepared, gpu, &nodes, &needed)?;
        out = Box::into_raw(Box::new(kernel)) as *mut c_void;
        Ok(())
    });
    if status != abi::STATUS_OK {
        return std::ptr::null_mut();
    }
    out
}

/// `free`: drops what `init` returned.
unsafe extern "C" fn kernel_free(ctx: *mut TfLiteContext, data: *mut c_void) {
    let _ = guard(ctx, "kernel free", || {
        if !data.is_null() {
            // SAFETY: non-null user data of our kernels is a Box<Kernel> made by kernel_init,
            // freed once by the runtime.
            drop(unsafe { Box::from_raw(data as *mut Kernel) });
        }
        Ok(())
    });
}

/// The kernel of a node, if `init` succeeded.
///
/// # Safety
/// `node` must be null or a node whose user_data was set by `kernel_init`.
unsafe fn kernel_of<'a>(node: *mut TfLiteNode) -> Result<&'a mut Kernel, String> {
    if node.is_null() {
        return Err("NULL node".into());
    }
    // SAFETY: non-null node of our registration.
    let data = unsafe { (*node).user_data } as *mut Kernel;
    if data.is_null() {
        return Err("the partition failed to compile (see the error reported at init)".into());
    }
    // SAFETY: user_data is the Box<Kernel> made by kernel_init; the runtime runs one node at a
    // time, so this is the only reference.
    Ok(unsafe { &mut *data })
}

/// `prepare`: checks that the boundary tensors still have the compiled shapes and dtypes.
unsafe extern "C" fn kernel_prepare(
    ctx: *mut TfLiteContext,
    node: *mut TfLiteNode,
) -> TfLiteStatus {
    guard(ctx, "kernel prepare", || {
        if ctx.is_null() {
            return Err("NULL context".into());
        }
        // SAFETY: node from the runtime for our registration.
        let k = unsafe { kernel_of(node) }?;
        // SAFETY: ctx non-null and live.
        unsafe { k.check(ctx) }
    })
}

/// `invoke`: runs the partition.
unsafe extern "C" fn kernel_invoke(ctx: *mut TfLiteContext, node: *mut TfLiteNode) -> TfLiteStatus {
    guard(ctx, "invoke", || {
        if ctx.is_null() {
            return Err("NULL context".into());
        }
        // SAFETY: node from the runtime for our registration.
        let k = unsafe { kernel_of(node) }?;
        // SAFETY: ctx non-null and live.
        unsafe { k.invoke(ctx) }
    })
}
