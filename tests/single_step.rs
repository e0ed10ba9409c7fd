//! The fused single-sample step on the seed shape (`input(20, 1), <cell>(50),
//! dense(1)`) and on widths that fill no block of 16 units, for every cell kind:
//! `predict_one` and `push` allocate nothing, and the weights laid out for the step
//! follow every change of the parameters — an optimiser step, `load_flat`,
//! `visit_params_mut` — so that `predict_one` keeps agreeing with the batch `forward`,
//! whose kernels read other copies of the weights.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ndarray::{Array2, Array3};
use rnn_runtime::flat::{load_flat, to_le_bytes};
use rnn_runtime::{model, Adam, Params};

struct Counting;

thread_local! {
    // Per thread, so that tests running in parallel do not count each other.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

model! { struct SeedLstm < input(20, 1), lstm(50), dense(1) > }
model! { struct SeedGru < input(20, 1), gru(50), dense(1) > }
model! { struct SeedRnn < input(20, 1), simple_rnn(50), dense(1) > }
model! {
    struct Odd < input(6, 3), lstm(7, return_sequences = true), gru(65, return_sequences = true),
        simple_rnn(1, return_sequences = true), lstm(17), dense(2) >
}
model! { struct Bi < input(6, 3), bidirectional(gru(19, return_sequences = true)), bidirectional(lstm(33)), dense(2) > }

/// What the tests need of each model.
trait Case: Params + Sized {
    const F: usize;
    const T: usize;
    fn new(seed: u64) -> Self;
    /// `predict_one` of sample `x` (`[T, F]`, flat), and the same through `push`
    /// where the model streams.
    fn one(&self, x: &[f32]) -> (Vec<f32>, Option<Vec<f32>>);
    /// The batch `forward` of one sample.
    fn batch(&self, x: &[f32]) -> Vec<f32>;
    /// One Adam step on the sample against target zero.
    fn train(&mut self, x: &[f32]);
}

macro_rules! case {
    ($name:ident, $f:literal, $t:literal, $out:literal, $streams:tt) => {
        impl Case for $name {
            const F: usize = $f;
            const T: usize = $t;
            fn new(seed: u64) -> Self {
                $name::new(seed)
            }
            fn one(&self, x: &[f32]) -> (Vec<f32>, Option<Vec<f32>>) {
                let x: [[f32; $f]; $t] = std::array::from_fn(|t| {
                    std::array::from_fn(|f| x[t * $f + f])
                });
                let mut one = [0.0; $out];
                let n = allocations_in(|| one = self.predict_one(&x));
                assert_eq!(n, 0, "allocations in predict_one");
                (one.to_vec(), case!(@push $streams, self, x, $out))
            }
            fn batch(&self, x: &[f32]) -> Vec<f32> {
                let x = Array3::from_shape_vec((1, $t, $f), x.to_vec()).unwrap();
                self.forward(&x).unwrap().iter().copied().collect()
            }
            fn train(&mut self, x: &[f32]) {
                let x = Array3::from_shape_vec((1, $t, $f), x.to_vec()).unwrap();
                let y = Array2::<f32>::from_elem((1, $out), 0.5);
                let (_, grads) = self.loss_and_grads(&x, &y).unwrap();
                Adam::new(0.05).step(self, &grads).unwrap();
            }
        }
    };
    (@push true, $net:ident, $x:ident, $out:literal) => {{
        let mut pushed = [0.0; $out];
        let n = allocations_in(|| {
            let mut stream = $net.stream();
            for x_t in &$x {
                pushed = stream.push(x_t);
            }
        });
        assert_eq!(n, 0, "allocations in push");
        Some(pushed.to_vec())
    }};
    (@push false, $net:ident, $x:ident, $out:literal) => {
        None
    };
}

case!(SeedLstm, 1, 20, 1, true);
case!(SeedGru, 1, 20, 1, true);
case!(SeedRnn, 1, 20, 1, true);
case!(Odd, 3, 6, 2, true);
case!(Bi, 3, 6, 2, false);

/// `predict_one` and `push` agree bit for bit (the same step), allocate nothing, and
/// agree with the batch kernels; returns the prediction.
fn check<M: Case>(net: &M, x: &[f32], what: &str) -> Vec<f32> {
    let (one, pushed) = net.one(x);
    if let Some(pushed) = pushed {
        assert_eq!(one, pushed, "{what}: predict_one against push");
    }
    let batch = net.batch(x);
    for (a, b) in one.iter().zip(&batch) {
        assert!(
            (a - b).abs() <= 1e-4,
            "{what}: {one:?} against the batch {batch:?}"
        );
    }
    one
}

fn follows_every_change<M: Case>() {
    let x: Vec<f32> = (0..M::T * M::F).map(|k| (k as f32 * 0.37).sin()).collect();
    let mut net = M::new(3);
    let start = check(&net, &x, "new");
    net.train(&x);
    let trained = check(&net, &x, "after an optimiser step");
    assert_ne!(trained, start, "the step changed the model");
    load_flat(&mut net, &to_le_bytes(&M::new(4))).unwrap();
    let loaded = check(&net, &x, "after load_flat");
    assert_eq!(loaded, check(&M::new(4), &x, "the model loaded"));
    net.visit_params_mut(&mut |t| t.iter_mut().for_each(|v| *v *= -0.9));
    let scaled = check(&net, &x, "after visit_params_mut");
    assert_ne!(scaled, loaded);
}

#[test]
fn the_lstm_step_follows_every_parameter_change() {
    follows_every_change::<SeedLstm>();
}

#[test]
fn the_gru_step_follows_every_parameter_change() {
    follows_every_change::<SeedGru>();
}

#[test]
fn the_simple_rnn_step_follows_every_parameter_change() {
    follows_every_change::<SeedRnn>();
}

#[test]
fn odd_widths_follow_every_parameter_change() {
    follows_every_change::<Odd>();
}

#[test]
fn bidirectional_layers_follow_every_parameter_change() {
    follows_every_change::<Bi>();
}
