//! Creating and destroying the external delegate 100 times (through `libhalfgpu.so` loaded
//! with libloading, as a host does) leaks nothing measurable. Alone in its test binary so the
//! process's RSS belongs to this test.

#[path = "ffi_common.rs"]
mod ffi_common;

use std::ffi::{c_char, CString};

use halfgpu::ffi::abi::TfLiteDelegate;
use libloading::Library;

type Create = unsafe extern "C" fn(
    *const *const c_char,
    *const *const c_char,
    usize,
    Option<unsafe extern "C" fn(*const c_char)>,
) -> *mut TfLiteDelegate;
type Destroy = unsafe extern "C" fn(*mut TfLiteDelegate);

unsafe extern "C" fn ignore(_msg: *const c_char) {}

#[test]
fn create_and_destroy_a_hundred_times_leaks_nothing_measurable() {
    // SAFETY: loading our own cdylib (never closed, see ffi_common::CApi).
    let lib = std::mem::ManuallyDrop::new(
        unsafe { Library::new(ffi_common::halfgpu_lib()) }.expect("load libhalfgpu.so"),
    );
    // SAFETY: the exported symbols have these signatures (src/ffi/mod.rs).
    let (create, destroy): (Create, Destroy) = unsafe {
        (
            *lib.get(b"tflite_plugin_create_delegate\0").expect("create"),
            *lib.get(b"tflite_plugin_destroy_delegate\0")
                .expect("destroy"),
        )
    };
    let keys = [
        CString::new("precision_loss_allowed").unwrap(),
        CString::new("backend").unwrap(),
    ];
    let values = [CString::new("1").unwrap(), CString::new("vulkan").unwrap()];
    let kp: Vec<*const c_char> = keys.iter().map(|k| k.as_ptr()).collect();
    let vp: Vec<*const c_char> = values.iter().map(|v| v.as_ptr()).collect();
    let bad_k = [CString::new("bogus").unwrap()];
    let bad_kp: Vec<*const c_char> = bad_k.iter().map(|k| k.as_ptr()).collect();
    let cycle = || {
        // SAFETY: two valid key/value pairs; the delegate is never used, destroyed once.
        unsafe {
            let d = create(kp.as_ptr(), vp.as_ptr(), 2, Some(ignore));
            assert!(!d.is_null());
            destroy(d);
            // A refused create must not leak either.
            assert!(create(bad_kp.as_ptr(), vp.as_ptr(), 1, Some(ignore)).is_null());
        }
    };
    for _ in 0..20 {
        cycle();
    }
    let before = ffi_common::rss_bytes();
    for _ in 0..100 {
        cycle();
    }
    let after = ffi_common::rss_bytes();
    let grown = after.saturating_sub(before);
    eprintln!(
        "RSS before {before} bytes, after 100 create/destroy + 100 refused creates: {after} bytes (+{grown})"
    );
    assert!(grown < 64 * 1024, "RSS grew by {grown} bytes");
}
