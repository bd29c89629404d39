//! Where a steady-state GPU invoke allocates: counts the heap allocations of one invoke (after
//! three warm-up invokes) and groups them by their first stack frames outside the allocator
//! and the standard library, most frequent first.
//!
//! `cargo run --release --example gpu_allocations -- MODEL.tflite` (default: the builder's
//! MobileNetV2). Frames need symbols, which release builds keep.

use std::alloc::{GlobalAlloc, Layout, System};
use std::backtrace::Backtrace;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use halfgpu::gpu::{GpuDelegate, GpuDelegateOptions};
use halfgpu::runtime::Interpreter;

struct Tracing;

static TRACING: AtomicBool = AtomicBool::new(false);
static TRACES: Mutex<Vec<Backtrace>> = Mutex::new(Vec::new());

thread_local! {
    /// Set while this thread records a trace, whose own allocations are not counted.
    static RECORDING: Cell<bool> = const { Cell::new(false) };
}

fn record() {
    if TRACING.load(Ordering::Relaxed) && !RECORDING.get() {
        RECORDING.set(true);
        let trace = Backtrace::force_capture();
        TRACES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(trace);
        RECORDING.set(false);
    }
}

// SAFETY: forwards every call to the system allocator unchanged; only records a trace.
unsafe impl GlobalAlloc for Tracing {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Tracing = Tracing;

/// The first three frames of `trace` that are neither the allocator, this example nor the
/// standard library's collections.
fn site(trace: &Backtrace) -> String {
    const SKIP: [&str; 9] = [
        "gpu_allocations::",
        "alloc::",
        "std::",
        "core::",
        "hashbrown::",
        "<alloc",
        "<std",
        "<core",
        "<hashbrown",
    ];
    let text = trace.to_string();
    let frames: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim_start().split_once(": "))
        .filter(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
        .map(|(_, f)| f)
        .filter(|f| !f.contains("__rust") && !SKIP.iter().any(|s| f.starts_with(s)))
        .take(3)
        .collect();
    frames.join(" <- ")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model = match std::env::args().nth(1) {
        Some(path) => halfgpu::model::read_model_file(path)?,
        None => halfgpu::model::builder::mobilenet_v2(7),
    };
    let gpu = GpuDelegate::new(GpuDelegateOptions::default())?;
    let mut it = Interpreter::builder(&model).delegate(gpu).build()?;
    for _ in 0..3 {
        it.invoke()?;
    }
    TRACING.store(true, Ordering::SeqCst);
    let invoked = it.invoke();
    TRACING.store(false, Ordering::SeqCst);
    invoked?;
    let traces = std::mem::take(&mut *TRACES.lock().unwrap_or_else(PoisonError::into_inner));
    let mut sites: HashMap<String, usize> = HashMap::new();
    for trace in &traces {
        *sites.entry(site(trace)).or_default() += 1;
    }
    let mut sites: Vec<(String, usize)> = sites.into_iter().collect();
    sites.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    println!("{} allocations in one invoke", traces.len());
    for (site, n) in sites {
        println!("{n:4}  {site}");
    }
    Ok(())
}
