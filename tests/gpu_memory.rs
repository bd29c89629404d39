//! What the GPU delegate uploads: FLOAT16 weights go up as raw f16 bytes (never widened in the
//! f16 modes), f32 weights are narrowed once, and weight memory in F16 is half of F32.

mod common;

use halfgpu::gpu::{GpuDelegate, Precision};
use halfgpu::model::{builder::mobilenet_v2, read_model_file, TensorType};
use halfgpu::runtime::Interpreter;

fn build(model: &halfgpu::model::Model, gpu: GpuDelegate) -> halfgpu::gpu::MemoryReport {
    let memory = gpu.memory_handle();
    let it = Interpreter::builder(model).delegate(gpu).build().unwrap();
    assert_eq!(
        it.delegation_report().cpu_nodes.len(),
        0,
        "{}",
        it.delegation_report().to_text()
    );
    let m = memory.lock().unwrap().clone();
    m
}

#[test]
fn f16_weights_are_half_of_f32_on_a_float32_model() {
    let model = mobilenet_v2(7);
    let Some(f32_gpu) = common::gpu_delegate(Precision::F32) else {
        return;
    };
    let f32_mem = build(&model, f32_gpu);
    for p in [Precision::F16, Precision::F32F16] {
        let Some(gpu) = common::gpu_delegate(p) else {
            return;
        };
        let m = build(&model, gpu);
        let ratio = m.weight_bytes as f64 / f32_mem.weight_bytes as f64;
        eprintln!(
            "{p}: weights {} bytes vs F32 {} bytes: ratio {ratio:.4}",
            m.weight_bytes, f32_mem.weight_bytes
        );
        assert!((0.495..=0.505).contains(&ratio), "{p}: ratio {ratio}");
        assert_eq!(m.f32_constants_uploaded, 0);
        assert!(m.f32_constants_narrowed > 0);
    }
    assert_eq!(f32_mem.f16_constants_widened, 0);
}

#[test]
fn float16_weights_are_never_widened_in_the_f16_modes() {
    let Some(assets) = common::assets() else {
        return;
    };
    for name in common::model_names(&assets) {
        let model = read_model_file(assets.join("models").join(format!("{name}.tflite"))).unwrap();
        let f16_consts = model.subgraphs[0]
            .tensors
            .iter()
            .filter(|t| {
                t.dtype == TensorType::Float16 && !model.buffers[t.buffer as usize].data.is_empty()
            })
            .count();
        if f16_consts == 0 {
            continue;
        }
        for p in [Precision::F16, Precision::F32F16] {
            let Some(gpu) = common::gpu_delegate(p) else {
                return;
            };
            let m = build(&model, gpu);
            eprintln!("{name} {p}: {m:?}");
            assert_eq!(m.f16_constants_widened, 0, "{name} {p}");
            assert!(
                m.f16_constants_uploaded_raw > 0,
                "{name} {p}: no f16 weight uploaded raw"
            );
            assert_eq!(
                m.f32_constants_uploaded, 0,
                "{name} {p}: an f32 weight went up as f32"
            );
        }
    }
}
