//! The `halfgpu` command-line tool.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "halfgpu",
    version,
    about = "Run TensorFlow Lite models on the GPU in half precision"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Summarise a .tflite file: operators, tensors, dtypes, inputs and outputs.
    ///
    /// Example: halfgpu inspect face_detection_short_range.tflite --json
    Inspect {
        /// The .tflite model.
        model: std::path::PathBuf,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run one inference on the CPU and summarise the outputs.
    ///
    /// Example: halfgpu run model.tflite --inputs in.npz --outputs out.npz --threads 2
    Run {
        /// The .tflite model.
        model: std::path::PathBuf,
        /// An .npz with one array per input, keyed by input name (or by position "0", "1", ...).
        /// Without it, inputs are filled with seeded uniform values in [0, 1).
        #[arg(long)]
        inputs: Option<std::path::PathBuf>,
        /// Write the outputs to this .npz, keyed by output tensor name.
        #[arg(long)]
        outputs: Option<std::path::PathBuf>,
        /// CPU threads.
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("halfgpu: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Inspect { model, json } => {
            let bytes = std::fs::read(&model)
                .map_err(|e| format!("cannot read {}: {e}", model.display()))?;
            let m = halfgpu::model::read_model(&bytes)?;
            let summary = halfgpu::inspect::ModelSummary::new(&m, bytes.len());
            if json {
                emit(&format!("{}\n", serde_json::to_string_pretty(&summary)?))?;
            } else {
                emit(&summary.to_text())?;
            }
        }
        Command::Run {
            model,
            inputs,
            outputs,
            threads,
        } => run_model(&model, inputs.as_deref(), outputs.as_deref(), threads)?,
    }
    Ok(())
}

fn run_model(
    path: &std::path::Path,
    inputs: Option<&std::path::Path>,
    outputs: Option<&std::path::Path>,
    threads: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    use halfgpu::model::TensorType;
    use halfgpu::npz::NpArray;
    use rand::{Rng, SeedableRng};
    let model = halfgpu::model::read_model_file(path)?;
    let start = std::time::Instant::now();
    let mut it = halfgpu::runtime::Interpreter::builder(&model)
        .threads(threads)
        .build()?;
    let build_ms = start.elapsed().as_secs_f64() * 1e3;
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
            println!(
                "output {i} {name:?} {shape:?} float32: min {min:.6} max {max:.6} mean {mean:.6}"
            );
            saved.push((
                name,
                NpArray {
                    shape,
                    dtype,
                    bytes: bytemuck::cast_slice(v).to_vec(),
                },
            ));
        } else {
            println!("output {i} {name:?} {shape:?} {dtype}");
        }
    }
    println!("build {build_ms:.1} ms, invoke {invoke_ms:.2} ms ({threads} thread(s))");
    if let Some(out) = outputs {
        halfgpu::npz::write_npz(out, &saved)?;
        println!("outputs written to {}", out.display());
    }
    Ok(())
}

/// Copies bytes into 4-byte aligned storage so they can be viewed as 32-bit values.
fn aligned(bytes: &[u8]) -> Vec<u32> {
    let n = bytes.len() / 4;
    let mut v = vec![0u32; n];
    bytemuck::cast_slice_mut::<u32, u8>(&mut v).copy_from_slice(&bytes[..n * 4]);
    v
}

/// Writes to stdout; a closed pipe (`halfgpu inspect m | head`) ends output quietly.
fn emit(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}
