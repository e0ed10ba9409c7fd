// After one spec error, every generated item (consts, methods, stream, state and workspace types, traits) still exists, so the spec error is the only error.
use rnn_runtime::ndarray::{Array2, Array3};
use rnn_runtime::{model, Adam, Fit, Loss, Network, Params};

model! {
    /// Predicts the next sample.
    pub struct Net < input(20, 1), lstm(8, activation = softmax), dense(1) >
}

fn traits<N: Network + Params + Clone + PartialEq + std::fmt::Debug + std::fmt::Display>(net: &N) -> usize {
    let _ = net;
    <N as Params>::PARAMS + <N as Network>::OUTPUTS
}

fn main() -> Result<(), rnn_runtime::Error> {
    let x = Array3::<f32>::zeros((4, Net::TIMESTEPS, Net::FEATURES));
    let y = Array2::<f32>::zeros((4, Net::OUTPUTS));
    let mut net = Net::new(1);
    let built = Net::from_le_bytes(&[0u8; Net::PARAMS * 4]);
    let one: [f32; 1] = net.predict_one(&[[0.0; 1]; 20]);

    let mut stream: NetStream<'_> = net.stream();
    let step: [f32; 1] = stream.push(&[0.0]);
    let state: &NetState = stream.state();
    let steps: usize = stream.steps();
    println!("{state:?} {steps} {step:?}");
    stream.reset();
    let state: NetState = stream.clone().into_state();
    let resumed = net.stream_from(state);
    println!("{resumed:?}");
    let zero = NetState::new();
    let default = NetState::default();

    let all = net.predict(&x)?;
    let out = net.forward(&x)?;
    let (from, states) = net.forward_from(&x, &[zero.clone(), default])?;
    let loss = net.evaluate(&x, &y)?;
    let loss_with = net.evaluate_with(&x, &y, Loss::Mae)?;
    let (batch_loss, grads) = net.loss_and_grads(&x, &y)?;
    let (_, _) = net.loss_and_grads_with(&x, &y, Loss::Mse, 7)?;
    let history = net.fit(&x, &y, Fit::new(Adam::new(1e-2)).epochs(2))?;

    net.save_safetensors("net.safetensors")?;
    net.load_safetensors("net.safetensors")?;
    net.load_keras("net.keras")?;
    net.load_keras_weights("net.weights.h5")?;
    net.load_torch("net.pt", |name| Some(name.to_owned()))?;
    #[allow(deprecated)]
    net.load_state_dict("net.pt", |name| Some(name.to_owned()))?;
    net.save_onnx("net.onnx")?;
    let bytes: Vec<u8> = net.to_le_bytes();
    let table: String = net.summary();
    let workspace = NetWorkspace::default();

    println!(
        "{one:?} {all} {out} {from} {} {loss} {loss_with} {batch_loss} {grads:?} {:?} {} {table} {net} {net:?} {built:?} {workspace:?} {}",
        states.len(),
        history.loss,
        bytes.len(),
        traits(&net),
    );
    Ok(())
}
