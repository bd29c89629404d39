//! Reader, graph and CPU interpreter on arbitrary bytes: every stage returns `Ok` or a typed
//! error. A model that builds is invoked once on zeros; its plan may use at most 64 MiB, so a
//! file that claims huge shapes must be refused, never allocated.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(model) = halfgpu::model::read_model(data) else {
        return;
    };
    if halfgpu::graph::Graph::from_model(&model).is_err() {
        return;
    }
    let built = halfgpu::runtime::Interpreter::builder(&model)
        .max_arena_bytes(64 << 20)
        .build();
    if let Ok(mut interpreter) = built {
        let _ = interpreter.invoke();
    }
});
