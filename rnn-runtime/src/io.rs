//! Parameters and gradients in safetensors files, under PyTorch-style names.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::error::{Error, Result};
use crate::params::{ParamSpec, Params};

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn st_error(path: &Path) -> impl FnOnce(safetensors::SafeTensorError) -> Error + '_ {
    move |source| Error::SafeTensors {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one:
/// a temporary file in the same directory, flushed and synced, renamed over the target.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique per process and call, so concurrent saves never share a temporary file.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
    let written = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(source) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_error(path)(source));
    }
    // Persist the rename itself; not every platform can sync a directory, so best effort.
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Saves named f32 tensors to a safetensors file atomically.
pub(crate) fn save_tensors<'a>(
    path: &Path,
    tensors: impl Iterator<Item = (&'static ParamSpec, &'a [f32])>,
) -> Result<()> {
    let owned: Vec<(&'static ParamSpec, Vec<u8>)> = tensors
        .map(|(spec, values)| (spec, values.iter().flat_map(|v| v.to_le_bytes()).collect()))
        .collect();
    let views = owned
        .iter()
        .map(|(spec, bytes)| {
            TensorView::new(Dtype::F32, spec.shape.to_vec(), bytes).map(|v| (spec.name, v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(st_error(path))?;
    let bytes = safetensors::serialize(views, &None).map_err(st_error(path))?;
    write_atomic(path, &bytes)
}

/// Saves every parameter of `model` under its canonical name.
pub fn save_safetensors<M: Params>(model: &M, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let mut values = Vec::with_capacity(M::param_specs().len());
    model.visit_params(&mut |t| values.push(t.to_vec()));
    save_tensors(
        path,
        M::param_specs()
            .iter()
            .zip(values.iter().map(Vec::as_slice)),
    )
}

/// Reads every tensor `specs` names from a safetensors file, checking names, dtypes and
/// shapes, and refusing tensors that are not in `specs`. Returns the values in `specs`
/// order.
pub(crate) fn read_tensors(path: &Path, specs: &[ParamSpec]) -> Result<Vec<Vec<f32>>> {
    let bytes = fs::read(path).map_err(io_error(path))?;
    tensors_from_bytes(&bytes, path, specs)
}

/// [`read_tensors`] on the bytes of a file; `path` names it in errors.
fn tensors_from_bytes(bytes: &[u8], path: &Path, specs: &[ParamSpec]) -> Result<Vec<Vec<f32>>> {
    let file = SafeTensors::deserialize(bytes).map_err(st_error(path))?;
    let mut names: Vec<String> = file.names().into_iter().cloned().collect();
    names.sort();
    if let Some(extra) = names
        .iter()
        .find(|n| !specs.iter().any(|s| s.name == n.as_str()))
    {
        return Err(Error::UnexpectedTensor {
            path: path.to_path_buf(),
            name: extra.clone(),
        });
    }
    specs
        .iter()
        .map(|spec| {
            let view = file.tensor(spec.name).map_err(|_| Error::MissingTensor {
                path: path.to_path_buf(),
                name: spec.name.to_string(),
            })?;
            param_values(&view, path, spec.name, spec)
        })
        .collect()
}

/// The values of a tensor that holds parameter `spec`, refused unless it is F32 of the
/// spec's shape; `name` is how errors call it (the file's name, the model's, or both).
pub(crate) fn param_values(
    view: &TensorView<'_>,
    path: &Path,
    name: &str,
    spec: &ParamSpec,
) -> Result<Vec<f32>> {
    if view.dtype() != Dtype::F32 {
        return Err(Error::TensorDtype {
            path: path.to_path_buf(),
            name: name.to_string(),
            got: format!("{:?}", view.dtype()),
        });
    }
    if view.shape() != spec.shape {
        return Err(Error::TensorShape {
            path: path.to_path_buf(),
            name: name.to_string(),
            expected: spec.shape.to_vec(),
            got: view.shape().to_vec(),
        });
    }
    Ok(le_f32s(view.data()))
}

/// Little-endian f32 values, as safetensors stores them.
pub(crate) fn le_f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Copies checked values, one vector per parameter tensor in canonical order, into
/// `model`: the last step of every loader, after everything has been checked.
pub(crate) fn set_params<M: Params>(model: &mut M, values: &[Vec<f32>]) {
    let mut next = values.iter();
    model.visit_params_mut(&mut |t| {
        if let Some(v) = next.next() {
            t.copy_from_slice(v);
        }
    });
}

/// Loads every parameter of `model` from a safetensors file. Every name, dtype and
/// shape is checked before anything changes: on error the model is untouched.
pub fn load_safetensors<M: Params>(model: &mut M, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(io_error(path))?;
    load_safetensors_from_bytes(model, &bytes, path)
}

/// [`load_safetensors`] on the bytes of a safetensors file already in memory; `path` only
/// names it in errors. Hidden: the entry point of the fuzz targets and corruption tests,
/// which would otherwise spend their time writing files.
#[doc(hidden)]
pub fn load_safetensors_from_bytes<M: Params>(
    model: &mut M,
    bytes: &[u8],
    path: &Path,
) -> Result<()> {
    let values = tensors_from_bytes(bytes, path, M::param_specs())?;
    set_params(model, &values);
    Ok(())
}

/// [`save_safetensors`], under its old name.
#[deprecated(
    since = "0.2.0",
    note = "renamed `save_safetensors`, as the generated method"
)]
pub fn save_params<M: Params>(model: &M, path: impl AsRef<Path>) -> Result<()> {
    save_safetensors(model, path)
}

/// [`load_safetensors`], under its old name.
#[deprecated(
    since = "0.2.0",
    note = "renamed `load_safetensors`, as the generated method"
)]
pub fn load_params<M: Params>(model: &mut M, path: impl AsRef<Path>) -> Result<()> {
    load_safetensors(model, path)
}
