//! The delegate contract with a test delegate that claims a chosen set of ops and runs each
//! partition with the CPU kernels (through an inner Interpreter), counting what it is given.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use halfgpu::cpu::{TensorIn, TensorOut};
use halfgpu::delegate::{
    Delegate, DelegateError, DelegateKernel, NodeView, Partition, PartitionOptions,
};
use halfgpu::graph::{ConstData, Graph, Node, Op, TensorInfo, TensorRole};
use halfgpu::model::{read_model_file, Activation, TensorType};
use halfgpu::runtime::Interpreter;

/// What the test delegate saw.
#[derive(Default)]
struct Seen {
    compiled: AtomicUsize,
    invoked: AtomicUsize,
    /// (dtype, bytes, elements) of every constant read by a compiled partition.
    constants: Mutex<Vec<(TensorType, usize, usize)>>,
}

struct TestDelegate {
    ops: Option<HashSet<String>>,
    except: HashSet<String>,
    options: PartitionOptions,
    fail_compile: Option<usize>,
    seen: Arc<Seen>,
}

impl TestDelegate {
    fn claiming(ops: &[&str]) -> Self {
        TestDelegate {
            ops: Some(ops.iter().map(|s| s.to_string()).collect()),
            except: HashSet::new(),
            options: PartitionOptions::default(),
            fail_compile: None,
            seen: Arc::default(),
        }
    }
    fn all_but(ops: &[&str]) -> Self {
        TestDelegate {
            ops: None,
            except: ops.iter().map(|s| s.to_string()).collect(),
            ..Self::claiming(&[])
        }
    }
}

impl Delegate for TestDelegate {
    fn name(&self) -> &str {
        "test"
    }
    fn supports(&self, node: &NodeView<'_>) -> Result<(), String> {
        let name = node.node.op.name();
        let ok = self.ops.as_ref().is_none_or(|s| s.contains(name)) && !self.except.contains(name);
        if ok {
            Ok(())
        } else {
            Err(format!("{name} is not in the test set"))
        }
    }
    fn partition_options(&self) -> PartitionOptions {
        self.options
    }
    fn compile(&mut self, partition: &Partition) -> Result<Box<dyn DelegateKernel>, DelegateError> {
        let n = self.seen.compiled.fetch_add(1, Ordering::SeqCst);
        if self.fail_compile == Some(n) {
            return Err("refusing to compile this one on purpose".into());
        }
        let mut graph = partition.graph.clone();
        let mut used: HashSet<usize> = HashSet::new();
        for node in &graph.nodes {
            used.extend(node.inputs.iter().flatten().copied());
        }
        for &t in &used {
            let info = &mut graph.tensors[t];
            if let Some(data) = &info.data {
                self.seen.constants.lock().unwrap().push((
                    info.dtype,
                    data.len(),
                    info.num_elements(),
                ));
                // The CPU kernels read f32: widen what the delegate received as f16.
                if info.dtype == TensorType::Float16 {
                    let wide: Vec<f32> = data
                        .as_slice::<half::f16>()
                        .ok_or("odd f16 length")?
                        .iter()
                        .map(|x| x.to_f32())
                        .collect();
                    info.data = Some(ConstData::from_slice(&wide));
                    info.dtype = TensorType::Float32;
                }
            }
        }
        let inner = Interpreter::builder_for_graph(graph).build()?;
        Ok(Box::new(TestKernel {
            inner,
            seen: self.seen.clone(),
        }))
    }
}

struct TestKernel {
    inner: Interpreter,
    seen: Arc<Seen>,
}

impl DelegateKernel for TestKernel {
    fn invoke(
        &mut self,
        inputs: &[TensorIn<'_>],
        outputs: &mut [TensorOut<'_>],
    ) -> Result<(), DelegateError> {
        self.seen.invoked.fetch_add(1, Ordering::SeqCst);
        for (i, t) in inputs.iter().enumerate() {
            let dst = self.inner.input_mut::<f32>(i)?;
            dst.copy_from_slice(bytemuck::cast_slice(t.bytes));
        }
        self.inner.invoke()?;
        for (i, t) in outputs.iter_mut().enumerate() {
            t.bytes
                .copy_from_slice(bytemuck::cast_slice(self.inner.output::<f32>(i)?));
        }
        Ok(())
    }
}

/// A tiny graph-building helper for synthetic f32 graphs of elementwise ops.
struct G {
    g: Graph,
}

impl G {
    fn new() -> Self {
        G {
            g: Graph {
                tensors: vec![],
                nodes: vec![],
                inputs: vec![],
                outputs: vec![],
            },
        }
    }
    fn tensor(&mut self, role: TensorRole, data: Option<Vec<f32>>) -> usize {
        let shape = vec![1, 2, 2, 3];
        self.g.tensors.push(TensorInfo {
            name: format!("t{}", self.g.tensors.len()),
            signature: shape.iter().map(|&d| d as i32).collect(),
            shape,
            dtype: TensorType::Float32,
            role,
            data: data.map(|d| ConstData::from_slice(&d)),
            quantization: None,
            sparsity: None,
        });
        self.g.tensors.len() - 1
    }
    fn input(&mut self) -> usize {
        let t = self.tensor(TensorRole::Input, None);
        self.g.inputs.push(t);
        t
    }
    fn constant(&mut self, v: f32) -> usize {
        self.tensor(TensorRole::Constant, Some(vec![v; 12]))
    }
    fn op(&mut self, op: Op, ins: &[usize]) -> usize {
        let out = self.tensor(TensorRole::Activation, None);
        let index = self.g.nodes.len();
        self.g.nodes.push(Node {
            op,
            inputs: ins.iter().map(|&i| Some(i)).collect(),
            outputs: vec![out],
            index,
        });
        out
    }
    fn finish(mut self, outs: &[usize]) -> Graph {
        for &o in outs {
            self.g.tensors[o].role = TensorRole::Output;
            self.g.outputs.push(o);
        }
        self.g
    }
}

fn run(graph: &Graph, delegate: Option<TestDelegate>) -> (Vec<Vec<f32>>, Interpreter) {
    let mut b = Interpreter::builder_for_graph(graph.clone());
    if let Some(d) = delegate {
        b = b.delegate(d);
    }
    let mut it = b.build().unwrap();
    for i in 0..it.input_count() {
        let x: Vec<f32> = (0..12)
            .map(|k| (k as f32 * 0.37 + i as f32).sin())
            .collect();
        it.set_input(i, &x).unwrap();
    }
    it.invoke().unwrap();
    let outs = (0..it.output_count())
        .map(|i| it.output::<f32>(i).unwrap().to_vec())
        .collect();
    (outs, it)
}

fn bits(v: &[Vec<f32>]) -> Vec<Vec<u32>> {
    v.iter()
        .map(|x| x.iter().map(|f| f.to_bits()).collect())
        .collect()
}

/// input -> add -> relu(cpu) -> mul -> tanh(cpu) -> add, with a second input joining at the end.
fn chain() -> Graph {
    let mut g = G::new();
    let x = g.input();
    let y = g.input();
    let c = g.constant(0.5);
    let a = g.op(Op::Add(Activation::None), &[x, c]);
    let r = g.op(Op::Relu, &[a]);
    let m = g.op(Op::Mul(Activation::None), &[r, c]);
    let t = g.op(Op::Tanh, &[m]);
    let o = g.op(Op::Add(Activation::None), &[t, y]);
    g.finish(&[o])
}

/// A node the delegate supports whose input comes through an unsupported node and back.
fn through_the_cpu_and_back() -> Graph {
    let mut g = G::new();
    let x = g.input();
    let a = g.op(Op::Add(Activation::None), &[x, x]); // delegated
    let r = g.op(Op::Relu, &[a]); // cpu
    let m = g.op(Op::Mul(Activation::None), &[a, r]); // delegated, but needs the cpu result
    g.finish(&[m])
}

fn diamond_with_two_outputs() -> Graph {
    let mut g = G::new();
    let x = g.input();
    let a = g.op(Op::Logistic, &[x]);
    let l = g.op(Op::Add(Activation::Relu6), &[a, a]);
    let r = g.op(Op::Mul(Activation::None), &[a, x]);
    let j = g.op(Op::Maximum, &[l, r]);
    g.finish(&[j, l])
}

#[test]
fn delegated_runs_are_bit_identical_to_the_cpu() {
    for (name, graph, ops) in [
        ("chain", chain(), vec!["ADD", "MUL"]),
        (
            "cpu-and-back",
            through_the_cpu_and_back(),
            vec!["ADD", "MUL"],
        ),
        (
            "diamond",
            diamond_with_two_outputs(),
            vec!["LOGISTIC", "ADD", "MAXIMUM"],
        ),
        (
            "diamond-all",
            diamond_with_two_outputs(),
            vec!["LOGISTIC", "ADD", "MUL", "MAXIMUM"],
        ),
    ] {
        let (cpu, _) = run(&graph, None);
        let d = TestDelegate::claiming(&ops);
        let seen = d.seen.clone();
        let (delegated, it) = run(&graph, Some(d));
        assert_eq!(bits(&cpu), bits(&delegated), "{name}");
        let report = it.delegation_report();
        assert!(!report.partitions.is_empty(), "{name}: nothing delegated");
        assert_eq!(
            seen.invoked.load(Ordering::SeqCst),
            report.partitions.len(),
            "{name}"
        );
        assert_eq!(
            report.delegated_nodes() + report.cpu_nodes.len(),
            graph.nodes.len(),
            "{name}"
        );
    }
}

#[test]
fn a_path_through_the_cpu_splits_rather_than_forming_a_cycle() {
    let graph = through_the_cpu_and_back();
    let (_, it) = run(&graph, Some(TestDelegate::claiming(&["ADD", "MUL"])));
    let r = it.delegation_report();
    assert_eq!(r.partitions.len(), 2, "{}", r.to_text());
    assert_eq!(r.cpu_nodes.len(), 1);
    assert_eq!(r.cpu_nodes[0].op, "RELU");
    assert!(
        r.cpu_nodes[0].reason.contains("not in the test set"),
        "{}",
        r.cpu_nodes[0].reason
    );
}

#[test]
fn max_delegated_partitions_keeps_the_largest() {
    let graph = chain();
    for (max, expect_parts) in [(Some(1), 1), (Some(2), 2), (None, 3)] {
        let mut d = TestDelegate::claiming(&["ADD", "MUL"]);
        d.options.max_delegated_partitions = max;
        let (out, it) = run(&graph, Some(d));
        let (cpu, _) = run(&graph, None);
        assert_eq!(bits(&cpu), bits(&out));
        let r = it.delegation_report();
        assert_eq!(
            r.partitions.len(),
            expect_parts,
            "max {max:?}: {}",
            r.to_text()
        );
        if max == Some(1) {
            assert!(r
                .cpu_nodes
                .iter()
                .any(|c| c.reason.contains("max_delegated_partitions = 1")));
        }
    }
}

#[test]
fn a_failed_compilation_falls_back_to_the_cpu_and_is_reported() {
    let graph = chain();
    let (cpu, _) = run(&graph, None);
    let mut d = TestDelegate::claiming(&["ADD", "MUL"]);
    d.fail_compile = Some(0);
    let (out, it) = run(&graph, Some(d));
    assert_eq!(bits(&cpu), bits(&out));
    let r = it.delegation_report();
    assert_eq!(r.compile_failures.len(), 1);
    assert!(r.compile_failures[0].contains("on purpose"));
    assert!(r.cpu_nodes.iter().any(|c| c.reason.contains("on purpose")));
    // The chain has three delegable nodes separated by CPU nodes; one partition failed.
    assert_eq!(r.partitions.len(), 2);
}

#[test]
fn two_delegates_claim_in_order() {
    let graph = chain();
    let first = TestDelegate::claiming(&["ADD"]);
    let second = TestDelegate::claiming(&["ADD", "MUL", "RELU", "TANH"]);
    let mut it = Interpreter::builder_for_graph(graph.clone())
        .delegate(first)
        .delegate(second)
        .build()
        .unwrap();
    let r = it.delegation_report().clone();
    let by_first: usize = r
        .partitions
        .iter()
        .filter(|p| p.delegate == "test")
        .map(|p| p.nodes.len())
        .sum();
    assert_eq!(by_first, graph.nodes.len());
    assert!(r.cpu_nodes.is_empty());
    for i in 0..it.input_count() {
        it.set_input(i, &[0.25f32; 12]).unwrap();
    }
    it.invoke().unwrap();
}

#[test]
fn fp16_models_are_one_partition_and_the_delegate_gets_f16_weights() {
    let Some(assets) = common::assets() else {
        return;
    };
    for name in common::model_names(&assets) {
        let model = read_model_file(assets.join("models").join(format!("{name}.tflite"))).unwrap();
        let fp16 = model.subgraphs[0]
            .tensors
            .iter()
            .any(|t| t.dtype == TensorType::Float16);
        if !fp16 {
            continue;
        }
        let d = TestDelegate::all_but(&["DEQUANTIZE"]);
        let seen = d.seen.clone();
        let it = Interpreter::builder(&model).delegate(d).build().unwrap();
        let r = it.delegation_report();
        assert_eq!(r.partitions.len(), 1, "{name}: {}", r.to_text());
        assert!(r.cpu_nodes.is_empty(), "{name}: {}", r.to_text());
        let constants = seen.constants.lock().unwrap();
        let f16: Vec<_> = constants
            .iter()
            .filter(|c| c.0 == TensorType::Float16)
            .collect();
        assert!(
            !f16.is_empty(),
            "{name}: the delegate saw no FLOAT16 constant"
        );
        for (_, bytes, elements) in &f16 {
            assert_eq!(*bytes, 2 * elements, "{name}");
        }
        assert!(
            !constants
                .iter()
                .any(|c| c.0 == TensorType::Float32 && c.2 > 64),
            "{name}: a weight reached the delegate as f32"
        );
    }
}

/// SPLIT (a node with two outputs) -> ADD of both halves -> MUL with the first half.
fn split_graph() -> Graph {
    use halfgpu::model::{schema::builtin, BuiltinOptions, ModelBuilder};
    let mut b = ModelBuilder::new();
    let x = b.input("x", &[1, 2, 2, 4]);
    let axis = b.const_i32("axis", &[], &[3]).unwrap();
    let s0 = b.activation("s0", &[1, 2, 2, 2]);
    let s1 = b.activation("s1", &[1, 2, 2, 2]);
    let a = b.activation("a", &[1, 2, 2, 2]);
    let m = b.activation("m", &[1, 2, 2, 2]);
    b.op(
        builtin::SPLIT,
        &[axis, x],
        &[s0, s1],
        BuiltinOptions::Split { num_splits: 2 },
    )
    .unwrap();
    let none = || BuiltinOptions::Add {
        activation: Activation::None,
        pot_scale_int16: true,
    };
    b.op(builtin::ADD, &[s0, s1], &[a], none()).unwrap();
    b.op(
        builtin::MUL,
        &[s0, a],
        &[m],
        BuiltinOptions::Mul {
            activation: Activation::None,
        },
    )
    .unwrap();
    b.set_outputs(&[m, s1]).unwrap();
    Graph::from_model(&b.build()).unwrap()
}

#[test]
fn multi_output_nodes_are_partitioned_and_bit_identical() {
    let graph = split_graph();
    let mut it = Interpreter::builder_for_graph(graph.clone())
        .build()
        .unwrap();
    let x: Vec<f32> = (0..16).map(|k| (k as f32 * 0.7).cos()).collect();
    it.set_input(0, &x).unwrap();
    it.invoke().unwrap();
    let cpu: Vec<Vec<f32>> = (0..2)
        .map(|i| it.output::<f32>(i).unwrap().to_vec())
        .collect();
    for (ops, parts) in [(vec!["SPLIT", "MUL"], 2), (vec!["SPLIT", "ADD", "MUL"], 1)] {
        let mut it = Interpreter::builder_for_graph(graph.clone())
            .delegate(TestDelegate::claiming(&ops))
            .build()
            .unwrap();
        let r = it.delegation_report().clone();
        assert_eq!(r.partitions.len(), parts, "{ops:?}: {}", r.to_text());
        it.set_input(0, &x).unwrap();
        it.invoke().unwrap();
        let out: Vec<Vec<f32>> = (0..2)
            .map(|i| it.output::<f32>(i).unwrap().to_vec())
            .collect();
        assert_eq!(bits(&cpu), bits(&out), "{ops:?}");
    }
}
