//! Helpers shared by the integration tests: where the fetched real models are, and the rule
//! that a missing asset or GPU is a failure under CI and a visible skip elsewhere.
#![allow(dead_code)]

use std::path::PathBuf;

/// True when running under CI (the `CI` variable is set and not empty).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty())
}

/// The test-asset cache made by `scripts/fetch-test-assets.sh`, or `None` (after printing why)
/// when it is absent outside CI. Under CI an absent cache fails the test.
pub fn assets() -> Option<PathBuf> {
    let dir = std::env::var_os("HALFGPU_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-assets"));
    if dir.join(".complete-v2").exists() {
        return Some(dir);
    }
    assert!(
        !under_ci(),
        "test assets missing at {}: run scripts/fetch-test-assets.sh",
        dir.display()
    );
    eprintln!(
        "skipped: test assets missing at {} (run scripts/fetch-test-assets.sh)",
        dir.display()
    );
    None
}

/// Names (file stems) of all fetched real models, sorted.
pub fn model_names(assets: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(assets.join("models"))
        .expect("models directory")
        .filter_map(|e| {
            let p = e.ok()?.path();
            if p.extension()? != "tflite" {
                return None;
            }
            Some(p.file_stem()?.to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no models in {}", assets.display());
    names
}

/// The reference runtime's description of a model (recorded at asset-fetch time).
pub fn reference_json(assets: &std::path::Path, name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(assets.join("reference").join(format!("{name}.json")))
        .expect("reference json");
    serde_json::from_str(&text).expect("valid reference json")
}

/// A GPU delegate in `precision`, or `None` (after saying why) when no adapter exists outside
/// CI. Under CI a missing adapter fails the test: GPU tests never pass silently.
pub fn gpu_delegate(precision: halfgpu::gpu::Precision) -> Option<halfgpu::gpu::GpuDelegate> {
    gpu_delegate_with(halfgpu::gpu::GpuDelegateOptions::default().precision(precision))
}

/// [`gpu_delegate`] with any options.
#[allow(dead_code)]
pub fn gpu_delegate_with(
    options: halfgpu::gpu::GpuDelegateOptions,
) -> Option<halfgpu::gpu::GpuDelegate> {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        let dir = std::env::temp_dir().join("halfgpu-xdg");
        let _ = std::fs::create_dir_all(&dir);
        // SAFETY: set before any GPU thread exists; tests only read it.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    }
    match halfgpu::gpu::GpuDelegate::new(options) {
        Ok(d) => Some(d),
        Err(e) => {
            assert!(!under_ci(), "no GPU under CI: {e}");
            eprintln!("skipped: {e}");
            None
        }
    }
}
