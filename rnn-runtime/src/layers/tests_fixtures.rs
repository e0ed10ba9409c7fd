//! The recurrent kernels against float64 PyTorch references
//! (`tests/fixtures/cells_*`, written by `tests/fixtures/gen/cells.py`): bidirectional
//! layers with initial states as PyTorch's own modules, and masked layers with
//! overridden activations and initial states as the cell equations with Keras's masks.

use std::collections::HashMap;
use std::path::PathBuf;

use safetensors::SafeTensors;

use super::*;
use crate::dropout::{dropout_mask, MaskSite};
use crate::rng::Rng;
use CellActivation::{Linear, Relu, Sigmoid, Tanh};

const T: usize = 5;
const B: usize = 3;
const I: usize = 3;
const H: usize = 4;

/// The tensors of `file` in the fixture directory `case`.
fn load(case: &str, file: &str) -> HashMap<String, Vec<f32>> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "tests",
        "fixtures",
        case,
        file,
    ]
    .iter()
    .collect();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let st = SafeTensors::deserialize(&bytes).expect("a safetensors file");
    st.tensors()
        .into_iter()
        .map(|(name, view)| {
            let v = view.data().chunks_exact(4);
            let v = v.map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            (name, v.collect())
        })
        .collect()
}

/// The comparison of tests/parity.rs.
fn assert_matches(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5 + 1e-4 * w.abs(),
            "{what}[{k}]: got {g}, want {w}"
        );
    }
}

/// Copies tensors into a layer's parameters in canonical order, by name.
fn set_params(
    visit_mut: impl FnOnce(&mut dyn FnMut(&mut [f32])),
    p: &HashMap<String, Vec<f32>>,
    names: &[String],
) {
    let mut names = names.iter();
    visit_mut(&mut |t| {
        let name = names.next().expect("a name per tensor");
        t.copy_from_slice(&p[name]);
    });
}

fn tensor_names(suffix: &str) -> Vec<String> {
    ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
        .iter()
        .map(|n| format!("{n}{suffix}"))
        .collect()
}

fn bidirectional<L: RecurrentLayer>(case: &str) {
    let (p, d) = (
        load(case, "params.safetensors"),
        load(case, "data.safetensors"),
    );
    let mut bi = BidirectionalLayer::<L>::init(&mut Rng::new(0));
    let mut names = tensor_names("_l0");
    names.extend(tensor_names("_l0_reverse"));
    set_params(|f| bi.visit_mut(f), &p, &names);
    let (h0, c0) = (&d["h0"], d.get("c0"));
    let (bh, cells) = (B * H, L::HAS_CELL);
    let opts = BiSeqOptions {
        forward: SeqOptions {
            initial_h: Some(&h0[..bh]),
            initial_c: c0.filter(|_| cells).map(|c| &c[..bh]),
            ..SeqOptions::NONE
        },
        reverse: SeqOptions {
            initial_h: Some(&h0[bh..]),
            initial_c: c0.filter(|_| cells).map(|c| &c[bh..]),
            ..SeqOptions::NONE
        },
    };
    let mut bufs = BidirectionalBuffers::default();
    bi.forward_seq_with(&d["x"], T, B, &opts, &mut bufs);
    assert_matches(&format!("{case} output"), bufs.hidden(), &d["out_seq"]);
    assert_matches(&format!("{case} last"), bufs.last_hidden(), &d["out_last"]);
    for which in ["seq", "last"] {
        let w = &d[&format!("w_{which}")];
        let grad = if which == "seq" {
            SeqGrad::All(w)
        } else {
            SeqGrad::Last(w)
        };
        let mut grads = vec![0.0; BidirectionalLayer::<L>::PARAMS];
        bi.backward_seq(&d["x"], grad, &mut grads, &mut bufs, true);
        let mut at = 0;
        for name in &names {
            let want = &d[&format!("grad_{which}_{name}")];
            let got = &grads[at..at + want.len()];
            assert_matches(&format!("{case} {which} {name}"), got, want);
            at += want.len();
        }
        assert_matches(
            &format!("{case} {which} dx"),
            bufs.input_grad(),
            &d[&format!("dx_{which}")],
        );
    }
}

#[test]
fn bidirectional_layers_match_pytorch() {
    bidirectional::<LstmLayer<I, H>>("cells_lstm_bidirectional");
    bidirectional::<GruLayer<I, H>>("cells_gru_bidirectional");
    bidirectional::<SimpleRnnLayer<I, H>>("cells_simple_rnn_bidirectional");
}

fn masked<L: RecurrentLayer>(case: &str, acts: CellActivations, mask_seed: u64) {
    let (p, d) = (
        load(case, "params.safetensors"),
        load(case, "data.safetensors"),
    );
    let mut layer = L::init_with(&mut Rng::new(0), acts);
    let names = tensor_names("");
    set_params(|f| layer.visit_mut(f), &p, &names);
    // The fixture's masks are the library's stream.
    for (key, site, width) in [
        ("input_mask", MaskSite::Input, I),
        ("recurrent_mask", MaskSite::Recurrent, H),
    ] {
        for (b, row) in d[key].chunks_exact(width).enumerate() {
            let mut m = vec![0.0; width];
            dropout_mask(mask_seed, 0, site, b as u64, 0.3, &mut m);
            assert_eq!(row, &m[..], "{case} {key} of sample {b}");
        }
    }
    let opts = SeqOptions {
        input_mask: Some(&d["input_mask"]),
        recurrent_mask: Some(&d["recurrent_mask"]),
        initial_h: Some(&d["h0"]),
        initial_c: d.get("c0").map(Vec::as_slice),
        lengths: None,
    };
    let mut bufs = RecurrentBuffers::default();
    layer.forward_seq_with(&d["x"], T, B, &opts, &mut bufs);
    assert_matches(&format!("{case} output"), bufs.hidden(), &d["out_seq"]);
    assert_matches(&format!("{case} final h"), bufs.last_hidden(), &d["last_h"]);
    if let Some(c) = d.get("last_c") {
        assert_matches(&format!("{case} final c"), bufs.last_cell(), c);
    }
    let mut grads = vec![0.0; L::PARAMS];
    layer.backward_seq(
        &d["x"],
        SeqGrad::All(&d["w_seq"]),
        &mut grads,
        &mut bufs,
        true,
    );
    let mut at = 0;
    for name in &names {
        let want = &d[&format!("grad_seq_{name}")];
        assert_matches(&format!("{case} {name}"), &grads[at..at + want.len()], want);
        at += want.len();
    }
    assert_matches(&format!("{case} dx"), bufs.input_grad(), &d["dx_seq"]);
}

#[test]
fn masked_layers_with_initial_states_match_the_reference_equations() {
    let default = CellActivations::DEFAULT;
    masked::<LstmLayer<I, H>>("cells_lstm_masked_tanh_sigmoid", default, 50);
    masked::<GruLayer<I, H>>("cells_gru_masked_tanh_sigmoid", default, 51);
    masked::<SimpleRnnLayer<I, H>>("cells_simple_rnn_masked_tanh_sigmoid", default, 52);
    let acts = CellActivations::new;
    masked::<LstmLayer<I, H>>("cells_lstm_masked_relu_sigmoid", acts(Relu, Sigmoid), 60);
    masked::<GruLayer<I, H>>("cells_gru_masked_sigmoid_tanh", acts(Sigmoid, Tanh), 61);
    let linear = acts(Linear, Sigmoid);
    masked::<SimpleRnnLayer<I, H>>("cells_simple_rnn_masked_linear_sigmoid", linear, 62);
}
