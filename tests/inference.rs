//! The inference path (`Network::inference_only`, what `predict` and `forward` run)
//! against the training forward on the same workspace type: the same output and final
//! states bit for bit, for every cell kind, activations, stacks, sequence outputs,
//! packed batches of varying lengths, given initial states and odd sizes.

use rnn_runtime::{forward, model, Network};

model! { struct Seed < input(20, 1), lstm(50), dense(1) > }
model! { struct OddLstm < input(7, 3), lstm(13), dense(2) > }
model! { struct Acts < input(5, 2), lstm(8, activation = relu, recurrent_activation = sigmoid), dense(1) > }
model! { struct Stacked < input(6, 4), lstm(9, return_sequences = true), lstm(5), dense(1) > }
model! { struct SeqOut < input(6, 2), lstm(7, return_sequences = true), dense(3) > }
model! { struct Mixed < input(9, 3), lstm(16, return_sequences = true), gru(8, return_sequences = true), simple_rnn(8), dense(4, activation = relu), dense(2) > }
model! { struct Bi < input(6, 2), bidirectional(lstm(5)), dense(1) > }

/// Deterministic values in [-2, 2).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0
        })
        .collect()
}

/// Output and final states of one forward pass, with or without the inference path.
fn run<M: Network<Input = f32>>(
    net: &M,
    x: &[f32],
    batch: usize,
    lengths: Option<&[usize]>,
    states: Option<&[f32]>,
    inference: bool,
) -> (Vec<u32>, Vec<u32>) {
    let mut ws = M::Workspace::default();
    M::inference_only(&mut ws, inference);
    // Twice on one workspace: the second pass reuses the first one's buffers.
    let mut out = Vec::new();
    for _ in 0..2 {
        M::set_initial_states(&mut ws, states);
        out = net
            .forward_batch(x, batch, lengths, None, &mut ws)
            .iter()
            .map(|v| v.to_bits())
            .collect();
    }
    let mut fin = vec![0.0; batch * M::STATE_VALUES];
    M::final_states(&ws, &mut fin);
    (out, fin.iter().map(|v| v.to_bits()).collect())
}

/// Every case of `M`: full batches of several sizes (one to beyond a tile, beyond a
/// chunk), a packed batch, and given initial states.
fn check<M: Network<Input = f32>>(name: &str) {
    let net = M::init(7);
    let per = M::TIMESTEPS * M::FEATURES;
    for batch in [1, 3, 5, 33, 37, 41, 70] {
        let x = values(batch * per, batch as u64);
        let train = run(&net, &x, batch, None, None, false);
        let infer = run(&net, &x, batch, None, None, true);
        assert_eq!(train, infer, "{name}, batch {batch}");
        // Lengths longest first, down to one step, some samples sharing a length.
        let lengths: Vec<usize> = (0..batch)
            .map(|b| (M::TIMESTEPS - b * M::TIMESTEPS / batch.max(1)).max(1))
            .collect();
        let train = run(&net, &x, batch, Some(&lengths), None, false);
        let infer = run(&net, &x, batch, Some(&lengths), None, true);
        assert_eq!(train, infer, "{name}, batch {batch}, lengths {lengths:?}");
        if M::STATE_VALUES > 0 && !name.starts_with("Bi") {
            let states = values(batch * M::STATE_VALUES, 99);
            let train = run(&net, &x, batch, None, Some(&states), false);
            let infer = run(&net, &x, batch, None, Some(&states), true);
            assert_eq!(train, infer, "{name}, batch {batch}, initial states");
        }
    }
}

#[test]
fn inference_path_gives_the_training_forwards_bits() {
    check::<Seed>("Seed");
    check::<OddLstm>("OddLstm");
    check::<Acts>("Acts");
    check::<Stacked>("Stacked");
    check::<SeqOut>("SeqOut");
    check::<Mixed>("Mixed");
    check::<Bi>("Bi");
}

#[test]
fn forward_equals_the_training_forward_of_its_chunks() {
    // `forward` cuts a batch into chunks of 64 samples, whatever the thread count.
    let net = Stacked::init(3);
    let per = 6 * 4;
    let n = 150;
    let x = values(n * per, 5);
    let xa = rnn_runtime::ndarray::Array3::from_shape_vec((n, 6, 4), x.clone()).unwrap();
    let y = forward(&net, xa.view().into_dyn()).unwrap();
    let got: Vec<u32> = y.iter().map(|v| v.to_bits()).collect();
    let mut want = Vec::new();
    for start in (0..n).step_by(64) {
        let end = (start + 64).min(n);
        let (out, _) = run(
            &net,
            &x[start * per..end * per],
            end - start,
            None,
            None,
            false,
        );
        want.extend(out);
    }
    assert_eq!(got, want);
}

#[path = "inference/quantized.rs"]
mod quantized;

mod counting {
    //! A global allocator that counts the calling thread's allocations.
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    struct Counting;

    thread_local! {
        static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    }

    // SAFETY: every call forwards to the system allocator with the caller's
    // arguments; counting touches only a thread-local counter.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
            // SAFETY: forwarded from the caller.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: forwarded from the caller.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
            // SAFETY: forwarded from the caller.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    /// Allocations of this thread during `f`.
    pub fn allocations_in(f: impl FnOnce()) -> usize {
        let before = ALLOCATIONS.with(Cell::get);
        f();
        ALLOCATIONS.with(Cell::get) - before
    }
}

/// After a first pass has sized its buffers, an LSTM layer's inference pass allocates
/// nothing of its own, whatever the batch size up to the first one and the lengths
/// (one input: the input projection is an outer product, not a GEMM call).
/// What remains off AVX-512 is matrixmultiply's packing buffer, one per recurrent
/// product of more than four rows (at most one per five rows of a step).
#[test]
fn inference_passes_allocate_nothing_after_the_first() {
    use rnn_runtime::layers::{Inference, LstmLayer, RecurrentBuffers, SeqOptions};
    const T: usize = 20;
    let layer = LstmLayer::<1, 50>::init(&mut rnn_runtime::rng::Rng::new(1));
    let x = values(T * 70, 4);
    let own_step_kernel =
        std::env::var_os("RNN_PORTABLE").is_none() && std::is_x86_feature_detected!("avx512f");
    for inference in [Inference::Last, Inference::Sequence] {
        let mut bufs = RecurrentBuffers::default();
        bufs.set_inference(inference);
        let lengths: Vec<usize> = (0..40).map(|b| T - b * T / 41).collect();
        let packed = SeqOptions {
            lengths: Some(&lengths),
            ..SeqOptions::NONE
        };
        layer.forward_seq_with(&x, T, 70, &SeqOptions::NONE, &mut bufs);
        layer.forward_seq_with(&x, T, 40, &packed, &mut bufs);
        for (batch, opts) in [
            (70, SeqOptions::NONE),
            (33, SeqOptions::NONE),
            (4, SeqOptions::NONE),
            (40, packed),
        ] {
            let n = counting::allocations_in(|| {
                layer.forward_seq_with(&x[..T * batch], T, batch, &opts, &mut bufs);
            });
            if own_step_kernel || batch <= 4 {
                assert_eq!(n, 0, "{inference:?}, batch {batch}");
            } else {
                assert!(
                    n <= (T - 1) * batch.div_ceil(5),
                    "{inference:?}, batch {batch}: {n}"
                );
            }
        }
    }
}
