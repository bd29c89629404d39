//! `libhalfgpu.so` as an external delegate of the stock TFLite C API (2.17.1), both loaded
//! with libloading: every fetched real model runs with the same results as the reference, the
//! delegate claims the nodes, bad options give NULL and a message, a model with nothing
//! supported runs on TFLite's CPU, destroying NULL is harmless (the leak check is in
//! `ffi_leak.rs`, alone in its process so RSS is not shared with other tests).

#[path = "ffi_common.rs"]
mod ffi_common;

use std::ffi::{c_char, CStr, CString};
use std::sync::Mutex;

use ffi_common::{assets, halfgpu_lib, CApi, Run};
use halfgpu::ffi::abi::TfLiteDelegate;
use libloading::Library;

type Create = unsafe extern "C" fn(
    *const *const c_char,
    *const *const c_char,
    usize,
    Option<unsafe extern "C" fn(*const c_char)>,
) -> *mut TfLiteDelegate;
type Destroy = unsafe extern "C" fn(*mut TfLiteDelegate);
type Count = unsafe extern "C" fn(*const TfLiteDelegate) -> i64;

struct Plugin {
    /// Never closed (see `CApi`).
    _lib: std::mem::ManuallyDrop<Library>,
    create: Create,
    destroy: Destroy,
    claimed: Count,
    total: Count,
    partitions: Count,
}

impl Plugin {
    fn load() -> Plugin {
        // SAFETY: loading our own cdylib; its initialisers do nothing unusual.
        let lib = unsafe { Library::new(halfgpu_lib()) }.expect("load libhalfgpu.so");
        // SAFETY: the exported symbols have these signatures (src/ffi/mod.rs).
        unsafe {
            Plugin {
                create: *lib.get(b"tflite_plugin_create_delegate\0").expect("create"),
                destroy: *lib
                    .get(b"tflite_plugin_destroy_delegate\0")
                    .expect("destroy"),
                claimed: *lib
                    .get(b"halfgpu_delegate_claimed_nodes\0")
                    .expect("claimed"),
                total: *lib.get(b"halfgpu_delegate_total_nodes\0").expect("total"),
                partitions: *lib
                    .get(b"halfgpu_delegate_partitions\0")
                    .expect("partitions"),
                _lib: std::mem::ManuallyDrop::new(lib),
            }
        }
    }

    /// Creates a delegate; on NULL returns the reported message.
    fn make(&self, options: &[(&str, &str)]) -> Result<*mut TfLiteDelegate, String> {
        let keys: Vec<CString> = options
            .iter()
            .map(|(k, _)| CString::new(*k).unwrap())
            .collect();
        let values: Vec<CString> = options
            .iter()
            .map(|(_, v)| CString::new(*v).unwrap())
            .collect();
        let kp: Vec<*const c_char> = keys.iter().map(|k| k.as_ptr()).collect();
        let vp: Vec<*const c_char> = values.iter().map(|v| v.as_ptr()).collect();
        let _serial = REPORT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        REPORTED.lock().unwrap_or_else(|e| e.into_inner()).clear();
        // SAFETY: arrays of options.len() valid C strings; the callback only copies the text.
        let d = unsafe { (self.create)(kp.as_ptr(), vp.as_ptr(), options.len(), Some(on_error)) };
        if d.is_null() {
            Err(REPORTED.lock().unwrap_or_else(|e| e.into_inner()).clone())
        } else {
            Ok(d)
        }
    }
}

static REPORTED: Mutex<String> = Mutex::new(String::new());
static REPORT_LOCK: Mutex<()> = Mutex::new(());

unsafe extern "C" fn on_error(msg: *const c_char) {
    if !msg.is_null() {
        // SAFETY: the library passes a NUL-terminated message.
        let m = unsafe { CStr::from_ptr(msg) }
            .to_string_lossy()
            .into_owned();
        *REPORTED.lock().unwrap_or_else(|e| e.into_inner()) = m;
    }
}

/// Runs `name` through the C API with the delegate in `precision`; returns the worst relative
/// error against the reference outputs and (claimed, total, partitions).
fn run_model(api: &CApi, plugin: &Plugin, name: &str, precision: &str) -> (f32, [i64; 3]) {
    let assets = assets().expect("assets");
    let d = plugin.make(&[("precision", precision)]).expect("delegate");
    let model = assets.join("models").join(format!("{name}.tflite"));
    let outputs = {
        let run = Run::new(api, &model, d);
        run.run(&ffi_common::inputs(&assets, name))
    };
    // SAFETY: d is a live delegate of the plugin.
    let counts = unsafe {
        [
            (plugin.claimed)(d),
            (plugin.total)(d),
            (plugin.partitions)(d),
        ]
    };
    // SAFETY: the interpreter using it was deleted above.
    unsafe { (plugin.destroy)(d) };
    let mut reference =
        halfgpu::npz::read_npz(assets.join("reference").join(format!("{name}.outputs.npz")))
            .expect("reference outputs");
    reference.sort_by_key(|(k, _)| k.parse::<usize>().unwrap_or(usize::MAX));
    let reference: Vec<Vec<f32>> = reference
        .into_iter()
        .map(|(_, a)| a.as_f32().expect("f32 output"))
        .collect();
    (ffi_common::worst_relative(&outputs, &reference), counts)
}

#[test]
fn the_c_api_runs_every_real_model_through_the_delegate() {
    let Some(assets) = assets() else { return };
    ffi_common::xdg();
    let api = CApi::load(&assets);
    let plugin = Plugin::load();
    let mut failures = Vec::new();
    for name in ffi_common::model_names(&assets) {
        for (precision, bound) in [("f32", 1e-4f32), ("f16", 0.05)] {
            let (worst, [claimed, total, parts]) = run_model(&api, &plugin, &name, precision);
            eprintln!(
                "{name:28} {precision:4} claimed {claimed}/{total} in {parts} partition(s), max relative error {worst:.3e}"
            );
            if worst > bound {
                failures.push(format!(
                    "{name} {precision}: relative error {worst:e} > {bound:e}"
                ));
            }
            if claimed != total || parts != 1 {
                failures.push(format!(
                    "{name} {precision}: claimed {claimed} of {total} nodes in {parts} partitions"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn bad_options_give_null_and_a_message_naming_the_key() {
    let plugin = Plugin::load();
    for (opts, key) in [
        (vec![("no_such_key", "1")], "no_such_key"),
        (vec![("precision", "f8")], "precision"),
        (
            vec![("precision_loss_allowed", "yes")],
            "precision_loss_allowed",
        ),
        (
            vec![("max_delegated_partitions", "-1")],
            "max_delegated_partitions",
        ),
        (vec![("backend", "opengl")], "backend"),
        (vec![("subgroups", "maybe")], "subgroups"),
        (
            vec![("inference_preference", "fastest")],
            "inference_preference",
        ),
        (vec![("log_level", "loud")], "log_level"),
    ] {
        let msg = plugin.make(&opts).expect_err("bad option accepted");
        eprintln!("{opts:?}: {msg}");
        assert!(msg.contains(key), "{msg}");
        assert!(
            msg.contains("valid options") && msg.contains("precision_loss_allowed"),
            "{msg}"
        );
    }
    // Every valid key is accepted.
    let d = plugin
        .make(&[
            ("precision_loss_allowed", "true"),
            ("precision", "f32f16"),
            ("max_delegated_partitions", "2"),
            ("backend", "any"),
            ("adapter", "llvmpipe"),
            ("cache_dir", "/tmp"),
            ("subgroups", "0"),
            ("inference_preference", "fast_single_answer"),
            ("log_level", "warn"),
        ])
        .expect("valid options");
    // SAFETY: a live delegate, never used by an interpreter.
    unsafe { (plugin.destroy)(d) };
}

#[test]
fn destroying_null_or_unknown_pointers_is_harmless() {
    let plugin = Plugin::load();
    // SAFETY: NULL must be accepted; the other pointer is not one of the library's delegates
    // (it is checked against the live set, never dereferenced).
    unsafe {
        (plugin.destroy)(std::ptr::null_mut());
        let mut fake = [0u64; 8];
        (plugin.destroy)(fake.as_mut_ptr() as *mut TfLiteDelegate);
        assert_eq!((plugin.claimed)(std::ptr::null()), -1);
        assert_eq!((plugin.claimed)(fake.as_ptr() as *const TfLiteDelegate), -1);
    }
    // Double destroy is ignored too.
    let d = plugin.make(&[]).expect("delegate");
    // SAFETY: live delegate, destroyed once; the second call finds it gone and ignores it.
    unsafe {
        (plugin.destroy)(d);
        (plugin.destroy)(d);
    }
}

#[test]
fn a_model_with_nothing_supported_runs_on_the_cpu() {
    let Some(assets) = assets() else { return };
    ffi_common::xdg();
    let api = CApi::load(&assets);
    let plugin = Plugin::load();
    // FLOOR has no GPU kernel (nor an IR op): nothing is claimed.
    let code = halfgpu::model::schema::builtin_code("FLOOR").expect("FLOOR");
    let model = halfgpu::model::builder::unary(code, &[1, 8]).expect("model");
    let bytes = halfgpu::model::write_model(&model).expect("write");
    let path =
        std::env::temp_dir().join(format!("halfgpu-ffi-floor-{}.tflite", std::process::id()));
    std::fs::write(&path, bytes).expect("write model");
    let d = plugin.make(&[]).expect("delegate");
    let x: Vec<f32> = (0..8).map(|i| i as f32 * 0.7 - 2.1).collect();
    let out = Run::new(&api, &path, d).run(std::slice::from_ref(&x));
    let _ = std::fs::remove_file(&path);
    // SAFETY: live delegate; the interpreter was dropped.
    let (claimed, total) = unsafe { ((plugin.claimed)(d), (plugin.total)(d)) };
    // SAFETY: no interpreter uses it any more.
    unsafe { (plugin.destroy)(d) };
    assert_eq!((claimed, total), (0, 1));
    let want: Vec<f32> = x.iter().map(|v| v.floor()).collect();
    assert_eq!(out, vec![want]);
}
