//! Post-training float16 conversion: float32 weights stored as float16, computed in float32.
//!
//! [`convert_fp16`] rewrites every float32 constant that an operator reads (weights, biases,
//! other float operands) as a FLOAT16 constant followed by a DEQUANTIZE operator whose float32
//! output takes the constant's place in all its consumers. The model's inputs and outputs stay
//! float32, so the converted file is a drop-in replacement that is about half the size.

mod values;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use serde::Serialize;

use crate::model::schema::builtin;
use crate::model::{
    write_model, BuiltinOptions, Model, ModelError, Operator, OperatorCode, Quantization, Tensor,
    TensorType,
};

use values::{round_f32_bytes, Rounded};

/// Appended to a converted constant's name to name the float32 output of its DEQUANTIZE.
pub const DEQUANTIZED_SUFFIX: &str = "/dequantize";

/// The operator code version given to a DEQUANTIZE code the converter adds; TensorFlow's
/// converter writes FLOAT16 DEQUANTIZE with version 2 (as in the fetched fp16 models).
const DEQUANTIZE_VERSION: i32 = 2;

/// Settings of [`convert_fp16`].
#[derive(Default, Clone, Copy)]
pub struct ConvertOptions<'a> {
    /// Convert even when some values exceed float16's range (they become ±infinity).
    pub allow_overflow: bool,
    /// Called as `progress(done, total)` with counts of parameters (values) rounded so far.
    pub progress: Option<&'a dyn Fn(usize, usize)>,
}

impl fmt::Debug for ConvertOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConvertOptions")
            .field("allow_overflow", &self.allow_overflow)
            .field("progress", &self.progress.map(|_| "Fn(done, total)"))
            .finish()
    }
}

/// A constant tensor with values beyond the float16 range.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OverflowTensor {
    /// Subgraph index.
    pub subgraph: usize,
    /// Index of the tensor in its subgraph.
    pub tensor: usize,
    /// Tensor name.
    pub name: String,
    /// Number of values with `|x| > 65504`.
    pub count: usize,
    /// The largest `|x|` among them.
    pub max_abs: f32,
}

/// What [`convert_fp16`] did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConvertReport {
    /// Bytes of the input model as [`write_model`] writes it.
    pub size_before: usize,
    /// Bytes of the converted model as [`write_model`] writes it.
    pub size_after: usize,
    /// `size_after / size_before`.
    pub ratio: f64,
    /// Float32 constant tensors now stored as FLOAT16.
    pub tensors_converted: usize,
    /// Values of those tensors (counted per tensor).
    pub parameters_converted: usize,
    /// Largest `|f16(x) - x| / |x|` over all converted non-zero values (float16 subnormals
    /// included, where the relative error reaches 1 for values that round to zero).
    pub max_relative_rounding_error: f64,
    /// The same over values in float16's normal range (`|x| >= 2^-14`): at most `2^-11`.
    pub max_relative_rounding_error_normal: f64,
    /// Non-zero values so small that they became zero.
    pub values_flushed_to_zero: usize,
    /// Tensors with values that became ±infinity (only non-empty with `allow_overflow`).
    pub overflow: Vec<OverflowTensor>,
    /// DEQUANTIZE operators inserted.
    pub dequantize_added: usize,
    /// Float32 constants left as they were (graph inputs or outputs, quantized, sparse, unused,
    /// read by DEQUANTIZE or written by an operator).
    pub float32_constants_kept: usize,
}

impl ConvertReport {
    /// The human-readable table `halfgpu convert` prints.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "size before        {:>12} bytes", self.size_before);
        let _ = writeln!(s, "size after         {:>12} bytes", self.size_after);
        let _ = writeln!(s, "ratio              {:>12.4}", self.ratio);
        let _ = writeln!(s, "tensors converted  {:>12}", self.tensors_converted);
        let _ = writeln!(s, "parameters         {:>12}", self.parameters_converted);
        let _ = writeln!(s, "dequantize added   {:>12}", self.dequantize_added);
        let _ = writeln!(s, "float32 kept       {:>12}", self.float32_constants_kept);
        let _ = writeln!(
            s,
            "max rel. rounding  {:>12.3e} (normal range {:.3e})",
            self.max_relative_rounding_error, self.max_relative_rounding_error_normal
        );
        let _ = writeln!(s, "flushed to zero    {:>12}", self.values_flushed_to_zero);
        for o in &self.overflow {
            let _ = writeln!(
                s,
                "overflow           {:?}: {} value(s) became infinite (max |x| {:e})",
                o.name, o.count, o.max_abs
            );
        }
        s
    }
}

/// Why [`convert_fp16`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// Some values exceed float16's range and `allow_overflow` was not set.
    #[error("{}", overflow_message(.0))]
    Overflow(Vec<OverflowTensor>),
    /// The model cannot be written (e.g. options the reader kept undecoded).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The model is inconsistent (a buffer index or length that does not fit).
    #[error("invalid model: {0}")]
    Invalid(String),
}

fn overflow_message(list: &[OverflowTensor]) -> String {
    let shown = list
        .iter()
        .take(5)
        .map(|o| {
            format!(
                "{:?} ({} value(s), max |x| {:e})",
                o.name, o.count, o.max_abs
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let more = match list.len() {
        n if n > 5 => format!(" and {} more", n - 5),
        _ => String::new(),
    };
    format!(
        "{} constant tensor(s) hold values beyond the float16 range (|x| > 65504) that would \
         become infinite: {shown}{more}; allow overflow to convert anyway",
        list.len()
    )
}

/// True when `q` carries any quantization parameters (an empty table does not count).
fn has_quant_params(q: &Option<Quantization>) -> bool {
    q.as_ref().is_some_and(|q| {
        !q.scale.is_empty()
            || !q.zero_point.is_empty()
            || !q.min.is_empty()
            || !q.max.is_empty()
            || q.has_details
    })
}

/// The constants of one subgraph to convert, in tensor order.
fn candidates(model: &Model, sg: usize) -> (Vec<usize>, usize) {
    let Some(graph) = model.subgraphs.get(sg) else {
        return (Vec::new(), 0);
    };
    let n = graph.tensors.len();
    let index = |t: i32| usize::try_from(t).ok().filter(|&t| t < n);
    let mut consumed = vec![false; n];
    let mut excluded = vec![false; n];
    for &t in graph.inputs.iter().chain(&graph.outputs) {
        if let Some(t) = index(t) {
            excluded[t] = true;
        }
    }
    for op in &graph.operators {
        let is_dequantize = model
            .operator_codes
            .get(op.opcode_index as usize)
            .is_some_and(|c| c.builtin_code == builtin::DEQUANTIZE);
        for t in op.inputs.iter().filter_map(|&t| index(t)) {
            consumed[t] = true;
            excluded[t] |= is_dequantize;
        }
        for t in op.outputs.iter().chain(&op.intermediates) {
            if let Some(t) = index(*t) {
                excluded[t] = true;
            }
        }
    }
    let mut picked = Vec::new();
    let mut kept = 0;
    for (i, t) in graph.tensors.iter().enumerate() {
        let has_data = model
            .buffers
            .get(t.buffer as usize)
            .is_some_and(|b| !b.data.is_empty());
        if t.dtype != TensorType::Float32 || t.buffer == 0 || !has_data {
            continue;
        }
        let convertible = consumed[i]
            && !excluded[i]
            && !t.is_variable
            && t.sparsity.is_none()
            && !has_quant_params(&t.quantization);
        if convertible {
            picked.push(i);
        } else {
            kept += 1;
        }
    }
    (picked, kept)
}

/// Converts every float32 constant operand of `model` to a FLOAT16 constant plus DEQUANTIZE.
///
/// Each converted constant keeps its tensor index and name but becomes FLOAT16 with a new
/// buffer; a new float32 tensor named `name + "/dequantize"` (same shape) is the output of a
/// DEQUANTIZE inserted right before the constant's first consumer, and replaces the constant
/// in every consumer. Float32 buffers nobody reads any more are removed (buffer indices of
/// tensors and metadata are remapped). Left alone: non-float32 and quantized constants,
/// constants that are graph inputs or outputs, sparse or variable ones, and those read by a
/// DEQUANTIZE. Values are rounded to nearest, ties to even.
///
/// A model without such constants (e.g. one already converted) is returned unchanged, so
/// converting twice gives the same bytes as converting once.
///
/// Fails with [`ConvertError::Overflow`] when values exceed ±65504 (they would become
/// infinite) unless `options.allow_overflow` is set, and with [`ConvertError::Model`] when the
/// model cannot be written (both sizes in the report come from [`write_model`]).
pub fn convert_fp16(
    model: &Model,
    options: &ConvertOptions<'_>,
) -> Result<(Model, ConvertReport), ConvertError> {
    let size_before = write_model(model)?.len();
    let mut plan: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut kept = 0;
    for sg in 0..model.subgraphs.len() {
        let (list, k) = candidates(model, sg);
        plan.push((sg, list));
        kept += k;
    }
    let mut report = ConvertReport {
        size_before,
        size_after: size_before,
        ratio: 1.0,
        tensors_converted: 0,
        parameters_converted: 0,
        max_relative_rounding_error: 0.0,
        max_relative_rounding_error_normal: 0.0,
        values_flushed_to_zero: 0,
        overflow: Vec::new(),
        dequantize_added: 0,
        float32_constants_kept: kept,
    };
    if plan.iter().all(|(_, list)| list.is_empty()) {
        return Ok((model.clone(), report));
    }

    // Round each source buffer once (tensors may share a buffer).
    let total: usize = plan
        .iter()
        .flat_map(|(sg, list)| list.iter().map(move |&t| (*sg, t)))
        .filter_map(|(sg, t)| {
            let b = model.subgraphs[sg].tensors[t].buffer as usize;
            model.buffers.get(b).map(|b| b.data.len() / 4)
        })
        .sum();
    let mut rounded: BTreeMap<u32, Rounded> = BTreeMap::new();
    let mut done = 0;
    for (sg, list) in &plan {
        for &t in list {
            let tensor = &model.subgraphs[*sg].tensors[t];
            let data = model
                .buffers
                .get(tensor.buffer as usize)
                .map(|b| b.data.as_slice())
                .unwrap_or_default();
            let r = match rounded.entry(tensor.buffer) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(round_f32_bytes(data).ok_or_else(|| {
                        ConvertError::Invalid(format!(
                            "float32 tensor {:?} has a {}-byte buffer (not a multiple of 4)",
                            tensor.name,
                            data.len()
                        ))
                    })?)
                }
            };
            done += data.len() / 4;
            if let Some(p) = options.progress {
                p(done, total);
            }
            report.tensors_converted += 1;
            report.parameters_converted += r.count;
            report.max_relative_rounding_error = report.max_relative_rounding_error.max(r.max_rel);
            report.max_relative_rounding_error_normal = report
                .max_relative_rounding_error_normal
                .max(r.max_rel_normal);
            report.values_flushed_to_zero += r.flushed;
            if r.overflow > 0 {
                report.overflow.push(OverflowTensor {
                    subgraph: *sg,
                    tensor: t,
                    name: tensor.name.clone(),
                    count: r.overflow,
                    max_abs: r.overflow_max,
                });
            }
        }
    }
    if !report.overflow.is_empty() && !options.allow_overflow {
        return Err(ConvertError::Overflow(report.overflow));
    }

    let mut out = model.clone();
    let mut new_buffer: HashMap<u32, u32> = HashMap::new();
    for (source, r) in rounded {
        let index = u32::try_from(out.buffers.len())
            .map_err(|_| ConvertError::Invalid("too many buffers".into()))?;
        out.buffers.push(crate::model::Buffer { data: r.bytes });
        new_buffer.insert(source, index);
    }
    for (sg, list) in &plan {
        if !list.is_empty() {
            report.dequantize_added += rewrite_subgraph(&mut out, *sg, list, &new_buffer)?;
        }
    }
    drop_unreferenced(&mut out, new_buffer.keys().copied().collect())?;
    report.size_after = write_model(&out)?.len();
    report.ratio = report.size_after as f64 / report.size_before.max(1) as f64;
    Ok((out, report))
}

/// The index of the DEQUANTIZE operator code, added if the model has none.
fn dequantize_opcode(model: &mut Model) -> Result<u32, ConvertError> {
    let found = model
        .operator_codes
        .iter()
        .position(|c| c.builtin_code == builtin::DEQUANTIZE && c.custom_code.is_none());
    let index = found.unwrap_or_else(|| {
        model.operator_codes.push(OperatorCode {
            builtin_code: builtin::DEQUANTIZE,
            deprecated_builtin_code: builtin::DEQUANTIZE as i8,
            custom_code: None,
            version: DEQUANTIZE_VERSION,
        });
        model.operator_codes.len() - 1
    });
    u32::try_from(index).map_err(|_| ConvertError::Invalid("too many operator codes".into()))
}

/// Turns the constants `list` of subgraph `sg` into FLOAT16 + DEQUANTIZE; returns how many
/// DEQUANTIZE operators were inserted.
fn rewrite_subgraph(
    model: &mut Model,
    sg: usize,
    list: &[usize],
    new_buffer: &HashMap<u32, u32>,
) -> Result<usize, ConvertError> {
    let dequantize = dequantize_opcode(model)?;
    let graph = &mut model.subgraphs[sg];
    let mut names: HashSet<String> = graph.tensors.iter().map(|t| t.name.clone()).collect();
    // Constant index -> index of its float32 replacement.
    let mut replacement: HashMap<i32, i32> = HashMap::new();
    for &t in list {
        let constant = &mut graph.tensors[t];
        let full = Tensor {
            shape: constant.shape.clone(),
            dtype: TensorType::Float32,
            buffer: 0,
            name: unique_name(
                &mut names,
                &format!("{}{DEQUANTIZED_SUFFIX}", constant.name),
            ),
            quantization: None,
            is_variable: false,
            sparsity: None,
            shape_signature: constant.shape_signature.clone(),
            has_rank: constant.has_rank,
        };
        constant.dtype = TensorType::Float16;
        constant.buffer = new_buffer
            .get(&constant.buffer)
            .copied()
            .ok_or_else(|| ConvertError::Invalid("internal: buffer not rounded".into()))?;
        let too_many = || ConvertError::Invalid("too many tensors".into());
        let from = i32::try_from(t).map_err(|_| too_many())?;
        let to = i32::try_from(graph.tensors.len()).map_err(|_| too_many())?;
        graph.tensors.push(full);
        replacement.insert(from, to);
    }
    let mut inserted = HashSet::new();
    let mut operators = Vec::with_capacity(graph.operators.len() + list.len());
    for mut op in std::mem::take(&mut graph.operators) {
        for input in op.inputs.iter_mut() {
            let Some(&full) = replacement.get(input) else {
                continue;
            };
            if inserted.insert(*input) {
                operators.push(Operator {
                    opcode_index: dequantize,
                    inputs: vec![*input],
                    outputs: vec![full],
                    builtin_options: BuiltinOptions::None,
                    custom_options: None,
                    intermediates: Vec::new(),
                });
            }
            *input = full;
        }
        operators.push(op);
    }
    graph.operators = operators;
    Ok(inserted.len())
}

/// `base`, or `base_1`, `base_2`, ... if a tensor of the subgraph already has that name.
fn unique_name(names: &mut HashSet<String>, base: &str) -> String {
    let mut name = base.to_string();
    let mut i = 1;
    while names.contains(&name) {
        name = format!("{base}_{i}");
        i += 1;
    }
    names.insert(name.clone());
    name
}

/// Removes the buffers of `candidates` that no tensor or metadata entry references any more,
/// remapping the buffer indices of tensors, metadata and `metadata_buffer`.
fn drop_unreferenced(model: &mut Model, candidates: HashSet<u32>) -> Result<(), ConvertError> {
    let mut referenced: HashSet<u32> = model
        .subgraphs
        .iter()
        .flat_map(|g| g.tensors.iter().map(|t| t.buffer))
        .collect();
    referenced.extend(model.metadata.iter().map(|m| m.buffer));
    referenced.extend(
        model
            .metadata_buffer
            .iter()
            .filter_map(|&b| u32::try_from(b).ok()),
    );
    let dropped: HashSet<u32> = candidates
        .into_iter()
        .filter(|b| *b != 0 && !referenced.contains(b))
        .collect();
    if dropped.is_empty() {
        return Ok(());
    }
    let mut map = Vec::with_capacity(model.buffers.len());
    let mut next = 0u32;
    for i in 0..model.buffers.len() {
        let i = u32::try_from(i).map_err(|_| ConvertError::Invalid("too many buffers".into()))?;
        map.push(next);
        if !dropped.contains(&i) {
            next += 1;
        }
    }
    let remap = |b: u32| map.get(b as usize).copied().unwrap_or(b);
    let buffers = std::mem::take(&mut model.buffers);
    model.buffers = buffers
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !u32::try_from(*i).is_ok_and(|i| dropped.contains(&i)))
        .map(|(_, b)| b)
        .collect();
    for g in &mut model.subgraphs {
        for t in &mut g.tensors {
            t.buffer = remap(t.buffer);
        }
    }
    for m in &mut model.metadata {
        m.buffer = remap(m.buffer);
    }
    for b in &mut model.metadata_buffer {
        if let Ok(u) = u32::try_from(*b) {
            *b = i32::try_from(remap(u)).unwrap_or(*b);
        }
    }
    Ok(())
}
