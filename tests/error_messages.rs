//! The message a user sees for each kind of bad input, asserted word for word, so the
//! table the guide shows (`rnn-runtime/docs/reliability.md`, "Bad input") stays true.
//! `cargo test --test error_messages -- --nocapture` prints the table.

use ndarray::{s, Array2, Array3};
use rnn::sine_windows;
use rnn_runtime::{model, Adam, Fit, Sgd};

model! { struct Sine < input(10, 1), lstm(8), dense(1) > }

fn options() -> Fit<Adam> {
    Fit::new(Adam::new(1e-2))
        .epochs(2)
        .batch_size(8)
        .verbose(false)
}

#[test]
fn every_bad_input_has_a_message_that_says_what_and_where() {
    let dir = std::env::temp_dir().join(format!("rnn-messages-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (x, y) = sine_windows(32, 10);
    let mut net = Sine::new(0);
    let mut rows: Vec<(&str, String)> = Vec::new();
    let mut check = |what: &'static str, got: rnn_runtime::Error, want: &str| {
        let shown = got.to_string().replace(&format!("{}/", dir.display()), "");
        assert_eq!(shown, want, "{what}");
        rows.push((what, shown));
    };

    let mut nan_x = x.clone();
    nan_x[[17, 4, 0]] = f32::NAN;
    check(
        "NaN in x",
        net.fit(&nan_x, &y, options()).unwrap_err(),
        "x sample 17, step 4, feature 0 is NaN: inputs must be finite",
    );
    let mut inf_y = y.clone();
    inf_y[[9, 0]] = f32::INFINITY;
    check(
        "infinity in y",
        net.fit(&x, &inf_y, options()).unwrap_err(),
        "y row 9 is invalid for mse: value inf in column 0 is not finite",
    );
    check(
        "zero batch size",
        net.fit(&x, &y, options().batch_size(0)).unwrap_err(),
        "invalid training option: batch_size must be at least 1",
    );
    check(
        "empty data",
        net.fit(
            &Array3::<f32>::zeros((0, 10, 1)),
            &Array2::<f32>::zeros((0, 1)),
            options(),
        )
        .unwrap_err(),
        "x holds no samples",
    );
    check(
        "validation split leaving no validation samples",
        net.fit(&x, &y, options().validation_split(1e-20)).unwrap_err(),
        "invalid training option: validation_split 0.00000000000000000001 leaves no validation samples out of 32",
    );
    check(
        "validation split leaving no training samples",
        net.fit(&x, &y, options().validation_split(0.99))
            .unwrap_err(),
        "invalid training option: validation_split 0.99 leaves no training samples out of 32",
    );
    check(
        "x and y with different sample counts",
        net.fit(&x, y.slice(s![..31, ..]), options()).unwrap_err(),
        "x has 32 samples but y has 31; they must match",
    );
    check(
        "x of the wrong shape",
        net.fit(&Array3::<f32>::zeros((32, 9, 1)), &y, options())
            .unwrap_err(),
        "x has shape [32, 9, 1], but the model expects [batch, 10, 1]",
    );
    check(
        "a diverging run",
        Sine::new(0).fit(
            &x,
            &y,
            Fit::new(Sgd::new(1e30)).batch_size(8).shuffle(false).verbose(false),
        )
        .unwrap_err(),
        "training diverged: the loss of epoch 1, step 2 is not finite; the model keeps the parameters of the last finite step",
    );
    check(
        "a bad hyperparameter",
        net.fit(
            &x,
            &y,
            Fit::new(Adam::new(1e-3).betas(1.5, 0.999)).verbose(false),
        )
        .unwrap_err(),
        "invalid training option: beta1 must be in [0, 1), got 1.5",
    );

    let weights = dir.join("net.safetensors");
    Sine::new(0).save_safetensors(&weights).unwrap();
    let bytes = std::fs::read(&weights).unwrap();
    let truncated = dir.join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    check(
        "a truncated safetensors file",
        net.load_safetensors(&truncated).unwrap_err(),
        "truncated.safetensors: not a valid safetensors file: the data section does not match the header's offsets (truncated or damaged)",
    );
    check(
        "a missing file",
        net.load_safetensors(dir.join("missing.safetensors"))
            .unwrap_err(),
        "missing.safetensors: No such file or directory (os error 2)",
    );

    let state = dir.join("run.state");
    net.fit(&x, &y, options().save_state(&state)).unwrap();
    check(
        "resuming with another batch size",
        net.fit(&x, &y, options().batch_size(4).resume(&state))
            .unwrap_err(),
        "run.state: the training state was saved by a run with batch_size 8, but this run has 4",
    );
    check(
        "resuming with other data",
        net.fit(&x, &(&y * 2.0), options().resume(&state)).unwrap_err(),
        "run.state: the training state was saved by a run with data fingerprint 8eeb6a82e5eaa1f4, but this run has 985bf2d8cef50fcf (x, y, the sample or class weights or the validation data changed)",
    );
    check(
        "resuming from a parameter file",
        net.fit(&x, &y, options().resume(&weights)).unwrap_err(),
        "net.safetensors: cannot resume from this training state: not a training state written by Fit::save_state",
    );
    // PyTorch `.pt` files that are no state_dict, copied beside the others.
    let pt = |name: &str| {
        let path = dir.join(name);
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/torch_pt/");
        std::fs::copy(format!("{fixtures}{name}"), &path).unwrap();
        path
    };
    let map = rnn_runtime::torch::modules(&[("lstm", &[0]), ("fc", &[1])]);
    check(
        "a whole model saved with torch.save(model)",
        net.load_torch(pt("lstm_whole_module.pt"), &map)
            .unwrap_err(),
        "lstm_whole_module.pt: the pickle (data.pkl) names `__main__.BiLstm` at byte 2, which is \
         refused: only a state_dict of tensors is rebuilt and nothing in the file is imported or \
         run; if the file holds a whole model (`torch.save(model)`), save \
         `torch.save(model.state_dict(), path)` instead",
    );
    check(
        "a .pt file whose pickle calls os.system",
        net.load_torch(pt("os_system.pt"), &map).unwrap_err(),
        "os_system.pt: the pickle (data.pkl) names `os.system` at byte 2, which is refused: only \
         a state_dict of tensors is rebuilt and nothing in the file is imported or run; if the \
         file holds a whole model (`torch.save(model)`), save \
         `torch.save(model.state_dict(), path)` instead",
    );
    check(
        "a training checkpoint saved as .pt",
        net.load_torch(pt("lstm_checkpoint.pt"), &map).unwrap_err(),
        "lstm_checkpoint.pt: not a state_dict (tensors by name): it holds a training \
         checkpoint, a dict of 4 entries whose entry `model_state_dict` is a state_dict \
         (`torch.save(checkpoint[\"model_state_dict\"], path)` saves it alone); save the \
         weights with `torch.save(model.state_dict(), path)`",
    );
    std::fs::remove_dir_all(&dir).ok();

    println!("| bad input | message |\n| --- | --- |");
    for (what, message) in rows {
        println!("| {what} | {message} |");
    }
}
