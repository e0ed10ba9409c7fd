// After a spec error, summary(), Display and Debug still exist, so code using them adds no errors; a Debug the user derives is kept, not duplicated.
use rnn_runtime::model;

model! {
    /// Predicts the next sample.
    pub struct Net < input(20, 1), lstn(8), dense(1) >
}

model! {
    /// Derives its own Debug.
    #[derive(Debug)]
    pub struct Derived < input(20, 1), dense(1) >
}

fn main() {
    let net = Net::new(1);
    let table: String = net.summary();
    println!("{table} {net} {net:?}");
    let derived = Derived::new(1);
    println!("{} {derived} {derived:?}", derived.summary());
}
