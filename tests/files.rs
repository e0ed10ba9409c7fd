//! Parameter files: every name, shape and dtype is checked before anything changes,
//! errors name the offending tensor, and saving never leaves a partial file.

use std::path::{Path, PathBuf};

use rnn_runtime::{model, Adam, Error, Params};
use safetensors::tensor::{Dtype, TensorView};

model! { struct Small < input(3, 2), gru(2), dense(1) > }
model! { struct Other < input(3, 2), lstm(2), dense(1) > }

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rnn-files-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `Small`'s tensors with `edit` applied to the (name, dtype, shape, bytes) list.
fn write_edited(path: &Path, edit: impl FnOnce(&mut Vec<(String, Dtype, Vec<usize>, Vec<u8>)>)) {
    let net = Small::new(1);
    let mut tensors = Vec::new();
    let mut at = 0;
    let specs = Small::param_specs();
    net.visit_params(&mut |t| {
        let spec = specs[at];
        at += 1;
        let bytes = t.iter().flat_map(|v| v.to_le_bytes()).collect();
        tensors.push((
            spec.name.to_string(),
            Dtype::F32,
            spec.shape.to_vec(),
            bytes,
        ));
    });
    edit(&mut tensors);
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize_to_file(views, &None, path).unwrap();
}

fn load_error(path: &Path) -> Error {
    let mut net = Small::new(7);
    let before = net.clone();
    let err = net.load_safetensors(path).unwrap_err();
    assert_eq!(net, before, "a failed load must leave the model untouched");
    err
}

#[test]
fn each_kind_of_mismatch_names_the_tensor() {
    let dir = temp_dir("mismatch");
    let p = dir.join("m.safetensors");

    write_edited(&p, |t| {
        t.remove(1);
    });
    let err = load_error(&p);
    assert!(
        matches!(&err, Error::MissingTensor { name, .. } if name == "0.weight_hh"),
        "{err}"
    );
    assert!(
        err.to_string().ends_with("tensor `0.weight_hh` is missing"),
        "{err}"
    );

    write_edited(&p, |t| {
        t.push(("2.weight".into(), Dtype::F32, vec![1], vec![0; 4]))
    });
    let err = load_error(&p);
    assert!(
        err.to_string()
            .ends_with("tensor `2.weight` is not a parameter of this model"),
        "{err}"
    );

    write_edited(&p, |t| {
        t[0].2 = vec![2, 6];
    });
    let err = load_error(&p);
    assert!(
        err.to_string()
            .ends_with("tensor `0.weight_ih` has shape [2, 6], expected [6, 2]"),
        "{err}"
    );

    write_edited(&p, |t| {
        let (_, dtype, shape, bytes) = &mut t[4];
        *dtype = Dtype::F64;
        *shape = vec![1, 2];
        bytes.resize(16, 0);
    });
    let err = load_error(&p);
    assert!(
        err.to_string()
            .ends_with("tensor `1.weight` has dtype F64, expected F32"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unreadable_and_corrupt_files_are_errors() {
    let dir = temp_dir("corrupt");
    let err = load_error(&dir.join("absent.safetensors"));
    assert!(matches!(err, Error::Io { .. }), "{err}");
    let p = dir.join("bad.safetensors");
    std::fs::write(&p, b"not a safetensors file at all").unwrap();
    assert!(matches!(load_error(&p), Error::SafeTensors { .. }));
    Small::new(1).save_safetensors(&p).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() - 3]).unwrap();
    assert!(matches!(load_error(&p), Error::SafeTensors { .. }));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn saving_replaces_the_file_whole_and_leaves_no_temporary() {
    let dir = temp_dir("atomic");
    let p = dir.join("w.safetensors");
    Small::new(1).save_safetensors(&p).unwrap();
    let second = Small::new(2);
    second.save_safetensors(&p).unwrap();
    let mut back = Small::new(3);
    back.load_safetensors(&p).unwrap();
    assert_eq!(back, second);
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("w.safetensors")]);
    let err = second
        .save_safetensors(dir.join("no/such/dir/w.safetensors"))
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn adam_refuses_gradients_of_another_model() {
    let x = ndarray::Array3::<f32>::zeros((1, 3, 2));
    let y = ndarray::Array2::<f32>::zeros((1, 1));
    let (_, grads) = Other::new(1).loss_and_grads(&x, &y).unwrap();
    let mut net = Small::new(1);
    let before = net.clone();
    let err = Adam::new(1e-3).step(&mut net, &grads).unwrap_err();
    assert!(matches!(err, Error::GradsMismatch { .. }), "{err}");
    assert_eq!(net, before);
}

#[test]
fn the_parameter_count_is_pytorchs() {
    // nn.GRU(2, 2): 3·2·(2 + 2) + 2·3·2 = 36; nn.Linear(2, 1): 3.
    assert_eq!(Small::PARAMS, 39);
    // nn.LSTM(2, 2): 4·2·(2 + 2) + 2·4·2 = 48; nn.Linear(2, 1): 3.
    assert_eq!(Other::PARAMS, 51);
    let total: usize = Small::param_specs().iter().map(|s| s.len()).sum();
    assert_eq!(total, Small::PARAMS);
}
