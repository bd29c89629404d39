//! Errors of the model reader and writer.

/// What went wrong reading or writing a `.tflite` model. Every variant says where.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("not a TFLite model: {0}")]
    NotTflite(String),
    /// A structural problem in the flatbuffer: an offset, length or value that does not fit.
    #[error("{at}{msg}")]
    Malformed { at: String, msg: String },
    /// An index that points past the end of the table it refers to.
    #[error("{at}{what} {index} out of range (model has {len} {of})")]
    IndexOutOfRange {
        at: String,
        what: &'static str,
        index: i64,
        len: usize,
        of: &'static str,
    },
    /// The file references the same data so often that decoding it would take far more work
    /// than its size can justify (a decompression bomb).
    #[error("model too complex: decoding would read more than {budget} elements from a {size}-byte file")]
    TooComplex { budget: u64, size: usize },
    /// The writer was asked to write something it cannot represent.
    #[error("cannot write model: {0}")]
    Unwritable(String),
}

impl ModelError {
    pub(crate) fn malformed(msg: impl Into<String>) -> Self {
        ModelError::Malformed {
            at: String::new(),
            msg: msg.into(),
        }
    }

    /// Prefixes the location with `ctx` (outermost context is added last).
    pub(crate) fn within(mut self, ctx: impl std::fmt::Display) -> Self {
        match &mut self {
            ModelError::Malformed { at, .. } | ModelError::IndexOutOfRange { at, .. } => {
                *at = format!("{ctx}: {at}");
            }
            _ => {}
        }
        self
    }
}

/// Result of the model layer.
pub type Result<T, E = ModelError> = std::result::Result<T, E>;
