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
    }
    Ok(())
}

/// Writes to stdout; a closed pipe (`halfgpu inspect m | head`) ends output quietly.
fn emit(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}
