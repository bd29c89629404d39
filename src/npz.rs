//! Reading and writing numpy `.npz` archives of tensors (`halfgpu run --inputs/--outputs`).

use std::path::Path;

use npyz::WriterBuilder;

use crate::model::TensorType;

/// One array: its shape, element type and little-endian bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct NpArray {
    /// Shape.
    pub shape: Vec<usize>,
    /// Element type.
    pub dtype: TensorType,
    /// Element bytes, little-endian.
    pub bytes: Vec<u8>,
}

impl NpArray {
    /// Values as f32 (`None` unless the array is float32).
    pub fn as_f32(&self) -> Option<Vec<f32>> {
        (self.dtype == TensorType::Float32).then(|| {
            self.bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        })
    }
}

/// A problem with an `.npz` file.
#[derive(Debug, thiserror::Error)]
pub enum NpzError {
    #[error("{path}: {source}")]
    /// The file could not be read or written.
    Io {
        /// The file.
        path: String,
        #[source]
        /// The underlying error.
        source: std::io::Error,
    },
    #[error("{path}: array {name:?} has dtype {dtype}, which halfgpu does not read (use float32, float16, int32, int64, uint8 or int8)")]
    /// An array has a dtype halfgpu does not handle.
    DType {
        /// The file.
        path: String,
        /// Array name.
        name: String,
        /// Element type.
        dtype: String,
    },
}

fn dtype_of(descr: &str) -> Option<TensorType> {
    Some(match descr {
        "<f4" => TensorType::Float32,
        "<f2" => TensorType::Float16,
        "<i4" => TensorType::Int32,
        "<i8" => TensorType::Int64,
        "|u1" | "<u1" => TensorType::UInt8,
        "|i1" | "<i1" => TensorType::Int8,
        "|b1" => TensorType::Bool,
        _ => return None,
    })
}

/// Reads every array of an `.npz` archive, in the archive's order.
pub fn read_npz(path: impl AsRef<Path>) -> Result<Vec<(String, NpArray)>, NpzError> {
    let path = path.as_ref();
    let io = |source: std::io::Error| NpzError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut archive = npyz::npz::NpzArchive::open(path).map_err(io)?;
    let names: Vec<String> = archive.array_names().map(str::to_string).collect();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let Some(file) = archive.by_name(&name).map_err(io)? else {
            continue;
        };
        let descr = file.dtype().descr().trim_matches('\'').to_string();
        let dtype = dtype_of(&descr).ok_or_else(|| NpzError::DType {
            path: path.display().to_string(),
            name: name.clone(),
            dtype: descr.clone(),
        })?;
        let shape: Vec<usize> = file.shape().iter().map(|&d| d as usize).collect();
        let bytes: Vec<u8> = match dtype {
            TensorType::Float32 => {
                bytemuck::cast_slice(&file.into_vec::<f32>().map_err(io)?).to_vec()
            }
            TensorType::Float16 => {
                let raw = file.into_vec::<u16>().map_err(io)?;
                bytemuck::cast_slice(&raw).to_vec()
            }
            TensorType::Int32 => {
                bytemuck::cast_slice(&file.into_vec::<i32>().map_err(io)?).to_vec()
            }
            TensorType::Int64 => {
                bytemuck::cast_slice(&file.into_vec::<i64>().map_err(io)?).to_vec()
            }
            TensorType::UInt8 | TensorType::Bool => file.into_vec::<u8>().map_err(io)?,
            _ => bytemuck::cast_slice(&file.into_vec::<i8>().map_err(io)?).to_vec(),
        };
        out.push((
            name,
            NpArray {
                shape,
                dtype,
                bytes,
            },
        ));
    }
    Ok(out)
}

/// Writes arrays into a new `.npz` archive (float32, int32, int64, uint8 and int8).
pub fn write_npz(path: impl AsRef<Path>, arrays: &[(String, NpArray)]) -> Result<(), NpzError> {
    let path = path.as_ref();
    let io = |source: std::io::Error| NpzError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut npz = npyz::npz::NpzWriter::create(path).map_err(io)?;
    for (name, a) in arrays {
        let shape: Vec<u64> = a.shape.iter().map(|&d| d as u64).collect();
        let opts = zip::write::FileOptions::default();
        macro_rules! put {
            ($t:ty) => {{
                let values: &[$t] = bytemuck::try_cast_slice(&a.bytes).map_err(|_| {
                    io(std::io::Error::other(format!(
                        "array {name:?}: byte length not a multiple of its element size"
                    )))
                })?;
                let mut w = npz
                    .array::<$t>(name, opts)
                    .map_err(io)?
                    .default_dtype()
                    .shape(&shape)
                    .begin_nd()
                    .map_err(io)?;
                w.extend(values.iter().copied()).map_err(io)?;
                w.finish().map_err(io)?;
            }};
        }
        match a.dtype {
            TensorType::Float32 => put!(f32),
            TensorType::Int32 => put!(i32),
            TensorType::Int64 => put!(i64),
            TensorType::UInt8 | TensorType::Bool => put!(u8),
            TensorType::Int8 => put!(i8),
            other => {
                return Err(NpzError::DType {
                    path: path.display().to_string(),
                    name: name.clone(),
                    dtype: other.to_string(),
                })
            }
        }
    }
    npz.zip_writer()
        .finish()
        .map_err(|e| io(std::io::Error::other(e)))?;
    Ok(())
}
