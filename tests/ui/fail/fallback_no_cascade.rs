// After a spec error the struct and its API still exist, so code using it adds no errors of its own.
use rnn_runtime::ndarray::{Array2, Array3};
use rnn_runtime::{model, Adam, Fit};

model! {
    /// Predicts the next sample.
    pub struct Net < input(20, 1), lstn(8), dense(1) >
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
    let history = net.fit(&x, &y, Fit::new(Adam::new(1e-2)).epochs(2))?;
    net.save_safetensors("net.safetensors")?;
    net.load_safetensors("net.safetensors")?;
    println!("{one:?} {all} {out} {loss} {batch_loss} {grads:?} {:?} {}", history.loss, Net::PARAMS);
    Ok(())
}
