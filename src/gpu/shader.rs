//! Checking WGSL without a GPU, through naga (the same front end wgpu compiles with).

use super::device::GpuError;

/// Parses WGSL with naga into the module wgpu is then given, so the buffers its entry point
/// binds can be read with [`buffer_uses`].
///
/// # Errors
/// [`GpuError::Shader`] with naga's diagnostic, located in the source.
pub(crate) fn parse_wgsl(label: &str, source: &str) -> Result<naga::Module, GpuError> {
    naga::front::wgsl::parse_str(source).map_err(|e| GpuError::Shader {
        label: label.to_owned(),
        message: e.emit_to_string_with_path(source, label),
    })
}

/// A buffer an entry point binds (halfgpu's kernels bind buffers only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BufferUse {
    /// The bind group.
    pub group: u32,
    /// The binding within it.
    pub binding: u32,
    /// A uniform buffer (otherwise a storage buffer).
    pub uniform: bool,
    /// The fewest bytes the binding may have (one element of a runtime-sized array).
    pub min_size: u64,
}

/// The buffers `entry` of `module` uses: every global with a binding that its function or a
/// function it calls (directly or not) refers to, which is what an automatic pipeline layout
/// holds. `None` when the entry point is missing, a used binding is not a buffer or a type's
/// size cannot be computed.
pub(crate) fn buffer_uses(module: &naga::Module, entry: &str) -> Option<Vec<BufferUse>> {
    let entry = module.entry_points.iter().find(|e| e.name == entry)?;
    let mut functions = vec![&entry.function];
    let mut seen = Vec::new();
    let mut pending = Vec::new();
    callees(&entry.function.body, &mut pending);
    while let Some(f) = pending.pop() {
        if seen.contains(&f) {
            continue;
        }
        seen.push(f);
        let function = &module.functions[f];
        functions.push(function);
        callees(&function.body, &mut pending);
    }
    let mut globals = Vec::new();
    for function in functions {
        for (_, expression) in function.expressions.iter() {
            if let naga::Expression::GlobalVariable(g) = *expression {
                if !globals.contains(&g) {
                    globals.push(g);
                }
            }
        }
    }
    let mut uses = Vec::new();
    for g in globals {
        let var = &module.global_variables[g];
        let Some(binding) = &var.binding else {
            continue;
        };
        let uniform = match var.space {
            naga::AddressSpace::Uniform => true,
            naga::AddressSpace::Storage { .. } => false,
            _ => return None,
        };
        let min_size = module.types[var.ty].inner.try_size(module.to_ctx())?;
        uses.push(BufferUse {
            group: binding.group,
            binding: binding.binding,
            uniform,
            min_size: u64::from(min_size),
        });
    }
    uses.sort_by_key(|u| (u.group, u.binding));
    Some(uses)
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
    fn buffer_uses_follow_the_call_tree() {
        let module = parse_wgsl(
            "uses.wgsl",
            "struct P { n: u32, k: u32 }
             @group(0) @binding(0) var<uniform> p: P;
             @group(0) @binding(1) var<storage, read_write> a: array<vec4<f32>>;
             @group(0) @binding(3) var<storage, read_write> b: array<f32>;
             @group(1) @binding(0) var<storage, read_write> other: array<f32>;
             fn leaf(i: u32) -> f32 { return b[i] + f32(p.k); }
             @compute @workgroup_size(1) fn uses_leaf() { a[0].x = leaf(p.n); }
             @compute @workgroup_size(1) fn alone() { other[0] = 1.0; }",
        )
        .expect("parses");
        let uses = buffer_uses(&module, "uses_leaf").expect("buffers only");
        let expected = [(0, 0, true, 8), (0, 1, false, 16), (0, 3, false, 4)];
        assert_eq!(uses.len(), expected.len(), "{uses:?}");
        for (u, (group, binding, uniform, min_size)) in uses.iter().zip(expected) {
            assert_eq!(
                (u.group, u.binding, u.uniform, u.min_size),
                (group, binding, uniform, min_size)
            );
        }
        let alone = buffer_uses(&module, "alone").expect("buffers only");
        assert_eq!(alone.len(), 1);
        assert_eq!((alone[0].group, alone[0].binding), (1, 0));
        assert!(buffer_uses(&module, "missing").is_none());
    }

    #[test]
    fn reports_validation_errors() {
        // Parses, but returns the wrong type.
        let err = validate_wgsl("bad.wgsl", "fn f() -> u32 { return 1.5; }").unwrap_err();
        assert!(matches!(err, GpuError::Shader { .. }), "{err}");
    }
}
