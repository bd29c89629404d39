//! The `.tflite` writer and the model builder, checked against the reader and against the
//! reference runtime (ai-edge-litert in `target/test-assets/venv`).

use std::path::{Path, PathBuf};
use std::process::Command;

use halfgpu::model::{read_model, write_model, Model};

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-assets")
}

/// `Some(path)` if `path` exists. Otherwise fails when `CI` is set, else says "skipped".
fn require(path: PathBuf, test: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{test}: {} is missing (run scripts/fetch-test-assets.sh)",
            path.display()
        );
    }
    eprintln!("{test}: skipped ({} is missing)", path.display());
    None
}

fn real_models(test: &str) -> Option<Vec<PathBuf>> {
    let dir = require(assets().join("models"), test)?;
    let mut models = std::fs::read_dir(&dir)
        .expect("list models")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "tflite"))
        .collect::<Vec<_>>();
    models.sort();
    assert!(!models.is_empty(), "no .tflite files in {}", dir.display());
    Some(models)
}

fn python(test: &str) -> Option<PathBuf> {
    require(assets().join("venv/bin/python"), test)
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/compare_outputs.py")
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("writer-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .expect("file stem")
        .to_string_lossy()
        .into_owned()
}

/// The file offsets at which each buffer's data starts (for buffers with data).
fn buffer_data_offsets(bytes: &[u8]) -> Vec<usize> {
    let u32_at = |p: usize| u32::from_le_bytes(bytes[p..p + 4].try_into().unwrap()) as usize;
    let field = |table: usize, slot: usize| -> Option<usize> {
        let vtable = (table as i64
            - i32::from_le_bytes(bytes[table..table + 4].try_into().unwrap()) as i64)
            as usize;
        let vt_len = u16::from_le_bytes([bytes[vtable], bytes[vtable + 1]]) as usize;
        let at = 4 + 2 * slot;
        if at + 2 > vt_len {
            return None;
        }
        let off = u16::from_le_bytes([bytes[vtable + at], bytes[vtable + at + 1]]) as usize;
        (off != 0).then_some(table + off)
    };
    let deref = |p: usize| p + u32_at(p);
    let root = deref(0);
    let buffers = deref(field(root, 4).expect("model has buffers"));
    (0..u32_at(buffers))
        .filter_map(|i| {
            let buffer = deref(buffers + 4 + 4 * i);
            field(buffer, 0).map(|f| deref(f) + 4)
        })
        .collect()
}

#[test]
fn real_models_round_trip() {
    let Some(models) = real_models("real_models_round_trip") else {
        return;
    };
    for path in models {
        let name = stem(&path);
        let original = std::fs::read(&path).expect("read model");
        let model = read_model(&original).unwrap_or_else(|e| panic!("{name}: read: {e}"));
        let written = write_model(&model).unwrap_or_else(|e| panic!("{name}: write: {e}"));
        let again = read_model(&written).unwrap_or_else(|e| panic!("{name}: re-read: {e}"));
        assert!(
            again == model,
            "{name}: the re-read model differs from the original"
        );
        let twice = write_model(&again).unwrap_or_else(|e| panic!("{name}: write again: {e}"));
        assert!(
            twice == written,
            "{name}: writing twice gave different bytes"
        );
        assert_eq!(&written[4..8], b"TFL3", "{name}: file identifier");
        let offsets = buffer_data_offsets(&written);
        let with_data = model.buffers.iter().filter(|b| !b.data.is_empty()).count();
        assert_eq!(offsets.len(), with_data, "{name}: buffers with data");
        for o in offsets {
            assert_eq!(
                o % 16,
                0,
                "{name}: buffer data at offset {o} is not 16-byte aligned"
            );
        }
        assert!(
            model.buffers[0].data.is_empty(),
            "{name}: buffer 0 is not empty"
        );
        eprintln!(
            "{name}: {} -> {} bytes, {} buffers",
            original.len(),
            written.len(),
            model.buffers.len()
        );
    }
}

#[test]
fn real_models_run_bit_identical_after_rewrite() {
    let test = "real_models_run_bit_identical_after_rewrite";
    let (Some(models), Some(python)) = (real_models(test), python(test)) else {
        return;
    };
    let dir = scratch(test);
    for path in models {
        let name = stem(&path);
        let Some(inputs) = require(assets().join(format!("reference/{name}.inputs.npz")), test)
        else {
            return;
        };
        let model = read_model(&std::fs::read(&path).expect("read")).expect("read model");
        let rewritten = dir.join(format!("{name}.tflite"));
        std::fs::write(&rewritten, write_model(&model).expect("write model")).expect("save");
        let out = Command::new(&python)
            .arg(script())
            .arg("compare")
            .arg(&path)
            .arg(&rewritten)
            .arg(&inputs)
            .output()
            .expect("run compare_outputs.py");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{name}: outputs differ after rewriting ({}):\n{stdout}\n{stderr}",
            out.status
        );
        assert!(
            stdout.contains("identical"),
            "{name}: no outputs compared:\n{stdout}"
        );
        eprint!("{name}: {stdout}");
    }
}

#[allow(dead_code)]
fn param_count(model: &Model) -> usize {
    model.subgraphs[0]
        .tensors
        .iter()
        .filter(|t| t.buffer != 0 && !model.buffers[t.buffer as usize].data.is_empty())
        .map(|t| t.shape.iter().map(|&d| d as usize).product::<usize>())
        .sum()
}
