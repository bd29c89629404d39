//! The model reader on arbitrary bytes: `Ok` or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = halfgpu::model::read_model(data) {
        assert!(!e.to_string().is_empty());
    }
});
