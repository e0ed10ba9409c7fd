// Every generated method accepts the documented argument types; the fallback after a spec error mirrors these signatures.
use rnn_runtime::ndarray::{Array2, Array3};
use rnn_runtime::{model, Adam, Fit};

model! {
    /// Predicts the next sample.
    pub struct Net < input(20, 1), lstm(8), dense(1) >
}

fn main() -> Result<(), rnn_runtime::Error> {
    let x = Array3::<f32>::zeros((4, Net::TIMESTEPS, Net::FEATURES));
    let y = Array2::<f32>::zeros((4, Net::OUTPUTS));
    let mut net = Net::new(1);
    let one: [f32; 1] = net.predict_one(&[[0.0; 1]; 20]);
    let all = net.predict(&x)?;
    let out = net.forward(&x)?;
    let loss = net.evaluate(&x, &y)?;
    let (batch_loss, grads) = net.loss_and_grads(&x, &y)?;
    let history = net.fit(&x, &y, Fit::new(Adam::new(1e-2)).epochs(2).verbose(false))?;
    let path = std::env::temp_dir().join(format!("rnn-ui-full-api-{}.safetensors", std::process::id()));
    net.save_safetensors(&path)?;
    net.load_safetensors(&path)?;
    std::fs::remove_file(&path).ok();
    assert_eq!(all.dim(), (4, 1));
    assert_eq!(out, all);
    assert_eq!(history.loss.len(), 2);
    assert!(one[0].is_finite() && loss.is_finite() && batch_loss.is_finite());
    assert_eq!(grads.as_slice().len(), Net::PARAMS);
    Ok(())
}
