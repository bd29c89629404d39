//! Checking WGSL without a GPU, through naga (the same front end wgpu compiles with).

use std::collections::HashMap;

use super::device::GpuError;

/// Parses WGSL with naga into the module wgpu is then given, so its entry points can be
/// measured with [`entry_sizes`] before any pipeline is made.
///
/// # Errors
/// [`GpuError::Shader`] with naga's diagnostic, located in the source.
pub(crate) fn parse_wgsl(label: &str, source: &str) -> Result<naga::Module, GpuError> {
    naga::front::wgsl::parse_str(source).map_err(|e| GpuError::Shader {
        label: label.to_owned(),
        message: e.emit_to_string_with_path(source, label),
    })
}

/// How much code each entry point of `module` reaches: the expressions of its own function and
/// of every function it calls, directly or not, each counted once. A driver compiles an entry
/// point's whole call tree, so this is what pipeline creation costs grow with.
pub(crate) fn entry_sizes(module: &naga::Module) -> HashMap<String, usize> {
    module
        .entry_points
        .iter()
        .map(|ep| {
            let mut seen = Vec::new();
            let mut size = ep.function.expressions.len();
            let mut pending = Vec::new();
            callees(&ep.function.body, &mut pending);
            while let Some(f) = pending.pop() {
                if seen.contains(&f) {
                    continue;
                }
                seen.push(f);
                let function = &module.functions[f];
                size += function.expressions.len();
                callees(&function.body, &mut pending);
            }
            (ep.name.clone(), size)
        })
        .collect()
}

/// Appends the functions called anywhere in `block` to `out`.
fn callees(block: &naga::Block, out: &mut Vec<naga::Handle<naga::Function>>) {
    use naga::Statement as S;
    for statement in block.iter() {
        match statement {
            S::Call { function, .. } => out.push(*function),
            S::Block(inner) => callees(inner, out),
            S::If { accept, reject, .. } => {
                callees(accept, out);
                callees(reject, out);
            }
            S::Switch { cases, .. } => cases.iter().for_each(|c| callees(&c.body, out)),
            S::Loop {
                body, continuing, ..
            } => {
                callees(body, out);
                callees(continuing, out);
            }
            _ => {}
        }
    }
}

/// Parses and validates WGSL with naga, allowing every capability naga knows
/// (including `SHADER_FLOAT16`), so a shader can be checked on a machine without a GPU.
/// Whether a given device supports what the shader uses is a separate question.
///
/// # Errors
/// [`GpuError::Shader`] with naga's diagnostic, located in the source, when the shader does
/// not parse or does not validate.
pub fn validate_wgsl(label: &str, source: &str) -> Result<naga::valid::ModuleInfo, GpuError> {
    let module = parse_wgsl(label, source)?;
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .map_err(|e| GpuError::Shader {
        label: label.to_owned(),
        message: e.emit_to_string_with_path(source, label),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_parse_errors_with_the_label() {
        let err = validate_wgsl("broken.wgsl", "fn main( {").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("shader broken.wgsl:"), "{msg}");
    }

    #[test]
    fn entry_sizes_count_the_whole_call_tree_once() {
        let module = parse_wgsl(
            "sizes.wgsl",
            "fn leaf(x: f32) -> f32 { return x * 2.0 + 1.0; }
             fn body(x: f32) -> f32 { return leaf(leaf(x)) + leaf(x); }
             @compute @workgroup_size(1) fn small() { _ = 1.0 + 2.0; }
             @compute @workgroup_size(1) fn wrapper() { if true { _ = body(1.0); } }",
        )
        .expect("parses");
        let sizes = entry_sizes(&module);
        let own = |name: &str| {
            module
                .functions
                .iter()
                .find(|(_, f)| f.name.as_deref() == Some(name))
                .map(|(_, f)| f.expressions.len())
                .expect("defined")
        };
        let wrapper_own = module
            .entry_points
            .iter()
            .find(|e| e.name == "wrapper")
            .map(|e| e.function.expressions.len())
            .expect("defined");
        // `leaf` is called three times but compiled once.
        assert_eq!(sizes["wrapper"], wrapper_own + own("body") + own("leaf"));
        assert!(sizes["wrapper"] > sizes["small"], "{sizes:?}");
    }

    #[test]
    fn reports_validation_errors() {
        // Parses, but returns the wrong type.
        let err = validate_wgsl("bad.wgsl", "fn f() -> u32 { return 1.5; }").unwrap_err();
        assert!(matches!(err, GpuError::Shader { .. }), "{err}");
    }
}
