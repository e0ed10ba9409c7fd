//! `predict_one` and streaming allocate nothing, and neither do training steps after
//! the first batch (through the layers, through `loss_and_grads_into` with
//! `Adam::step`, and inside `fit`): counted by a global allocator.
//!
//! The work buffers of the kernels are sized by the first batch and reused, and the
//! matrix products read their operands in place, without packing buffers.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ndarray::{Array2, Array3};
use rnn_runtime::{
    loss_and_grads_into, model, mse_grad, Adam, Fit, Grads, Loss, Network, Optimizer, Params,
};

struct Counting;

thread_local! {
    // Per thread, so that tests running in parallel do not count each other.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    static LIVE_BYTES: Cell<isize> = const { Cell::new(0) };
}

fn count(allocations: usize, bytes: isize) {
    ALLOCATIONS.with(|n| n.set(n.get() + allocations));
    LIVE_BYTES.with(|n| n.set(n.get() + bytes));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(1, layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(0, -(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(1, new_size as isize - layout.size() as isize);
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

fn bytes_kept_by(f: impl FnOnce()) -> isize {
    let before = LIVE_BYTES.with(Cell::get);
    f();
    LIVE_BYTES.with(Cell::get) - before
}

model! { struct Stack < input(20, 3), lstm(16, return_sequences = true), gru(8, return_sequences = true), simple_rnn(8), dense(4, activation = relu), dense(2) > }

#[test]
fn predict_one_allocates_nothing() {
    let net = Stack::new(1);
    let x = [[0.5f32; 3]; 20];
    let mut y = [0.0f32; 2];
    if std::env::var_os("RNN_PORTABLE").is_some() {
        // Reading the switch that forces portable kernels copies its value once.
        net.predict_one(&x);
    }
    let n = allocations_in(|| y = net.predict_one(&x));
    assert_eq!(n, 0);
    assert!(y.iter().all(|v| v.is_finite()));
}

#[test]
fn training_steps_allocate_nothing_after_the_first_batch() {
    training_steps_allocate_nothing(None);
}

/// The packed layout of a batch of varying lengths lives in reused buffers too.
#[test]
fn training_steps_with_lengths_allocate_nothing_after_the_first_batch() {
    training_steps_allocate_nothing(Some(&[20, 17, 15, 11, 9, 6, 3, 1]));
}

fn training_steps_allocate_nothing(lengths: Option<&[usize]>) {
    let mut net = Stack::new(1);
    let batch = 8;
    let x = Array3::from_shape_fn((batch, 20, 3), |(b, t, f)| ((b + t + f) as f32).sin());
    let y = Array2::from_shape_fn((batch, 2), |(b, o)| ((b * o) as f32).cos());
    let (xs, ys) = (x.as_slice().unwrap(), y.as_slice().unwrap());
    let mut ws = <Stack as Network>::Workspace::default();
    let mut grads = vec![0.0f32; Stack::PARAMS];
    let mut d_out = vec![0.0f32; batch * 2];
    let mut adam = Adam::new(1e-3);
    let mut step = |net: &mut Stack| {
        let out = net.forward_batch(xs, batch, lengths, None, &mut ws);
        let loss = mse_grad(out, ys, &mut d_out);
        grads.fill(0.0);
        net.backward_batch(&d_out, &mut ws, &mut grads);
        adam.update(net, &grads).unwrap();
        loss
    };
    let first = step(&mut net);
    let mut last = first;
    let kept = bytes_kept_by(|| {
        for _ in 0..5 {
            let n = allocations_in(|| last = step(&mut net));
            assert_eq!(n, 0, "allocations in one step");
        }
    });
    assert_eq!(kept, 0, "bytes kept by 5 training steps after the first");
    assert!(last < first, "{first} → {last}");
    assert_eq!(<Stack as Params>::PARAMS, Stack::PARAMS);
}

/// The hand-written loop: gradients into reused `Grads`, then `Adam::step`.
#[test]
fn loss_and_grads_into_with_adam_allocates_nothing_after_the_first_batch() {
    let mut net = Stack::new(2);
    let x = Array3::from_shape_fn((32, 20, 3), |(b, t, f)| ((b + t + f) as f32 * 0.3).sin());
    let y = Array2::from_shape_fn((32, 2), |(b, o)| ((b * o) as f32).cos());
    let mut grads = Grads::zeros::<Stack>();
    let mut adam = Adam::new(1e-3);
    // Two shards of 16 samples, as a batch of 32 runs in `fit`.
    let (xv, yv) = (x.view().into_dyn(), y.view().into_dyn());
    let first =
        loss_and_grads_into(&net, xv.clone(), yv.clone(), Loss::Mse, 0, &mut grads).unwrap();
    adam.step(&mut net, &grads).unwrap();
    let mut last = first;
    for seed in 1..4 {
        let n = allocations_in(|| {
            last = loss_and_grads_into(&net, xv.clone(), yv.clone(), Loss::Mse, seed, &mut grads)
                .unwrap();
        });
        assert_eq!(n, 0, "allocations of loss_and_grads_into, step {seed}");
        let n = allocations_in(|| adam.step(&mut net, &grads).unwrap());
        assert_eq!(n, 0, "allocations of Adam::step, step {seed}");
    }
    assert!(last < first, "{first} → {last}");
    // The generated method is the same call with the model's loss and seed 0.
    let mut again = Grads::zeros::<Stack>();
    let value = net.loss_and_grads_into(&x, &y, &mut again).unwrap();
    let (want, fresh) = net.loss_and_grads(&x, &y).unwrap();
    assert_eq!((value, again.as_slice()), (want, fresh.as_slice()));
    let n = allocations_in(|| {
        net.loss_and_grads_into(&x, &y, &mut again).unwrap();
    });
    assert_eq!(n, 0, "allocations of the generated method");
}

/// `fit` allocates per call and per epoch (its history, the shuffled order), never per
/// step: an epoch of twice the steps allocates as often.
#[test]
fn fit_allocates_nothing_per_step() {
    let fit_allocations = |samples: usize| {
        let x = Array3::from_shape_fn((samples, 20, 3), |(b, t, f)| ((b + t + f) as f32).sin());
        let y = Array2::from_shape_fn((samples, 2), |(b, o)| ((b * o) as f32).cos());
        let mut net = Stack::new(3);
        let options = Fit::new(Adam::new(1e-3))
            .epochs(1)
            .batch_size(16)
            .verbose(false);
        allocations_in(|| {
            net.fit(&x, &y, options).unwrap();
        })
    };
    warm_up_if_portable(|| {
        fit_allocations(32);
    });
    assert_eq!(fit_allocations(64), fit_allocations(128));
}

model! {
    /// Many-to-many: per-step dense head on a stack of sequence layers.
    struct Tagger < input(20, 3), lstm(16, return_sequences = true), gru(8, return_sequences = true),
        dense(4, activation = tanh), dense(2) >
}
model! {
    /// Bidirectional layers run layer by layer over stack arrays.
    struct Bi < input(20, 3), bidirectional(lstm(8, return_sequences = true)), dropout(0.2),
        bidirectional(gru(4)), dense(2, activation = softmax) >
}
model! { struct BiSeq < input(20, 3), bidirectional(simple_rnn(6, return_sequences = true, recurrent_dropout = 0.2)), dense(2) > }
model! { struct Text < input(20), embedding(50, 8), lstm(8, dropout = 0.3), dense(3, activation = gelu) > }
model! { struct TextBi < input(20), embedding(50, 8), bidirectional(gru(4, return_sequences = true)), dense(3) > }

/// Runs `f` once uncounted where the portable kernels are forced: reading that switch
/// copies its value once per process.
fn warm_up_if_portable(f: impl FnOnce()) {
    if std::env::var_os("RNN_PORTABLE").is_some() {
        f();
    }
}

fn sample() -> [[f32; 3]; 20] {
    std::array::from_fn(|t| std::array::from_fn(|f| ((t * 3 + f) as f32 * 0.37).sin()))
}

fn tokens() -> [u32; 20] {
    std::array::from_fn(|t| (t * 7 % 50) as u32)
}

#[test]
fn predict_one_of_sequence_bidirectional_and_token_models_allocates_nothing() {
    let x = sample();
    let ids = tokens();

    let tagger = Tagger::new(1);
    let mut per_step = [[0.0f32; 2]; 20];
    warm_up_if_portable(|| {
        let _ = tagger.predict_one(&x);
    });
    assert_eq!(allocations_in(|| per_step = tagger.predict_one(&x)), 0);
    assert!(per_step.as_flattened().iter().all(|v| v.is_finite()));

    let bi = Bi::new(2);
    let mut y = [0.0f32; 2];
    warm_up_if_portable(|| {
        let _ = bi.predict_one(&x);
    });
    assert_eq!(allocations_in(|| y = bi.predict_one(&x)), 0);
    assert!((y[0] + y[1] - 1.0).abs() < 1e-5, "softmax output {y:?}");

    let bi_seq = BiSeq::new(3);
    warm_up_if_portable(|| {
        let _ = bi_seq.predict_one(&x);
    });
    assert_eq!(allocations_in(|| per_step = bi_seq.predict_one(&x)), 0);
    assert!(per_step.as_flattened().iter().all(|v| v.is_finite()));

    let text = Text::new(4);
    let mut scores = [0.0f32; 3];
    warm_up_if_portable(|| {
        let _ = text.predict_one(&ids);
    });
    assert_eq!(
        allocations_in(|| scores = text.predict_one(&ids).unwrap()),
        0
    );
    assert!(scores.iter().all(|v| v.is_finite()));

    let text_bi = TextBi::new(5);
    let mut per_step = [[0.0f32; 3]; 20];
    warm_up_if_portable(|| {
        let _ = text_bi.predict_one(&ids);
    });
    assert_eq!(
        allocations_in(|| per_step = text_bi.predict_one(&ids).unwrap()),
        0
    );
    assert!(per_step.as_flattened().iter().all(|v| v.is_finite()));
}

#[test]
fn streaming_allocates_nothing() {
    let x = sample();
    let net = Stack::new(1);
    warm_up_if_portable(|| {
        let _ = net.predict_one(&x);
    });
    let mut last = [0.0f32; 2];
    // Three windows' worth of steps, with a pause (into_state, stream_from) and a reset.
    let n = allocations_in(|| {
        let mut stream = net.stream();
        for x_t in x.iter().chain(&x) {
            last = stream.push(x_t);
        }
        let state = stream.into_state();
        let mut stream = net.stream_from(state);
        for x_t in &x {
            last = stream.push(x_t);
        }
        stream.reset();
        for x_t in &x {
            last = stream.push(x_t);
        }
    });
    assert_eq!(n, 0, "allocations while streaming");
    assert_eq!(
        last,
        net.predict_one(&x),
        "after reset: one sample from zero"
    );

    let per_step = Tagger::new(2);
    let mut stream = per_step.stream();
    let mut outs = [[0.0f32; 2]; 20];
    let n = allocations_in(|| {
        for (o, x_t) in outs.iter_mut().zip(&x) {
            *o = stream.push(x_t);
        }
    });
    assert_eq!(n, 0, "allocations while streaming a many-to-many model");
    assert_eq!(outs, per_step.predict_one(&x));

    let text = Text::new(3);
    let ids = tokens();
    let mut stream = text.stream();
    let mut scores = [0.0f32; 3];
    let n = allocations_in(|| {
        for &id in &ids {
            scores = stream.push(id).unwrap();
        }
    });
    assert_eq!(n, 0, "allocations while streaming tokens");
    assert_eq!(scores, text.predict_one(&ids).unwrap());
}
