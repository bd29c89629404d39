//! The `halfgpu` command-line tool.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod backend;
mod bench;
mod convert;
mod demo;
mod profile;
mod run;

use backend::BackendArgs;

#[derive(Parser)]
#[command(
    name = "halfgpu",
    version,
    about = "Run TensorFlow Lite models on the GPU in half precision",
    after_help = "Examples:\n  \
        halfgpu                                   # the demo (same as `halfgpu demo`)\n  \
        halfgpu inspect model.tflite --delegate gpu\n  \
        halfgpu run model.tflite --delegate gpu --precision f16\n\n\
        Exit status: 0 success, 1 model or runtime error, 2 usage error.\n\
        Logging: RUST_LOG=info (or debug, trace) halfgpu ...; the default level is warn.\n\
        GPU choice: --adapter NAME (a substring of the adapter name; see docs/troubleshooting.md)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The main job (also what `halfgpu` with no arguments runs): MobileNetV2 built in memory,
    /// converted to fp16, run on the CPU and on the GPU in F32, F32F16 and F16, one table.
    ///
    /// Example: halfgpu demo --runs 20 --json
    Demo {
        /// Seeded inputs to compare outputs on.
        #[arg(long, default_value_t = 8)]
        inputs: usize,
        /// Timed invokes per configuration.
        #[arg(long, default_value_t = 10)]
        runs: usize,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Summarise a .tflite file: operators, tensors, dtypes, inputs and outputs.
    ///
    /// Example: halfgpu inspect face_detection_short_range.tflite --json
    Inspect {
        /// The .tflite model.
        model: std::path::PathBuf,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Also show what would run where with this backend (e.g. --delegate gpu).
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Run one inference and summarise the outputs.
    ///
    /// Examples:
    ///   halfgpu run model.tflite --inputs in.npz --outputs out.npz --threads 2
    ///   halfgpu run model.tflite --delegate gpu --precision f16
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
        /// Print one JSON object (output summaries, timings, where nodes ran).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Time every op of one invoke: a table sorted by time, and a Chrome/Perfetto trace.
    ///
    /// Example: halfgpu profile model.tflite --delegate gpu --trace trace.json
    Profile {
        /// The .tflite model.
        model: std::path::PathBuf,
        /// Plain invokes before the profiled one (the first compiles shaders on some drivers).
        #[arg(long, default_value_t = 2)]
        warmup: usize,
        /// Write a trace-event JSON file here (open it in ui.perfetto.dev or chrome://tracing).
        #[arg(long)]
        trace: Option<std::path::PathBuf>,
        /// Print the timings as one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Measure init time and invoke latency (median, p90) with the counters behind them.
    ///
    /// Examples:
    ///   halfgpu bench model.tflite --threads 2
    ///   halfgpu bench model.tflite --delegate gpu --precision f16 --runs 50 --json
    Bench {
        /// The .tflite model.
        model: std::path::PathBuf,
        /// Timed invokes.
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Untimed invokes after the first.
        #[arg(long, default_value_t = 3)]
        warmup: usize,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Convert a float32 model: weights stored as float16, computed in float32 (about half
    /// the file size).
    Convert(convert::ConvertArgs),
}

fn main() -> ExitCode {
    quiet_mesa_runtime_dir_warning();
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
    let command = cli.command.unwrap_or(Command::Demo {
        inputs: 8,
        runs: 10,
        json: false,
    });
    match command {
        Command::Demo { inputs, runs, json } => {
            let r = demo::demo(inputs, runs, json)?;
            if json {
                emit(&format!("{}\n", serde_json::to_string_pretty(&r)?))?;
            } else {
                emit(&r.to_text())?;
            }
        }
        Command::Inspect {
            model,
            json,
            backend,
        } => inspect(&model, json, &backend)?,
        Command::Run {
            model,
            inputs,
            outputs,
            json,
            backend,
        } => emit(&run::run_model(
            &model,
            inputs.as_deref(),
            outputs.as_deref(),
            &backend.preferring(halfgpu::gpu::InferencePreference::FastSingleAnswer),
            json,
        )?)?,
        Command::Profile {
            model,
            warmup,
            trace,
            json,
            backend,
        } => emit(&profile::profile(
            &model,
            &backend,
            warmup,
            trace.as_deref(),
            json,
        )?)?,
        Command::Bench {
            model,
            runs,
            warmup,
            json,
            backend,
        } => {
            let r = bench::bench(&model, &backend, runs, warmup)?;
            if json {
                emit(&format!("{}\n", serde_json::to_string(&r)?))?;
            } else {
                emit(&r.to_text())?;
            }
        }
        Command::Convert(args) => convert::convert(&args)?,
    }
    Ok(())
}

/// `inspect --json` with a backend: the summary plus where each node would run.
#[derive(serde::Serialize)]
struct InspectJson<'a> {
    #[serde(flatten)]
    summary: &'a halfgpu::inspect::ModelSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    partitions: Option<&'a [halfgpu::delegate::PartitionReport]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu_nodes: Option<&'a [halfgpu::delegate::CpuNode]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    boundary_bytes_per_invoke: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    folded_nodes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    effective_precision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    adapter: Option<String>,
}

fn inspect(
    path: &std::path::Path,
    json: bool,
    backend: &BackendArgs,
) -> Result<(), Box<dyn std::error::Error>> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let m = halfgpu::model::read_model(&bytes)?;
    let summary = halfgpu::inspect::ModelSummary::new(&m, bytes.len());
    let delegated = match backend.delegate {
        backend::DelegateKind::Cpu => None,
        backend::DelegateKind::Gpu => Some(backend.build(&m)?),
    };
    let report = delegated
        .as_ref()
        .map(|(it, _)| it.delegation_report().clone());
    let gpu = delegated.as_ref().and_then(|(_, g)| g.as_ref());
    if json {
        let out = InspectJson {
            summary: &summary,
            partitions: report.as_ref().map(|r| r.partitions.as_slice()),
            cpu_nodes: report.as_ref().map(|r| r.cpu_nodes.as_slice()),
            boundary_bytes_per_invoke: report.as_ref().map(|r| r.boundary_bytes_per_invoke),
            folded_nodes: report.as_ref().map(|r| r.folded_nodes),
            effective_precision: gpu.map(|g| g.precision.to_string()),
            adapter: gpu.map(|g| g.adapter.clone()),
        };
        emit(&format!("{}\n", serde_json::to_string_pretty(&out)?))?;
    } else {
        emit(&summary.to_text())?;
        if let (Some(r), Some(g)) = (&report, gpu) {
            emit(&format!(
                "\nGPU: {}\nprecision: {}{}\n",
                g.adapter,
                g.precision,
                g.note
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ))?;
            emit(&r.to_text())?;
        }
    }
    Ok(())
}

/// Mesa's software Vulkan driver warns on every start when `XDG_RUNTIME_DIR` is unset; give it
/// a private directory (before any thread exists) so the warning does not bury the output.
fn quiet_mesa_runtime_dir_warning() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        let dir = std::env::temp_dir().join("halfgpu-xdg-runtime");
        if std::fs::create_dir_all(&dir).is_ok() {
            // SAFETY: called first thing in main, while the process has a single thread.
            unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
        }
    }
}

/// Writes to stdout; a closed pipe (`halfgpu inspect m | head`) ends output quietly.
fn emit(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}
