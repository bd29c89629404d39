//! Errors of the model reader and writer.

/// What went wrong reading or writing a `.tflite` model. Every variant says where.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read {path}: {source}")]
    /// The file could not be read.
    Io {
        /// The file.
        path: String,
        #[source]
        /// The underlying error.
        source: std::io::Error,
    },
    #[error("not a TFLite model: {0}")]
    /// The bytes are not a TFLite flatbuffer.
    NotTflite(String),
    /// A structural problem in the flatbuffer: an offset, length or value that does not fit.
    #[error("{at}{msg}")]
    Malformed {
        /// Where in the file (empty at the top level).
        at: String,
        /// What went wrong.
        msg: String,
    },
    /// An index that points past the end of the table it refers to.
    #[error("{at}{what} {index} out of range (model has {len} {of})")]
    IndexOutOfRange {
        /// Where in the file (empty at the top level).
        at: String,
        /// What kind of index.
        what: &'static str,
        /// The index.
        index: i64,
        /// Entries in the table.
        len: usize,
        /// What the table holds.
        of: &'static str,
    },
    /// The file references the same data so often that decoding it would take far more work
    /// than its size can justify (a decompression bomb).
    #[error("model too complex: decoding would read more than {budget} elements from a {size}-byte file")]
    TooComplex {
        /// Element budget.
        budget: u64,
        /// File size in bytes.
        size: usize,
    },
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
