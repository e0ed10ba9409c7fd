#!/usr/bin/env bash
# Runs the seed workload on rnn and its peers, then the variable-length and
# long-sequence workloads on rnn and PyTorch, prints Markdown summaries and writes
# BENCHMARKS.md (bench/peers/report.py, from BENCHMARKS.md.in) and BENCHMARKS.png
# (the `chart` program of bench/peers/rust) from this run's results.
#
#   bench/peers/run.sh                     # threads 1 and 2, 2 rounds, with the grid
#   THREADS=1 ROUNDS=3 GRID=0 bench/peers/run.sh
#   WORKLOADS=lengths bench/peers/run.sh   # only masked tokens and long sequences
#
# Environment:
#   THREADS     thread counts to run, space-separated (default "1 2")
#   ROUNDS      rounds per thread count; each round runs every system once, in
#               alternation (default 2)
#   GRID        1 passes --grid, 0 does not (default 1)
#   VARIANTS    1 passes --variants to rnn and pytorch (other model shapes), 0 does
#               not (default 1)
#   REPORT      1 writes BENCHMARKS.md and BENCHMARKS.png at the end, 0 does not
#               (default 1; it needs both thread counts' seed results and the lengths
#               workloads to say anything about every target)
#   SYSTEMS     systems to run (default "rnn pytorch keras burn candle"); a system that
#               is not available (not built, build failed) is skipped with a message
#   SKIP_SETUP  1: neither pip-install nor build; use what is there (default 0)
#   PYTHON      the interpreter that creates the venv (default python3)
#   VENV        the venv to create or reuse (default bench/peers/.venv); with
#               SKIP_SETUP=1 any venv that has what the systems run need (torch alone for
#               WORKLOADS=lengths)
#   WORKLOADS   "seed" (the seed workload and its grid, every system), "lengths" (masked
#               tokens and long sequences, rnn and pytorch only: lengths_bench in rust/
#               and pytorch_lengths.py), or both (default "seed lengths")
#
# Each JSON line goes to bench/peers/results/<system>-t<N>-r<round>.json, its stderr
# to results/logs/; earlier results of the systems in SYSTEMS (available or not) at
# the thread counts being run are removed first. Then bench/peers/table.py prints the
# medians over rounds and writes results/summary.json. The lengths workloads write
# results/lengths-<system>-t<N>-r<round>.json, summarised by lengths_table.py into
# results/lengths-summary.json.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
PEERS=bench/peers
VENV=${VENV:-$PEERS/.venv}
RESULTS=$PEERS/results
THREADS=${THREADS:-"1 2"}
ROUNDS=${ROUNDS:-2}
GRID=${GRID:-1}
VARIANTS=${VARIANTS:-1}
REPORT=${REPORT:-1}
SYSTEMS=${SYSTEMS:-"rnn pytorch keras burn candle"}
SKIP_SETUP=${SKIP_SETUP:-0}
PYTHON=${PYTHON:-python3}
WORKLOADS=${WORKLOADS:-"seed lengths"}

say() { printf '[run.sh] %s\n' "$*" >&2; }
wants() { [[ " $SYSTEMS " == *" $1 "* ]]; }
workload() { [[ " $WORKLOADS " == *" $1 "* ]]; }

# The target directory of the Cargo project whose manifest is $1 (CARGO_TARGET_DIR and
# workspace settings included).
target_dir() {
    cargo metadata --format-version 1 --no-deps --manifest-path "$1" 2>/dev/null |
        "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

# --- Python peers ---------------------------------------------------------------
python_ok=0
if wants pytorch || (workload seed && wants keras); then
    if [[ $SKIP_SETUP != 1 ]]; then
        if [[ ! -x $VENV/bin/python ]]; then
            say "creating $VENV"
            "$PYTHON" -m venv "$VENV"
        fi
        stamp=$VENV/.requirements.installed
        if ! cmp -s "$PEERS/requirements.txt" "$stamp"; then
            say "installing $PEERS/requirements.txt (torch pulls several GB of CUDA wheels)"
            "$VENV/bin/pip" install --quiet -r "$PEERS/requirements.txt"
            cp "$PEERS/requirements.txt" "$stamp"
        fi
    fi
    if [[ -x $VENV/bin/python ]]; then
        python_ok=1
    else
        say "no $VENV: skipping pytorch and keras"
    fi
fi

# --- Rust: rnn and the rust peers -----------------------------------------------
rnn_bin=""
if workload seed && wants rnn; then
    built=1
    if [[ $SKIP_SETUP != 1 ]]; then
        say "cargo build --release --example seed_bench"
        cargo build --release --example seed_bench || built=0
    fi
    candidate=$(target_dir Cargo.toml)/release/examples/seed_bench
    if [[ $built == 1 && -x $candidate ]]; then
        rnn_bin=$candidate
    else
        say "rnn: seed_bench not built: skipping rnn"
    fi
fi

rust_peer_dir=""
if ! workload seed; then
    :
elif (wants burn || wants candle) && [[ -f $PEERS/rust/Cargo.toml ]]; then
    built=1
    if [[ $SKIP_SETUP != 1 ]]; then
        say "cargo build --release in $PEERS/rust"
        (cd "$PEERS/rust" && cargo build --release) || built=0
    fi
    if [[ $built == 1 ]]; then
        rust_peer_dir=$(target_dir "$PEERS/rust/Cargo.toml")/release
    else
        say "the rust peers failed to build: skipping burn and candle"
    fi
elif wants burn || wants candle; then
    say "no $PEERS/rust/Cargo.toml: skipping burn and candle"
fi

# rnn on the lengths workloads: lengths_bench of the rust/ workspace (already built above
# with the whole workspace when burn or candle is wanted; alone otherwise, which leaves
# burn alone).
lengths_bin=""
if workload lengths && wants rnn; then
    built=1
    if [[ $SKIP_SETUP != 1 && -z $rust_peer_dir ]]; then
        say "cargo build --release -p lengths_bench in $PEERS/rust"
        (cd "$PEERS/rust" && cargo build --release -p lengths_bench) || built=0
    fi
    candidate=$(target_dir "$PEERS/rust/Cargo.toml")/release/lengths_bench
    if [[ $built == 1 && -x $candidate ]]; then
        lengths_bin=$candidate
    else
        say "rnn: lengths_bench not built: skipping rnn on the lengths workloads"
    fi
fi

# Runs "$@" with RAYON_NUM_THREADS=$threads as result $name ($RESULTS/$name.json, its
# stdout and stderr in $RESULTS/logs/), keeping the last non-blank stdout line if it is
# JSON; counts failures in $failed.
failed=0
run_one() {
    local name=$1
    shift
    say "$name: $*"
    local start=$SECONDS
    local stdout=$RESULTS/logs/$name.stdout
    if RAYON_NUM_THREADS=$threads "$@" >"$stdout" 2>"$RESULTS/logs/$name.log"; then
        local line
        line=$(grep -v '^[[:space:]]*$' "$stdout" | tail -n 1 || true)
        if printf '%s' "$line" | "$PYTHON" -c 'import json, sys; json.loads(sys.stdin.read())' 2>/dev/null; then
            printf '%s\n' "$line" >"$RESULTS/$name.json"
            say "$name: done in $((SECONDS - start)) s"
        else
            say "$name: no JSON line on stdout (see $stdout): skipped"
            failed=$((failed + 1))
        fi
    else
        say "$name: failed (exit $?, see $RESULTS/logs/$name.log): skipped"
        failed=$((failed + 1))
    fi
}
mkdir -p "$RESULTS/logs"
# The commit the binaries below were built from, for report.py.
dirty=false
[[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]] && dirty=true
printf '{"commit": "%s", "dirty": %s}\n' "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" "$dirty" >"$RESULTS/run.json"

# --- The seed workload: which systems run, and how -----------------------------------
# Sets CMD to the command line of system $1 (without --threads/--grid); fails if the
# system is not available.
command_for() {
    CMD=()
    case $1 in
        rnn) [[ -n $rnn_bin ]] && CMD=("$rnn_bin") ;;
        pytorch) [[ $python_ok == 1 ]] && CMD=("$VENV/bin/python" "$PEERS/pytorch_bench.py") ;;
        keras) [[ $python_ok == 1 ]] && CMD=("$VENV/bin/python" "$PEERS/keras_bench.py") ;;
        burn | candle)
            [[ -n $rust_peer_dir && -x $rust_peer_dir/${1}_bench ]] && CMD=("$rust_peer_dir/${1}_bench") ;;
        *) say "unknown system $1" ;;
    esac
    ((${#CMD[@]} > 0))
}

if workload seed; then
    available=()
    for system in $SYSTEMS; do
        if command_for "$system"; then
            available+=("$system")
        else
            [[ $system == burn || $system == candle ]] && [[ -n $rust_peer_dir ]] &&
                say "$system: no ${system}_bench in $rust_peer_dir: skipping $system"
        fi
    done
    if ((${#available[@]} == 0)); then
        say "seed workload: no system available to run"
        exit 1
    fi
    say "seed workload: systems: ${available[*]}; threads: $THREADS; rounds: $ROUNDS; grid: $GRID"

    for threads in $THREADS; do
        for system in $SYSTEMS; do # unavailable ones too: no stale result stands in for them
            rm -f "$RESULTS/$system-t$threads-r"*.json
        done
    done

    grid_flag=()
    [[ $GRID != 0 ]] && grid_flag=(--grid)

    for threads in $THREADS; do
        for round in $(seq 1 "$ROUNDS"); do
            for system in "${available[@]}"; do
                command_for "$system"
                variants_flag=()
                [[ $VARIANTS != 0 && ($system == rnn || $system == pytorch) ]] && variants_flag=(--variants)
                run_one "$system-t$threads-r$round" "${CMD[@]}" --threads "$threads" \
                    "${grid_flag[@]}" "${variants_flag[@]}"
            done
        done
    done
    "$PYTHON" "$PEERS/table.py" "$RESULTS"
fi

# --- The lengths workloads: rnn and pytorch -------------------------------------------
if workload lengths; then
    lengths_systems=()
    for system in $SYSTEMS; do
        case $system in
            rnn) [[ -n $lengths_bin ]] && lengths_systems+=(rnn) ;;
            pytorch) [[ $python_ok == 1 ]] && lengths_systems+=(pytorch) ;;
        esac
    done
    for threads in $THREADS; do
        for system in rnn pytorch; do
            wants "$system" && rm -f "$RESULTS/lengths-$system-t$threads-r"*.json
        done
    done
    if ((${#lengths_systems[@]} == 0)); then
        say "lengths workloads: neither rnn nor pytorch available to run"
        exit 1
    fi
    say "lengths workloads: systems ${lengths_systems[*]}; threads: $THREADS; rounds: $ROUNDS"
    for threads in $THREADS; do
        for round in $(seq 1 "$ROUNDS"); do
            for system in "${lengths_systems[@]}"; do
                case $system in
                    rnn) cmd=("$lengths_bin") ;;
                    pytorch) cmd=("$VENV/bin/python" "$PEERS/pytorch_lengths.py") ;;
                esac
                run_one "lengths-$system-t$threads-r$round" "${cmd[@]}" --threads "$threads"
            done
        done
    done
    "$PYTHON" "$PEERS/lengths_table.py" "$RESULTS"
fi

# --- BENCHMARKS.md and BENCHMARKS.png from this run ------------------------------------
if [[ $REPORT != 0 ]] && workload seed; then
    "$PYTHON" "$PEERS/report.py" "$RESULTS" "$ROOT/BENCHMARKS.md"
    chart_built=1
    if [[ $SKIP_SETUP != 1 ]]; then
        (cd "$PEERS/rust" && cargo build --release -p chart) || chart_built=0
    fi
    chart=$(target_dir "$PEERS/rust/Cargo.toml")/release/chart
    if [[ $chart_built == 1 && -x $chart ]]; then
        "$chart" "$ROOT/BENCHMARKS.png" "$RESULTS/summary.json"
    else
        say "chart not built: BENCHMARKS.png left as it was"
    fi
fi
if ((failed > 0)); then
    say "$failed run(s) failed"
fi
