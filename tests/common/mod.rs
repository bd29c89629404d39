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
    if dir.join(".complete-v1").exists() {
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
