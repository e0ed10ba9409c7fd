//! Training memory: what `fit` holds is the activations kept for BPTT, allocated once
//! for the batch size and reused, so the peak does not grow with epochs, and it
//! follows the formula (O(T · batch · units)) the guide documents in
//! `rnn-runtime/docs/reliability.md`.
//!
//! A global allocator tracks live and peak bytes over all threads, so this binary
//! runs its measurements one at a time under a lock.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Mutex};

use ndarray::{Array2, Array3};
use rnn_runtime::{model, Adam, Fit, Network};

struct Tracking;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
static SERIAL: Mutex<()> = Mutex::new(());

fn grew(bytes: isize) {
    let live = LIVE.fetch_add(bytes, Ordering::SeqCst) + bytes;
    PEAK.fetch_max(live, Ordering::SeqCst);
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        grew(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// Bytes above the live total at its start that `f` held at its peak.
fn peak_of(f: impl FnOnce()) -> isize {
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    f();
    PEAK.load(Ordering::SeqCst) - base
}

fn data<const T: usize, const F: usize>(n: usize) -> (Array3<f32>, Array2<f32>) {
    let x = Array3::from_shape_fn((n, T, F), |(i, t, f)| ((i * 3 + t + f) as f32 * 0.29).sin());
    let y = Array2::from_shape_fn((n, 1), |(i, _)| ((i * 3 + T) as f32 * 0.29).cos());
    (x, y)
}

fn options(epochs: usize, batch: usize) -> Fit<Adam> {
    Fit::new(Adam::new(1e-3))
        .epochs(epochs)
        .batch_size(batch)
        .verbose(false)
}

/// Peak bytes of training `M` for `epochs` on `n` samples in batches of `batch`.
fn training_peak<M: Network<Input = f32>, const T: usize, const F: usize>(
    epochs: usize,
    n: usize,
    batch: usize,
) -> isize {
    let (x, _) = data::<T, F>(n);
    // Targets of the model's output shape: one vector, or one per step.
    let shape = if M::OUTPUT_STEPS > 1 {
        vec![n, M::OUTPUT_STEPS, M::OUTPUTS]
    } else {
        vec![n, M::OUTPUTS]
    };
    let y = ndarray::ArrayD::from_shape_fn(shape, |i| (i[0] as f32 * 0.37).cos());
    let mut net = M::init(1);
    // Unmeasured: the thread pool's first use allocates its registry.
    rnn_runtime::fit(&mut net, x.view().into_dyn(), y.view(), options(1, batch)).unwrap();
    let mut net = M::init(1);
    peak_of(|| {
        rnn_runtime::fit(
            &mut net,
            x.view().into_dyn(),
            y.view(),
            options(epochs, batch),
        )
        .unwrap();
    })
}

/// Bytes the history of 12 epochs may hold: per epoch a loss and a learning rate
/// (f32), seconds (f64), a skip count (usize), and two gradient norms (f32) per layer
/// with parameters, in vectors whose capacity doubles (room for up to 16 epochs).
fn history_bytes(layers: usize) -> isize {
    (16 * (4 + 4 + 8 + 8 + 2 * 4 * layers)) as isize
}

model! { struct Lstm < input(20, 3), lstm(32), dense(1) > }
model! { struct Stack < input(20, 3), lstm(16, return_sequences = true), gru(16), dense(1) > }

#[test]
fn repeated_epochs_do_not_grow_the_peak() {
    let _serial = SERIAL.lock().unwrap();
    // Batches of 16 are one shard; batches of 64 are four, run on one thread here:
    // with two, the packing buffers of concurrent matrix products overlap by chance.
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    for (name, layers, one, many) in [
        (
            "lstm",
            2,
            training_peak::<Lstm, 20, 3>(1, 256, 16),
            training_peak::<Lstm, 20, 3>(12, 256, 16),
        ),
        (
            "stack",
            3,
            training_peak::<Stack, 20, 3>(1, 256, 16),
            training_peak::<Stack, 20, 3>(12, 256, 16),
        ),
        (
            "stack, 4 shards",
            3,
            one_thread.install(|| training_peak::<Stack, 20, 3>(1, 256, 64)),
            one_thread.install(|| training_peak::<Stack, 20, 3>(12, 256, 64)),
        ),
    ] {
        eprintln!("{name}: peak {one} bytes for 1 epoch, {many} for 12");
        // Only the history's few vectors grow, by an epoch's values each epoch; `fit`
        // returns a copy of the run's history, so it is there twice at the end.
        assert!(
            many - one <= 2 * history_bytes(layers) + 128,
            "{name}: the peak grew by {} bytes over 11 more epochs",
            many - one
        );
    }

    // Live bytes at the end of each epoch stay the same: nothing accumulates.
    let (x, y) = data::<20, 3>(256);
    let ends = Arc::new(Mutex::new(Vec::new()));
    let seen = ends.clone();
    let opts = options(12, 16).on_epoch_end(move |_| {
        seen.lock().unwrap().push(LIVE.load(Ordering::SeqCst));
    });
    Lstm::new(0).fit(&x, &y, opts).unwrap();
    let ends = ends.lock().unwrap();
    let spread = ends[1..].iter().max().unwrap() - ends[1..].iter().min().unwrap();
    // Only the history grows.
    assert!(
        spread <= history_bytes(2) + 128,
        "live bytes at epoch ends: {ends:?}"
    );
}

model! { struct L20 < input(20, 3), lstm(32), dense(1) > }
model! { struct L40 < input(40, 3), lstm(32), dense(1) > }
model! { struct G20 < input(20, 3), gru(24), dense(1) > }
model! { struct G40 < input(40, 3), gru(24), dense(1) > }
model! { struct S20 < input(20, 5), simple_rnn(32), dense(1) > }
model! { struct S40 < input(40, 5), simple_rnn(32), dense(1) > }
model! { struct LG20 < input(20, 3), lstm(32, return_sequences = true), gru(16), dense(1) > }
model! { struct LG40 < input(40, 3), lstm(32, return_sequences = true), gru(16), dense(1) > }

/// A layer as the guide's memory formula sees it.
enum Layer {
    /// A recurrent layer: kind factor `k` (LSTM and GRU 11, SimpleRNN 2), input width,
    /// units, whether it has `dropout`/`recurrent_dropout`, whether bidirectional.
    Recurrent(usize, usize, usize, bool, bool),
    /// A dense layer applied per step: input width, units.
    PerStepDense(usize, usize),
}

/// The floats per sample and time step that the guide's formula gives: the input twice
/// (the gathered batch and its time-major copy); per recurrent layer `k · H`, its
/// input width `I` above the first layer (the gradient passed down), `I + H` more
/// with dropout options, and, bidirectional, twice `k · H` plus `I + 2H` (the reversed
/// input, the joined output); per per-step dense layer `I + 6N`.
fn formula(features: usize, layers: &[Layer]) -> usize {
    let mut floats = 2 * features;
    for (i, layer) in layers.iter().enumerate() {
        floats += match *layer {
            Layer::Recurrent(k, input, units, dropout, bidirectional) => {
                let below = if i > 0 { input } else { 0 };
                let masks = if dropout { input + units } else { 0 };
                if bidirectional {
                    2 * k * units + input + 2 * units + below
                } else {
                    k * units + below + masks
                }
            }
            Layer::PerStepDense(input, units) => input + 6 * units,
        };
    }
    floats
}

#[test]
fn training_memory_grows_with_time_steps_as_documented() {
    let _serial = SERIAL.lock().unwrap();
    // Doubling T from 20 to 40 adds 20 · batch rows of kept activations.
    let per_row = |t20: isize, t40: isize| (t40 - t20) as f64 / (20.0 * 16.0 * 4.0);
    let cases = [
        (
            "lstm(32)",
            per_row(
                training_peak::<L20, 20, 3>(1, 256, 16),
                training_peak::<L40, 40, 3>(1, 256, 16),
            ),
            formula(3, &[Layer::Recurrent(11, 3, 32, false, false)]),
        ),
        (
            "gru(24)",
            per_row(
                training_peak::<G20, 20, 3>(1, 256, 16),
                training_peak::<G40, 40, 3>(1, 256, 16),
            ),
            formula(3, &[Layer::Recurrent(11, 3, 24, false, false)]),
        ),
        (
            "simple_rnn(32)",
            per_row(
                training_peak::<S20, 20, 5>(1, 256, 16),
                training_peak::<S40, 40, 5>(1, 256, 16),
            ),
            formula(5, &[Layer::Recurrent(2, 5, 32, false, false)]),
        ),
        (
            "lstm(32) + gru(16)",
            per_row(
                training_peak::<LG20, 20, 3>(1, 256, 16),
                training_peak::<LG40, 40, 3>(1, 256, 16),
            ),
            formula(
                3,
                &[
                    Layer::Recurrent(11, 3, 32, false, false),
                    Layer::Recurrent(11, 32, 16, false, false),
                ],
            ),
        ),
        (
            "lstm(32) with dropout and recurrent_dropout",
            per_row(
                training_peak::<D20, 20, 3>(1, 256, 16),
                training_peak::<D40, 40, 3>(1, 256, 16),
            ),
            formula(3, &[Layer::Recurrent(11, 3, 32, true, false)]),
        ),
        (
            "bidirectional(lstm(16))",
            per_row(
                training_peak::<B20, 20, 3>(1, 256, 16),
                training_peak::<B40, 40, 3>(1, 256, 16),
            ),
            formula(3, &[Layer::Recurrent(11, 3, 16, false, true)]),
        ),
        (
            "lstm(16, return_sequences) + per-step dense(4)",
            per_row(
                training_peak::<P20, 20, 3>(1, 256, 16),
                training_peak::<P40, 40, 3>(1, 256, 16),
            ),
            formula(
                3,
                &[
                    Layer::Recurrent(11, 3, 16, false, false),
                    Layer::PerStepDense(16, 4),
                ],
            ),
        ),
    ];
    for (name, measured, documented) in cases {
        eprintln!("{name}: {measured} floats per sample and step, formula {documented}");
        // Within 1 %: the packing buffer of the matrix product live at the peak
        // depends a little on the shapes.
        let off = (measured - documented as f64).abs() / documented as f64;
        assert!(
            off < 0.01,
            "{name}: {measured} floats per sample and step, formula {documented}"
        );
    }
}

model! { struct D20 < input(20, 3), lstm(32, dropout = 0.1, recurrent_dropout = 0.1), dense(1) > }
model! { struct D40 < input(40, 3), lstm(32, dropout = 0.1, recurrent_dropout = 0.1), dense(1) > }
model! { struct B20 < input(20, 3), bidirectional(lstm(16)), dense(1) > }
model! { struct B40 < input(40, 3), bidirectional(lstm(16)), dense(1) > }
model! { struct P20 < input(20, 3), lstm(16, return_sequences = true), dense(4) > }
model! { struct P40 < input(40, 3), lstm(16, return_sequences = true), dense(4) > }
