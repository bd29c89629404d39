//! `halfgpu run`: one inference, a summary of the outputs, optional .npz in and out.

use crate::backend::BackendArgs;

/// Runs `path` once and prints a summary of each output.
pub fn run_model(
    path: &std::path::Path,
    inputs: Option<&std::path::Path>,
    outputs: Option<&std::path::Path>,
    backend: &BackendArgs,
    json: bool,
) -> Result<String, Box<dyn std::error::Error>> {
    use std::fmt::Write;
    let threads = backend.threads;
    let mut text = String::new();
    let mut summaries = Vec::new();
    use halfgpu::model::TensorType;
    use halfgpu::npz::NpArray;
    use rand::{Rng, SeedableRng};
    let (mut it, gpu, load) = backend.load(path)?;
    let load_ms = load.total_ms;
    if let Some(g) = &gpu {
        let _ = writeln!(text, "GPU: {}", g.adapter);
        let _ = writeln!(
            text,
            "precision: {}{}",
            g.precision,
            g.note
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        );
        text.push_str(&it.delegation_report().to_text());
        if let Ok(m) = g.memory.lock() {
            let _ = writeln!(text,
                "GPU memory: weights {} bytes, activations {} bytes (lower bound {}), staging {} bytes",
                m.weight_bytes, m.activation_bytes, m.activation_lower_bound_bytes, m.staging_bytes
            );
        }
    }
    match inputs {
        Some(npz) => {
            let arrays = halfgpu::npz::read_npz(npz)?;
            for i in 0..it.input_count() {
                let (name, shape, dtype) = it.input_info(i)?;
                let (name, shape) = (name.to_string(), shape.to_vec());
                let arr = arrays
                    .iter()
                    .find(|(k, _)| *k == name)
                    .or_else(|| arrays.iter().find(|(k, _)| *k == i.to_string()))
                    .map(|(_, a)| a)
                    .ok_or_else(|| {
                        format!(
                            "{}: no array for input {name:?} (or \"{i}\")",
                            npz.display()
                        )
                    })?;
                if arr.dtype != dtype {
                    return Err(
                        format!("input {name:?} is {dtype}, the array is {}", arr.dtype).into(),
                    );
                }
                if arr.shape != shape {
                    return Err(format!(
                        "input {name:?} has shape {shape:?}, the array has {:?}",
                        arr.shape
                    )
                    .into());
                }
                match dtype {
                    TensorType::Float32 => {
                        it.set_input::<f32>(i, bytemuck::cast_slice(&aligned(&arr.bytes)))?
                    }
                    TensorType::Int32 => {
                        it.set_input::<i32>(i, bytemuck::cast_slice(&aligned(&arr.bytes)))?
                    }
                    TensorType::UInt8 => it.set_input::<u8>(i, &arr.bytes)?,
                    other => {
                        return Err(
                            format!("input {name:?}: dtype {other} not supported by run").into(),
                        )
                    }
                }
            }
        }
        None => {
            let mut rng = rand::rngs::StdRng::seed_from_u64(0);
            for i in 0..it.input_count() {
                if let Ok(x) = it.input_mut::<f32>(i) {
                    x.iter_mut().for_each(|v| *v = rng.random::<f32>());
                }
            }
            eprintln!("inputs: none given; filled with seeded uniform values in [0, 1) (seed 0)");
        }
    }
    let start = std::time::Instant::now();
    it.invoke()?;
    let invoke_ms = start.elapsed().as_secs_f64() * 1e3;
    let mut saved = Vec::new();
    for i in 0..it.output_count() {
        let (name, shape, dtype) = it.output_info(i)?;
        let (name, shape) = (name.to_string(), shape.to_vec());
        if dtype == TensorType::Float32 {
            let v = it.output::<f32>(i)?;
            let (min, max) = v
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| {
                    (a.min(x), b.max(x))
                });
            let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64;
            let _ = writeln!(
                text,
                "output {i} {name:?} {shape:?} float32: min {min:.6} max {max:.6} mean {mean:.6}"
            );
            summaries.push(serde_json::json!({
                "name": name, "shape": shape, "dtype": "float32", "min": min, "max": max, "mean": mean,
            }));
            saved.push((
                name,
                NpArray {
                    shape,
                    dtype,
                    bytes: bytemuck::cast_slice(v).to_vec(),
                },
            ));
        } else {
            let _ = writeln!(text, "output {i} {name:?} {shape:?} {dtype}");
            summaries
                .push(serde_json::json!({ "name": name, "shape": shape, "dtype": dtype.name() }));
        }
    }
    let _ = writeln!(
        text,
        "load {load_ms:.1} ms, invoke {invoke_ms:.2} ms ({threads} thread(s))"
    );
    if let Some(out) = outputs {
        halfgpu::npz::write_npz(out, &saved)?;
        let _ = writeln!(text, "outputs written to {}", out.display());
    }
    if json {
        let report = gpu.as_ref().map(|_| it.delegation_report().clone());
        let value = serde_json::json!({
            "model": path.display().to_string(),
            "delegate": format!("{:?}", backend.delegate).to_lowercase(),
            "effective_precision": gpu.as_ref().map(|g| g.precision.to_string()),
            "preference": gpu.as_ref().map(|g| g.preference.to_string()),
            "adapter": gpu.as_ref().map(|g| g.adapter.clone()),
            "load_ms": load_ms,
            "invoke_ms": invoke_ms,
            "outputs": summaries,
            "partitions": report.as_ref().map(|r| r.partitions.clone()),
            "cpu_nodes": report.as_ref().map(|r| r.cpu_nodes.clone()),
        });
        return Ok(format!("{}\n", serde_json::to_string_pretty(&value)?));
    }
    Ok(text)
}

/// Copies bytes into 4-byte aligned storage so they can be viewed as 32-bit values.
fn aligned(bytes: &[u8]) -> Vec<u32> {
    let n = bytes.len() / 4;
    let mut v = vec![0u32; n];
    bytemuck::cast_slice_mut::<u32, u8>(&mut v).copy_from_slice(&bytes[..n * 4]);
    v
}
