//! Decoding a `.tflite` flatbuffer into [`Model`], checking everything on the way.

use std::path::Path;

use super::error::{ModelError, Result};
use super::flatbuf::{FlatBuf, Table};
use super::options::*;
use super::schema::TensorType;
use super::types::*;

/// Reads a model from a file.
pub fn read_model_file(path: impl AsRef<Path>) -> Result<Model> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
        path: path.display().to_string(),
        source,
    })?;
    read_model(&bytes)
}

/// Reads a model from the bytes of a `.tflite` file.
pub fn read_model(bytes: &[u8]) -> Result<Model> {
    if bytes.len() < 8 {
        return Err(ModelError::NotTflite(format!(
            "{} bytes is too short for a flatbuffer",
            bytes.len()
        )));
    }
    if &bytes[4..8] != b"TFL3" {
        return Err(ModelError::NotTflite(format!(
            "file identifier is {:?}, expected \"TFL3\"",
            String::from_utf8_lossy(&bytes[4..8])
        )));
    }
    let fb = FlatBuf::new(bytes);
    let root = fb.root().map_err(|e| e.within("model"))?;
    let model = decode_model(&fb, root)?;
    check_indices(&model)?;
    Ok(model)
}

fn decode_model(fb: &FlatBuf<'_>, t: Table<'_>) -> Result<Model> {
    let version = t.u32(0, 0)?;
    let operator_codes = t
        .tables(1)
        .map_err(|e| e.within("operator codes"))?
        .into_iter()
        .enumerate()
        .map(|(i, c)| decode_opcode(c).map_err(|e| e.within(format!("operator code {i}"))))
        .collect::<Result<Vec<_>>>()?;
    let subgraphs = t
        .tables(2)
        .map_err(|e| e.within("subgraphs"))?
        .into_iter()
        .enumerate()
        .map(|(i, s)| decode_subgraph(s).map_err(|e| e.within(format!("subgraph {i}"))))
        .collect::<Result<Vec<_>>>()?;
    let description = t.string(3)?;
    let buffers = t
        .tables(4)
        .map_err(|e| e.within("buffers"))?
        .into_iter()
        .enumerate()
        .map(|(i, b)| decode_buffer(fb, b).map_err(|e| e.within(format!("buffer {i}"))))
        .collect::<Result<Vec<_>>>()?;
    let metadata_buffer = t.i32s(5)?.unwrap_or_default();
    let metadata = t
        .tables(6)
        .map_err(|e| e.within("metadata"))?
        .into_iter()
        .map(|m| {
            Ok(Metadata {
                name: m.string(0)?.unwrap_or_default(),
                buffer: m.u32(1, 0)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let signature_defs = t
        .tables(7)
        .map_err(|e| e.within("signature defs"))?
        .into_iter()
        .enumerate()
        .map(|(i, s)| decode_signature(s).map_err(|e| e.within(format!("signature {i}"))))
        .collect::<Result<Vec<_>>>()?;
    if subgraphs.is_empty() {
        return Err(ModelError::malformed("model has no subgraphs"));
    }
    Ok(Model {
        version,
        operator_codes,
        subgraphs,
        description,
        buffers,
        metadata_buffer,
        metadata,
        signature_defs,
    })
}

fn decode_opcode(t: Table<'_>) -> Result<OperatorCode> {
    let deprecated_builtin_code = t.i8(0, 0)?;
    let builtin_code = t.i32(3, 0)?;
    Ok(OperatorCode {
        builtin_code: builtin_code.max(deprecated_builtin_code as i32),
        deprecated_builtin_code,
        custom_code: t.string(1)?,
        version: t.i32(2, 1)?,
    })
}

fn decode_subgraph(t: Table<'_>) -> Result<SubGraph> {
    let tensors = t
        .tables(0)?
        .into_iter()
        .enumerate()
        .map(|(i, x)| decode_tensor(x).map_err(|e| e.within(format!("tensor {i}"))))
        .collect::<Result<Vec<_>>>()?;
    let operators = t
        .tables(3)?
        .into_iter()
        .enumerate()
        .map(|(i, x)| decode_operator(x).map_err(|e| e.within(format!("operator {i}"))))
        .collect::<Result<Vec<_>>>()?;
    Ok(SubGraph {
        tensors,
        inputs: t.i32s(1)?.unwrap_or_default(),
        outputs: t.i32s(2)?.unwrap_or_default(),
        operators,
        name: t.string(4)?,
    })
}

fn decode_tensor(t: Table<'_>) -> Result<Tensor> {
    let quantization = match t.table(4)? {
        None => None,
        Some(q) => Some(Quantization {
            min: q.f32s(0)?.unwrap_or_default(),
            max: q.f32s(1)?.unwrap_or_default(),
            scale: q.f32s(2)?.unwrap_or_default(),
            zero_point: q.i64s(3)?.unwrap_or_default(),
            has_details: q.u8(4, 0)? != 0,
            quantized_dimension: q.i32(6, 0)?,
        }),
    };
    let sparsity = match t.table(6)? {
        None => None,
        Some(s) => Some(decode_sparsity(s).map_err(|e| e.within("sparsity"))?),
    };
    Ok(Tensor {
        shape: t.i32s(0)?.unwrap_or_default(),
        dtype: TensorType::from_code(t.i8(1, 0)?),
        buffer: t.u32(2, 0)?,
        name: t.string(3)?.unwrap_or_default(),
        quantization,
        is_variable: t.bool(5, false)?,
        sparsity,
        shape_signature: t.i32s(7)?,
        has_rank: t.bool(8, false)?,
    })
}

fn decode_sparsity(t: Table<'_>) -> Result<Sparsity> {
    let dim_metadata = t
        .tables(2)?
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let index_vector =
                |type_slot: usize, value_slot: usize| -> Result<Option<IndexVector>> {
                    let kind = d.u8(type_slot, 0)?;
                    let Some(v) = d.table(value_slot)? else {
                        return Ok(None);
                    };
                    Ok(match kind {
                        0 => None,
                        1 => Some(IndexVector::I32(v.i32s(0)?.unwrap_or_default())),
                        2 => Some(IndexVector::U16(
                            v.scalars::<u16, 2>(0, u16::from_le_bytes)?
                                .unwrap_or_default(),
                        )),
                        3 => Some(IndexVector::U8(v.bytes(0)?.unwrap_or_default().to_vec())),
                        other => {
                            return Err(ModelError::malformed(format!(
                                "unknown sparse index vector type {other}"
                            )))
                        }
                    })
                };
            let format = d.i8(0, 0)?;
            if !(0..=1).contains(&format) {
                return Err(ModelError::malformed(format!(
                    "dimension {i}: unknown format {format}"
                )));
            }
            Ok(DimensionMetadata {
                sparse: format == 1,
                dense_size: d.i32(1, 0)?,
                array_segments: index_vector(2, 3)?,
                array_indices: index_vector(4, 5)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Sparsity {
        traversal_order: t.i32s(0)?.unwrap_or_default(),
        block_map: t.i32s(1)?.unwrap_or_default(),
        dim_metadata,
    })
}

fn decode_operator(t: Table<'_>) -> Result<Operator> {
    let options_type = t.u8(3, 0)?;
    let builtin_options = match t.table(4)? {
        Some(o) => decode_options(options_type, o).map_err(|e| e.within("builtin options"))?,
        None => empty_options(options_type),
    };
    Ok(Operator {
        opcode_index: t.u32(0, 0)?,
        inputs: t.i32s(1)?.unwrap_or_default(),
        outputs: t.i32s(2)?.unwrap_or_default(),
        builtin_options,
        custom_options: t.bytes(5)?.map(<[u8]>::to_vec),
        intermediates: t.i32s(8)?.unwrap_or_default(),
    })
}

fn padding(code: i8) -> Result<Padding> {
    Padding::from_code(code).ok_or_else(|| ModelError::malformed(format!("unknown padding {code}")))
}

fn activation(code: i8) -> Result<Activation> {
    Activation::from_code(code)
        .ok_or_else(|| ModelError::malformed(format!("unknown fused activation {code}")))
}

/// Options of a type whose table is absent: all fields take their schema defaults.
fn empty_options(ty: u8) -> BuiltinOptions {
    use union_type as u;
    match ty {
        u::NONE => BuiltinOptions::None,
        u::PAD => BuiltinOptions::Pad,
        u::PAD_V2 => BuiltinOptions::PadV2,
        u::TRANSPOSE => BuiltinOptions::Transpose,
        u::SLICE => BuiltinOptions::Slice,
        u::DEQUANTIZE => BuiltinOptions::Dequantize,
        u::DENSIFY => BuiltinOptions::Densify,
        u::HARD_SWISH => BuiltinOptions::HardSwish,
        u::EXP => BuiltinOptions::Exp,
        u::ABS => BuiltinOptions::Abs,
        u::MAXIMUM_MINIMUM => BuiltinOptions::MaximumMinimum,
        u::SQUARED_DIFFERENCE => BuiltinOptions::SquaredDifference,
        other => BuiltinOptions::Other(other),
    }
}

fn decode_options(ty: u8, t: Table<'_>) -> Result<BuiltinOptions> {
    use union_type as u;
    use BuiltinOptions as B;
    Ok(match ty {
        u::CONV_2D => B::Conv2D(Conv2DOptions {
            padding: padding(t.i8(0, 0)?)?,
            stride_w: t.i32(1, 0)?,
            stride_h: t.i32(2, 0)?,
            activation: activation(t.i8(3, 0)?)?,
            dilation_w: t.i32(4, 1)?,
            dilation_h: t.i32(5, 1)?,
        }),
        u::DEPTHWISE_CONV_2D => B::DepthwiseConv2D(DepthwiseConv2DOptions {
            padding: padding(t.i8(0, 0)?)?,
            stride_w: t.i32(1, 0)?,
            stride_h: t.i32(2, 0)?,
            depth_multiplier: t.i32(3, 0)?,
            activation: activation(t.i8(4, 0)?)?,
            dilation_w: t.i32(5, 1)?,
            dilation_h: t.i32(6, 1)?,
        }),
        u::POOL_2D => B::Pool2D(Pool2DOptions {
            padding: padding(t.i8(0, 0)?)?,
            stride_w: t.i32(1, 0)?,
            stride_h: t.i32(2, 0)?,
            filter_w: t.i32(3, 0)?,
            filter_h: t.i32(4, 0)?,
            activation: activation(t.i8(5, 0)?)?,
        }),
        u::FULLY_CONNECTED => B::FullyConnected(FullyConnectedOptions {
            activation: activation(t.i8(0, 0)?)?,
            weights_format: t.i8(1, 0)?,
            keep_num_dims: t.bool(2, false)?,
            asymmetric_quantize_inputs: t.bool(3, false)?,
        }),
        u::SOFTMAX => B::Softmax {
            beta: t.f32(0, 0.0)?,
        },
        u::CONCATENATION => B::Concatenation {
            axis: t.i32(0, 0)?,
            activation: activation(t.i8(1, 0)?)?,
        },
        u::ADD => B::Add {
            activation: activation(t.i8(0, 0)?)?,
            pot_scale_int16: t.bool(1, true)?,
        },
        u::SUB => B::Sub {
            activation: activation(t.i8(0, 0)?)?,
            pot_scale_int16: t.bool(1, true)?,
        },
        u::MUL => B::Mul {
            activation: activation(t.i8(0, 0)?)?,
        },
        u::DIV => B::Div {
            activation: activation(t.i8(0, 0)?)?,
        },
        u::RESHAPE => B::Reshape {
            new_shape: t.i32s(0)?,
        },
        u::RESIZE_BILINEAR => B::ResizeBilinear(ResizeOptions {
            align_corners: t.bool(2, false)?,
            half_pixel_centers: t.bool(3, false)?,
        }),
        u::RESIZE_NEAREST_NEIGHBOR => B::ResizeNearestNeighbor(ResizeOptions {
            align_corners: t.bool(0, false)?,
            half_pixel_centers: t.bool(1, false)?,
        }),
        u::STRIDED_SLICE => B::StridedSlice(StridedSliceOptions {
            begin_mask: t.i32(0, 0)?,
            end_mask: t.i32(1, 0)?,
            ellipsis_mask: t.i32(2, 0)?,
            new_axis_mask: t.i32(3, 0)?,
            shrink_axis_mask: t.i32(4, 0)?,
            offset: t.bool(5, false)?,
        }),
        u::REDUCER => B::Reducer {
            keep_dims: t.bool(0, false)?,
        },
        u::MIRROR_PAD => B::MirrorPad {
            mode: match t.i8(0, 0)? {
                0 => MirrorPadMode::Reflect,
                1 => MirrorPadMode::Symmetric,
                m => {
                    return Err(ModelError::malformed(format!(
                        "unknown mirror pad mode {m}"
                    )))
                }
            },
        },
        u::LEAKY_RELU => B::LeakyRelu {
            alpha: t.f32(0, 0.0)?,
        },
        u::SQUEEZE => B::Squeeze {
            squeeze_dims: t.i32s(0)?.unwrap_or_default(),
        },
        u::GATHER => B::Gather {
            axis: t.i32(0, 0)?,
            batch_dims: t.i32(1, 0)?,
        },
        u::SPLIT => B::Split {
            num_splits: t.i32(0, 0)?,
        },
        u::SPLIT_V => B::SplitV {
            num_splits: t.i32(0, 0)?,
        },
        u::PACK => B::Pack {
            values_count: t.i32(0, 0)?,
            axis: t.i32(1, 0)?,
        },
        u::UNPACK => B::Unpack {
            num: t.i32(0, 0)?,
            axis: t.i32(1, 0)?,
        },
        u::DEPTH_TO_SPACE => B::DepthToSpace {
            block_size: t.i32(0, 0)?,
        },
        u::SPACE_TO_DEPTH => B::SpaceToDepth {
            block_size: t.i32(0, 0)?,
        },
        u::TRANSPOSE_CONV => B::TransposeConv(TransposeConvOptions {
            padding: padding(t.i8(0, 0)?)?,
            stride_w: t.i32(1, 0)?,
            stride_h: t.i32(2, 0)?,
            activation: activation(t.i8(3, 0)?)?,
        }),
        u::CAST => B::Cast {
            in_type: t.i8(0, 0)?,
            out_type: t.i8(1, 0)?,
        },
        u::SHAPE => B::Shape {
            out_type: t.i8(0, 2)?,
        },
        other => empty_options(other),
    })
}

fn decode_buffer(fb: &FlatBuf<'_>, t: Table<'_>) -> Result<Buffer> {
    let offset = t.u64(1, 0)?;
    let size = t.u64(2, 0)?;
    if offset > 1 {
        let file = fb.bytes();
        let data = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(size).ok())
            .and_then(|(o, s)| file.get(o..o.checked_add(s)?))
            .ok_or_else(|| {
                ModelError::malformed(format!(
                    "data at offset {offset} size {size} lies outside the {}-byte file",
                    file.len()
                ))
            })?;
        fb.charge(1 + size / 64)?;
        return Ok(Buffer {
            data: data.to_vec(),
        });
    }
    Ok(Buffer {
        data: t.bytes(0)?.map(<[u8]>::to_vec).unwrap_or_default(),
    })
}

fn decode_signature(t: Table<'_>) -> Result<SignatureDef> {
    let maps = |slot: usize| -> Result<Vec<(String, u32)>> {
        t.tables(slot)?
            .into_iter()
            .map(|m| Ok((m.string(0)?.unwrap_or_default(), m.u32(1, 0)?)))
            .collect()
    };
    Ok(SignatureDef {
        inputs: maps(0)?,
        outputs: maps(1)?,
        key: t.string(2)?.unwrap_or_default(),
        subgraph_index: t.u32(4, 0)?,
    })
}

fn out_of_range(
    at: String,
    what: &'static str,
    index: i64,
    len: usize,
    of: &'static str,
) -> ModelError {
    ModelError::IndexOutOfRange {
        at,
        what,
        index,
        len,
        of,
    }
}

/// Checks every cross-reference (opcode, tensor, buffer, subgraph indices).
fn check_indices(m: &Model) -> Result<()> {
    for (si, sg) in m.subgraphs.iter().enumerate() {
        let nt = sg.tensors.len();
        let tensor_ok = |i: i32| i >= 0 && (i as usize) < nt;
        for (ti, t) in sg.tensors.iter().enumerate() {
            if t.buffer as usize >= m.buffers.len() {
                return Err(out_of_range(
                    format!("subgraph {si}: tensor {ti}: "),
                    "buffer index",
                    t.buffer as i64,
                    m.buffers.len(),
                    "buffers",
                ));
            }
        }
        for (what, list) in [("input", &sg.inputs), ("output", &sg.outputs)] {
            for &i in list.iter() {
                if !tensor_ok(i) {
                    return Err(out_of_range(
                        format!("subgraph {si}: {what}s: "),
                        "tensor index",
                        i as i64,
                        nt,
                        "tensors",
                    ));
                }
            }
        }
        for (oi, op) in sg.operators.iter().enumerate() {
            let at = || format!("subgraph {si}: operator {oi}: ");
            if op.opcode_index as usize >= m.operator_codes.len() {
                return Err(out_of_range(
                    at(),
                    "opcode index",
                    op.opcode_index as i64,
                    m.operator_codes.len(),
                    "operator codes",
                ));
            }
            for &i in &op.inputs {
                if i != -1 && !tensor_ok(i) {
                    return Err(out_of_range(
                        at(),
                        "input tensor index",
                        i as i64,
                        nt,
                        "tensors",
                    ));
                }
            }
            for &i in op.outputs.iter().chain(&op.intermediates) {
                if !tensor_ok(i) {
                    return Err(out_of_range(
                        at(),
                        "output tensor index",
                        i as i64,
                        nt,
                        "tensors",
                    ));
                }
            }
        }
    }
    for (i, md) in m.metadata.iter().enumerate() {
        if md.buffer as usize >= m.buffers.len() {
            return Err(out_of_range(
                format!("metadata {i} ({}): ", md.name),
                "buffer index",
                md.buffer as i64,
                m.buffers.len(),
                "buffers",
            ));
        }
    }
    for (i, s) in m.signature_defs.iter().enumerate() {
        let Some(sg) = m.subgraphs.get(s.subgraph_index as usize) else {
            return Err(out_of_range(
                format!("signature {i} ({}): ", s.key),
                "subgraph index",
                s.subgraph_index as i64,
                m.subgraphs.len(),
                "subgraphs",
            ));
        };
        for (_, t) in s.inputs.iter().chain(&s.outputs) {
            if *t as usize >= sg.tensors.len() {
                return Err(out_of_range(
                    format!("signature {i} ({}): ", s.key),
                    "tensor index",
                    *t as i64,
                    sg.tensors.len(),
                    "tensors",
                ));
            }
        }
    }
    Ok(())
}
