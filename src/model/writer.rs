//! Serializing a [`Model`] into the bytes of a `.tflite` file.
//!
//! Every field the reader decodes is written to the slot it is read from, so
//! `read_model(&write_model(&m)?)? == m` for any model the reader produced (except the cases
//! [`write_model`] refuses). Output is deterministic: the same model gives the same bytes.

use flatbuffers::{FlatBufferBuilder, TableFinishedWIPOffset, Vector, WIPOffset};

use super::error::{ModelError, Result};
use super::options::*;
use super::types::*;

/// The largest flatbuffer the format can address (signed 32-bit offsets).
const MAX_FLATBUFFER: u64 = (1 << 31) - 1;

/// Alignment of buffer data (and custom options) within the file.
const DATA_ALIGN: usize = 16;

type Fbb<'a> = FlatBufferBuilder<'a>;
type TableOff = WIPOffset<TableFinishedWIPOffset>;

/// The vtable offset of field slot `i`.
const fn slot(i: u16) -> u16 {
    4 + 2 * i
}

/// Serializes `model` into `.tflite` bytes (file identifier `TFL3`, buffer data 16-byte aligned).
///
/// Fails with [`ModelError::Unwritable`] for options tables the reader kept undecoded
/// ([`BuiltinOptions::Other`]), for quantization with custom details (not decoded either), and
/// for models too large for a single flatbuffer (2 GiB).
pub fn write_model(model: &Model) -> Result<Vec<u8>> {
    check_writable(model)?;
    let bound = size_bound(model);
    if bound > MAX_FLATBUFFER {
        return Err(ModelError::Unwritable(format!(
            "the model needs up to {bound} bytes, over the 2 GiB limit of a flatbuffer \
             (storing buffers outside the flatbuffer is not supported)"
        )));
    }
    let capacity = usize::try_from(bound).map_err(|_| {
        ModelError::Unwritable(format!(
            "{bound} bytes do not fit in memory on this platform"
        ))
    })?;
    let mut fbb = FlatBufferBuilder::with_capacity(capacity);

    // Buffers go first so their bulk sits at the end of the file, as converters lay it out.
    let buffers = model
        .buffers
        .iter()
        .map(|b| write_buffer(&mut fbb, b))
        .collect::<Vec<_>>();
    let buffers = fbb.create_vector(&buffers);
    let operator_codes = model
        .operator_codes
        .iter()
        .map(|c| write_opcode(&mut fbb, c))
        .collect::<Vec<_>>();
    let operator_codes = fbb.create_vector(&operator_codes);
    let subgraphs = model
        .subgraphs
        .iter()
        .map(|s| write_subgraph(&mut fbb, s))
        .collect::<Result<Vec<_>>>()?;
    let subgraphs = fbb.create_vector(&subgraphs);
    let description = model.description.as_deref().map(|d| fbb.create_string(d));
    let metadata_buffer =
        (!model.metadata_buffer.is_empty()).then(|| fbb.create_vector(&model.metadata_buffer));
    let metadata = if model.metadata.is_empty() {
        None
    } else {
        let entries = model
            .metadata
            .iter()
            .map(|m| {
                let name = fbb.create_string(&m.name);
                let t = fbb.start_table();
                fbb.push_slot_always(slot(0), name);
                fbb.push_slot(slot(1), m.buffer, 0);
                fbb.end_table(t)
            })
            .collect::<Vec<_>>();
        Some(fbb.create_vector(&entries))
    };
    let signature_defs = if model.signature_defs.is_empty() {
        None
    } else {
        let defs = model
            .signature_defs
            .iter()
            .map(|s| write_signature(&mut fbb, s))
            .collect::<Vec<_>>();
        Some(fbb.create_vector(&defs))
    };

    let t = fbb.start_table();
    fbb.push_slot(slot(0), model.version, 0);
    fbb.push_slot_always(slot(1), operator_codes);
    fbb.push_slot_always(slot(2), subgraphs);
    if let Some(d) = description {
        fbb.push_slot_always(slot(3), d);
    }
    fbb.push_slot_always(slot(4), buffers);
    if let Some(v) = metadata_buffer {
        fbb.push_slot_always(slot(5), v);
    }
    if let Some(v) = metadata {
        fbb.push_slot_always(slot(6), v);
    }
    if let Some(v) = signature_defs {
        fbb.push_slot_always(slot(7), v);
    }
    let root = fbb.end_table(t);

    // `finish` adds the root offset and the identifier (8 bytes) after aligning to the largest
    // alignment used so far, which is below 16; padding here makes the whole file a multiple of
    // 16 bytes, so data aligned relative to the end is aligned relative to the start as well.
    pad_to(&mut fbb, 8, DATA_ALIGN);
    fbb.finish(root, Some("TFL3"));
    let bytes = fbb.finished_data();
    if !bytes.len().is_multiple_of(DATA_ALIGN) {
        return Err(ModelError::Unwritable(format!(
            "internal error: {}-byte output is not a multiple of {DATA_ALIGN}",
            bytes.len()
        )));
    }
    Ok(bytes.to_vec())
}

/// Pushes zero bytes so that after `len` more bytes the written size is a multiple of `align`.
fn pad_to(fbb: &mut Fbb<'_>, len: usize, align: usize) {
    let used = fbb.unfinished_data().len() + len;
    for _ in 0..(align - used % align) % align {
        fbb.push(0u8);
    }
}

/// A byte vector whose first element sits at a multiple of [`DATA_ALIGN`] in the file.
fn aligned_bytes<'a>(fbb: &mut Fbb<'a>, data: &[u8]) -> WIPOffset<Vector<'a, u8>> {
    // The builder writes back to front: once `data` is written, its first byte is at distance
    // `used + data.len()` from the end, which the padding makes a multiple of 16 (and of 4, so
    // `create_vector` adds no padding of its own).
    pad_to(fbb, data.len(), DATA_ALIGN);
    fbb.create_vector(data)
}

fn check_writable(model: &Model) -> Result<()> {
    for (si, sg) in model.subgraphs.iter().enumerate() {
        for (oi, op) in sg.operators.iter().enumerate() {
            if let BuiltinOptions::Other(code) = op.builtin_options {
                return Err(ModelError::Unwritable(format!(
                    "subgraph {si}: operator {oi} ({}): builtin options of union type {code} \
                     were not decoded by the reader, so they cannot be written back",
                    model.op_name(op)
                )));
            }
        }
        for (ti, t) in sg.tensors.iter().enumerate() {
            if t.quantization.as_ref().is_some_and(|q| q.has_details) {
                return Err(ModelError::Unwritable(format!(
                    "subgraph {si}: tensor {ti} ({}): custom quantization details were not \
                     decoded by the reader, so they cannot be written back",
                    t.name
                )));
            }
        }
    }
    Ok(())
}

/// An upper bound of the size of the serialized model, in bytes.
fn size_bound(model: &Model) -> u64 {
    // A table: vtable (at most 16 slots here) + inline fields + alignment.
    const TABLE: u64 = 4 + 2 * 16 + 4 + 16 * 8 + 8;
    let vec = |n: usize, elem: u64| (n as u64).saturating_mul(elem).saturating_add(4 + 16);
    let string = |s: &str| vec(s.len() + 1, 1);
    let mut total: u64 = 64 + TABLE;
    let mut add = |n: u64| total = total.saturating_add(n);
    add(vec(model.operator_codes.len(), 4));
    for c in &model.operator_codes {
        add(TABLE + c.custom_code.as_deref().map_or(0, string));
    }
    add(vec(model.buffers.len(), 4));
    for b in &model.buffers {
        add(TABLE + vec(b.data.len(), 1));
    }
    add(model.description.as_deref().map_or(0, string));
    add(vec(model.metadata_buffer.len(), 4));
    add(vec(model.metadata.len(), 4));
    for m in &model.metadata {
        add(TABLE + string(&m.name));
    }
    add(vec(model.signature_defs.len(), 4));
    for s in &model.signature_defs {
        add(TABLE + string(&s.key) + 2 * vec(0, 0));
        for (name, _) in s.inputs.iter().chain(&s.outputs) {
            add(4 + TABLE + string(name));
        }
    }
    add(vec(model.subgraphs.len(), 4));
    for sg in &model.subgraphs {
        add(TABLE + sg.name.as_deref().map_or(0, string));
        add(vec(sg.inputs.len(), 4) + vec(sg.outputs.len(), 4));
        add(vec(sg.tensors.len(), 4) + vec(sg.operators.len(), 4));
        for t in &sg.tensors {
            add(TABLE + vec(t.shape.len(), 4) + string(&t.name));
            add(t.shape_signature.as_ref().map_or(0, |s| vec(s.len(), 4)));
            if let Some(q) = &t.quantization {
                add(TABLE + vec(q.min.len(), 4) + vec(q.max.len(), 4));
                add(vec(q.scale.len(), 4) + vec(q.zero_point.len(), 8));
            }
            if let Some(s) = &t.sparsity {
                add(TABLE + vec(s.traversal_order.len(), 4) + vec(s.block_map.len(), 4));
                add(vec(s.dim_metadata.len(), 4));
                for d in &s.dim_metadata {
                    add(TABLE);
                    for iv in d.array_segments.iter().chain(&d.array_indices) {
                        add(TABLE + vec(iv.len(), 4));
                    }
                }
            }
        }
        for op in &sg.operators {
            add(TABLE + vec(op.inputs.len(), 4) + vec(op.outputs.len(), 4));
            add(vec(op.intermediates.len(), 4) + TABLE);
            add(op.custom_options.as_ref().map_or(0, |c| vec(c.len(), 1)));
            match &op.builtin_options {
                BuiltinOptions::Reshape { new_shape: Some(s) } => add(vec(s.len(), 4)),
                BuiltinOptions::Squeeze { squeeze_dims } => add(vec(squeeze_dims.len(), 4)),
                _ => {}
            }
        }
    }
    total
}

fn write_buffer(fbb: &mut Fbb<'_>, b: &Buffer) -> TableOff {
    let data = (!b.data.is_empty()).then(|| aligned_bytes(fbb, &b.data));
    let t = fbb.start_table();
    if let Some(d) = data {
        fbb.push_slot_always(slot(0), d);
    }
    fbb.end_table(t)
}

fn write_opcode(fbb: &mut Fbb<'_>, c: &OperatorCode) -> TableOff {
    let custom = c.custom_code.as_deref().map(|s| fbb.create_string(s));
    // Codes past 127 do not fit the deprecated byte; 127 is the schema's placeholder for them.
    let deprecated = c.builtin_code.clamp(0, 127) as i8;
    let t = fbb.start_table();
    fbb.push_slot(slot(0), deprecated, 0);
    if let Some(s) = custom {
        fbb.push_slot_always(slot(1), s);
    }
    fbb.push_slot(slot(2), c.version, 1);
    fbb.push_slot(slot(3), c.builtin_code, 0);
    fbb.end_table(t)
}

fn write_subgraph(fbb: &mut Fbb<'_>, sg: &SubGraph) -> Result<TableOff> {
    let tensors = sg
        .tensors
        .iter()
        .map(|t| write_tensor(fbb, t))
        .collect::<Vec<_>>();
    let tensors = fbb.create_vector(&tensors);
    let inputs = fbb.create_vector(&sg.inputs);
    let outputs = fbb.create_vector(&sg.outputs);
    let operators = sg
        .operators
        .iter()
        .enumerate()
        .map(|(i, op)| write_operator(fbb, op).map_err(|e| e.within(format!("operator {i}"))))
        .collect::<Result<Vec<_>>>()?;
    let operators = fbb.create_vector(&operators);
    let name = sg.name.as_deref().map(|n| fbb.create_string(n));
    let t = fbb.start_table();
    fbb.push_slot_always(slot(0), tensors);
    fbb.push_slot_always(slot(1), inputs);
    fbb.push_slot_always(slot(2), outputs);
    fbb.push_slot_always(slot(3), operators);
    if let Some(n) = name {
        fbb.push_slot_always(slot(4), n);
    }
    Ok(fbb.end_table(t))
}

fn write_tensor(fbb: &mut Fbb<'_>, t: &Tensor) -> TableOff {
    let shape = fbb.create_vector(&t.shape);
    let name = fbb.create_string(&t.name);
    let quantization = t.quantization.as_ref().map(|q| write_quantization(fbb, q));
    let sparsity = t.sparsity.as_ref().map(|s| write_sparsity(fbb, s));
    let shape_signature = t.shape_signature.as_ref().map(|s| fbb.create_vector(s));
    let tt = fbb.start_table();
    fbb.push_slot_always(slot(0), shape);
    fbb.push_slot(slot(1), t.dtype.code(), 0);
    fbb.push_slot(slot(2), t.buffer, 0);
    fbb.push_slot_always(slot(3), name);
    if let Some(q) = quantization {
        fbb.push_slot_always(slot(4), q);
    }
    fbb.push_slot(slot(5), t.is_variable, false);
    if let Some(s) = sparsity {
        fbb.push_slot_always(slot(6), s);
    }
    if let Some(s) = shape_signature {
        fbb.push_slot_always(slot(7), s);
    }
    fbb.push_slot(slot(8), t.has_rank, false);
    fbb.end_table(tt)
}

fn write_quantization(fbb: &mut Fbb<'_>, q: &Quantization) -> TableOff {
    let min = (!q.min.is_empty()).then(|| fbb.create_vector(&q.min));
    let max = (!q.max.is_empty()).then(|| fbb.create_vector(&q.max));
    let scale = (!q.scale.is_empty()).then(|| fbb.create_vector(&q.scale));
    let zero_point = (!q.zero_point.is_empty()).then(|| fbb.create_vector(&q.zero_point));
    let t = fbb.start_table();
    for (i, v) in [(0, min), (1, max), (2, scale)] {
        if let Some(v) = v {
            fbb.push_slot_always(slot(i), v);
        }
    }
    if let Some(v) = zero_point {
        fbb.push_slot_always(slot(3), v);
    }
    fbb.push_slot(slot(6), q.quantized_dimension, 0);
    fbb.end_table(t)
}

fn write_sparsity(fbb: &mut Fbb<'_>, s: &Sparsity) -> TableOff {
    let traversal_order = fbb.create_vector(&s.traversal_order);
    let block_map = fbb.create_vector(&s.block_map);
    let dims = s
        .dim_metadata
        .iter()
        .map(|d| {
            let segments = d
                .array_segments
                .as_ref()
                .map(|v| write_index_vector(fbb, v));
            let indices = d.array_indices.as_ref().map(|v| write_index_vector(fbb, v));
            let t = fbb.start_table();
            fbb.push_slot(slot(0), i8::from(d.sparse), 0);
            fbb.push_slot(slot(1), d.dense_size, 0);
            if let Some((kind, v)) = segments {
                fbb.push_slot_always(slot(2), kind);
                fbb.push_slot_always(slot(3), v);
            }
            if let Some((kind, v)) = indices {
                fbb.push_slot_always(slot(4), kind);
                fbb.push_slot_always(slot(5), v);
            }
            fbb.end_table(t)
        })
        .collect::<Vec<_>>();
    let dims = fbb.create_vector(&dims);
    let t = fbb.start_table();
    fbb.push_slot_always(slot(0), traversal_order);
    fbb.push_slot_always(slot(1), block_map);
    fbb.push_slot_always(slot(2), dims);
    fbb.end_table(t)
}

/// Writes an `Int32Vector` / `Uint16Vector` / `Uint8Vector` table; returns its union type too.
fn write_index_vector(fbb: &mut Fbb<'_>, v: &IndexVector) -> (u8, TableOff) {
    fn table<T>(fbb: &mut Fbb<'_>, values: WIPOffset<T>) -> TableOff {
        let t = fbb.start_table();
        fbb.push_slot_always(slot(0), values);
        fbb.end_table(t)
    }
    match v {
        IndexVector::I32(x) => {
            let values = fbb.create_vector(x);
            (1, table(fbb, values))
        }
        IndexVector::U16(x) => {
            let values = fbb.create_vector(x);
            (2, table(fbb, values))
        }
        IndexVector::U8(x) => {
            let values = fbb.create_vector(x);
            (3, table(fbb, values))
        }
    }
}

fn write_operator(fbb: &mut Fbb<'_>, op: &Operator) -> Result<TableOff> {
    let inputs = fbb.create_vector(&op.inputs);
    let outputs = fbb.create_vector(&op.outputs);
    let options = write_options(fbb, &op.builtin_options)?;
    let custom = op.custom_options.as_ref().map(|c| aligned_bytes(fbb, c));
    let intermediates =
        (!op.intermediates.is_empty()).then(|| fbb.create_vector(&op.intermediates));
    let t = fbb.start_table();
    fbb.push_slot(slot(0), op.opcode_index, 0);
    fbb.push_slot_always(slot(1), inputs);
    fbb.push_slot_always(slot(2), outputs);
    if let Some(o) = options {
        fbb.push_slot_always(slot(3), op.builtin_options.union_type());
        fbb.push_slot_always(slot(4), o);
    }
    if let Some(c) = custom {
        fbb.push_slot_always(slot(5), c);
    }
    if let Some(v) = intermediates {
        fbb.push_slot_always(slot(8), v);
    }
    Ok(fbb.end_table(t))
}

/// Writes the options table of `o` (`None` for [`BuiltinOptions::None`]).
///
/// Scalars equal to the schema default are left out, as the schema allows.
fn write_options(fbb: &mut Fbb<'_>, o: &BuiltinOptions) -> Result<Option<TableOff>> {
    use BuiltinOptions as B;
    match o {
        B::None => return Ok(None),
        B::Other(code) => {
            return Err(ModelError::Unwritable(format!(
                "builtin options of union type {code} were not decoded by the reader"
            )))
        }
        _ => {}
    }
    // Vectors must be written before the table that refers to them.
    let vector = match o {
        B::Reshape { new_shape: Some(s) } => Some(fbb.create_vector(s)),
        B::Squeeze { squeeze_dims } => Some(fbb.create_vector(squeeze_dims)),
        _ => None,
    };
    let act = |a: &Activation| a.code();
    let t = fbb.start_table();
    match o {
        B::Conv2D(c) => {
            fbb.push_slot(slot(0), c.padding.code(), 0);
            fbb.push_slot(slot(1), c.stride_w, 0);
            fbb.push_slot(slot(2), c.stride_h, 0);
            fbb.push_slot(slot(3), act(&c.activation), 0);
            fbb.push_slot(slot(4), c.dilation_w, 1);
            fbb.push_slot(slot(5), c.dilation_h, 1);
        }
        B::DepthwiseConv2D(c) => {
            fbb.push_slot(slot(0), c.padding.code(), 0);
            fbb.push_slot(slot(1), c.stride_w, 0);
            fbb.push_slot(slot(2), c.stride_h, 0);
            fbb.push_slot(slot(3), c.depth_multiplier, 0);
            fbb.push_slot(slot(4), act(&c.activation), 0);
            fbb.push_slot(slot(5), c.dilation_w, 1);
            fbb.push_slot(slot(6), c.dilation_h, 1);
        }
        B::Pool2D(p) => {
            fbb.push_slot(slot(0), p.padding.code(), 0);
            fbb.push_slot(slot(1), p.stride_w, 0);
            fbb.push_slot(slot(2), p.stride_h, 0);
            fbb.push_slot(slot(3), p.filter_w, 0);
            fbb.push_slot(slot(4), p.filter_h, 0);
            fbb.push_slot(slot(5), act(&p.activation), 0);
        }
        B::FullyConnected(f) => {
            fbb.push_slot(slot(0), act(&f.activation), 0);
            fbb.push_slot(slot(1), f.weights_format, 0);
            fbb.push_slot(slot(2), f.keep_num_dims, false);
            fbb.push_slot(slot(3), f.asymmetric_quantize_inputs, false);
        }
        B::Softmax { beta } => fbb.push_slot(slot(0), *beta, 0.0),
        B::Concatenation { axis, activation } => {
            fbb.push_slot(slot(0), *axis, 0);
            fbb.push_slot(slot(1), act(activation), 0);
        }
        B::Add {
            activation,
            pot_scale_int16,
        }
        | B::Sub {
            activation,
            pot_scale_int16,
        } => {
            fbb.push_slot(slot(0), act(activation), 0);
            fbb.push_slot(slot(1), *pot_scale_int16, true);
        }
        B::Mul { activation } | B::Div { activation } => fbb.push_slot(slot(0), act(activation), 0),
        B::Reshape { .. } | B::Squeeze { .. } => {
            if let Some(v) = vector {
                fbb.push_slot_always(slot(0), v);
            }
        }
        B::ResizeBilinear(r) => {
            fbb.push_slot(slot(2), r.align_corners, false);
            fbb.push_slot(slot(3), r.half_pixel_centers, false);
        }
        B::ResizeNearestNeighbor(r) => {
            fbb.push_slot(slot(0), r.align_corners, false);
            fbb.push_slot(slot(1), r.half_pixel_centers, false);
        }
        B::StridedSlice(s) => {
            fbb.push_slot(slot(0), s.begin_mask, 0);
            fbb.push_slot(slot(1), s.end_mask, 0);
            fbb.push_slot(slot(2), s.ellipsis_mask, 0);
            fbb.push_slot(slot(3), s.new_axis_mask, 0);
            fbb.push_slot(slot(4), s.shrink_axis_mask, 0);
            fbb.push_slot(slot(5), s.offset, false);
        }
        B::Reducer { keep_dims } => fbb.push_slot(slot(0), *keep_dims, false),
        B::MirrorPad { mode } => {
            let code: i8 = match mode {
                MirrorPadMode::Reflect => 0,
                MirrorPadMode::Symmetric => 1,
            };
            fbb.push_slot(slot(0), code, 0);
        }
        B::LeakyRelu { alpha } => fbb.push_slot(slot(0), *alpha, 0.0),
        B::Gather { axis, batch_dims } => {
            fbb.push_slot(slot(0), *axis, 0);
            fbb.push_slot(slot(1), *batch_dims, 0);
        }
        B::Split { num_splits } | B::SplitV { num_splits } => {
            fbb.push_slot(slot(0), *num_splits, 0)
        }
        B::Pack { values_count, axis } => {
            fbb.push_slot(slot(0), *values_count, 0);
            fbb.push_slot(slot(1), *axis, 0);
        }
        B::Unpack { num, axis } => {
            fbb.push_slot(slot(0), *num, 0);
            fbb.push_slot(slot(1), *axis, 0);
        }
        B::DepthToSpace { block_size } | B::SpaceToDepth { block_size } => {
            fbb.push_slot(slot(0), *block_size, 0)
        }
        B::TransposeConv(c) => {
            fbb.push_slot(slot(0), c.padding.code(), 0);
            fbb.push_slot(slot(1), c.stride_w, 0);
            fbb.push_slot(slot(2), c.stride_h, 0);
            fbb.push_slot(slot(3), act(&c.activation), 0);
        }
        B::Cast { in_type, out_type } => {
            fbb.push_slot(slot(0), *in_type, 0);
            fbb.push_slot(slot(1), *out_type, 0);
        }
        // The schema default (FLOAT32) and the reader's (INT32) differ: always write it.
        B::Shape { out_type } => fbb.push_slot_always(slot(0), *out_type),
        B::None
        | B::Other(_)
        | B::Pad
        | B::PadV2
        | B::Transpose
        | B::Slice
        | B::Dequantize
        | B::Densify
        | B::HardSwish
        | B::Exp
        | B::Abs
        | B::MaximumMinimum
        | B::SquaredDifference => {}
    }
    Ok(Some(fbb.end_table(t)))
}

fn write_signature(fbb: &mut Fbb<'_>, s: &SignatureDef) -> TableOff {
    let mut maps = |list: &[(String, u32)]| {
        let entries = list
            .iter()
            .map(|(name, index)| {
                let name = fbb.create_string(name);
                let t = fbb.start_table();
                fbb.push_slot_always(slot(0), name);
                fbb.push_slot(slot(1), *index, 0);
                fbb.end_table(t)
            })
            .collect::<Vec<_>>();
        fbb.create_vector(&entries)
    };
    let inputs = maps(&s.inputs);
    let outputs = maps(&s.outputs);
    let key = fbb.create_string(&s.key);
    let t = fbb.start_table();
    fbb.push_slot_always(slot(0), inputs);
    fbb.push_slot_always(slot(1), outputs);
    fbb.push_slot_always(slot(2), key);
    fbb.push_slot(slot(4), s.subgraph_index, 0);
    fbb.end_table(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::builder;

    #[test]
    fn size_bound_holds() {
        let models = [
            builder::mobilenet_v2(1),
            builder::concat(&[vec![1, 2], vec![1, 3]], 1).expect("concat"),
            builder::reshape(&[2, 3], &[-1]).expect("reshape"),
            Model {
                subgraphs: vec![SubGraph::default()],
                buffers: vec![Buffer::default()],
                ..Model::default()
            },
        ];
        let assets = concat!(env!("CARGO_MANIFEST_DIR"), "/target/test-assets/models");
        let real = std::fs::read_dir(assets)
            .into_iter()
            .flatten()
            .filter_map(|e| crate::model::read_model_file(e.ok()?.path()).ok());
        for m in models.into_iter().chain(real) {
            let bytes = write_model(&m).expect("write");
            assert!(
                bytes.len() as u64 <= size_bound(&m),
                "{} > bound",
                bytes.len()
            );
        }
    }
}
