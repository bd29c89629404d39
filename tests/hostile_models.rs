//! Seeded mutations of the real models: every attempt to read (and build the graph of) a
//! corrupted file returns `Ok` or a typed error, never panics, and never takes over a second.
//! A share of the mutated files that read fine also go through the CPU interpreter: build
//! (under a tight `max_arena_bytes`) and one invoke.

mod common;

use std::time::{Duration, Instant};

use halfgpu::graph::Graph;
use halfgpu::model::{read_model, Model};
use halfgpu::runtime::Interpreter;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Total mutated files tried per run, across all models.
const CASES: usize = 50_000;

/// Host memory an interpreter over a mutated file may plan: far above what any of the real
/// models needs, far below what a shape-inflating mutation would ask for.
const MUTANT_ARENA_BYTES: usize = 64 << 20;

/// Builds a CPU interpreter for `m` and invokes it once on zeros; `Ok(true)` when both work.
fn build_and_invoke(m: &Model) -> Result<bool, String> {
    let mut it = match Interpreter::builder(m)
        .max_arena_bytes(MUTANT_ARENA_BYTES)
        .build()
    {
        Ok(it) => it,
        Err(e) => return Err(e.to_string()),
    };
    it.invoke().map(|_| true).map_err(|e| e.to_string())
}

fn u32_at(b: &[u8], p: usize) -> u32 {
    u32::from_le_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]])
}

/// Aligned positions holding something that looks like a forward offset (uoffset).
fn offset_positions(b: &[u8]) -> Vec<usize> {
    (0..b.len().saturating_sub(4))
        .step_by(4)
        .filter(|&p| {
            let v = u32_at(b, p) as usize;
            v >= 4 && p + v < b.len()
        })
        .collect()
}

/// Aligned positions that look like table starts: their soffset points at a plausible vtable.
fn table_positions(b: &[u8]) -> Vec<(usize, usize)> {
    (0..b.len().saturating_sub(4))
        .step_by(4)
        .filter_map(|p| {
            let s = u32_at(b, p) as i32 as i64;
            let vt = p as i64 - s;
            if s == 0 || vt < 0 || vt as usize + 4 > b.len() {
                return None;
            }
            let vt = vt as usize;
            let len = u16::from_le_bytes([b[vt], b[vt + 1]]);
            (len >= 4 && len.is_multiple_of(2) && len < 256).then_some((p, vt))
        })
        .collect()
}

fn mutate(
    original: &[u8],
    offsets: &[usize],
    tables: &[(usize, usize)],
    rng: &mut StdRng,
) -> Vec<u8> {
    let mut b = original.to_vec();
    match rng.random_range(0..5) {
        0 => {
            for _ in 0..rng.random_range(1..8) {
                let p = rng.random_range(0..b.len());
                b[p] ^= 1 << rng.random_range(0..8);
            }
        }
        1 => {
            let keep = rng.random_range(0..b.len());
            b.truncate(keep);
        }
        2 if !offsets.is_empty() => {
            let p = offsets[rng.random_range(0..offsets.len())];
            let v: u32 = match rng.random_range(0..4) {
                0 => rng.random(),
                1 => u32::MAX - rng.random_range(0..16),
                2 => (b.len() - p) as u32 + rng.random_range(0..64),
                _ => rng.random_range(0..64),
            };
            b[p..p + 4].copy_from_slice(&v.to_le_bytes());
        }
        3 if tables.len() > 1 => {
            let (pa, va) = tables[rng.random_range(0..tables.len())];
            let (pb, vb) = tables[rng.random_range(0..tables.len())];
            let sa = (pa as i64 - vb as i64) as i32;
            let sb = (pb as i64 - va as i64) as i32;
            b[pa..pa + 4].copy_from_slice(&sa.to_le_bytes());
            b[pb..pb + 4].copy_from_slice(&sb.to_le_bytes());
        }
        _ => {
            let p = rng.random_range(0..b.len().saturating_sub(4).max(1));
            let v: u32 = rng.random();
            let end = (p + 4).min(b.len());
            b[p..end].copy_from_slice(&v.to_le_bytes()[..end - p]);
        }
    }
    b
}

#[test]
fn mutated_real_models_never_panic_or_hang() {
    let Some(assets) = common::assets() else {
        return;
    };
    let names = common::model_names(&assets);
    let models: Vec<(String, Vec<u8>)> = names
        .iter()
        .map(|n| {
            (
                n.clone(),
                std::fs::read(assets.join("models").join(format!("{n}.tflite"))).unwrap(),
            )
        })
        .collect();
    // Small files get more of the cases: their mutations reach a larger share of the structure.
    let weights: Vec<f64> = models
        .iter()
        .map(|(_, b)| 1.0 / (b.len() as f64).sqrt())
        .collect();
    let total: f64 = weights.iter().sum();
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let (mut ok, mut errors, mut slowest) = (0usize, 0usize, Duration::ZERO);
    let (mut invoked, mut interp_errors) = (0usize, 0usize);
    let started = Instant::now();
    for ((name, original), w) in models.iter().zip(&weights) {
        // Invoking costs about as much as the model is large: bigger models are invoked on a
        // smaller share of their readable mutants, so the whole test stays around a minute.
        let invoke_every = (original.len() / 16384).clamp(1, 200);
        let cases = ((CASES as f64) * w / total).ceil() as usize;
        let offsets = offset_positions(original);
        let tables = table_positions(original);
        for case in 0..cases {
            let bytes = mutate(original, &offsets, &tables, &mut rng);
            let start = Instant::now();
            let interpret = case % invoke_every == 0;
            let outcome = std::panic::catch_unwind(|| match read_model(&bytes) {
                Ok(m) => {
                    let graph_ok = Graph::from_model(&m).is_ok();
                    let interp = (graph_ok && interpret).then(|| build_and_invoke(&m));
                    (graph_ok, interp)
                }
                Err(e) => {
                    assert!(!e.to_string().is_empty());
                    (false, None)
                }
            });
            let took = start.elapsed();
            slowest = slowest.max(took);
            match outcome {
                Ok((graph_ok, interp)) => {
                    if graph_ok {
                        ok += 1;
                    } else {
                        errors += 1;
                    }
                    match interp {
                        Some(Ok(_)) => invoked += 1,
                        Some(Err(e)) => {
                            assert!(!e.is_empty(), "{name}: case {case}: empty error");
                            interp_errors += 1;
                        }
                        None => {}
                    }
                }
                Err(_) => panic!("{name}: case {case} panicked"),
            }
            assert!(
                took < Duration::from_secs(1),
                "{name}: case {case} took {took:?}"
            );
        }
    }
    eprintln!(
        "mutations: {ok} read fine, {errors} typed errors; interpreter: {invoked} built and \
         invoked, {interp_errors} typed errors; slowest case {slowest:?}, total {:?}",
        started.elapsed()
    );
    assert!(
        invoked > 0,
        "no mutant reached invoke: the interpreter share is broken"
    );
    assert!(ok + errors >= CASES);
    assert!(
        errors > 0,
        "no mutation was detected as an error: the mutator is broken"
    );
}

#[test]
fn a_tensor_claiming_2_pow_40_elements_is_refused_before_allocation() {
    let Some(assets) = common::assets() else {
        return;
    };
    let bytes = std::fs::read(assets.join("models/sine_float.tflite")).unwrap();
    let mut model = read_model(&bytes).unwrap();
    let buffers = model.buffers.clone();
    let t = model.subgraphs[0]
        .tensors
        .iter_mut()
        .find(|t| buffers[t.buffer as usize].data.is_empty())
        .unwrap();
    t.shape = vec![1 << 20, 1 << 20];
    let err = Graph::from_model(&model).unwrap_err().to_string();
    assert!(err.contains("more than 2^31 elements"), "{err}");
}

#[test]
fn out_of_range_indices_name_the_place() {
    let Some(assets) = common::assets() else {
        return;
    };
    let bytes = std::fs::read(assets.join("models/sine_float.tflite")).unwrap();
    let model = read_model(&bytes).unwrap();
    let n_buffers = model.buffers.len();
    let mut bad = model.clone();
    bad.subgraphs[0].tensors[0].buffer = 99;
    let err = Graph::from_model(&bad).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "tensor 0 ({:?}): buffer index 99 out of range (model has {n_buffers} buffers)",
            bad.subgraphs[0].tensors[0].name
        )
    );
}
