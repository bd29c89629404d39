//! No allocation justified only by a hostile shape: an interpreter whose plan would need more
//! host memory than `max_arena_bytes` fails to build with a clear error, quickly, and without
//! allocating it.

use std::time::{Duration, Instant};

use halfgpu::model::schema::builtin;
use halfgpu::model::{BuiltinOptions, Model, ModelBuilder};
use halfgpu::runtime::{Interpreter, RuntimeError, DEFAULT_MAX_ARENA_BYTES};

/// One input of `elements` f32 values and `outputs` RELUs of it, every one a graph output, so
/// every tensor lives through the whole invoke and none can share arena bytes.
fn many_live_outputs(elements: i32, outputs: usize) -> Model {
    let mut b = ModelBuilder::new();
    let shape = [elements];
    let x = b.input("x", &shape);
    let mut outs = Vec::new();
    for i in 0..outputs {
        let y = b.activation(&format!("y{i}"), &shape);
        b.op(builtin::RELU, &[x], &[y], BuiltinOptions::None)
            .unwrap();
        outs.push(y);
    }
    b.set_inputs(&[x]).unwrap();
    b.set_outputs(&outs).unwrap();
    b.build()
}

fn too_large(result: Result<Interpreter, RuntimeError>) -> (String, usize, usize) {
    match result {
        Err(RuntimeError::TooLarge {
            what,
            needed,
            limit,
        }) => (what, needed, limit),
        Err(e) => panic!("expected TooLarge, got {e}"),
        Ok(_) => panic!("expected TooLarge, the interpreter was built"),
    }
}

#[test]
fn tensors_each_under_the_element_limit_but_terabytes_together_are_refused() {
    // 2^30 f32 elements (4 GiB) each, 1000 of them alive together: about 4 TiB.
    let model = many_live_outputs(1 << 30, 1000);
    let start = Instant::now();
    let (what, needed, limit) = too_large(Interpreter::builder(&model).build());
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(limit, DEFAULT_MAX_ARENA_BYTES);
    assert!(needed > 1000 * (4 << 30), "{needed}");
    assert!(what.contains("activation arena"), "{what}");
    let msg = Interpreter::builder(&model)
        .build()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains("max_arena_bytes"), "{msg}");
}

#[test]
fn one_tensor_over_a_lowered_limit_is_named() {
    let model = many_live_outputs(1 << 20, 1);
    let (what, needed, limit) = too_large(
        Interpreter::builder(&model)
            .max_arena_bytes(1 << 20)
            .build(),
    );
    assert_eq!((needed, limit), (4 << 20, 1 << 20));
    assert!(what.contains("\"x\"") || what.contains("\"y0\""), "{what}");
}

#[test]
fn the_limit_admits_what_fits() {
    let model = many_live_outputs(1 << 10, 4);
    let mut it = Interpreter::builder(&model)
        .max_arena_bytes(5 * 4096)
        .build()
        .unwrap();
    assert!(it.memory().arena_bytes <= 5 * 4096);
    it.set_input(0, &vec![-1.0f32; 1 << 10]).unwrap();
    it.invoke().unwrap();
    assert!(it.output::<f32>(3).unwrap().iter().all(|&v| v == 0.0));
}

#[test]
fn a_constant_fold_that_would_explode_is_refused_before_computing_it() {
    // [32768, 1] + [1, 32768] of constants broadcasts to 2^30 elements (4 GiB), folded at
    // build time: the limit applies before the fold's output is allocated.
    let mut b = ModelBuilder::new();
    let n = 1 << 15;
    let a = b.const_f32("a", &[n, 1], &vec![1.0; n as usize]).unwrap();
    let c = b.const_f32("c", &[1, n], &vec![2.0; n as usize]).unwrap();
    let sum = b.activation("sum", &[n, n]);
    b.op(
        builtin::ADD,
        &[a, c],
        &[sum],
        BuiltinOptions::Add {
            activation: halfgpu::model::Activation::None,
            pot_scale_int16: true,
        },
    )
    .unwrap();
    let x = b.input("x", &[1]);
    let y = b.activation("y", &[1]);
    b.op(builtin::RELU, &[x], &[y], BuiltinOptions::None)
        .unwrap();
    b.set_inputs(&[x]).unwrap();
    b.set_outputs(&[y, sum]).unwrap();
    let model = b.build();
    let (what, needed, limit) = too_large(
        Interpreter::builder(&model)
            .max_arena_bytes(256 << 20)
            .build(),
    );
    assert!(what.contains("folding node"), "{what}");
    assert_eq!((needed, limit), (4 << 30, 256 << 20));
}

#[test]
fn resizing_to_a_huge_shape_is_refused_not_allocated() {
    let mut b = ModelBuilder::new();
    let x = b.input("x", &[1, 4]);
    let y = b.activation("y", &[1, 4]);
    b.op(builtin::RELU, &[x], &[y], BuiltinOptions::None)
        .unwrap();
    b.set_inputs(&[x]).unwrap();
    b.set_outputs(&[y]).unwrap();
    let mut model = b.build();
    model.subgraphs[0].tensors[x as usize].shape_signature = Some(vec![-1, 4]);
    let mut it = Interpreter::builder(&model).build().unwrap();
    let e = it.resize_input(0, &[1 << 40, 4]).unwrap_err();
    assert!(matches!(e, RuntimeError::TooLarge { .. }), "{e}");
    // The interpreter still works at its old shape.
    it.set_input(0, &[1.0f32, -1.0, 2.0, -2.0]).unwrap();
    it.invoke().unwrap();
    assert_eq!(it.output::<f32>(0).unwrap(), &[1.0, 0.0, 2.0, 0.0]);
}

#[test]
fn a_transposed_convolution_whose_working_buffer_explodes_is_refused() {
    // Output 64x64x16 (256 KiB), but the column matrix is 4096 pixels x 16384 taps: 256 MiB.
    let opts = halfgpu::model::TransposeConvOptions {
        padding: halfgpu::model::Padding::Same,
        stride_w: 1,
        stride_h: 1,
        activation: halfgpu::model::Activation::None,
    };
    let model =
        halfgpu::model::builder::transpose_conv([1, 64, 64, 1], [16, 32, 32, 1], opts, true, 5)
            .unwrap();
    let (what, needed, limit) = too_large(
        Interpreter::builder(&model)
            .max_arena_bytes(64 << 20)
            .build(),
    );
    assert!(what.contains("working buffer"), "{what}");
    assert_eq!((needed, limit), (256 << 20, 64 << 20));
    assert!(Interpreter::builder(&model).build().is_ok());
}
