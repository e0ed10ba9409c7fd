#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 240) each, one after the other, and prints
# libFuzzer's final line per target. Run from fuzz/ after seeding the corpora:
#   cargo test -p rnn-runtime --test corrupt_files -- --ignored write_fuzz_corpus
#   ./fuzz-all.sh 240 [target ...]
# Logs go to fuzz/logs/<target>.log; crashes to fuzz/artifacts/<target>/.
set -u
seconds=${1:-240}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(safetensors_params torch_state_dict torch_pt keras_weights_h5 keras_legacy_h5 keras_archive flat train_state csv)
# Inputs a little over the largest seed (keras_seed: 150 KB; the others are far smaller).
max_len() {
    case $1 in
        keras_weights_h5 | keras_legacy_h5 | keras_archive) echo 160000 ;;
        safetensors_params | torch_state_dict | torch_pt | train_state) echo 48000 ;;
        *) echo 8192 ;;
    esac
}
mkdir -p logs
for t in "${targets[@]}"; do
    # -a: debug assertions (overflow checks) in our code and the dependencies.
    cargo +nightly fuzz run -a "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=512 -malloc_limit_mb=256 \
        -max_len="$(max_len "$t")" -timeout=10 -print_final_stats=1 \
        >"logs/$t.log" 2>&1
    echo "$t: exit $? | $(grep -E '^Done [0-9]+ runs' "logs/$t.log") | $(grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "logs/$t.log" | tr '\n' ' ')"
done
