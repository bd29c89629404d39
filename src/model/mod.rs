//! The `.tflite` file format: a verifying reader, the file's contents as plain values, and the
//! schema's enumerations and option tables.

pub mod builder;
pub mod error;
mod flatbuf;
pub mod options;
mod reader;
pub mod schema;
pub mod types;
mod writer;

pub use builder::ModelBuilder;
pub use error::ModelError;
pub use options::*;
pub use reader::{read_model, read_model_file};
pub use schema::TensorType;
pub use types::*;
pub use writer::write_model;
