//! The Interpreter's boundary: clear errors for wrong lengths, dtypes, names and shapes; inputs
//! with a dynamic dimension can be resized and shapes propagate; missing ops fail at build time
//! with one error listing them all; quantized models are refused.

use halfgpu::model::schema::builtin;
use halfgpu::model::{builder, BuiltinOptions, ModelBuilder, TensorType};
use halfgpu::runtime::{Interpreter, RuntimeError};

fn relu_model() -> halfgpu::model::Model {
    builder::unary(builtin::RELU, &[1, 4, 4, 3]).unwrap()
}

#[test]
fn wrong_length_dtype_and_name_are_clear_errors() {
    let mut it = Interpreter::builder(&relu_model()).build().unwrap();
    let (name, _, _) = it.input_info(0).unwrap();
    let name = name.to_string();
    let e = it.set_input::<f32>(0, &[1.0; 5]).unwrap_err().to_string();
    assert!(
        e.contains(&name) && e.contains("48") && e.contains('5'),
        "{e}"
    );
    let e = it.set_input::<i32>(0, &[1; 48]).unwrap_err().to_string();
    assert!(e.contains("float32") && e.contains("int32"), "{e}");
    let e = it
        .set_input_by_name::<f32>("nope", &[0.0; 48])
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope") && e.contains(&name), "{e}");
    let e = it.output::<f32>(3).unwrap_err().to_string();
    assert!(e.contains("index 3"), "{e}");
}

#[test]
fn nan_and_inf_propagate_without_errors() {
    let mut it = Interpreter::builder(&relu_model()).build().unwrap();
    let mut x = vec![1.0f32; 48];
    x[0] = f32::NAN;
    x[1] = f32::INFINITY;
    x[2] = f32::NEG_INFINITY;
    it.set_input(0, &x).unwrap();
    it.invoke().unwrap();
    let y = it.output::<f32>(0).unwrap();
    assert!(y[0].is_nan(), "relu(NaN) = {} (TFLite keeps NaN)", y[0]);
    assert_eq!(y[1], f32::INFINITY);
    assert_eq!(y[2], 0.0);
}

#[test]
fn a_dynamic_batch_can_be_resized_and_shapes_propagate() {
    let mut model = builder::add(&[1, 4, 4, 3], &[3]).unwrap();
    let sg = &mut model.subgraphs[0];
    let input = sg.inputs[0] as usize;
    sg.tensors[input].shape_signature = Some(vec![-1, 4, 4, 3]);
    let mut it = Interpreter::builder(&model).build().unwrap();
    let e = it.resize_input(0, &[2, 5, 4, 3]).unwrap_err().to_string();
    assert!(e.contains("signature"), "{e}");
    it.resize_input(0, &[3, 4, 4, 3]).unwrap();
    let x: Vec<f32> = (0..144).map(|i| i as f32 * 0.5).collect();
    it.set_input(0, &x).unwrap();
    it.invoke().unwrap();
    let (_, shape, _) = it.output_info(0).unwrap();
    assert_eq!(shape, &[3, 4, 4, 3]);
    // The same model at batch 1 gives the per-sample answer for each sample.
    let mut one = Interpreter::builder(&model).build().unwrap();
    let y = it.output::<f32>(0).unwrap().to_vec();
    for b in 0..3 {
        one.set_input(0, &x[b * 48..(b + 1) * 48]).unwrap();
        one.invoke().unwrap();
        assert_eq!(one.output::<f32>(0).unwrap(), &y[b * 48..(b + 1) * 48]);
    }
}

#[test]
fn every_missing_op_is_listed_at_build_time() {
    let mut b = ModelBuilder::new();
    let x = b.input("x", &[1, 8]);
    let a = b.activation("a", &[1, 8]);
    let c = b.activation("c", &[1, 8]);
    let d = b.activation("d", &[1, 8]);
    b.custom_op("MyFancyOp", &[x], &[a], vec![]).unwrap();
    b.op(builtin::RELU, &[a], &[c], BuiltinOptions::None)
        .unwrap();
    b.custom_op("MyFancyOp", &[c], &[d], vec![]).unwrap();
    b.set_outputs(&[d]).unwrap();
    let err = Interpreter::builder(&b.build())
        .build()
        .err()
        .expect("must fail");
    let msg = err.to_string();
    assert!(
        matches!(err, RuntimeError::UnsupportedOps(ref m) if m.len() == 1 && m[0].nodes == vec![0, 2]),
        "{msg}"
    );
    assert!(
        msg.contains("MyFancyOp x2") && msg.contains("0, 2"),
        "{msg}"
    );
}

#[test]
fn int8_quantized_models_are_refused_clearly() {
    let mut model = relu_model();
    let sg = &mut model.subgraphs[0];
    for t in &mut sg.tensors {
        t.dtype = TensorType::Int8;
        t.quantization = Some(halfgpu::model::Quantization {
            scale: vec![0.1],
            zero_point: vec![0],
            ..Default::default()
        });
    }
    let msg = Interpreter::builder(&model)
        .build()
        .err()
        .expect("must fail")
        .to_string();
    assert!(
        msg.contains("quantized") && msg.contains("not supported"),
        "{msg}"
    );
}
