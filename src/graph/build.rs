//! Building the IR from a decoded model, and validating it.

use super::{ConstData, Graph, Node, Op, TensorInfo, TensorRole};
use crate::model::{self, schema::builtin as b, BuiltinOptions, Model, Padding};

/// The largest tensor the runtime accepts, in elements. A file claiming more is refused before
/// anything is allocated for it.
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 31;

/// A graph that cannot be built or does not hold together.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GraphError {
    #[error("tensor {index} ({name:?}): {msg}")]
    /// A tensor is invalid.
    Tensor {
        /// Tensor or node index.
        index: usize,
        /// Tensor name.
        name: String,
        /// What went wrong.
        msg: String,
    },
    #[error("node {index} ({op}): {msg}")]
    /// A node is invalid.
    Node {
        /// Tensor or node index.
        index: usize,
        /// Operator name.
        op: String,
        /// What went wrong.
        msg: String,
    },
    #[error("{0}")]
    /// The graph as a whole is invalid.
    Graph(String),
}

fn tensor_err(index: usize, t: &model::Tensor, msg: impl Into<String>) -> GraphError {
    GraphError::Tensor {
        index,
        name: t.name.clone(),
        msg: msg.into(),
    }
}

pub(super) fn from_model(m: &Model) -> Result<Graph, GraphError> {
    let sg = m
        .subgraphs
        .first()
        .ok_or_else(|| GraphError::Graph("model has no subgraphs".into()))?;
    let idx =
        |v: &[i32]| -> Vec<usize> { v.iter().filter(|i| **i >= 0).map(|i| *i as usize).collect() };
    let inputs = idx(&sg.inputs);
    let outputs = idx(&sg.outputs);
    let mut tensors = Vec::with_capacity(sg.tensors.len());
    for (i, t) in sg.tensors.iter().enumerate() {
        let mut shape = Vec::with_capacity(t.shape.len());
        let mut elements: usize = 1;
        for &d in &t.shape {
            if d < 0 {
                return Err(tensor_err(
                    i,
                    t,
                    format!("negative dimension {d} in shape {:?}", t.shape),
                ));
            }
            elements = elements
                .checked_mul(d as usize)
                .filter(|e| *e <= MAX_TENSOR_ELEMENTS)
                .ok_or_else(|| {
                    tensor_err(
                        i,
                        t,
                        format!("shape {:?} has more than 2^31 elements", t.shape),
                    )
                })?;
            shape.push(d as usize);
        }
        let buffer = m.buffers.get(t.buffer as usize).ok_or_else(|| {
            tensor_err(
                i,
                t,
                format!(
                    "buffer index {} out of range (model has {} buffers)",
                    t.buffer,
                    m.buffers.len()
                ),
            )
        })?;
        let data =
            (t.buffer != 0 && !buffer.data.is_empty()).then(|| ConstData::from_bytes(&buffer.data));
        let role = if inputs.contains(&i) {
            TensorRole::Input
        } else if outputs.contains(&i) {
            TensorRole::Output
        } else if data.is_some() {
            TensorRole::Constant
        } else {
            TensorRole::Activation
        };
        tensors.push(TensorInfo {
            name: t.name.clone(),
            signature: t.shape_signature.clone().unwrap_or_else(|| t.shape.clone()),
            shape,
            dtype: t.dtype,
            role,
            data,
            quantization: t.quantization.clone(),
            sparsity: t.sparsity.clone(),
        });
    }
    let mut nodes = Vec::with_capacity(sg.operators.len());
    for (index, o) in sg.operators.iter().enumerate() {
        let code = m
            .operator_codes
            .get(o.opcode_index as usize)
            .ok_or_else(|| GraphError::Node {
                index,
                op: "?".into(),
                msg: format!("opcode index {} out of range", o.opcode_index),
            })?;
        let op = convert_op(code, o).map_err(|msg| GraphError::Node {
            index,
            op: code.name(),
            msg,
        })?;
        nodes.push(Node {
            op,
            inputs: o
                .inputs
                .iter()
                .map(|&i| (i >= 0).then_some(i as usize))
                .collect(),
            outputs: o.outputs.iter().map(|&i| i as usize).collect(),
            index,
        });
    }
    let g = Graph {
        tensors,
        nodes,
        inputs,
        outputs,
    };
    validate(&g)?;
    Ok(g)
}

fn mismatch(op: &model::OperatorCode, opts: &BuiltinOptions) -> String {
    format!(
        "{} carries options of union type {}",
        op.name(),
        opts.union_type()
    )
}

/// Translates one operator into an [`Op`]; unknown operators become [`Op::Unsupported`].
fn convert_op(code: &model::OperatorCode, o: &model::Operator) -> Result<Op, String> {
    use BuiltinOptions as B;
    let opts = &o.builtin_options;
    let act = |x: Option<model::Activation>| x.unwrap_or_default();
    let bad = || mismatch(code, opts);
    Ok(match code.builtin_code {
        b::CONV_2D => match opts {
            B::Conv2D(c) => Op::Conv2D(*c),
            _ => return Err(bad()),
        },
        b::DEPTHWISE_CONV_2D => match opts {
            B::DepthwiseConv2D(c) => Op::DepthwiseConv2D(*c),
            _ => return Err(bad()),
        },
        b::FULLY_CONNECTED => match opts {
            B::FullyConnected(c) => Op::FullyConnected(*c),
            B::None => Op::FullyConnected(model::FullyConnectedOptions {
                activation: model::Activation::None,
                weights_format: 0,
                keep_num_dims: false,
                asymmetric_quantize_inputs: false,
            }),
            _ => return Err(bad()),
        },
        b::TRANSPOSE_CONV => match opts {
            B::TransposeConv(c) => Op::TransposeConv(*c),
            _ => return Err(bad()),
        },
        b::ADD => Op::Add(act(match opts {
            B::Add { activation, .. } => Some(*activation),
            _ => None,
        })),
        b::SUB => Op::Sub(act(match opts {
            B::Sub { activation, .. } => Some(*activation),
            _ => None,
        })),
        b::MUL => Op::Mul(act(match opts {
            B::Mul { activation } => Some(*activation),
            _ => None,
        })),
        b::DIV => Op::Div(act(match opts {
            B::Div { activation } => Some(*activation),
            _ => None,
        })),
        b::MAXIMUM => Op::Maximum,
        b::MINIMUM => Op::Minimum,
        b::SQUARED_DIFFERENCE => Op::SquaredDifference,
        b::RELU => Op::Relu,
        b::RELU6 => Op::Relu6,
        b::RELU_N1_TO_1 => Op::ReluN1To1,
        b::LEAKY_RELU => Op::LeakyRelu {
            alpha: match opts {
                B::LeakyRelu { alpha } => *alpha,
                _ => 0.0,
            },
        },
        b::PRELU => Op::Prelu,
        b::LOGISTIC => Op::Logistic,
        b::TANH => Op::Tanh,
        b::HARD_SWISH => Op::HardSwish,
        b::EXP => Op::Exp,
        b::RSQRT => Op::Rsqrt,
        b::SQRT => Op::Sqrt,
        b::ABS => Op::Abs,
        b::SOFTMAX => Op::Softmax {
            beta: match opts {
                B::Softmax { beta } => *beta,
                _ => return Err(bad()),
            },
        },
        b::MAX_POOL_2D | b::AVERAGE_POOL_2D => match opts {
            B::Pool2D(p) if code.builtin_code == b::MAX_POOL_2D => Op::MaxPool2D(*p),
            B::Pool2D(p) => Op::AveragePool2D(*p),
            _ => return Err(bad()),
        },
        b::MEAN | b::SUM | b::REDUCE_MAX => {
            let keep_dims = matches!(opts, B::Reducer { keep_dims: true });
            match code.builtin_code {
                b::MEAN => Op::Mean { keep_dims },
                b::SUM => Op::Sum { keep_dims },
                _ => Op::ReduceMax { keep_dims },
            }
        }
        b::PAD => Op::Pad,
        b::PADV2 => Op::PadV2,
        b::MIRROR_PAD => match opts {
            B::MirrorPad { mode } => Op::MirrorPad(*mode),
            _ => return Err(bad()),
        },
        b::CONCATENATION => match opts {
            B::Concatenation { axis, activation } => Op::Concatenation {
                axis: *axis,
                activation: *activation,
            },
            _ => return Err(bad()),
        },
        b::RESHAPE => Op::Reshape,
        b::SQUEEZE => Op::Squeeze {
            dims: match opts {
                B::Squeeze { squeeze_dims } => squeeze_dims.clone(),
                _ => Vec::new(),
            },
        },
        b::TRANSPOSE => Op::Transpose,
        b::STRIDED_SLICE => Op::StridedSlice(match opts {
            B::StridedSlice(s) => *s,
            _ => Default::default(),
        }),
        b::SLICE => Op::Slice,
        b::SPLIT => match opts {
            B::Split { num_splits } => Op::Split {
                num_splits: *num_splits,
            },
            _ => return Err(bad()),
        },
        b::SPLIT_V => match opts {
            B::SplitV { num_splits } => Op::SplitV {
                num_splits: *num_splits,
            },
            _ => return Err(bad()),
        },
        b::PACK => match opts {
            B::Pack { values_count, axis } => Op::Pack {
                axis: *axis,
                values_count: *values_count,
            },
            _ => return Err(bad()),
        },
        b::UNPACK => match opts {
            B::Unpack { num, axis } => Op::Unpack {
                axis: *axis,
                num: *num,
            },
            _ => return Err(bad()),
        },
        b::GATHER => match opts {
            B::Gather { axis, batch_dims } => Op::Gather {
                axis: *axis,
                batch_dims: *batch_dims,
            },
            _ => Op::Gather {
                axis: 0,
                batch_dims: 0,
            },
        },
        b::RESIZE_BILINEAR => match opts {
            B::ResizeBilinear(r) => Op::ResizeBilinear(*r),
            _ => return Err(bad()),
        },
        b::RESIZE_NEAREST_NEIGHBOR => match opts {
            B::ResizeNearestNeighbor(r) => Op::ResizeNearestNeighbor(*r),
            _ => return Err(bad()),
        },
        b::DEPTH_TO_SPACE => match opts {
            B::DepthToSpace { block_size } => Op::DepthToSpace {
                block_size: *block_size,
            },
            _ => return Err(bad()),
        },
        b::SPACE_TO_DEPTH => match opts {
            B::SpaceToDepth { block_size } => Op::SpaceToDepth {
                block_size: *block_size,
            },
            _ => return Err(bad()),
        },
        b::DEQUANTIZE => Op::Dequantize,
        b::DENSIFY => Op::Densify,
        b::CAST => Op::Cast,
        b::SHAPE => Op::Shape,
        b::CUSTOM if code.custom_code.as_deref() == Some("Convolution2DTransposeBias") => {
            conv_transpose_bias(o.custom_options.as_deref().unwrap_or_default())?
        }
        _ => Op::Unsupported { name: code.name() },
    })
}

/// MediaPipe stores `Convolution2DTransposeBias` options as a raw C struct of three i32:
/// padding (1 = SAME, 2 = VALID), stride_width, stride_height.
fn conv_transpose_bias(raw: &[u8]) -> Result<Op, String> {
    if raw.len() < 12 {
        return Err(format!(
            "custom options are {} bytes, expected 12 (padding, stride_w, stride_h)",
            raw.len()
        ));
    }
    let word =
        |i: usize| i32::from_le_bytes([raw[4 * i], raw[4 * i + 1], raw[4 * i + 2], raw[4 * i + 3]]);
    let padding = match word(0) {
        1 => Padding::Same,
        2 => Padding::Valid,
        p => return Err(format!("unknown padding {p} in custom options")),
    };
    Ok(Op::Conv2DTransposeBias {
        padding,
        stride_w: word(1),
        stride_h: word(2),
    })
}

pub(super) fn validate(g: &Graph) -> Result<(), GraphError> {
    let n = g.tensors.len();
    let check = |what: &str, id: usize| -> Result<(), GraphError> {
        if id >= n {
            return Err(GraphError::Graph(format!(
                "{what} tensor index {id} out of range (graph has {n} tensors)"
            )));
        }
        Ok(())
    };
    let mut defined = vec![false; n];
    for (i, t) in g.tensors.iter().enumerate() {
        if let Some(d) = &t.data {
            defined[i] = true;
            if t.sparsity.is_none() {
                if let Some(size) = t.dtype.size_bytes() {
                    let want = t.num_elements() * size;
                    if d.len() != want {
                        return Err(GraphError::Tensor {
                            index: i,
                            name: t.name.clone(),
                            msg: format!(
                                "constant holds {} bytes, but shape {:?} of {} needs {want}",
                                d.len(),
                                t.shape,
                                t.dtype
                            ),
                        });
                    }
                }
            }
        }
    }
    for &i in &g.inputs {
        check("input", i)?;
        defined[i] = true;
    }
    for node in &g.nodes {
        let node_err = |msg: String| GraphError::Node {
            index: node.index,
            op: node.op.name().to_string(),
            msg,
        };
        for &i in node.inputs.iter().flatten() {
            check("node input", i).map_err(|e| node_err(e.to_string()))?;
            if !defined[i] {
                return Err(node_err(format!(
                    "reads tensor {i} ({:?}) before any node defines it",
                    g.tensors[i].name
                )));
            }
        }
        for &o in &node.outputs {
            check("node output", o).map_err(|e| node_err(e.to_string()))?;
            if defined[o] {
                return Err(node_err(format!(
                    "writes tensor {o} ({:?}), which is already defined",
                    g.tensors[o].name
                )));
            }
            defined[o] = true;
        }
    }
    for &o in &g.outputs {
        check("output", o)?;
        if !defined[o] {
            return Err(GraphError::Graph(format!(
                "output tensor {o} ({:?}) is never computed",
                g.tensors[o].name
            )));
        }
    }
    Ok(())
}
