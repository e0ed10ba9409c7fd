#!/usr/bin/env bash
# Incremental rebuild time of the sine example after a change to its model spec:
# builds once, then alternately widens and restores the LSTM (lstm(50) <-> lstm(51))
# and times `cargo build --release --example sine` after each edit. Prints JSON with
# the median. The example is restored on exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
example=examples/sine.rs
backup=$(mktemp)
cp "$example" "$backup"
trap 'cp "$backup" "$example"; rm -f "$backup"' EXIT

cargo build --release --quiet --example sine
times=()
for i in 1 2 3 4 5; do
  if [ $((i % 2)) -eq 1 ]; then
    sed -i 's/lstm(50)/lstm(51)/' "$example"
  else
    cp "$backup" "$example"
  fi
  start=$(date +%s.%N)
  cargo build --release --quiet --example sine
  end=$(date +%s.%N)
  times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')")
done
median=$(printf '%s\n' "${times[@]}" | sort -g | sed -n 3p)
printf '{"rebuild_after_spec_change_s": %.2f, "runs_s": [%s]}\n' "$median" "$(IFS=,; echo "${times[*]}")"
