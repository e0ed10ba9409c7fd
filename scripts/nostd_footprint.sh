#!/usr/bin/env bash
# Flash and RAM footprint of the no_std inference path (tests/nostd) on the host
# target, for the README's "Embedded inference" table. For each Rust profile (release:
# opt-level 3; release-size: opt-level "s"), links scripts/nostd_footprint.c against
# the static library with --gc-sections, once calling only the seed model and once
# only the streaming GRU, and subtracts a build that calls stubs: what remains is the
# code (.text) and constant data (.rodata: the weights) the model adds. The stack
# high-water marks come from running the program (stack painting).
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cflags=(-O2 -mno-red-zone -ffunction-sections -fdata-sections -Wl,--gc-sections -no-pie)

# Bytes of one section of a linked program (0 if absent).
section() { size -A "$1" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'; }

cc "${cflags[@]}" -DBASELINE scripts/nostd_footprint.c -o "$work/baseline"
printf '| profile | model | code (.text) | weights + constants (.rodata) | static RAM (.data + .bss) | stack of one call |\n'
printf '|---|---|---:|---:|---:|---:|\n'
for profile in release release-size; do
  cargo build --quiet --manifest-path tests/nostd/Cargo.toml -p rnn-nostd-staticlib \
    --profile "$profile"
  lib="tests/nostd/target/$profile/librnn_nostd_staticlib.a"
  # One program per model, so that each keeps only its own code and weights.
  for model in seed seed_int8 gru; do
    keep=-DONLY_$(echo "$model" | tr '[:lower:]' '[:upper:]')
    cc "${cflags[@]}" "$keep" scripts/nostd_footprint.c "$lib" -o "$work/$model"
    text=$(( $(section "$work/$model" .text) - $(section "$work/baseline" .text) ))
    rodata=$(( $(section "$work/$model" .rodata) - $(section "$work/baseline" .rodata) ))
    ram=$(( $(section "$work/$model" .data) + $(section "$work/$model" .bss) \
      - $(section "$work/baseline" .data) - $(section "$work/baseline" .bss) ))
    stack=$("$work/$model" | awk -v k="${model}_" 'index($1, k) == 1 { print $2 }')
    printf '| %s | %s | %d B | %d B | %d B | %d B |\n' "$profile" "$model" "$text" "$rodata" \
      "$ram" "$stack"
  done
done
