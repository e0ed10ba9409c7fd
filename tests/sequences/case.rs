//! One parity case's fixture (`case.json`, `data.safetensors`, `params.safetensors`)
//! as the PyTorch/Keras parity suites of this binary read and check it; each suite adds
//! the accessors its own fixtures need in an `impl Case` of its own.

use std::collections::HashMap;

use crate::common::{fixture, max_rel, read_all, worst};
use ndarray::ArrayD;
use rnn_runtime::{Adam, Network};

/// One case's fixture, read once.
pub(crate) struct Case {
    pub(crate) dir: &'static str,
    pub(crate) json: serde_json::Value,
    pub(crate) data: HashMap<String, ArrayD<f32>>,
    pub(crate) abs: f64,
    pub(crate) rel: f64,
    /// Largest error seen, as a fraction of the tolerance.
    pub(crate) worst_fraction: std::cell::Cell<f64>,
    /// Largest relative error seen, and where.
    pub(crate) worst_rel: std::cell::RefCell<(f64, String)>,
}

impl Case {
    pub(crate) fn read(dir: &'static str) -> Case {
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("{dir}/case.json"))).expect("case.json"),
        )
        .expect("json");
        let data = read_all(&fixture(&format!("{dir}/data.safetensors")));
        let tol = &json["tolerance"];
        let (abs, rel) = (tol["abs"].as_f64().unwrap(), tol["rel"].as_f64().unwrap());
        Case {
            dir,
            json,
            data,
            abs,
            rel,
            worst_fraction: std::cell::Cell::new(0.0),
            worst_rel: std::cell::RefCell::new((0.0, String::new())),
        }
    }

    pub(crate) fn names(&self) -> Vec<String> {
        self.json["param_names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    pub(crate) fn adam(&self) -> Adam {
        let cfg = &self.json["adam"];
        let f = |k: &str| cfg[k].as_f64().unwrap() as f32;
        Adam::new(f("lr"))
            .betas(f("beta1"), f("beta2"))
            .eps(f("eps"))
    }

    /// Asserts `got` matches the fixture tensor `key` within the case's tolerance
    /// (`worst` fails on NaN and on a length mismatch). On a mismatch the message
    /// names the first element out of tolerance, its index and both values.
    pub(crate) fn check(&self, what: &str, got: &[f32], key: &str) {
        let want: Vec<f32> = self.data[key].iter().copied().collect();
        assert_eq!(got.len(), want.len(), "{}: {what}: length", self.dir);
        let w = worst(got, &want, self.abs, self.rel);
        if w > 1.0 {
            let at = (0..got.len())
                .find(|&i| {
                    let (g, v) = (f64::from(got[i]), f64::from(want[i]));
                    (g - v).abs() > self.abs + self.rel * v.abs()
                })
                .unwrap();
            panic!(
                "{}: {what} ({key}): {w} times the tolerance; first at flat index {at}: \
                 got {}, want {}\n got {got:?}\nwant {want:?}",
                self.dir, got[at], want[at]
            );
        }
        self.worst_fraction.set(self.worst_fraction.get().max(w));
        let r = max_rel(got, &want);
        let mut worst_rel = self.worst_rel.borrow_mut();
        if r > worst_rel.0 {
            *worst_rel = (r, format!("{what} ({key})"));
        }
    }
}

/// The model of case `dir` with the fixture's initial parameters, after checking that
/// its parameter names and order are the fixture's.
pub(crate) fn load<M: Network>(case: &Case) -> M {
    let spec_names: Vec<&str> = M::param_specs().iter().map(|s| s.name).collect();
    assert_eq!(
        case.names(),
        spec_names,
        "{}: parameter names and order",
        case.dir
    );
    let mut model = M::init(0);
    rnn_runtime::load_safetensors(
        &mut model,
        fixture(&format!("{}/params.safetensors", case.dir)),
    )
    .expect("load");
    model
}
