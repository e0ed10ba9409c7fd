// An empty layer list is reported on the `<`.
use rnn_runtime::model;

model! {
    struct Net < >
}

fn main() {}
