#!/usr/bin/env bash
# Flash and RAM footprint of the no_std inference path (tests/nostd) on the host
# target, for the embedded guide's table, and the firmware check CI runs.
#
#   scripts/nostd_footprint.sh           the table, for both Rust profiles
#   scripts/nostd_footprint.sh --check   the check alone, profile release-size
#
# For each Rust profile (release: opt-level 3; release-size: opt-level "s"; both with
# LTO, one codegen unit and panic = "abort", as tests/nostd/Cargo.toml recommends),
# links scripts/nostd_footprint.c against the static library with --gc-sections, once
# calling only the seed model, only its int8 twin, only the streaming GRU's push, only the gesture
# classifier (a softmax head), only the bidirectional model, and subtracts a build
# that calls stubs: what remains is the code (.text) and constant data (.rodata: the
# weights) the model adds. The stack high-water marks come from running the program
# (stack painting).
#
# The check links a program calling every entry point through the C header and fails
# if a call's measured stack is above its model's STACK_BYTES, if the header's
# constants differ from the library's, or if any panic or allocator symbol of Rust
# remains in the linked program (a bounds check or an `unwrap` the optimiser could not
# remove would bring `core::panicking`, and with it `core::fmt`).
set -euo pipefail
cd "$(dirname "$0")/.."

profiles=(release release-size)
table=1
if [ "${1:-}" = --check ]; then
  profiles=(release-size)
  table=0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cflags=(-O2 -mno-red-zone -ffunction-sections -fdata-sections -Wl,--gc-sections -no-pie
  -Itests/nostd/include)

# Bytes of one section of a linked program (0 if absent).
section() { size -A "$1" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'; }

# Fails if the linked program keeps a Rust panic or allocator symbol.
no_panic_or_alloc() {
  local found
  found=$(nm "$1" | grep -E '4core9panicking|rust_begin_unwind|__rust_alloc|__rg_alloc|__rdl_alloc|5alloc5alloc' || true)
  if [ -n "$found" ]; then
    printf '%s keeps panic or allocator symbols:\n%s\n' "$2" "$found" >&2
    return 1
  fi
  printf '%s: no panic or allocator symbol\n' "$2"
}

cc "${cflags[@]}" -DBASELINE scripts/nostd_footprint.c -o "$work/baseline"
if [ "$table" = 1 ]; then
  printf '| profile | model | code (.text) | weights + constants (.rodata) | static RAM (.data + .bss) | stack of one call |\n'
  printf '|---|---|---:|---:|---:|---:|\n'
fi
checks=""
for profile in "${profiles[@]}"; do
  cargo build --quiet --manifest-path tests/nostd/Cargo.toml -p rnn-nostd-staticlib \
    --profile "$profile"
  lib="tests/nostd/target/$profile/librnn_nostd_staticlib.a"
  cc "${cflags[@]}" -DCHECK scripts/nostd_footprint.c "$lib" -o "$work/check"
  checks+="$("$work/check")"$'\n'"$(no_panic_or_alloc "$work/check" "$profile")"$'\n'
  [ "$table" = 1 ] || continue
  # One program per model, so that each keeps only its own code and weights.
  for model in seed seed_int8 gru gesture bi; do
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
printf '\n%s' "$checks"
