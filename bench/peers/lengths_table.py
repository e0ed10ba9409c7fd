#!/usr/bin/env python3
"""Summarises the lengths workloads' JSON lines (bench/peers/SCHEMA.md, "Variable lengths
and long sequences") into Markdown tables.

    python3 bench/peers/lengths_table.py bench/peers/results

Reads every `lengths-<system>-t<N>-r<round>.json` in the folder, takes per system and
thread count the median over rounds of every number, prints Markdown tables to stdout
and writes the medians with the ratios to `<folder>/lengths-summary.json`. Standard
library only.
"""

import datetime
import json
import re
import statistics
import sys
from pathlib import Path

from table import sig

NAME = re.compile(r"^lengths-(?P<system>[A-Za-z0-9_]+)-t(?P<threads>\d+)-r(?P<round>\d+)\.json$")
WORKLOADS = ("masked_tokens", "long_sequences")
TIMED = ("train s/epoch, the median of 5 timed epochs (rnn: the second epoch of each of 5 "
         "turns after a first, 12 epochs in all; pytorch: epochs 2..=6, so its final loss "
         "is after 6 epochs)")


def load(folder):
    """{threads: {system: [result, ...]}}."""
    runs = {}
    for path in sorted(Path(folder).glob("lengths-*.json")):
        m = NAME.match(path.name)
        if not m:
            continue
        try:
            result = json.loads(path.read_text().strip().splitlines()[-1])
        except (ValueError, IndexError) as e:
            print(f"lengths_table.py: skipping {path}: {e}", file=sys.stderr)
            continue
        system = result.get("system", m["system"])
        threads = int(result.get("threads", m["threads"]))
        runs.setdefault(threads, {}).setdefault(system, []).append(result)
    return runs


def summarise(results):
    """Per workload, the median over rounds of every number (the sizes are the same)."""
    s = {"version": results[-1].get("version", "?"), "rounds": len(results)}
    for w in WORKLOADS:
        rows = [r[w] for r in results if isinstance(r.get(w), dict)]
        if not rows:
            continue
        keys = [k for k in rows[0] if isinstance(rows[0][k], (int, float))]
        # Sizes and counts are the same in every round: kept as written (ints), not
        # turned into the float a median of an even count of them would be.
        s[w] = {k: (rows[0][k] if isinstance(rows[0][k], int)
                    and all(r.get(k) == rows[0][k] for r in rows)
                    else statistics.median(r[k] for r in rows if isinstance(r.get(k), (int, float))))
                for k in keys}
    return s


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt_ratio(r):
    return "–" if r is None else f"{sig(r)}×"


def derived(systems):
    """The figures the workloads exist for, from the medians of one thread count."""
    rnn = systems.get("rnn", {})
    torch = systems.get("pytorch", {})
    m, tm = rnn.get("masked_tokens", {}), torch.get("masked_tokens", {})
    lo, tl = rnn.get("long_sequences", {}), torch.get("long_sequences", {})
    a = m.get("train_s_per_epoch")
    b, f = m.get("padded_s_per_epoch"), m.get("one_step_s_per_epoch")
    vf = m.get("valid_fraction", tm.get("valid_fraction"))
    # (a) if the steps' part of (b) scaled with the valid steps and the rest stayed.
    predicted = f + vf * (b - f) if None not in (b, f, vf) else None
    return {
        "valid_fraction": m.get("valid_fraction", tm.get("valid_fraction")),
        "masked_over_padded": ratio(a, m.get("padded_s_per_epoch")),  # (a)/(b)
        "padded_over_masked": ratio(m.get("padded_s_per_epoch"), a),  # (b)/(a)
        "predicted_masked_s": predicted,  # (f) + valid fraction · ((b) − (f))
        "masked_over_predicted": ratio(a, predicted),
        "pytorch_packed_over_masked": ratio(tm.get("train_s_per_epoch"), a),  # (c)/(a)
        "pytorch_padded_over_masked": ratio(tm.get("padded_s_per_epoch"), a),
        "long_pytorch_over_rnn": ratio(tl.get("train_s_per_epoch"), lo.get("train_s_per_epoch")),
        "long_peak_over_formula": ratio(lo.get("peak_bytes"), lo.get("formula_bytes")),
    }


def markdown(summary):
    out = []
    for threads in sorted(summary):
        systems = summary[threads]
        d = derived(systems)
        rnn, torch = systems.get("rnn", {}), systems.get("pytorch", {})
        m, tm = rnn.get("masked_tokens", {}), torch.get("masked_tokens", {})
        size = m or tm
        out.append(f"### Variable lengths and long sequences, {threads} thread{'s' if threads != 1 else ''}\n")
        if size:
            out.append(
                f"Masked tokens: N = {size['samples']}, T = {size['timesteps']}, lengths uniform "
                f"in [{size['timesteps'] // 10}, {size['timesteps']}] (valid fraction "
                f"{sig(d['valid_fraction'], 4)}), `embedding({size['vocab']}, {size['dim']})`, "
                f"LSTM({size['units']}), dense(2) softmax, batch {size['batch']}; {TIMED}, then "
                f"median over rounds "
                f"(rnn {rnn.get('rounds', 0)}, pytorch {torch.get('rounds', 0)}).\n")
            out.append("| run | s/epoch | × rnn `mask_zero` | final loss |")
            out.append("| --- | ---: | ---: | ---: |")
            a = m.get("train_s_per_epoch")
            for label, src, key, loss in (
                ("(a) rnn, `mask_zero = true` (padded steps skipped)", m, "train_s_per_epoch", "final_loss"),
                ("(b) rnn, no mask (every padded step)", m, "padded_s_per_epoch", "padded_final_loss"),
                ("rnn, no mask, `Fit::lengths` (padded steps skipped)", m, "lengths_s_per_epoch", "lengths_final_loss"),
                ("(f) rnn, `Fit::lengths` all 1 (what does not scale with steps)", m, "one_step_s_per_epoch", None),
                ("(c) pytorch, `pack_padded_sequence(..., enforce_sorted=False)`", tm, "train_s_per_epoch", "final_loss"),
                ("pytorch, no packing (every padded step)", tm, "padded_s_per_epoch", "padded_final_loss"),
            ):
                v = src.get(key)
                out.append(f"| {label} | {sig(v, 4)} | {fmt_ratio(ratio(v, a))} | {sig(src.get(loss), 3) if loss else '–'} |")
            out.append("")
            out.append(f"(a)/(b) = {sig(d['masked_over_padded'], 3)} against a valid fraction of "
                       f"{sig(d['valid_fraction'], 3)}; (b)/(a) = {fmt_ratio(d['padded_over_masked'])}, "
                       f"(c)/(a) = {fmt_ratio(d['pytorch_packed_over_masked'])}. With the part that "
                       f"does not scale with the steps, (f), kept whole: (f) + valid fraction · ((b) − "
                       f"(f)) = {sig(d['predicted_masked_s'], 4)} s predicted, "
                       f"(a) = {fmt_ratio(d['masked_over_predicted'])} that.\n")
        lo, tl = rnn.get("long_sequences", {}), torch.get("long_sequences", {})
        size = lo or tl
        if size:
            out.append(
                f"Long sequences: N = {size['samples']}, T = {size['timesteps']}, "
                f"{size['features']} features, LSTM({size['units']}), dense(1), MSE, batch "
                f"{size['batch']}; {TIMED}, then median over rounds.\n")
            out.append("| system | version | s/epoch | × rnn | final loss |")
            out.append("| --- | --- | ---: | ---: | ---: |")
            base = lo.get("train_s_per_epoch")
            for name, s, w in (("rnn", rnn, lo), ("pytorch", torch, tl)):
                if w:
                    v = w.get("train_s_per_epoch")
                    out.append(f"| {name} | {s.get('version', '?')} | {sig(v, 4)} | "
                               f"{fmt_ratio(ratio(v, base))} | {sig(w.get('final_loss'), 3)} |")
            out.append("")
            if lo.get("peak_bytes") is not None:
                out.append(
                    f"rnn's training peak: {lo['peak_bytes'] / 1e6:.2f} MB allocated during `fit` "
                    f"against the documented formula's {lo['formula_bytes'] / 1e6:.2f} MB "
                    f"((2·F + 11·H) floats × T × batch) plus {lo['parameter_bytes'] / 1e3:.0f} kB a "
                    f"copy of the parameters: {sig(d['long_peak_over_formula'], 4)}× the formula.\n")
    return "\n".join(out)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: lengths_table.py RESULTS_DIR")
    folder = Path(sys.argv[1])
    runs = load(folder)
    if not runs:
        sys.exit(f"lengths_table.py: no lengths-<system>-t<N>-r<round>.json files in {folder}")
    summary = {t: {name: summarise(rs) for name, rs in systems.items()} for t, systems in runs.items()}
    print(markdown(summary))
    doc = {"generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "threads": {str(t): dict(summary[t], ratios=derived(summary[t])) for t in sorted(summary)}}
    (folder / "lengths-summary.json").write_text(json.dumps(doc, indent=2) + "\n")
    print(f"(medians written to {folder / 'lengths-summary.json'})", file=sys.stderr)


if __name__ == "__main__":
    main()
