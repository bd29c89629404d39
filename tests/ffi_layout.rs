//! The `#[repr(C)]` layouts of `src/ffi/abi.rs` checked against the real runtime
//! (`libtensorflowlite_c.so` 2.17.1):
//!
//! - `TfLiteTensor`: every field read (type, data, dims, params, bytes, name) equals what the
//!   C API's accessors return for the same tensor.
//! - `TfLiteContext` (tensors_size, tensors, GetExecutionPlan, GetNodeAndRegistration),
//!   `TfLiteNode` (inputs, outputs, builtin_data, custom_initial_data), `TfLiteRegistration`
//!   (builtin_code, custom_name), every builtin params struct the models use, `TfLiteSparsity`:
//!   the delegate's translation of each real model equals halfgpu's own reading of the file
//!   (ops with their options, tensor indices, shapes, dtypes, names, constant bytes, and the
//!   densified values of sparse constants).
//! - `TfLiteDelegateParams`, `TfLiteRegistration` by value, `TfLiteDelegate`: exercised by the
//!   runtime calling the kernels, checked by the outputs in `ffi_c_api.rs`.

#[path = "ffi_common.rs"]
mod ffi_common;

use std::ffi::{c_char, CStr, CString};

use ffi_common::{assets, CApi, Run};
use halfgpu::ffi::abi::{TfLiteDelegate, TfLiteTensor};
use halfgpu::graph::Graph;
use halfgpu::model::read_model_file;

fn delegate() -> *mut TfLiteDelegate {
    let k = [CString::new("precision").unwrap()];
    let v = [CString::new("f32").unwrap()];
    let kp: Vec<*const c_char> = k.iter().map(|s| s.as_ptr()).collect();
    let vp: Vec<*const c_char> = v.iter().map(|s| s.as_ptr()).collect();
    // SAFETY: one valid key/value pair, no report callback.
    let d =
        unsafe { halfgpu::ffi::tflite_plugin_create_delegate(kp.as_ptr(), vp.as_ptr(), 1, None) };
    assert!(!d.is_null());
    d
}

/// Our view of a tensor against the C API's accessors.
fn check_tensor(api: &CApi, t: *const TfLiteTensor) {
    // SAFETY: t is a live tensor of a live interpreter; the abi struct is read in place.
    unsafe {
        let ours = &*t;
        assert_eq!(ours.dtype, (api.tensor_type)(t), "type");
        assert_eq!(ours.data, (api.tensor_data)(t), "data");
        assert_eq!(ours.bytes, (api.tensor_byte_size)(t), "bytes");
        assert_eq!(ours.name, (api.tensor_name)(t), "name");
        let q = (api.tensor_quantization_params)(t);
        assert_eq!(
            (ours.params.scale, ours.params.zero_point),
            (q.scale, q.zero_point),
            "params"
        );
        let dims = halfgpu::ffi::translate::tensor_shape(ours).expect("dims");
        let want: Vec<usize> = (0..(api.tensor_num_dims)(t))
            .map(|i| (api.tensor_dim)(t, i) as usize)
            .collect();
        assert_eq!(dims, want, "dims");
        assert!(!ours.name.is_null());
        eprintln!(
            "  tensor {:?}: type {}, dims {dims:?}, {} bytes: fields agree with the C API",
            CStr::from_ptr(ours.name),
            ours.dtype,
            ours.bytes
        );
    }
}

#[test]
fn struct_layouts_agree_with_the_runtime_on_every_real_model() {
    let Some(assets) = assets() else { return };
    ffi_common::xdg();
    let api = CApi::load(&assets);
    for name in ffi_common::model_names(&assets) {
        eprintln!("{name}");
        let path = assets.join("models").join(format!("{name}.tflite"));
        let graph = Graph::from_model(&read_model_file(&path).expect("model")).expect("graph");
        let d = delegate();
        {
            let run = Run::new(&api, &path, d);
            // SAFETY: C API calls on a live interpreter.
            unsafe {
                for i in 0..(api.input_count)(run.interpreter) {
                    check_tensor(&api, (api.input_tensor)(run.interpreter, i));
                }
                for i in 0..(api.output_count)(run.interpreter) {
                    check_tensor(&api, (api.output_tensor)(run.interpreter, i));
                }
            }
        }
        let snap = halfgpu::ffi::snapshot(d).expect("Prepare ran");
        // SAFETY: the interpreter is gone; destroyed once.
        unsafe { halfgpu::ffi::tflite_plugin_destroy_delegate(d) };

        // The runtime may append tensors of its own (temporaries) after the file's.
        assert!(
            snap.tensors.len() >= graph.tensors.len(),
            "{name}: tensors_size {} < {} tensors in the file",
            snap.tensors.len(),
            graph.tensors.len()
        );
        let mut constants = 0;
        for (i, (ours, file)) in snap.tensors.iter().zip(&graph.tensors).enumerate() {
            assert_eq!(ours.name, file.name, "{name}: tensor {i} name");
            assert_eq!(ours.shape, file.shape, "{name}: tensor {i} shape");
            assert_eq!(ours.dtype, file.dtype, "{name}: tensor {i} dtype");
            assert_eq!(
                ours.sparsity.is_some(),
                file.sparsity.is_some(),
                "{name}: tensor {i} sparsity"
            );
            if let (Some(s), Some(f)) = (&ours.sparsity, &file.sparsity) {
                assert_eq!(s.traversal_order, f.traversal_order, "{name}: tensor {i}");
                assert_eq!(s.block_map, f.block_map, "{name}: tensor {i}");
                assert_eq!(
                    s.dim_metadata.len(),
                    f.dim_metadata.len(),
                    "{name}: tensor {i}"
                );
            }
            if file.data.is_some() {
                assert_eq!(ours.data, file.data, "{name}: tensor {i} constant bytes");
                constants += 1;
            }
        }
        // Tensors that became constant in the translation: densified DENSIFY outputs, which
        // must equal densifying the file's sparse constant.
        for node in &graph.nodes {
            if node.op.name() == "DENSIFY" {
                let (src, out) = (node.input(0).unwrap(), node.outputs[0]);
                let s = &graph.tensors[src];
                let dense = halfgpu::cpu::densify(
                    s.sparsity.as_ref().unwrap(),
                    &graph.tensors[out].shape,
                    s.dtype.size_bytes().unwrap(),
                    s.data.as_ref().unwrap().bytes(),
                )
                .expect("densify");
                assert_eq!(
                    snap.tensors[out].data.as_ref().map(|d| d.bytes().to_vec()),
                    Some(dense),
                    "{name}: densified tensor {out}"
                );
            }
        }
        assert_eq!(snap.nodes.len(), graph.nodes.len(), "{name}: plan length");
        for (ours, file) in snap.nodes.iter().zip(&graph.nodes) {
            assert_eq!(ours.index, file.index, "{name}: plan order");
            assert_eq!(ours.op, file.op, "{name}: node {} op", file.index);
            assert_eq!(
                ours.inputs, file.inputs,
                "{name}: node {} inputs",
                file.index
            );
            assert_eq!(
                ours.outputs, file.outputs,
                "{name}: node {} outputs",
                file.index
            );
        }
        eprintln!(
            "  {} tensors ({constants} constants), {} nodes: translation equals the file's IR; {} claimed, {} folded",
            snap.tensors.len(),
            snap.nodes.len(),
            snap.claimed.len(),
            snap.folded.len()
        );
    }
}
