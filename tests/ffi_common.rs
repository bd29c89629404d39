//! Helpers for the FFI tests: the TFLite C API (`libtensorflowlite_c.so`, 2.17) loaded with
//! libloading, and running a model through it with an external delegate.
#![allow(dead_code)]

use std::ffi::{c_char, c_int, c_void, CString};
use std::path::{Path, PathBuf};

use halfgpu::ffi::abi::{TfLiteDelegate, TfLiteQuantizationParams, TfLiteTensor};
use libloading::Library;

/// Where the fetched test assets are (`None`, after saying why, outside CI when absent).
pub fn assets() -> Option<PathBuf> {
    let dir = std::env::var_os("HALFGPU_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-assets"));
    if dir.join(".complete-v2").exists() && dir.join("lib/libtensorflowlite_c.so").exists() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v.is_empty()),
        "test assets missing at {}: run scripts/fetch-test-assets.sh",
        dir.display()
    );
    eprintln!("skipped: test assets missing at {}", dir.display());
    None
}

/// Sets XDG_RUNTIME_DIR (wgpu's Vulkan loader wants one) when unset.
pub fn xdg() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        let dir = std::env::temp_dir().join("halfgpu-xdg");
        let _ = std::fs::create_dir_all(&dir);
        // SAFETY: set before any GPU thread exists; tests only read it.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    }
}

/// Names of the fetched real models, sorted.
pub fn model_names(assets: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(assets.join("models"))
        .expect("models directory")
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "tflite")
                .then(|| p.file_stem().map(|s| s.to_string_lossy().into_owned()))?
        })
        .collect();
    names.sort();
    names
}

/// The built `libhalfgpu.so` next to the test binary's profile directory.
pub fn halfgpu_lib() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let lib = profile.join("libhalfgpu.so");
    assert!(
        lib.exists(),
        "{} not built (crate-type cdylib)",
        lib.display()
    );
    lib
}

type P = *mut c_void;

/// The C API functions the tests use.
pub struct CApi {
    /// Never closed: unloading a library whose threads or thread-local destructors may still
    /// run (wgpu, Mesa) crashes at exit.
    _lib: std::mem::ManuallyDrop<Library>,
    pub model_create_from_file: unsafe extern "C" fn(*const c_char) -> P,
    pub model_delete: unsafe extern "C" fn(P),
    pub options_create: unsafe extern "C" fn() -> P,
    pub options_add_delegate: unsafe extern "C" fn(P, *mut TfLiteDelegate),
    pub options_delete: unsafe extern "C" fn(P),
    pub interpreter_create: unsafe extern "C" fn(P, P) -> P,
    pub interpreter_delete: unsafe extern "C" fn(P),
    pub allocate_tensors: unsafe extern "C" fn(P) -> c_int,
    pub invoke: unsafe extern "C" fn(P) -> c_int,
    pub input_count: unsafe extern "C" fn(P) -> i32,
    pub input_tensor: unsafe extern "C" fn(P, i32) -> *mut TfLiteTensor,
    pub output_count: unsafe extern "C" fn(P) -> i32,
    pub output_tensor: unsafe extern "C" fn(P, i32) -> *const TfLiteTensor,
    pub copy_from_buffer: unsafe extern "C" fn(*mut TfLiteTensor, *const c_void, usize) -> c_int,
    pub copy_to_buffer: unsafe extern "C" fn(*const TfLiteTensor, *mut c_void, usize) -> c_int,
    pub tensor_type: unsafe extern "C" fn(*const TfLiteTensor) -> c_int,
    pub tensor_num_dims: unsafe extern "C" fn(*const TfLiteTensor) -> i32,
    pub tensor_dim: unsafe extern "C" fn(*const TfLiteTensor, i32) -> i32,
    pub tensor_byte_size: unsafe extern "C" fn(*const TfLiteTensor) -> usize,
    pub tensor_data: unsafe extern "C" fn(*const TfLiteTensor) -> *mut c_void,
    pub tensor_name: unsafe extern "C" fn(*const TfLiteTensor) -> *const c_char,
    pub tensor_quantization_params:
        unsafe extern "C" fn(*const TfLiteTensor) -> TfLiteQuantizationParams,
}

impl CApi {
    /// Loads `libtensorflowlite_c.so` from the assets.
    pub fn load(assets: &Path) -> CApi {
        // SAFETY: loading the TFLite C library runs its initialisers only.
        let lib = unsafe { Library::new(assets.join("lib/libtensorflowlite_c.so")) }
            .expect("load libtensorflowlite_c.so");
        macro_rules! f {
            ($name:literal) => {
                // SAFETY: the symbol has the C API's signature (TFLite 2.17 c_api.h).
                *unsafe { lib.get(concat!($name, "\0").as_bytes()) }.expect($name)
            };
        }
        CApi {
            model_create_from_file: f!("TfLiteModelCreateFromFile"),
            model_delete: f!("TfLiteModelDelete"),
            options_create: f!("TfLiteInterpreterOptionsCreate"),
            options_add_delegate: f!("TfLiteInterpreterOptionsAddDelegate"),
            options_delete: f!("TfLiteInterpreterOptionsDelete"),
            interpreter_create: f!("TfLiteInterpreterCreate"),
            interpreter_delete: f!("TfLiteInterpreterDelete"),
            allocate_tensors: f!("TfLiteInterpreterAllocateTensors"),
            invoke: f!("TfLiteInterpreterInvoke"),
            input_count: f!("TfLiteInterpreterGetInputTensorCount"),
            input_tensor: f!("TfLiteInterpreterGetInputTensor"),
            output_count: f!("TfLiteInterpreterGetOutputTensorCount"),
            output_tensor: f!("TfLiteInterpreterGetOutputTensor"),
            copy_from_buffer: f!("TfLiteTensorCopyFromBuffer"),
            copy_to_buffer: f!("TfLiteTensorCopyToBuffer"),
            tensor_type: f!("TfLiteTensorType"),
            tensor_num_dims: f!("TfLiteTensorNumDims"),
            tensor_dim: f!("TfLiteTensorDim"),
            tensor_byte_size: f!("TfLiteTensorByteSize"),
            tensor_data: f!("TfLiteTensorData"),
            tensor_name: f!("TfLiteTensorName"),
            tensor_quantization_params: f!("TfLiteTensorQuantizationParams"),
            _lib: std::mem::ManuallyDrop::new(lib),
        }
    }
}

/// A model and an interpreter built through the C API (with an optional delegate).
pub struct Run<'a> {
    pub api: &'a CApi,
    pub model: P,
    pub interpreter: P,
}

impl<'a> Run<'a> {
    /// Builds an interpreter for `path` with `delegate` (may be null) and allocates tensors.
    /// `delegate` must be null or a live delegate; it is only handed to the C API.
    #[allow(clippy::not_unsafe_ptr_arg_deref)]
    pub fn new(api: &'a CApi, path: &Path, delegate: *mut TfLiteDelegate) -> Run<'a> {
        let c = CString::new(path.to_str().expect("utf-8 path")).expect("no NUL");
        // SAFETY: C API calls with valid arguments; results are checked for NULL.
        unsafe {
            let model = (api.model_create_from_file)(c.as_ptr());
            assert!(!model.is_null(), "TfLiteModelCreateFromFile({path:?})");
            let opts = (api.options_create)();
            if !delegate.is_null() {
                (api.options_add_delegate)(opts, delegate);
            }
            let interpreter = (api.interpreter_create)(model, opts);
            (api.options_delete)(opts);
            assert!(!interpreter.is_null(), "TfLiteInterpreterCreate({path:?})");
            assert_eq!((api.allocate_tensors)(interpreter), 0, "AllocateTensors");
            Run {
                api,
                model,
                interpreter,
            }
        }
    }

    /// Feeds the inputs (f32 arrays, in order), invokes, and returns every output as f32.
    pub fn run(&self, inputs: &[Vec<f32>]) -> Vec<Vec<f32>> {
        let api = self.api;
        // SAFETY: C API calls on a live interpreter; buffers sized by TfLiteTensorByteSize.
        unsafe {
            assert_eq!((api.input_count)(self.interpreter) as usize, inputs.len());
            for (i, v) in inputs.iter().enumerate() {
                let t = (api.input_tensor)(self.interpreter, i as i32);
                assert_eq!((api.tensor_byte_size)(t), v.len() * 4, "input {i} size");
                assert_eq!(
                    (api.copy_from_buffer)(t, v.as_ptr() as *const c_void, v.len() * 4),
                    0
                );
            }
            assert_eq!((api.invoke)(self.interpreter), 0, "Invoke");
            (0..(api.output_count)(self.interpreter))
                .map(|i| {
                    let t = (api.output_tensor)(self.interpreter, i);
                    let n = (api.tensor_byte_size)(t) / 4;
                    let mut v = vec![0f32; n];
                    assert_eq!(
                        (api.copy_to_buffer)(t, v.as_mut_ptr() as *mut c_void, n * 4),
                        0
                    );
                    v
                })
                .collect()
        }
    }
}

impl Drop for Run<'_> {
    fn drop(&mut self) {
        // SAFETY: created by TfLiteInterpreterCreate / TfLiteModelCreateFromFile, deleted once.
        unsafe {
            (self.api.interpreter_delete)(self.interpreter);
            (self.api.model_delete)(self.model);
        }
    }
}

/// The recorded inputs of a model, as f32 arrays in input order.
pub fn inputs(assets: &Path, name: &str) -> Vec<Vec<f32>> {
    let mut arrays =
        halfgpu::npz::read_npz(assets.join("reference").join(format!("{name}.inputs.npz")))
            .expect("inputs npz");
    arrays.sort_by_key(|(k, _)| k.parse::<usize>().unwrap_or(usize::MAX));
    arrays
        .into_iter()
        .map(|(_, a)| a.as_f32().expect("f32 input"))
        .collect()
}

/// Worst |a - b| relative to max(1, max |b|) over all outputs (infinite for non-finite a).
pub fn worst_relative(ours: &[Vec<f32>], reference: &[Vec<f32>]) -> f32 {
    assert_eq!(ours.len(), reference.len(), "output count");
    let mut worst = 0f32;
    for (a, b) in ours.iter().zip(reference) {
        assert_eq!(a.len(), b.len(), "output length");
        let scale = b.iter().fold(1f32, |m, x| m.max(x.abs()));
        let e = a
            .iter()
            .zip(b)
            .map(|(x, y)| {
                if x.is_finite() {
                    (x - y).abs()
                } else {
                    f32::INFINITY
                }
            })
            .fold(0f32, f32::max);
        worst = worst.max(e / scale);
    }
    worst
}

/// Resident set size of this process in bytes (from /proc/self/statm).
pub fn rss_bytes() -> usize {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}
