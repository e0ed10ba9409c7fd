#!/usr/bin/env bash
# The build cost a user feels: a clean release build of a user crate holding the seed
# model (`input(20, 1), lstm(50), dense(1)`, trained with `fit` and used with
# `predict_one`), from an empty target directory (dependencies already downloaded),
# with the runtime's default features (no `plot`) and with `features = ["plot"]`; then the
# rebuild after changing one layer size (lstm(50) <-> lstm(51)), default features,
# median of 5. Prints JSON.
#
#   scripts/build-cost.sh
#
# Run it on a quiet machine: the figures are wall-clock seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/target/build-cost"
rm -rf "$work"
mkdir -p "$work/src"
cp "$root/Cargo.lock" "$work/Cargo.lock"

manifest() {
  cat > "$work/Cargo.toml" <<TOML
[package]
name = "build-cost-probe"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
rnn-runtime = { path = "$root/rnn-runtime"$1 }

[workspace]
TOML
}

source_with() {
  cat > "$work/src/main.rs" <<RS
use rnn_runtime::ndarray::{Array2, Array3};
use rnn_runtime::{model, Adam, Fit};

model! { struct SineNet < input(20, 1), lstm($1), dense(1) > }

fn main() -> rnn_runtime::Result<()> {
    let x = Array3::from_shape_fn((64, 20, 1), |(i, t, _)| ((i + t) as f32 * 0.1).sin());
    let y = Array2::from_shape_fn((64, 1), |(i, _)| ((i + 20) as f32 * 0.1).sin());
    let mut net = SineNet::new(0);
    net.fit(&x, &y, Fit::new(Adam::new(1e-3)).epochs(1).verbose(false))?;
    println!("{:?}", net.predict_one(&[[0.5]; 20]));
    Ok(())
}
RS
}

seconds() {
  local start end
  start=$(date +%s.%N)
  "$@"
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }'
}

build() {
  cargo build --offline --quiet --release --manifest-path "$work/Cargo.toml" --target-dir "$work/target-$1"
}

source_with 50
manifest ", features = [\"plot\"]"
clean_plot=$(seconds build plot)
manifest ""
clean_default=$(seconds build default)

# Rebuild after a one-layer change, default features.
manifest ""
times=()
for i in 1 2 3 4 5; do
  if [ $((i % 2)) -eq 1 ]; then source_with 51; else source_with 50; fi
  times+=("$(seconds build default)")
done
median=$(printf '%s\n' "${times[@]}" | sort -g | sed -n 3p)
printf '{"clean_release_default_features_s": %s, "clean_release_with_plot_s": %s, "plot_cost_fraction": %.3f, "rebuild_after_layer_change_s": %s, "rebuild_runs_s": [%s]}\n' \
  "$clean_default" "$clean_plot" \
  "$(awk -v a="$clean_plot" -v b="$clean_default" 'BEGIN { print (a - b) / b }')" \
  "$median" "$(IFS=,; echo "${times[*]}")"
