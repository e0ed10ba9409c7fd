#!/usr/bin/env bash
# Compile time of a `model!` crate as a function of the sequence length: builds a
# one-model crate at T = 10 and at T = 1000 (dependencies built beforehand, so only
# the crate itself is timed) and prints both times and their ratio as JSON.
#
#   scripts/compile-time.sh [debug|release]
#
# Loops over time are in the runtime's kernels, never unrolled in generated code, so
# the two builds should cost the same.
set -euo pipefail
profile=${1:-debug}
root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/target/compile-time"
mkdir -p "$work/src"
cat > "$work/Cargo.toml" <<TOML
[package]
name = "compile-time-probe"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
rnn-runtime = { path = "$root/rnn-runtime" }

[workspace]
TOML
cp "$root/Cargo.lock" "$work/Cargo.lock"
flag=""; [ "$profile" = release ] && flag="--release"

write() {
  cat > "$work/src/lib.rs" <<RS
rnn_runtime::model! { pub struct Probe < input($1, 1), lstm(50), dense(1) > }
pub fn run(x: &[[f32; 1]; $1]) -> f32 { Probe::new(1).predict_one(x)[0] }
RS
}

build_seconds() {
  write "$1"
  local start end
  start=$(date +%s.%N)
  cargo build --offline --quiet $flag --manifest-path "$work/Cargo.toml" --target-dir "$root/target/compile-time-target"
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { print b - a }' 
}

write 10
cargo build --offline --quiet $flag --manifest-path "$work/Cargo.toml" --target-dir "$root/target/compile-time-target"
runs=3
t10=(); t1000=()
for _ in $(seq $runs); do
  t10+=("$(build_seconds 10)")
  t1000+=("$(build_seconds 1000)")
done
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
m10=$(median "${t10[@]}"); m1000=$(median "${t1000[@]}")
printf '{"profile": "%s", "t10_s": %.3f, "t1000_s": %.3f, "ratio": %.3f}\n' \
  "$profile" "$m10" "$m1000" "$(awk -v a="$m10" -v b="$m1000" 'BEGIN { print b / a }')"
