//! The conformance oracle: several hundred single-operator models swept over their parameters
//! (`oracle/cases.rs`), run by the reference runtime (ai-edge-litert's reference kernels, in
//! one Python process), by halfgpu's CPU path and by the GPU delegate in F32, F32F16 and F16.
//!
//! - CPU vs reference: max |cpu - ref| <= 1e-4 * max(1, max|ref|) for every case the
//!   reference runs; cases the reference refuses are listed with its message and counted, and
//!   at least 300 cases must have been compared.
//! - GPU vs reference (vs the CPU where the reference refused the case): tolerances per
//!   precision and [`Tolerance`] class, see [`gpu_tolerance`]. Every case must run entirely on
//!   the GPU (one partition, no CPU node) unless listed in [`GPU_DECLINES`].

#[path = "oracle/cases.rs"]
mod cases;
mod common;
#[path = "oracle/runners.rs"]
mod runners;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use cases::{OpCase, Tolerance};
use halfgpu::gpu::{GpuDelegate, GpuDelegateOptions, Precision};
use runners::{Reference, SharedGpu, Tensor};

/// Op / parameter combinations the GPU delegate declines by design; such a case must be
/// declined (it runs on the CPU and is checked there), and is not counted as a GPU pass.
/// Entries are (op, a fragment of the case name, why).
const GPU_DECLINES: &[(&str, &str, &str)] = &[
    (
        // TFLite defines no sampling grid for both flags at once (its reference kernel refuses
        // them); lower.rs refuses rather than guess one.
        "RESIZE_BILINEAR",
        "_align1_half1",
        "align_corners together with half_pixel_centers",
    ),
    (
        // The mean shader reduces one contiguous block of axes.
        "MEAN",
        "_axes1x3_",
        "axes that are not one contiguous block",
    ),
];

/// Cases the reference runtime runs but halfgpu's CPU path refuses to build: known gaps,
/// listed and counted in the output. Each must still be refused (so a fix shows up here), and
/// the GPU is checked against the reference on them. Entries are (op, name fragment, what).
const CPU_KNOWN_GAPS: &[(&str, &str, &str)] = &[(
    // The reference accepts both flags for nearest-neighbour resizing (half-pixel offset, then
    // align_corners scale and rounding); src/cpu/resize.rs refuses the combination.
    "RESIZE_NEAREST_NEIGHBOR",
    "_align1_half1",
    "align_corners together with half_pixel_centers",
)];

fn listed(list: &[(&str, &str, &'static str)], case: &OpCase) -> Option<&'static str> {
    list.iter()
        .find(|(op, fragment, _)| case.op == *op && case.name.contains(fragment))
        .map(|(_, _, why)| *why)
}

fn declined_by_design(case: &OpCase) -> Option<&'static str> {
    listed(GPU_DECLINES, case)
}

/// Everything the tests share: the cases, their inputs, the reference's and the CPU's outputs.
struct Oracle {
    cases: Vec<OpCase>,
    inputs: Vec<Vec<Tensor>>,
    /// `None` when the reference runtime is not installed (outside CI).
    reference: Option<Reference>,
    cpu: Vec<Result<Vec<Vec<f32>>, String>>,
}

fn oracle() -> &'static Oracle {
    static ORACLE: OnceLock<Oracle> = OnceLock::new();
    ORACLE.get_or_init(|| {
        let start = Instant::now();
        let cases = cases::all();
        let inputs: Vec<Vec<Tensor>> = cases.iter().map(runners::make_inputs).collect();
        let reference = common::assets().map(|assets| {
            let python = assets.join("venv/bin/python");
            let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("oracle-cases");
            runners::run_reference(&python, &dir, &cases, &inputs)
                .unwrap_or_else(|e| panic!("reference runtime: {e}"))
        });
        let ref_time = start.elapsed();
        let cpu = cases
            .iter()
            .zip(&inputs)
            .map(|(c, ins)| runners::run_halfgpu(&c.model, ins, None).map(|r| r.outputs))
            .collect();
        eprintln!(
            "oracle: {} cases; reference {:.1?}, halfgpu CPU {:.1?}",
            cases.len(),
            ref_time,
            start.elapsed() - ref_time
        );
        Oracle {
            cases,
            inputs,
            reference,
            cpu,
        }
    })
}

/// max |a - b| over all outputs (infinite for a length mismatch or a non-finite value where the
/// expectation is finite), and max |b|.
fn compare(ours: &[Vec<f32>], expected: &[Vec<f32>]) -> (f32, f32) {
    let mut worst = if ours.len() == expected.len() {
        0f32
    } else {
        f32::INFINITY
    };
    let mut peak = 0f32;
    for (a, b) in ours.iter().zip(expected) {
        if a.len() != b.len() {
            worst = f32::INFINITY;
        }
        for (x, y) in a.iter().zip(b) {
            let d = (x - y).abs();
            worst = worst.max(if d.is_nan() { f32::INFINITY } else { d });
            peak = peak.max(y.abs());
        }
    }
    (worst, peak)
}

#[test]
fn cpu_matches_the_reference_runtime_on_every_case() {
    let o = oracle();
    let Some(reference) = &o.reference else {
        return;
    };
    let mut compared = 0;
    let mut failures = Vec::new();
    let mut gaps = Vec::new();
    let mut per_op: BTreeMap<&str, (usize, f32)> = BTreeMap::new();
    for (case, cpu) in o.cases.iter().zip(&o.cpu) {
        let Some(expected) = reference.outputs.get(&case.name) else {
            continue;
        };
        let gap = listed(CPU_KNOWN_GAPS, case);
        let ours = match (cpu, gap) {
            (Ok(v), None) => v,
            (Err(e), Some(why)) => {
                gaps.push(format!("{} ({why}): {}", case.name, e.replace('\n', " ")));
                continue;
            }
            (Ok(_), Some(why)) => {
                failures.push(format!(
                    "{}: listed as a CPU gap ({why}) but runs now; update CPU_KNOWN_GAPS",
                    case.name
                ));
                continue;
            }
            (Err(e), None) => {
                failures.push(format!("{}: halfgpu CPU failed: {e}", case.name));
                continue;
            }
        };
        let (worst, peak) = compare(ours, expected);
        let scale = peak.max(1.0);
        compared += 1;
        let entry = per_op.entry(case.op).or_default();
        entry.0 += 1;
        entry.1 = entry.1.max(worst / scale);
        if worst > 1e-4 * scale {
            failures.push(format!(
                "{}: max |cpu - ref| {worst:e} > 1e-4 * max(1, max|ref|) = {:e}",
                case.name,
                1e-4 * scale
            ));
        }
    }
    eprintln!(
        "{:<26} {:>5}  max |cpu - ref| / max(1, max|ref|)",
        "op", "cases"
    );
    for (op, (n, rel)) in &per_op {
        eprintln!("{op:<26} {n:>5}  {rel:.2e}");
    }
    eprintln!(
        "CPU vs reference: {} cases, {compared} compared, {} rejected by the reference:",
        o.cases.len(),
        reference.rejected.len()
    );
    for (name, why) in &reference.rejected {
        eprintln!("  rejected {name}: {why}");
    }
    eprintln!(
        "{} known CPU gaps (the reference runs them, halfgpu's CPU refuses):",
        gaps.len()
    );
    for g in &gaps {
        eprintln!("  gap {g}");
    }
    let unaccounted = o.cases.len() - compared - reference.rejected.len() - gaps.len();
    assert!(
        failures.is_empty() && unaccounted == 0,
        "{} failures, {unaccounted} cases neither compared nor rejected:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(compared >= 300, "only {compared} cases compared");
}

/// Unit roundoff of f16 (half the spacing of f16 numbers in [1, 2)).
const U16: f32 = 1.0 / 2048.0;

/// The allowed max |gpu - expected| divided by `s = max(1, max|expected|, max|input|)`, and
/// the formula it came from (`u = 2^-11`, the unit roundoff of f16).
///
/// - F32: `1e-5` for movement and elementwise cases (the same f32 operations; transcendental
///   functions a few ulp apart at most); `1e-4` for reductions, whose summation order differs
///   from the reference's (blocked sums, vectorised accumulators).
/// - F32F16 (f16 storage, f32 arithmetic): each stored value is rounded once to f16, off by at
///   most `u |v|` (round to nearest; `2u` allows a conversion that picks either neighbour).
///   Movement: `2u`. Elementwise: input and output roundings carried through operations whose
///   condition number is at most about 2 on the tested input ranges: `8u`. A reduction of `k`
///   products `x w` with `|x| <= s` and He-scaled weights (`|w| <= sqrt(6 / k)`, so
///   `sum |x w| <= sqrt(6 k) s`): each product is off by at most `2 * 2u |x w|` from the
///   rounded `x` and `w`, plus `2u` for the rounded output: `u (10 sqrt(k) + 2)`.
/// - F16 (f16 arithmetic): as F32F16, plus the f16 rounding of each product and of each partial
///   sum; the kernels add products in f16 runs of at most 16 and add the runs in f32 (means and
///   softmax sums entirely in f32), so a run of `r = min(k, 16)` terms adds at most
///   `r u sum_run |x w|`, in all `r u sqrt(6 k) s`: `u ((10 + 2.5 min(k, 16)) sqrt(k) + 2)`.
///   Elementwise: `16u`, since f16 arithmetic rounds every intermediate and f16 builtins
///   (exp, tanh, ...) are a few ulp off.
fn gpu_tolerance(t: Tolerance, p: Precision) -> (f32, String) {
    let sqrt = |k: usize| (k as f32).sqrt();
    match (p, t) {
        (Precision::F32, Tolerance::Reduction { .. }) => (1e-4, "1e-4".into()),
        (Precision::F32, _) => (1e-5, "1e-5".into()),
        (_, Tolerance::Movement) => (2.0 * U16, "2u".into()),
        (Precision::F32F16, Tolerance::Elementwise) => (8.0 * U16, "8u".into()),
        (_, Tolerance::Elementwise) => (16.0 * U16, "16u".into()),
        (Precision::F32F16, Tolerance::Reduction { k }) => (
            U16 * (10.0 * sqrt(k) + 2.0),
            format!("u (10 sqrt(k) + 2), k = {k}"),
        ),
        (_, Tolerance::Reduction { k }) => (
            U16 * ((10.0 + 2.5 * k.min(16) as f32) * sqrt(k) + 2.0),
            format!("u ((10 + 2.5 min(k, 16)) sqrt(k) + 2), k = {k}"),
        ),
    }
}

/// Per-op statistics of one GPU sweep.
#[derive(Default)]
struct OpStats {
    cases: usize,
    delegated: usize,
    declined: usize,
    /// max |gpu - expected| / s.
    worst_relative: f32,
    /// max of error / tolerance.
    worst_ratio: f32,
}

/// Runs every case on the GPU in `precision`. With `subgroups` false the device is opened
/// without subgroups, so the 1x1 convolutions run the kernels that need none (with true, under
/// CI, the device must have the subgroup kernels: lavapipe does).
fn gpu_sweep(precision: Precision, subgroups: bool) {
    let o = oracle();
    let Some(first) = common::gpu_delegate_with(
        GpuDelegateOptions::default()
            .precision(precision)
            .request_subgroups(subgroups),
    ) else {
        return;
    };
    assert!(
        !(subgroups && common::under_ci()) || first.context().has_subgroup_kernels(),
        "no subgroup kernels under CI on {}",
        first.context().summary()
    );
    if first.effective_precision() != precision {
        let why = first.precision_note().unwrap_or("").to_string();
        assert!(
            !(common::under_ci() && std::env::var_os("HALFGPU_REQUIRE_F16").is_some()),
            "{precision} unavailable under CI: {why}"
        );
        eprintln!("skipped: {precision} not available on this adapter: {why}");
        return;
    }
    let ctx = first.context().clone();
    eprintln!("GPU {precision} on {}", ctx.summary());
    drop(first);
    let shared = SharedGpu(Arc::new(Mutex::new(
        GpuDelegate::new(
            GpuDelegateOptions::default()
                .precision(precision)
                .context(ctx),
        )
        .expect("delegate on an open device"),
    )));
    let start = Instant::now();
    let mut stats: BTreeMap<&str, OpStats> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut declined = Vec::new();
    let mut against_cpu = Vec::new();
    let mut delegated = 0;
    for (i, case) in o.cases.iter().enumerate() {
        let st = stats.entry(case.op).or_default();
        st.cases += 1;
        let design = declined_by_design(case);
        let run = runners::run_halfgpu(&case.model, &o.inputs[i], Some(Box::new(shared.clone())));
        let reference = o.reference.as_ref().and_then(|r| r.outputs.get(&case.name));
        let expected = match (reference, &o.cpu[i]) {
            (Some(r), _) => Some(r),
            (None, Ok(c)) => {
                against_cpu.push(case.name.as_str());
                Some(c)
            }
            (None, Err(_)) => None,
        };
        let (expected, run) = match (expected, run, design) {
            (Some(expected), Ok(run), _) => (expected, run),
            // Refused everywhere: the reference, the CPU, and (else the build would have
            // succeeded with the node on the GPU) the GPU delegate.
            (None, Err(e), Some(why)) => {
                st.declined += 1;
                declined.push(format!(
                    "{} ({why}); the reference and the CPU refuse it too: {}",
                    case.name,
                    e.replace('\n', " ")
                ));
                continue;
            }
            (None, _, _) => {
                failures.push(format!(
                    "{}: no expectation: the reference and the CPU refuse it",
                    case.name
                ));
                continue;
            }
            (Some(_), Err(e), _) => {
                failures.push(format!("{}: {e}", case.name));
                continue;
            }
        };
        let report = &run.report;
        let on_gpu = report.partitions.len() == 1
            && report.cpu_nodes.is_empty()
            && report.compile_failures.is_empty();
        match (on_gpu, design) {
            (true, None) => {}
            (false, Some(why)) => {
                st.declined += 1;
                declined.push(format!("{} ({why})", case.name));
            }
            (true, Some(why)) => failures.push(format!(
                "{}: listed as declined by design ({why}) but ran on the GPU; update GPU_DECLINES",
                case.name
            )),
            (false, None) => {
                failures.push(format!(
                    "{}: not fully delegated:\n{}",
                    case.name,
                    report.to_text()
                ));
                continue;
            }
        }
        let (worst, peak) = compare(&run.outputs, expected);
        let input_peak = o.inputs[i]
            .iter()
            .flat_map(|t| &t.data)
            .fold(0f32, |m, v| m.max(v.abs()));
        let s = peak.max(input_peak).max(1.0);
        let (factor, formula) = if on_gpu {
            gpu_tolerance(case.tolerance, precision)
        } else {
            // Ran on the CPU: held to the CPU's own bound.
            (1e-4, "1e-4 (CPU fallback)".to_string())
        };
        if on_gpu {
            delegated += 1;
            st.delegated += 1;
            st.worst_relative = st.worst_relative.max(worst / s);
            st.worst_ratio = st.worst_ratio.max(worst / (factor * s));
        }
        if worst.is_nan() || worst > factor * s {
            failures.push(format!(
                "{} [{precision}]: max |gpu - expected| {worst:.3e} > tol {:.3e} = {formula} \
                 (u = 2^-11) times s = max(1, max|expected|, max|input|) = {s:.3}",
                case.name,
                factor * s
            ));
        }
    }
    eprintln!(
        "\nGPU {precision} (subgroup kernels: {subgroups}): {} cases, {delegated} fully \
         delegated, {} declined by design, {} checked against the CPU (reference refused), {:.1?}",
        o.cases.len(),
        declined.len(),
        against_cpu.len(),
        start.elapsed()
    );
    eprintln!(
        "{:<26} {:>5} {:>5} {:>5}  {:>12} {:>10}",
        "op", "cases", "gpu", "decl", "max err / s", "err / tol"
    );
    for (op, st) in &stats {
        eprintln!(
            "{op:<26} {:>5} {:>5} {:>5}  {:>12.2e} {:>10.3}",
            st.cases, st.delegated, st.declined, st.worst_relative, st.worst_ratio
        );
    }
    for d in &declined {
        eprintln!("  declined by design: {d}");
    }
    for c in &against_cpu {
        eprintln!("  expected = CPU (reference refused): {c}");
    }
    assert!(
        failures.is_empty(),
        "{} GPU {precision} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn gpu_f32_matches_the_reference() {
    gpu_sweep(Precision::F32, true);
}

#[test]
fn gpu_f32f16_matches_the_reference() {
    gpu_sweep(Precision::F32F16, true);
}

#[test]
fn gpu_f16_matches_the_reference() {
    gpu_sweep(Precision::F16, true);
}

#[test]
fn gpu_f32_without_subgroups_matches_the_reference() {
    gpu_sweep(Precision::F32, false);
}

#[test]
fn gpu_f16_without_subgroups_matches_the_reference() {
    gpu_sweep(Precision::F16, false);
}
