//! ai-edge-litert 2.3.0 (`target/test-assets/venv`) loads `libhalfgpu.so` with `load_delegate`
//! and runs every fetched real model with the outputs of the same interpreter without it
//! (`scripts/ffi_python_check.py`: F32 <= 1e-4, F16 <= 0.05 relative to max(1, max|ref|),
//! every node claimed; bad options raise ValueError naming the key).

#[path = "ffi_common.rs"]
mod ffi_common;

#[test]
fn python_load_delegate_runs_every_real_model() {
    let Some(assets) = ffi_common::assets() else {
        return;
    };
    ffi_common::xdg();
    let python = assets.join("venv/bin/python");
    assert!(python.exists(), "{} missing", python.display());
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/ffi_python_check.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg("--lib")
        .arg(ffi_common::halfgpu_lib())
        .env("HALFGPU_ASSETS", &assets)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "python check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("all ok"));
}
