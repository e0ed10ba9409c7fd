// A bidirectional layer needs the whole sequence, so such a model has no streaming API.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), bidirectional(lstm(8)), dense(1) >
}

fn main() {
    let net = Net::new(0);
    let _ = net.stream();
}
