//! The host runtime: an [`Interpreter`] that plans a graph once and runs it with the CPU
//! kernels (and, later, with delegates for the nodes they claim).

pub(crate) mod arena;
mod element;
mod error;
mod plan;

use std::path::Path;

pub use element::Element;
pub use error::{MissingOp, RuntimeError};

use smallvec::SmallVec;

use crate::cpu::{self, CpuContext, TensorIn, TensorOut};
use crate::delegate::{Delegate, DelegateKernel, DelegationReport, OpTiming};
use crate::graph::{Graph, TensorId};
use crate::model::{read_model_file, Model};
use plan::{Plan, Step, Storage};

/// Memory the plan uses, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryStats {
    /// Size of the activation arena.
    pub arena_bytes: usize,
    /// The most activation bytes alive at one time: no plan can use less.
    pub lower_bound_bytes: usize,
    /// Bytes of constants the runtime reads (file constants and values folded at build).
    pub constant_bytes: usize,
}

/// The default of [`InterpreterBuilder::max_arena_bytes`]: 16 GiB.
pub const DEFAULT_MAX_ARENA_BYTES: usize = 16 << 30;

/// Builds an [`Interpreter`].
pub struct InterpreterBuilder {
    graph: Result<Graph, RuntimeError>,
    threads: usize,
    delegates: Vec<Box<dyn Delegate>>,
    max_arena_bytes: usize,
}

impl InterpreterBuilder {
    /// Number of CPU threads for the heavy kernels (default 1).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// The most host memory planning may ask for, in bytes: the activation arena, and
    /// separately the values computed once at build time (constant folding). A plan over the
    /// limit fails with [`RuntimeError::TooLarge`] before anything of that size is allocated,
    /// so a file whose shapes claim terabytes gives an error rather than an out-of-memory
    /// abort. Default [`DEFAULT_MAX_ARENA_BYTES`].
    pub fn max_arena_bytes(mut self, bytes: usize) -> Self {
        self.max_arena_bytes = bytes;
        self
    }

    /// Registers a delegate. Delegates are offered the nodes in registration order, each
    /// claiming from what the previous ones left; the CPU runs the rest.
    pub fn delegate(mut self, delegate: impl Delegate + 'static) -> Self {
        self.delegates.push(Box::new(delegate));
        self
    }

    /// Registers an already boxed delegate.
    pub fn boxed_delegate(mut self, delegate: Box<dyn Delegate>) -> Self {
        self.delegates.push(delegate);
        self
    }

    /// Plans the graph: shapes, constant folding, delegation, execution order, arena.
    pub fn build(self) -> Result<Interpreter, RuntimeError> {
        let graph = self.graph?;
        let ctx = CpuContext::new(self.threads);
        let mut delegates = self.delegates;
        let input_shapes: Vec<Vec<usize>> = graph
            .inputs
            .iter()
            .map(|&t| graph.tensors[t].shape.clone())
            .collect();
        let max_arena_bytes = self.max_arena_bytes;
        let (plan, kernels) =
            plan::plan(&graph, &input_shapes, &ctx, &mut delegates, max_arena_bytes)?;
        let arena = vec![0u128; plan.arena_bytes.div_ceil(16)];
        Ok(Interpreter {
            graph,
            ctx,
            max_arena_bytes,
            input_shapes,
            plan,
            arena,
            delegates,
            kernels,
        })
    }
}

/// Runs a model on the CPU. Build with [`Interpreter::builder`].
///
/// ```no_run
/// # fn main() -> Result<(), halfgpu::runtime::RuntimeError> {
/// let model = halfgpu::model::read_model_file("model.tflite")?;
/// let mut interpreter = halfgpu::runtime::Interpreter::builder(&model).threads(2).build()?;
/// interpreter.input_mut::<f32>(0)?.fill(0.5);
/// interpreter.invoke()?;
/// println!("{:?}", &interpreter.output::<f32>(0)?[..4]);
/// # Ok(()) }
/// ```
pub struct Interpreter {
    graph: Graph,
    ctx: CpuContext,
    max_arena_bytes: usize,
    input_shapes: Vec<Vec<usize>>,
    plan: Plan,
    arena: Vec<u128>,
    delegates: Vec<Box<dyn Delegate>>,
    kernels: Vec<Box<dyn DelegateKernel>>,
}

impl Interpreter {
    /// Starts building an interpreter for the main subgraph of `model`.
    pub fn builder(model: &Model) -> InterpreterBuilder {
        InterpreterBuilder {
            graph: Graph::from_model(model).map_err(RuntimeError::from),
            threads: 1,
            delegates: Vec::new(),
            max_arena_bytes: DEFAULT_MAX_ARENA_BYTES,
        }
    }

    /// Starts building an interpreter for an already built graph.
    pub fn builder_for_graph(graph: Graph) -> InterpreterBuilder {
        InterpreterBuilder {
            graph: graph.validate().map(|_| graph).map_err(RuntimeError::from),
            threads: 1,
            delegates: Vec::new(),
            max_arena_bytes: DEFAULT_MAX_ARENA_BYTES,
        }
    }

    /// Reads a `.tflite` file and builds a single-threaded interpreter for it.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Interpreter, RuntimeError> {
        let model = read_model_file(path)?;
        Interpreter::builder(&model).build()
    }

    /// The graph this interpreter runs.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Number of graph inputs.
    pub fn input_count(&self) -> usize {
        self.graph.inputs.len()
    }

    /// Number of graph outputs.
    pub fn output_count(&self) -> usize {
        self.graph.outputs.len()
    }

    /// Index of the input tensor named `name`.
    pub fn input_index(&self, name: &str) -> Result<usize, RuntimeError> {
        self.find("input", &self.graph.inputs, name)
    }

    /// Index of the output tensor named `name`.
    pub fn output_index(&self, name: &str) -> Result<usize, RuntimeError> {
        self.find("output", &self.graph.outputs, name)
    }

    fn find(
        &self,
        kind: &'static str,
        list: &[TensorId],
        name: &str,
    ) -> Result<usize, RuntimeError> {
        list.iter()
            .position(|&t| self.graph.tensors[t].name == name)
            .ok_or_else(|| RuntimeError::NoSuchTensor {
                kind,
                name: name.into(),
                available: list
                    .iter()
                    .map(|&t| format!("{:?}", self.graph.tensors[t].name))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn tensor_at(
        &self,
        kind: &'static str,
        list: &[TensorId],
        index: usize,
    ) -> Result<TensorId, RuntimeError> {
        list.get(index).copied().ok_or(RuntimeError::NoSuchIndex {
            kind,
            index,
            count: list.len(),
        })
    }

    /// Name, current shape and dtype of input `index`.
    pub fn input_info(
        &self,
        index: usize,
    ) -> Result<(&str, &[usize], crate::model::TensorType), RuntimeError> {
        let t = self.tensor_at("input", &self.graph.inputs, index)?;
        Ok((
            &self.graph.tensors[t].name,
            &self.plan.shapes[t],
            self.graph.tensors[t].dtype,
        ))
    }

    /// Name, current shape and dtype of output `index`.
    pub fn output_info(
        &self,
        index: usize,
    ) -> Result<(&str, &[usize], crate::model::TensorType), RuntimeError> {
        let t = self.tensor_at("output", &self.graph.outputs, index)?;
        Ok((
            &self.graph.tensors[t].name,
            &self.plan.shapes[t],
            self.graph.tensors[t].dtype,
        ))
    }

    /// Changes the shape of input `index` (only dimensions the model declares dynamic, `-1` in
    /// its shape signature, may change) and plans again.
    pub fn resize_input(&mut self, index: usize, shape: &[usize]) -> Result<(), RuntimeError> {
        let t = self.tensor_at("input", &self.graph.inputs, index)?;
        let info = &self.graph.tensors[t];
        let fits = info.signature.len() == shape.len()
            && info
                .signature
                .iter()
                .zip(shape)
                .all(|(&s, &d)| s == -1 || s as i64 == d as i64);
        if !fits {
            return Err(RuntimeError::Shape {
                tensor: info.name.clone(),
                msg: format!("cannot resize to {shape:?}: its shape signature is {:?} (-1 marks dimensions that may change)", info.signature),
            });
        }
        let mut shapes = self.input_shapes.clone();
        shapes[index] = shape.to_vec();
        let (plan, kernels) = plan::plan(
            &self.graph,
            &shapes,
            &self.ctx,
            &mut self.delegates,
            self.max_arena_bytes,
        )?;
        self.arena = vec![0u128; plan.arena_bytes.div_ceil(16)];
        self.plan = plan;
        self.kernels = kernels;
        self.input_shapes = shapes;
        Ok(())
    }

    fn check_dtype<T: Element>(&self, t: TensorId) -> Result<(), RuntimeError> {
        let actual = self.graph.tensors[t].dtype;
        if actual != T::DTYPE {
            return Err(RuntimeError::DType {
                tensor: self.graph.tensors[t].name.clone(),
                actual: actual.to_string(),
                requested: T::DTYPE.to_string(),
            });
        }
        Ok(())
    }

    /// The bytes of input `index`, to fill before [`invoke`](Self::invoke).
    pub fn input_mut<T: Element>(&mut self, index: usize) -> Result<&mut [T], RuntimeError> {
        let t = self.tensor_at("input", &self.graph.inputs, index)?;
        self.check_dtype::<T>(t)?;
        match self.plan.storage[t] {
            Storage::Arena { offset, len } => {
                let bytes = &mut bytemuck::cast_slice_mut::<u128, u8>(&mut self.arena)
                    [offset..offset + len];
                Ok(bytemuck::cast_slice_mut(bytes))
            }
            _ => Err(RuntimeError::Shape {
                tensor: self.graph.tensors[t].name.clone(),
                msg: "input has no storage".into(),
            }),
        }
    }

    /// Copies `data` into input `index`; its length must match the input's element count.
    pub fn set_input<T: Element>(&mut self, index: usize, data: &[T]) -> Result<(), RuntimeError> {
        let t = self.tensor_at("input", &self.graph.inputs, index)?;
        let shape = self.plan.shapes[t].clone();
        let name = self.graph.tensors[t].name.clone();
        let dst = self.input_mut::<T>(index)?;
        if dst.len() != data.len() {
            return Err(RuntimeError::Length {
                tensor: name,
                shape,
                expected: dst.len(),
                got: data.len(),
            });
        }
        dst.copy_from_slice(data);
        Ok(())
    }

    /// Copies `data` into the input named `name`.
    pub fn set_input_by_name<T: Element>(
        &mut self,
        name: &str,
        data: &[T],
    ) -> Result<(), RuntimeError> {
        let i = self.input_index(name)?;
        self.set_input(i, data)
    }

    /// The values of output `index` after [`invoke`](Self::invoke).
    pub fn output<T: Element>(&self, index: usize) -> Result<&[T], RuntimeError> {
        let t = self.tensor_at("output", &self.graph.outputs, index)?;
        self.check_dtype::<T>(t)?;
        let bytes = self.tensor_bytes(t);
        bytemuck::try_cast_slice(bytes).map_err(|_| RuntimeError::Shape {
            tensor: self.graph.tensors[t].name.clone(),
            msg: "output bytes are not a whole number of elements".into(),
        })
    }

    /// The values of the output named `name`.
    pub fn output_by_name<T: Element>(&self, name: &str) -> Result<&[T], RuntimeError> {
        self.output(self.output_index(name)?)
    }

    fn tensor_bytes(&self, t: TensorId) -> &[u8] {
        match &self.plan.storage[t] {
            Storage::Const(c) => c.bytes(),
            Storage::Arena { offset, len } => {
                &bytemuck::cast_slice::<u128, u8>(&self.arena)[*offset..offset + len]
            }
            Storage::Unused => &[],
        }
    }

    /// Memory the current plan uses.
    pub fn memory(&self) -> MemoryStats {
        let constant_bytes = self
            .plan
            .storage
            .iter()
            .map(|s| match s {
                Storage::Const(c) => c.len(),
                _ => 0,
            })
            .sum();
        MemoryStats {
            arena_bytes: self.plan.arena_bytes,
            lower_bound_bytes: self.plan.lower_bound_bytes,
            constant_bytes,
        }
    }

    /// Nodes executed per invoke, nodes folded at build time, and reshape-like nodes aliased.
    pub fn node_counts(&self) -> (usize, usize, usize) {
        (
            self.plan.steps.len(),
            self.plan.folded_nodes,
            self.plan.aliased_nodes,
        )
    }

    /// What runs where, and why.
    pub fn delegation_report(&self) -> &DelegationReport {
        &self.plan.report
    }

    /// Runs the model once on the current inputs.
    pub fn invoke(&mut self) -> Result<(), RuntimeError> {
        match self.ctx.enter_pool() {
            Some(pool) => pool.install(|| self.run_steps(None)),
            None => self.run_steps(None),
        }
    }

    /// Runs the model once, timing every CPU node and every piece of delegated work (as finely
    /// as each delegate can: the GPU delegate times each dispatch).
    pub fn invoke_profiled(&mut self) -> Result<Vec<OpTiming>, RuntimeError> {
        let mut timings = Vec::new();
        match self.ctx.enter_pool() {
            Some(pool) => pool.install(|| self.run_steps(Some(&mut timings)))?,
            None => self.run_steps(Some(&mut timings))?,
        }
        Ok(timings)
    }

    fn run_steps(&mut self, mut timings: Option<&mut Vec<OpTiming>>) -> Result<(), RuntimeError> {
        let origin = std::time::Instant::now();
        let arena_ptr = self.arena.as_mut_ptr() as *mut u8;
        let arena_len = self.arena.len() * 16;
        for (si, step) in self.plan.steps.iter().enumerate() {
            let view = |t: TensorId| -> &[u8] {
                match &self.plan.storage[t] {
                    Storage::Const(c) => c.bytes(),
                    Storage::Arena { offset, len } => {
                        debug_assert!(offset + len <= arena_len);
                        // SAFETY: the range lies inside the arena (planned from its size), and
                        // the planner checked it is disjoint from every output of this step.
                        unsafe { std::slice::from_raw_parts(arena_ptr.add(*offset), *len) }
                    }
                    Storage::Unused => &[],
                }
            };
            let tensor_in = |t: TensorId| TensorIn {
                shape: &self.plan.shapes[t],
                dtype: self.graph.tensors[t].dtype,
                bytes: view(t),
            };
            let (ins, out_ids): (SmallVec<[Option<TensorIn<'_>>; 8]>, &[TensorId]) = match step {
                Step::Cpu(ni) => {
                    let node = &self.graph.nodes[*ni];
                    (
                        node.inputs.iter().map(|t| t.map(tensor_in)).collect(),
                        &node.outputs,
                    )
                }
                Step::Kernel {
                    inputs, outputs, ..
                } => (
                    inputs.iter().map(|&t| Some(tensor_in(t))).collect(),
                    outputs,
                ),
            };
            let mut outs: SmallVec<[TensorOut<'_>; 4]> = SmallVec::new();
            for &o in out_ids {
                let Storage::Arena { offset, len } = self.plan.storage[o] else {
                    continue;
                };
                debug_assert!(offset + len <= arena_len);
                // SAFETY: in bounds as above; outputs of one step are disjoint from each other
                // and from its inputs (checked when planning), so no two live slices alias.
                let bytes = unsafe { std::slice::from_raw_parts_mut(arena_ptr.add(offset), len) };
                outs.push(TensorOut {
                    shape: &self.plan.shapes[o],
                    dtype: self.graph.tensors[o].dtype,
                    bytes,
                });
            }
            let started = std::time::Instant::now();
            match step {
                Step::Cpu(ni) => {
                    let node = &self.graph.nodes[*ni];
                    let prepared = self.plan.prepacked.get(si).and_then(|p| p.as_deref());
                    cpu::execute_planned(&self.ctx, &node.op, &ins, &mut outs, prepared).map_err(
                        |source| RuntimeError::Kernel {
                            node: node.index,
                            op: node.op.name().into(),
                            source,
                        },
                    )?;
                    if let Some(t) = timings.as_deref_mut() {
                        t.push(OpTiming {
                            op: node.op.name().into(),
                            node: Some(node.index),
                            shape: node
                                .outputs
                                .first()
                                .map(|&o| self.plan.shapes[o].clone())
                                .unwrap_or_default(),
                            device: "cpu".into(),
                            source: "cpu wall time".into(),
                            start_ms: (started - origin).as_secs_f64() * 1e3,
                            duration_ms: started.elapsed().as_secs_f64() * 1e3,
                        });
                    }
                }
                Step::Kernel { kernel, .. } => {
                    let ins: SmallVec<[TensorIn<'_>; 8]> = ins.into_iter().flatten().collect();
                    let k = &mut self.kernels[*kernel];
                    let delegate_err = |e: crate::delegate::DelegateError| RuntimeError::Delegate {
                        delegate: self
                            .plan
                            .report
                            .partitions
                            .get(*kernel)
                            .map_or("?".into(), |p| p.delegate.clone()),
                        msg: e.to_string(),
                    };
                    match timings.as_deref_mut() {
                        None => k.invoke(&ins, &mut outs).map_err(delegate_err)?,
                        Some(t) => {
                            let offset = (started - origin).as_secs_f64() * 1e3;
                            for mut timing in
                                k.invoke_profiled(&ins, &mut outs).map_err(delegate_err)?
                            {
                                timing.start_ms += offset;
                                t.push(timing);
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
