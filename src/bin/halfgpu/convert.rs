//! `halfgpu convert`: post-training float16 conversion of a `.tflite` file.

use std::io::IsTerminal;
use std::path::PathBuf;

use halfgpu::convert::{convert_fp16, ConvertError, ConvertOptions, ConvertReport};
use halfgpu::model::{read_model, write_model, Model, TensorType};
use halfgpu::runtime::Interpreter;

/// Models with at least this many parameters get a progress bar (on a terminal).
const PROGRESS_MIN_PARAMETERS: usize = 1_000_000;

/// Arguments of `halfgpu convert`.
#[derive(clap::Args)]
#[command(after_help = "Example:\n  \
    halfgpu convert model.tflite model_fp16.tflite --fp16 --verify\n\n\
    Every float32 weight or bias becomes a FLOAT16 constant read through a DEQUANTIZE \
    operator; inputs and outputs stay float32.")]
pub struct ConvertArgs {
    /// The float32 .tflite model.
    input: PathBuf,
    /// Where to write the converted model.
    output: PathBuf,
    /// Store float32 constants as float16 (the only conversion so far, hence required).
    #[arg(long, required = true)]
    fp16: bool,
    /// Convert even if some values exceed the float16 range (|x| > 65504 becomes infinity).
    #[arg(long)]
    allow_overflow: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Run both models on the CPU with seeded inputs (uniform in [0, 1), seed 0) and report
    /// the largest output differences.
    #[arg(long)]
    verify: bool,
}

/// How far one output of the converted model is from the original's.
#[derive(serde::Serialize)]
struct OutputDiff {
    index: usize,
    name: String,
    /// `max |converted - original|`.
    max_abs_diff: f64,
    /// `max_abs_diff / max |original|` (relative to the output's range, not per element).
    max_rel_diff: f64,
    max_abs_reference: f64,
}

#[derive(serde::Serialize)]
struct ConvertJson<'a> {
    input: String,
    output: String,
    #[serde(flatten)]
    report: &'a ConvertReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    verify: Option<&'a [OutputDiff]>,
}

/// Runs `halfgpu convert`.
pub fn convert(args: &ConvertArgs) -> Result<(), Box<dyn std::error::Error>> {
    debug_assert!(args.fp16);
    let bytes = std::fs::read(&args.input)
        .map_err(|e| format!("cannot read {}: {e}", args.input.display()))?;
    let model = read_model(&bytes).map_err(|e| format!("{}: {e}", args.input.display()))?;

    let bar = indicatif::ProgressBar::hidden();
    let show_bar = !args.json
        && std::io::stderr().is_terminal()
        && parameter_count(&model) >= PROGRESS_MIN_PARAMETERS;
    if show_bar {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "converting {bar:40} {percent:>3}% of {human_len} parameters",
        ) {
            bar.set_style(style);
        }
    }
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let options = ConvertOptions {
        allow_overflow: args.allow_overflow,
        progress: Some(&progress),
    };
    let result = convert_fp16(&model, &options);
    bar.finish_and_clear();
    let (converted, report) = match result {
        Ok(r) => r,
        Err(ConvertError::Overflow(list)) => {
            return Err(format!(
                "{}\npass --allow-overflow to convert anyway",
                ConvertError::Overflow(list)
            )
            .into())
        }
        Err(e) => return Err(e.into()),
    };
    let out = write_model(&converted)?;
    std::fs::write(&args.output, &out)
        .map_err(|e| format!("cannot write {}: {e}", args.output.display()))?;

    let diffs = if args.verify {
        Some(verify(&model, &converted)?)
    } else {
        None
    };
    if args.json {
        let json = ConvertJson {
            input: args.input.display().to_string(),
            output: args.output.display().to_string(),
            report: &report,
            verify: diffs.as_deref(),
        };
        crate::emit(&format!("{}\n", serde_json::to_string_pretty(&json)?))?;
        return Ok(());
    }
    let mut text = format!(
        "{} -> {} (float16 weights)\n",
        args.input.display(),
        args.output.display()
    );
    text += &report.to_text();
    if report.tensors_converted == 0 {
        text += "no float32 constants to convert: the model is unchanged\n";
    } else if report.size_after >= report.size_before {
        text += "note: the graph overhead of the DEQUANTIZE operators outweighs the saving \
                 on this small model\n";
    }
    if let Some(diffs) = &diffs {
        text += "\nverify (CPU, seeded inputs uniform in [0, 1), seed 0)\n";
        text += &format!(
            "{:<6} {:<40} {:>14} {:>14} {:>14}\n",
            "output", "name", "max |diff|", "relative", "max |orig|"
        );
        for d in diffs {
            text += &format!(
                "{:<6} {:<40} {:>14.6e} {:>14.6e} {:>14.6e}\n",
                d.index, d.name, d.max_abs_diff, d.max_rel_diff, d.max_abs_reference
            );
        }
    }
    crate::emit(&text)?;
    Ok(())
}

/// Values stored in float32 constant buffers (what the progress bar counts).
fn parameter_count(model: &Model) -> usize {
    model
        .subgraphs
        .iter()
        .flat_map(|g| &g.tensors)
        .filter(|t| t.dtype == TensorType::Float32)
        .filter_map(|t| model.buffers.get(t.buffer as usize))
        .map(|b| b.data.len() / 4)
        .sum()
}

/// Runs `original` and `converted` on the CPU with the same seeded inputs and compares their
/// float32 outputs.
fn verify(
    original: &Model,
    converted: &Model,
) -> Result<Vec<OutputDiff>, Box<dyn std::error::Error>> {
    use rand::{Rng, SeedableRng};
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let build = |m: &Model| Interpreter::builder(m).threads(threads).build();
    let mut a = build(original).map_err(|e| format!("verify: original model: {e}"))?;
    let mut b = build(converted).map_err(|e| format!("verify: converted model: {e}"))?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    for i in 0..a.input_count() {
        if let Ok(x) = a.input_mut::<f32>(i) {
            x.iter_mut().for_each(|v| *v = rng.random::<f32>());
            let values = x.to_vec();
            b.set_input::<f32>(i, &values)?;
        }
    }
    a.invoke()
        .map_err(|e| format!("verify: original model: {e}"))?;
    b.invoke()
        .map_err(|e| format!("verify: converted model: {e}"))?;
    let mut diffs = Vec::new();
    for i in 0..a.output_count() {
        let (name, _, dtype) = a.output_info(i)?;
        if dtype != TensorType::Float32 {
            continue;
        }
        let name = name.to_string();
        let (x, y) = (a.output::<f32>(i)?, b.output::<f32>(i)?);
        if x.len() != y.len() {
            return Err(format!(
                "verify: output {i} has {} values in the original, {} converted",
                x.len(),
                y.len()
            )
            .into());
        }
        let max_abs_diff = x
            .iter()
            .zip(y)
            .map(|(&p, &q)| (q as f64 - p as f64).abs())
            .fold(0.0, f64::max);
        let max_abs_reference = x.iter().map(|&p| (p as f64).abs()).fold(0.0, f64::max);
        diffs.push(OutputDiff {
            index: i,
            name,
            max_abs_diff,
            max_rel_diff: if max_abs_reference > 0.0 {
                max_abs_diff / max_abs_reference
            } else {
                max_abs_diff
            },
            max_abs_reference,
        });
    }
    Ok(diffs)
}
