//! Creating [`Model`]s in code: [`ModelBuilder`], single-operator test models and a
//! MobileNetV2 with deterministic weights.
//!
//! Weights of the ready-made models come from a seeded [`StdRng`]: the same seed gives the same
//! model. They are He-style (uniform, standard deviation `sqrt(gain / fan_in)`), so outputs of a
//! layer fed with inputs in `[0, 1)` stay of order one.

use half::f16;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::error::{ModelError, Result};
use super::options::*;
use super::schema::builtin;
use super::schema::TensorType;
use super::types::*;

/// Builds a single-subgraph [`Model`] tensor by tensor and operator by operator.
///
/// Tensors are referred to by the `i32` index the adding method returns. Operator codes are
/// shared between operators of the same kind. Buffer 0 is the empty sentinel; every constant
/// gets a buffer of its own.
#[derive(Debug, Clone)]
pub struct ModelBuilder {
    operator_codes: Vec<OperatorCode>,
    tensors: Vec<Tensor>,
    operators: Vec<Operator>,
    buffers: Vec<Buffer>,
    inputs: Vec<i32>,
    outputs: Vec<i32>,
    description: Option<String>,
}

impl Default for ModelBuilder {
    fn default() -> Self {
        Self::new()
    }
}

fn invalid(msg: impl Into<String>) -> ModelError {
    ModelError::malformed(msg).within("model builder")
}

/// The number of elements of `shape`, or an error for negative or overflowing dimensions.
fn element_count(shape: &[i32]) -> Result<usize> {
    shape.iter().try_fold(1usize, |n, &d| {
        usize::try_from(d)
            .ok()
            .and_then(|d| n.checked_mul(d))
            .ok_or_else(|| invalid(format!("shape {shape:?} has no valid element count")))
    })
}

fn le_bytes_f32(data: &[f32]) -> Vec<u8> {
    data.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn le_bytes_i32(data: &[i32]) -> Vec<u8> {
    data.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl ModelBuilder {
    /// An empty model (schema version 3) with only the sentinel buffer.
    pub fn new() -> Self {
        ModelBuilder {
            operator_codes: Vec::new(),
            tensors: Vec::new(),
            operators: Vec::new(),
            buffers: vec![Buffer::default()],
            inputs: Vec::new(),
            outputs: Vec::new(),
            description: None,
        }
    }

    /// Sets the model's description string.
    pub fn description(&mut self, text: &str) -> &mut Self {
        self.description = Some(text.to_string());
        self
    }

    /// The number of tensors added so far.
    pub fn tensor_count(&self) -> usize {
        self.tensors.len()
    }

    /// The shape of tensor `t`, if it exists.
    pub fn shape(&self, t: i32) -> Option<&[i32]> {
        self.tensor(t).map(|t| t.shape.as_slice())
    }

    fn tensor(&self, t: i32) -> Option<&Tensor> {
        usize::try_from(t).ok().and_then(|i| self.tensors.get(i))
    }

    fn push_tensor(
        &mut self,
        name: &str,
        dtype: TensorType,
        shape: &[i32],
        data: Option<Vec<u8>>,
    ) -> i32 {
        let buffer = match data {
            Some(data) => {
                self.buffers.push(Buffer { data });
                u32::try_from(self.buffers.len() - 1).unwrap_or(u32::MAX)
            }
            None => 0,
        };
        self.tensors.push(Tensor {
            shape: shape.to_vec(),
            dtype,
            buffer,
            name: name.to_string(),
            quantization: None,
            is_variable: false,
            sparsity: None,
            shape_signature: None,
            has_rank: false,
        });
        i32::try_from(self.tensors.len() - 1).unwrap_or(i32::MAX)
    }

    /// Adds a tensor without data (an activation) of any type.
    pub fn add_tensor(&mut self, name: &str, dtype: TensorType, shape: &[i32]) -> i32 {
        self.push_tensor(name, dtype, shape, None)
    }

    /// Adds a float32 tensor without data (an activation).
    pub fn activation(&mut self, name: &str, shape: &[i32]) -> i32 {
        self.push_tensor(name, TensorType::Float32, shape, None)
    }

    /// Adds a float32 tensor and appends it to the model's inputs.
    pub fn input(&mut self, name: &str, shape: &[i32]) -> i32 {
        let t = self.activation(name, shape);
        self.inputs.push(t);
        t
    }

    /// Adds a constant tensor whose bytes are given as stored (little-endian).
    ///
    /// Fails if the byte count does not match the shape (for fixed-size element types).
    pub fn const_raw(
        &mut self,
        name: &str,
        dtype: TensorType,
        shape: &[i32],
        bytes: Vec<u8>,
    ) -> Result<i32> {
        let n = element_count(shape)?;
        if let Some(size) = dtype.size_bytes() {
            if n.checked_mul(size) != Some(bytes.len()) {
                return Err(invalid(format!(
                    "constant {name:?}: {} bytes do not fit shape {shape:?} of {dtype}",
                    bytes.len()
                )));
            }
        }
        Ok(self.push_tensor(name, dtype, shape, Some(bytes)))
    }

    fn check_len(name: &str, shape: &[i32], len: usize) -> Result<()> {
        let n = element_count(shape)?;
        if n != len {
            return Err(invalid(format!(
                "constant {name:?}: {len} values do not fit shape {shape:?} ({n} elements)"
            )));
        }
        Ok(())
    }

    /// Adds a float32 constant.
    pub fn const_f32(&mut self, name: &str, shape: &[i32], data: &[f32]) -> Result<i32> {
        Self::check_len(name, shape, data.len())?;
        Ok(self.push_tensor(name, TensorType::Float32, shape, Some(le_bytes_f32(data))))
    }

    /// Adds a float16 constant, rounding `data` to half precision.
    pub fn const_f16(&mut self, name: &str, shape: &[i32], data: &[f32]) -> Result<i32> {
        Self::check_len(name, shape, data.len())?;
        let bytes = data
            .iter()
            .flat_map(|&x| f16::from_f32(x).to_le_bytes())
            .collect();
        Ok(self.push_tensor(name, TensorType::Float16, shape, Some(bytes)))
    }

    /// Adds an int32 constant.
    pub fn const_i32(&mut self, name: &str, shape: &[i32], data: &[i32]) -> Result<i32> {
        Self::check_len(name, shape, data.len())?;
        Ok(self.push_tensor(name, TensorType::Int32, shape, Some(le_bytes_i32(data))))
    }

    /// Adds a float16 constant followed by a DEQUANTIZE to float32, as the float16 converter
    /// stores weights; returns the float32 tensor.
    pub fn const_f16_dequantized(
        &mut self,
        name: &str,
        shape: &[i32],
        data: &[f32],
    ) -> Result<i32> {
        let half = self.const_f16(name, shape, data)?;
        let full = self.activation(&format!("{name}/dequantize"), shape);
        self.op(builtin::DEQUANTIZE, &[half], &[full], BuiltinOptions::None)?;
        Ok(full)
    }

    fn opcode(&mut self, builtin_code: i32, custom_code: Option<&str>) -> u32 {
        let found = self.operator_codes.iter().position(|c| {
            c.builtin_code == builtin_code && c.custom_code.as_deref() == custom_code
        });
        let index = found.unwrap_or_else(|| {
            self.operator_codes.push(OperatorCode {
                builtin_code,
                deprecated_builtin_code: builtin_code.clamp(0, 127) as i8,
                custom_code: custom_code.map(str::to_string),
                version: 1,
            });
            self.operator_codes.len() - 1
        });
        u32::try_from(index).unwrap_or(u32::MAX)
    }

    fn check_tensors(&self, what: &str, list: &[i32], allow_absent: bool) -> Result<()> {
        for &t in list {
            if !(allow_absent && t == -1) && self.tensor(t).is_none() {
                return Err(invalid(format!(
                    "{what}: tensor {t} does not exist ({} tensors)",
                    self.tensors.len()
                )));
            }
        }
        Ok(())
    }

    fn push_op(
        &mut self,
        builtin_code: i32,
        custom_code: Option<&str>,
        inputs: &[i32],
        outputs: &[i32],
        builtin_options: BuiltinOptions,
        custom_options: Option<Vec<u8>>,
    ) -> usize {
        let opcode_index = self.opcode(builtin_code, custom_code);
        self.operators.push(Operator {
            opcode_index,
            inputs: inputs.to_vec(),
            outputs: outputs.to_vec(),
            builtin_options,
            custom_options,
            intermediates: Vec::new(),
        });
        self.operators.len() - 1
    }

    /// Appends a builtin operator; returns its index in execution order.
    ///
    /// `inputs` may hold `-1` for an absent optional input. Fails for unknown tensors, for
    /// negative codes and for CUSTOM (use [`ModelBuilder::custom_op`]).
    pub fn op(
        &mut self,
        builtin_code: i32,
        inputs: &[i32],
        outputs: &[i32],
        options: BuiltinOptions,
    ) -> Result<usize> {
        if builtin_code < 0 || builtin_code == builtin::CUSTOM {
            return Err(invalid(format!(
                "builtin code {builtin_code} is not a builtin operator"
            )));
        }
        if let BuiltinOptions::Other(code) = options {
            return Err(invalid(format!(
                "options of union type {code} cannot be written"
            )));
        }
        self.check_tensors("operator inputs", inputs, true)?;
        self.check_tensors("operator outputs", outputs, false)?;
        Ok(self.push_op(builtin_code, None, inputs, outputs, options, None))
    }

    /// Appends a custom operator named `name` with raw `custom_options`; returns its index.
    pub fn custom_op(
        &mut self,
        name: &str,
        inputs: &[i32],
        outputs: &[i32],
        custom_options: Vec<u8>,
    ) -> Result<usize> {
        self.check_tensors("operator inputs", inputs, true)?;
        self.check_tensors("operator outputs", outputs, false)?;
        Ok(self.push_op(
            builtin::CUSTOM,
            Some(name),
            inputs,
            outputs,
            BuiltinOptions::None,
            Some(custom_options),
        ))
    }

    /// Replaces the model's inputs.
    pub fn set_inputs(&mut self, inputs: &[i32]) -> Result<()> {
        self.check_tensors("model inputs", inputs, false)?;
        self.inputs = inputs.to_vec();
        Ok(())
    }

    /// Replaces the model's outputs.
    pub fn set_outputs(&mut self, outputs: &[i32]) -> Result<()> {
        self.check_tensors("model outputs", outputs, false)?;
        self.outputs = outputs.to_vec();
        Ok(())
    }

    /// Appends `t` to the model's outputs.
    pub fn add_output(&mut self, t: i32) -> Result<()> {
        self.check_tensors("model outputs", &[t], false)?;
        self.outputs.push(t);
        Ok(())
    }

    /// The model built so far (schema version 3, one subgraph named "main").
    pub fn build(self) -> Model {
        Model {
            version: 3,
            operator_codes: self.operator_codes,
            subgraphs: vec![SubGraph {
                tensors: self.tensors,
                inputs: self.inputs,
                outputs: self.outputs,
                operators: self.operators,
                name: Some("main".into()),
            }],
            description: self
                .description
                .or_else(|| Some("halfgpu ModelBuilder".into())),
            buffers: self.buffers,
            metadata_buffer: Vec::new(),
            metadata: Vec::new(),
            signature_defs: Vec::new(),
        }
    }
}

/// Deterministic weights: uniform values with a given standard deviation.
struct Weights {
    rng: StdRng,
}

impl Weights {
    fn new(seed: u64) -> Self {
        Weights {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// `n` values uniform in `[-a, a)` with standard deviation `std` (`a = std * sqrt(3)`).
    fn uniform(&mut self, n: usize, std: f32) -> Vec<f32> {
        let a = std * 3f32.sqrt();
        (0..n)
            .map(|_| (2.0 * self.rng.random::<f32>() - 1.0) * a)
            .collect()
    }

    /// He-style weights for a layer summing `fan_in` products: `std = sqrt(gain / fan_in)`.
    fn he(&mut self, n: usize, fan_in: usize, gain: f32) -> Vec<f32> {
        self.uniform(n, (gain / fan_in.max(1) as f32).sqrt())
    }
}

/// Output extent of a windowed op along one axis (TFLite's SAME / VALID rules).
fn window_out(
    input: i32,
    kernel: i32,
    stride: i32,
    dilation: i32,
    padding: Padding,
) -> Result<i32> {
    if input < 1 || kernel < 1 || stride < 1 || dilation < 1 {
        return Err(invalid(format!(
            "window: input {input}, kernel {kernel}, stride {stride}, dilation {dilation} \
             must all be positive"
        )));
    }
    let effective = (kernel - 1)
        .checked_mul(dilation)
        .and_then(|k| k.checked_add(1))
        .ok_or_else(|| invalid("window: kernel extent overflows"))?;
    match padding {
        Padding::Same => Ok((input - 1) / stride + 1),
        Padding::Valid if input >= effective => Ok((input - effective) / stride + 1),
        Padding::Valid => Err(invalid(format!(
            "window: VALID padding with input {input} smaller than the kernel extent {effective}"
        ))),
    }
}

/// Normalizes a possibly negative `axis` of a rank-`rank` tensor.
fn axis_index(axis: i32, rank: usize) -> Result<usize> {
    let r = rank as i64;
    let a = axis as i64;
    let a = if a < 0 { a + r } else { a };
    if (0..r).contains(&a) {
        Ok(a as usize)
    } else {
        Err(invalid(format!("axis {axis} out of range for rank {rank}")))
    }
}

/// The numpy broadcast of two shapes.
fn broadcast(a: &[i32], b: &[i32]) -> Result<Vec<i32>> {
    let rank = a.len().max(b.len());
    let dim = |s: &[i32], i: usize| {
        let pad = rank - s.len();
        if i < pad {
            1
        } else {
            s[i - pad]
        }
    };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            (x, y) => Err(invalid(format!(
                "shapes {a:?} and {b:?} do not broadcast ({x} vs {y})"
            ))),
        })
        .collect()
}

/// Builds a model with one operator whose inputs are `inputs` (graph inputs or constants,
/// added by `add_inputs`) and whose single float32 output has shape `out`.
fn single_op(
    code: i32,
    options: BuiltinOptions,
    out: &[i32],
    add_inputs: impl FnOnce(&mut ModelBuilder) -> Result<Vec<i32>>,
) -> Result<Model> {
    element_count(out)?;
    let mut b = ModelBuilder::new();
    let inputs = add_inputs(&mut b)?;
    let output = b.activation("output", out);
    b.op(code, &inputs, &[output], options)?;
    b.add_output(output)?;
    Ok(b.build())
}

/// A CONV_2D model: input `[N, H, W, C]`, filter `[O, KH, KW, C]` (OHWI) and, if `with_bias`, a
/// bias of `O` values. Weights are He-scaled from `seed`.
///
/// Without a bias the operator has two inputs, which the schema allows but the reference
/// runtime's CONV_2D kernel rejects ("has_bias was not true").
pub fn conv2d(
    input: [i32; 4],
    filter: [i32; 4],
    opts: Conv2DOptions,
    with_bias: bool,
    seed: u64,
) -> Result<Model> {
    let [n, h, w, c] = input;
    let [o, kh, kw, ci] = filter;
    if ci != c || o < 1 {
        return Err(invalid(format!(
            "conv2d: filter {filter:?} does not fit input {input:?}"
        )));
    }
    let oh = window_out(h, kh, opts.stride_h, opts.dilation_h, opts.padding)?;
    let ow = window_out(w, kw, opts.stride_w, opts.dilation_w, opts.padding)?;
    let mut rng = Weights::new(seed);
    single_op(
        builtin::CONV_2D,
        BuiltinOptions::Conv2D(opts),
        &[n, oh, ow, o],
        |b| {
            let x = b.input("input", &input);
            let count = element_count(&filter)?;
            let fan_in = element_count(&[kh, kw, c])?;
            let weights = b.const_f32("filter", &filter, &rng.he(count, fan_in, 2.0))?;
            let mut ins = vec![x, weights];
            if with_bias {
                ins.push(b.const_f32("bias", &[o], &rng.uniform(o as usize, 0.1))?);
            }
            Ok(ins)
        },
    )
}

/// A DEPTHWISE_CONV_2D model: input `[N, H, W, C]`, a `[1, KH, KW, C * depth_multiplier]`
/// filter and, if `with_bias`, a bias per output channel.
///
/// Without a bias the operator has two inputs; the reference runtime (ai-edge-litert) crashes
/// on such a DEPTHWISE_CONV_2D, so only give those models to runtimes that accept it.
pub fn depthwise_conv2d(
    input: [i32; 4],
    kernel: [i32; 2],
    opts: DepthwiseConv2DOptions,
    with_bias: bool,
    seed: u64,
) -> Result<Model> {
    let [n, h, w, c] = input;
    let [kh, kw] = kernel;
    let oc = c
        .checked_mul(opts.depth_multiplier)
        .filter(|&oc| oc > 0 && opts.depth_multiplier > 0)
        .ok_or_else(|| invalid("depthwise_conv2d: depth multiplier must be positive"))?;
    let oh = window_out(h, kh, opts.stride_h, opts.dilation_h, opts.padding)?;
    let ow = window_out(w, kw, opts.stride_w, opts.dilation_w, opts.padding)?;
    let mut rng = Weights::new(seed);
    single_op(
        builtin::DEPTHWISE_CONV_2D,
        BuiltinOptions::DepthwiseConv2D(opts),
        &[n, oh, ow, oc],
        |b| {
            let x = b.input("input", &input);
            let shape = [1, kh, kw, oc];
            let count = element_count(&shape)?;
            let weights = b.const_f32(
                "filter",
                &shape,
                &rng.he(count, element_count(&[kh, kw])?, 2.0),
            )?;
            let mut ins = vec![x, weights];
            if with_bias {
                ins.push(b.const_f32("bias", &[oc], &rng.uniform(oc as usize, 0.1))?);
            }
            Ok(ins)
        },
    )
}

/// A FULLY_CONNECTED model: `[units, in]` weights over the last dimension of `input`.
pub fn fully_connected(
    input: &[i32],
    units: i32,
    opts: FullyConnectedOptions,
    with_bias: bool,
    seed: u64,
) -> Result<Model> {
    let Some((&depth, rest)) = input.split_last() else {
        return Err(invalid("fully_connected: input must have rank 1 or more"));
    };
    if depth < 1 || units < 1 {
        return Err(invalid(
            "fully_connected: input depth and units must be positive",
        ));
    }
    let out = if opts.keep_num_dims {
        [rest, &[units]].concat()
    } else {
        let batch = i32::try_from(element_count(rest)?)
            .map_err(|_| invalid("fully_connected: batch too large"))?;
        vec![batch, units]
    };
    let mut rng = Weights::new(seed);
    single_op(
        builtin::FULLY_CONNECTED,
        BuiltinOptions::FullyConnected(opts),
        &out,
        |b| {
            let x = b.input("input", input);
            let shape = [units, depth];
            let count = element_count(&shape)?;
            let weights = b.const_f32("weights", &shape, &rng.he(count, depth as usize, 2.0))?;
            let mut ins = vec![x, weights];
            if with_bias {
                ins.push(b.const_f32("bias", &[units], &rng.uniform(units as usize, 0.1))?);
            }
            Ok(ins)
        },
    )
}

/// The options table the converter writes for a builtin op without further parameters.
fn plain_options(code: i32, activation: Activation) -> BuiltinOptions {
    match code {
        builtin::ADD => BuiltinOptions::Add {
            activation,
            pot_scale_int16: true,
        },
        builtin::SUB => BuiltinOptions::Sub {
            activation,
            pot_scale_int16: true,
        },
        builtin::MUL => BuiltinOptions::Mul { activation },
        builtin::DIV => BuiltinOptions::Div { activation },
        builtin::MAXIMUM | builtin::MINIMUM => BuiltinOptions::MaximumMinimum,
        builtin::SQUARED_DIFFERENCE => BuiltinOptions::SquaredDifference,
        builtin::HARD_SWISH => BuiltinOptions::HardSwish,
        builtin::EXP => BuiltinOptions::Exp,
        builtin::ABS => BuiltinOptions::Abs,
        _ => BuiltinOptions::None,
    }
}

/// An elementwise binary model (ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE, ...)
/// with two graph inputs of shapes `a` and `b`, broadcast numpy-style.
pub fn binary(code: i32, a: &[i32], b: &[i32], activation: Activation) -> Result<Model> {
    let out = broadcast(a, b)?;
    single_op(code, plain_options(code, activation), &out, |m| {
        Ok(vec![m.input("a", a), m.input("b", b)])
    })
}

/// An ADD model with broadcasting.
pub fn add(a: &[i32], b: &[i32]) -> Result<Model> {
    binary(builtin::ADD, a, b, Activation::None)
}

/// A MUL model with broadcasting.
pub fn mul(a: &[i32], b: &[i32]) -> Result<Model> {
    binary(builtin::MUL, a, b, Activation::None)
}

/// A SUB model with broadcasting.
pub fn sub(a: &[i32], b: &[i32]) -> Result<Model> {
    binary(builtin::SUB, a, b, Activation::None)
}

/// A DIV model with broadcasting.
pub fn div(a: &[i32], b: &[i32]) -> Result<Model> {
    binary(builtin::DIV, a, b, Activation::None)
}

/// An elementwise unary model (RELU, RELU6, LOGISTIC, TANH, HARD_SWISH, EXP, ABS, ...).
pub fn unary(code: i32, shape: &[i32]) -> Result<Model> {
    single_op(code, plain_options(code, Activation::None), shape, |b| {
        Ok(vec![b.input("input", shape)])
    })
}

/// A LEAKY_RELU model.
pub fn leaky_relu(shape: &[i32], alpha: f32) -> Result<Model> {
    single_op(
        builtin::LEAKY_RELU,
        BuiltinOptions::LeakyRelu { alpha },
        shape,
        |b| Ok(vec![b.input("input", shape)]),
    )
}

/// A MAX_POOL_2D or AVERAGE_POOL_2D model over an `[N, H, W, C]` input.
pub fn pool(code: i32, input: [i32; 4], opts: Pool2DOptions) -> Result<Model> {
    if code != builtin::MAX_POOL_2D && code != builtin::AVERAGE_POOL_2D {
        return Err(invalid(format!("pool: code {code} is not a 2-D pool")));
    }
    let [n, h, w, c] = input;
    let oh = window_out(h, opts.filter_h, opts.stride_h, 1, opts.padding)?;
    let ow = window_out(w, opts.filter_w, opts.stride_w, 1, opts.padding)?;
    single_op(code, BuiltinOptions::Pool2D(opts), &[n, oh, ow, c], |b| {
        Ok(vec![b.input("input", &input)])
    })
}

/// A SOFTMAX model (over the last dimension).
pub fn softmax(shape: &[i32], beta: f32) -> Result<Model> {
    single_op(
        builtin::SOFTMAX,
        BuiltinOptions::Softmax { beta },
        shape,
        |b| Ok(vec![b.input("input", shape)]),
    )
}

/// A CONCATENATION model of graph inputs with the given shapes along `axis`.
pub fn concat(shapes: &[Vec<i32>], axis: i32) -> Result<Model> {
    let first = shapes
        .first()
        .ok_or_else(|| invalid("concat: needs at least one input"))?;
    let a = axis_index(axis, first.len())?;
    let mut out = first.clone();
    out[a] = 0;
    for s in shapes {
        let same = s.len() == first.len()
            && s.iter()
                .zip(first)
                .enumerate()
                .all(|(i, (x, y))| i == a || x == y);
        if !same {
            return Err(invalid(format!(
                "concat: shape {s:?} does not fit {first:?}"
            )));
        }
        out[a] = out[a]
            .checked_add(s[a])
            .ok_or_else(|| invalid("concat: axis extent overflows"))?;
    }
    let options = BuiltinOptions::Concatenation {
        axis,
        activation: Activation::None,
    };
    single_op(builtin::CONCATENATION, options, &out, |b| {
        Ok(shapes
            .iter()
            .enumerate()
            .map(|(i, s)| b.input(&format!("input{i}"), s))
            .collect())
    })
}

/// A RESHAPE model; `new_shape` may hold one `-1`. The shape is given both as the int32
/// second input and in the options.
pub fn reshape(input: &[i32], new_shape: &[i32]) -> Result<Model> {
    let n = element_count(input)?;
    let known = new_shape
        .iter()
        .filter(|&&d| d != -1)
        .copied()
        .collect::<Vec<_>>();
    let k = element_count(&known)?;
    let out = match new_shape.len() - known.len() {
        0 if k == n => new_shape.to_vec(),
        1 if k > 0 && n % k == 0 => {
            let fill = i32::try_from(n / k).map_err(|_| invalid("reshape: too large"))?;
            new_shape
                .iter()
                .map(|&d| if d == -1 { fill } else { d })
                .collect()
        }
        _ => {
            return Err(invalid(format!(
                "reshape: {input:?} cannot be reshaped to {new_shape:?}"
            )))
        }
    };
    let options = BuiltinOptions::Reshape {
        new_shape: Some(new_shape.to_vec()),
    };
    single_op(builtin::RESHAPE, options, &out, |b| {
        let x = b.input("input", input);
        let len = new_shape.len() as i32;
        Ok(vec![x, b.const_i32("shape", &[len], new_shape)?])
    })
}

/// A PAD model with `[before, after]` zero padding per dimension.
pub fn pad(input: &[i32], paddings: &[[i32; 2]]) -> Result<Model> {
    if paddings.len() != input.len() {
        return Err(invalid(
            "pad: one [before, after] pair per dimension is needed",
        ));
    }
    let out = input
        .iter()
        .zip(paddings)
        .map(|(&d, &[p, q])| {
            (p >= 0 && q >= 0)
                .then(|| d.checked_add(p)?.checked_add(q))
                .flatten()
                .ok_or_else(|| invalid(format!("pad: invalid padding [{p}, {q}]")))
        })
        .collect::<Result<Vec<_>>>()?;
    single_op(builtin::PAD, BuiltinOptions::Pad, &out, |b| {
        let x = b.input("input", input);
        let flat = paddings.iter().flatten().copied().collect::<Vec<_>>();
        Ok(vec![
            x,
            b.const_i32("paddings", &[input.len() as i32, 2], &flat)?,
        ])
    })
}

/// A MEAN model over `axes`.
pub fn mean(input: &[i32], axes: &[i32], keep_dims: bool) -> Result<Model> {
    element_count(input)?;
    let mut reduced = vec![false; input.len()];
    for &a in axes {
        reduced[axis_index(a, input.len())?] = true;
    }
    let out = input
        .iter()
        .zip(&reduced)
        .filter_map(|(&d, &r)| match (r, keep_dims) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect::<Vec<_>>();
    single_op(
        builtin::MEAN,
        BuiltinOptions::Reducer { keep_dims },
        &out,
        |b| {
            let x = b.input("input", input);
            Ok(vec![x, b.const_i32("axes", &[axes.len() as i32], axes)?])
        },
    )
}

/// A RESIZE_BILINEAR model of an `[N, H, W, C]` input to `size = [height, width]`.
pub fn resize_bilinear(input: [i32; 4], size: [i32; 2], opts: ResizeOptions) -> Result<Model> {
    let [n, _, _, c] = input;
    if size[0] < 1 || size[1] < 1 {
        return Err(invalid(format!("resize_bilinear: invalid size {size:?}")));
    }
    single_op(
        builtin::RESIZE_BILINEAR,
        BuiltinOptions::ResizeBilinear(opts),
        &[n, size[0], size[1], c],
        |b| {
            let x = b.input("input", &input);
            Ok(vec![x, b.const_i32("size", &[2], &size)?])
        },
    )
}

/// A STRIDED_SLICE model. The ellipsis and new-axis masks and `offset` are not supported.
pub fn strided_slice(
    input: &[i32],
    begin: &[i32],
    end: &[i32],
    strides: &[i32],
    opts: StridedSliceOptions,
) -> Result<Model> {
    element_count(input)?;
    let rank = input.len();
    if begin.len() != rank || end.len() != rank || strides.len() != rank {
        return Err(invalid(
            "strided_slice: begin, end and strides need one value per dimension",
        ));
    }
    if opts.ellipsis_mask != 0 || opts.new_axis_mask != 0 || opts.offset {
        return Err(invalid(
            "strided_slice: ellipsis, new-axis masks and offset are not supported",
        ));
    }
    let mut out = Vec::new();
    for i in 0..rank {
        let (dim, s) = (input[i] as i64, strides[i] as i64);
        if s == 0 {
            return Err(invalid("strided_slice: stride 0"));
        }
        let bit = |mask: i32| i < 32 && (mask >> i) & 1 == 1;
        let (lo, hi) = if s > 0 { (0, dim) } else { (-1, dim - 1) };
        let norm = |x: i64| (if x < 0 { x + dim } else { x }).clamp(lo, hi);
        let b = if bit(opts.begin_mask) {
            if s > 0 {
                lo
            } else {
                hi
            }
        } else {
            norm(begin[i] as i64)
        };
        if bit(opts.shrink_axis_mask) {
            if !(0..dim).contains(&b) {
                return Err(invalid(format!(
                    "strided_slice: shrunk index {b} out of range"
                )));
            }
            continue;
        }
        let e = if bit(opts.end_mask) {
            if s > 0 {
                hi
            } else {
                lo
            }
        } else {
            norm(end[i] as i64)
        };
        let len = if s > 0 {
            (e - b + s - 1) / s
        } else {
            (b - e - s - 1) / -s
        };
        out.push(len.max(0) as i32);
    }
    single_op(
        builtin::STRIDED_SLICE,
        BuiltinOptions::StridedSlice(opts),
        &out,
        |b| {
            let x = b.input("input", input);
            let r = [rank as i32];
            Ok(vec![
                x,
                b.const_i32("begin", &r, begin)?,
                b.const_i32("end", &r, end)?,
                b.const_i32("strides", &r, strides)?,
            ])
        },
    )
}

/// A TRANSPOSE model with permutation `perm`.
pub fn transpose(input: &[i32], perm: &[i32]) -> Result<Model> {
    let mut seen = vec![false; input.len()];
    let mut out = Vec::with_capacity(input.len());
    for &p in perm {
        let a = usize::try_from(p)
            .ok()
            .filter(|&a| a < input.len() && !seen[a]);
        let a = a.ok_or_else(|| invalid(format!("transpose: {perm:?} is not a permutation")))?;
        seen[a] = true;
        out.push(input[a]);
    }
    if perm.len() != input.len() {
        return Err(invalid(format!("transpose: {perm:?} is not a permutation")));
    }
    single_op(builtin::TRANSPOSE, BuiltinOptions::Transpose, &out, |b| {
        let x = b.input("input", input);
        Ok(vec![x, b.const_i32("perm", &[perm.len() as i32], perm)?])
    })
}

/// A PRELU model: graph input of shape `input` and a constant `alpha` of shape `alpha_shape`
/// (broadcast against the input, usually `[1, 1, C]` or `[C]`), with slopes from `seed` in
/// `[0, 0.5)`.
pub fn prelu(input: &[i32], alpha_shape: &[i32], seed: u64) -> Result<Model> {
    let out = broadcast(input, alpha_shape)?;
    if out != input {
        return Err(invalid(format!(
            "prelu: alpha {alpha_shape:?} would change the shape of input {input:?}"
        )));
    }
    let count = element_count(alpha_shape)?;
    let mut rng = Weights::new(seed);
    let alpha: Vec<f32> = (0..count).map(|_| rng.rng.random::<f32>() * 0.5).collect();
    single_op(builtin::PRELU, BuiltinOptions::None, &out, |b| {
        let x = b.input("input", input);
        Ok(vec![x, b.const_f32("alpha", alpha_shape, &alpha)?])
    })
}

/// A RESIZE_NEAREST_NEIGHBOR model of an `[N, H, W, C]` input to `size = [height, width]`.
pub fn resize_nearest_neighbor(
    input: [i32; 4],
    size: [i32; 2],
    opts: ResizeOptions,
) -> Result<Model> {
    let [n, _, _, c] = input;
    if size[0] < 1 || size[1] < 1 {
        return Err(invalid(format!(
            "resize_nearest_neighbor: invalid size {size:?}"
        )));
    }
    single_op(
        builtin::RESIZE_NEAREST_NEIGHBOR,
        BuiltinOptions::ResizeNearestNeighbor(opts),
        &[n, size[0], size[1], c],
        |b| {
            let x = b.input("input", &input);
            Ok(vec![x, b.const_i32("size", &[2], &size)?])
        },
    )
}

/// A SLICE model: `size[i] == -1` takes everything from `begin[i]` to the end.
pub fn slice(input: &[i32], begin: &[i32], size: &[i32]) -> Result<Model> {
    element_count(input)?;
    if begin.len() != input.len() || size.len() != input.len() {
        return Err(invalid(
            "slice: begin and size need one value per dimension",
        ));
    }
    let out = input
        .iter()
        .zip(begin.iter().zip(size))
        .map(|(&d, (&b, &s))| {
            let len = if s == -1 { d - b } else { s };
            (b >= 0 && len >= 0 && b + len <= d)
                .then_some(len)
                .ok_or_else(|| invalid(format!("slice: begin {b} size {s} out of range {d}")))
        })
        .collect::<Result<Vec<_>>>()?;
    single_op(builtin::SLICE, BuiltinOptions::Slice, &out, |b| {
        let x = b.input("input", input);
        let r = [input.len() as i32];
        Ok(vec![
            x,
            b.const_i32("begin", &r, begin)?,
            b.const_i32("size", &r, size)?,
        ])
    })
}

/// A DEPTH_TO_SPACE model: `[N, H, W, C]` to `[N, H * bs, W * bs, C / bs^2]`.
pub fn depth_to_space(input: [i32; 4], block_size: i32) -> Result<Model> {
    let [n, h, w, c] = input;
    let bb = block_size.checked_mul(block_size).filter(|&v| v > 0);
    let Some(bb) = bb.filter(|&bb| block_size > 0 && c % bb == 0) else {
        return Err(invalid(format!(
            "depth_to_space: block size {block_size} does not divide channels {c}"
        )));
    };
    let out = [n, h * block_size, w * block_size, c / bb];
    single_op(
        builtin::DEPTH_TO_SPACE,
        BuiltinOptions::DepthToSpace { block_size },
        &out,
        |b| Ok(vec![b.input("input", &input)]),
    )
}

/// A TRANSPOSE_CONV model: input `[N, H, W, C]`, filter `[O, KH, KW, C]`; the output is
/// `[N, H * stride, W * stride, O]` for SAME padding, `(H - 1) * stride + KH` for VALID.
pub fn transpose_conv(
    input: [i32; 4],
    filter: [i32; 4],
    opts: TransposeConvOptions,
    with_bias: bool,
    seed: u64,
) -> Result<Model> {
    let [n, h, w, c] = input;
    let [o, kh, kw, ci] = filter;
    let positive = [h, w, c, o, kh, kw, opts.stride_h, opts.stride_w];
    if ci != c || n < 0 || positive.iter().any(|&d| d < 1) {
        return Err(invalid(format!(
            "transpose_conv: filter {filter:?} or strides do not fit input {input:?}"
        )));
    }
    let extent = |x: i32, k: i32, s: i32| match opts.padding {
        Padding::Same => x.checked_mul(s),
        Padding::Valid => (x - 1).checked_mul(s).and_then(|v| v.checked_add(k)),
    };
    let (oh, ow) = extent(h, kh, opts.stride_h)
        .zip(extent(w, kw, opts.stride_w))
        .ok_or_else(|| invalid("transpose_conv: output too large"))?;
    let out = [n, oh, ow, o];
    let mut rng = Weights::new(seed);
    single_op(
        builtin::TRANSPOSE_CONV,
        BuiltinOptions::TransposeConv(opts),
        &out,
        |b| {
            let shape = b.const_i32("output_shape", &[4], &out)?;
            let count = element_count(&filter)?;
            // Each output sums about KH*KW*C/stride^2 products.
            let strides = element_count(&[opts.stride_h, opts.stride_w])?;
            let fan_in = (element_count(&[kh, kw, c])? / strides.max(1)).max(1);
            let weights = b.const_f32("filter", &filter, &rng.he(count, fan_in, 2.0))?;
            let x = b.input("input", &input);
            let mut ins = vec![shape, weights, x];
            if with_bias {
                ins.push(b.const_f32("bias", &[o], &rng.uniform(o as usize, 0.1))?);
            }
            Ok(ins)
        },
    )
}

/// Layer-by-layer state while building MobileNetV2: the current tensor, its shape and the
/// expected second moment `E[x^2]` of its values (for the analytic weight scaling).
struct Net {
    b: ModelBuilder,
    rng: Weights,
    x: i32,
    shape: [i32; 4],
    moment: f32,
}

/// The convolutions of MobileNetV2.
#[derive(Clone, Copy)]
enum Layer {
    /// A regular `k x k` convolution to `out_c` channels.
    Conv { out_c: i32, k: i32 },
    /// A 3x3 depthwise convolution with depth multiplier 1.
    Depthwise3x3,
}

/// Standard deviation of the folded BatchNorm biases.
const BIAS_STD: f32 = 0.05;

impl Net {
    fn const_f32(&mut self, name: &str, shape: &[i32], data: Vec<f32>) -> i32 {
        let bytes = le_bytes_f32(&data);
        self.b
            .push_tensor(name, TensorType::Float32, shape, Some(bytes))
    }

    /// A convolution (1x1 / 3x3 regular or 3x3 depthwise) with bias, SAME padding.
    ///
    /// Weights are scaled so the pre-activation has variance `gain` given the input moment:
    /// `Var = fan_in * Var(w) * E[x^2]`. A ReLU6 halves the second moment of a zero-centred
    /// pre-activation, so `gain = 2` keeps `E[x^2] = 1` through conv + ReLU6.
    fn conv(&mut self, name: &str, kind: Layer, stride: i32, relu6: bool, gain: f32) {
        let [n, h, w, c] = self.shape;
        let (oh, ow) = ((h - 1) / stride + 1, (w - 1) / stride + 1);
        let (depthwise, out_c, filter_shape, fan_in) = match kind {
            Layer::Depthwise3x3 => (true, c, [1, 3, 3, c], 9),
            Layer::Conv { out_c, k } => (false, out_c, [out_c, k, k, c], (k * k * c) as usize),
        };
        let count = filter_shape.iter().map(|&d| d as usize).product();
        let std = (gain / (fan_in as f32 * self.moment)).sqrt();
        let weights = self.rng.uniform(count, std);
        let bias = self.rng.uniform(out_c as usize, BIAS_STD);
        let filter = self.const_f32(&format!("{name}/weights"), &filter_shape, weights);
        let bias = self.const_f32(&format!("{name}/bias"), &[out_c], bias);
        let shape = [n, oh, ow, out_c];
        let y = self.b.activation(name, &shape);
        let activation = if relu6 {
            Activation::Relu6
        } else {
            Activation::None
        };
        let (code, options) = if depthwise {
            let o = DepthwiseConv2DOptions {
                padding: Padding::Same,
                stride_w: stride,
                stride_h: stride,
                depth_multiplier: 1,
                activation,
                dilation_w: 1,
                dilation_h: 1,
            };
            (
                builtin::DEPTHWISE_CONV_2D,
                BuiltinOptions::DepthwiseConv2D(o),
            )
        } else {
            let o = Conv2DOptions {
                padding: Padding::Same,
                stride_w: stride,
                stride_h: stride,
                activation,
                dilation_w: 1,
                dilation_h: 1,
            };
            (builtin::CONV_2D, BuiltinOptions::Conv2D(o))
        };
        self.b
            .push_op(code, None, &[self.x, filter, bias], &[y], options, None);
        let pre = gain + BIAS_STD * BIAS_STD;
        self.moment = if relu6 { pre / 2.0 } else { pre };
        self.x = y;
        self.shape = shape;
    }

    /// An inverted residual block: 1x1 expand + ReLU6 (unless `expansion == 1`), 3x3 depthwise
    /// + ReLU6, linear 1x1 projection, and a residual ADD when the shapes allow it.
    fn inverted_residual(&mut self, name: &str, expansion: i32, out_c: i32, stride: i32) {
        let (input, input_shape, input_moment) = (self.x, self.shape, self.moment);
        let residual = stride == 1 && input_shape[3] == out_c;
        if expansion != 1 {
            let expanded = Layer::Conv {
                out_c: input_shape[3] * expansion,
                k: 1,
            };
            self.conv(&format!("{name}/expand"), expanded, 1, true, 2.0);
        }
        self.conv(
            &format!("{name}/depthwise"),
            Layer::Depthwise3x3,
            stride,
            true,
            2.0,
        );
        // The residual branch is kept at half the variance so the sum grows slowly; the next
        // layer's scaling divides by the grown moment again.
        let gain = if residual { 0.5 } else { 1.0 };
        let project = Layer::Conv { out_c, k: 1 };
        self.conv(&format!("{name}/project"), project, 1, false, gain);
        if residual {
            let y = self.b.activation(&format!("{name}/add"), &self.shape);
            let options = BuiltinOptions::Add {
                activation: Activation::None,
                pot_scale_int16: true,
            };
            self.b
                .push_op(builtin::ADD, None, &[input, self.x], &[y], options, None);
            self.x = y;
            self.moment += input_moment;
        }
    }
}

/// MobileNetV2 1.0 for 224x224 RGB input (`[1, 224, 224, 3]` float32, values in `[0, 1)`),
/// with deterministic weights from `seed`. The output `[1, 1000]` float32 holds
/// **probabilities** (a SOFTMAX follows the logits).
///
/// The standard layer sequence: 3x3 stride-2 CONV_2D to 32 channels + ReLU6; 17 inverted
/// residual blocks (expansion 1 for the first, 6 for the others; channels 16, 24, 32, 64, 96,
/// 160, 320 repeated 1, 2, 3, 4, 3, 3, 1 times; first strides 1, 2, 2, 2, 1, 2, 1) with a
/// residual ADD where stride is 1 and channels match; 1x1 CONV_2D to 1280 + ReLU6; MEAN over
/// height and width; FULLY_CONNECTED to 1000; SOFTMAX. Every convolution has a bias (BatchNorm
/// folded in), SAME padding; about 3.5 M parameters.
///
/// Weights are uniform with an analytically chosen scale: each layer's weights are divided by
/// the expected second moment of its input, so activations stay of order one through the
/// network and the logits have a standard deviation of about 2.
pub fn mobilenet_v2(seed: u64) -> Model {
    let mut b = ModelBuilder::new();
    b.description("MobileNetV2 1.0 224 (halfgpu ModelBuilder, synthetic weights)");
    let shape = [1, 224, 224, 3];
    let x = b.input("input", &shape);
    let mut net = Net {
        b,
        rng: Weights::new(seed),
        x,
        shape,
        // E[x^2] of inputs uniform in [0, 1).
        moment: 1.0 / 3.0,
    };
    net.conv("conv1", Layer::Conv { out_c: 32, k: 3 }, 2, true, 2.0);
    let stages: [(i32, i32, i32, i32); 7] = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ];
    let mut block = 0;
    for (t, c, n, s) in stages {
        for i in 0..n {
            let stride = if i == 0 { s } else { 1 };
            net.inverted_residual(&format!("block{block}"), t, c, stride);
            block += 1;
        }
    }
    net.conv("conv_last", Layer::Conv { out_c: 1280, k: 1 }, 1, true, 2.0);

    let [n, _, _, c] = net.shape;
    let axes = net.b.push_tensor(
        "pool/axes",
        TensorType::Int32,
        &[2],
        Some(le_bytes_i32(&[1, 2])),
    );
    let pooled = net.b.activation("pool", &[n, c]);
    let reducer = BuiltinOptions::Reducer { keep_dims: false };
    net.b.push_op(
        builtin::MEAN,
        None,
        &[net.x, axes],
        &[pooled],
        reducer,
        None,
    );

    // The spatial mean averages most of the variation of the ReLU6 outputs away; its second
    // moment measured about 0.1 in the reference runtime (seeds 7 and 8).
    let pooled_moment = 0.1;
    let classes = 1000;
    let std = (4.0 / (c as f32 * pooled_moment)).sqrt();
    let weights = net.rng.uniform((classes * c) as usize, std);
    let bias = net.rng.uniform(classes as usize, BIAS_STD);
    let weights = net.const_f32("logits/weights", &[classes, c], weights);
    let bias = net.const_f32("logits/bias", &[classes], bias);
    let logits = net.b.activation("logits", &[n, classes]);
    let fc = BuiltinOptions::FullyConnected(FullyConnectedOptions {
        activation: Activation::None,
        weights_format: 0,
        keep_num_dims: false,
        asymmetric_quantize_inputs: false,
    });
    net.b.push_op(
        builtin::FULLY_CONNECTED,
        None,
        &[pooled, weights, bias],
        &[logits],
        fc,
        None,
    );
    let probs = net.b.activation("probabilities", &[n, classes]);
    let sm = BuiltinOptions::Softmax { beta: 1.0 };
    net.b
        .push_op(builtin::SOFTMAX, None, &[logits], &[probs], sm, None);
    net.b.outputs.push(probs);
    net.b.build()
}
