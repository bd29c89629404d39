//! Checking WGSL without a GPU, through naga (the same front end wgpu compiles with).

use super::device::GpuError;

/// Parses and validates WGSL with naga, allowing every capability naga knows
/// (including `SHADER_FLOAT16`), so a shader can be checked on a machine without a GPU.
/// Whether a given device supports what the shader uses is a separate question.
///
/// # Errors
/// [`GpuError::Shader`] with naga's diagnostic, located in the source, when the shader does
/// not parse or does not validate.
pub fn validate_wgsl(label: &str, source: &str) -> Result<naga::valid::ModuleInfo, GpuError> {
    let module = naga::front::wgsl::parse_str(source).map_err(|e| GpuError::Shader {
        label: label.to_owned(),
        message: e.emit_to_string_with_path(source, label),
    })?;
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
    fn reports_validation_errors() {
        // Parses, but returns the wrong type.
        let err = validate_wgsl("bad.wgsl", "fn f() -> u32 { return 1.5; }").unwrap_err();
        assert!(matches!(err, GpuError::Shader { .. }), "{err}");
    }
}
