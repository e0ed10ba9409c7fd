#!/usr/bin/env bash
# Per-epoch training time of the seed workload with other model shapes (GRU,
# bidirectional, many-to-many, stacked, dropout) next to the plain LSTM: rnn's
# seed_bench and pytorch_bench.py with --variants, run in alternation, then a Markdown
# table of the medians over rounds with PyTorch's time as a multiple of rnn's.
#
#   bench/peers/variants.sh               # 1 thread, 2 rounds
#   THREADS=2 ROUNDS=3 bench/peers/variants.sh
#
# Needs the peers' venv (bench/peers/run.sh creates it). Results go to
# bench/peers/results/variants-<system>-t<N>-r<round>.json.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
PEERS=bench/peers
RESULTS=$PEERS/results
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-2}
if [[ ! -x $PEERS/.venv/bin/python ]]; then
    echo "no $PEERS/.venv: run bench/peers/run.sh once to create it" >&2
    exit 1
fi
cargo build --release --example seed_bench >&2
bin=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/release/examples/seed_bench
mkdir -p "$RESULTS/logs"
rm -f "$RESULTS"/variants-*-t"$THREADS"-r*.json
for round in $(seq 1 "$ROUNDS"); do
    echo "round $round: rnn" >&2
    "$bin" --threads "$THREADS" --variants >"$RESULTS/variants-rnn-t$THREADS-r$round.json" \
        2>"$RESULTS/logs/variants-rnn-t$THREADS-r$round.log"
    echo "round $round: pytorch" >&2
    "$PEERS/.venv/bin/python" "$PEERS/pytorch_bench.py" --threads "$THREADS" --variants \
        >"$RESULTS/variants-pytorch-t$THREADS-r$round.json" \
        2>"$RESULTS/logs/variants-pytorch-t$THREADS-r$round.log"
done
python3 - "$RESULTS" "$THREADS" <<'PY'
import glob, json, statistics, sys
results, threads = sys.argv[1], sys.argv[2]
times = {}
for system in ("rnn", "pytorch"):
    for path in glob.glob(f"{results}/variants-{system}-t{threads}-r*.json"):
        with open(path) as f:
            for row in json.load(f).get("variants", []):
                times.setdefault((system, row["variant"]), []).append(row["train_s_per_epoch"])
variants = ["lstm", "gru", "bidirectional", "many_to_many", "stacked", "dropout"]
print(f"| {threads} thread(s), s/epoch (median) | rnn | PyTorch | PyTorch / rnn |")
print("| --- | ---: | ---: | ---: |")
for v in variants:
    r = times.get(("rnn", v))
    p = times.get(("pytorch", v))
    rm = statistics.median(r) if r else None
    pm = statistics.median(p) if p else None
    ratio = f"{pm / rm:.1f}×" if rm and pm else "—"
    fmt = lambda t: f"{t:.4f}" if t is not None else "—"
    print(f"| {v} | {fmt(rm)} | {fmt(pm)} | {ratio} |")
PY
