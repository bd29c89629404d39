//! The TensorFlow Lite external delegate C ABI: `libhalfgpu.so` loaded by stock TFLite
//! (`load_delegate` in Python, `TfLiteInterpreterOptionsAddDelegate` in C) runs the nodes the
//! GPU delegate supports on the GPU.
//!
//! Exported symbols:
//! - `tflite_plugin_create_delegate(keys, values, n, report_error)`: a delegate configured by
//!   key/value options ([`VALID_OPTIONS`]); NULL after reporting a message when an option is
//!   unknown or malformed.
//! - `tflite_plugin_destroy_delegate(delegate)`: frees it; NULL and unknown pointers are ignored.
//! - `halfgpu_delegate_claimed_nodes`, `halfgpu_delegate_total_nodes`,
//!   `halfgpu_delegate_partitions`: what the most recent `Prepare` did (-1 for a NULL or
//!   unknown delegate).
//!
//! Support is decided by translating every node into the IR ([`translate`]) and asking
//! [`Delegate::supports`](crate::delegate::Delegate::supports) of a
//! [`GpuDelegate`], exactly as the Rust runtime does; nodes are grouped
//! with [`crate::delegate::partition`]. The GPU device is opened at the first `Prepare`, so
//! creating and destroying a delegate is cheap and holds no device.
//!
//! No panic crosses the C boundary: every entry point runs under `catch_unwind` and turns a
//! panic into an error status with a message.

pub mod abi;
mod kernel;
mod prepare;
pub mod translate;

use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use abi::{TfLiteContext, TfLiteDelegate, TfLiteStatus};

use crate::gpu::device::DEFAULT_BACKENDS;
use crate::gpu::{GpuDelegate, GpuDelegateOptions, InferencePreference, Precision};

pub use prepare::Snapshot;

/// The options `tflite_plugin_create_delegate` accepts, with their values.
pub const VALID_OPTIONS: &str = "precision_loss_allowed (0|1|true|false), \
precision (f32|f16|f32f16), max_delegated_partitions (integer >= 0, 0 = no limit), \
backend (vulkan|metal|dx12|any), adapter (adapter name substring), cache_dir (directory), \
subgroups (0|1|true|false), inference_preference (fast_single_answer|sustained_speed), \
log_level (off|error|warn|info|debug|trace)";

/// The most options one create call accepts.
const MAX_OPTIONS: usize = 256;

/// `report_error` of `tflite_plugin_create_delegate`.
pub type ReportFn = unsafe extern "C" fn(*const c_char);

/// Parsed delegate options.
#[derive(Clone)]
pub struct FfiOptions {
    /// The GPU delegate's options.
    pub gpu: GpuDelegateOptions,
    /// The log level to set, if given.
    pub log_level: Option<log::LevelFilter>,
}

fn bad_value(key: &str, value: &str, want: &str) -> String {
    format!("halfgpu: invalid value {value:?} for option {key:?} (expected {want}); valid options: {VALID_OPTIONS}")
}

/// A boolean option's value.
fn flag(key: &str, value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        _ => Err(bad_value(key, value, "0, 1, true or false")),
    }
}

/// Parses key/value options with the meanings of [`GpuDelegateOptions`].
pub fn parse_options<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<FfiOptions, String> {
    let mut o = FfiOptions {
        gpu: GpuDelegateOptions::default(),
        log_level: None,
    };
    for (key, value) in pairs {
        let v = value.trim();
        match key {
            "precision_loss_allowed" => o.gpu.precision_loss_allowed = flag(key, value)?,
            "subgroups" => o.gpu.request_subgroups = flag(key, value)?,
            "precision" => {
                o.gpu.precision = Some(
                    Precision::parse(v)
                        .ok_or_else(|| bad_value(key, value, "f32, f16 or f32f16"))?,
                )
            }
            "inference_preference" => {
                o.gpu.inference_preference = InferencePreference::parse(v)
                    .ok_or_else(|| bad_value(key, value, "fast_single_answer or sustained_speed"))?
            }
            "max_delegated_partitions" => {
                let n: usize = v
                    .parse()
                    .map_err(|_| bad_value(key, value, "an integer >= 0"))?;
                o.gpu.max_delegated_partitions = (n > 0).then_some(n);
            }
            "backend" => {
                o.gpu.backends = match v.to_ascii_lowercase().as_str() {
                    "vulkan" => wgpu::Backends::VULKAN,
                    "metal" => wgpu::Backends::METAL,
                    "dx12" => wgpu::Backends::DX12,
                    "any" => DEFAULT_BACKENDS,
                    _ => return Err(bad_value(key, value, "vulkan, metal, dx12 or any")),
                }
            }
            "adapter" => {
                if v.is_empty() {
                    return Err(bad_value(key, value, "a non-empty adapter name substring"));
                }
                o.gpu.adapter = Some(v.to_string());
            }
            "cache_dir" => {
                if v.is_empty() {
                    return Err(bad_value(key, value, "a directory"));
                }
                o.gpu.cache_dir = Some(PathBuf::from(v));
            }
            "log_level" => {
                o.log_level =
                    Some(v.parse::<log::LevelFilter>().map_err(|_| {
                        bad_value(key, value, "off, error, warn, info, debug or trace")
                    })?)
            }
            _ => {
                return Err(format!(
                    "halfgpu: unknown option {key:?}; valid options: {VALID_OPTIONS}"
                ))
            }
        }
    }
    Ok(o)
}

/// What a delegate owns.
pub(crate) struct State {
    options: GpuDelegateOptions,
    /// Opened at the first `Prepare`.
    gpu: Mutex<Option<GpuDelegate>>,
    /// The translation kernels' `init` reads while `ReplaceNodeSubsetsWithDelegateKernels` runs.
    current: Mutex<Option<Arc<prepare::Prepared>>>,
    /// The most recent `Prepare`'s translation and decisions.
    last: Mutex<Option<Arc<prepare::Prepared>>>,
}

/// The allocation behind a `TfLiteDelegate*` handed out: the C struct first, so the pointer
/// to this is the pointer to the delegate.
#[repr(C)]
struct HalfgpuDelegate {
    base: TfLiteDelegate,
    state: State,
}

/// Addresses of live delegates: a pointer from the host is used only when it is one of them.
static LIVE: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The state of a live delegate, or `None` for NULL or a pointer this library did not return.
///
/// The reference is valid until `tflite_plugin_destroy_delegate` is called on it, which the
/// host must not do while the delegate is in use.
pub(crate) fn state_of<'a>(d: *const TfLiteDelegate) -> Option<&'a State> {
    if d.is_null() || !lock(&LIVE).contains(&(d as usize)) {
        return None;
    }
    // SAFETY: `d` is in LIVE, so it is a HalfgpuDelegate allocated by create and not yet freed;
    // its first field is the TfLiteDelegate (repr(C)).
    Some(unsafe { &(*(d as *const HalfgpuDelegate)).state })
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

fn c_string(msg: &str) -> CString {
    CString::new(msg.replace('\0', " ")).unwrap_or_default()
}

/// Reports `msg` through the context's `ReportError` (and the log).
pub(crate) fn report(ctx: *mut TfLiteContext, msg: &str) {
    log::error!("{msg}");
    if ctx.is_null() {
        return;
    }
    // SAFETY: ctx is non-null and comes from the runtime (a live TfLiteContext).
    let f = unsafe { (*ctx).report_error };
    if let Some(f) = f {
        let m = c_string(msg);
        // SAFETY: ReportError is printf-like; "%s" with one NUL-terminated string is well formed.
        unsafe { f(ctx, c"%s".as_ptr(), m.as_ptr()) };
    }
}

/// Runs `f` for a runtime callback: a panic or an error becomes an error status reported
/// through the context.
pub(crate) fn guard(
    ctx: *mut TfLiteContext,
    what: &str,
    f: impl FnOnce() -> Result<(), String>,
) -> TfLiteStatus {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => abi::STATUS_OK,
        Ok(Err(msg)) => {
            report(ctx, &format!("halfgpu {what}: {msg}"));
            abi::STATUS_DELEGATE_ERROR
        }
        Err(p) => {
            report(
                ctx,
                &format!("halfgpu {what}: internal error: {}", panic_message(&*p)),
            );
            abi::STATUS_ERROR
        }
    }
}

/// Reads the option strings of `tflite_plugin_create_delegate`.
///
/// # Safety
/// `keys` and `values` must be null or point to `n` pointers, each null or a NUL-terminated
/// string.
unsafe fn read_pairs(
    keys: *const *const c_char,
    values: *const *const c_char,
    n: usize,
) -> Result<Vec<(String, String)>, String> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if n > MAX_OPTIONS {
        return Err(format!(
            "halfgpu: {n} options given, at most {MAX_OPTIONS} accepted"
        ));
    }
    if keys.is_null() || values.is_null() {
        return Err("halfgpu: option keys or values are NULL".into());
    }
    let mut pairs = Vec::with_capacity(n);
    for i in 0..n {
        // SAFETY: keys and values are non-null arrays of n pointers (caller's contract).
        let (k, v) = unsafe { (*keys.add(i), *values.add(i)) };
        if k.is_null() || v.is_null() {
            return Err(format!("halfgpu: option {i} has a NULL key or value"));
        }
        // SAFETY: non-null, NUL-terminated per the caller's contract.
        let (k, v) = unsafe { (CStr::from_ptr(k), CStr::from_ptr(v)) };
        let k = k
            .to_str()
            .map_err(|_| format!("halfgpu: option {i}: key is not UTF-8"))?;
        let v = v
            .to_str()
            .map_err(|_| format!("halfgpu: option {k:?}: value is not UTF-8"))?;
        pairs.push((k.to_string(), v.to_string()));
    }
    Ok(pairs)
}

fn create(pairs: &[(String, String)]) -> Result<*mut TfLiteDelegate, String> {
    let o = parse_options(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    if let Some(level) = o.log_level {
        let _ = env_logger::Builder::new().filter_level(level).try_init();
        log::set_max_level(level);
    }
    let boxed = Box::new(HalfgpuDelegate {
        base: TfLiteDelegate {
            data: std::ptr::null_mut(),
            prepare: Some(delegate_prepare),
            copy_from_buffer_handle: std::ptr::null(),
            copy_to_buffer_handle: std::ptr::null(),
            free_buffer_handle: std::ptr::null(),
            flags: 1,
            opaque_delegate_builder: std::ptr::null(),
        },
        state: State {
            options: o.gpu,
            gpu: Mutex::new(None),
            current: Mutex::new(None),
            last: Mutex::new(None),
        },
    });
    let p = Box::into_raw(boxed);
    // SAFETY: p was just allocated by Box::into_raw and is valid.
    unsafe { (*p).base.data = p as *mut c_void };
    lock(&LIVE).push(p as usize);
    Ok(p as *mut TfLiteDelegate)
}

/// Creates a delegate from `num_options` key/value pairs (see [`VALID_OPTIONS`]). Returns NULL
/// after calling `report_error` (when non-NULL) with a message naming the offending key and
/// listing the valid ones.
///
/// # Safety
/// `keys` and `values` must point to `num_options` NUL-terminated strings (or be NULL when it
/// is 0); `report_error`, when non-NULL, must be callable with a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn tflite_plugin_create_delegate(
    keys: *const *const c_char,
    values: *const *const c_char,
    num_options: usize,
    report_error: Option<ReportFn>,
) -> *mut TfLiteDelegate {
    // Python's ctypes passes the count as a C int: only the low 32 bits are meaningful.
    let n = num_options as u32 as usize;
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: forwarded from the caller's contract.
        let pairs = unsafe { read_pairs(keys, values, n) }?;
        create(&pairs)
    }));
    let msg = match result {
        Ok(Ok(d)) => return d,
        Ok(Err(msg)) => msg,
        Err(p) => format!("halfgpu: internal error: {}", panic_message(&*p)),
    };
    log::error!("{msg}");
    if let Some(f) = report_error {
        let m = c_string(&msg);
        // SAFETY: the host gave this callback for exactly this purpose; m is NUL-terminated
        // and outlives the call.
        let _ = catch_unwind(AssertUnwindSafe(|| unsafe { f(m.as_ptr()) }));
    }
    std::ptr::null_mut()
}

/// Destroys a delegate made by [`tflite_plugin_create_delegate`]. NULL, and pointers this
/// library did not hand out (or already destroyed), are ignored.
///
/// # Safety
/// No interpreter may still be using the delegate.
#[no_mangle]
pub unsafe extern "C" fn tflite_plugin_destroy_delegate(delegate: *mut TfLiteDelegate) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if delegate.is_null() {
            return;
        }
        let mut live = lock(&LIVE);
        let Some(pos) = live.iter().position(|&p| p == delegate as usize) else {
            log::warn!("halfgpu: destroy called with an unknown delegate pointer; ignored");
            return;
        };
        live.swap_remove(pos);
        drop(live);
        // SAFETY: the pointer was in LIVE (made by Box::into_raw in create) and is removed from
        // it now, so it is freed exactly once.
        drop(unsafe { Box::from_raw(delegate as *mut HalfgpuDelegate) });
    }));
}

fn stat(d: *const TfLiteDelegate, f: impl Fn(&prepare::Prepared) -> usize) -> i64 {
    catch_unwind(AssertUnwindSafe(|| match state_of(d) {
        Some(s) => lock(&s.last).as_deref().map_or(0, |p| f(p) as i64),
        None => -1,
    }))
    .unwrap_or(-1)
}

/// Nodes the most recent `Prepare` of this delegate claimed (FP16 DEQUANTIZEs included);
/// 0 before any `Prepare`, -1 for NULL or an unknown pointer.
#[no_mangle]
pub extern "C" fn halfgpu_delegate_claimed_nodes(delegate: *const TfLiteDelegate) -> i64 {
    stat(delegate, |p| p.claimed.len())
}

/// Nodes in the execution plan the most recent `Prepare` saw; -1 for NULL or unknown.
#[no_mangle]
pub extern "C" fn halfgpu_delegate_total_nodes(delegate: *const TfLiteDelegate) -> i64 {
    stat(delegate, |p| p.nodes.len())
}

/// Partitions the most recent `Prepare` asked for; -1 for NULL or unknown.
#[no_mangle]
pub extern "C" fn halfgpu_delegate_partitions(delegate: *const TfLiteDelegate) -> i64 {
    stat(delegate, |p| p.partitions)
}

/// The most recent `Prepare`'s translation (for tests and tools); `None` for NULL or unknown
/// delegates, or before any `Prepare`.
pub fn snapshot(delegate: *const TfLiteDelegate) -> Option<Snapshot> {
    let s = state_of(delegate)?;
    lock(&s.last).as_deref().map(Snapshot::from)
}

/// `TfLiteDelegate::Prepare`.
unsafe extern "C" fn delegate_prepare(
    ctx: *mut TfLiteContext,
    delegate: *mut TfLiteDelegate,
) -> TfLiteStatus {
    guard(ctx, "Prepare", || {
        let state = state_of(delegate).ok_or("called with an unknown delegate")?;
        prepare::prepare(ctx, delegate, state)
    })
}
