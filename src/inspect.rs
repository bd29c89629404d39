//! What `halfgpu inspect` reports about a model file.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{schema::builtin, Model, TensorType};

/// A tensor at the model's boundary.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IoTensor {
    /// Tensor name.
    pub name: String,
    /// Shape as declared (`-1` for dynamic dimensions).
    pub shape: Vec<i32>,
    /// Element type name.
    pub dtype: String,
}

/// Count and bytes of the tensors of one dtype.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DtypeStats {
    /// Number of tensors.
    pub tensors: usize,
    /// Bytes of constant data of this dtype.
    pub constant_bytes: usize,
}

/// A summary of a model's main subgraph. Its JSON form is the stable `inspect --json` contract.
#[derive(Debug, Clone, Serialize)]
pub struct ModelSummary {
    /// File size in bytes.
    pub size_bytes: usize,
    /// Number of subgraphs.
    pub subgraphs: usize,
    /// Operator count of the main subgraph.
    pub operators: usize,
    /// Operator name (schema name, or custom op name) -> count.
    pub op_counts: BTreeMap<String, usize>,
    /// Number of tensors.
    pub tensors: usize,
    /// Tensor counts and bytes by dtype.
    pub dtypes: BTreeMap<String, DtypeStats>,
    /// Constant tensors stored as FLOAT16.
    pub fp16_constants: usize,
    /// Number of DEQUANTIZE operators.
    pub dequantize_ops: usize,
    /// Names of custom operators.
    pub custom_ops: Vec<String>,
    /// Graph inputs.
    pub inputs: Vec<IoTensor>,
    /// Graph outputs.
    pub outputs: Vec<IoTensor>,
    /// Signature names.
    pub signatures: Vec<String>,
    /// Metadata entry names.
    pub metadata: Vec<String>,
    /// The model's description string.
    pub description: Option<String>,
}

impl ModelSummary {
    /// Summarises `model`, whose file was `size_bytes` long.
    pub fn new(model: &Model, size_bytes: usize) -> Self {
        let sg = &model.subgraphs[0];
        let mut op_counts = BTreeMap::new();
        let mut custom_ops = Vec::new();
        let mut dequantize_ops = 0;
        for op in &sg.operators {
            let name = model.op_name(op);
            let code = model.operator_codes.get(op.opcode_index as usize);
            if code.is_some_and(|c| c.builtin_code == builtin::CUSTOM)
                && !custom_ops.contains(&name)
            {
                custom_ops.push(name.clone());
            }
            if code.is_some_and(|c| c.builtin_code == builtin::DEQUANTIZE) {
                dequantize_ops += 1;
            }
            *op_counts.entry(name).or_insert(0) += 1;
        }
        let mut dtypes: BTreeMap<String, DtypeStats> = BTreeMap::new();
        let mut fp16_constants = 0;
        for t in &sg.tensors {
            let bytes = model
                .buffers
                .get(t.buffer as usize)
                .map_or(0, |b| b.data.len());
            let s = dtypes.entry(t.dtype.to_string()).or_default();
            s.tensors += 1;
            s.constant_bytes += bytes;
            if t.dtype == TensorType::Float16 && bytes > 0 {
                fp16_constants += 1;
            }
        }
        let io = |ids: &[i32]| {
            ids.iter()
                .filter_map(|&i| sg.tensors.get(usize::try_from(i).ok()?))
                .map(|t| IoTensor {
                    name: t.name.clone(),
                    shape: t.shape.clone(),
                    dtype: t.dtype.to_string(),
                })
                .collect()
        };
        ModelSummary {
            size_bytes,
            subgraphs: model.subgraphs.len(),
            operators: sg.operators.len(),
            op_counts,
            tensors: sg.tensors.len(),
            dtypes,
            fp16_constants,
            dequantize_ops,
            custom_ops,
            inputs: io(&sg.inputs),
            outputs: io(&sg.outputs),
            signatures: model.signature_defs.iter().map(|s| s.key.clone()).collect(),
            metadata: model.metadata.iter().map(|m| m.name.clone()).collect(),
            description: model.description.clone(),
        }
    }

    /// The human-readable table.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "size          {} bytes", self.size_bytes);
        let _ = writeln!(s, "subgraphs     {}", self.subgraphs);
        let _ = writeln!(s, "operators     {}", self.operators);
        let _ = writeln!(s, "tensors       {}", self.tensors);
        let _ = writeln!(s, "fp16 consts   {}", self.fp16_constants);
        let _ = writeln!(s, "dequantize    {}", self.dequantize_ops);
        if !self.custom_ops.is_empty() {
            let _ = writeln!(s, "custom ops    {}", self.custom_ops.join(", "));
        }
        if let Some(d) = &self.description {
            let _ = writeln!(s, "description   {d}");
        }
        let _ = writeln!(s, "\n{:<10} {:<40} {:<20} dtype", "", "name", "shape");
        for (kind, list) in [("input", &self.inputs), ("output", &self.outputs)] {
            for t in list {
                let _ = writeln!(
                    s,
                    "{:<10} {:<40} {:<20} {}",
                    kind,
                    t.name,
                    format!("{:?}", t.shape),
                    t.dtype
                );
            }
        }
        let _ = writeln!(s, "\n{:<32} {:>6}", "operator", "count");
        let mut ops: Vec<_> = self.op_counts.iter().collect();
        ops.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (op, n) in ops {
            let _ = writeln!(s, "{op:<32} {n:>6}");
        }
        let _ = writeln!(
            s,
            "\n{:<12} {:>8} {:>14}",
            "dtype", "tensors", "const bytes"
        );
        for (dt, st) in &self.dtypes {
            let _ = writeln!(s, "{dt:<12} {:>8} {:>14}", st.tensors, st.constant_bytes);
        }
        s
    }
}
