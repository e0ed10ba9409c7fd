//! Optimisers, gradient clipping and learning-rate schedules against PyTorch
//! (`tests/fixtures/optim/`, made by `tests/fixtures/gen/optim.py`), their typed
//! errors, and training runs with every option.

mod common;

use std::collections::HashMap;

use common::{fixture, max_abs_diff, max_rel, read_all, worst};
use ndarray::ArrayD;
use rnn::sine_windows;
use rnn_runtime::schedule::{ReduceOnPlateau, Schedule};
use rnn_runtime::{model, Adam, AdamW, Error, Fit, Grads, Optimizer, Params, RmsProp, Sgd};
use serde_json::Value;

model! {
    /// The parameter set of every optimiser fixture.
    struct Net < input(3, 2), lstm(3), dense(2) >
}

model! {
    /// A small model of the seed task for the training runs.
    struct Sine < input(10, 1), lstm(8), dense(1) >
}

struct Case {
    dir: &'static str,
    config: Value,
    data: HashMap<String, ArrayD<f32>>,
    abs: f64,
    rel: f64,
    steps: usize,
}

fn case(dir: &'static str) -> Case {
    let path = fixture(&format!("optim/{dir}/case.json"));
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("case.json")).expect("json");
    let names: Vec<&str> = json["param_names"]
        .as_array()
        .expect("param_names")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let ours: Vec<&str> = Net::param_specs().iter().map(|s| s.name).collect();
    assert_eq!(names, ours, "{dir}: parameter names and order");
    Case {
        dir,
        config: json["config"].clone(),
        data: read_all(&fixture(&format!("optim/{dir}/data.safetensors"))),
        abs: json["tolerance"]["abs"].as_f64().expect("abs"),
        rel: json["tolerance"]["rel"].as_f64().expect("rel"),
        steps: json["steps"].as_u64().expect("steps") as usize,
    }
}

impl Case {
    fn f(&self, key: &str) -> f32 {
        self.config[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{}: {key}", self.dir)) as f32
    }

    fn f_or(&self, key: &str, default: f32) -> f32 {
        self.config[key].as_f64().map_or(default, |v| v as f32)
    }

    fn flag(&self, key: &str) -> bool {
        self.config[key].as_bool().unwrap_or(false)
    }

    /// The stored gradients of step `k` (from 1), written in canonical order.
    fn grads(&self, k: usize) -> Grads {
        let mut grads = Grads::zeros::<Net>();
        let mut flat = Vec::new();
        for spec in Net::param_specs() {
            let g = &self.data[&format!("grad{k}.{}", spec.name)];
            assert_eq!(g.shape(), spec.shape, "grad{k}.{}", spec.name);
            flat.extend(g.iter().copied());
        }
        grads.as_mut_slice().copy_from_slice(&flat);
        grads
    }

    /// Runs every step with `opt`, clipping as configured, and checks every parameter
    /// after every step; returns the largest relative error.
    fn run<O: Optimizer>(&self, mut opt: O) -> f64 {
        let mut net = Net::new(0);
        net.load_safetensors(fixture(&format!("optim/{}/params.safetensors", self.dir)))
            .expect("load params");
        let mut max = 0.0f64;
        let mut clipped = false;
        for k in 1..=self.steps {
            let mut grads = self.grads(k);
            let raw = grads.clone();
            if let Some(v) = self.config["clipvalue"].as_f64() {
                grads.clip_by_value(v as f32).expect("clipvalue");
            }
            if let Some(v) = self.config["clipnorm"].as_f64() {
                grads.clip_by_norm(v as f32).expect("clipnorm");
            }
            if let Some(v) = self.config["global_clipnorm"].as_f64() {
                let norm = grads
                    .clip_by_global_norm(v as f32)
                    .expect("global_clipnorm");
                let want = &self.data[&format!("norm{k}")];
                let want = want.as_slice().expect("norm");
                let w = worst(&[norm], want, self.abs, self.rel);
                assert!(w <= 1.0, "{}: norm{k} {norm} vs {want:?}", self.dir);
                max = max.max(max_rel(&[norm], want));
            }
            clipped |= grads != raw;
            opt.step(&mut net, &grads).expect("step");
            for spec in Net::param_specs() {
                let got = net.param(spec.name).expect("param");
                let want = &self.data[&format!("step{k}.{}", spec.name)];
                let (got, want) = (got.as_slice().unwrap(), want.as_slice().unwrap());
                let w = worst(got, want, self.abs, self.rel);
                assert!(
                    w <= 1.0,
                    "{} step {k} {}: {w} times the tolerance\n got {got:?}\nwant {want:?}",
                    self.dir,
                    spec.name
                );
                max = max.max(max_rel(got, want));
            }
        }
        let clips = ["clipvalue", "clipnorm", "global_clipnorm"];
        let configured = clips.iter().any(|k| !self.config[*k].is_null());
        assert_eq!(
            clipped, configured,
            "{}: clipping must act exactly when set",
            self.dir
        );
        eprintln!("{}: max relative error {max:.2e}", self.dir);
        max
    }

    fn sgd(&self) -> Sgd {
        Sgd::new(self.f("lr"))
            .momentum(self.f_or("momentum", 0.0))
            .nesterov(self.flag("nesterov"))
            .weight_decay(self.f_or("weight_decay", 0.0))
    }

    fn rmsprop(&self) -> RmsProp {
        RmsProp::new(self.f("lr"))
            .rho(self.f("rho"))
            .eps(self.f("eps"))
            .momentum(self.f_or("momentum", 0.0))
            .centered(self.flag("centered"))
    }
}

#[test]
fn sgd_plain() {
    let c = case("sgd_plain");
    c.run(c.sgd());
}

#[test]
fn sgd_momentum() {
    let c = case("sgd_momentum");
    c.run(c.sgd());
}

#[test]
fn sgd_nesterov_with_weight_decay() {
    let c = case("sgd_nesterov_wd");
    assert!(c.flag("nesterov"));
    c.run(c.sgd());
}

#[test]
fn rmsprop_plain() {
    let c = case("rmsprop_plain");
    c.run(c.rmsprop());
}

#[test]
fn rmsprop_centered_with_momentum() {
    let c = case("rmsprop_centered_momentum");
    assert!(c.flag("centered"));
    c.run(c.rmsprop());
}

#[test]
fn adamw() {
    let c = case("adamw");
    c.run(
        AdamW::new(c.f("lr"))
            .betas(c.f("beta1"), c.f("beta2"))
            .eps(c.f("eps"))
            .weight_decay(c.f("weight_decay")),
    );
}

#[test]
fn adam_with_global_norm_clipping() {
    let c = case("adam_global_clip");
    // Some steps are clipped and some are not, so both branches are checked.
    let limit = c.f("global_clipnorm");
    let norms: Vec<f32> = (1..=c.steps)
        .map(|k| c.data[&format!("norm{k}")].iter().copied().next().unwrap())
        .collect();
    assert!(norms.iter().any(|&n| n > limit) && norms.iter().any(|&n| n < limit));
    c.run(
        Adam::new(c.f("lr"))
            .betas(c.f("beta1"), c.f("beta2"))
            .eps(c.f("eps")),
    );
}

#[test]
fn sgd_with_value_clipping() {
    let c = case("sgd_clipvalue");
    c.run(c.sgd());
}

#[test]
fn sgd_with_per_tensor_norm_clipping() {
    let c = case("sgd_clipnorm");
    c.run(c.sgd());
}

fn schedules() -> (Value, HashMap<String, ArrayD<f32>>) {
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("optim/schedules/case.json")).expect("case.json"),
    )
    .expect("json");
    (json, read_all(&fixture("optim/schedules/data.safetensors")))
}

/// The rate of each epoch under `schedule`, started as `fit` starts it, ending epoch
/// `e` with `losses[e]`.
fn lr_sequence(mut schedule: Schedule, base: f32, losses: &[f32]) -> Vec<f32> {
    let mut sgd = Sgd::new(base);
    let first = schedule.start(&mut sgd).expect("start");
    assert_eq!(first, sgd.learning_rate());
    losses
        .iter()
        .map(|&loss| {
            let used = sgd.learning_rate();
            let next = schedule.end_epoch(loss, &mut sgd).expect("schedule");
            assert_eq!(next, sgd.learning_rate());
            used
        })
        .collect()
}

#[test]
fn schedules_match_torch() {
    let (json, data) = schedules();
    let (abs, rel) = (
        json["tolerance"]["abs"].as_f64().unwrap(),
        json["tolerance"]["rel"].as_f64().unwrap(),
    );
    let base = json["base_lr"].as_f64().unwrap() as f32;
    let epochs = json["epochs"].as_u64().unwrap() as usize;
    let g = |v: &Value| v.as_f64().unwrap() as f32;
    let n = |v: &Value| v.as_u64().unwrap() as usize;

    let step = &json["step"];
    let exp = &json["exponential"];
    let p = &json["plateau"];
    let plateau = ReduceOnPlateau::new()
        .factor(g(&p["factor"]))
        .patience(n(&p["patience"]))
        .threshold(g(&p["threshold"]))
        .cooldown(n(&p["cooldown"]))
        .min_lr(g(&p["min_lr"]));
    let losses: Vec<f32> = data["plateau.loss"].iter().copied().collect();
    let flat = vec![1.0; epochs];
    let cases = [
        (
            "step",
            lr_sequence(
                Schedule::step_decay(n(&step["step_size"]), g(&step["gamma"])),
                base,
                &flat,
            ),
        ),
        (
            "exponential",
            lr_sequence(Schedule::exponential(g(&exp["gamma"])), base, &flat),
        ),
        ("plateau", lr_sequence(plateau.into(), base, &losses)),
    ];
    let cosine = |c: &Value| {
        let schedule = Schedule::cosine(n(&c["total_epochs"])).min_lr(g(&c["min_lr"]));
        match c.get("warmup") {
            Some(w) => schedule.warmup(n(w)),
            None => schedule,
        }
    };
    // Cosine decay: torch's rates up to the last epoch, Keras's three epochs beyond.
    let mut cosine_cases = Vec::new();
    for name in ["cosine", "cosine_warmup"] {
        let keras = format!("{name}.keras_lr");
        let len = data[&keras].len();
        let got = lr_sequence(cosine(&json[name]).into(), base, &vec![1.0; len]);
        let torch = data[&format!("{name}.lr")].len();
        assert_eq!(torch, n(&json[name]["total_epochs"]) + 1, "{name}");
        cosine_cases.push((format!("{name}.lr"), got[..torch].to_vec()));
        cosine_cases.push((keras, got));
    }
    let cases = cases
        .into_iter()
        .map(|(name, got)| (format!("{name}.lr"), got))
        .chain(cosine_cases);
    for (name, got) in cases {
        let want: Vec<f32> = data[&name].iter().copied().collect();
        assert_eq!(got.len(), want.len(), "{name}");
        let w = worst(&got, &want, abs, rel);
        assert!(w <= 1.0, "{name}: got {got:?}\nwant {want:?}");
        // Each sequence must actually change the rate, or it would check nothing.
        assert!(want.last() < want.first(), "{name}: {want:?}");
        eprintln!(
            "schedule {name}: max relative error {:.2e}",
            max_rel(&got, &want)
        );
    }
}

/// A model, its copy, and gradients of the right layout.
fn fixture_net() -> (Net, Grads) {
    let c = case("sgd_plain");
    let mut net = Net::new(0);
    net.load_safetensors(fixture("optim/sgd_plain/params.safetensors"))
        .expect("load");
    (net, c.grads(1))
}

fn refuses<O: Optimizer>(what: &str, mut opt: O) {
    let (mut net, grads) = fixture_net();
    let before = net.clone();
    let lr = opt.learning_rate();
    match opt.step(&mut net, &grads) {
        Err(Error::Config(msg)) => assert!(!msg.is_empty()),
        other => panic!("{what}: expected Error::Config, got {other:?}"),
    }
    assert_eq!(net, before, "{what}: the model changed");
    assert_eq!(opt.learning_rate().to_bits(), lr.to_bits());
}

#[test]
fn bad_hyperparameters_are_typed_errors_that_change_nothing() {
    for lr in [-0.1, f32::NAN, f32::INFINITY] {
        refuses("sgd lr", Sgd::new(lr));
        refuses("rmsprop lr", RmsProp::new(lr));
        refuses("adamw lr", AdamW::new(lr));
        refuses("adam lr", Adam::new(lr));
    }
    for m in [-0.1, 1.0, 1.5, f32::NAN] {
        refuses("sgd momentum", Sgd::new(0.1).momentum(m));
        refuses("rmsprop momentum", RmsProp::new(0.1).momentum(m));
        refuses("rmsprop rho", RmsProp::new(0.1).rho(m));
        refuses("adamw beta1", AdamW::new(0.1).betas(m, 0.999));
        refuses("adam beta2", Adam::new(0.1).betas(0.9, m));
    }
    for eps in [0.0, -1e-8, f32::NAN] {
        refuses("rmsprop eps", RmsProp::new(0.1).eps(eps));
        refuses("adamw eps", AdamW::new(0.1).eps(eps));
        refuses("adam eps", Adam::new(0.1).eps(eps));
    }
    for wd in [-0.01, f32::INFINITY] {
        refuses("sgd weight decay", Sgd::new(0.1).weight_decay(wd));
        refuses("adamw weight decay", AdamW::new(0.1).weight_decay(wd));
    }
    refuses("nesterov without momentum", Sgd::new(0.1).nesterov(true));

    // A rate set to a bad value between steps is refused at the next step, and the
    // state built so far survives: fixing the rate continues the run exactly.
    let (mut net, grads) = fixture_net();
    let (mut a, mut b) = (Sgd::new(0.1).momentum(0.9), Sgd::new(0.1).momentum(0.9));
    let mut twin = net.clone();
    a.step(&mut net, &grads).unwrap();
    b.step(&mut twin, &grads).unwrap();
    a.set_learning_rate(-1.0);
    assert!(matches!(a.step(&mut net, &grads), Err(Error::Config(_))));
    a.set_learning_rate(0.1);
    a.step(&mut net, &grads).unwrap();
    b.step(&mut twin, &grads).unwrap();
    assert_eq!(net, twin);
}

#[test]
fn gradients_of_another_model_are_refused() {
    let (mut net, _) = fixture_net();
    let before = net.clone();
    let other = Grads::zeros::<Sine>();
    for result in [
        Sgd::new(0.1).step(&mut net, &other),
        RmsProp::new(0.1).step(&mut net, &other),
        AdamW::new(0.1).step(&mut net, &other),
        Adam::new(0.1).update(&mut net, other.as_slice()),
    ] {
        assert!(
            matches!(result, Err(Error::GradsMismatch { .. })),
            "{result:?}"
        );
    }
    assert_eq!(net, before);
}

#[test]
fn bad_clipping_thresholds_are_typed_errors_that_change_nothing() {
    let (_, grads) = fixture_net();
    for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let mut g = grads.clone();
        assert!(matches!(g.clip_by_value(bad), Err(Error::Config(_))));
        assert!(matches!(g.clip_by_norm(bad), Err(Error::Config(_))));
        assert!(matches!(g.clip_by_global_norm(bad), Err(Error::Config(_))));
        assert_eq!(g, grads);
    }
}

fn options<O: Optimizer>(opt: O, epochs: usize) -> Fit<O> {
    Fit::new(opt).epochs(epochs).batch_size(32).verbose(false)
}

fn trains<O: Optimizer>(what: &str, opts: Fit<O>) -> rnn_runtime::History {
    let (x, y) = sine_windows(256, 10);
    let mut net = Sine::new(5);
    let before = net.evaluate(&x, &y).unwrap();
    let history = net.fit(&x, &y, opts).unwrap();
    let after = net.evaluate(&x, &y).unwrap();
    let epochs = history.loss.len();
    assert_eq!(history.lr.len(), epochs, "{what}");
    assert!(after < before / 4.0, "{what}: MSE {before} → {after}");
    assert!(
        history.loss[epochs - 1] < history.loss[0],
        "{what}: {:?}",
        history.loss
    );
    history
}

#[test]
fn fit_trains_with_every_optimiser_and_clipping() {
    trains("sgd", options(Sgd::new(0.1).momentum(0.9), 8));
    trains(
        "nesterov",
        options(
            Sgd::new(0.1)
                .momentum(0.9)
                .nesterov(true)
                .weight_decay(1e-4),
            8,
        ),
    );
    trains("rmsprop", options(RmsProp::new(3e-3), 8));
    trains(
        "rmsprop centered",
        options(RmsProp::new(3e-3).centered(true).momentum(0.5), 8),
    );
    trains("adamw", options(AdamW::new(1e-2), 8));
    trains("clipvalue", options(Adam::new(1e-2), 8).clip_by_value(0.05));
    trains("clipnorm", options(Adam::new(1e-2), 8).clip_by_norm(0.1));
    let h = trains(
        "all clippings",
        options(Sgd::new(0.1).momentum(0.9), 8)
            .clip_by_value(0.5)
            .clip_by_norm(1.0)
            .clip_by_global_norm(0.5),
    );
    assert!(h.lr.iter().all(|&lr| lr == 0.1), "no schedule: {:?}", h.lr);
}

#[test]
fn clipping_in_fit_acts_on_the_gradients() {
    // A limit far above any gradient changes nothing; a tiny global limit slows
    // plain SGD to a crawl.
    let (x, y) = sine_windows(128, 10);
    let run = |opts: Fit<Sgd>| {
        let mut net = Sine::new(2);
        net.fit(&x, &y, opts).unwrap();
        net
    };
    let plain = run(options(Sgd::new(0.1), 2));
    assert_eq!(
        plain,
        run(options(Sgd::new(0.1), 2)
            .clip_by_value(1e6)
            .clip_by_norm(1e6)
            .clip_by_global_norm(1e6))
    );
    let start = Sine::new(2);
    let crawl = run(options(Sgd::new(0.1), 2).clip_by_global_norm(1e-6));
    let moved = |net: &Sine| {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        net.visit_params(&mut |p| a.extend_from_slice(p));
        start.visit_params(&mut |p| b.extend_from_slice(p));
        max_abs_diff(&a, &b) as f32
    };
    // 8 steps of at most lr · 1e-6 each.
    assert!(
        moved(&crawl) <= 8.0 * 0.1 * 1e-6 * 1.01,
        "{}",
        moved(&crawl)
    );
    assert!(moved(&plain) > 1e-3);
}

#[test]
fn fit_applies_schedules_and_records_the_rate_of_each_epoch() {
    let h = trains(
        "step decay",
        options(Adam::new(1e-2), 6).schedule(Schedule::step_decay(2, 0.5)),
    );
    assert_eq!(h.lr, [1e-2, 1e-2, 5e-3, 5e-3, 2.5e-3, 2.5e-3]);
    let h = trains(
        "exponential",
        options(Adam::new(1e-2), 4).schedule(Schedule::exponential(0.9)),
    );
    let want: Vec<f32> = (0..4).map(|e| (1e-2f64 * 0.9f64.powi(e)) as f32).collect();
    assert!(
        worst(&h.lr, &want, 0.0, 1e-6) <= 1.0,
        "{:?} vs {want:?}",
        h.lr
    );

    // Cosine decay sets the first epoch's rate too: the first warm-up rate.
    let h = trains(
        "cosine",
        options(Adam::new(1e-2), 6).schedule(Schedule::cosine(6).min_lr(1e-3).warmup(2)),
    );
    let want = lr_sequence(
        Schedule::cosine(6).min_lr(1e-3).warmup(2).into(),
        1e-2,
        &[1.0; 6],
    );
    assert_eq!(h.lr, want);
    assert!((h.lr[0] - 1e-2 / 3.0).abs() < 1e-9, "{:?}", h.lr);
    assert_eq!(h.lr[2], 1e-2);

    // The plateau schedule monitors val_loss with a validation split, else loss:
    // replaying the monitored losses through a fresh schedule gives the same rates.
    let plateau = || {
        ReduceOnPlateau::new()
            .factor(0.5)
            .patience(0)
            .threshold(0.3)
    };
    let (x, y) = sine_windows(256, 10);
    for split in [0.0, 0.25] {
        let mut net = Sine::new(5);
        let h = net
            .fit(
                &x,
                &y,
                options(Adam::new(1e-2), 8)
                    .validation_split(split)
                    .schedule(plateau()),
            )
            .unwrap();
        let monitored = if split > 0.0 { &h.val_loss } else { &h.loss };
        assert_eq!(monitored.len(), 8);
        assert_eq!(
            lr_sequence(plateau().into(), 1e-2, monitored),
            h.lr,
            "split {split}"
        );
        assert!(
            h.lr[7] < h.lr[0],
            "split {split}: the rate never dropped: {:?}",
            h.lr
        );
    }
}

#[test]
fn bad_fit_options_are_typed_errors_that_change_nothing() {
    let (x, y) = sine_windows(64, 10);
    let mut net = Sine::new(1);
    let before = net.clone();
    let bad: Vec<Fit<Adam>> = vec![
        options(Adam::new(1e-2), 1).clip_by_value(-1.0),
        options(Adam::new(1e-2), 1).clip_by_norm(0.0),
        options(Adam::new(1e-2), 1).clip_by_global_norm(f32::NAN),
        options(Adam::new(1e-2), 1).schedule(Schedule::step_decay(0, 0.5)),
        options(Adam::new(1e-2), 1).schedule(Schedule::exponential(-0.5)),
        options(Adam::new(1e-2), 1).schedule(ReduceOnPlateau::new().factor(1.0)),
        options(Adam::new(1e-2), 1).schedule(ReduceOnPlateau::new().min_lr(-1.0)),
        options(Adam::new(1e-2), 1).schedule(Schedule::cosine(0)),
        options(Adam::new(1e-2), 1).schedule(Schedule::cosine(4).warmup(4)),
        options(Adam::new(1e-2), 1).schedule(Schedule::cosine(4).min_lr(f32::NAN)),
        options(Adam::new(1e-2), 1).schedule(Schedule::cosine(4).min_lr(-1e-3)),
        // Known only when the schedule starts: a floor above the starting rate.
        options(Adam::new(1e-2), 1).schedule(Schedule::cosine(4).min_lr(0.1)),
        options(Adam::new(-1.0), 1),
    ];
    for opts in bad {
        let what = format!("{opts:?}");
        assert!(
            matches!(net.fit(&x, &y, opts), Err(Error::Config(_))),
            "{what}"
        );
        assert_eq!(net, before, "{what}");
    }
}

#[test]
fn cosine_options_are_refused_with_what_is_wrong() {
    let message = |schedule: rnn_runtime::schedule::CosineDecay| {
        let mut sgd = Sgd::new(0.1);
        let err = Schedule::from(schedule).start(&mut sgd).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        assert_eq!(sgd.learning_rate(), 0.1, "{err}: the rate changed");
        err.to_string()
    };
    let cases = [
        (Schedule::cosine(0), "total_epochs must be at least 1"),
        (
            Schedule::cosine(3).warmup(3),
            "warmup (3 epochs) must be shorter than total_epochs (3)",
        ),
        (
            Schedule::cosine(3).min_lr(f32::INFINITY),
            "min_lr must be finite and >= 0, got inf",
        ),
        (
            Schedule::cosine(3).min_lr(-0.5),
            "min_lr must be finite and >= 0, got -0.5",
        ),
        (
            Schedule::cosine(3).min_lr(0.2),
            "min_lr (0.2) must not be above the starting learning rate (0.1)",
        ),
    ];
    for (schedule, want) in cases {
        assert_eq!(
            message(schedule),
            format!("invalid training option: {want}")
        );
    }
    // `check` finds the option errors before any optimiser is known.
    assert!(Schedule::from(Schedule::cosine(2).warmup(5))
        .check()
        .is_err());
    assert!(Schedule::from(Schedule::cosine(2).min_lr(0.2))
        .check()
        .is_ok());
}

#[test]
fn a_cosine_schedule_starts_once() {
    // Without a warm-up, a schedule that was never started starts at its first
    // end_epoch, from the rate the epoch ran at: the same rates as started.
    let started = lr_sequence(Schedule::cosine(5).min_lr(0.01).into(), 0.1, &[1.0; 7]);
    let mut sgd = Sgd::new(0.1);
    let mut schedule = Schedule::from(Schedule::cosine(5).min_lr(0.01));
    let mut unstarted = vec![sgd.learning_rate()];
    for _ in 0..6 {
        unstarted.push(schedule.end_epoch(1.0, &mut sgd).unwrap());
    }
    assert_eq!(unstarted, started);
    assert_eq!(started[5..], [0.01, 0.01]);

    // With a warm-up the first epoch must run at the first warm-up rate: ending an
    // epoch of a schedule never started is refused, and changes nothing.
    let mut sgd = Sgd::new(0.1);
    let mut schedule = Schedule::from(Schedule::cosine(5).warmup(1));
    let err = schedule.end_epoch(1.0, &mut sgd).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid training option: a cosine schedule with a warm-up must be started \
         (Schedule::start) before its first epoch"
    );
    assert_eq!((sgd.learning_rate(), schedule.epochs()), (0.1, 0));

    // Started, it sets half the rate (warm-up of 1 epoch); starting again changes
    // nothing, nor does a rate set by hand change the peak.
    assert_eq!(schedule.start(&mut sgd).unwrap(), 0.05);
    assert_eq!(schedule.start(&mut sgd).unwrap(), 0.05);
    sgd.set_learning_rate(0.7);
    assert_eq!(schedule.end_epoch(1.0, &mut sgd).unwrap(), 0.1);

    // The other schedules change nothing when started.
    for mut other in [
        Schedule::step_decay(1, 0.5),
        Schedule::exponential(0.5),
        ReduceOnPlateau::new().into(),
    ] {
        let mut sgd = Sgd::new(0.3);
        assert_eq!(other.start(&mut sgd).unwrap(), 0.3);
        assert_eq!((sgd.learning_rate(), other.epochs()), (0.3, 0));
    }
}
