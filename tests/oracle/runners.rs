//! Running conformance cases: seeded inputs, the reference runtime (one Python process for all
//! cases), and halfgpu on the CPU or with a delegate.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use halfgpu::delegate::{
    Delegate, DelegateError, DelegateKernel, DelegationReport, NodeView, Partition,
    PartitionOptions,
};
use halfgpu::gpu::GpuDelegate;
use halfgpu::model::{write_model, Model, TensorType};
use halfgpu::npz::{read_npz, write_npz, NpArray};
use halfgpu::runtime::Interpreter;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::cases::OpCase;

/// One float32 tensor: shape and values.
#[derive(Debug, Clone)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// FNV-1a, so a case's inputs depend on its name only (not on its position in the list).
fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The case's graph inputs, uniform in each input's range from a `StdRng` seeded by the name.
pub fn make_inputs(case: &OpCase) -> Vec<Tensor> {
    let graph = &case.model.subgraphs[0];
    let mut rng = StdRng::seed_from_u64(seed_of(&case.name));
    graph
        .inputs
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let shape: Vec<usize> = graph.tensors[t as usize]
                .shape
                .iter()
                .map(|&d| d as usize)
                .collect();
            let [lo, hi] = case.range(i);
            let data = (0..shape.iter().product())
                .map(|_| lo + (hi - lo) * rng.random::<f32>())
                .collect();
            Tensor { shape, data }
        })
        .collect()
}

fn f32_array(t: &Tensor) -> NpArray {
    NpArray {
        shape: t.shape.clone(),
        dtype: TensorType::Float32,
        bytes: t.data.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// What the reference runtime said: outputs per case name, and the cases it refused.
pub struct Reference {
    pub outputs: HashMap<String, Vec<Vec<f32>>>,
    pub rejected: Vec<(String, String)>,
}

/// Writes every case (model and inputs) into `dir` and runs `scripts/oracle_reference.py` over
/// them in one `python` process.
pub fn run_reference(
    python: &Path,
    dir: &Path,
    cases: &[OpCase],
    inputs: &[Vec<Tensor>],
) -> Result<Reference, String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (case, ins) in cases.iter().zip(inputs) {
        let bytes = write_model(&case.model).map_err(|e| format!("{}: {e}", case.name))?;
        std::fs::write(dir.join(format!("{}.tflite", case.name)), bytes)
            .map_err(|e| format!("{}: {e}", case.name))?;
        let arrays: Vec<(String, NpArray)> = ins
            .iter()
            .enumerate()
            .map(|(i, t)| (i.to_string(), f32_array(t)))
            .collect();
        write_npz(dir.join(format!("{}.inputs.npz", case.name)), &arrays)
            .map_err(|e| e.to_string())?;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/oracle_reference.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(dir)
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        return Err(format!(
            "{} {} failed with {}",
            python.display(),
            script.display(),
            out.status
        ));
    }
    let text = std::fs::read_to_string(dir.join("rejected.json")).map_err(|e| e.to_string())?;
    let list: Vec<serde_json::Value> = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let rejected = list
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap_or("?").to_string(),
                v["error"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    let mut outputs = HashMap::new();
    for case in cases {
        let path = dir.join(format!("{}.outputs.npz", case.name));
        if !path.exists() {
            continue;
        }
        let mut arrays = read_npz(&path).map_err(|e| e.to_string())?;
        arrays.sort_by_key(|(k, _)| k.parse::<usize>().unwrap_or(usize::MAX));
        let values = arrays
            .iter()
            .map(|(k, a)| {
                a.as_f32()
                    .ok_or_else(|| format!("{}: output {k} is not float32", case.name))
            })
            .collect::<Result<Vec<_>, _>>()?;
        outputs.insert(case.name.clone(), values);
    }
    Ok(Reference { outputs, rejected })
}

/// halfgpu's outputs for one case and where its nodes ran.
pub struct Run {
    pub outputs: Vec<Vec<f32>>,
    pub report: DelegationReport,
}

/// Runs `model` in halfgpu (on one CPU thread, plus `delegate` if given) on `inputs`.
pub fn run_halfgpu(
    model: &Model,
    inputs: &[Tensor],
    delegate: Option<Box<dyn Delegate>>,
) -> Result<Run, String> {
    let mut b = Interpreter::builder(model).threads(1);
    if let Some(d) = delegate {
        b = b.boxed_delegate(d);
    }
    let mut it = b.build().map_err(|e| format!("build: {e}"))?;
    for (i, t) in inputs.iter().enumerate() {
        it.set_input::<f32>(i, &t.data)
            .map_err(|e| format!("input {i}: {e}"))?;
    }
    it.invoke().map_err(|e| format!("invoke: {e}"))?;
    let outputs = (0..it.output_count())
        .map(|i| {
            it.output::<f32>(i)
                .map(<[f32]>::to_vec)
                .map_err(|e| format!("output {i}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Run {
        outputs,
        report: it.delegation_report().clone(),
    })
}

/// One [`GpuDelegate`] lent to many interpreters in turn, so its compiled pipelines are reused
/// across cases instead of being rebuilt for each.
#[derive(Clone)]
pub struct SharedGpu(pub Arc<Mutex<GpuDelegate>>);

impl SharedGpu {
    fn lock(&self) -> std::sync::MutexGuard<'_, GpuDelegate> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Delegate for SharedGpu {
    fn name(&self) -> &str {
        "gpu"
    }

    fn supports(&self, node: &NodeView<'_>) -> Result<(), String> {
        self.lock().supports(node)
    }

    fn partition_options(&self) -> PartitionOptions {
        self.lock().partition_options()
    }

    fn compile(&mut self, partition: &Partition) -> Result<Box<dyn DelegateKernel>, DelegateError> {
        self.lock().compile(partition)
    }
}
